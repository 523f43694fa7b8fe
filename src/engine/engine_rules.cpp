// The engine's risk-based selectivity (issue 4): rule sets uploaded, stored and activated;
// declarations assessed by the active set in the command that declares them; re-assessment when
// new facts arrive (weighbridge, documents, seal); learning from inspection outcomes. The rules
// themselves are pure (rules/*.h); this file applies them inside the engine's transactions and
// records every decision, with its explanation, in the audit trail.

#include <deque>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/rules/facts.h>

#include "engine_internal.h"
#include "queue_book.h"
#include "rules_book.h"

namespace borderflow {

namespace json = boost::json;

namespace {

bool IsStaffRole(Role role) {
  switch (role) {
    case Role::kGateOperator:
    case Role::kCustomsOfficer:
    case Role::kQuarantineOfficer:
    case Role::kBorderGuard:
    case Role::kAdministrator:
    case Role::kSystem:
      return true;
    default:
      return false;
  }
}

Status RequireRoles(const Actor& actor, std::initializer_list<Role> roles, std::string_view what) {
  for (Role r : roles) {
    if (actor.role == r) return {};
  }
  std::string allowed;
  for (Role r : roles) allowed += (allowed.empty() ? "" : ", ") + std::string(RoleName(r));
  return Error(
      ErrorKind::kPermissionDenied, "role_not_allowed",
      fmt::format("role {} may not {}; allowed roles: {}", RoleName(actor.role), what, allowed));
}

Status RequireStaff(const Actor& actor) {
  if (IsStaffRole(actor.role)) return {};
  return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
               fmt::format("role {} may not read the risk rules", RoleName(actor.role)));
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string JsonString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

rules::RuleCompileOptions CompileOptions(const std::string& secret) {
  rules::RuleCompileOptions options;
  options.secret = secret;
  return options;
}

bool Higher(Channel a, Channel b) { return static_cast<int>(a) > static_cast<int>(b); }

// The previous decision as an Assessment, for Reassess.
rules::Assessment FromDecision(const Crossing& c, const RulesBook& book) {
  rules::Assessment a;
  a.channel = c.channel;
  a.quarantine = c.quarantine_inspection;
  if (!c.risk) return a;
  a.score = c.risk->score;
  a.mandatory_channel = c.risk->mandatory_channel;
  a.random = c.risk->random;
  for (const auto& f : c.risk->fired) a.fired.push_back(rules::FiredRule{f.rule, f.line, f.score});
  if (auto it = book.sets.find(c.risk->rule_set); it != book.sets.end()) {
    a.rule_set_version = it->second.version();
    a.rule_set_fingerprint = it->second.fingerprint64();
  }
  return a;
}

RiskDecision ToDecision(const rules::Assessment& a, const rules::RuleSet& set) {
  RiskDecision d;
  d.rule_set = set.Id();
  d.fingerprint = set.fingerprint();
  d.score = a.score;
  d.mandatory_channel = a.mandatory_channel;
  d.random = a.random;
  for (const auto& f : a.fired) d.fired.push_back(RiskDecision::Fired{f.rule, f.line, f.score});
  return d;
}

std::optional<rules::DocumentStatus> DocumentFinding(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto s = rules::ParseDocumentStatus(text);
  return s ? std::optional<rules::DocumentStatus>(*s) : std::nullopt;
}

rules::FactSources Sources(const GateConfig& config, const RulesBook& book, const Crossing& c) {
  rules::FactSources s;
  s.config = &config;
  s.compliance = &book.compliance;
  s.weighbridge_kg = c.findings.weighbridge_kg;
  s.phytosanitary = DocumentFinding(c.findings.phytosanitary);
  s.certificate_of_origin = DocumentFinding(c.findings.certificate_of_origin);
  s.customs_declaration = DocumentFinding(c.findings.customs_declaration);
  if (!c.findings.seal.empty()) {
    if (auto seal = rules::ParseSealStatus(c.findings.seal)) s.seal = *seal;
  }
  // History: what the book learned from earlier inspections of this truck and this driver
  // (`crossings` counts the inspected ones). External watch lists are not gathered yet.
  if (auto v = book.vehicles.find(c.declaration.vehicle.plate.canonical);
      v != book.vehicles.end()) {
    s.vehicle = v->second;
  }
  if (auto d = book.drivers.find(c.declaration.driver.document_number); d != book.drivers.end()) {
    s.driver = d->second;
  }
  return s;
}

// Learns from one stored inspection outcome (also replayed at start).
void Learn(RulesBook& book, const json::object& body) {
  std::string company = JsonString(body, "company");
  const json::value* finding_v = body.if_contains("finding");
  bool finding = finding_v != nullptr && finding_v->is_bool() && finding_v->get_bool();
  book.compliance.Record(company, finding);
  book.companies.insert(company);
  auto count = [&](std::map<std::string, rules::HistoryFacts>& history, std::string key) {
    if (key.empty()) return;  // outcomes recorded before plates and drivers were kept
    rules::HistoryFacts& h = history[key];
    ++h.crossings;
    ++h.inspections;
    if (finding) ++h.findings;
  };
  count(book.vehicles, JsonString(body, "plate"));
  count(book.drivers, JsonString(body, "driver_document"));
  auto set = book.sets.find(JsonString(body, "rule_set"));
  const json::value* fired = body.if_contains("fired");
  if (set == book.sets.end() || fired == nullptr || !fired->is_array()) return;
  rules::Assessment a;
  for (const json::value& v : fired->get_array()) {
    if (!v.is_object()) continue;
    const json::object& o = v.get_object();
    auto num = [&](std::string_view key) {
      const json::value* x = o.if_contains(key);
      return x != nullptr && x->is_number() ? x->to_number<double>() : 0.0;
    };
    auto rule = static_cast<uint32_t>(num("rule"));
    if (rule >= set->second.size()) continue;
    a.fired.push_back(rules::FiredRule{rule, static_cast<int32_t>(num("line")), num("score")});
  }
  const json::value* random = body.if_contains("random");
  a.random = random != nullptr && random->is_bool() && random->get_bool();
  a.rule_set_version = set->second.version();
  a.rule_set_fingerprint = set->second.fingerprint64();
  book.hits.Record(set->second, a, a.random, finding);
}

json::object ChannelCounts(const size_t (&counts)[4]) {
  json::object o;
  for (Channel c : {Channel::kGreen, Channel::kYellow, Channel::kRed}) {
    o[ChannelName(c)] = counts[static_cast<int>(c)];
  }
  return o;
}

}  // namespace

// --- Loading -------------------------------------------------------------------------------

Status Engine::LoadRules() {
  RulesBook fresh;
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> settings, store_.ListRecords(kSettingRecord));
  for (const StoredRecord& r : settings) {
    if (r.id != kRulesSecretId) continue;
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    if (!v.is_object()) return Internal("the stored rules secret is corrupt");
    fresh.secret = JsonString(v.get_object(), "secret");
  }
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> sets, store_.ListRecords(kRuleSetRecord));
  for (const StoredRecord& r : sets) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body, JsonLimits{64 << 20, 64}));
    if (!v.is_object()) return Internal(fmt::format("stored rule set {} is corrupt", r.id));
    json::object body = std::move(v.get_object());
    std::string status = JsonString(body, "status");
    auto compiled = rules::CompileRuleSet(JsonString(body, "text"), CompileOptions(fresh.secret));
    if (!compiled || compiled->Id() != r.id) {
      if (status == "active") {
        return Internal(fmt::format("the active rule set {} does not compile: {}", r.id,
                                    compiled ? "its id differs" : compiled.error().ToString()));
      }
      continue;  // an old set the current language no longer accepts: kept, not usable
    }
    if (status == "active") fresh.active = std::make_shared<const rules::RuleSet>(*compiled);
    fresh.sets.insert_or_assign(r.id, std::move(*compiled));
    body.erase("text");
    fresh.records.insert_or_assign(r.id, std::move(body));
  }
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> days, store_.ListRecords(kRedDayRecord));
  for (const StoredRecord& r : days) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    const json::value* count = v.is_object() ? v.get_object().if_contains("count") : nullptr;
    if (count != nullptr && count->is_int64()) {
      fresh.red_per_day[r.id] = static_cast<int>(count->get_int64());
    }
  }
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> outcomes,
                      store_.ListRecords(kInspectionOutcomeRecord));
  for (const StoredRecord& r : outcomes) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    if (v.is_object()) Learn(fresh, v.get_object());
  }
  if (!rules_) rules_ = std::make_unique<RulesBook>();
  std::lock_guard lock(rules_->mu);
  rules_->secret = std::move(fresh.secret);
  rules_->sets = std::move(fresh.sets);
  rules_->records = std::move(fresh.records);
  rules_->active = std::move(fresh.active);
  rules_->compliance = std::move(fresh.compliance);
  rules_->hits = std::move(fresh.hits);
  rules_->companies = std::move(fresh.companies);
  rules_->vehicles = std::move(fresh.vehicles);
  rules_->drivers = std::move(fresh.drivers);
  rules_->red_per_day = std::move(fresh.red_per_day);
  return {};
}

std::string Engine::ActiveRuleSetId() const {
  std::lock_guard lock(rules_->mu);
  return rules_->active ? rules_->active->Id() : std::string();
}

// --- Commands ------------------------------------------------------------------------------

Status Engine::ApplyUploadRuleSet(WriteTxn& txn, const Actor& actor, const UploadRuleSet& cmd,
                                  Timestamp now, CommandResult& result) {
  BF_TRY(RequireRoles(actor, {Role::kCustomsOfficer, Role::kAdministrator}, "upload rule sets"));
  RulesBook& book = *rules_;
  std::string secret = book.secret;
  bool new_secret = secret.empty();
  if (new_secret) {
    // Generated once per node; keys random selection; never leaves the store.
    std::string bytes;
    for (int i = 0; i < 4; ++i) {
      uint64_t x = random_.Next64();
      for (int b = 0; b < 8; ++b) bytes += static_cast<char>((x >> (8 * b)) & 0xff);
    }
    secret = Hex(bytes);
  }
  BF_ASSIGN_OR_RETURN(rules::RuleSet set, rules::CompileRuleSet(cmd.text, CompileOptions(secret)));
  std::string id = set.Id();
  auto body_for = [&](const json::object& record) {
    json::object body{{"id", id},
                      {"name", set.name()},
                      {"version", set.version()},
                      {"fingerprint", set.fingerprint()},
                      {"rules", set.size()}};
    for (std::string_view key : {"status", "uploaded_by", "uploaded_at"}) {
      if (const json::value* v = record.if_contains(key)) body[key] = *v;
    }
    return body;
  };
  if (auto it = book.sets.find(id); it != book.sets.end()) {
    if (it->second.fingerprint() != set.fingerprint()) {
      return Conflict("rule_set_exists",
                      fmt::format("rule set {} exists with another text; raise the version in the "
                                  "header to upload a new one",
                                  id));
    }
    result.status = 200;
    result.body = body_for(book.records[id]);
    return {};
  }
  if (new_secret) {
    BF_TRY(PutRecord(txn, kSettingRecord, std::string(kRulesSecretId),
                     json::object{{"secret", secret}}, now));
  }
  json::object record{{"id", id},
                      {"name", set.name()},
                      {"version", set.version()},
                      {"fingerprint", set.fingerprint()},
                      {"rules", set.size()},
                      {"status", "validated"},
                      {"uploaded_by", actor.user_name},
                      {"uploaded_at", FormatUtc(now)}};
  json::object stored = record;
  stored["text"] = cmd.text;
  BF_TRY(PutRecord(txn, kRuleSetRecord, id, stored, now));
  BF_ASSIGN_OR_RETURN(AuditRecord audit, txn.AppendAudit(Draft(actor, now, "rule_set", id,
                                                               "rule_set_upload", record)));
  result.records.push_back(std::move(audit));
  rules_touched_ = true;
  {
    std::lock_guard lock(book.mu);
    book.secret = secret;
    book.sets.insert_or_assign(id, set);
    book.records.insert_or_assign(id, record);
  }
  result.status = 201;
  result.body = std::move(record);
  return {};
}

Status Engine::ApplyActivateRuleSet(WriteTxn& txn, const Actor& actor, const ActivateRuleSet& cmd,
                                    Timestamp now, CommandResult& result) {
  BF_TRY(RequireRoles(actor, {Role::kCustomsOfficer, Role::kAdministrator}, "activate rule sets"));
  RulesBook& book = *rules_;
  auto it = book.sets.find(cmd.id);
  if (it == book.sets.end()) {
    return NotFound("rule_set_not_found", fmt::format("no rule set '{}'", cmd.id.substr(0, 64)));
  }
  json::object record = book.records[cmd.id];
  if (JsonString(record, "status") == "active") {
    result.status = 200;
    result.body = record;
    return {};
  }
  // The stored bodies keep the text: rewrite them whole.
  auto store_record = [&](const std::string& id, json::object body) -> Status {
    body["text"] = book.sets.at(id).source();
    return PutRecord(txn, kRuleSetRecord, id, body, now);
  };
  std::string previous = book.active ? book.active->Id() : std::string();
  json::object previous_record;
  if (!previous.empty()) {
    previous_record = book.records[previous];
    previous_record["status"] = "retired";
    previous_record["retired_at"] = FormatUtc(now);
    BF_TRY(store_record(previous, previous_record));
  }
  record["status"] = "active";
  record["activated_by"] = actor.user_name;
  record["activated_at"] = FormatUtc(now);
  BF_TRY(store_record(cmd.id, record));
  json::object audit_body{{"id", cmd.id}, {"fingerprint", it->second.fingerprint()}};
  audit_body["previous"] = previous.empty() ? json::value(nullptr) : json::value(previous);
  BF_ASSIGN_OR_RETURN(AuditRecord audit, txn.AppendAudit(Draft(actor, now, "rule_set", cmd.id,
                                                               "rule_set_activate", audit_body)));
  result.records.push_back(std::move(audit));
  rules_touched_ = true;
  // One pointer swap: a decision uses the old set or the new one, never a mix.
  auto compiled = std::make_shared<const rules::RuleSet>(it->second);
  {
    std::lock_guard lock(book.mu);
    if (!previous.empty()) book.records[previous] = previous_record;
    book.records[cmd.id] = record;
    book.active = std::move(compiled);
  }
  result.status = 200;
  result.body = std::move(record);
  result.body["previous"] = audit_body["previous"];
  return {};
}

Status Engine::AssessByRules(WriteTxn& txn, Timestamp now, CommandResult& result) {
  RulesBook& book = *rules_;
  std::shared_ptr<const rules::RuleSet> set = book.active;  // only the writer changes it
  if (!set || !result.crossing) return {};
  Crossing current = *result.crossing;
  rules::RiskFacts facts = rules::BuildRiskFacts(current, Sources(config_, book, current));
  std::vector<double> weights = book.hits.Weights(*set);
  rules::Assessment a = rules::Assess(*set, facts, weights);

  // Capacity matching, online: the inspection bays take `red_per_day` reds per local day; a red
  // no mandatory rule asks for becomes yellow beyond it. (SelectForCapacity plans a whole
  // period at once; declarations arrive one by one.)
  std::string day = FormatLocal(now, config_.self.utc_offset).substr(0, 10);
  int limit = config_.rules.red_per_day;
  int reds = book.red_per_day.contains(day) ? book.red_per_day.at(day) : 0;
  bool lowered = false;
  if (a.channel == Channel::kRed && limit > 0 && reds >= limit &&
      a.mandatory_channel != Channel::kRed) {
    a.channel = Channel::kYellow;
    lowered = true;
  }
  if (a.channel == Channel::kRed) {
    BF_TRY(PutRecord(txn, kRedDayRecord, day, json::object{{"count", reds + 1}}, now));
    rules_touched_ = true;
    std::lock_guard lock(book.mu);
    book.red_per_day[day] = reds + 1;
  }
  BF_ASSIGN_OR_RETURN(rules::Explanation explanation, rules::Explain(*set, a));
  json::object why_assessment = rules::ExplanationToJson(explanation);
  if (lowered) {
    why_assessment["capacity"] = json::object{
        {"red_per_day", limit},
        {"red_today", reds},
        {"reason",
         json::object{
             {"en", fmt::format("Red lowered to yellow: today's {} physical inspections are "
                                "taken",
                                limit)},
             {"vi", fmt::format("Hạ từ luồng đỏ xuống vàng: đã đủ {} lượt kiểm tra thực tế "
                                "trong ngày",
                                limit)},
             {"zh", fmt::format("由红色通道降为黄色：今日 {} 次查验名额已满", limit)}}}};
  }
  current.risk = ToDecision(a, *set);
  CrossingEvent event{CrossingEventType::kAssess,
                      json::object{{"channel", ChannelName(a.channel)},
                                   {"quarantine_inspection", a.quarantine},
                                   {"note", explanation.summary.en}}};
  EncodedCrossing encoded;
  BF_ASSIGN_OR_RETURN(
      Crossing next, Transition(txn, Actor::System(), current, event, now, result,
                                json::object{{"assessment", std::move(why_assessment)}}, &encoded));
  result.body = std::move(encoded.view);
  result.body_text = std::move(encoded.document);
  result.crossing = std::move(next);
  return {};
}

Status Engine::ApplyRecordFinding(WriteTxn& txn, const Actor& actor, const RecordFinding& cmd,
                                  Timestamp now, CommandResult& result) {
  if (cmd.kind == "weighbridge") {
    BF_TRY(RequireRoles(
        actor,
        {Role::kSensor, Role::kGateOperator, Role::kCustomsOfficer, Role::kQuarantineOfficer},
        "record weighbridge readings"));
    if (!cmd.measured_kg || *cmd.measured_kg < 0) {
      return InvalidArgument("missing_field", "a weighbridge reading needs measured_kg",
                             "measured_kg");
    }
  } else if (cmd.kind == "document") {
    BF_TRY(RequireRoles(actor, {Role::kCustomsOfficer, Role::kQuarantineOfficer},
                        "record document checks"));
    if (cmd.document != "phytosanitary" && cmd.document != "certificate_of_origin" &&
        cmd.document != "customs_declaration") {
      return InvalidArgument("invalid_value",
                             "document must be one of: phytosanitary, certificate_of_origin, "
                             "customs_declaration",
                             "document");
    }
    if (!cmd.valid)
      return InvalidArgument("missing_field", "a document check needs valid", "valid");
  } else if (cmd.kind == "seal") {
    BF_TRY(RequireRoles(
        actor, {Role::kBorderGuard, Role::kSensor, Role::kCustomsOfficer, Role::kQuarantineOfficer},
        "record seal checks"));
    if (cmd.seal != "intact" && cmd.seal != "broken") {
      return InvalidArgument("invalid_value", "seal must be intact or broken", "seal");
    }
  } else {
    return InvalidArgument("invalid_value", "kind must be one of: weighbridge, document, seal",
                           "kind");
  }
  BF_ASSIGN_OR_RETURN(std::optional<Crossing> current,
                      LoadForChange(txn, actor, cmd.crossing_id, cmd.expected_version));
  switch (current->state) {
    case CrossingState::kAssessed:
    case CrossingState::kBooked:
    case CrossingState::kInYard:
    case CrossingState::kCalled:
    case CrossingState::kAtGate:
    case CrossingState::kInspecting:
    case CrossingState::kChecked:
      break;
    default:
      return Conflict("finding_not_allowed",
                      fmt::format("findings are recorded from assessment until release; crossing "
                                  "{} is {}",
                                  current->id, CrossingStateName(current->state)));
  }
  Crossing next = *current;
  json::object finding{{"kind", cmd.kind}};
  if (cmd.kind == "weighbridge") {
    next.findings.weighbridge_kg = *cmd.measured_kg;
    finding["measured_kg"] = *cmd.measured_kg;
  } else if (cmd.kind == "document") {
    std::string status = *cmd.valid ? "valid" : "invalid";
    if (cmd.document == "phytosanitary") next.findings.phytosanitary = status;
    if (cmd.document == "certificate_of_origin") next.findings.certificate_of_origin = status;
    if (cmd.document == "customs_declaration") next.findings.customs_declaration = status;
    finding["document"] = cmd.document;
    finding["valid"] = *cmd.valid;
  } else {
    next.findings.seal = cmd.seal;
    finding["seal"] = cmd.seal;
  }
  if (!cmd.note.empty()) finding["note"] = cmd.note;
  next.version = current->version + 1;
  next.updated_at = now;

  // Re-assessment: the channel can rise, never fall.
  RulesBook& book = *rules_;
  std::shared_ptr<const rules::RuleSet> set = book.active;
  std::optional<json::object> reassessment;
  if (set) {
    rules::Assessment previous = FromDecision(*current, book);
    rules::RiskFacts facts = rules::BuildRiskFacts(next, Sources(config_, book, next));
    std::vector<double> weights = book.hits.Weights(*set);
    rules::Assessment a = rules::Reassess(*set, previous, facts, weights);
    bool rose =
        Higher(a.channel, current->channel) || (a.quarantine && !current->quarantine_inspection);
    if (rose) {
      next.channel = a.channel;
      next.quarantine_inspection = a.quarantine;
      next.risk = ToDecision(a, *set);
      BF_ASSIGN_OR_RETURN(rules::Explanation explanation, rules::Explain(*set, a));
      reassessment = json::object{{"from_channel", ChannelName(current->channel)},
                                  {"to_channel", ChannelName(a.channel)},
                                  {"quarantine_inspection", a.quarantine},
                                  {"version", next.version},
                                  {"finding", finding},
                                  {"assessment", rules::ExplanationToJson(explanation)}};
      if (a.channel == Channel::kRed && current->channel != Channel::kRed) {
        std::string day = FormatLocal(now, config_.self.utc_offset).substr(0, 10);
        int reds = book.red_per_day.contains(day) ? book.red_per_day.at(day) : 0;
        BF_TRY(PutRecord(txn, kRedDayRecord, day, json::object{{"count", reds + 1}}, now));
        rules_touched_ = true;
        std::lock_guard lock(book.mu);
        book.red_per_day[day] = reds + 1;
      }
    }
  }
  json::object finding_body = finding;
  finding_body["version"] = next.version;
  finding_body["reassessed"] = reassessment.has_value();
  EncodedCrossing encoded;
  BF_TRY(WriteChange(txn, actor, *current, next, "finding", finding_body, now, result, &encoded));
  json::object view = std::move(encoded.view);
  if (reassessment) {
    BF_ASSIGN_OR_RETURN(AuditRecord again,
                        txn.AppendAudit(Draft(Actor::System(), now, "crossing", next.id, "reassess",
                                              *reassessment)));
    result.records.push_back(std::move(again));
  }
  result.status = 200;
  result.body = json::object{{"finding", std::move(finding)},
                             {"reassessed", reassessment.has_value()},
                             {"crossing", std::move(view)}};
  result.crossing = std::move(next);
  return {};
}

Status Engine::LearnFromInspection(WriteTxn& txn, const Crossing& inspected, Timestamp now) {
  bool finding = inspected.last_check && inspected.last_check->outcome == "finding";
  json::object body{{"company", inspected.company_id},
                    {"crossing_id", inspected.id},
                    {"plate", inspected.declaration.vehicle.plate.canonical},
                    {"driver_document", inspected.declaration.driver.document_number},
                    {"finding", finding},
                    {"at", FormatUtc(now)}};
  if (inspected.risk) {
    json::array fired;
    for (const auto& f : inspected.risk->fired) {
      fired.push_back(json::object{{"rule", f.rule}, {"line", f.line}, {"score", f.score}});
    }
    body["rule_set"] = inspected.risk->rule_set;
    body["fired"] = std::move(fired);
    body["random"] = inspected.risk->random;
  }
  BF_TRY(PutRecord(txn, kInspectionOutcomeRecord,
                   fmt::format("{}:{}", inspected.id, inspected.version), body, now));
  rules_touched_ = true;
  std::lock_guard lock(rules_->mu);
  Learn(*rules_, body);
  return {};
}

// --- Views ---------------------------------------------------------------------------------

Result<json::object> Engine::RuleSetsView(const Actor& actor) {
  BF_TRY(RequireStaff(actor));
  std::lock_guard lock(rules_->mu);
  json::array items;
  for (const auto& [id, record] : rules_->records) items.push_back(record);
  json::object body{{"items", std::move(items)}};
  body["active"] = rules_->active ? json::value(rules_->active->Id()) : json::value(nullptr);
  return body;
}

Result<json::object> Engine::RulesDryRun(const Actor& actor, const std::string& text,
                                         const std::string& id, int limit) {
  BF_TRY(RequireStaff(actor));
  if (limit < 1 || limit > 1000) {
    return InvalidArgument("invalid_value", "limit must be 1 to 1000", "limit");
  }
  std::string secret;
  std::optional<rules::RuleSet> candidate;
  std::shared_ptr<const rules::RuleSet> current;
  {
    std::lock_guard lock(rules_->mu);
    secret = rules_->secret.empty() ? std::string(32, 'd') : rules_->secret;
    current = rules_->active;
    if (!id.empty()) {
      auto it = rules_->sets.find(id);
      if (it == rules_->sets.end()) {
        return NotFound("rule_set_not_found", fmt::format("no rule set '{}'", id.substr(0, 64)));
      }
      candidate = it->second;
    }
  }
  if (!candidate) {
    BF_ASSIGN_OR_RETURN(rules::RuleSet compiled,
                        rules::CompileRuleSet(text, CompileOptions(secret)));
    candidate = std::move(compiled);
  }
  if (!current) {
    // No active set: every past declaration counts as green before.
    BF_ASSIGN_OR_RETURN(rules::RuleSet none, rules::CompileRuleSet("ruleset \"none\" version 1\n",
                                                                   CompileOptions(secret)));
    current = std::make_shared<const rules::RuleSet>(std::move(none));
  }
  // The last `limit` declarations (ids ascend with time).
  std::deque<Crossing> past;
  CrossingFilter filter;
  filter.limit = 200;
  while (true) {
    BF_ASSIGN_OR_RETURN(CrossingPage page, store_.ListCrossings(filter));
    for (Crossing& c : page.items) {
      past.push_back(std::move(c));
      if (past.size() > static_cast<size_t>(limit)) past.pop_front();
    }
    if (page.next_cursor.empty()) break;
    filter.after = page.next_cursor;
  }
  std::vector<rules::RiskFacts> facts;
  {
    std::lock_guard lock(rules_->mu);
    for (const Crossing& c : past) {
      facts.push_back(rules::BuildRiskFacts(c, Sources(config_, *rules_, c)));
    }
  }
  rules::DryRunReport report = rules::DryRun(*current, *candidate, facts, 1000);
  json::array changes;
  for (const auto& ch : report.changes) {
    changes.push_back(json::object{{"crossing_id", past[ch.index].id},
                                   {"before", ChannelName(ch.before)},
                                   {"after", ChannelName(ch.after)},
                                   {"quarantine_before", ch.quarantine_before},
                                   {"quarantine_after", ch.quarantine_after}});
  }
  json::object body{{"candidate", candidate->Id()},
                    {"candidate_fingerprint", candidate->fingerprint()},
                    {"total", report.total},
                    {"before", ChannelCounts(report.before)},
                    {"after", ChannelCounts(report.after)},
                    {"quarantine_before", report.quarantine_before},
                    {"quarantine_after", report.quarantine_after},
                    {"changed", report.changed},
                    {"changes", std::move(changes)}};
  std::string active = ActiveRuleSetId();
  body["current"] = active.empty() ? json::value(nullptr) : json::value(active);
  return body;
}

Result<json::object> Engine::RulesReport(const Actor& actor, int64_t min_inspections) {
  BF_TRY(RequireStaff(actor));
  std::lock_guard lock(rules_->mu);
  json::object body;
  json::array traders;
  for (const std::string& company : rules_->companies) {
    rules::ComplianceEstimate e = rules_->compliance.Estimate(company);
    traders.push_back(json::object{{"company_id", company},
                                   {"inspections", e.inspections},
                                   {"findings", e.findings},
                                   {"risk", e.risk},
                                   {"compliance", e.compliance}});
  }
  body["traders"] = std::move(traders);
  body["min_inspections"] = min_inspections;
  if (!rules_->active) {
    body["rule_set"] = nullptr;
    return body;
  }
  rules::HitRateReport report = rules_->hits.Report(*rules_->active, min_inspections);
  json::array rows;
  for (const auto& r : report.rules) {
    rows.push_back(json::object{{"rule", r.rule},
                                {"inspected", r.inspected},
                                {"findings", r.findings},
                                {"hit_rate", r.hit_rate},
                                {"below_random", r.below_random}});
  }
  json::array below;
  for (const auto& name : report.below_random) below.push_back(json::string(name));
  body["rule_set"] = rules_->active->Id();
  body["random"] = json::object{{"inspected", report.random_inspected},
                                {"findings", report.random_findings},
                                {"hit_rate", report.random_hit_rate}};
  body["rules"] = std::move(rows);
  body["below_random"] = std::move(below);
  return body;
}

Result<json::object> Engine::AssessmentView(const Actor& actor, std::string_view crossing_id) {
  BF_ASSIGN_OR_RETURN(Crossing c, GetCrossing(actor, crossing_id));
  BF_ASSIGN_OR_RETURN(std::vector<AuditRecord> records,
                      store_.ListAuditFor("crossing", c.id, 1000));
  std::optional<json::object> latest;
  int64_t seq = 0;
  std::string at;
  for (const AuditRecord& r : records) {
    if (r.action != "assess" && r.action != "reassess") continue;
    auto body = ParseJson(r.body, JsonLimits{64 << 20, 64});
    if (!body || !body->is_object()) continue;
    const json::value* a = body->get_object().if_contains("assessment");
    if (a == nullptr || !a->is_object()) continue;
    latest = a->get_object();
    seq = r.seq;
    at = FormatUtc(r.at);
  }
  if (!latest) {
    return NotFound("assessment_not_found",
                    fmt::format("crossing {} was not assessed by risk rules", c.id));
  }
  json::object body{{"crossing_id", c.id},
                    {"channel", ChannelName(c.channel)},
                    {"quarantine_inspection", c.quarantine_inspection},
                    {"decided_at", at},
                    {"audit_seq", seq}};
  if (IsStaffRole(actor.role)) {
    body["explanation"] = std::move(*latest);
    return body;
  }
  // Traders see the reasons, not the rules: names, conditions and scores would let them
  // declare around the rules.
  json::object reasons{{"en", json::array()}, {"vi", json::array()}, {"zh", json::array()}};
  if (const json::value* rules = latest->if_contains("rules"); rules && rules->is_array()) {
    for (const json::value& r : rules->get_array()) {
      const json::value* reason = r.is_object() ? r.get_object().if_contains("reason") : nullptr;
      if (reason == nullptr || !reason->is_object()) continue;
      for (std::string_view lang : {"en", "vi", "zh"}) {
        std::string text = JsonString(reason->get_object(), lang);
        if (!text.empty()) reasons[lang].get_array().push_back(json::string(text));
      }
    }
  }
  if (const json::value* capacity = latest->if_contains("capacity"); capacity) {
    const json::value* reason =
        capacity->is_object() ? capacity->get_object().if_contains("reason") : nullptr;
    if (reason != nullptr && reason->is_object()) {
      for (std::string_view lang : {"en", "vi", "zh"}) {
        reasons[lang].get_array().push_back(json::string(JsonString(reason->get_object(), lang)));
      }
    }
  }
  body["reasons"] = std::move(reasons);
  return body;
}

}  // namespace borderflow
