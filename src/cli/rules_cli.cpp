#include "rules_cli.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <borderflow/core/clock.h>
#include <borderflow/core/json.h>
#include <borderflow/core/random.h>
#include <borderflow/core/time_ordered_id.h>
#include <borderflow/net/http_client.h>
#include <borderflow/rules/assessment.h>
#include <borderflow/rules/facts.h>
#include <borderflow/rules/rule_set.h>
#include <borderflow/server/runtime.h>
#include <borderflow/store/sqlite_store.h>
#include <borderflow/store/store_factory.h>

#include "queue_cli.h"  // ResolveRemote

namespace borderflow::cli {

namespace json = boost::json;

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kError = 2;
// `rules check` compiles without the node's secret: only random draws depend on it.
constexpr std::string_view kCheckSecret = "borderflow-rules-check-secret-0123456789";

struct Options {
  std::string file;
  std::string db;
  std::string config = "config/huu-nghi.toml";
  std::string crossing;
  int limit = 1000;
  // watchlist (over HTTP)
  std::string url;  // empty until given: see ResolveRemote
  std::string token;
  std::string name;
  std::string description;
  std::optional<int64_t> expected_version;
  std::string idempotency_key;
  bool json = false;
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int Error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kError;
}

// The node's database, SQLite file or PostgreSQL URL, opened for reading (never migrated).
Result<std::unique_ptr<Store>> OpenDb(const std::string& db) {
  const std::string file = SqlitePathOf(db);
  if (!file.empty() && !std::filesystem::exists(file)) {
    return InvalidArgument("db_not_found", fmt::format("no database file '{}'", file));
  }
  return OpenStore(db, HsNomenclature::Hs2022(),
                   StoreOpenOptions{.read_connections = 1, .migrate = false});
}

std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Compiles `text`; prints FILE:LINE:COL: message on failure.
// `stored`: a set the node stored (its active one), compiled under the limits it was accepted
// with; otherwise the node's limits for a new upload (rules::kMaxRuleSetTextBytes, names).
std::optional<rules::RuleSet> Compile(const std::string& file, const std::string& text,
                                      std::string secret, bool stored = false) {
  rules::RuleCompileOptions options;
  options.secret = secret.empty() ? std::string(kCheckSecret) : std::move(secret);
  if (stored) {
    options.stored = true;
    options.max_bytes = 4 << 20;
  }
  auto set = rules::CompileRuleSet(text, options);
  if (set) return std::move(*set);
  auto pos = rules::ErrorPosition(set.error());
  if (pos) {
    std::cout << fmt::format("{}:{}:{}: {}\n", file, pos->line, pos->column, set.error().message);
  } else {
    std::cout << fmt::format("{}: {}\n", file, set.error().message);
  }
  return std::nullopt;
}

int Check(const Options& o) {
  auto text = ReadFile(o.file);
  if (!text) return Error(fmt::format("cannot read '{}'", o.file));
  auto set = Compile(o.file, *text, "");
  if (!set) return kFailed;
  std::cout << fmt::format("{}: ok: {} ({} rules, fingerprint {})\n", o.file, set->Id(),
                           set->size(), set->fingerprint());
  if (set->size() == 0) {
    std::cout << fmt::format(
        "{}: warning: no rules (every truck green but for random "
        "selection)\n",
        o.file);
  }
  for (const std::string& list : set->watchlists()) {
    std::cout << fmt::format(
        "{}: note: asks for watch list \"{}\" (the node warns at upload "
        "when it does not exist)\n",
        o.file, list);
  }
  return kOk;
}

int Test(const Options& o) {
  auto text = ReadFile(o.file);
  if (!text) return Error(fmt::format("cannot read '{}'", o.file));
  auto store = OpenDb(o.db);
  if (!store) return Error(store.error().ToString());
  // The node's secret and active set, so that random draws match the node's.
  std::string secret;
  if (auto settings = (*store)->ListRecords("setting")) {
    for (const auto& r : *settings) {
      if (r.id != "rules_secret") continue;
      if (auto v = ParseJson(r.body); v && v->is_object()) secret = Text(v->get_object(), "secret");
    }
  }
  auto candidate = Compile(o.file, *text, secret);
  if (!candidate) return kFailed;
  std::optional<rules::RuleSet> current;
  if (auto sets = (*store)->ListRecords("rule_set")) {
    for (const auto& r : *sets) {
      auto v = ParseJson(r.body, JsonLimits{64 << 20, 64});
      if (!v || !v->is_object() || Text(v->get_object(), "status") != "active") continue;
      current = Compile(r.id, Text(v->get_object(), "text"), secret, /*stored=*/true);
    }
  }
  if (!current) current = Compile("(none)", "ruleset \"none\" version 1\n", secret);
  if (!current) return kError;
  auto config = LoadGateConfig(o.config);
  std::deque<Crossing> past;
  CrossingFilter filter;
  filter.limit = 200;
  while (true) {
    auto page = (*store)->ListCrossings(filter);
    if (!page) return Error(page.error().ToString());
    for (Crossing& c : page->items) {
      past.push_back(std::move(c));
      if (past.size() > static_cast<size_t>(o.limit)) past.pop_front();
    }
    if (page->next_cursor.empty()) break;
    filter.after = page->next_cursor;
  }
  std::vector<rules::RiskFacts> facts;
  rules::FactSources sources;
  if (config) sources.config = &*config;
  for (const Crossing& c : past) facts.push_back(rules::BuildRiskFacts(c, sources));
  rules::DryRunReport report = rules::DryRun(*current, *candidate, facts, 1000);
  auto counts = [](const size_t(&n)[4]) {
    return fmt::format("green {}, yellow {}, red {}", n[1], n[2], n[3]);
  };
  std::cout << fmt::format("{} against {} declarations (current: {})\n", candidate->Id(),
                           report.total, current->Id());
  std::cout << "before: " << counts(report.before) << ", quarantine " << report.quarantine_before
            << "\n";
  std::cout << "after:  " << counts(report.after) << ", quarantine " << report.quarantine_after
            << "\n";
  std::cout << fmt::format("changed: {}\n", report.changed);
  for (const auto& ch : report.changes) {
    std::cout << fmt::format("  {} {} -> {}{}\n", past[ch.index].id, ChannelName(ch.before),
                             ChannelName(ch.after),
                             ch.quarantine_before != ch.quarantine_after
                                 ? (ch.quarantine_after ? " +quarantine" : " -quarantine")
                                 : "");
  }
  return kOk;
}

int Explain(const Options& o) {
  auto store = OpenDb(o.db);
  if (!store) return Error(store.error().ToString());
  auto records = (*store)->ListAuditFor("crossing", o.crossing, 1000);
  if (!records) return Error(records.error().ToString());
  std::optional<json::object> latest;
  int64_t seq = 0;
  for (const auto& r : *records) {
    if (r.action != "assess" && r.action != "reassess") continue;
    auto body = ParseJson(r.body, JsonLimits{64 << 20, 64});
    if (!body || !body->is_object()) continue;
    const json::value* a = body->get_object().if_contains("assessment");
    if (a == nullptr || !a->is_object()) continue;
    latest = a->get_object();
    seq = r.seq;
  }
  if (!latest) {
    std::cout << fmt::format("crossing {} has no decision by risk rules\n", o.crossing);
    return kFailed;
  }
  std::cout << fmt::format("{} (audit record {}), rule set {}\n", o.crossing, seq,
                           Text(*latest, "rule_set"));
  if (const json::value* s = latest->if_contains("summary"); s && s->is_object()) {
    for (std::string_view lang : {"en", "vi", "zh"}) {
      std::cout << fmt::format("  [{}] {}\n", lang, Text(s->get_object(), lang));
    }
  }
  if (const json::value* rs = latest->if_contains("rules"); rs && rs->is_array()) {
    for (const json::value& r : rs->get_array()) {
      if (!r.is_object()) continue;
      const json::object& rule = r.get_object();
      std::cout << fmt::format("  rule {} (line {}): {}\n", Text(rule, "name"),
                               ToJsonText(rule.at("source_line")), Text(rule, "condition"));
    }
  }
  if (const json::value* c = latest->if_contains("capacity"); c && c->is_object()) {
    const json::value* reason = c->get_object().if_contains("reason");
    if (reason && reason->is_object()) {
      std::cout << "  capacity: " << Text(reason->get_object(), "en") << "\n";
    }
  }
  return kOk;
}

// --- Watch lists, over HTTP (the node keeps them in memory) ---------------------------------

// Reads a watch-list file: one entry a line, "KIND VALUE [# note]" (KIND: plate, company,
// driver, hs); blank lines and lines starting with '#' are skipped. "-" reads stdin.
Result<json::array> ReadWatchlistFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    std::ostringstream in;
    in << std::cin.rdbuf();
    text = in.str();
  } else {
    auto file = ReadFile(path);
    if (!file) return InvalidArgument("file_not_found", fmt::format("cannot read '{}'", path));
    text = std::move(*file);
  }
  json::array entries;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  auto trim = [](std::string s) {
    size_t b = s.find_first_not_of(" \t\r");
    size_t e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  while (std::getline(lines, line)) {
    ++number;
    std::string note;
    if (size_t hash = line.find('#'); hash != std::string::npos) {
      note = trim(line.substr(hash + 1));
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;
    size_t space = line.find_first_of(" \t");
    if (space == std::string::npos) {
      return InvalidArgument("invalid_watchlist_file",
                             fmt::format("{}:{}: expected KIND VALUE", path, number));
    }
    json::object entry{{"kind", line.substr(0, space)}, {"value", trim(line.substr(space + 1))}};
    if (!note.empty()) entry["note"] = note;
    entries.push_back(std::move(entry));
  }
  return entries;
}

// One request to the node; prints problems on stderr. Exit 0 (2xx), 1 (4xx), 2 (otherwise).
int Request(const Options& o, std::string_view method, const std::string& path,
            const std::string& body, json::value& answer) {
  auto parsed = net::HttpClient::ParseUrl(o.url);  // resolved (ResolveRemote) after parsing
  if (!parsed) return Error(parsed.error().message);
  net::HttpClient client(*parsed);
  std::vector<std::pair<std::string, std::string>> headers;
  if (!o.token.empty()) headers.emplace_back("Authorization", "Bearer " + o.token);
  if (method != "GET") {
    std::string key = o.idempotency_key;
    if (key.empty()) {
      SystemRandom random;
      key = TimeOrderedId("cli-", SystemClock().Now(), random, 16);
      std::cerr << "idempotency key: " << key << "\n";
    }
    headers.emplace_back("Idempotency-Key", key);
    headers.emplace_back("Content-Type", "application/json");
  }
  auto reply = client.Send(method, parsed->path_prefix + path, body, headers);
  if (!reply) return Error(reply.error().ToString());
  auto v = ParseJson(reply->body, JsonLimits{64 << 20, 64});
  if (v) answer = std::move(*v);
  if (reply->status >= 200 && reply->status < 300) return kOk;
  std::string detail = reply->body;
  if (answer.is_object()) {
    detail = fmt::format("{}: {}", Text(answer.get_object(), "code"),
                         Text(answer.get_object(), "detail"));
  }
  std::cerr << fmt::format("error: {} {}: {}\n", reply->status, path, detail);
  return reply->status >= 400 && reply->status < 500 ? kFailed : kError;
}

int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

int WatchlistList(const Options& o) {
  json::value answer;
  if (int rc = Request(o, "GET", "/api/v1/watchlists", "", answer); rc != kOk) return rc;
  if (o.json) {
    std::cout << ToJsonText(answer) << "\n";
    return kOk;
  }
  const json::value* items =
      answer.is_object() ? answer.get_object().if_contains("items") : nullptr;
  if (items == nullptr || !items->is_array() || items->get_array().empty()) {
    std::cout << "no watch lists\n";
    return kOk;
  }
  std::cout << fmt::format("{:<32} {:>7} {:>8}  {}\n", "name", "version", "entries", "updated");
  for (const json::value& v : items->get_array()) {
    if (!v.is_object()) continue;
    const json::object& l = v.get_object();
    std::cout << fmt::format("{:<32} {:>7} {:>8}  {} by {}\n", Text(l, "name"), Int(l, "version"),
                             Int(l, "entries"), Text(l, "updated_at"), Text(l, "updated_by"));
  }
  return kOk;
}

int WatchlistShow(const Options& o) {
  json::value answer;
  if (int rc = Request(o, "GET", "/api/v1/watchlists/" + o.name, "", answer); rc != kOk) return rc;
  if (o.json || !answer.is_object()) {
    std::cout << ToJsonText(answer) << "\n";
    return kOk;
  }
  const json::object& l = answer.get_object();
  // The same format `put` reads, with the version in a comment.
  std::cout << fmt::format("# watch list {} version {} ({} by {}){}\n", Text(l, "name"),
                           Int(l, "version"), Text(l, "updated_at"), Text(l, "updated_by"),
                           Text(l, "description").empty() ? "" : ": " + Text(l, "description"));
  if (const json::value* entries = l.if_contains("entries"); entries && entries->is_array()) {
    for (const json::value& e : entries->get_array()) {
      if (!e.is_object()) continue;
      std::string note = Text(e.get_object(), "note");
      std::cout << fmt::format("{} {}{}\n", Text(e.get_object(), "kind"),
                               Text(e.get_object(), "value"), note.empty() ? "" : "  # " + note);
    }
  }
  return kOk;
}

int WatchlistDelete(const Options& o) {
  json::value answer;
  int rc = Request(o, "DELETE", "/api/v1/watchlists/" + o.name, "", answer);
  if (rc != kOk) return rc;
  if (o.json || !answer.is_object()) {
    std::cout << ToJsonText(answer) << "\n";
    return kOk;
  }
  const json::object& l = answer.get_object();
  const json::value* deleted = l.if_contains("deleted");
  if (deleted != nullptr && deleted->is_bool() && deleted->get_bool()) {
    std::cout << fmt::format("watch list {} deleted (was version {}, {} entries)\n", o.name,
                             Int(l, "previous_version"), Int(l, "removed"));
  } else {
    std::cout << fmt::format("no watch list {}: nothing deleted\n", o.name);
  }
  return kOk;
}

int WatchlistPut(const Options& o) {
  auto entries = ReadWatchlistFile(o.file);
  if (!entries) return Error(entries.error().message);
  json::object body{{"entries", std::move(*entries)}};
  if (!o.description.empty()) body["description"] = o.description;
  if (o.expected_version) body["expected_version"] = *o.expected_version;
  json::value answer;
  int rc = Request(o, "PUT", "/api/v1/watchlists/" + o.name, ToJsonText(body), answer);
  if (rc != kOk) return rc;
  if (o.json || !answer.is_object()) {
    std::cout << ToJsonText(answer) << "\n";
    return kOk;
  }
  const json::object& l = answer.get_object();
  const json::value* changed = l.if_contains("changed");
  if (changed != nullptr && changed->is_bool() && !changed->get_bool()) {
    std::cout << fmt::format("watch list {} unchanged at version {} ({} entries)\n",
                             Text(l, "name"), Int(l, "version"), Int(l, "entries"));
  } else {
    std::cout << fmt::format("watch list {} version {}: {} entries (+{} -{})\n", Text(l, "name"),
                             Int(l, "version"), Int(l, "entries"), Int(l, "added"),
                             Int(l, "removed"));
  }
  return kOk;
}

}  // namespace

std::function<std::optional<int>()> AddRulesCommands(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* rules_cmd = app.add_subcommand("rules", "risk rules: check, dry-run, explain (offline)");
  auto* check = rules_cmd->add_subcommand("check", "check a rule file (exit 1 with FILE:LINE:COL)");
  check->add_option("file", o->file, "rule file")->required();
  auto* test = rules_cmd->add_subcommand(
      "test", "dry-run a rule file against the declarations of a database (read-only)");
  test->add_option("file", o->file, "rule file")->required();
  test->add_option("--against", o->db, "the node's database: SQLite file or postgresql:// URL")
      ->required();
  test->add_option("--limit", o->limit, "the last N declarations")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  test->add_option("--config", o->config, "gate configuration")->capture_default_str();
  auto* explain = rules_cmd->add_subcommand("explain", "explain a crossing's risk decision");
  explain->add_option("--db", o->db, "the node's database: SQLite file or postgresql:// URL")
      ->required();
  explain->add_option("crossing", o->crossing, "crossing id")->required();
  auto* watchlist =
      rules_cmd->add_subcommand("watchlist", "watch lists of a running node (over HTTP)");
  auto remote = [&o](CLI::App* cmd, bool write) {
    cmd->add_option("--url", o->url,
                    "the node's base URL (http://host:port; default: $BORDERFLOW_URL, else " +
                        std::string(kDefaultNodeUrl) + ")");
    cmd->add_option("--token", o->token,
                    "API token (bft_...; default: $BORDERFLOW_TOKEN); never printed");
    cmd->add_flag("--json", o->json, "print the node's JSON answer");
    if (write) {
      cmd->add_option("--idempotency-key", o->idempotency_key,
                      "key of this write (default: a fresh one, printed on stderr)");
    }
  };
  auto* wl_list = watchlist->add_subcommand("list", "the watch lists (name, version, entries)");
  remote(wl_list, false);
  auto* wl_show = watchlist->add_subcommand("show", "one watch list, in the format put reads");
  wl_show->add_option("name", o->name, "watch list name")->required();
  remote(wl_show, false);
  auto* wl_put = watchlist->add_subcommand(
      "put",
      "replace a watch list from a file: one 'KIND VALUE [# note]' a line (KIND: plate, "
      "company, driver, hs); an empty file empties it");
  wl_put->add_option("name", o->name, "watch list name")->required();
  wl_put->add_option("file", o->file, "entries file ('-': stdin)")->required();
  wl_put->add_option("--description", o->description, "what the list is for");
  wl_put->add_option("--expected-version", o->expected_version,
                     "replace only if the list is at this version (0: a new list)");
  remote(wl_put, true);
  auto* wl_delete = watchlist->add_subcommand(
      "delete", "delete a watch list (rules that ask for it then match nothing)");
  wl_delete->add_option("name", o->name, "watch list name")->required();
  remote(wl_delete, true);
  return [o, rules_cmd, check, test, explain, watchlist, wl_list, wl_show, wl_put,
          wl_delete]() -> std::optional<int> {
    if (!rules_cmd->parsed()) return std::nullopt;
    ResolveRemote(o->url, o->token);
    if (check->parsed()) return Check(*o);
    if (test->parsed()) return Test(*o);
    if (explain->parsed()) return Explain(*o);
    if (wl_list->parsed()) return WatchlistList(*o);
    if (wl_show->parsed()) return WatchlistShow(*o);
    if (wl_put->parsed()) return WatchlistPut(*o);
    if (wl_delete->parsed()) return WatchlistDelete(*o);
    if (watchlist->parsed()) {
      std::cerr << "usage: borderflow rules watchlist list|show|put|delete\n";
      return kError;
    }
    std::cerr << "usage: borderflow rules check|test|explain|watchlist\n";
    return kError;
  };
}

}  // namespace borderflow::cli
