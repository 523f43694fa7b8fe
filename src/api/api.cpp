#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include <borderflow/api/api.h>
#include <borderflow/core/digest.h>
#include <borderflow/core/json.h>
#include <borderflow/core/rate_limit.h>
#include <borderflow/core/thread_name.h>
#include <borderflow/core/utf8.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/rules/rule_set.h>

#include "live_feed.h"
#include "metrics.h"
#include "static_files.h"
#include "status_page.h"

namespace borderflow::api {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;
using net::Respond;

namespace {

HttpResponse JsonResponse(int status, const json::value& body) {
  HttpResponse r;
  r.status = status;
  r.body = ToJsonText(body);
  return r;
}

json::object AuditJson(const AuditRecord& r) {
  json::object o{{"seq", r.seq},
                 {"at", FormatUtc(r.at)},
                 {"actor_id", r.actor_id},
                 {"actor_role", r.actor_role},
                 {"action", r.action},
                 {"hash", r.hash},
                 {"prev_hash", r.prev_hash}};
  auto body = ParseJson(r.body, JsonLimits{64 << 20, 64});
  o["body"] = body ? *body : json::value(r.body);
  return o;
}

// ASCII case-insensitive comparison (media types and authentication schemes are
// case-insensitive, RFC 9110 §8.3.1 and §11.1).
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether a Content-Type header names application/json (parameters such as charset allowed).
bool IsJsonMediaType(std::string_view type) {
  std::string_view media = type.substr(0, type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return EqualsIgnoreCase(media, "application/json");
}

// What a caller may not see of a crossing. Only staff see why a crossing got its channel (the
// rules that fired, their scores and reasons): traders and drivers see their channel (they
// could declare around the rest), sensors less. Among staff, only the roles that read watch
// lists (MayReadWatchlists) see why: other staff (gate operators, border guards) see the
// decision only (the channel, the quarantine inspection, the rule set), which is the same for a
// crossing hit by a watch-list rule as for one hit by a visible rule with the same channel
// (RestrictExplanationToChannel). Sensors (cameras, weighbridges, e-seal readers: devices out at
// the gate) see only what they act on (the crossing's state, its vehicle, plate, container and
// seal): no personal data (the driver's name, document number and phone are for the trader and
// staff), no consignment (goods, values, origins), no document numbers and no company.
struct Redaction {
  bool risk = false;
  bool personal = false;
  bool watchlists = false;  // staff who may not read watch lists: the decision, not its grounds
  bool any() const { return risk || personal || watchlists; }
};

Redaction RedactionFor(const Actor& actor) {
  return Redaction{!IsStaff(actor.role), actor.role == Role::kSensor,
                   IsStaff(actor.role) && !MayReadWatchlists(actor.role)};
}

// For staff who may not read watch lists: an audit body's "assessment" (an assess or reassess
// record) reduced to the decision, and an assess event's note (the English summary, naming the
// rules that fired) to match: in an audit body or a command's answer's "event".
void RestrictToChannelIn(json::object& o) {
  if (json::value* a = o.if_contains("assessment"); a != nullptr && a->is_object()) {
    RestrictExplanationToChannel(a->get_object());
  }
  const json::value* type = o.if_contains("type");
  json::value* data = o.if_contains("data");
  if (type == nullptr || *type != "assess" || data == nullptr || !data->is_object()) return;
  json::object& event = data->get_object();
  if (!event.contains("note")) return;
  json::object decision;
  if (const json::value* v = event.if_contains("channel")) decision["channel"] = *v;
  if (const json::value* v = event.if_contains("quarantine_inspection"))
    decision["quarantine"] = *v;
  RestrictExplanationToChannel(decision);
  event["note"] = decision.at("summary").at("en");
}

// A crossing's ETag: its version, and which view of it (RedactionFor) the caller gets, so that
// a cache never takes one audience's copy for another's: "3" (staff, everything), "3-w" (staff
// who may not read watch lists: the fired rules without those that ask for one), "3-f"
// (forwarders and drivers: no risk assessment), "3-s" (sensors: no risk, driver, lines,
// documents or company). A view with an expected call (computed at each request from the
// queue, which moves while the version stays) adds "." and a digest of it: "3-f.1c9a04e2b7d3".
std::string CrossingETag(int64_t version, Redaction r, const json::object& view) {
  std::string live;
  if (const json::value* call = view.if_contains("expected_call")) {
    live = "." + Sha256Hex(ToJsonText(*call)).substr(0, 12);
  }
  return fmt::format("\"{}{}{}\"", version,
                     r.personal     ? "-s"
                     : r.risk       ? "-f"
                     : r.watchlists ? "-w"
                                    : "",
                     live);
}

// Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 13.1.2: "W/" ignored)
// or is "*".
bool IfNoneMatchNames(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

// Applies `r` to a crossing view, a command's answer ({"event":...,"crossing":...}) or an audit
// record's body: removes the crossing's "risk", an audit body's "assessment", the staff summary
// that an "assess" event carries as its note (it names the rules that fired and the score), and
// for `personal` the driver; for `watchlists`, all of them but the decision (RestrictToChannelIn,
// RestrictRiskToChannel).
void Redact(json::object& o, Redaction r) {
  json::value* c = o.if_contains("crossing");
  json::object* crossing = c != nullptr && c->is_object() ? &c->get_object() : nullptr;
  if (r.personal) {
    for (const char* field : {"driver", "lines", "documents", "company_id"}) {
      o.erase(field);
      if (crossing != nullptr) crossing->erase(field);
    }
  }
  if (r.watchlists) {
    RestrictToChannelIn(o);
    if (json::value* e = o.if_contains("event"); e != nullptr && e->is_object()) {
      RestrictToChannelIn(e->get_object());  // a command's answer: {"event":{...},...}
    }
    for (json::object* holder : {&o, crossing}) {
      json::value* risk = holder != nullptr ? holder->if_contains("risk") : nullptr;
      if (risk != nullptr && risk->is_object()) RestrictRiskToChannel(risk->get_object());
    }
  }
  if (!r.risk) return;
  o.erase("risk");
  o.erase("assessment");
  if (crossing != nullptr) crossing->erase("risk");
  auto strip_note = [](json::object& event) {
    const json::value* type = event.if_contains("type");
    json::value* data = event.if_contains("data");
    if (type != nullptr && *type == "assess" && data != nullptr && data->is_object()) {
      data->get_object().erase("note");
    }
  };
  strip_note(o);  // an audit record's body: {"type":"assess",...,"data":{...}}
  if (json::value* e = o.if_contains("event"); e != nullptr && e->is_object()) {
    strip_note(e->get_object());  // a command's answer: {"event":{...},"crossing":{...}}
  }
}

// Redact on a command's answer as stored (text); parsed only when it may hold what `r` removes.
std::string Redacted(const std::string& body, Redaction r) {
  bool may_hold = (r.personal && (body.find("\"driver\"") != std::string::npos ||
                                  body.find("\"lines\"") != std::string::npos ||
                                  body.find("\"company_id\"") != std::string::npos)) ||
                  (r.watchlists && (body.find("\"assessment\"") != std::string::npos ||
                                    body.find("\"risk\"") != std::string::npos ||
                                    body.find("\"assess\"") != std::string::npos)) ||
                  (r.risk && (body.find("\"risk\"") != std::string::npos ||
                              body.find("\"assessment\"") != std::string::npos ||
                              body.find("\"assess\"") != std::string::npos));
  if (!may_hold) return body;
  auto parsed = ParseJson(body, JsonLimits{64 << 20, 64});
  if (!parsed || !parsed->is_object()) return body;
  Redact(parsed->get_object(), r);
  return ToJsonText(*parsed);
}

// No text in a request carries control characters other than tab and line breaks: NUL, escape
// sequences and the like are never meant, and would travel into the audit trail, operators'
// terminals and screens. (Declarations refuse line breaks in names and numbers too.) Checked on
// requests only: stored records keep whatever an earlier version accepted.
Status RefuseControlText(const json::value& v, const std::string& path) {
  switch (v.kind()) {
    case json::kind::string: {
      const json::string& text = v.get_string();
      bool bad = std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F;
      });
      if (!bad) return {};
      std::string field = path.empty() ? "(body)" : path;
      return InvalidArgument("control_character",
                             fmt::format("'{}' contains a control character (only tab and line "
                                         "breaks are allowed in text)",
                                         field),
                             field);
    }
    case json::kind::array: {
      const json::array& a = v.get_array();
      for (size_t i = 0; i < a.size(); ++i) {
        BF_TRY(RefuseControlText(a[i], fmt::format("{}[{}]", path, i)));
      }
      return {};
    }
    case json::kind::object:
      for (const auto& [key, value] : v.get_object()) {
        std::string child = path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
        BF_TRY(RefuseControlText(value, child));
      }
      return {};
    default:
      return {};
  }
}

Result<int> ParseLimit(const HttpRequest& req) {
  auto text = req.Query("limit");
  if (!text) return 50;
  int v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 1 || v > 200) {
    return InvalidArgument("invalid_query", "limit must be an integer from 1 to 200", "limit");
  }
  return v;
}

// Runs long read-only work (rule dry runs) off the I/O threads: at most `threads` tasks at
// once and none waiting, so that a burst of them is refused at once (the caller answers 503)
// rather than queued behind each other. Thread-safe.
class BackgroundWork {
 public:
  // A task does its work and returns what delivers the result (a response): that runs after
  // the task's slot is free again, so a client answered may start the next one at once.
  using Task = std::function<std::function<void()>()>;

  explicit BackgroundWork(size_t threads) : max_(std::max<size_t>(threads, 1)) {
    for (size_t i = 0; i < max_; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~BackgroundWork() { Stop(); }
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  // Accepts `task` when fewer than `threads` are in flight; false (and `task` dropped) when
  // they all are, or the work is stopping.
  bool TryRun(Task task) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || in_flight_ >= max_) return false;
      ++in_flight_;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  // Runs the tasks already accepted, then joins the threads. Idempotent.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Run() {
    NameThisThread("bf-dry-run");
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, nothing accepted left
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::function<void()> deliver = task();
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      if (deliver) deliver();
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;  // accepted, not yet started
  size_t in_flight_ = 0;    // accepted, not yet finished
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

struct Api::Impl {
  Engine& engine;
  Store& store;
  ApiOptions options;
  ApiMetrics metrics;

  struct CachedToken {
    Actor actor;
    std::string secret_hash;
    Timestamp verified_at;
  };
  std::mutex token_mu;
  std::unordered_map<std::string, CachedToken> token_cache;

  StaticFiles web;
  LiveFeed feed;
  BackgroundWork dry_runs{options.dry_runs_at_once};

  Impl(Engine& e, Store& s, ApiOptions o)
      : engine(e),
        store(s),
        options(o),
        web(options.web_root),
        feed(e, s, options.link_status,
             LiveFeedOptions{.poll = options.feed_poll, .keepalive = options.feed_keepalive}) {}

  KeyedRateLimit rate_limit{options.rate_per_second, options.rate_burst, 100000};

  // Takes one request from `who`'s token bucket. Errors: 429 "rate_limited".
  Status Admit(const std::string& who) {
    if (rate_limit.TryTake(who, engine.clock().Now())) return {};
    return Error(ErrorKind::kTooManyRequests, "rate_limited",
                 fmt::format("more than {:.0f} requests per second; retry in a second",
                             options.rate_per_second));
  }

  // Resolves the bearer token to an actor (no Authorization header: the public) and admits the
  // request under that actor's rate limit.
  Result<Actor> Authenticate(const HttpRequest& req) {
    Result<Actor> actor = Identify(req);
    if (!actor) {
      // Failed sign-ins count against the client's address, so bad tokens cannot be sent (and
      // hashed and looked up) without limit.
      BF_TRY(Admit("ip:" + req.remote_address));
      return actor.error();
    }
    BF_TRY(Admit(actor->role == Role::kPublic ? "ip:" + req.remote_address : actor->user_id));
    return actor;
  }

  Result<Actor> Identify(const HttpRequest& req) {
    std::string_view header = req.Header("authorization");
    if (header.empty()) return Actor{"public", "public", Role::kPublic, ""};
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() < kBearer.size() ||
        !EqualsIgnoreCase(header.substr(0, kBearer.size()), kBearer)) {
      return Error(ErrorKind::kUnauthenticated, "invalid_token",
                   "use 'Authorization: Bearer <token>'");
    }
    BF_ASSIGN_OR_RETURN(TokenParts parts, ParseToken(header.substr(kBearer.size())));
    Timestamp now = engine.clock().Now();
    std::string secret_hash = HashSecret(parts.secret);
    {
      std::lock_guard lock(token_mu);
      auto it = token_cache.find(parts.id);
      if (it != token_cache.end() && ConstantTimeEquals(it->second.secret_hash, secret_hash) &&
          now - it->second.verified_at < options.token_cache_ttl) {
        return it->second.actor;
      }
    }
    auto invalid = [] {
      return Error(ErrorKind::kUnauthenticated, "invalid_token",
                   "the bearer token is malformed, unknown, expired or revoked");
    };
    BF_ASSIGN_OR_RETURN(std::optional<TokenRecord> token, store.FindToken(parts.id));
    if (!token || !TokenMatches(*token, parts.secret, now)) return invalid();
    BF_ASSIGN_OR_RETURN(std::optional<UserRecord> user, store.FindUserById(token->user_id));
    if (!user) return invalid();
    if (user->role == Role::kCounterpart) {
      // Only a database from before counterpart users were refused can hold one: the other
      // country's node acts through signed link messages only, never through a token.
      return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                   "the counterpart node acts only through signed link messages, not API tokens");
    }
    Actor actor = user->ToActor();
    std::lock_guard lock(token_mu);
    if (token_cache.size() > 10000) token_cache.clear();
    token_cache[parts.id] = CachedToken{actor, secret_hash, now};
    return actor;
  }

  Result<Actor> RequireUser(const HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, Authenticate(req));
    if (actor.role == Role::kPublic) {
      return Error(ErrorKind::kUnauthenticated, "authentication_required",
                   "this endpoint needs 'Authorization: Bearer <token>'");
    }
    return actor;
  }

  Result<json::value> Body(const HttpRequest& req) {
    std::string_view type = req.Header("content-type");
    if (!IsJsonMediaType(type)) {
      return Error(ErrorKind::kInvalidArgument, "unsupported_media_type",
                   "send the body as application/json");
    }
    BF_ASSIGN_OR_RETURN(json::value body, ParseJson(req.body, options.json));
    BF_TRY(RefuseControlText(body, ""));
    return body;
  }

  // Submits a write command and answers when it is durable.
  void Submit(const HttpRequest& req, Actor actor, CommandBody body, const Respond& respond) {
    // Keys are stored as text and compared byte for byte: visible ASCII only (a UUID, a
    // timestamp and random characters), so that no store refuses one (PostgreSQL: invalid
    // UTF-8 would be a 500) and no key is two different strings to two systems.
    std::string_view key = req.Header("idempotency-key");
    if (!std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
      respond(ProblemResponse(
          InvalidArgument("invalid_idempotency_key",
                          "the Idempotency-Key may hold only visible ASCII characters"),
          req.path));
      return;
    }
    Command command;
    command.actor = std::move(actor);
    command.idempotency_key = std::string(req.Header("idempotency-key"));
    command.fingerprint = Sha256Hex(fmt::format("{} {}\n{}", req.method, req.path, req.body));
    command.body = std::move(body);
    std::string instance = req.path;
    Redaction redact = RedactionFor(command.actor);
    engine.Submit(std::move(command), [respond, instance, redact](Result<CommandResult> result) {
      if (!result) {
        respond(ProblemResponse(result.error(), instance));
        return;
      }
      HttpResponse r;
      r.status = result->status;
      r.body = std::move(result->body_text);
      if (redact.any()) r.body = Redacted(r.body, redact);
      if (result->replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
      respond(std::move(r));
    });
  }

  // --- handlers -------------------------------------------------------------------------------

  void Declare(HttpRequest& req, const Respond& respond) {
    auto run = [&]() -> Status {
      BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
      if (req.Header("idempotency-key").empty()) {
        return InvalidArgument("idempotency_key_required",
                               "send an Idempotency-Key header so that retries apply once");
      }
      BF_ASSIGN_OR_RETURN(json::value body, Body(req));
      BF_ASSIGN_OR_RETURN(Declaration declaration, DecodeDeclaration(body, engine.hs()));
      Submit(req, std::move(actor), DeclareCrossing{std::move(declaration)}, respond);
      return {};
    };
    if (Status s = run(); !s) respond(ProblemResponse(s.error(), req.path));
  }

  void PostEvent(HttpRequest& req, const Respond& respond) {
    auto run = [&]() -> Status {
      BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
      if (req.Header("idempotency-key").empty()) {
        return InvalidArgument("idempotency_key_required",
                               "send an Idempotency-Key header so that retries apply once");
      }
      BF_ASSIGN_OR_RETURN(json::value body, Body(req));
      BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(body, ""));
      BF_TRY(r.RejectUnknown({"type", "data", "expected_version"}));
      BF_ASSIGN_OR_RETURN(std::string type_name, r.String("type", 32));
      BF_ASSIGN_OR_RETURN(CrossingEventType type, ParseCrossingEventType(type_name));
      const json::value* data = r.object().if_contains("data");
      BF_ASSIGN_OR_RETURN(json::object decoded,
                          DecodeEventData(type, data ? *data : json::value()));
      BF_ASSIGN_OR_RETURN(auto expected_version, r.OptionalInt("expected_version", 1, INT64_MAX));
      RecordCrossingEvent cmd{std::string(req.PathParam("id")),
                              CrossingEvent{type, std::move(decoded)}, expected_version};
      Submit(req, std::move(actor), std::move(cmd), respond);
      return {};
    };
    if (Status s = run(); !s) respond(ProblemResponse(s.error(), req.path));
  }

  Result<HttpResponse> GetCrossing(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_ASSIGN_OR_RETURN(Crossing c, engine.GetCrossing(actor, req.PathParam("id")));
    json::object view = engine.LiveCrossingView(c);
    Redact(view, RedactionFor(actor));
    json::array allowed;
    for (auto e : AllowedEvents(c.state)) allowed.push_back(json::string(CrossingEventName(e)));
    view["allowed_events"] = std::move(allowed);
    std::string etag = CrossingETag(c.version, RedactionFor(actor), view);
    if (IfNoneMatchNames(req.Header("if-none-match"), etag)) {
      // The caller's copy is current (a browser or a poller revalidating): no body.
      HttpResponse not_modified;
      not_modified.status = 304;
      not_modified.headers.emplace_back("ETag", std::move(etag));
      return not_modified;
    }
    HttpResponse r = JsonResponse(200, view);
    r.headers.emplace_back("ETag", std::move(etag));
    return r;
  }

  Result<HttpResponse> ListCrossings(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    CrossingFilter filter;
    for (const auto& [key, value] : req.query) {  // each at most once (Unambiguous)
      if (key == "state") {
        BF_ASSIGN_OR_RETURN(CrossingState s, ParseCrossingState(value));
        filter.state = s;
      } else if (key == "direction") {
        filter.direction = value.substr(0, 32);
      } else if (key == "lane_class") {
        filter.lane_class = value.substr(0, 32);
      } else if (key == "plate") {
        auto plate = ParsePlate(value);
        if (!plate) return plate.error().Within("plate");
        filter.plate = plate->canonical;
      } else if (key == "cursor") {
        // A cursor is the next_cursor of an earlier page: a crossing id, ours ("CR-...") or one
        // the counterpart announced (letters, digits and ":_.-").
        auto id_char = [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 c == '-' || c == '_' || c == ':' || c == '.';
        };
        if (value.empty() || value.size() > 64 ||
            !std::all_of(value.begin(), value.end(), id_char)) {
          return InvalidArgument("invalid_cursor",
                                 "cursor must be the next_cursor of an earlier page", "cursor");
        }
        filter.after = value;
      } else if (key == "company_id") {  // the engine overrides it for company-scoped actors
        filter.company_id = value.substr(0, 64);
      } else if (key != "limit") {
        return InvalidArgument("unknown_query_parameter",
                               fmt::format("unknown query parameter '{}'", key.substr(0, 32)),
                               key.substr(0, 32));
      }
    }
    BF_ASSIGN_OR_RETURN(filter.limit, ParseLimit(req));
    BF_ASSIGN_OR_RETURN(CrossingPage page, engine.ListCrossings(actor, filter));
    json::array items;
    for (const Crossing& c : page.items) {
      json::object view = engine.CrossingView(c);
      Redact(view, RedactionFor(actor));
      items.push_back(std::move(view));
    }
    json::object body{{"items", std::move(items)}};
    body["next_cursor"] =
        page.next_cursor.empty() ? json::value(nullptr) : json::value(page.next_cursor);
    return JsonResponse(200, body);
  }

  Result<HttpResponse> History(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    if (actor.role == Role::kSensor) {
      // A camera or a weighbridge acts on a crossing's current state; its history (who
      // declared, changed and inspected what) is for the trader and staff.
      return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                   "sensors read a crossing's current state, not its history");
    }
    BF_ASSIGN_OR_RETURN(auto records, engine.CrossingHistory(actor, req.PathParam("id")));
    Redaction redact = RedactionFor(actor);
    json::array items;
    for (const auto& r : records) {
      json::object item = AuditJson(r);
      if (redact.any() && item["body"].is_object()) Redact(item["body"].get_object(), redact);
      items.push_back(std::move(item));
    }
    return JsonResponse(200, json::object{{"items", std::move(items)}});
  }

  Result<HttpResponse> Gate(HttpRequest& req) {
    BF_TRY(Authenticate(req));  // a bad token is refused even where the public may read
    BF_ASSIGN_OR_RETURN(GateStatus status, engine.GetGateStatus());
    const GateConfig& config = engine.config();
    auto side = [&](const GateSide& s, bool open) {
      return json::object{
          {"node_id", s.node_id},
          {"country", s.country},
          {"name", json::object{{"en", s.name.en}, {"vi", s.name.vi}, {"zh", s.name.zh}}},
          {"utc_offset", FormatOffset(s.utc_offset)},
          {"local_time", FormatLocal(status.at, s.utc_offset)},
          {"open", open},
          {"hours", fmt::format("{:02d}:{:02d}-{:02d}:{:02d}", s.hours.open_minute / 60,
                                s.hours.open_minute % 60, s.hours.close_minute / 60,
                                s.hours.close_minute % 60)}};
    };
    json::array directions;
    for (const Direction& d : config.directions) {
      json::array classes;
      for (const auto& [lane_class, lanes] : d.lanes) {
        json::object states;
        int64_t waiting = 0;
        for (const CrossingCount& c : status.counts) {
          if (c.direction != d.id || c.lane_class != lane_class) continue;
          states[CrossingStateName(c.state)] = c.count;
          if (c.state == CrossingState::kBooked || c.state == CrossingState::kInYard ||
              c.state == CrossingState::kCalled) {
            waiting += c.count;
          }
        }
        classes.push_back(json::object{{"lane_class", lane_class},
                                       {"lanes", lanes},
                                       {"waiting", waiting},
                                       {"by_state", std::move(states)}});
      }
      directions.push_back(json::object{{"id", d.id},
                                        {"from", d.from_country},
                                        {"to", d.to_country},
                                        {"lane_classes", std::move(classes)}});
    }
    json::object body{{"at", FormatUtc(status.at)},
                      {"self", side(config.self, status.self_open)},
                      {"counterpart", side(config.counterpart, status.counterpart_open)},
                      {"staging_yard_capacity", config.staging_yard_capacity},
                      {"directions", std::move(directions)}};
    return JsonResponse(200, body);
  }

  Result<HttpResponse> Me(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    json::object me{{"id", actor.user_id},
                    {"name", actor.user_name},
                    {"role", RoleName(actor.role)},
                    {"company_id", actor.company_id}};
    if (actor.role == Role::kDriver) me["driver_document"] = actor.driver_document;
    return JsonResponse(200, me);
  }

  Result<HttpResponse> HsSearch(HttpRequest& req) {
    BF_TRY(Authenticate(req));
    auto q = req.Query("q");
    if (!q || q->empty() || q->size() > 64) {
      return InvalidArgument("invalid_query", "q must have 1 to 64 characters", "q");
    }
    json::array items;
    for (const HsEntry* e : engine.hs().Search(*q, 20)) {
      json::object item{{"code", e->code}, {"description", e->description}, {"level", e->level}};
      if (!e->names_vi.empty()) {
        auto list = [](const std::vector<std::string>& names) {
          json::array a;
          for (const std::string& n : names) a.push_back(json::string(n));
          return a;
        };
        item["names"] = json::object{
            {"vi", list(e->names_vi)}, {"zh", list(e->names_zh)}, {"en", list(e->names_en)}};
      }
      items.push_back(std::move(item));
    }
    return JsonResponse(200, json::object{{"items", std::move(items)}});
  }

  Result<HttpResponse> Lifecycle() {
    json::array rows;
    for (const Transition& t : LifecycleTable()) {
      json::array from, roles;
      for (auto s : t.from) from.push_back(json::string(CrossingStateName(s)));
      for (auto r : t.roles) roles.push_back(json::string(RoleName(r)));
      rows.push_back(json::object{{"event", CrossingEventName(t.event)},
                                  {"from", std::move(from)},
                                  {"to", CrossingStateName(t.to)},
                                  {"roles", std::move(roles)}});
    }
    return JsonResponse(200, json::object{{"transitions", std::move(rows)}});
  }

  // --- the electronic queue -------------------------------------------------------------------

  // A write: a signed-in actor, an Idempotency-Key, a JSON body that `decode` turns into a
  // command. The answer comes when the command is durable.
  template <class Decode>
  void Write(HttpRequest& req, const Respond& respond, Decode decode) {
    auto run = [&]() -> Status {
      BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
      if (req.Header("idempotency-key").empty()) {
        return InvalidArgument("idempotency_key_required",
                               "send an Idempotency-Key header so that retries apply once");
      }
      BF_ASSIGN_OR_RETURN(json::value body, Body(req));
      BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(body, ""));
      BF_ASSIGN_OR_RETURN(CommandBody command, decode(r));
      Submit(req, std::move(actor), std::move(command), respond);
      return {};
    };
    if (Status s = run(); !s) respond(ProblemResponse(s.error(), req.path));
  }

  static Result<std::string> LaneParam(const HttpRequest& req, std::string_view key,
                                       bool required) {
    auto v = req.Query(key);
    if (!v || v->empty()) {
      if (required) {
        return InvalidArgument("missing_query_parameter",
                               fmt::format("query parameter '{}' is required", key),
                               std::string(key));
      }
      return std::string();
    }
    if (v->size() > 32) {
      return InvalidArgument("invalid_query", fmt::format("'{}' is too long", key),
                             std::string(key));
    }
    return std::string(*v);
  }

  static Status OnlyQuery(const HttpRequest& req, std::initializer_list<std::string_view> keys) {
    for (const auto& [key, value] : req.query) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        return InvalidArgument("unknown_query_parameter",
                               fmt::format("unknown query parameter '{}'", key.substr(0, 32)),
                               key.substr(0, 32));
      }
    }
    return {};
  }

  Result<HttpResponse> Queue(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_TRY(OnlyQuery(req, {"direction", "lane_class"}));
    BF_ASSIGN_OR_RETURN(std::string direction, LaneParam(req, "direction", false));
    BF_ASSIGN_OR_RETURN(std::string lane_class, LaneParam(req, "lane_class", false));
    BF_ASSIGN_OR_RETURN(json::object view, engine.QueueView(actor, direction, lane_class));
    return JsonResponse(200, view);
  }

  Result<HttpResponse> Capacity(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_TRY(OnlyQuery(req, {"direction", "lane_class", "from", "until"}));
    BF_ASSIGN_OR_RETURN(std::string direction, LaneParam(req, "direction", true));
    BF_ASSIGN_OR_RETURN(std::string lane_class, LaneParam(req, "lane_class", true));
    auto time_param = [&](std::string_view key, Timestamp fallback) -> Result<Timestamp> {
      auto v = req.Query(key);
      if (!v) return fallback;
      auto t = ParseTimestamp(*v);
      if (!t) return t.error().Within(key);
      return *t;
    };
    BF_ASSIGN_OR_RETURN(Timestamp from, time_param("from", engine.clock().Now()));
    BF_ASSIGN_OR_RETURN(Timestamp until, time_param("until", from + std::chrono::hours(24)));
    BF_ASSIGN_OR_RETURN(json::object view,
                        engine.CapacityView(actor, direction, lane_class, from, until));
    return JsonResponse(200, view);
  }

  Result<HttpResponse> CapacityChanges(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_ASSIGN_OR_RETURN(json::object view, engine.CapacityChangesView(actor));
    return JsonResponse(200, view);
  }

  Result<HttpResponse> Link(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    if (!IsStaff(actor.role)) {
      return Error(
          ErrorKind::kPermissionDenied, "role_not_allowed",
          fmt::format("role {} may not see the link; allowed: staff roles", RoleName(actor.role)));
    }
    if (!options.link_status) {
      return JsonResponse(200, json::object{{"enabled", false}});
    }
    json::object status = options.link_status();
    status["enabled"] = true;
    // What the counterpart told us that the control room must act on (a finding on a crossing
    // already closed here).
    BF_ASSIGN_OR_RETURN(json::array alerts, engine.LinkAlerts());
    status["alerts"] = std::move(alerts);
    return JsonResponse(200, status);
  }

  Result<HttpResponse> WaitBoard(HttpRequest& req) {
    BF_TRY(Authenticate(req));
    HttpResponse r = JsonResponse(200, engine.WaitBoard());
    r.headers.emplace_back("Cache-Control", "public, max-age=15");
    // Public aggregates only: any web page (a transport association's, a news site's) may show
    // them. No credentials are involved, so no Allow-Credentials.
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return r;
  }

  Result<HttpResponse> PlateReads(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_ASSIGN_OR_RETURN(json::object view, engine.PlateReadsView(actor));
    // Oldest first, a page at a time: a camera that floods the node with unknown reads must not
    // make one answer of them all.
    BF_ASSIGN_OR_RETURN(int limit, ParseLimit(req));
    json::array& items = view["items"].as_array();
    view["total"] = static_cast<int64_t>(items.size());
    if (items.size() > static_cast<size_t>(limit)) items.resize(static_cast<size_t>(limit));
    return JsonResponse(200, view);
  }

  Result<HttpResponse> Bans(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_ASSIGN_OR_RETURN(json::object view, engine.BansView(actor));
    return JsonResponse(200, view);
  }

  Result<HttpResponse> Predictions(HttpRequest& req) {
    BF_TRY(Authenticate(req));
    Engine::PredictionAccuracy a = engine.PredictionAccuracyNow();
    return JsonResponse(200, json::object{{"count", a.count},
                                          {"mean_abs_error_minutes", a.mean_abs_error_minutes},
                                          {"p90_abs_error_minutes", a.p90_abs_error_minutes}});
  }

  // --- risk rules ------------------------------------------------------------------------------

  Result<HttpResponse> RuleSets(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_ASSIGN_OR_RETURN(json::object view, engine.RuleSetsView(actor));
    return JsonResponse(200, view);
  }

  Result<HttpResponse> RulesReport(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_TRY(OnlyQuery(req, {"min_inspections"}));
    int64_t min_inspections = 20;
    if (auto v = req.Query("min_inspections")) {
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), min_inspections);
      if (ec != std::errc() || p != v->data() + v->size() || min_inspections < 1 ||
          min_inspections > 1000000) {
        return InvalidArgument("invalid_query", "min_inspections must be 1 to 1000000",
                               "min_inspections");
      }
    }
    BF_ASSIGN_OR_RETURN(json::object view, engine.RulesReport(actor, min_inspections));
    return JsonResponse(200, view);
  }

  // POST /api/v1/rules/dry-run: checked here, run on a dry-run thread (it compiles a rule file
  // and replays up to 1000 declarations: seconds, which would stall an I/O thread's every
  // connection), answered from there.
  void RulesDryRun(HttpRequest& req, const Respond& respond) {
    auto run = [&]() -> Status {
      BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
      if (!MayWriteRules(actor.role)) {
        return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                     fmt::format("role {} may not dry-run rule sets; allowed roles: "
                                 "customs_officer, administrator",
                                 RoleName(actor.role)));
      }
      BF_ASSIGN_OR_RETURN(json::value body, Body(req));
      BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(body, ""));
      BF_TRY(r.RejectUnknown({"text", "id", "limit"}));
      BF_ASSIGN_OR_RETURN(auto text, r.OptionalString("text", rules::kMaxRuleSetTextBytes));
      BF_ASSIGN_OR_RETURN(auto id, r.OptionalString("id", 200));
      if (text.has_value() == id.has_value()) {
        return InvalidArgument("missing_field", "give either the rule set's text or its id",
                               "text");
      }
      BF_ASSIGN_OR_RETURN(auto limit, r.OptionalInt("limit", 1, 1000));
      auto task = [this, actor = std::move(actor), text = std::move(text).value_or(""),
                   id = std::move(id).value_or(""), limit = static_cast<int>(limit.value_or(1000)),
                   instance = req.path, respond]() -> std::function<void()> {
        if (options.dry_run_hook) options.dry_run_hook();
        Result<json::object> view = engine.RulesDryRun(actor, text, id, limit);
        auto response = std::make_shared<HttpResponse>(
            view ? JsonResponse(200, *view) : ProblemResponse(view.error(), instance));
        return [respond, response] { respond(std::move(*response)); };
      };
      if (!dry_runs.TryRun(std::move(task))) {
        HttpResponse busy = ProblemResponse(
            Unavailable("busy", "another rules dry run is running; retry in a few seconds"),
            req.path);
        busy.headers.emplace_back("Retry-After", "5");
        respond(std::move(busy));
      }
      return {};
    };
    if (Status s = run(); !s) respond(ProblemResponse(s.error(), req.path));
  }

  // DELETE /api/v1/watchlists/{name}: no body (or an empty object), an Idempotency-Key as for
  // every write.
  void DeleteList(HttpRequest& req, const Respond& respond) {
    auto run = [&]() -> Status {
      BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
      if (req.Header("idempotency-key").empty()) {
        return InvalidArgument("idempotency_key_required",
                               "send an Idempotency-Key header so that retries apply once");
      }
      if (!req.body.empty()) {
        BF_ASSIGN_OR_RETURN(json::value body, Body(req));
        BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(body, ""));
        BF_TRY(r.RejectUnknown({}));
      }
      Submit(req, std::move(actor), DeleteWatchlist{std::string(req.PathParam("name"))}, respond);
      return {};
    };
    if (Status s = run(); !s) respond(ProblemResponse(s.error(), req.path));
  }

  Result<HttpResponse> Assessment(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    BF_ASSIGN_OR_RETURN(json::object view, engine.AssessmentView(actor, req.PathParam("id")));
    return JsonResponse(200, view);
  }

  // GET /api/v1/feed: resumes after the Last-Event-ID header (or ?after=N).
  Result<HttpResponse> Feed(HttpRequest& req) {
    BF_ASSIGN_OR_RETURN(Actor actor, RequireUser(req));
    std::optional<int64_t> last;
    std::string_view text = req.Header("last-event-id");
    std::string_view field = "Last-Event-ID";
    if (text.empty()) {
      text = req.Query("after").value_or("");
      field = "after";
    }
    if (!text.empty()) {
      int64_t v = -1;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
        return InvalidArgument("invalid_event_id",
                               fmt::format("{} must be a non-negative event id", field),
                               std::string(field));
      }
      last = v;
    }
    // The stream outlives this request: it keeps the credentials to check them again, so that
    // a revoked token or a removed user stops receiving events (LiveFeed::Recheck).
    HttpRequest credentials;
    credentials.remote_address = req.remote_address;
    credentials.headers.emplace_back("authorization", std::string(req.Header("authorization")));
    return feed.Subscribe(actor, last, [this, credentials = std::move(credentials)] {
      return Identify(credentials);
    });
  }

  Result<HttpResponse> Ready() {
    BF_TRY(store.Ping());
    return JsonResponse(200, json::object{{"status", "ready"}});
  }
};

Api::Api(Engine& engine, Store& store, ApiOptions options)
    : impl_(std::make_unique<Impl>(engine, store, options)) {}
Api::~Api() = default;

void Api::NotifyCommitted() { impl_->feed.Notify(); }

void Api::StopLiveFeed() {
  impl_->feed.Stop();
  impl_->dry_runs.Stop();
}

namespace {

// A request that says one thing twice is refused rather than guessed at: which of two values
// would count differs between us, proxies and firewalls. Checked before every route.
Status Unambiguous(const HttpRequest& req) {
  for (size_t i = 0; i < req.query.size(); ++i) {
    const std::string& key = req.query[i].first;
    for (size_t j = 0; j < i; ++j) {
      if (req.query[j].first != key) continue;
      return InvalidArgument("duplicate_query_parameter",
                             fmt::format("query parameter '{}' is given more than once",
                                         ValidUtf8(std::string_view(key).substr(0, 32))),
                             ValidUtf8(std::string_view(key).substr(0, 32)));
    }
  }
  int authorizations = 0;
  for (const auto& [name, value] : req.headers) authorizations += name == "authorization";
  if (authorizations > 1) {
    return InvalidArgument("duplicate_header", "send one Authorization header, not several");
  }
  return {};
}

// Headers every response of the API gets. Its answers are for one caller (a crossing with its
// driver's passport number and phone, a company's bookings) and must not be kept by browsers
// or proxies: Cache-Control "no-store", unless the handler chose a policy (the public wait
// board may be cached for a few seconds).
void AddApiHeaders(HttpResponse& r) {
  const bool has_cache_control = std::any_of(r.headers.begin(), r.headers.end(), [](auto& h) {
    return EqualsIgnoreCase(h.first, "cache-control");
  });
  if (!has_cache_control) r.headers.emplace_back("Cache-Control", "no-store");
}

// net::Router whose every route first checks Unambiguous, and whose /api/ responses get
// AddApiHeaders.
struct CheckedRouter {
  net::Router& router;
  void Add(std::string method, std::string pattern, net::Handler handler) {
    const bool api = pattern.starts_with("/api/");
    router.Add(std::move(method), std::move(pattern),
               [handler = std::move(handler), api](HttpRequest& req, Respond respond) {
                 if (api) {
                   Respond inner = std::move(respond);
                   respond = [inner = std::move(inner)](HttpResponse r) {
                     AddApiHeaders(r);
                     inner(std::move(r));
                   };
                 }
                 if (Status s = Unambiguous(req); !s) {
                   respond(ProblemResponse(s.error(), req.path));
                   return;
                 }
                 handler(req, std::move(respond));
               });
  }
};

}  // namespace

net::Router Api::Routes() {
  net::Router all;
  CheckedRouter router{all};
  Impl* impl = impl_.get();
  // Wraps a synchronous handler: its Result becomes the response or a problem.
  auto sync = [](auto fn) {
    return [fn](HttpRequest& req, Respond respond) {
      Result<HttpResponse> r = fn(req);
      respond(r ? std::move(*r) : ProblemResponse(r.error(), req.path));
    };
  };
  router.Add("GET", "/healthz", sync([](HttpRequest&) -> Result<HttpResponse> {
               return JsonResponse(200, json::object{{"status", "ok"}});
             }));
  router.Add("GET", "/readyz", sync([impl](HttpRequest&) { return impl->Ready(); }));
  router.Add("GET", "/metrics", [impl](HttpRequest&, Respond respond) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = impl->metrics.Render(impl->engine.stats(), impl->engine.PredictionAccuracyNow());
    if (impl->options.link_metrics) r.body += impl->options.link_metrics();
    r.body += fmt::format(
        "# HELP borderflow_feed_subscribers Open live-feed streams.\n"
        "# TYPE borderflow_feed_subscribers gauge\nborderflow_feed_subscribers {}\n"
        "# HELP borderflow_feed_events_rendered_total Audit records rendered as feed events.\n"
        "# TYPE borderflow_feed_events_rendered_total counter\n"
        "borderflow_feed_events_rendered_total {}\n",
        impl->feed.subscribers(), impl->feed.rendered());
    respond(std::move(r));
  });
  const auto status_page = [impl](HttpRequest&, Respond respond) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = StatusPageHtml(impl->engine.config());
    // As for the web front end's index.html: no framing, no sniffing, and only its own script.
    r.headers.emplace_back("Content-Security-Policy", StatusPageContentSecurityPolicy(r.body));
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cache-Control", "no-cache");
    respond(std::move(r));
  };
  // The web front end when it is built, else the status page.
  router.Add("GET", "/", [impl, status_page](HttpRequest& req, Respond respond) {
    if (auto index = impl->web.Index()) return respond(std::move(*index));
    status_page(req, std::move(respond));
  });
  router.Add("GET", "/status", status_page);
  router.Add("GET", "/assets/{file}", [impl](HttpRequest& req, Respond respond) {
    if (auto file = impl->web.Asset(req.PathParam("file"))) return respond(std::move(*file));
    respond(ProblemResponse(
        Error(ErrorKind::kNotFound, "not_found", "no such file in the web front end"), req.path));
  });
  router.Add("GET", "/api/v1/feed", sync([impl](HttpRequest& req) { return impl->Feed(req); }));
  router.Add("GET", "/api/v1/gate", sync([impl](HttpRequest& req) { return impl->Gate(req); }));
  router.Add("GET", "/api/v1/link", sync([impl](HttpRequest& req) { return impl->Link(req); }));
  router.Add("GET", "/api/v1/me", sync([impl](HttpRequest& req) { return impl->Me(req); }));
  router.Add("GET", "/api/v1/hs", sync([impl](HttpRequest& req) { return impl->HsSearch(req); }));
  router.Add("GET", "/api/v1/lifecycle", sync([impl](HttpRequest&) { return impl->Lifecycle(); }));
  router.Add("POST", "/api/v1/crossings",
             [impl](HttpRequest& req, Respond respond) { impl->Declare(req, respond); });
  router.Add("GET", "/api/v1/crossings",
             sync([impl](HttpRequest& req) { return impl->ListCrossings(req); }));
  router.Add("GET", "/api/v1/crossings/{id}",
             sync([impl](HttpRequest& req) { return impl->GetCrossing(req); }));
  router.Add("GET", "/api/v1/crossings/{id}/events",
             sync([impl](HttpRequest& req) { return impl->History(req); }));
  router.Add("POST", "/api/v1/crossings/{id}/events",
             [impl](HttpRequest& req, Respond respond) { impl->PostEvent(req, respond); });
  router.Add("POST", "/api/v1/crossings/{id}/driver", [impl](HttpRequest& req, Respond respond) {
    std::string id(req.PathParam("id"));
    impl->Write(req, respond, [&](const JsonObjectReader& r) -> Result<CommandBody> {
      for (std::string_view locked : {"vehicle", "plate", "trailer_plate"}) {
        if (r.Has(locked)) {
          return Error(ErrorKind::kUnprocessable, "plate_change_not_allowed",
                       "a booking is bound to its truck: the plate cannot change; declare a "
                       "new crossing for another truck",
                       std::string(locked));
        }
      }
      BF_TRY(r.RejectUnknown({"driver", "expected_version"}));
      BF_ASSIGN_OR_RETURN(JsonObjectReader driver, r.Object("driver"));
      BF_ASSIGN_OR_RETURN(Driver decoded, DecodeDriver(driver));
      BF_ASSIGN_OR_RETURN(auto expected_version, r.OptionalInt("expected_version", 1, INT64_MAX));
      return UpdateDriver{id, std::move(decoded), expected_version};
    });
  });
  router.Add("GET", "/api/v1/queue", sync([impl](HttpRequest& req) { return impl->Queue(req); }));
  router.Add("POST", "/api/v1/queue/call-next", [impl](HttpRequest& req, Respond respond) {
    impl->Write(req, respond, [](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"direction", "lane_class"}));
      CallNext cmd;
      BF_ASSIGN_OR_RETURN(cmd.direction, r.String("direction", 32));
      BF_ASSIGN_OR_RETURN(cmd.lane_class, r.String("lane_class", 32));
      return cmd;
    });
  });
  router.Add("POST", "/api/v1/queue/policy", [impl](HttpRequest& req, Respond respond) {
    impl->Write(req, respond, [](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"policy"}));
      SetQueuePolicy cmd;
      BF_ASSIGN_OR_RETURN(cmd.policy, r.String("policy", 16));
      return cmd;
    });
  });
  router.Add("GET", "/api/v1/queue/predictions",
             sync([impl](HttpRequest& req) { return impl->Predictions(req); }));
  router.Add("GET", "/api/v1/capacity",
             sync([impl](HttpRequest& req) { return impl->Capacity(req); }));
  router.Add("GET", "/api/v1/capacity/changes",
             sync([impl](HttpRequest& req) { return impl->CapacityChanges(req); }));
  router.Add("POST", "/api/v1/capacity/changes", [impl](HttpRequest& req, Respond respond) {
    impl->Write(req, respond, [](const JsonObjectReader& r) -> Result<CommandBody> {
      for (std::string_view engine_field : {"id", "created_at", "created_by"}) {
        if (r.Has(engine_field)) {
          return InvalidArgument("unknown_field",
                                 fmt::format("'{}' is set by the server", engine_field),
                                 std::string(engine_field));
        }
      }
      BF_ASSIGN_OR_RETURN(CapacityChange change, DecodeCapacityChange(r.object()));
      return ChangeCapacity{std::move(change)};
    });
  });
  router.Add("GET", "/api/v1/wait-board",
             sync([impl](HttpRequest& req) { return impl->WaitBoard(req); }));
  router.Add("GET", "/api/v1/plate-reads",
             sync([impl](HttpRequest& req) { return impl->PlateReads(req); }));
  router.Add("POST", "/api/v1/plate-reads", [impl](HttpRequest& req, Respond respond) {
    impl->Write(req, respond, [](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"location", "camera", "text", "confidence"}));
      SubmitPlateRead cmd;
      BF_ASSIGN_OR_RETURN(cmd.location, r.String("location", 32));
      BF_ASSIGN_OR_RETURN(auto camera, r.OptionalString("camera", 64));
      cmd.camera = camera.value_or("");
      BF_ASSIGN_OR_RETURN(cmd.text, r.String("text", 32));
      if (r.Has("confidence")) {
        BF_ASSIGN_OR_RETURN(cmd.confidence, r.Number("confidence", 0, 1));
      }
      return cmd;
    });
  });
  router.Add("POST", "/api/v1/plate-reads/{id}/resolve", [impl](HttpRequest& req, Respond respond) {
    std::string id(req.PathParam("id"));
    impl->Write(req, respond, [&](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"action", "crossing_id", "note"}));
      BF_ASSIGN_OR_RETURN(std::string action, r.String("action", 16));
      ResolvePlateRead cmd{id, "", ""};
      BF_ASSIGN_OR_RETURN(auto note, r.OptionalString("note", 1000));
      cmd.note = note.value_or("");
      if (action == "apply") {
        BF_ASSIGN_OR_RETURN(cmd.crossing_id, r.String("crossing_id", 64));
      } else if (action != "dismiss") {
        return InvalidArgument("invalid_value", "'action' must be one of: apply, dismiss",
                               "action");
      } else if (r.Has("crossing_id")) {
        return InvalidArgument("unexpected_field", "a dismissal names no crossing", "crossing_id");
      }
      return cmd;
    });
  });
  router.Add("GET", "/api/v1/bans", sync([impl](HttpRequest& req) { return impl->Bans(req); }));
  router.Add("POST", "/api/v1/bans", [impl](HttpRequest& req, Respond respond) {
    impl->Write(req, respond, [](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"plate", "days", "reason"}));
      SetBan cmd;
      BF_ASSIGN_OR_RETURN(cmd.plate, r.String("plate", 32));
      BF_ASSIGN_OR_RETURN(int64_t days, r.Int("days", 0, 365));
      cmd.days = static_cast<int>(days);
      BF_ASSIGN_OR_RETURN(auto reason, r.OptionalString("reason", 1000));
      cmd.reason = reason.value_or("");
      return cmd;
    });
  });
  router.Add("GET", "/api/v1/rules",
             sync([impl](HttpRequest& req) { return impl->RuleSets(req); }));
  router.Add("POST", "/api/v1/rules", [impl](HttpRequest& req, Respond respond) {
    impl->Write(req, respond, [](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"text"}));
      UploadRuleSet cmd;
      BF_ASSIGN_OR_RETURN(cmd.text, r.String("text", rules::kMaxRuleSetTextBytes));
      return cmd;
    });
  });
  router.Add("POST", "/api/v1/rules/{id}/activate", [impl](HttpRequest& req, Respond respond) {
    std::string id(req.PathParam("id"));
    impl->Write(req, respond, [&](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({}));
      return ActivateRuleSet{id};
    });
  });
  router.Add("POST", "/api/v1/rules/dry-run",
             [impl](HttpRequest& req, Respond respond) { impl->RulesDryRun(req, respond); });
  router.Add("GET", "/api/v1/rules/report",
             sync([impl](HttpRequest& req) { return impl->RulesReport(req); }));
  // Watch lists of the risk rules (`watchlist "NAME"`): customs and quarantine officers and
  // administrators read and replace them; a PUT replaces the whole list (the next version).
  router.Add("GET", "/api/v1/watchlists", sync([impl](HttpRequest& req) -> Result<HttpResponse> {
               BF_ASSIGN_OR_RETURN(Actor actor, impl->RequireUser(req));
               BF_ASSIGN_OR_RETURN(json::object view, impl->engine.WatchlistsView(actor));
               return JsonResponse(200, view);
             }));
  router.Add("GET", "/api/v1/watchlists/{name}",
             sync([impl](HttpRequest& req) -> Result<HttpResponse> {
               BF_ASSIGN_OR_RETURN(Actor actor, impl->RequireUser(req));
               BF_ASSIGN_OR_RETURN(json::object view,
                                   impl->engine.WatchlistView(actor, req.PathParam("name")));
               return JsonResponse(200, view);
             }));
  router.Add("PUT", "/api/v1/watchlists/{name}", [impl](HttpRequest& req, Respond respond) {
    std::string name(req.PathParam("name"));
    impl->Write(req, respond, [&](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown({"entries", "description", "expected_version"}));
      PutWatchlist cmd;
      cmd.name = name;
      BF_ASSIGN_OR_RETURN(const json::array* entries, r.Array("entries", 0, kMaxWatchlistEntries));
      for (size_t i = 0; i < entries->size(); ++i) {
        BF_ASSIGN_OR_RETURN(JsonObjectReader e,
                            JsonObjectReader::Of((*entries)[i], fmt::format("entries[{}]", i)));
        BF_TRY(e.RejectUnknown({"kind", "value", "note"}));
        WatchlistEntry entry;
        BF_ASSIGN_OR_RETURN(entry.kind, e.String("kind", 16));
        BF_ASSIGN_OR_RETURN(entry.value, e.String("value", 64));
        BF_ASSIGN_OR_RETURN(auto note, e.OptionalString("note", 200));
        entry.note = note.value_or("");
        cmd.entries.push_back(std::move(entry));
      }
      BF_ASSIGN_OR_RETURN(auto description, r.OptionalString("description", 1000));
      cmd.description = description.value_or("");
      BF_ASSIGN_OR_RETURN(cmd.expected_version, r.OptionalInt("expected_version", 0, INT64_MAX));
      return cmd;
    });
  });
  router.Add("DELETE", "/api/v1/watchlists/{name}",
             [impl](HttpRequest& req, Respond respond) { impl->DeleteList(req, respond); });
  router.Add("GET", "/api/v1/crossings/{id}/assessment",
             sync([impl](HttpRequest& req) { return impl->Assessment(req); }));
  router.Add("POST", "/api/v1/crossings/{id}/findings", [impl](HttpRequest& req, Respond respond) {
    std::string id(req.PathParam("id"));
    impl->Write(req, respond, [&](const JsonObjectReader& r) -> Result<CommandBody> {
      BF_TRY(r.RejectUnknown(
          {"kind", "measured_kg", "document", "valid", "seal", "note", "expected_version"}));
      RecordFinding cmd;
      cmd.crossing_id = id;
      BF_ASSIGN_OR_RETURN(cmd.kind, r.String("kind", 16));
      if (r.Has("measured_kg")) {
        BF_ASSIGN_OR_RETURN(double kg, r.Number("measured_kg", 0, 1e6));
        cmd.measured_kg = kg;
      }
      BF_ASSIGN_OR_RETURN(auto document, r.OptionalString("document", 32));
      cmd.document = document.value_or("");
      BF_ASSIGN_OR_RETURN(cmd.valid, r.OptionalBool("valid"));
      BF_ASSIGN_OR_RETURN(auto seal, r.OptionalString("seal", 16));
      cmd.seal = seal.value_or("");
      BF_ASSIGN_OR_RETURN(auto note, r.OptionalString("note", 1000));
      cmd.note = note.value_or("");
      BF_ASSIGN_OR_RETURN(cmd.expected_version, r.OptionalInt("expected_version", 1, INT64_MAX));
      return cmd;
    });
  });
  return all;
}

std::function<std::optional<HttpResponse>(const HttpRequest&)> Api::Admission() {
  auto routes = std::make_shared<const net::Router>(Routes());
  return [routes](const HttpRequest& header) -> std::optional<HttpResponse> {
    // Every write of the API needs a user (RequireUser); reads may be public. A write with no
    // Authorization header at all is refused now, so its body is not read (nor invited with
    // "100 Continue"); one with a header is read and the token checked as usual. Paths with
    // no such route get their 404 or 405 as before.
    if (header.method == "GET" || header.method == "HEAD" || !header.path.starts_with("/api/") ||
        !header.Header("authorization").empty() ||
        routes->Find(header.method, header.path).handler == nullptr) {
      return std::nullopt;
    }
    HttpResponse r = ProblemResponse(Error(ErrorKind::kUnauthenticated, "authentication_required",
                                           "this endpoint needs 'Authorization: Bearer <token>'"),
                                     header.path);
    AddApiHeaders(r);
    return r;
  };
}

net::ErrorResponder Api::Errors() {
  return [](int status, std::string_view code, std::string_view detail) {
    ErrorKind kind = ErrorKindForStatus(status);
    return ProblemResponse(status, Error(kind, std::string(code), std::string(detail)));
  };
}

net::RequestObserver Api::Observer() {
  Impl* impl = impl_.get();
  return [impl](const HttpRequest& req, const std::string& pattern, int status,
                std::chrono::nanoseconds elapsed) {
    impl->metrics.ObserveRequest(pattern, req.method, status, elapsed);
  };
}

}  // namespace borderflow::api
