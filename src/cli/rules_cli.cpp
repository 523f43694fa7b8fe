#include "rules_cli.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/rules/assessment.h>
#include <borderflow/rules/facts.h>
#include <borderflow/rules/rule_set.h>
#include <borderflow/server/runtime.h>
#include <borderflow/store/sqlite_store.h>

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

Result<std::unique_ptr<SqliteStore>> OpenDb(const std::string& db) {
  if (!std::filesystem::exists(db)) {
    return InvalidArgument("db_not_found", fmt::format("no database file '{}'", db));
  }
  return SqliteStore::Open(SqliteOptions{db, 1, false}, HsNomenclature::Hs2022());
}

std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Compiles `text`; prints FILE:LINE:COL: message on failure.
std::optional<rules::RuleSet> Compile(const std::string& file, const std::string& text,
                                      std::string secret) {
  rules::RuleCompileOptions options;
  options.secret = secret.empty() ? std::string(kCheckSecret) : std::move(secret);
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
      current = Compile(r.id, Text(v->get_object(), "text"), secret);
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

}  // namespace

std::function<std::optional<int>()> AddRulesCommands(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* rules_cmd = app.add_subcommand("rules", "risk rules: check, dry-run, explain (offline)");
  auto* check = rules_cmd->add_subcommand("check", "check a rule file (exit 1 with FILE:LINE:COL)");
  check->add_option("file", o->file, "rule file")->required();
  auto* test = rules_cmd->add_subcommand(
      "test", "dry-run a rule file against the declarations of a database (read-only)");
  test->add_option("file", o->file, "rule file")->required();
  test->add_option("--against", o->db, "SQLite database file")->required();
  test->add_option("--limit", o->limit, "the last N declarations")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  test->add_option("--config", o->config, "gate configuration")->capture_default_str();
  auto* explain = rules_cmd->add_subcommand("explain", "explain a crossing's risk decision");
  explain->add_option("--db", o->db, "SQLite database file")->required();
  explain->add_option("crossing", o->crossing, "crossing id")->required();
  return [o, rules_cmd, check, test, explain]() -> std::optional<int> {
    if (!rules_cmd->parsed()) return std::nullopt;
    if (check->parsed()) return Check(*o);
    if (test->parsed()) return Test(*o);
    if (explain->parsed()) return Explain(*o);
    std::cerr << "usage: borderflow rules check|test|explain\n";
    return kError;
  };
}

}  // namespace borderflow::cli
