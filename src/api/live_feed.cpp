#include "live_feed.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <borderflow/core/json.h>
#include <borderflow/core/thread_name.h>

namespace borderflow::api {

namespace json = boost::json;

namespace {

constexpr int kReadBatch = 500;

std::string Frame(std::optional<int64_t> id, std::string_view event, const json::value& data) {
  std::string out;
  if (id) out += fmt::format("id: {}\n", *id);
  out += fmt::format("event: {}\ndata: {}\n\n", event, ToJsonText(data));
  return out;
}

json::value ParsedBody(const AuditRecord& r) {
  auto body = ParseJson(r.body, JsonLimits{64 << 20, 64});
  return body ? *body : json::value(r.body);
}

}  // namespace

LiveFeed::LiveFeed(Engine& engine, Store& store, std::function<json::object()> link_status,
                   LiveFeedOptions options)
    : engine_(engine), store_(store), link_status_(std::move(link_status)), options_(options) {
  // Start at the current end of the trail: older events are served from the store on request.
  Result<int64_t> head = store_.AuditHead();
  if (!head) spdlog::warn("live feed: cannot read the audit head: {}", head.error().ToString());
  const int64_t after = head ? *head : 0;
  head_ = after;
  ring_floor_ = after;
  thread_ = std::thread([this] {
    NameThisThread("bf-feed");
    Run();
  });
}

LiveFeed::~LiveFeed() { Stop(); }

void LiveFeed::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& s : subscribers_) s->stream->Finish();
  subscribers_.clear();
}

void LiveFeed::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  cv_.notify_all();
}

size_t LiveFeed::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

int64_t LiveFeed::head() const {
  std::lock_guard lock(mu_);
  return head_;
}

bool LiveFeed::Sees(const Actor& actor, const Event& event) {
  // Watch-list changes carry the entries added and removed, with their notes: for the roles
  // that may read the lists (GET /api/v1/watchlists), not every member of staff.
  if (event.watchlist_readers) return MayReadWatchlists(actor.role);
  if (IsStaff(actor.role)) return true;
  if (event.staff_only) return false;
  if (event.audience_company.empty()) return true;
  if (event.audience_company != actor.company_id) return false;
  // A driver follows their own truck only (as GET /crossings/{id} answers them).
  return actor.role != Role::kDriver ||
         (!actor.driver_document.empty() && event.audience_driver == actor.driver_document);
}

const std::string& LiveFeed::TextFor(const Actor& actor, const Event& event) {
  if (actor.IsCompanyScoped()) return event.company_text;
  if (!event.withheld_text.empty() && !MayReadWatchlists(actor.role)) return event.withheld_text;
  return event.staff_text;
}

std::optional<LiveFeed::Event> LiveFeed::Render(const AuditRecord& r) {
  rendered_.fetch_add(1);
  Event e;
  e.seq = r.seq;
  const std::string& type = r.subject_type;
  json::object data{{"seq", r.seq}, {"at", FormatUtc(r.at)}, {"action", r.action}};
  if (type == "crossing") {
    auto crossing = store_.GetCrossing(r.subject_id);
    if (!crossing || !*crossing) return std::nullopt;
    e.audience_company = (*crossing)->company_id;
    e.audience_driver = (*crossing)->declaration.driver.document_number;
    data["crossing_id"] = r.subject_id;
    json::value body = ParsedBody(r);
    if (body.is_object()) {
      for (const char* key : {"from", "to"}) {
        if (const json::value* v = body.get_object().if_contains(key)) data[key] = *v;
      }
    }
    json::object view = engine_.LiveCrossingView(**crossing);
    data["crossing"] = view;
    // A record that changes nothing of the crossing but needs the staff's attention (the
    // counterpart's finding on a crossing already closed here) carries an alert: staff see it
    // with the counterpart's result; traders see neither (no findings, no reasons).
    const json::value* alert = body.is_object() ? body.get_object().if_contains("alert") : nullptr;
    if (alert != nullptr) {
      data["alert"] = *alert;
      if (const json::value* v = body.get_object().if_contains("result")) data["result"] = *v;
    }
    e.staff_text = Frame(r.seq, "crossing", data);
    // Staff who may not read watch lists: the decision, not its grounds (as in the API).
    if (json::value* risk = view.if_contains("risk"); risk != nullptr && risk->is_object()) {
      json::object restricted = view;
      RestrictRiskToChannel(restricted["risk"].as_object());
      data["crossing"] = std::move(restricted);
      e.withheld_text = Frame(r.seq, "crossing", data);
    }
    data.erase("alert");
    data.erase("result");
    // Traders see their channel, never the rules' scores (as in the API).
    view.erase("risk");
    data["crossing"] = std::move(view);
    e.company_text = Frame(r.seq, "crossing", data);
    return e;
  }
  std::string_view event;
  if (type == "capacity") {
    event = "capacity";
  } else if (type == "plate_read") {
    event = "plate_read";
    e.staff_only = true;
  } else if (type == "queue") {
    event = "queue";
    e.staff_only = true;
  } else if (type == "rule_set" || type == "watchlist") {
    event = "rules";
    e.staff_only = true;
    e.watchlist_readers = type == "watchlist";
  } else if (type == "truck") {
    event = "ban";
    e.staff_only = true;
  } else if (type == "peer") {
    event = "link_message";
    e.staff_only = true;
  } else {
    return std::nullopt;  // users and tokens stay out of the feed
  }
  data["subject_id"] = r.subject_id;
  json::value body = ParsedBody(r);
  // A link record that needs the staff's attention (a message to the counterpart that could
  // not be delivered) carries its alert, as a crossing's event does (the event is staff only).
  if (body.is_object()) {
    if (const json::value* alert = body.get_object().if_contains("alert")) data["alert"] = *alert;
  }
  data["body"] = std::move(body);
  e.staff_text = Frame(r.seq, event, data);
  if (!e.staff_only) e.company_text = e.staff_text;
  return e;
}

Result<int64_t> LiveFeed::ReadEvents(int64_t after, int limit, std::vector<Event>& out) {
  BF_ASSIGN_OR_RETURN(std::vector<AuditRecord> records, store_.ReadAudit(after, limit));
  // A commit can be read before it is durable (Store::WriteBatchThen): nothing read leaves the
  // node until it is.
  BF_TRY(store_.WaitDurable());
  for (const AuditRecord& r : records) {
    if (auto e = Render(r)) out.push_back(std::move(*e));
    after = r.seq;
  }
  return after;
}

void LiveFeed::Deliver(const std::vector<Event>& events) {
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    Subscriber& s = **it;
    bool open = true;
    for (const Event& e : events) {
      if (e.seq <= s.cursor) continue;
      s.cursor = e.seq;
      if (Sees(s.actor, e) && !s.stream->Push(TextFor(s.actor, e))) {
        open = false;
        break;
      }
    }
    if (open && s.stream->closed()) open = false;
    it = open ? std::next(it) : subscribers_.erase(it);
  }
}

void LiveFeed::CheckLink() {
  if (!link_status_) return;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (now - link_checked_ < options_.link_check) return;
    link_checked_ = now;
  }
  json::object status = link_status_();
  std::string state = "unknown";
  if (const json::value* v = status.if_contains("state"); v != nullptr && v->is_string()) {
    state = std::string(v->get_string());
  }
  std::lock_guard lock(mu_);
  if (state == link_state_) return;
  link_state_ = state;
  json::object data{{"state", state}};
  if (const json::value* v = status.if_contains("backlog")) data["backlog"] = *v;
  const std::string text = Frame(std::nullopt, "link", data);
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    bool open = !IsStaff((*it)->actor.role) || (*it)->stream->Push(text);
    it = open ? std::next(it) : subscribers_.erase(it);
  }
}

bool LiveFeed::SkipWhileIdle() {
  // With nobody listening, rendering every record (and reading its crossing) would cost the
  // server a sixth of its CPU under load: move the head and empty the ring instead. A client
  // that arrives later with a Last-Event-ID below the ring's floor is caught up from the store.
  Result<int64_t> head = store_.AuditHead();
  if (!head) return false;  // read the records instead, which reports the error
  std::lock_guard lock(mu_);
  if (!subscribers_.empty()) return false;  // one arrived meanwhile: read what it needs
  head_ = std::max(head_, *head);
  recent_.clear();
  ring_floor_ = head_;
  return true;
}

void LiveFeed::Run() {
  for (;;) {
    int64_t from;
    bool idle;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.poll, [this] { return stopping_ || notified_; });
      if (stopping_) return;
      notified_ = false;
      from = head_;
      idle = subscribers_.empty();
    }
    if (idle && SkipWhileIdle()) {
      CheckLink();
      continue;
    }
    for (;;) {
      std::vector<Event> events;
      Result<int64_t> last = ReadEvents(from, kReadBatch, events);
      if (!last) {
        spdlog::warn("live feed: cannot read the audit trail: {}", last.error().ToString());
        break;
      }
      {
        std::lock_guard lock(mu_);
        head_ = std::max(head_, *last);
        for (Event& e : events) recent_.push_back(e);
        while (recent_.size() > options_.ring) {
          ring_floor_ = recent_.front().seq;
          recent_.pop_front();
        }
        Deliver(events);
        // Streams whose client left are dropped even when nothing is delivered to them.
        std::erase_if(subscribers_, [](const auto& s) { return s->stream->closed(); });
      }
      if (*last - from < kReadBatch) break;
      from = *last;
    }
    CheckLink();
    RecheckCredentials();
  }
}

void LiveFeed::RecheckCredentials() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Subscriber>> open;
  {
    std::lock_guard lock(mu_);
    if (now - credentials_checked_ < options_.recheck) return;
    credentials_checked_ = now;
    open = subscribers_;
  }
  std::vector<std::shared_ptr<Subscriber>> ended;
  for (const auto& s : open) {
    if (!s->recheck) continue;
    Result<Actor> now_actor = s->recheck();
    if (!now_actor) {
      // Only a refused token ends a stream: a database that cannot answer for a moment (a
      // PostgreSQL failover) must not drop every dashboard at once.
      if (now_actor.error().kind == ErrorKind::kUnauthenticated) ended.push_back(s);
      continue;
    }
    if (now_actor->user_id != s->actor.user_id || now_actor->role != s->actor.role ||
        now_actor->company_id != s->actor.company_id ||
        now_actor->driver_document != s->actor.driver_document) {
      ended.push_back(s);
    }
  }
  if (ended.empty()) return;
  std::lock_guard lock(mu_);
  std::erase_if(subscribers_, [&](const auto& s) {
    return std::find(ended.begin(), ended.end(), s) != ended.end();
  });
  // The client's EventSource reconnects and is refused with 401, which signs it out.
  for (const auto& s : ended) s->stream->Finish();
}

Result<net::HttpResponse> LiveFeed::Subscribe(const Actor& actor,
                                              std::optional<int64_t> last_event_id,
                                              Recheck recheck) {
  if (!IsStaff(actor.role) && !actor.IsCompanyScoped()) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 fmt::format("role {} has no live feed; allowed: staff roles, forwarders and "
                             "drivers (the public board is GET /api/v1/wait-board)",
                             RoleName(actor.role)));
  }
  auto stream = std::make_shared<net::BodyStream>(": keep-alive\n\n", options_.keepalive,
                                                  options_.max_buffered_bytes);
  auto subscriber = std::make_shared<Subscriber>();
  subscriber->actor = actor;
  subscriber->stream = stream;
  subscriber->recheck = std::move(recheck);

  // The hello and the catch-up are the response's first bytes; live events follow through the
  // stream. Records older than the ring are read from the store without holding the lock, then
  // the lock is taken again to join the ring (which may have moved on meanwhile).
  std::string first = "retry: 2000\n";
  std::vector<Event> backlog;
  int64_t upto = last_event_id.value_or(0);
  int64_t scanned = 0;
  bool reset = false;
  for (;;) {
    int64_t need_until = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return Unavailable("overloaded", "the server is stopping; retry");
      if (subscribers_.size() >= options_.max_subscribers) {
        return Unavailable("too_many_subscribers",
                           fmt::format("the live feed has {} clients, its limit; retry later",
                                       subscribers_.size()));
      }
      // One user cannot take every slot: a browser needs one stream per open tab.
      const size_t own = std::count_if(subscribers_.begin(), subscribers_.end(), [&](auto& s) {
        return s->actor.user_id == actor.user_id && !s->stream->closed();
      });
      if (own >= options_.max_streams_per_user) {
        return Error(ErrorKind::kTooManyRequests, "too_many_streams",
                     fmt::format("{} live-feed streams are open for this user, the limit; close "
                                 "one first",
                                 own));
      }
      // An id beyond the last event cannot be resumed after (a restored database, or an id from
      // another node): the client reloads its views, as after a long disconnection.
      if (last_event_id && *last_event_id > head_) reset = true;
      if (!last_event_id || reset) {
        // From now on; after a reset the client reloads its views first.
        first += Frame(head_, reset ? "reset" : "hello", json::object{{"head", head_}});
        subscriber->cursor = head_;
        subscribers_.push_back(subscriber);
        break;
      }
      if (upto >= ring_floor_) {
        first += Frame(std::nullopt, "hello", json::object{{"head", head_}});
        for (const Event& e : backlog) {
          if (Sees(actor, e)) first += TextFor(actor, e);
        }
        for (const Event& e : recent_) {
          if (e.seq > upto && Sees(actor, e)) first += TextFor(actor, e);
        }
        subscriber->cursor = std::max(upto, head_);
        subscribers_.push_back(subscriber);
        break;
      }
      need_until = ring_floor_;
    }
    while (upto < need_until) {
      if (scanned >= options_.max_catch_up) {
        reset = true;  // too far behind to replay
        break;
      }
      const int limit = static_cast<int>(std::min<int64_t>(kReadBatch, need_until - upto));
      BF_ASSIGN_OR_RETURN(int64_t last, ReadEvents(upto, limit, backlog));
      if (last == upto) {
        upto = need_until;  // the store has no more (cannot happen: seqs have no gaps)
        break;
      }
      scanned += last - upto;
      upto = last;
    }
  }

  net::HttpResponse response;
  response.status = 200;
  response.content_type = "text/event-stream; charset=utf-8";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  response.body = std::move(first);
  response.stream = std::move(stream);
  return response;
}

}  // namespace borderflow::api
