#include <algorithm>
#include <limits>
#include <set>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/link/messages.h>

namespace borderflow {

namespace json = boost::json;

namespace {

constexpr std::string_view kRoot = "payload";
constexpr size_t kMaxSealNumberLength = 32;
constexpr size_t kMaxFindingTypeLength = 64;
constexpr double kMaxTrucksPerHour = 10000;

Result<JsonObjectReader> Root(const json::object& payload) {
  return JsonObjectReader(payload, std::string(kRoot));
}

Result<std::string> OneOf(const JsonObjectReader& r, std::string_view key,
                          std::initializer_list<std::string_view> values) {
  BF_ASSIGN_OR_RETURN(std::string v, r.String(key, 32));
  for (std::string_view allowed : values) {
    if (v == allowed) return v;
  }
  std::string list;
  for (std::string_view allowed : values) list += (list.empty() ? "" : ", ") + std::string(allowed);
  return InvalidArgument(
      "invalid_value", fmt::format("'{}' must be one of: {}", r.PathOf(key), list), r.PathOf(key));
}

// An optional enumeration: "" when absent.
Result<std::string> OptionalOneOf(const JsonObjectReader& r, std::string_view key,
                                  std::initializer_list<std::string_view> values) {
  if (!r.Has(key)) return std::string();
  return OneOf(r, key, values);
}

Result<std::string> Channel(const JsonObjectReader& r) {
  return OneOf(r, "channel", {"green", "yellow", "red"});
}

// An id that may appear in a stream name ("crossing:<id>").
Result<std::string> Id(const JsonObjectReader& r, std::string_view key) {
  BF_ASSIGN_OR_RETURN(std::string id, r.String(key, kMaxLinkIdLength));
  if (!IsLinkToken(id, kMaxLinkIdLength)) {
    return InvalidArgument(
        "invalid_value",
        fmt::format("'{}' may hold only letters, digits and ':_.-'", r.PathOf(key)), r.PathOf(key));
  }
  return id;
}

Result<std::string> OptionalText(const JsonObjectReader& r, std::string_view key, size_t max_len) {
  BF_ASSIGN_OR_RETURN(auto v, r.OptionalString(key, max_len));
  return v.value_or(std::string());
}

Result<Timestamp> Time(const JsonObjectReader& r, std::string_view key) {
  BF_ASSIGN_OR_RETURN(std::string text, r.String(key, 40));
  auto t = ParseTimestamp(text);
  if (!t) {
    Error e = t.error().Within(r.PathOf(key));
    e.message = fmt::format("'{}': {}", r.PathOf(key), e.message);
    return e;
  }
  return *t;
}

Result<std::optional<Timestamp>> OptionalTime(const JsonObjectReader& r, std::string_view key) {
  if (!r.Has(key)) return std::optional<Timestamp>();
  BF_ASSIGN_OR_RETURN(Timestamp t, Time(r, key));
  return std::optional<Timestamp>(t);
}

void PutIfNotEmpty(json::object& o, std::string_view key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

}  // namespace

// ---- pre_arrival --------------------------------------------------------------------------

json::object Encode(const PreArrival& m) {
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["company_id"] = m.company_id;
  o["direction"] = m.direction;
  o["lane_class"] = m.lane_class;
  o["declaration"] = m.declaration;
  o["channel"] = m.channel;
  o["quarantine_inspection"] = m.quarantine_inspection;
  o["declaration_valid_until"] = FormatUtc(m.declaration_valid_until);
  if (m.freshness_deadline) o["freshness_deadline"] = FormatUtc(*m.freshness_deadline);
  return o;
}

Result<PreArrival> DecodePreArrival(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "company_id", "direction", "lane_class", "declaration",
                          "channel", "quarantine_inspection", "declaration_valid_until",
                          "freshness_deadline"}));
  PreArrival m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(m.company_id, Id(r, "company_id"));
  BF_ASSIGN_OR_RETURN(m.direction, Id(r, "direction"));
  BF_ASSIGN_OR_RETURN(m.lane_class, Id(r, "lane_class"));
  BF_ASSIGN_OR_RETURN(JsonObjectReader declaration, r.Object("declaration"));
  m.declaration = declaration.object();
  BF_ASSIGN_OR_RETURN(m.channel, Channel(r));
  BF_ASSIGN_OR_RETURN(m.quarantine_inspection, r.Bool("quarantine_inspection"));
  BF_ASSIGN_OR_RETURN(m.declaration_valid_until, Time(r, "declaration_valid_until"));
  BF_ASSIGN_OR_RETURN(m.freshness_deadline, OptionalTime(r, "freshness_deadline"));
  return m;
}

// ---- capacity_announcement ------------------------------------------------------------------

json::object Encode(const CapacityAnnouncement& m) {
  json::object o;
  o["direction"] = m.direction;
  o["from"] = FormatUtc(m.from);
  json::array entries;
  for (const auto& e : m.entries) {
    json::object entry;
    entry["lane_class"] = e.lane_class;
    json::array hours;
    for (double v : e.trucks_per_hour) hours.push_back(v);
    entry["trucks_per_hour"] = std::move(hours);
    entries.push_back(std::move(entry));
  }
  o["entries"] = std::move(entries);
  return o;
}

Result<CapacityAnnouncement> DecodeCapacityAnnouncement(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"direction", "from", "entries"}));
  CapacityAnnouncement m;
  BF_ASSIGN_OR_RETURN(m.direction, Id(r, "direction"));
  BF_ASSIGN_OR_RETURN(m.from, Time(r, "from"));
  if (ToUnixMillis(m.from) % (3600 * 1000) != 0) {
    return InvalidArgument("invalid_value", "'payload.from' must be a whole hour",
                           r.PathOf("from"));
  }
  BF_ASSIGN_OR_RETURN(const json::array* entries, r.Array("entries", 1, kMaxCapacityEntries));
  std::set<std::string> lane_classes;
  for (size_t i = 0; i < entries->size(); ++i) {
    std::string path = fmt::format("{}[{}]", r.PathOf("entries"), i);
    BF_ASSIGN_OR_RETURN(JsonObjectReader er, JsonObjectReader::Of((*entries)[i], path));
    BF_TRY(er.RejectUnknown({"lane_class", "trucks_per_hour"}));
    CapacityAnnouncement::Entry entry;
    BF_ASSIGN_OR_RETURN(entry.lane_class, Id(er, "lane_class"));
    if (!lane_classes.insert(entry.lane_class).second) {
      return InvalidArgument("duplicate_lane_class",
                             fmt::format("lane class '{}' is announced twice", entry.lane_class),
                             er.PathOf("lane_class"));
    }
    BF_ASSIGN_OR_RETURN(const json::array* hours,
                        er.Array("trucks_per_hour", 1, kMaxCapacityHours));
    for (size_t h = 0; h < hours->size(); ++h) {
      const json::value& v = (*hours)[h];
      double rate = 0;
      if (v.is_double()) {
        rate = v.get_double();
      } else if (v.is_int64()) {
        rate = double(v.get_int64());
      } else if (v.is_uint64()) {
        rate = double(v.get_uint64());
      } else {
        return InvalidArgument(
            "wrong_type", fmt::format("'{}[{}]' must be a number", er.PathOf("trucks_per_hour"), h),
            fmt::format("{}[{}]", er.PathOf("trucks_per_hour"), h));
      }
      if (!(rate >= 0 && rate <= kMaxTrucksPerHour)) {
        return InvalidArgument("out_of_range",
                               fmt::format("'{}[{}]' must be between 0 and {}",
                                           er.PathOf("trucks_per_hour"), h, kMaxTrucksPerHour),
                               fmt::format("{}[{}]", er.PathOf("trucks_per_hour"), h));
      }
      entry.trucks_per_hour.push_back(rate);
    }
    m.entries.push_back(std::move(entry));
  }
  return m;
}

// ---- inspection_result ----------------------------------------------------------------------

json::object Encode(const InspectionResult& m) {
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["kind"] = m.kind;
  o["outcome"] = m.outcome;
  PutIfNotEmpty(o, "finding_type", m.finding_type);
  o["channel"] = m.channel;
  o["quarantine_inspection"] = m.quarantine_inspection;
  PutIfNotEmpty(o, "seal_number", m.seal_number);
  PutIfNotEmpty(o, "seal_state", m.seal_state);
  PutIfNotEmpty(o, "note", m.note);
  o["at"] = FormatUtc(m.at);
  return o;
}

Result<InspectionResult> DecodeInspectionResult(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "kind", "outcome", "finding_type", "channel",
                          "quarantine_inspection", "seal_number", "seal_state", "note", "at"}));
  InspectionResult m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(m.kind, OneOf(r, "kind", {"documents", "inspection"}));
  if (m.kind == "documents") {
    BF_ASSIGN_OR_RETURN(m.outcome, OneOf(r, "outcome", {"ok", "discrepancy"}));
  } else {
    BF_ASSIGN_OR_RETURN(m.outcome, OneOf(r, "outcome", {"no_finding", "finding"}));
  }
  if (m.outcome == "finding") {
    BF_ASSIGN_OR_RETURN(m.finding_type, r.String("finding_type", kMaxFindingTypeLength));
  } else if (payload.contains("finding_type")) {
    return InvalidArgument("unexpected_field", "finding_type is only given with a finding",
                           r.PathOf("finding_type"));
  }
  BF_ASSIGN_OR_RETURN(m.channel, Channel(r));
  BF_ASSIGN_OR_RETURN(m.quarantine_inspection, r.Bool("quarantine_inspection"));
  BF_ASSIGN_OR_RETURN(m.seal_number, OptionalText(r, "seal_number", kMaxSealNumberLength));
  BF_ASSIGN_OR_RETURN(m.seal_state, OptionalOneOf(r, "seal_state", {"intact", "broken"}));
  BF_ASSIGN_OR_RETURN(m.note, OptionalText(r, "note", kMaxNoteLength));
  BF_ASSIGN_OR_RETURN(m.at, Time(r, "at"));
  return m;
}

// ---- release_notice, handover, receipt, cancellation ----------------------------------------

json::object Encode(const ReleaseNotice& m) {
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["released_at"] = FormatUtc(m.released_at);
  o["channel"] = m.channel;
  return o;
}

Result<ReleaseNotice> DecodeReleaseNotice(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "released_at", "channel"}));
  ReleaseNotice m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(m.released_at, Time(r, "released_at"));
  BF_ASSIGN_OR_RETURN(m.channel, Channel(r));
  return m;
}

json::object Encode(const Handover& m) {
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["crossed_at"] = FormatUtc(m.crossed_at);
  PutIfNotEmpty(o, "seal_number", m.seal_number);
  PutIfNotEmpty(o, "seal_state", m.seal_state);
  return o;
}

Result<Handover> DecodeHandover(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "crossed_at", "seal_number", "seal_state"}));
  Handover m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(m.crossed_at, Time(r, "crossed_at"));
  BF_ASSIGN_OR_RETURN(m.seal_number, OptionalText(r, "seal_number", kMaxSealNumberLength));
  BF_ASSIGN_OR_RETURN(m.seal_state, OptionalOneOf(r, "seal_state", {"intact", "broken"}));
  return m;
}

json::object Encode(const Receipt& m) {
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["received_at"] = FormatUtc(m.received_at);
  return o;
}

Result<Receipt> DecodeReceipt(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "received_at"}));
  Receipt m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(m.received_at, Time(r, "received_at"));
  return m;
}

json::object Encode(const Cancellation& m) {
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["reason"] = m.reason;
  o["at"] = FormatUtc(m.at);
  return o;
}

Result<Cancellation> DecodeCancellation(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "reason", "at"}));
  Cancellation m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(m.reason, r.String("reason", kMaxNoteLength));
  BF_ASSIGN_OR_RETURN(m.at, Time(r, "at"));
  return m;
}

// ---- driver_change ----------------------------------------------------------------------------

json::object Encode(const DriverChange& m) {
  json::object driver;
  driver["name"] = m.name;
  driver["document_number"] = m.document_number;
  driver["nationality"] = m.nationality;
  if (!m.phone.empty()) driver["phone"] = m.phone;
  json::object o;
  o["crossing_id"] = m.crossing_id;
  o["driver"] = std::move(driver);
  o["changed_at"] = FormatUtc(m.changed_at);
  return o;
}

Result<DriverChange> DecodeDriverChange(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"crossing_id", "driver", "changed_at"}));
  DriverChange m;
  BF_ASSIGN_OR_RETURN(m.crossing_id, Id(r, "crossing_id"));
  BF_ASSIGN_OR_RETURN(JsonObjectReader driver, r.Object("driver"));
  BF_TRY(driver.RejectUnknown({"name", "document_number", "nationality", "phone"}));
  BF_ASSIGN_OR_RETURN(m.name, driver.String("name", 100));
  BF_ASSIGN_OR_RETURN(m.document_number, driver.String("document_number", 32));
  BF_ASSIGN_OR_RETURN(m.nationality, driver.String("nationality", 8));
  BF_ASSIGN_OR_RETURN(m.phone, OptionalText(driver, "phone", 32));
  BF_ASSIGN_OR_RETURN(m.changed_at, Time(r, "changed_at"));
  return m;
}

// ---- skip_notice ------------------------------------------------------------------------------

json::object Encode(const SkipNotice& m) {
  json::object o;
  o["seq"] = m.seq;
  o["skipped_type"] = m.skipped_type;
  o["code"] = m.code;
  PutIfNotEmpty(o, "message", m.message);
  o["given_up_at"] = FormatUtc(m.given_up_at);
  return o;
}

Result<SkipNotice> DecodeSkipNotice(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"seq", "skipped_type", "code", "message", "given_up_at"}));
  SkipNotice m;
  BF_ASSIGN_OR_RETURN(m.seq, r.Int("seq", 1, std::numeric_limits<int64_t>::max()));
  BF_ASSIGN_OR_RETURN(m.skipped_type, r.String("skipped_type", 32));
  BF_ASSIGN_OR_RETURN(m.code, r.String("code", kMaxErrorCodeLength));
  BF_ASSIGN_OR_RETURN(m.message, OptionalText(r, "message", kMaxNoteLength));
  BF_ASSIGN_OR_RETURN(m.given_up_at, Time(r, "given_up_at"));
  return m;
}

// ---- ack --------------------------------------------------------------------------------------

json::object Encode(const Ack& m) {
  json::array items;
  for (const auto& item : m.items) {
    json::object o;
    o["id"] = item.id;
    o["status"] = item.status;
    PutIfNotEmpty(o, "code", item.code);
    PutIfNotEmpty(o, "message", item.message);
    items.push_back(std::move(o));
  }
  json::object o;
  o["items"] = std::move(items);
  return o;
}

Result<Ack> DecodeAck(const json::object& payload) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Root(payload));
  BF_TRY(r.RejectUnknown({"items"}));
  BF_ASSIGN_OR_RETURN(const json::array* items, r.Array("items", 0, kMaxAckItems));
  Ack m;
  for (size_t i = 0; i < items->size(); ++i) {
    std::string path = fmt::format("{}[{}]", r.PathOf("items"), i);
    BF_ASSIGN_OR_RETURN(JsonObjectReader ir, JsonObjectReader::Of((*items)[i], path));
    BF_TRY(ir.RejectUnknown({"id", "status", "code", "message"}));
    Ack::Item item;
    BF_ASSIGN_OR_RETURN(item.id, ir.String("id", kMaxMessageIdLength));
    BF_ASSIGN_OR_RETURN(item.status, OneOf(ir, "status", {"applied", "duplicate", "rejected"}));
    if (item.status == "rejected") {
      // The sender decides whether to retry or give up on the code.
      BF_ASSIGN_OR_RETURN(item.code, ir.String("code", kMaxErrorCodeLength));
    } else {
      BF_ASSIGN_OR_RETURN(item.code, OptionalText(ir, "code", kMaxErrorCodeLength));
    }
    BF_ASSIGN_OR_RETURN(item.message, OptionalText(ir, "message", kMaxNoteLength));
    m.items.push_back(std::move(item));
  }
  return m;
}

Status ValidatePayload(MessageType type, const json::object& payload) {
  auto check = [](const auto& result) -> Status {
    if (!result) return result.error();
    return {};
  };
  switch (type) {
    case MessageType::kPreArrival:
      return check(DecodePreArrival(payload));
    case MessageType::kCapacityAnnouncement:
      return check(DecodeCapacityAnnouncement(payload));
    case MessageType::kInspectionResult:
      return check(DecodeInspectionResult(payload));
    case MessageType::kReleaseNotice:
      return check(DecodeReleaseNotice(payload));
    case MessageType::kHandover:
      return check(DecodeHandover(payload));
    case MessageType::kReceipt:
      return check(DecodeReceipt(payload));
    case MessageType::kCancellation:
      return check(DecodeCancellation(payload));
    case MessageType::kAck:
      return check(DecodeAck(payload));
    case MessageType::kDriverChange:
      return check(DecodeDriverChange(payload));
    case MessageType::kSkipNotice:
      return check(DecodeSkipNotice(payload));
  }
  return InvalidArgument("unknown_message_type", "unknown message type");
}

}  // namespace borderflow
