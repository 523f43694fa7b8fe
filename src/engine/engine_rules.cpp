// The engine's risk-based selectivity (issue 4): rule sets uploaded, stored and activated;
// declarations assessed by the active set in the command that declares them; re-assessment when
// new facts arrive (weighbridge, documents, seal); learning from inspection outcomes. The rules
// themselves are pure (rules/*.h); this file applies them inside the engine's transactions and
// records every decision, with its explanation, in the audit trail.

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/json.h>
#include <borderflow/core/plate.h>
#include <borderflow/engine/engine.h>
#include <borderflow/rules/facts.h>

#include "engine_internal.h"
#include "queue_book.h"
#include "rules_book.h"

namespace borderflow {

namespace json = boost::json;

namespace {

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
  if (IsStaff(actor.role)) return {};
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

// A stored set, compiled again at start: it was accepted once, under the limits of its time.
rules::RuleCompileOptions StoredCompileOptions(const std::string& secret) {
  rules::RuleCompileOptions options = CompileOptions(secret);
  options.stored = true;
  options.max_bytes = 4 << 20;
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

// --- Watch lists ------------------------------------------------------------------------

constexpr size_t kMaxWatchlists = 256;

bool ValidWatchlistName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// How a company id or a driver's document number is compared with an entry: trimmed, ASCII
// upper case on both sides, so that an entry typed "fruitco" matches company FRUITCO (ids that
// differ only in case are one company to an analyst). Plates and HS codes are compared in their
// canonical forms, made when the entry is stored.
std::string MatchKey(std::string_view kind, std::string_view value) {
  if (kind != "company" && kind != "driver") return std::string(value);
  std::string key = Trimmed(value);
  for (char& ch : key) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return key;
}

// The entry as the engine matches it: a canonical plate, HS digits; errors name the entry.
Result<WatchlistBook::Entry> NormaliseEntry(const WatchlistEntry& e, size_t i) {
  std::string field = fmt::format("entries[{}].value", i);
  WatchlistBook::Entry out{e.kind, Trimmed(e.value), e.note};
  if (out.note.size() > 200) {
    return InvalidArgument("invalid_value", "a watch-list note has at most 200 bytes",
                           fmt::format("entries[{}].note", i));
  }
  if (e.kind == "plate") {
    auto plate = ParsePlate(out.value);
    if (!plate) {
      return InvalidArgument("invalid_value",
                             fmt::format("entry {}: not a plate: {}", i, plate.error().message),
                             field);
    }
    out.value = plate->canonical;
  } else if (e.kind == "hs") {
    std::string digits;
    for (char ch : out.value) {
      if (ch == '.' || ch == ' ') continue;
      if (ch < '0' || ch > '9') {
        digits.clear();
        break;
      }
      digits += ch;
    }
    if (digits.size() < 2 || digits.size() > 10 || digits.size() % 2 != 0) {
      return InvalidArgument("invalid_value",
                             fmt::format("entry {}: an HS entry is a chapter, heading, "
                                         "subheading or code (2, 4, 6, 8 or 10 digits)",
                                         i),
                             field);
    }
    out.value = std::move(digits);
  } else if (e.kind == "company" || e.kind == "driver") {
    if (out.value.empty() || out.value.size() > 64) {
      return InvalidArgument(
          "invalid_value", fmt::format("entry {}: a {} entry has 1 to 64 bytes", i, e.kind), field);
    }
    out.value = MatchKey(e.kind, out.value);  // stored as it is matched: "fruitco" is FRUITCO
  } else {
    return InvalidArgument(
        "invalid_value",
        fmt::format("entry {}: kind must be one of: plate, company, driver, hs", i),
        fmt::format("entries[{}].kind", i));
  }
  return out;
}

void IndexWatchlist(WatchlistBook& list) {
  list.index.clear();
  for (size_t i = 0; i < list.entries.size(); ++i) {
    const WatchlistBook::Entry& e = list.entries[i];
    list.index[e.kind].emplace(MatchKey(e.kind, e.value), i);  // keys of lists stored earlier too
  }
}

json::array EntriesJson(const std::vector<WatchlistBook::Entry>& entries, size_t max) {
  json::array out;
  for (size_t i = 0; i < entries.size() && i < max; ++i) {
    json::object e{{"kind", entries[i].kind}, {"value", entries[i].value}};
    if (!entries[i].note.empty()) e["note"] = entries[i].note;
    out.push_back(std::move(e));
  }
  return out;
}

json::object WatchlistSummary(const WatchlistBook& list) {
  return json::object{{"name", list.name},
                      {"version", list.version},
                      {"description", list.description},
                      {"entries", list.entries.size()},
                      {"updated_by", list.updated_by},
                      {"updated_at", list.updated_at}};
}

json::object WatchlistRecord(const WatchlistBook& list) {
  json::object o = WatchlistSummary(list);
  o["entries"] = EntriesJson(list.entries, list.entries.size());
  return o;
}

Result<WatchlistBook> DecodeWatchlist(const std::string& id, const json::object& body) {
  WatchlistBook list;
  list.name = id;
  const json::value* version = body.if_contains("version");
  if (version == nullptr || !version->is_int64()) {
    return Internal(fmt::format("stored watch list {} is corrupt", id));
  }
  list.version = version->get_int64();
  list.description = JsonString(body, "description");
  list.updated_by = JsonString(body, "updated_by");
  list.updated_at = JsonString(body, "updated_at");
  if (const json::value* entries = body.if_contains("entries"); entries && entries->is_array()) {
    for (const json::value& v : entries->get_array()) {
      if (!v.is_object()) continue;
      const json::object& o = v.get_object();
      list.entries.push_back(WatchlistBook::Entry{JsonString(o, "kind"), JsonString(o, "value"),
                                                  JsonString(o, "note")});
    }
  }
  IndexWatchlist(list);
  return list;
}

// A watch list a crossing is on, with the entries that matched it.
struct WatchMatch {
  const WatchlistBook* list = nullptr;
  std::vector<size_t> entries;
};

std::vector<WatchMatch> MatchWatchlists(const RulesBook& book, const Crossing& c) {
  std::vector<WatchMatch> out;
  const Declaration& d = c.declaration;
  for (const auto& [name, list] : book.watchlists) {
    if (list.entries.empty()) continue;
    WatchMatch m{&list, {}};
    auto find = [&](std::string_view kind, const std::string& value) {
      if (value.empty()) return;
      auto k = list.index.find(kind);
      if (k == list.index.end()) return;
      auto v = k->second.find(MatchKey(kind, value));
      if (v == k->second.end()) return;
      if (std::find(m.entries.begin(), m.entries.end(), v->second) == m.entries.end()) {
        m.entries.push_back(v->second);
      }
    };
    find("plate", d.vehicle.plate.canonical);
    if (d.vehicle.trailer_plate) find("plate", d.vehicle.trailer_plate->canonical);
    find("company", c.company_id);
    find("driver", d.driver.document_number);
    if (list.index.contains("hs")) {
      for (const auto& line : d.lines) {
        for (size_t n = 2; n <= line.hs.code.size() && n <= 10; n += 2) {
          find("hs", line.hs.code.substr(0, n));
        }
      }
    }
    if (!m.entries.empty()) out.push_back(std::move(m));
  }
  return out;
}

// The watch lists of a decision, for its explanation (staff only: forwarders never see them).
json::array WatchlistExplanation(const std::vector<WatchMatch>& matches, const rules::RuleSet& set,
                                 const rules::Assessment& a) {
  static const std::map<std::string, std::array<const char*, 3>, std::less<>> kLabels{
      {"plate", {"plate", "biển số", "车牌"}},
      {"company", {"company", "doanh nghiệp", "企业"}},
      {"driver", {"driver", "lái xe", "司机"}},
      {"hs", {"HS code", "mã HS", "HS 编码"}}};
  json::array out;
  for (const WatchMatch& m : matches) {
    const WatchlistBook& list = *m.list;
    json::array matched;
    std::string what[3];
    for (size_t i : m.entries) {
      const WatchlistBook::Entry& e = list.entries[i];
      json::object row{{"kind", e.kind}, {"value", e.value}};
      if (!e.note.empty()) row["note"] = e.note;
      matched.push_back(std::move(row));
      const auto& label = kLabels.at(e.kind);
      for (int l = 0; l < 3; ++l) {
        what[l] += fmt::format("{}{} {}", what[l].empty() ? "" : ", ", label[l], e.value);
      }
    }
    // The fired rules that ask for this list.
    std::string needle = fmt::format("watchlist \"{}\"", list.name);
    json::array rule_names;
    for (const auto& f : a.fired) {
      if (f.rule >= set.size()) continue;
      const rules::RuleInfo& info = set.rule(f.rule);
      if (info.condition.find(needle) != std::string::npos)
        rule_names.push_back(json::string(info.name));
    }
    out.push_back(json::object{
        {"name", list.name},
        {"version", list.version},
        {"matched", std::move(matched)},
        {"rules", std::move(rule_names)},
        {"reason",
         json::object{{"en", fmt::format("On watch list \"{}\" (version {}): {}", list.name,
                                         list.version, what[0])},
                      {"vi", fmt::format("Có trong danh sách theo dõi \"{}\" (phiên bản {}): {}",
                                         list.name, list.version, what[1])},
                      {"zh", fmt::format("列入监控名单“{}”（第 {} 版）：{}", list.name,
                                         list.version, what[2])}}}});
  }
  return out;
}

// --- Capacity matching online -------------------------------------------------------------

json::object EncodeRedDay(const RedDay& d) {
  json::array top;
  for (double x : d.candidates) top.push_back(x);
  return json::object{{"count", d.red},           {"yellow", d.yellow},
                      {"green", d.green},         {"declared", d.declared},
                      {"mandatory", d.mandatory}, {"random", d.random},
                      {"score", d.score},         {"lowered", d.lowered},
                      {"competing", d.competing}, {"top_candidates", std::move(top)}};
}

RedDay DecodeRedDay(const json::object& o) {
  auto num = [&](std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? static_cast<int>(v->get_int64()) : 0;
  };
  RedDay d;
  d.red = num("count");
  d.yellow = num("yellow");
  d.green = num("green");
  d.declared = num("declared");
  d.mandatory = num("mandatory");
  d.random = num("random");
  d.score = num("score");
  d.lowered = num("lowered");
  d.competing = num("competing");
  if (const json::value* top = o.if_contains("top_candidates"); top && top->is_array()) {
    for (const json::value& v : top->get_array()) {
      if (v.is_number()) d.candidates.push_back(v.to_number<double>());
    }
  }
  return d;
}

void CountChannel(RedDay& d, Channel c) {
  if (c == Channel::kRed) ++d.red;
  if (c == Channel::kYellow) ++d.yellow;
  if (c == Channel::kGreen) ++d.green;
}

// Keeps the `keep` highest candidate scores, highest first.
void AddCandidate(RedDay& d, double score, int keep) {
  if (keep <= 0) return;
  auto at = std::upper_bound(d.candidates.begin(), d.candidates.end(), score, std::greater<>());
  d.candidates.insert(at, score);
  if (d.candidates.size() > static_cast<size_t>(keep)) d.candidates.resize(keep);
}

// How many reds the minimum random rate is expected to send in a day of `declared`
// declarations (rounded to the nearest: 1% of 40 trucks keeps no bay back).
int RandomShare(double rate, int declared) {
  if (rate <= 0 || declared <= 0) return 0;
  return static_cast<int>(std::lround(rate * declared));
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
  // (`crossings` counts the inspected ones).
  if (auto v = book.vehicles.find(c.declaration.vehicle.plate.canonical);
      v != book.vehicles.end()) {
    s.vehicle = v->second;
  }
  if (auto d = book.drivers.find(c.declaration.driver.document_number); d != book.drivers.end()) {
    s.driver = d->second;
  }
  // The watch lists the crossing is on, for `watchlist "NAME"`.
  for (const WatchMatch& m : MatchWatchlists(book, c)) s.watchlists.push_back(m.list->name);
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

// The learning state as one record: per-rule and baseline counts, per-trader counts with their
// Beta posterior, per-vehicle and per-driver history. Counts only: reading it back and learning
// the outcomes stored after it gives the same estimates as replaying every outcome.
json::object SnapshotJson(const RulesBook& book, Timestamp now) {
  auto pair = [](const rules::OutcomeCounts& c) { return json::array{c.inspections, c.findings}; };
  json::object rule_counts;
  for (const auto& [name, c] : book.hits.by_rule()) rule_counts[name] = pair(c);
  const rules::BetaPrior& prior = book.compliance.prior();
  json::object traders;
  for (const auto& [company, c] : book.compliance.counts()) {
    traders[company] =
        json::object{{"inspections", c.inspections},
                     {"findings", c.findings},
                     {"alpha", prior.alpha + static_cast<double>(c.findings)},
                     {"beta", prior.beta + static_cast<double>(c.inspections - c.findings)}};
  }
  auto history = [](const std::map<std::string, rules::HistoryFacts>& m) {
    json::object o;
    for (const auto& [key, h] : m) o[key] = json::array{h.crossings, h.inspections, h.findings};
    return o;
  };
  return json::object{{"format", 1},
                      {"outcomes", book.compacted_outcomes},
                      {"at", FormatUtc(now)},
                      {"prior", json::object{{"alpha", prior.alpha}, {"beta", prior.beta}}},
                      {"random", pair(book.hits.random())},
                      {"rules", std::move(rule_counts)},
                      {"traders", std::move(traders)},
                      {"vehicles", history(book.vehicles)},
                      {"drivers", history(book.drivers)}};
}

Status RestoreSnapshot(RulesBook& book, const json::object& o) {
  auto int_at = [](const json::value& v, size_t i) -> int64_t {
    if (!v.is_array() || v.get_array().size() <= i || !v.get_array()[i].is_int64()) return 0;
    return v.get_array()[i].get_int64();
  };
  auto counts = [&](const json::value& v) {
    return rules::OutcomeCounts{int_at(v, 0), int_at(v, 1)};
  };
  const json::value* outcomes = o.if_contains("outcomes");
  if (outcomes == nullptr || !outcomes->is_int64()) {
    return Internal("the stored learning snapshot is corrupt");
  }
  book.compacted_outcomes = outcomes->get_int64();
  if (const json::value* r = o.if_contains("random")) book.hits.AddRandom(counts(*r));
  if (const json::value* r = o.if_contains("rules"); r && r->is_object()) {
    for (const auto& [name, c] : r->get_object()) book.hits.AddRule(name, counts(c));
  }
  if (const json::value* t = o.if_contains("traders"); t && t->is_object()) {
    for (const auto& [company, v] : t->get_object()) {
      if (!v.is_object()) continue;
      auto num = [&](std::string_view key) {
        const json::value* x = v.get_object().if_contains(key);
        return x != nullptr && x->is_int64() ? x->get_int64() : int64_t{0};
      };
      book.compliance.Add(company, rules::OutcomeCounts{num("inspections"), num("findings")});
      book.companies.insert(std::string(company));
    }
  }
  auto history = [&](std::string_view key, std::map<std::string, rules::HistoryFacts>& m) {
    const json::value* h = o.if_contains(key);
    if (h == nullptr || !h->is_object()) return;
    for (const auto& [k, v] : h->get_object()) {
      m[std::string(k)] = rules::HistoryFacts{int_at(v, 0), int_at(v, 1), int_at(v, 2)};
    }
  };
  history("vehicles", book.vehicles);
  history("drivers", book.drivers);
  return {};
}

json::object ChannelCounts(const size_t (&counts)[4]) {
  json::object o;
  for (Channel c : {Channel::kGreen, Channel::kYellow, Channel::kRed}) {
    o[ChannelName(c)] = counts[static_cast<int>(c)];
  }
  return o;
}

// What a forwarder or a driver is told to do in a channel (never why it was chosen).
json::object ChannelInstructions(Channel channel, bool quarantine) {
  std::string en, vi, zh;
  switch (channel) {
    case Channel::kRed:
      en = "Physical inspection: when called, drive to the inspection bay and present the goods "
           "and the documents to customs; keep the seal intact until the officer opens it.";
      vi = "Kiểm tra thực tế: khi được gọi, đưa xe vào khu kiểm tra, xuất trình hàng hóa và hồ sơ "
           "cho hải quan; giữ nguyên niêm phong cho đến khi cán bộ mở.";
      zh = "实货查验：叫号后将车辆驶入查验区，向海关出示货物和单证；在关员开封前保持封志完好。";
      break;
    case Channel::kYellow:
      en = "Document check: keep the customs declaration, the certificates and the invoice ready "
           "for the customs officer at the gate.";
      vi = "Kiểm tra hồ sơ: chuẩn bị sẵn tờ khai hải quan, các giấy chứng nhận và hóa đơn để xuất "
           "trình cho cán bộ hải quan tại cửa khẩu.";
      zh = "单证审核：请备好报关单、各类证书和发票，在口岸向海关关员出示。";
      break;
    case Channel::kGreen:
      en = "Release without inspection: follow the queue and the call forward to the gate.";
      vi = "Thông quan không kiểm tra: theo dõi hàng chờ và vào cửa khẩu khi được gọi.";
      zh = "免于查验放行：请按排队顺序，听候叫号前往口岸。";
      break;
    default:
      en = "Wait for the risk assessment.";
      vi = "Chờ kết quả đánh giá rủi ro.";
      zh = "请等待风险评估结果。";
      break;
  }
  if (quarantine) {
    en +=
        " Plant quarantine: present the phytosanitary certificate and the goods to the "
        "quarantine officer.";
    vi +=
        " Kiểm dịch thực vật: xuất trình giấy chứng nhận kiểm dịch thực vật và hàng hóa cho "
        "cán bộ kiểm dịch.";
    zh += "植物检疫：请向检疫人员出示植物检疫证书和货物。";
  }
  return json::object{{"en", en}, {"vi", vi}, {"zh", zh}};
}

// The first words of a channel-only summary ("Red channel, quarantine inspection."), as
// rules::Explain starts its summaries.
json::object ChannelOnlySummary(std::string_view channel, bool quarantine) {
  struct Words {
    std::string_view channel, words[4], quarantine, stop;
  };
  static constexpr Words kLanguages[] = {
      {"en",
       {"No channel", "Green channel", "Yellow channel", "Red channel"},
       ", quarantine inspection",
       "."},
      {"vi", {"Chưa phân luồng", "Luồng xanh", "Luồng vàng", "Luồng đỏ"}, ", kiểm dịch", "."},
      {"zh", {"未分配通道", "绿色通道", "黄色通道", "红色通道"}, "，检疫查验", "。"},
  };
  int index = channel == "green" ? 1 : channel == "yellow" ? 2 : channel == "red" ? 3 : 0;
  json::object summary;
  for (const Words& lang : kLanguages) {
    summary[lang.channel] =
        fmt::format("{}{}{}", lang.words[index], quarantine ? lang.quarantine : "", lang.stop);
  }
  return summary;
}

}  // namespace

bool MayReadWatchlists(Role role) {
  return role == Role::kCustomsOfficer || role == Role::kQuarantineOfficer ||
         role == Role::kAdministrator;
}

bool MayWriteRules(Role role) {
  return role == Role::kCustomsOfficer || role == Role::kAdministrator;
}

void RestrictExplanationToChannel(json::object& explanation) {
  json::object kept;
  for (const char* key : {"rule_set", "fingerprint", "channel", "quarantine"}) {
    if (const json::value* v = explanation.if_contains(key)) kept[key] = *v;
  }
  const json::value* channel = kept.if_contains("channel");
  const json::value* quarantine = kept.if_contains("quarantine");
  kept["summary"] = ChannelOnlySummary(
      channel != nullptr && channel->is_string() ? std::string_view(channel->get_string()) : "",
      quarantine != nullptr && quarantine->is_bool() && quarantine->get_bool());
  explanation = std::move(kept);
}

void RestrictRiskToChannel(json::object& risk) {
  json::object kept;
  for (const char* key : {"rule_set", "fingerprint"}) {
    if (const json::value* v = risk.if_contains(key)) kept[key] = *v;
  }
  risk = std::move(kept);
}

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
    auto compiled =
        rules::CompileRuleSet(JsonString(body, "text"), StoredCompileOptions(fresh.secret));
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
    if (v.is_object()) fresh.red_per_day[r.id] = DecodeRedDay(v.get_object());
  }
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> lists, store_.ListRecords(kWatchlistRecord));
  for (const StoredRecord& r : lists) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body, JsonLimits{64 << 20, 64}));
    if (!v.is_object()) return Internal(fmt::format("stored watch list {} is corrupt", r.id));
    BF_ASSIGN_OR_RETURN(WatchlistBook list, DecodeWatchlist(r.id, v.get_object()));
    fresh.watchlists.insert_or_assign(r.id, std::move(list));
  }
  // Learning: the snapshot, then the outcomes stored after it (one record each).
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> snapshots,
                      store_.ListRecords(kLearningSnapshotRecord));
  for (const StoredRecord& r : snapshots) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body, JsonLimits{256 << 20, 64}));
    if (!v.is_object()) return Internal("the stored learning snapshot is corrupt");
    BF_TRY(RestoreSnapshot(fresh, v.get_object()));
  }
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> outcomes,
                      store_.ListRecords(kInspectionOutcomeRecord));
  for (const StoredRecord& r : outcomes) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    if (v.is_object()) Learn(fresh, v.get_object());
    fresh.outcome_ids.push_back(r.id);
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
  rules_->watchlists = std::move(fresh.watchlists);
  rules_->compacted_outcomes = fresh.compacted_outcomes;
  rules_->outcome_ids = std::move(fresh.outcome_ids);
  return {};
}

std::string Engine::ActiveRuleSetId() const {
  std::lock_guard lock(rules_->mu);
  return rules_->active ? rules_->active->Id() : std::string();
}

// --- Commands ------------------------------------------------------------------------------

json::array Engine::RuleSetWarnings(const rules::RuleSet& set) const {
  json::array warnings;
  if (set.size() == 0) {
    warnings.push_back(json::object{
        {"code", "no_rules"},
        {"detail", set.settings().min_random_rate > 0
                       ? "the rule set has no rules: trucks are sent red only at random"
                       : "the rule set has no rules: every truck goes green"}});
  }
  std::lock_guard lock(rules_->mu);
  for (const std::string& name : set.watchlists()) {
    if (rules_->watchlists.contains(name)) continue;
    warnings.push_back(json::object{
        {"code", "unknown_watchlist"},
        {"detail", fmt::format("watch list \"{}\" does not exist: the rules that ask for it "
                               "match nothing until it is created (PUT /api/v1/watchlists/{})",
                               name, name)}});
  }
  return warnings;
}

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
    if (json::array warnings = RuleSetWarnings(set); !warnings.empty()) {
      result.body["warnings"] = std::move(warnings);
    }
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
  if (json::array warnings = RuleSetWarnings(set); !warnings.empty()) {
    result.body["warnings"] = std::move(warnings);
  }
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
  json::array warnings = RuleSetWarnings(it->second);
  if (JsonString(record, "status") == "active") {
    result.status = 200;
    result.body = record;
    if (!warnings.empty()) result.body["warnings"] = std::move(warnings);
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
  if (!warnings.empty()) audit_body["warnings"] = warnings;  // activated despite them
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
  if (!warnings.empty()) result.body["warnings"] = std::move(warnings);
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

  // Capacity matching, online (SelectForCapacity plans a whole period at once; declarations
  // arrive one by one). The inspection bays take `red_per_day` reds per local day (0: no
  // limit). In order:
  //  1. a mandatory red stays red, past the capacity if need be;
  //  2. the minimum random rate (`random minimum N%`): a truck whose keyed capacity draw falls
  //     within it, or that a `random N%` rule sent red, goes red at random while bays are left;
  //  3. another red competes by score: it needs a bay left after the random share still
  //     expected today, and a score at least today's cut-off — the score of the best candidate
  //     that the last day's bays could take after its mandatory and random reds (so that when
  //     more qualify than the bays can take, the highest scores go first);
  //  4. a red left without a bay is lowered to yellow (never below a mandatory channel).
  std::string day = FormatLocal(now, config_.self.utc_offset).substr(0, 10);
  const int limit = config_.rules.red_per_day;
  const double min_random = set->settings().min_random_rate;
  RedDay today;
  const RedDay* last = nullptr;  // the latest earlier day with declarations
  {
    auto it = book.red_per_day.lower_bound(day);
    if (it != book.red_per_day.end() && it->first == day) today = it->second;
    while (it != book.red_per_day.begin()) {
      --it;
      if (it->second.declared > 0) {
        last = &it->second;
        break;
      }
    }
  }
  const int reds_before = today.red;
  ++today.declared;
  const Channel ruled = a.channel;
  std::string selection = "unchanged";
  std::optional<double> cutoff;
  int reserve = 0;
  bool random_pick =
      min_random > 0 &&
      rules::DrawWithin(rules::KeyedDraw(book.secret, "capacity", current.id), min_random);
  if (a.mandatory_channel == Channel::kRed) {
    a.channel = Channel::kRed;
    selection = "mandatory";
    ++today.mandatory;
  } else if (random_pick || (a.random && a.channel == Channel::kRed)) {
    if (limit <= 0 || today.red < limit) {
      a.channel = Channel::kRed;
      a.random = true;  // learning counts it in the random baseline
      selection = "random";
      ++today.random;
    } else if (a.channel == Channel::kRed) {
      a.channel = std::max(Channel::kYellow, a.mandatory_channel);
      selection = "over_capacity";
      ++today.lowered;
    }
  } else if (a.channel == Channel::kRed) {
    ++today.competing;
    bool admitted = true;
    if (limit > 0) {
      AddCandidate(today, a.score, limit);
      reserve = std::max(0, (last ? RandomShare(min_random, last->declared) : 0) - today.random);
      if (last != nullptr) {
        int bays = limit - last->mandatory - RandomShare(min_random, last->declared);
        if (last->competing > bays && !last->candidates.empty()) {
          size_t k = bays <= 0 ? 0 : std::min<size_t>(bays - 1, last->candidates.size() - 1);
          cutoff = last->candidates[k];
        }
      }
      if (cutoff && a.score < *cutoff) {
        admitted = false;
        selection = "below_cutoff";
      } else if (today.red + reserve >= limit) {
        admitted = false;
        selection = "over_capacity";
      }
    }
    if (admitted) {
      selection = "score";
      ++today.score;
    } else {
      a.channel = std::max(Channel::kYellow, a.mandatory_channel);
      ++today.lowered;
    }
  }
  CountChannel(today, a.channel);
  BF_TRY(PutRecord(txn, kRedDayRecord, day, EncodeRedDay(today), now));
  rules_touched_ = true;
  {
    std::lock_guard lock(book.mu);
    book.red_per_day[day] = today;
  }
  BF_ASSIGN_OR_RETURN(rules::Explanation explanation, rules::Explain(*set, a));
  json::object why_assessment = rules::ExplanationToJson(explanation);
  if (selection != "unchanged" && selection != "score" && selection != "mandatory") {
    LocalizedText reason;
    if (selection == "random") {
      int percent_x100 = static_cast<int>(std::lround(min_random * 10000));
      std::string rate = percent_x100 % 100 == 0 ? fmt::format("{}%", percent_x100 / 100)
                                                 : fmt::format("{:.2f}%", min_random * 100);
      reason.en = fmt::format(
          "Selected at random for a physical inspection (at least {} of trucks are)", rate);
      reason.vi =
          fmt::format("Được chọn ngẫu nhiên để kiểm tra thực tế (tối thiểu {} số xe)", rate);
      reason.zh = fmt::format("随机抽中实货查验（不少于 {} 的车辆）", rate);
    } else if (selection == "below_cutoff") {
      reason.en = fmt::format(
          "Red lowered to yellow: the inspection bays go to higher risk scores first (today's "
          "cut-off {})",
          *cutoff);
      reason.vi = fmt::format(
          "Hạ từ luồng đỏ xuống vàng: lượt kiểm tra thực tế ưu tiên điểm rủi ro cao hơn (ngưỡng "
          "hôm nay {})",
          *cutoff);
      reason.zh =
          fmt::format("由红色通道降为黄色：查验名额优先给予更高风险分数（今日门槛 {}）", *cutoff);
    } else {
      reason.en =
          fmt::format("Red lowered to yellow: today's {} physical inspections are taken", limit);
      reason.vi = fmt::format(
          "Hạ từ luồng đỏ xuống vàng: đã đủ {} lượt kiểm tra thực tế trong ngày", limit);
      reason.zh = fmt::format("由红色通道降为黄色：今日 {} 次查验名额已满", limit);
    }
    json::object capacity{
        {"selection", selection},
        {"rules_channel", ChannelName(ruled)},
        {"red_today", reds_before},
        {"min_random_rate", min_random},
        {"reason", json::object{{"en", reason.en}, {"vi", reason.vi}, {"zh", reason.zh}}}};
    capacity["red_per_day"] = limit > 0 ? json::value(limit) : json::value(nullptr);
    if (cutoff) capacity["score_cutoff"] = *cutoff;
    if (reserve > 0) capacity["random_reserve"] = reserve;
    why_assessment["capacity"] = std::move(capacity);
    if (selection == "random") {
      json::object& summary = why_assessment["summary"].as_object();
      summary["en"] = json::string(std::string(summary["en"].as_string()) + " " + reason.en + ".");
      summary["vi"] = json::string(std::string(summary["vi"].as_string()) + " " + reason.vi + ".");
      summary["zh"] = json::string(std::string(summary["zh"].as_string()) + reason.zh + "。");
    }
  }
  std::vector<WatchMatch> lists = MatchWatchlists(book, current);
  if (!lists.empty()) why_assessment["watchlists"] = WatchlistExplanation(lists, *set, a);
  current.risk = ToDecision(a, *set);
  std::string note = why_assessment["summary"].as_object()["en"].is_string()
                         ? std::string(why_assessment["summary"].as_object()["en"].as_string())
                         : explanation.summary.en;
  CrossingEvent event{CrossingEventType::kAssess,
                      json::object{{"channel", ChannelName(a.channel)},
                                   {"quarantine_inspection", a.quarantine},
                                   {"note", note}}};
  EncodedCrossing encoded;
  encoded.want_view = false;
  BF_ASSIGN_OR_RETURN(
      SharedCrossing next,
      Transition(txn, Actor::System(), current, event, now, result,
                 json::object{{"assessment", std::move(why_assessment)}}, &encoded));
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
  BF_ASSIGN_OR_RETURN(SharedCrossing current,
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
      json::object why = rules::ExplanationToJson(explanation);
      std::vector<WatchMatch> lists = MatchWatchlists(book, next);
      if (!lists.empty()) why["watchlists"] = WatchlistExplanation(lists, *set, a);
      reassessment = json::object{{"from_channel", ChannelName(current->channel)},
                                  {"to_channel", ChannelName(a.channel)},
                                  {"quarantine_inspection", a.quarantine},
                                  {"version", next.version},
                                  {"finding", finding},
                                  {"assessment", std::move(why)}};
      if (a.channel == Channel::kRed && current->channel != Channel::kRed) {
        std::string day = FormatLocal(now, config_.self.utc_offset).substr(0, 10);
        RedDay today = book.red_per_day.contains(day) ? book.red_per_day.at(day) : RedDay{};
        ++today.red;
        BF_TRY(PutRecord(txn, kRedDayRecord, day, EncodeRedDay(today), now));
        rules_touched_ = true;
        std::lock_guard lock(book.mu);
        book.red_per_day[day] = today;
      }
    }
  }
  json::object finding_body = finding;
  finding_body["version"] = next.version;
  finding_body["reassessed"] = reassessment.has_value();
  EncodedCrossing encoded;
  BF_ASSIGN_OR_RETURN(SharedCrossing changed,
                      WriteChange(txn, actor, *current, std::move(next), "finding", finding_body,
                                  now, result, &encoded));
  json::object view = std::move(encoded.view);
  if (reassessment) {
    BF_ASSIGN_OR_RETURN(AuditRecord again,
                        txn.AppendAudit(Draft(Actor::System(), now, "crossing", changed->id,
                                              "reassess", *reassessment)));
    result.records.push_back(std::move(again));
  }
  result.status = 200;
  result.body = json::object{{"finding", std::move(finding)},
                             {"reassessed", reassessment.has_value()},
                             {"crossing", std::move(view)}};
  result.crossing = std::move(changed);
  return {};
}

Status Engine::LearnFromInspection(WriteTxn& txn, const Crossing& inspected, Timestamp now,
                                   CommandResult& result) {
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
  std::string id = fmt::format("{}:{}", inspected.id, inspected.version);
  BF_TRY(PutRecord(txn, kInspectionOutcomeRecord, id, body, now));
  rules_touched_ = true;
  {
    std::lock_guard lock(rules_->mu);
    Learn(*rules_, body);
    rules_->outcome_ids.push_back(std::move(id));
  }
  if (options_.learning_compact_every > 0 &&
      rules_->outcome_ids.size() >= options_.learning_compact_every) {
    BF_TRY(CompactLearning(txn, now, result));
  }
  return {};
}

Status Engine::CompactLearning(WriteTxn& txn, Timestamp now, CommandResult& result) {
  RulesBook& book = *rules_;
  // In the running transaction: the snapshot of everything learned so far, and the outcomes it
  // folds in moved out of the records read at start (kept under another kind, for audit).
  int64_t folded = static_cast<int64_t>(book.outcome_ids.size());
  json::object snapshot;
  {
    std::lock_guard lock(book.mu);
    book.compacted_outcomes += folded;
    snapshot = SnapshotJson(book, now);
  }
  rules_touched_ = true;
  BF_TRY(PutRecord(txn, kLearningSnapshotRecord, "snapshot", snapshot, now));
  for (const std::string& id : book.outcome_ids) {
    BF_ASSIGN_OR_RETURN(std::optional<StoredRecord> outcome,
                        txn.GetRecord(kInspectionOutcomeRecord, id));
    if (!outcome) continue;
    StoredRecord moved = std::move(*outcome);
    moved.kind = std::string(kCompactedOutcomeRecord);
    BF_TRY(txn.PutRecord(moved));
    BF_TRY(txn.DeleteRecord(kInspectionOutcomeRecord, id));
  }
  json::object audit{{"outcomes_folded", folded},
                     {"outcomes_total", snapshot["outcomes"]},
                     {"traders", snapshot["traders"].as_object().size()},
                     {"rules", snapshot["rules"].as_object().size()}};
  BF_ASSIGN_OR_RETURN(
      AuditRecord record,
      txn.AppendAudit(Draft(Actor::System(), now, "rules", "learning", "learning_compact", audit)));
  result.records.push_back(std::move(record));
  std::lock_guard lock(book.mu);
  book.outcome_ids.clear();
  return {};
}

// --- Watch lists ---------------------------------------------------------------------------

namespace {

// Who may put or delete a watch list, and which names a list may have.
Status CheckWatchlistChange(const Actor& actor, std::string_view name) {
  BF_TRY(RequireRoles(actor,
                      {Role::kCustomsOfficer, Role::kQuarantineOfficer, Role::kAdministrator},
                      "change watch lists"));
  if (!ValidWatchlistName(name)) {
    return InvalidArgument("invalid_value", "a watch-list name has 1 to 64 of A-Z a-z 0-9 . _ -",
                           "name");
  }
  return {};
}

}  // namespace

Status Engine::ApplyPutWatchlist(WriteTxn& txn, const Actor& actor, const PutWatchlist& cmd,
                                 Timestamp now, CommandResult& result) {
  BF_TRY(CheckWatchlistChange(actor, cmd.name));
  if (cmd.entries.size() > kMaxWatchlistEntries) {
    return InvalidArgument("invalid_value",
                           fmt::format("a watch list has at most {} entries", kMaxWatchlistEntries),
                           "entries");
  }
  if (cmd.description.size() > 1000) {
    return InvalidArgument("invalid_value", "the description has at most 1000 bytes",
                           "description");
  }
  RulesBook& book = *rules_;
  auto existing = book.watchlists.find(cmd.name);
  int64_t version = existing == book.watchlists.end() ? 0 : existing->second.version;
  if (existing == book.watchlists.end() && book.watchlists.size() >= kMaxWatchlists) {
    return Conflict("too_many_watchlists",
                    fmt::format("a node keeps at most {} watch lists", kMaxWatchlists));
  }
  if (cmd.expected_version && *cmd.expected_version != version) {
    return Conflict("version_conflict", fmt::format("watch list {} is at version {}, not {}",
                                                    cmd.name, version, *cmd.expected_version));
  }
  WatchlistBook list;
  list.name = cmd.name;
  list.description = cmd.description;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < cmd.entries.size(); ++i) {
    BF_ASSIGN_OR_RETURN(WatchlistBook::Entry e, NormaliseEntry(cmd.entries[i], i));
    if (!seen.emplace(e.kind, e.value).second) continue;  // the first of duplicates
    list.entries.push_back(std::move(e));
  }
  // What changes, by (kind, value).
  std::set<std::pair<std::string, std::string>> before;
  if (existing != book.watchlists.end()) {
    for (const auto& e : existing->second.entries) before.emplace(e.kind, e.value);
  }
  std::vector<WatchlistBook::Entry> added, removed;
  for (const auto& e : list.entries) {
    if (!before.contains({e.kind, e.value})) added.push_back(e);
  }
  if (existing != book.watchlists.end()) {
    for (const auto& e : existing->second.entries) {
      if (!seen.contains({e.kind, e.value})) removed.push_back(e);
    }
  }
  bool notes_same = existing != book.watchlists.end() &&
                    existing->second.entries.size() == list.entries.size() &&
                    std::equal(list.entries.begin(), list.entries.end(),
                               existing->second.entries.begin(), [](const auto& x, const auto& y) {
                                 return x.kind == y.kind && x.value == y.value && x.note == y.note;
                               });
  if (notes_same && existing->second.description == list.description) {
    result.status = 200;
    result.body = WatchlistSummary(existing->second);
    result.body["changed"] = false;
    return {};
  }
  list.version = version + 1;
  list.updated_by = actor.user_name;
  list.updated_at = FormatUtc(now);
  IndexWatchlist(list);
  BF_TRY(PutRecord(txn, kWatchlistRecord, list.name, WatchlistRecord(list), now));
  constexpr size_t kAuditEntries = 1000;  // the audit record lists at most this many of each
  json::object audit{{"name", list.name},
                     {"version", list.version},
                     {"previous_version", version},
                     {"entries", list.entries.size()},
                     {"added_count", added.size()},
                     {"removed_count", removed.size()},
                     {"added", EntriesJson(added, kAuditEntries)},
                     {"removed", EntriesJson(removed, kAuditEntries)}};
  if (!list.description.empty()) audit["description"] = list.description;
  BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "watchlist", list.name,
                                                                "watchlist_put", audit)));
  result.records.push_back(std::move(record));
  rules_touched_ = true;
  result.status = version == 0 ? 201 : 200;
  result.body = WatchlistSummary(list);
  result.body["changed"] = true;
  result.body["previous_version"] = version;
  result.body["added"] = added.size();
  result.body["removed"] = removed.size();
  std::lock_guard lock(book.mu);
  book.watchlists.insert_or_assign(list.name, std::move(list));  // one swap: old or new list
  return {};
}

Status Engine::ApplyDeleteWatchlist(WriteTxn& txn, const Actor& actor, const DeleteWatchlist& cmd,
                                    Timestamp now, CommandResult& result) {
  BF_TRY(CheckWatchlistChange(actor, cmd.name));
  RulesBook& book = *rules_;
  auto existing = book.watchlists.find(cmd.name);
  if (existing == book.watchlists.end()) {
    // Deleted already (or never made): nothing changes, nothing is audited.
    result.status = 200;
    result.body = json::object{{"name", cmd.name}, {"deleted", false}};
    return {};
  }
  const WatchlistBook& list = existing->second;
  BF_TRY(txn.DeleteRecord(kWatchlistRecord, cmd.name));
  constexpr size_t kAuditEntries = 1000;  // as for a replacement
  json::object audit{{"name", list.name},
                     {"previous_version", list.version},
                     {"removed_count", list.entries.size()},
                     {"removed", EntriesJson(list.entries, kAuditEntries)}};
  // Rules of the active set that ask for it now match nothing: say so in the record.
  json::array asked_by;
  if (book.active) {
    const auto& names = book.active->watchlists();
    if (std::find(names.begin(), names.end(), cmd.name) != names.end()) {
      asked_by.push_back(json::string(book.active->Id()));
    }
  }
  audit["active_rule_sets_asking"] = std::move(asked_by);
  BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "watchlist", cmd.name,
                                                                "watchlist_delete", audit)));
  result.records.push_back(std::move(record));
  rules_touched_ = true;
  result.status = 200;
  result.body = json::object{{"name", cmd.name},
                             {"deleted", true},
                             {"previous_version", list.version},
                             {"removed", list.entries.size()}};
  std::lock_guard lock(book.mu);
  book.watchlists.erase(existing);
  return {};
}

Result<json::object> Engine::WatchlistsView(const Actor& actor) {
  BF_TRY(RequireRoles(actor,
                      {Role::kCustomsOfficer, Role::kQuarantineOfficer, Role::kAdministrator},
                      "read watch lists"));
  std::lock_guard lock(rules_->mu);
  json::array items;
  for (const auto& [name, list] : rules_->watchlists) items.push_back(WatchlistSummary(list));
  return json::object{{"items", std::move(items)}};
}

Result<json::object> Engine::WatchlistView(const Actor& actor, std::string_view name) {
  BF_TRY(RequireRoles(actor,
                      {Role::kCustomsOfficer, Role::kQuarantineOfficer, Role::kAdministrator},
                      "read watch lists"));
  std::lock_guard lock(rules_->mu);
  auto it = rules_->watchlists.find(name);
  if (it == rules_->watchlists.end()) {
    return NotFound("watchlist_not_found", fmt::format("no watch list '{}'", name.substr(0, 64)));
  }
  return WatchlistRecord(it->second);
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
  // Rule writers only: which past crossings `when watchlist "X" then channel red` sends red
  // is which plates are on X.
  BF_TRY(RequireRoles(actor, {Role::kCustomsOfficer, Role::kAdministrator}, "dry-run rule sets"));
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
  // The work: every rule of both sets against every consignment line (per-declaration rules
  // count once per line too: an upper bound). Refused before any of it is done.
  uint64_t lines = 0;
  for (const Crossing& c : past) lines += std::max<size_t>(1, c.declaration.lines.size());
  const uint64_t work = static_cast<uint64_t>(current->size() + candidate->size() + 1) * lines;
  if (work > options_.dry_run_budget) {
    return Error(ErrorKind::kUnprocessable, "dry_run_too_large",
                 fmt::format("this dry run would evaluate {} rules against {} consignment lines "
                             "of {} declarations ({} evaluations, the limit is {}): lower "
                             "`limit` or try fewer rules",
                             current->size() + candidate->size(), lines, past.size(), work,
                             options_.dry_run_budget));
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
  body["learning"] = json::object{
      {"outcomes", rules_->compacted_outcomes + static_cast<int64_t>(rules_->outcome_ids.size())},
      {"in_snapshot", rules_->compacted_outcomes},
      {"after_snapshot", rules_->outcome_ids.size()},
      {"compact_every", options_.learning_compact_every}};
  // Today's decisions against the rule set's planning rates.
  std::string day = FormatLocal(clock_.Now(), config_.self.utc_offset).substr(0, 10);
  RedDay today = rules_->red_per_day.contains(day) ? rules_->red_per_day.at(day) : RedDay{};
  auto share = [&](int n) {
    return today.declared > 0 ? static_cast<double>(n) / today.declared : 0.0;
  };
  json::object selection{{"day", day},
                         {"declared", today.declared},
                         {"green", today.green},
                         {"yellow", today.yellow},
                         {"red", today.red},
                         {"red_rate", share(today.red)},
                         {"yellow_rate", share(today.yellow)},
                         {"mandatory", today.mandatory},
                         {"random", today.random},
                         {"random_rate", share(today.random)},
                         {"score", today.score},
                         {"lowered", today.lowered}};
  selection["red_per_day"] =
      config_.rules.red_per_day > 0 ? json::value(config_.rules.red_per_day) : json::value(nullptr);
  if (rules_->active) {
    const rules::SelectionSettings& st = rules_->active->settings();
    selection["min_random_rate"] = st.min_random_rate;
    selection["expected_red_rate"] =
        st.expected_red_rate ? json::value(*st.expected_red_rate) : json::value(nullptr);
    selection["expected_yellow_rate"] =
        st.expected_yellow_rate ? json::value(*st.expected_yellow_rate) : json::value(nullptr);
  }
  // Staff who may not read watch lists get the decisions, not their grounds: today's channels
  // but not their causes, and no per-rule or random-selection hit counts. Each of them grows
  // with one crossing's decision or inspection (a mandatory rule, a rule admitted by its score,
  // the rules that fired on the truck just inspected, or none of those it may read), which
  // would tell a crossing sent red by a watch-list rule from one sent red by a rule it may read.
  const bool grounds = MayReadWatchlists(actor.role);
  if (!grounds) {
    for (const char* cause : {"mandatory", "random", "random_rate", "score", "lowered"}) {
      selection.erase(cause);
    }
  }
  body["today"] = std::move(selection);
  if (!rules_->active) {
    body["rule_set"] = nullptr;
    return body;
  }
  body["rule_set"] = rules_->active->Id();
  if (!grounds) return body;
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
  body["random"] = json::object{{"inspected", report.random_inspected},
                                {"findings", report.random_findings},
                                {"hit_rate", report.random_hit_rate}};
  body["rules"] = std::move(rows);
  body["below_random"] = std::move(below);
  return body;
}

Result<json::object> Engine::AssessmentView(const Actor& actor, std::string_view crossing_id) {
  if (actor.role == Role::kSensor) {
    // A camera or a weighbridge acts on a crossing's state; why it got its channel is for staff.
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "sensors read a crossing's current state, not its assessment");
  }
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
                    {"decided_at", at}};
  if (IsStaff(actor.role)) {
    if (!MayReadWatchlists(actor.role)) RestrictExplanationToChannel(*latest);
    body["audit_seq"] = seq;
    body["explanation"] = std::move(*latest);
    return body;
  }
  // Forwarders and drivers: the channel and what to do in it. Never why - not the rules' own
  // reasons either: declaring the same goods at two prices, or another plate, and comparing
  // the reasons (then cancelling) would find the thresholds and probe the watch lists. Nor
  // whether it was drawn at random or lowered for capacity, for the same reason.
  body["instructions"] = ChannelInstructions(c.channel, c.quarantine_inspection);
  return body;
}

}  // namespace borderflow
