// borderflow queue | capacity | ban | plate-read | wait-board: the electronic queue from the
// command line. Every command is one or two HTTP requests to a running node (the node keeps the
// queue in memory; writing its database behind its back would not be seen).

#include "queue_cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <borderflow/core/clock.h>
#include <borderflow/core/json.h>
#include <borderflow/core/random.h>
#include <borderflow/core/time.h>
#include <borderflow/core/time_ordered_id.h>
#include <borderflow/net/http_client.h>

#include "table.h"

namespace borderflow::cli {

namespace json = boost::json;

namespace {

// The exit codes of cli.cpp: 0 success; 1 the command ran and the node refused the request
// (4xx); 2 the command could not run (bad input, no connection, a server failure 5xx).
constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitError = 2;

int UsageError(std::string_view message) {
  std::cerr << "borderflow: usage: " << message << "\n";
  return kExitError;
}

// --- URL and request targets -------------------------------------------------------------------

struct Endpoint {
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix" (a node behind a reverse proxy), no trailing '/'
};

// Parses "http://host[:port][/prefix]" (host may be "[v6-address]").
Result<Endpoint> ParseUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid_url", fmt::format("--url '{}': {}", url.substr(0, 200), why),
                           "url");
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return bad("only http://host:port URLs are supported (put TLS in a reverse proxy)");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Endpoint ep;
  if (slash != std::string_view::npos) {
    ep.base_path = std::string(rest.substr(slash));
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
    if (ep.base_path.find_first_of("?#") != std::string::npos) {
      return bad("no query or fragment, please");
    }
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("expected ':' after ']'");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) return bad("no host");
  ep.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
    ep.port = static_cast<uint16_t>(value);
  }
  return ep;
}

// Percent-encodes everything but RFC 3986 unreserved characters ('+' too: a query decoder may
// read it as a space).
std::string PercentEncode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

using Query = std::vector<std::pair<std::string, std::string>>;

// --- Reading JSON answers without throwing -----------------------------------------------------

const json::value* Field(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  return o != nullptr ? o->if_contains(key) : nullptr;
}

const json::value& At(const json::value& v, std::initializer_list<std::string_view> path) {
  static const json::value kNull;
  const json::value* cur = &v;
  for (std::string_view key : path) {
    cur = Field(*cur, key);
    if (cur == nullptr) return kNull;
  }
  return *cur;
}

std::string Text(const json::value& v, std::string_view key, std::string_view fallback = "-") {
  const json::value* f = Field(v, key);
  if (f == nullptr || f->is_null()) return std::string(fallback);
  if (const json::string* s = f->if_string()) {
    return s->empty() ? std::string(fallback) : std::string(*s);
  }
  if (const bool* b = f->if_bool()) return *b ? "yes" : "no";
  return ToJsonText(*f);
}

std::optional<double> Number(const json::value& v, std::string_view key) {
  const json::value* f = Field(v, key);
  if (f == nullptr) return std::nullopt;
  if (f->is_int64()) return static_cast<double>(f->get_int64());
  if (f->is_uint64()) return static_cast<double>(f->get_uint64());
  if (f->is_double()) return f->get_double();
  return std::nullopt;
}

int64_t Int(const json::value& v, std::string_view key, int64_t fallback = 0) {
  auto n = Number(v, key);
  return n ? static_cast<int64_t>(*n) : fallback;
}

bool Bool(const json::value& v, std::string_view key) {
  const json::value* f = Field(v, key);
  return f != nullptr && f->is_bool() && f->get_bool();
}

const json::array& Array(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  const json::value* f = Field(v, key);
  return f != nullptr && f->is_array() ? f->get_array() : kEmpty;
}

// "2026-11-29T08:37:06+07:00" -> "11-29 08:37" (other text unchanged).
std::string ShortTime(std::string_view t) {
  if (t.size() >= 16 && t[4] == '-' && t[10] == 'T') {
    return fmt::format("{} {}", t.substr(5, 5), t.substr(11, 5));
  }
  return std::string(t);
}

// The zone suffix of a formatted local time ("+07:00"), or "".
std::string ZoneOf(std::string_view t) {
  if (t.size() > 19 && (t[t.size() - 6] == '+' || t[t.size() - 6] == '-')) {
    return std::string(t.substr(t.size() - 6));
  }
  return "";
}

// Minutes as "h:mm".
std::string HoursMinutes(int64_t minutes) {
  if (minutes < 0) return "-" + HoursMinutes(-minutes);
  return fmt::format("{}:{:02d}", minutes / 60, minutes % 60);
}

// --- Talking to the node -----------------------------------------------------------------------

struct Remote {
  std::string url;    // empty until given: see ResolveRemote
  std::string token;  // never printed
  bool json = false;
  std::string idempotency_key;  // writes: "" means a fresh random one
};

struct Reply {
  int status = 0;
  json::value body;  // null when the answer is not JSON
  std::string raw;
  bool replayed = false;  // Idempotent-Replayed: the node answered an earlier identical request
};

class Session {
 public:
  Session(const Remote& remote, const Endpoint& endpoint)
      : remote_(remote), endpoint_(endpoint), client_(endpoint.host, endpoint.port) {}

  // Sends a GET; a 2xx answer is returned. Anything else is reported on stderr (and, with
  // --json, the problem document on stdout) and std::nullopt returned with exit_code() set.
  std::optional<Reply> Get(std::string_view path, const Query& query = {}) {
    return Send("GET", Target(path, query), "", false);
  }
  // Sends a POST with a JSON body and an Idempotency-Key (printed on stderr, so that the same
  // command can be retried with --idempotency-key and apply once).
  std::optional<Reply> Post(std::string_view path, const json::object& body) {
    if (key_.empty()) {
      key_ = remote_.idempotency_key;
      if (key_.empty()) {
        SystemRandom random;
        key_ = TimeOrderedId("cli-", SystemClock().Now(), random, 16);
      }
    }
    return Send("POST", Target(path, {}), ToJsonText(body), true);
  }

  // Arguments a retry must repeat exactly (relative times resolved: "+1h" is another time on a
  // retry, and the node refuses a reused key with another body).
  void SetRetryArgs(std::string args) { retry_args_ = std::move(args); }

  int exit_code() const { return exit_code_; }
  bool json_output() const { return remote_.json; }

  // Prints the answer as the node sent it (--json).
  int PrintRaw(const Reply& reply) const {
    std::cout << reply.raw;
    if (reply.raw.empty() || reply.raw.back() != '\n') std::cout << "\n";
    return kExitOk;
  }

  // This node's local time of a UTC timestamp, shortened ("11-29 08:37"); the offset is read
  // once from GET /api/v1/gate (public). UTC when that fails.
  std::string Local(std::string_view utc) {
    auto t = ParseTimestamp(utc);
    if (!t) return std::string(utc.empty() ? "-" : utc);
    if (!offset_) {
      offset_ = UtcOffset{0};
      auto r = client_.Send("GET", Target("/api/v1/gate", {}), "", Headers(false));
      if (r && r->status == 200) {
        if (auto gate = ParseJson(r->body, JsonLimits{16 << 20, 64})) {
          const json::value& text = At(*gate, {"self", "utc_offset"});
          if (text.is_string()) {
            if (auto parsed = ParseUtcOffset(text.get_string())) offset_ = *parsed;
          }
        }
      }
    }
    return ShortTime(FormatLocal(*t, *offset_));
  }
  // "+07:00", after Local() was called at least once.
  std::string LocalZone() const { return offset_ ? FormatOffset(*offset_) : "UTC"; }

 private:
  std::string Target(std::string_view path, const Query& query) const {
    std::string target = endpoint_.base_path + std::string(path);
    char sep = '?';
    for (const auto& [key, value] : query) {
      if (value.empty()) continue;
      target += sep + PercentEncode(key) + "=" + PercentEncode(value);
      sep = '&';
    }
    return target;
  }

  std::vector<std::pair<std::string, std::string>> Headers(bool write) const {
    std::vector<std::pair<std::string, std::string>> headers = {{"Accept", "application/json"}};
    if (!remote_.token.empty()) headers.emplace_back("Authorization", "Bearer " + remote_.token);
    if (write) {
      headers.emplace_back("Content-Type", "application/json");
      headers.emplace_back("Idempotency-Key", key_);
    }
    return headers;
  }

  std::optional<Reply> Send(std::string_view method, const std::string& target,
                            const std::string& body, bool write) {
    if (remote_.token.find_first_of("\r\n") != std::string::npos) {
      exit_code_ = UsageError("the token contains a line break");
      return std::nullopt;
    }
    auto response = client_.Send(method, target, body, Headers(write));
    if (!response) {
      std::cerr << "borderflow: " << response.error().ToString() << " (is a node running at "
                << remote_.url << "? see --url or BORDERFLOW_URL)\n";
      if (write) RetryHint();
      exit_code_ = kExitError;
      return std::nullopt;
    }
    Reply reply;
    reply.status = response->status;
    reply.raw = std::move(response->body);
    if (auto parsed = ParseJson(reply.raw, JsonLimits{64 << 20, 64})) reply.body = *parsed;
    for (const auto& [name, value] : response->headers) {
      if (name == "idempotent-replayed" && value == "true") reply.replayed = true;
    }
    if (write) {
      std::cerr << "idempotency key " << key_
                << (retry_args_.empty() ? "" : " (for " + retry_args_ + ")")
                << (reply.replayed ? " (replayed: the node had already applied it)" : "") << "\n";
    }
    if (reply.status >= 200 && reply.status < 300) return reply;
    // A problem document (RFC 9457): code, detail and the field at fault.
    std::string code = Text(reply.body, "code", fmt::format("http_{}", reply.status));
    std::string detail = Text(reply.body, "detail", "");
    if (detail.empty()) detail = reply.raw.substr(0, 200);
    std::string field = Text(reply.body, "field", "");
    std::cerr << "borderflow: " << code << ": " << detail
              << (field.empty() ? "" : " (at " + field + ")") << " [HTTP " << reply.status << "]\n";
    if (reply.status == 401 && remote_.token.empty()) {
      std::cerr << "borderflow: pass --token or set BORDERFLOW_TOKEN\n";
    }
    if (remote_.json && !reply.body.is_null()) PrintRaw(reply);
    bool refused = reply.status >= 400 && reply.status < 500;
    if (write && !refused) RetryHint();
    exit_code_ = refused ? kExitRefused : kExitError;
    return std::nullopt;
  }

  void RetryHint() const {
    std::cerr << "borderflow: to retry without applying twice, repeat the command with "
                 "--idempotency-key "
              << key_ << (retry_args_.empty() ? "" : " " + retry_args_) << "\n";
  }

  const Remote& remote_;
  const Endpoint& endpoint_;
  net::HttpClient client_;
  std::string key_;
  std::string retry_args_;
  std::optional<UtcOffset> offset_;
  int exit_code_ = kExitOk;
};

// "now", "+90m", "+2h", "-1d" (relative to this machine's clock) or an RFC 3339 timestamp with
// its zone; returns the UTC text the API expects.
Result<std::string> TimeArgument(std::string_view flag, std::string_view text) {
  if (text == "now") return FormatUtc(SystemClock().Now());
  if (!text.empty() && (text[0] == '+' || text[0] == '-') && text.size() >= 3) {
    char unit = text.back();
    int64_t n = 0;
    auto digits = text.substr(1, text.size() - 2);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    int64_t minutes_per = unit == 'm' ? 1 : unit == 'h' ? 60 : unit == 'd' ? 1440 : 0;
    if (ec == std::errc() && p == digits.data() + digits.size() && minutes_per > 0 &&
        n <= 1'000'000) {
      auto offset = std::chrono::minutes(n * minutes_per);
      Timestamp now = SystemClock().Now();
      return FormatUtc(text[0] == '+' ? now + offset : now - offset);
    }
  }
  auto t = ParseTimestamp(text);
  if (!t) {
    return InvalidArgument(
        "invalid_time",
        fmt::format("{} '{}': use now, +30m, +2h, +1d or a time with its zone such as "
                    "2026-11-29T14:00+07:00",
                    flag, text.substr(0, 64)),
        std::string(flag));
  }
  return FormatUtc(*t);
}

std::string ReplanSummary(Session& s, const json::value& body) {
  const json::value& replan = At(body, {"replan"});
  if (replan.is_null()) return "";
  int64_t n = Int(replan, "changed_count");
  std::string out = fmt::format("replan: {} truck{} moved\n", n, n == 1 ? "" : "s");
  Table t({"CROSSING", "FROM", "TO", "REASON"}, "  ");
  for (const auto& c : Array(replan, "changed")) {
    std::string from = Text(c, "from", ""), to = Text(c, "to", "");
    t.Row({Text(c, "crossing_id"), from.empty() ? "not planned" : s.Local(from),
           to.empty() ? "not planned" : s.Local(to), Text(c, "reason")});
  }
  if (!t.empty()) {
    std::ostringstream rows;
    t.Print(rows);
    out += rows.str();
  }
  return out;
}

// --- The commands ------------------------------------------------------------------------------

struct QueueFlags {
  std::string direction, lane_class, policy;
};

int QueueShow(Session& s, const QueueFlags& f) {
  auto reply = s.Get("/api/v1/queue", {{"direction", f.direction}, {"lane_class", f.lane_class}});
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& q = reply->body;
  std::string at = Text(q, "at", "");
  std::cout << fmt::format("queue at {} ({}), policy {}, staging yard {}/{}\n", ShortTime(at),
                           ZoneOf(at).empty() ? "local time" : ZoneOf(at), Text(q, "policy"),
                           Int(At(q, {"yard"}), "count"), Int(At(q, {"yard"}), "capacity"));
  const json::array& lanes = Array(q, "lanes");
  if (lanes.empty()) {
    std::cout << "no truck is waiting"
              << (f.direction.empty() && f.lane_class.empty() ? "" : " in this lane") << "\n";
  }
  for (const auto& lane : lanes) {
    const json::value& bucket = At(lane, {"bucket"});
    std::string closed = Text(bucket, "closed_reason", "");
    std::cout << fmt::format(
        "\n{} {}: lanes {} open, {} occupied; bucket {} capacity {}, {} called{}; {} in yard, "
        "{} booked, {} planned\n",
        Text(lane, "direction"), Text(lane, "lane_class"), Int(lane, "lanes_open"),
        Int(lane, "lanes_occupied"), ShortTime(Text(bucket, "start")), Int(bucket, "capacity"),
        Int(bucket, "calls_made"), closed.empty() ? "" : " (closed: " + closed + ")",
        Int(lane, "waiting_in_yard"), Int(lane, "booked"), Int(lane, "planned_calls"));
    Table t({"POS", "PLATE", "PRIORITY", "WHERE", "EXPECTED CALL", "CROSSING", "REASON"}, "  ");
    t.Right(0);
    for (const auto& call : Array(lane, "calls")) {
      bool yard = Bool(call, "in_yard"), booked = Bool(call, "booked");
      std::string where = yard && booked ? "yard, booked" : yard ? "yard" : booked ? "booked" : "-";
      t.Row({Text(call, "position"), Text(call, "plate"), Text(call, "priority"), where,
             ShortTime(Text(call, "expected_call")), Text(call, "crossing_id"),
             Text(call, "reason")});
    }
    if (!t.empty()) t.Print(std::cout);
    for (const auto& u : Array(lane, "unplanned")) {
      std::cout << fmt::format("  not planned: {} ({})\n", Text(u, "crossing_id"),
                               Text(u, "reason"));
    }
  }
  return kExitOk;
}

int QueueCallNext(Session& s, const QueueFlags& f) {
  auto reply = s.Post("/api/v1/queue/call-next",
                      json::object{{"direction", f.direction}, {"lane_class", f.lane_class}});
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& plate = At(reply->body, {"crossing", "vehicle", "plate", "display"});
  std::cout << fmt::format("called {}{}: {}\n", Text(reply->body, "called"),
                           plate.is_string() ? " (" + std::string(plate.get_string()) + ")" : "",
                           Text(reply->body, "reason"));
  return kExitOk;
}

int QueuePolicy(Session& s, const QueueFlags& f) {
  auto reply = s.Post("/api/v1/queue/policy", json::object{{"policy", f.policy}});
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  std::cout << fmt::format("queue policy {} (was {})\n", Text(reply->body, "policy"),
                           Text(reply->body, "previous"));
  std::cout << ReplanSummary(s, reply->body);
  return kExitOk;
}

int QueuePredictions(Session& s) {
  auto reply = s.Get("/api/v1/queue/predictions");
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& p = reply->body;
  int64_t count = Int(p, "count");
  if (count == 0) {
    std::cout << "no called truck yet: no prediction to compare\n";
    return kExitOk;
  }
  std::cout << fmt::format(
      "expected-call predictions checked against {} calls: mean error {:.1f} min, 90% within "
      "{:.1f} min\n",
      count, Number(p, "mean_abs_error_minutes").value_or(0),
      Number(p, "p90_abs_error_minutes").value_or(0));
  return kExitOk;
}

struct CapacityFlags {
  std::string kind, from, until, direction, lane_class, reason;
  std::optional<int> lanes;
  std::optional<double> trucks_per_hour;
};

// One bucket as a bar: '#' a planned truck, '.' free capacity, 'x' capacity this side has but
// the counterpart does not accept.
std::string Bar(int64_t planned, int64_t effective, int64_t self_capacity) {
  constexpr int64_t kMax = 60;
  std::string bar(static_cast<size_t>(std::min(planned, kMax)), '#');
  int64_t used = std::min(planned, kMax);
  int64_t free = std::clamp<int64_t>(effective - planned, 0, kMax - used);
  bar += std::string(static_cast<size_t>(free), '.');
  used += free;
  int64_t refused =
      std::clamp<int64_t>(self_capacity - std::max(effective, planned), 0, kMax - used);
  bar += std::string(static_cast<size_t>(refused), 'x');
  if (std::max({planned, effective, self_capacity}) > kMax) bar += "+";
  return bar;
}

int CapacityShow(Session& s, const CapacityFlags& f) {
  Query query{{"direction", f.direction}, {"lane_class", f.lane_class}};
  for (const auto& [flag, text, key] :
       {std::tuple{"--from", &f.from, "from"}, std::tuple{"--until", &f.until, "until"}}) {
    if (text->empty()) continue;
    auto t = TimeArgument(flag, *text);
    if (!t) return UsageError(t.error().message);
    query.emplace_back(key, *t);
  }
  auto reply = s.Get("/api/v1/capacity", query);
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& c = reply->body;
  const json::array& buckets = Array(c, "buckets");
  std::string zone = buckets.empty() ? "" : ZoneOf(Text(buckets.front(), "start", ""));
  std::cout << fmt::format(
      "{} {}: capacity per {}-minute bucket ({}); # planned truck, . free, x not accepted by the "
      "other side\n",
      Text(c, "direction"), Text(c, "lane_class"), Int(c, "bucket_minutes"),
      zone.empty() ? "local time" : zone);
  Table t({"START", "LANES", "CAPACITY", "ACCEPTED", "PLANNED", ""});
  t.Right(1).Right(2).Right(3).Right(4);
  int64_t total_capacity = 0, total_planned = 0;
  for (const auto& b : buckets) {
    int64_t effective = Int(b, "effective"), planned = Int(b, "planned");
    total_capacity += effective;
    total_planned += planned;
    std::string bar = Bar(planned, effective, Int(b, "self_capacity"));
    std::string closed = Text(b, "closed_reason", "");
    if (!closed.empty()) bar += (bar.empty() ? "" : "  ") + std::string("closed: ") + closed;
    t.Row({ShortTime(Text(b, "start")), Text(b, "lanes"), std::to_string(effective),
           Text(b, "accepted"), std::to_string(planned), bar});
  }
  t.Print(std::cout);
  std::cout << fmt::format("total: {} planned of {} trucks\n", total_planned, total_capacity);
  return kExitOk;
}

int CapacityList(Session& s) {
  auto reply = s.Get("/api/v1/capacity/changes");
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::array& items = Array(reply->body, "items");
  if (items.empty()) {
    std::cout << "no capacity change: the configured lanes apply\n";
    return kExitOk;
  }
  Table t(
      {"ID", "KIND", "FROM", "UNTIL", "DIRECTION", "LANE CLASS", "LANES", "TRUCKS/H", "REASON"});
  for (const auto& c : items) {
    std::string kind = Text(c, "kind");
    bool with_lanes = kind == "lanes" || kind == "reversible";
    auto rate = Number(c, "trucks_per_hour");
    t.Row({Text(c, "id"), kind, s.Local(Text(c, "from", "")), s.Local(Text(c, "until", "")),
           Text(c, "direction", "all"), Text(c, "lane_class", "all"),
           with_lanes ? Text(c, "lanes") : "-",
           rate && (*rate != 0 || kind == "acceptance") ? fmt::format("{:g}", *rate) : "-",
           Text(c, "reason")});
  }
  std::cout << "times in " << s.LocalZone() << "\n";
  t.Print(std::cout);
  return kExitOk;
}

int CapacityAdd(Session& s, const CapacityFlags& f) {
  json::object body{{"kind", f.kind}};
  std::string retry_args;
  for (const auto& [flag, text, key] :
       {std::tuple{"--from", &f.from, "from"}, std::tuple{"--until", &f.until, "until"}}) {
    auto t = TimeArgument(flag, *text);
    if (!t) return UsageError(t.error().message);
    body[key] = *t;
    if (*t != *text) retry_args += fmt::format("{}{} {}", retry_args.empty() ? "" : " ", flag, *t);
  }
  s.SetRetryArgs(retry_args);
  if (!f.direction.empty()) body["direction"] = f.direction;
  if (!f.lane_class.empty()) body["lane_class"] = f.lane_class;
  if (f.lanes) body["lanes"] = *f.lanes;
  if (f.trucks_per_hour) body["trucks_per_hour"] = *f.trucks_per_hour;
  body["reason"] = f.reason;
  auto reply = s.Post("/api/v1/capacity/changes", body);
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& c = At(reply->body, {"change"});
  std::string from = s.Local(Text(c, "from", "")), until = s.Local(Text(c, "until", ""));
  std::cout << fmt::format("added {} {} for {} {} from {} until {} ({})\n", Text(c, "kind"),
                           Text(c, "id"), Text(c, "direction", "all directions"),
                           Text(c, "lane_class", "all lane classes"), from, until, s.LocalZone());
  std::cout << ReplanSummary(s, reply->body);
  return kExitOk;
}

struct BanFlags {
  std::string plate, reason;
  int days = 0;
};

int BanList(Session& s) {
  auto reply = s.Get("/api/v1/bans");
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::array& bans = Array(reply->body, "bans");
  const json::array& strikes = Array(reply->body, "strikes");
  if (bans.empty()) {
    std::cout << "no truck is banned\n";
  } else {
    Table t({"PLATE", "UNTIL", "REASON", "BY"});
    for (const auto& b : bans) {
      t.Row({Text(b, "plate"), s.Local(Text(b, "until", "")), Text(b, "reason"),
             Text(b, "created_by")});
    }
    std::cout << "banned trucks (times in " << s.LocalZone() << "):\n";
    t.Print(std::cout);
  }
  if (!strikes.empty()) {
    Table t({"PLATE", "KIND", "AT", "CROSSING"});
    for (const auto& st : strikes) {
      t.Row({Text(st, "plate"), Text(st, "kind"), s.Local(Text(st, "at", "")),
             Text(st, "crossing_id")});
    }
    std::cout << "\nstrikes within the window:\n";
    t.Print(std::cout);
  }
  return kExitOk;
}

int BanAdd(Session& s, const BanFlags& f) {
  auto reply = s.Post("/api/v1/bans",
                      json::object{{"plate", f.plate}, {"days", f.days}, {"reason", f.reason}});
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  std::string until = s.Local(Text(reply->body, "until", ""));
  std::cout << fmt::format("banned {} until {} ({}): {}\n", Text(reply->body, "plate"), until,
                           s.LocalZone(), Text(reply->body, "reason"));
  return kExitOk;
}

int BanLift(Session& s, const BanFlags& f) {
  json::object body{{"plate", f.plate}, {"days", 0}};
  if (!f.reason.empty()) body["reason"] = f.reason;
  auto reply = s.Post("/api/v1/bans", body);
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  std::cout << fmt::format("lifted the ban on {}\n", Text(reply->body, "plate"));
  return kExitOk;
}

struct PlateReadFlags {
  std::string location, text, camera, id, crossing, note;
  std::optional<double> confidence;
  bool dismiss = false;
};

std::string Candidates(const json::value& read) {
  std::string out;
  for (const auto& c : Array(read, "candidates")) {
    out += fmt::format("{}{} {} (distance {})", out.empty() ? "" : ", ", Text(c, "crossing_id"),
                       Text(c, "plate"), Text(c, "distance"));
  }
  return out.empty() ? "-" : out;
}

int PlateReadSubmit(Session& s, const PlateReadFlags& f) {
  json::object body{{"location", f.location}, {"text", f.text}};
  if (!f.camera.empty()) body["camera"] = f.camera;
  if (f.confidence) body["confidence"] = *f.confidence;
  auto reply = s.Post("/api/v1/plate-reads", body);
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& r = reply->body;
  if (Text(r, "outcome") == "matched") {
    std::cout << fmt::format("matched {}: {}\n", Text(r, "crossing_id"), Text(r, "reason"));
  } else {
    const json::value& read = At(r, {"read"});
    std::cout << fmt::format(
        "read {} waits for an operator ({}: {})\ncandidates: {}\n"
        "resolve with: borderflow plate-read resolve {} --crossing CR-... | --dismiss\n",
        Text(read, "id"), Text(r, "outcome"), Text(r, "reason"), Candidates(read),
        Text(read, "id"));
  }
  return kExitOk;
}

int PlateReadList(Session& s) {
  auto reply = s.Get("/api/v1/plate-reads?limit=200");
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::array& items = Array(reply->body, "items");
  if (items.empty()) {
    std::cout << "no plate read is waiting for an operator\n";
    return kExitOk;
  }
  Table t({"ID", "AT", "LOCATION", "CAMERA", "TEXT", "CONF", "OUTCOME", "CANDIDATES", "REASON"});
  for (const auto& r : items) {
    auto conf = Number(r, "confidence");
    t.Row({Text(r, "id"), s.Local(Text(r, "at", "")), Text(r, "location"), Text(r, "camera"),
           Text(r, "text"), conf ? fmt::format("{:.2f}", *conf) : "-", Text(r, "outcome"),
           Candidates(r), Text(r, "reason")});
  }
  std::cout << "times in " << s.LocalZone() << "\n";
  t.Print(std::cout);
  auto total = Number(reply->body, "total");
  if (total && *total > static_cast<double>(items.size())) {
    std::cout << fmt::format("the oldest {} of {} waiting reads\n", items.size(), *total);
  }
  return kExitOk;
}

int PlateReadResolve(Session& s, const PlateReadFlags& f) {
  if (f.dismiss == !f.crossing.empty()) {
    return UsageError("plate-read resolve needs either --crossing CR-... or --dismiss");
  }
  json::object body{{"action", f.dismiss ? "dismiss" : "apply"}};
  if (!f.crossing.empty()) body["crossing_id"] = f.crossing;
  if (!f.note.empty()) body["note"] = f.note;
  auto reply = s.Post("/api/v1/plate-reads/" + PercentEncode(f.id) + "/resolve", body);
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  if (f.dismiss) {
    std::cout << fmt::format("dismissed {}\n", Text(reply->body, "read_id"));
  } else {
    std::cout << fmt::format("applied {} to {} (now {})\n", Text(reply->body, "read_id"),
                             Text(reply->body, "crossing_id"),
                             Text(At(reply->body, {"crossing"}), "state"));
  }
  return kExitOk;
}

int WaitBoard(Session& s) {
  auto reply = s.Get("/api/v1/wait-board");
  if (!reply) return s.exit_code();
  if (s.json_output()) return s.PrintRaw(*reply);
  const json::value& w = reply->body;
  auto side = [](const json::value& v) {
    std::string t = Text(v, "local_time", "");
    return fmt::format("{} ({}) {}, {} {}", Text(At(v, {"name"}), "en"), Text(v, "country"),
                       Bool(v, "open") ? "open" : "closed", ShortTime(t), ZoneOf(t));
  };
  std::cout << side(At(w, {"self"})) << "  |  " << side(At(w, {"counterpart"})) << "\n";
  Table t({"DIRECTION", "LANE", "VI", "ZH", "WAIT", "RANGE", "LANE OPEN", "WAITING", "BOOKED",
           "TODAY", "NEXT HOUR"});
  t.Right(4).Right(7).Right(8).Right(9).Right(10);
  for (const auto& lane : Array(w, "lanes")) {
    const json::value& name = At(lane, {"name"});
    std::string wait, range;
    if (auto minutes = Number(lane, "expected_wait_minutes")) {
      wait = HoursMinutes(static_cast<int64_t>(*minutes));
      const json::array& interval = Array(lane, "wait_interval_minutes");
      if (interval.size() == 2 && interval[0].is_number() && interval[1].is_number()) {
        range = HoursMinutes(interval[0].to_number<int64_t>()) + " to " +
                HoursMinutes(interval[1].to_number<int64_t>());
      }
    } else {
      wait = fmt::format("> {} h", Int(lane, "beyond_hours"));
    }
    t.Row({Text(lane, "direction"), Text(name, "en"), Text(name, "vi"), Text(name, "zh"), wait,
           range.empty() ? "-" : range, Bool(lane, "open") ? "open" : "closed",
           Text(lane, "waiting"), Text(lane, "booked"), Text(lane, "capacity_today"),
           Text(lane, "capacity_next_hour")});
  }
  t.Print(std::cout);
  std::cout << "WAIT: expected wait (h:mm) for a truck entering the yard now without a booking; "
               "TODAY / NEXT HOUR: trucks the lane can clear\n";
  return kExitOk;
}

// --- Registration ------------------------------------------------------------------------------

struct State {
  Remote remote;
  QueueFlags queue;
  CapacityFlags capacity;
  BanFlags ban;
  PlateReadFlags plate;
  std::vector<std::pair<CLI::App*, std::function<int(Session&)>>> commands;
};

void AddCommon(CLI::App* cmd, Remote& r, bool write) {
  cmd->add_option("--url", r.url,
                  "the node's base URL (http://host:port; default: $BORDERFLOW_URL, else " +
                      std::string(kDefaultNodeUrl) + ")");
  cmd->add_option("--token", r.token,
                  "API token (bft_...; default: $BORDERFLOW_TOKEN); never printed");
  cmd->add_flag("--json", r.json, "print the node's JSON answer instead of a table");
  if (write) {
    cmd->add_option("--idempotency-key", r.idempotency_key,
                    "key of this write (default: a fresh random one, printed on stderr); repeat "
                    "a failed command with the same key to apply it at most once");
  }
}

}  // namespace

void ResolveRemote(std::string& url, std::string& token) {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value == nullptr ? "" : value;
  };
  if (url.empty()) url = env("BORDERFLOW_URL");
  if (url.empty()) url = kDefaultNodeUrl;
  if (token.empty()) token = env("BORDERFLOW_TOKEN");
}

std::function<std::optional<int>()> AddQueueCommands(CLI::App& app) {
  auto state = std::make_shared<State>();
  State& st = *state;
  auto leaf = [&](CLI::App* parent, std::string name, std::string help, bool write,
                  std::function<int(Session&)> run) {
    CLI::App* cmd = parent->add_subcommand(std::move(name), std::move(help));
    AddCommon(cmd, st.remote, write);
    st.commands.emplace_back(cmd, std::move(run));
    return cmd;
  };
  const std::string lane_help = "lane class (general_cargo, fresh_produce, ...)";

  auto* queue = app.add_subcommand("queue", "the electronic queue of a running node (over HTTP)");
  queue->require_subcommand(1);
  auto* show = leaf(queue, "show", "the planned calls per lane (staff)", false,
                    [&st](Session& s) { return QueueShow(s, st.queue); });
  show->add_option("--direction", st.queue.direction, "only this direction (VN-CN, CN-VN)");
  show->add_option("--lane-class", st.queue.lane_class, lane_help);
  auto* call = leaf(queue, "call-next", "call the next truck of a lane to the gate (gate operator)",
                    true, [&st](Session& s) { return QueueCallNext(s, st.queue); });
  call->add_option("--direction", st.queue.direction, "direction (VN-CN, CN-VN)")->required();
  call->add_option("--lane-class", st.queue.lane_class, lane_help)->required();
  auto* policy = leaf(queue, "policy", "set the call-forward policy and re-plan (gate operator)",
                      true, [&st](Session& s) { return QueuePolicy(s, st.queue); });
  policy->add_option("policy", st.queue.policy, "fifo, cyclic or smart")
      ->required()
      ->check(CLI::IsMember({"fifo", "cyclic", "smart"}));
  leaf(queue, "predictions", "how far expected calls were from the actual calls", false,
       [](Session& s) { return QueuePredictions(s); });

  auto* capacity = app.add_subcommand("capacity", "lane capacity and changes to it (over HTTP)");
  capacity->require_subcommand(1);
  auto* cap_show = leaf(capacity, "show", "capacity and planned trucks per bucket, as a bar chart",
                        false, [&st](Session& s) { return CapacityShow(s, st.capacity); });
  cap_show->add_option("--direction", st.capacity.direction, "direction (VN-CN, CN-VN)")
      ->required();
  cap_show->add_option("--lane-class", st.capacity.lane_class, lane_help)->required();
  cap_show->add_option("--from", st.capacity.from,
                       "start: now, +2h, -30m or e.g. 2026-11-29T14:00+07:00 (default now)");
  cap_show->add_option("--until", st.capacity.until, "end, as --from (default 24 h after it)");
  leaf(capacity, "list", "the capacity changes in force or announced", false,
       [](Session& s) { return CapacityList(s); });
  auto* cap_add = leaf(capacity, "add", "record a capacity change and re-plan (gate operator)",
                       true, [&st](Session& s) { return CapacityAdd(s, st.capacity); });
  cap_add->add_option("--kind", st.capacity.kind, "closure, lanes, reversible or acceptance")
      ->required()
      ->check(CLI::IsMember({"closure", "lanes", "reversible", "acceptance"}));
  cap_add->add_option("--from", st.capacity.from, "start: now, +2h or a time with its zone")
      ->required();
  cap_add->add_option("--until", st.capacity.until, "end (exclusive), as --from")->required();
  cap_add->add_option("--direction", st.capacity.direction, "direction (closure: empty means all)");
  cap_add->add_option("--lane-class", st.capacity.lane_class,
                      "lane class (closure: empty means all)");
  cap_add->add_option("--lanes", st.capacity.lanes, "lanes open (lanes, reversible)")
      ->check(CLI::Range(0, 100));
  cap_add
      ->add_option("--trucks-per-hour", st.capacity.trucks_per_hour,
                   "trucks per hour the other side accepts (acceptance)")
      ->check(CLI::Range(0.0, 10000.0));
  cap_add->add_option("--reason", st.capacity.reason, "why, shown to operators")->required();

  auto* ban = app.add_subcommand("ban", "trucks banned from booking (over HTTP)");
  ban->require_subcommand(1);
  leaf(ban, "list", "banned trucks and recent strikes (staff)", false,
       [](Session& s) { return BanList(s); });
  auto* ban_add = leaf(ban, "add", "ban a truck from booking (gate operator)", true,
                       [&st](Session& s) { return BanAdd(s, st.ban); });
  ban_add->add_option("plate", st.ban.plate, "the truck's plate")->required();
  ban_add->add_option("--days", st.ban.days, "ban length in days")
      ->required()
      ->check(CLI::Range(1, 365));
  ban_add->add_option("--reason", st.ban.reason, "why")->required();
  auto* ban_lift = leaf(ban, "lift", "lift a truck's ban (gate operator)", true,
                        [&st](Session& s) { return BanLift(s, st.ban); });
  ban_lift->add_option("plate", st.ban.plate, "the truck's plate")->required();
  ban_lift->add_option("--reason", st.ban.reason, "why");

  auto* plate = app.add_subcommand("plate-read", "camera plate reads (over HTTP)");
  plate->require_subcommand(1);
  auto* submit = leaf(plate, "submit", "submit a plate read as a camera would (sensor, operator)",
                      true, [&st](Session& s) { return PlateReadSubmit(s, st.plate); });
  submit->add_option("--location", st.plate.location, "yard_entrance or gate")
      ->required()
      ->check(CLI::IsMember({"yard_entrance", "gate"}));
  submit->add_option("--text", st.plate.text, "the plate as read")->required();
  submit->add_option("--confidence", st.plate.confidence, "the reader's confidence, 0 to 1")
      ->check(CLI::Range(0.0, 1.0));
  submit->add_option("--camera", st.plate.camera, "camera id");
  leaf(plate, "list", "plate reads waiting for an operator", false,
       [](Session& s) { return PlateReadList(s); });
  auto* resolve = leaf(plate, "resolve", "apply a waiting read to a crossing, or dismiss it", true,
                       [&st](Session& s) { return PlateReadResolve(s, st.plate); });
  resolve->add_option("id", st.plate.id, "the read's id (PR-...)")->required();
  auto* crossing =
      resolve->add_option("--crossing", st.plate.crossing, "the crossing the read belongs to");
  auto* dismiss = resolve->add_flag("--dismiss", st.plate.dismiss, "the read matches no crossing");
  crossing->excludes(dismiss);
  resolve->add_option("--note", st.plate.note, "a note for the audit trail");

  leaf(&app, "wait-board", "the public wait board: expected wait and capacity per lane", false,
       [](Session& s) { return WaitBoard(s); });

  return [state]() -> std::optional<int> {
    for (const auto& [cmd, run] : state->commands) {
      if (!cmd->parsed()) continue;
      ResolveRemote(state->remote.url, state->remote.token);
      auto endpoint = ParseUrl(state->remote.url);
      if (!endpoint) return UsageError(endpoint.error().message);
      try {
        Session session(state->remote, *endpoint);
        return run(session);
      } catch (const std::exception& e) {
        std::cerr << "borderflow: unexpected_answer: " << e.what() << "\n";
        return kExitError;
      }
    }
    return std::nullopt;
  };
}

}  // namespace borderflow::cli
