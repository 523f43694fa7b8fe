#include <cctype>
#include <cmath>
#include <cstring>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/json.h>
#include <borderflow/core/json_writer.h>
#include <borderflow/domain/crossing_json.h>

namespace borderflow {

namespace json = boost::json;

namespace {

bool IsUpperAlpha(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

Result<std::string> CountryCode(const JsonObjectReader& r, std::string_view key) {
  // Any wrong form ("vn", "VNM", "Vietnam") is an invalid country, not a length error.
  BF_ASSIGN_OR_RETURN(std::string v, r.String(key, 64));
  if (!IsUpperAlpha(v, 2)) {
    return InvalidArgument(
        "invalid_country",
        fmt::format("'{}' must be an ISO 3166 alpha-2 code such as VN", r.PathOf(key)),
        r.PathOf(key));
  }
  return v;
}

Result<Timestamp> Time(const JsonObjectReader& r, std::string_view key) {
  BF_ASSIGN_OR_RETURN(std::string v, r.String(key, 40));
  auto t = ParseTimestamp(v);
  if (!t) return t.error().Within(r.PathOf(key));
  return *t;
}

Result<std::optional<Timestamp>> OptionalTime(const JsonObjectReader& r, std::string_view key) {
  if (!r.Has(key)) return std::optional<Timestamp>();
  BF_ASSIGN_OR_RETURN(Timestamp t, Time(r, key));
  return std::optional<Timestamp>(t);
}

Result<Plate> PlateField(const JsonObjectReader& r, std::string_view key) {
  BF_ASSIGN_OR_RETURN(std::string text, r.String(key, 32));
  auto plate = ParsePlate(text);
  if (!plate) {
    Error e = plate.error();
    e.field = r.PathOf(key);
    return e;
  }
  return *plate;
}

// Amounts arrive as a JSON number or a decimal string with at most two decimals.
Result<int64_t> MinorUnits(const JsonObjectReader& r, std::string_view key) {
  const json::value* v = r.object().if_contains(key);
  auto bad = [&] {
    return InvalidArgument("invalid_amount",
                           fmt::format("'{}' must be a non-negative amount with at most two "
                                       "decimals",
                                       r.PathOf(key)),
                           r.PathOf(key));
  };
  if (v == nullptr || v->is_null()) {
    return InvalidArgument("missing_field", fmt::format("'{}' is required", r.PathOf(key)),
                           r.PathOf(key));
  }
  constexpr int64_t kMax = 1'000'000'000'000LL;  // ten billion in major units
  if (v->is_int64() || v->is_uint64()) {
    int64_t major =
        v->is_int64() ? v->get_int64() : int64_t(std::min<uint64_t>(v->get_uint64(), kMax));
    if (major < 0 || major > kMax / 100) return bad();
    return major * 100;
  }
  if (v->is_double()) {
    double d = v->get_double();
    double cents = std::round(d * 100);
    if (!std::isfinite(d) || d < 0 || cents > double(kMax) || std::abs(cents - d * 100) > 1e-6) {
      return bad();
    }
    return int64_t(cents);
  }
  if (!v->is_string()) return bad();
  std::string_view s = v->get_string();
  if (s.empty() || s.size() > 16) return bad();
  int64_t major = 0, minor = 0;
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || frac.size() > 2 || (dot != std::string_view::npos && frac.empty())) {
    return bad();
  }
  for (char c : whole) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
    major = major * 10 + (c - '0');
  }
  for (size_t i = 0; i < 2; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
    minor = minor * 10 + (c - '0');
  }
  if (major > kMax / 100) return bad();
  return major * 100 + minor;
}

std::string FormatMinor(int64_t minor) {
  return fmt::format("{}.{:02d}", minor / 100, minor % 100);
}

Result<ConsignmentLine> DecodeLine(const JsonObjectReader& r, const HsNomenclature& hs) {
  BF_TRY(r.RejectUnknown(
      {"hs_code", "description", "packages", "gross_weight_kg", "value", "origin_country"}));
  ConsignmentLine line;
  BF_ASSIGN_OR_RETURN(std::string code, r.String("hs_code", 16));
  auto valid = hs.Validate(code);
  if (!valid) {
    Error e = valid.error();
    e.field = r.PathOf("hs_code");
    return e;
  }
  line.hs = *valid;
  BF_ASSIGN_OR_RETURN(line.description, r.String("description", 500));
  BF_ASSIGN_OR_RETURN(line.packages, r.Int("packages", 1, 1'000'000));
  BF_ASSIGN_OR_RETURN(double kg, r.Number("gross_weight_kg", 0.001, 100'000));
  line.gross_weight_grams = static_cast<int64_t>(std::llround(kg * 1000));
  BF_ASSIGN_OR_RETURN(JsonObjectReader value, r.Object("value"));
  BF_TRY(value.RejectUnknown({"amount", "currency"}));
  BF_ASSIGN_OR_RETURN(line.value.minor_units, MinorUnits(value, "amount"));
  BF_ASSIGN_OR_RETURN(line.value.currency, value.String("currency", 64));
  if (!IsUpperAlpha(line.value.currency, 3)) {
    return InvalidArgument("invalid_currency", "currency must be an ISO 4217 code such as USD",
                           value.PathOf("currency"));
  }
  BF_ASSIGN_OR_RETURN(line.origin_country, CountryCode(r, "origin_country"));
  return line;
}

}  // namespace

Result<Driver> DecodeDriver(const JsonObjectReader& driver) {
  BF_TRY(driver.RejectUnknown({"name", "document_number", "nationality", "phone"}));
  Driver d;
  BF_ASSIGN_OR_RETURN(d.name, driver.String("name", 100));
  BF_ASSIGN_OR_RETURN(d.document_number, driver.String("document_number", 32));
  BF_ASSIGN_OR_RETURN(d.nationality, CountryCode(driver, "nationality"));
  BF_ASSIGN_OR_RETURN(auto phone, driver.OptionalString("phone", 32));
  d.phone = phone.value_or("");
  return d;
}

Result<Declaration> DecodeDeclaration(const json::value& body, const HsNomenclature& hs) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(body, ""));
  BF_TRY(r.RejectUnknown({"direction", "lane_class", "vehicle", "driver", "lines",
                          "freshness_deadline", "declaration_valid_until", "documents"}));
  Declaration d;
  BF_ASSIGN_OR_RETURN(d.direction, r.String("direction", 32));
  BF_ASSIGN_OR_RETURN(d.lane_class, r.String("lane_class", 32));

  BF_ASSIGN_OR_RETURN(JsonObjectReader vehicle, r.Object("vehicle"));
  BF_TRY(vehicle.RejectUnknown({"plate", "trailer_plate", "container_number", "seal_number"}));
  BF_ASSIGN_OR_RETURN(d.vehicle.plate, PlateField(vehicle, "plate"));
  if (vehicle.Has("trailer_plate")) {
    BF_ASSIGN_OR_RETURN(Plate trailer, PlateField(vehicle, "trailer_plate"));
    d.vehicle.trailer_plate = trailer;
  }
  if (vehicle.Has("container_number")) {
    BF_ASSIGN_OR_RETURN(std::string text, vehicle.String("container_number", 16));
    auto container = ParseContainerNumber(text);
    if (!container) return container.error().Within(vehicle.PathOf("container_number"));
    d.vehicle.container_number = *container;
  }
  BF_ASSIGN_OR_RETURN(d.vehicle.seal_number, vehicle.OptionalString("seal_number", 32));

  BF_ASSIGN_OR_RETURN(JsonObjectReader driver, r.Object("driver"));
  BF_ASSIGN_OR_RETURN(d.driver, DecodeDriver(driver));

  if (r.Has("lines")) {
    BF_ASSIGN_OR_RETURN(const json::array* lines, r.Array("lines", 0, kMaxLinesPerCrossing));
    for (size_t i = 0; i < lines->size(); ++i) {
      BF_ASSIGN_OR_RETURN(JsonObjectReader line,
                          JsonObjectReader::Of((*lines)[i], fmt::format("lines[{}]", i)));
      BF_ASSIGN_OR_RETURN(ConsignmentLine decoded, DecodeLine(line, hs));
      d.lines.push_back(std::move(decoded));
    }
  }
  BF_ASSIGN_OR_RETURN(d.freshness_deadline, OptionalTime(r, "freshness_deadline"));
  BF_ASSIGN_OR_RETURN(d.declaration_valid_until, OptionalTime(r, "declaration_valid_until"));

  if (r.Has("documents")) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader docs, r.Object("documents"));
    BF_TRY(docs.RejectUnknown(
        {"customs_declaration", "phytosanitary_certificate", "certificate_of_origin"}));
    BF_ASSIGN_OR_RETURN(auto customs, docs.OptionalString("customs_declaration", 64));
    BF_ASSIGN_OR_RETURN(auto phyto, docs.OptionalString("phytosanitary_certificate", 64));
    BF_ASSIGN_OR_RETURN(auto origin, docs.OptionalString("certificate_of_origin", 64));
    d.documents = Documents{customs.value_or(""), phyto.value_or(""), origin.value_or("")};
  }
  return d;
}

json::object EncodeDeclaration(const Declaration& d) {
  json::object vehicle{{"plate", d.vehicle.plate.display}};
  if (d.vehicle.trailer_plate) vehicle["trailer_plate"] = d.vehicle.trailer_plate->display;
  if (d.vehicle.container_number) vehicle["container_number"] = *d.vehicle.container_number;
  if (d.vehicle.seal_number) vehicle["seal_number"] = *d.vehicle.seal_number;
  json::object driver{{"name", d.driver.name},
                      {"document_number", d.driver.document_number},
                      {"nationality", d.driver.nationality}};
  if (!d.driver.phone.empty()) driver["phone"] = d.driver.phone;
  json::array lines;
  for (const ConsignmentLine& l : d.lines) {
    lines.push_back(
        json::object{{"hs_code", l.hs.code},
                     {"description", l.description},
                     {"packages", l.packages},
                     // Grams are whole, so kilograms with three decimals are exact.
                     {"gross_weight_kg", double(l.gross_weight_grams) / 1000.0},
                     {"value", json::object{{"amount", FormatMinor(l.value.minor_units)},
                                            {"currency", l.value.currency}}},
                     {"origin_country", l.origin_country}});
  }
  json::object o{{"direction", d.direction},
                 {"lane_class", d.lane_class},
                 {"vehicle", std::move(vehicle)},
                 {"driver", std::move(driver)},
                 {"lines", std::move(lines)},
                 {"documents",
                  json::object{{"customs_declaration", d.documents.customs_declaration},
                               {"phytosanitary_certificate", d.documents.phytosanitary_certificate},
                               {"certificate_of_origin", d.documents.certificate_of_origin}}}};
  if (d.freshness_deadline) o["freshness_deadline"] = FormatUtc(*d.freshness_deadline);
  if (d.declaration_valid_until) {
    o["declaration_valid_until"] = FormatUtc(*d.declaration_valid_until);
  }
  return o;
}

namespace {

void WritePlate(JsonWriter& w, std::string_view key, const Plate& p) {
  w.Key(key)
      .BeginObject()
      .Member("display", p.display)
      .Member("canonical", p.canonical)
      .Member("country", PlateCountryCode(p.country))
      .EndObject();
}

void WriteTime(JsonWriter& w, std::string_view key, Timestamp t, std::optional<UtcOffset> local) {
  w.Key(key).PlainString([&](std::string& out) { AppendUtc(out, t); });
  if (!local) return;
  char local_key[64];
  BF_ASSERT(key.size() + 6 <= sizeof local_key, "time keys are short");
  std::memcpy(local_key, key.data(), key.size());
  std::memcpy(local_key + key.size(), "_local", 6);
  w.Key(std::string_view(local_key, key.size() + 6)).PlainString([&](std::string& out) {
    AppendLocal(out, t, *local);
  });
}

}  // namespace

std::string EncodeCrossingText(const Crossing& c, std::optional<UtcOffset> local) {
  const Declaration& d = c.declaration;
  std::string out;
  out.reserve(2048);
  JsonWriter w(out);
  w.BeginObject()
      .Member("id", c.id)
      .Member("company_id", c.company_id)
      .Member("declared_by", c.declared_by);
  if (!c.announced_by.empty()) w.Member("announced_by", c.announced_by);
  w.Member("state", CrossingStateName(c.state))
      .Member("channel", ChannelName(c.channel))
      .Member("quarantine_inspection", c.quarantine_inspection)
      .Member("version", c.version)
      .Member("direction", d.direction)
      .Member("lane_class", d.lane_class);
  w.Key("vehicle").BeginObject();
  WritePlate(w, "plate", d.vehicle.plate);
  if (d.vehicle.trailer_plate) WritePlate(w, "trailer_plate", *d.vehicle.trailer_plate);
  if (d.vehicle.container_number) w.Member("container_number", *d.vehicle.container_number);
  if (d.vehicle.seal_number) w.Member("seal_number", *d.vehicle.seal_number);
  w.EndObject();
  w.Key("driver")
      .BeginObject()
      .Member("name", d.driver.name)
      .Member("document_number", d.driver.document_number)
      .Member("nationality", d.driver.nationality);
  if (!d.driver.phone.empty()) w.Member("phone", d.driver.phone);
  w.EndObject();
  w.Key("lines").BeginArray();
  for (const auto& l : d.lines) {
    w.BeginObject()
        .Member("hs_code", l.hs.code)
        .Member("hs_description", l.hs.description)
        .Member("description", l.description)
        .Member("packages", l.packages)
        .Key("gross_weight_kg");
    if (l.gross_weight_grams % 1000 == 0) {
      w.Int(l.gross_weight_grams / 1000);
    } else {
      w.Double(double(l.gross_weight_grams) / 1000.0);
    }
    w.Key("value")
        .BeginObject()
        .Member("amount", FormatMinor(l.value.minor_units))
        .Member("currency", l.value.currency)
        .EndObject()
        .Member("origin_country", l.origin_country)
        .EndObject();
  }
  w.EndArray();
  w.Key("documents")
      .BeginObject()
      .Member("customs_declaration", d.documents.customs_declaration)
      .Member("phytosanitary_certificate", d.documents.phytosanitary_certificate)
      .Member("certificate_of_origin", d.documents.certificate_of_origin)
      .EndObject();
  if (d.freshness_deadline) WriteTime(w, "freshness_deadline", *d.freshness_deadline, local);
  WriteTime(w, "declaration_valid_until", c.declaration_valid_until, local);
  if (c.last_check) {
    const CheckResult& check = *c.last_check;
    w.Key("last_check")
        .BeginObject()
        .Member("kind", check.kind)
        .Member("outcome", check.outcome)
        .Member("officer", check.officer);
    if (!check.note.empty()) w.Member("note", check.note);
    WriteTime(w, "at", check.at, local);
    w.EndObject();
  }
  if (!c.refusal_reason.empty()) w.Member("refusal_reason", c.refusal_reason);
  if (!c.queue.empty()) {
    const QueueInfo& q = c.queue;
    w.Key("queue").BeginObject().Member("ticket", q.ticket).Member("requeues", q.requeues);
    auto put = [&](std::string_view key, const std::optional<Timestamp>& t) {
      if (t) WriteTime(w, key, *t, local);
    };
    put("booked_slot", q.booked_bucket);
    put("booked_at", q.booked_at);
    put("yard_arrived_at", q.yard_arrived_at);
    put("called_at", q.called_at);
    put("call_deadline", q.call_deadline);
    if (!q.call_reason.empty()) w.Member("call_reason", q.call_reason);
    put("predicted_call_at", q.predicted_call_at);
    put("predicted_at", q.predicted_at);
    w.EndObject();
  }
  if (!c.findings.empty()) {
    const GateFindings& f = c.findings;
    w.Key("findings").BeginObject();
    if (f.weighbridge_kg) w.Key("weighbridge_kg").Double(*f.weighbridge_kg);
    if (!f.phytosanitary.empty()) w.Member("phytosanitary", f.phytosanitary);
    if (!f.certificate_of_origin.empty()) {
      w.Member("certificate_of_origin", f.certificate_of_origin);
    }
    if (!f.customs_declaration.empty()) w.Member("customs_declaration", f.customs_declaration);
    if (!f.seal.empty()) w.Member("seal", f.seal);
    w.EndObject();
  }
  if (c.risk) {
    const RiskDecision& rd = *c.risk;
    w.Key("risk")
        .BeginObject()
        .Member("rule_set", rd.rule_set)
        .Member("fingerprint", rd.fingerprint)
        .Key("score")
        .Double(rd.score)
        .Member("mandatory_channel", ChannelName(rd.mandatory_channel))
        .Member("random", rd.random)
        .Key("fired")
        .BeginArray();
    for (const auto& f : rd.fired) {
      w.BeginObject()
          .Member("rule", int64_t{f.rule})
          .Member("line", int64_t{f.line})
          .Key("score")
          .Double(f.score)
          .EndObject();
    }
    w.EndArray().EndObject();
  }
  WriteTime(w, "created_at", c.created_at, local);
  WriteTime(w, "updated_at", c.updated_at, local);
  w.EndObject();
  return out;
}

json::object EncodeCrossing(const Crossing& c, std::optional<UtcOffset> local) {
  // The text is the one encoding; the tree is read back from it.
  return json::parse(EncodeCrossingText(c, local)).as_object();
}

Result<Crossing> DecodeCrossing(const json::value& doc, const HsNomenclature& hs) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(doc, ""));
  Crossing c;
  BF_ASSIGN_OR_RETURN(c.id, r.String("id", 64));
  // 64 for a company here; an inbound crossing's is "<counterpart node>:<company>" (129).
  BF_ASSIGN_OR_RETURN(c.company_id, r.String("company_id", 160, 0));
  BF_ASSIGN_OR_RETURN(c.declared_by, r.String("declared_by", 64, 0));
  BF_ASSIGN_OR_RETURN(auto announced_by, r.OptionalString("announced_by", 64));
  c.announced_by = announced_by.value_or("");
  BF_ASSIGN_OR_RETURN(std::string state, r.String("state", 32));
  BF_ASSIGN_OR_RETURN(c.state, ParseCrossingState(state));
  BF_ASSIGN_OR_RETURN(std::string channel, r.String("channel", 16));
  BF_ASSIGN_OR_RETURN(c.channel, ParseChannel(channel));
  BF_ASSIGN_OR_RETURN(c.quarantine_inspection, r.Bool("quarantine_inspection"));
  BF_ASSIGN_OR_RETURN(c.version, r.Int("version", 0, INT64_MAX));
  BF_ASSIGN_OR_RETURN(c.declaration_valid_until, Time(r, "declaration_valid_until"));
  BF_ASSIGN_OR_RETURN(c.created_at, Time(r, "created_at"));
  BF_ASSIGN_OR_RETURN(c.updated_at, Time(r, "updated_at"));
  BF_ASSIGN_OR_RETURN(auto refusal, r.OptionalString("refusal_reason", 1000));
  c.refusal_reason = refusal.value_or("");
  if (r.Has("last_check")) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader check, r.Object("last_check"));
    CheckResult result;
    BF_ASSIGN_OR_RETURN(result.kind, check.String("kind", 32));
    BF_ASSIGN_OR_RETURN(result.outcome, check.String("outcome", 32));
    BF_ASSIGN_OR_RETURN(result.officer, check.String("officer", 100, 0));
    BF_ASSIGN_OR_RETURN(auto note, check.OptionalString("note", 1000));
    result.note = note.value_or("");
    BF_ASSIGN_OR_RETURN(result.at, Time(check, "at"));
    c.last_check = result;
  }
  if (r.Has("queue")) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader q, r.Object("queue"));
    BF_ASSIGN_OR_RETURN(c.queue.ticket, q.Int("ticket", 0, INT64_MAX));
    BF_ASSIGN_OR_RETURN(int64_t requeues, q.Int("requeues", 0, 1000000));
    c.queue.requeues = static_cast<int>(requeues);
    BF_ASSIGN_OR_RETURN(c.queue.booked_bucket, OptionalTime(q, "booked_slot"));
    BF_ASSIGN_OR_RETURN(c.queue.booked_at, OptionalTime(q, "booked_at"));
    BF_ASSIGN_OR_RETURN(c.queue.yard_arrived_at, OptionalTime(q, "yard_arrived_at"));
    BF_ASSIGN_OR_RETURN(c.queue.called_at, OptionalTime(q, "called_at"));
    BF_ASSIGN_OR_RETURN(c.queue.call_deadline, OptionalTime(q, "call_deadline"));
    BF_ASSIGN_OR_RETURN(auto reason, q.OptionalString("call_reason", 64));
    c.queue.call_reason = reason.value_or("");
    BF_ASSIGN_OR_RETURN(c.queue.predicted_call_at, OptionalTime(q, "predicted_call_at"));
    BF_ASSIGN_OR_RETURN(c.queue.predicted_at, OptionalTime(q, "predicted_at"));
  }
  if (r.Has("findings")) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader f, r.Object("findings"));
    if (f.Has("weighbridge_kg")) {
      BF_ASSIGN_OR_RETURN(double kg, f.Number("weighbridge_kg", 0, 1e7));
      c.findings.weighbridge_kg = kg;
    }
    auto text = [&](std::string_view key, std::string& out) -> Status {
      BF_ASSIGN_OR_RETURN(auto v, f.OptionalString(key, 16));
      out = v.value_or("");
      return {};
    };
    BF_TRY(text("phytosanitary", c.findings.phytosanitary));
    BF_TRY(text("certificate_of_origin", c.findings.certificate_of_origin));
    BF_TRY(text("customs_declaration", c.findings.customs_declaration));
    BF_TRY(text("seal", c.findings.seal));
  }
  if (r.Has("risk")) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader k, r.Object("risk"));
    RiskDecision rd;
    BF_ASSIGN_OR_RETURN(rd.rule_set, k.String("rule_set", 200));
    BF_ASSIGN_OR_RETURN(rd.fingerprint, k.String("fingerprint", 128, 0));
    BF_ASSIGN_OR_RETURN(rd.score, k.Number("score", -1e12, 1e12));
    BF_ASSIGN_OR_RETURN(std::string mandatory, k.String("mandatory_channel", 16));
    BF_ASSIGN_OR_RETURN(rd.mandatory_channel, ParseChannel(mandatory));
    BF_ASSIGN_OR_RETURN(rd.random, k.Bool("random"));
    BF_ASSIGN_OR_RETURN(const json::array* fired, k.Array("fired", 0, 100000));
    for (const json::value& v : *fired) {
      BF_ASSIGN_OR_RETURN(JsonObjectReader fr, JsonObjectReader::Of(v, "risk.fired"));
      RiskDecision::Fired one;
      BF_ASSIGN_OR_RETURN(int64_t rule, fr.Int("rule", 0, UINT32_MAX));
      BF_ASSIGN_OR_RETURN(int64_t line, fr.Int("line", -1, INT32_MAX));
      one.rule = static_cast<uint32_t>(rule);
      one.line = static_cast<int32_t>(line);
      BF_ASSIGN_OR_RETURN(one.score, fr.Number("score", -1e12, 1e12));
      rd.fired.push_back(one);
    }
    c.risk = std::move(rd);
  }

  // The declaration part: rebuild the request form and reuse the one validating decoder.
  json::object decl;
  for (std::string_view key :
       {"direction", "lane_class", "driver", "documents", "freshness_deadline"}) {
    if (const json::value* v = r.object().if_contains(key)) decl[key] = *v;
  }
  BF_ASSIGN_OR_RETURN(JsonObjectReader vehicle, r.Object("vehicle"));
  json::object vehicle_in;
  // Stored rows may be corrupt: anything unexpected is passed on for DecodeDeclaration to refuse
  // with the field's path (json::object::at and as_object would throw instead).
  for (const auto& kv : vehicle.object()) {
    const json::value* display =
        kv.value().is_object() ? kv.value().get_object().if_contains("display") : nullptr;
    vehicle_in[kv.key()] = display != nullptr ? *display : kv.value();
  }
  decl["vehicle"] = std::move(vehicle_in);
  json::array lines_in;
  BF_ASSIGN_OR_RETURN(const json::array* lines, r.Array("lines", 0, kMaxLinesPerCrossing));
  for (const auto& line : *lines) {
    if (!line.is_object()) {
      lines_in.push_back(line);
      continue;
    }
    json::object l = line.get_object();
    l.erase("hs_description");
    lines_in.push_back(std::move(l));
  }
  decl["lines"] = std::move(lines_in);
  if (const json::value* d = decl.if_contains("documents"); d != nullptr && d->is_object()) {
    json::object docs;
    for (const auto& kv : d->as_object()) {
      if (kv.value().is_string() && !kv.value().get_string().empty()) docs[kv.key()] = kv.value();
    }
    decl["documents"] = std::move(docs);
  }
  BF_ASSIGN_OR_RETURN(c.declaration, DecodeDeclaration(decl, hs));
  return c;
}

}  // namespace borderflow
