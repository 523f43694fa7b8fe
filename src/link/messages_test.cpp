#include <functional>

#include <boost/json/array.hpp>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/link/messages.h>

#include "link_test_util.h"

namespace borderflow {
namespace {

namespace json = boost::json;
using link_test::T0;
using std::chrono::hours;
using std::chrono::milliseconds;

PreArrival SamplePreArrival() {
  PreArrival m;
  m.crossing_id = "CR-01ABCDEF0123456";
  m.company_id = "CO-FRUIT-01";
  m.direction = "vn_to_cn";
  m.lane_class = "perishable";
  m.declaration = ParseJson(R"({"vehicle":{"plate":"12C-345.67"},"lines":[{"hs_code":"0810.60"}]})")
                      .value()
                      .as_object();
  m.channel = "green";
  m.quarantine_inspection = true;
  m.declaration_valid_until = T0() + hours(48);
  m.freshness_deadline = T0() + hours(30) + milliseconds(5);
  return m;
}

CapacityAnnouncement SampleCapacity() {
  CapacityAnnouncement m;
  m.direction = "vn_to_cn";
  m.from = T0();
  m.entries = {{"perishable", {12, 12.5, 0}}, {"general", {30}}};
  return m;
}

InspectionResult SampleInspection() {
  InspectionResult m;
  m.crossing_id = "CR-01ABCDEF0123456";
  m.kind = "inspection";
  m.outcome = "finding";
  m.finding_type = "undeclared_goods";
  m.channel = "red";
  m.quarantine_inspection = false;
  m.seal_number = "SL123456";
  m.seal_state = "broken";
  m.note = "Kiểm tra thực tế / 查验";
  m.at = T0();
  return m;
}

Ack SampleAck() {
  Ack m;
  m.items = {{"VN-HN/capacity/1", "applied", "", ""},
             {"VN-HN/capacity/2", "duplicate", "", ""},
             {"VN-HN/capacity/3", "rejected", "bad_signature", "the signature does not verify"}};
  return m;
}

template <class T>
void ExpectRoundTrip(const T& m, Result<T> (*decode)(const json::object&), MessageType type) {
  json::object encoded = Encode(m);
  auto decoded = decode(encoded);
  ASSERT_TRUE(decoded) << decoded.error().ToString() << " in " << ToJsonText(encoded);
  EXPECT_EQ(*decoded, m) << ToJsonText(encoded);
  // Through text too, as it travels.
  auto reparsed = decode(ParseJson(ToJsonText(encoded)).value().as_object());
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(*reparsed, m);
  EXPECT_TRUE(ValidatePayload(type, encoded));
}

TEST(MessagesTest, RoundTrips) {
  ExpectRoundTrip(SamplePreArrival(), DecodePreArrival, MessageType::kPreArrival);
  PreArrival without_deadline = SamplePreArrival();
  without_deadline.freshness_deadline.reset();
  without_deadline.quarantine_inspection = false;
  ExpectRoundTrip(without_deadline, DecodePreArrival, MessageType::kPreArrival);
  EXPECT_FALSE(Encode(without_deadline).contains("freshness_deadline"));

  ExpectRoundTrip(SampleCapacity(), DecodeCapacityAnnouncement, MessageType::kCapacityAnnouncement);
  ExpectRoundTrip(SampleInspection(), DecodeInspectionResult, MessageType::kInspectionResult);
  InspectionResult documents;
  documents.crossing_id = "CR-1";
  documents.kind = "documents";
  documents.outcome = "ok";
  documents.channel = "yellow";
  documents.at = T0();
  ExpectRoundTrip(documents, DecodeInspectionResult, MessageType::kInspectionResult);
  EXPECT_EQ(ToJsonText(Encode(documents)),
            R"({"crossing_id":"CR-1","kind":"documents","outcome":"ok","channel":"yellow",)"
            R"("quarantine_inspection":false,"at":"2026-11-29T01:00:00.000Z"})");

  ExpectRoundTrip(ReleaseNotice{"CR-1", T0(), "red"}, DecodeReleaseNotice,
                  MessageType::kReleaseNotice);
  ExpectRoundTrip(Handover{"CR-1", T0(), "SL-9", "intact"}, DecodeHandover, MessageType::kHandover);
  ExpectRoundTrip(Handover{"CR-1", T0(), "", ""}, DecodeHandover, MessageType::kHandover);
  ExpectRoundTrip(Receipt{"CR-1", T0()}, DecodeReceipt, MessageType::kReceipt);
  ExpectRoundTrip(Cancellation{"CR-1", "truck broke down", T0()}, DecodeCancellation,
                  MessageType::kCancellation);
  ExpectRoundTrip(SampleAck(), DecodeAck, MessageType::kAck);
  ExpectRoundTrip(Ack{}, DecodeAck, MessageType::kAck);
  ExpectRoundTrip(DriverChange{"CR-1", "Nguyen Van B", "B7654321", "VN", "+84 90 000 0000", T0()},
                  DecodeDriverChange, MessageType::kDriverChange);
  ExpectRoundTrip(DriverChange{"CR-1", "Nguyen Van B", "B7654321", "VN", "", T0()},
                  DecodeDriverChange, MessageType::kDriverChange);
  EXPECT_EQ(MessageTypeName(MessageType::kDriverChange), "driver_change");
  EXPECT_EQ(ParseMessageType("driver_change").value(), MessageType::kDriverChange);
  json::object unknown = Encode(DriverChange{"CR-1", "B", "B1", "VN", "", T0()});
  unknown["driver"].as_object()["birthday"] = "1990-01-01";
  EXPECT_EQ(DecodeDriverChange(unknown).error().code, "unknown_field");

  ExpectRoundTrip(SkipNotice{7, "pre_arrival", "envelope_too_large", "too big", T0()},
                  DecodeSkipNotice, MessageType::kSkipNotice);
  ExpectRoundTrip(SkipNotice{1, "handover", "malformed_envelope", "", T0()}, DecodeSkipNotice,
                  MessageType::kSkipNotice);
  EXPECT_EQ(MessageTypeName(MessageType::kSkipNotice), "skip_notice");
  EXPECT_EQ(ParseMessageType("skip_notice").value(), MessageType::kSkipNotice);
  json::object no_seq = Encode(SkipNotice{1, "handover", "malformed_envelope", "", T0()});
  no_seq["seq"] = 0;
  EXPECT_FALSE(DecodeSkipNotice(no_seq));
  no_seq.erase("seq");
  EXPECT_EQ(DecodeSkipNotice(no_seq).error().code, "missing_field");
}

TEST(MessagesTest, TimestampsWithOffsetsAreRead) {
  json::object o = Encode(Receipt{"CR-1", T0()});
  o["received_at"] = "2026-11-29T08:00:00+07:00";
  auto r = DecodeReceipt(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->received_at, T0());
}

TEST(MessagesTest, ValidatePayloadDispatchesOnTheType) {
  json::object receipt = Encode(Receipt{"CR-1", T0()});
  EXPECT_TRUE(ValidatePayload(MessageType::kReceipt, receipt));
  for (MessageType other :
       {MessageType::kPreArrival, MessageType::kCapacityAnnouncement,
        MessageType::kInspectionResult, MessageType::kReleaseNotice, MessageType::kHandover,
        MessageType::kCancellation, MessageType::kAck}) {
    EXPECT_FALSE(ValidatePayload(other, receipt)) << MessageTypeName(other);
  }
  EXPECT_TRUE(ValidatePayload(MessageType::kHandover, Encode(Handover{"CR-1", T0(), "", ""})));
  EXPECT_FALSE(ValidatePayload(MessageType::kAck, json::object()));
}

struct Case {
  std::string name;
  MessageType type;
  json::object payload;
  std::function<void(json::object&)> mutate;
  std::string code;
  std::string field;
};

void ExpectRefused(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    json::object o = c.payload;
    c.mutate(o);
    auto status = ValidatePayload(c.type, o);
    ASSERT_FALSE(status) << c.name << ": " << ToJsonText(o);
    EXPECT_EQ(status.error().code, c.code) << c.name << ": " << status.error().ToString();
    EXPECT_EQ(status.error().field, c.field) << c.name << ": " << status.error().ToString();
    EXPECT_EQ(status.error().kind, ErrorKind::kInvalidArgument) << c.name;
  }
}

TEST(MessagesTest, PreArrivalIsStrict) {
  const MessageType t = MessageType::kPreArrival;
  const json::object p = Encode(SamplePreArrival());
  ExpectRefused({
      {"unknown", t, p, [](auto& o) { o["plate"] = "x"; }, "unknown_field", "payload.plate"},
      {"missing crossing", t, p, [](auto& o) { o.erase("crossing_id"); }, "missing_field",
       "payload.crossing_id"},
      {"long crossing", t, p, [](auto& o) { o["crossing_id"] = std::string(65, 'C'); },
       "field_too_long", "payload.crossing_id"},
      {"crossing charset", t, p, [](auto& o) { o["crossing_id"] = "CR 1"; }, "invalid_value",
       "payload.crossing_id"},
      {"long company", t, p, [](auto& o) { o["company_id"] = std::string(65, 'C'); },
       "field_too_long", "payload.company_id"},
      {"missing direction", t, p, [](auto& o) { o.erase("direction"); }, "missing_field",
       "payload.direction"},
      {"missing lane class", t, p, [](auto& o) { o.erase("lane_class"); }, "missing_field",
       "payload.lane_class"},
      {"declaration string", t, p, [](auto& o) { o["declaration"] = "{}"; }, "wrong_type",
       "payload.declaration"},
      {"channel none", t, p, [](auto& o) { o["channel"] = "none"; }, "invalid_value",
       "payload.channel"},
      {"channel case", t, p, [](auto& o) { o["channel"] = "Green"; }, "invalid_value",
       "payload.channel"},
      {"quarantine string", t, p, [](auto& o) { o["quarantine_inspection"] = "true"; },
       "wrong_type", "payload.quarantine_inspection"},
      {"missing valid until", t, p, [](auto& o) { o.erase("declaration_valid_until"); },
       "missing_field", "payload.declaration_valid_until"},
      {"deadline without zone", t, p,
       [](auto& o) { o["freshness_deadline"] = "2026-11-29T01:00:00"; }, "invalid_timestamp",
       "payload.freshness_deadline"},
  });
}

TEST(MessagesTest, CapacityAnnouncementIsStrict) {
  const MessageType t = MessageType::kCapacityAnnouncement;
  const json::object p = Encode(SampleCapacity());
  auto entry = [](json::object& o, size_t i) -> json::object& {
    return o["entries"].as_array()[i].as_object();
  };
  ExpectRefused({
      {"unknown", t, p, [](auto& o) { o["to"] = "x"; }, "unknown_field", "payload.to"},
      {"not whole hour", t, p, [](auto& o) { o["from"] = "2026-11-29T01:30:00Z"; }, "invalid_value",
       "payload.from"},
      {"no entries", t, p, [](auto& o) { o["entries"] = json::array(); }, "wrong_item_count",
       "payload.entries"},
      {"entry unknown field", t, p, [&](auto& o) { entry(o, 1)["lanes"] = 2; }, "unknown_field",
       "payload.entries[1].lanes"},
      {"entry not an object", t, p, [](auto& o) { o["entries"].as_array()[0] = 3; }, "wrong_type",
       "payload.entries[0]"},
      {"duplicate lane class", t, p, [&](auto& o) { entry(o, 1)["lane_class"] = "perishable"; },
       "duplicate_lane_class", "payload.entries[1].lane_class"},
      {"73 hours", t, p,
       [&](auto& o) { entry(o, 0)["trucks_per_hour"] = json::array(73, json::value(1)); },
       "wrong_item_count", "payload.entries[0].trucks_per_hour"},
      {"negative rate", t, p, [&](auto& o) { entry(o, 0)["trucks_per_hour"].as_array()[2] = -1; },
       "out_of_range", "payload.entries[0].trucks_per_hour[2]"},
      {"huge rate", t, p, [&](auto& o) { entry(o, 0)["trucks_per_hour"].as_array()[0] = 1e6; },
       "out_of_range", "payload.entries[0].trucks_per_hour[0]"},
      {"string rate", t, p, [&](auto& o) { entry(o, 0)["trucks_per_hour"].as_array()[1] = "12"; },
       "wrong_type", "payload.entries[0].trucks_per_hour[1]"},
  });
  json::object max = p;
  max["entries"].as_array()[0].as_object()["trucks_per_hour"] = json::array(72, json::value(1));
  EXPECT_TRUE(DecodeCapacityAnnouncement(max));
}

TEST(MessagesTest, InspectionResultIsStrict) {
  const MessageType t = MessageType::kInspectionResult;
  const json::object p = Encode(SampleInspection());
  ExpectRefused({
      {"unknown", t, p, [](auto& o) { o["officer"] = "x"; }, "unknown_field", "payload.officer"},
      {"bad kind", t, p, [](auto& o) { o["kind"] = "weighbridge"; }, "invalid_value",
       "payload.kind"},
      {"documents with finding", t, p, [](auto& o) { o["kind"] = "documents"; }, "invalid_value",
       "payload.outcome"},
      {"inspection with ok", t, p,
       [](auto& o) {
         o["outcome"] = "ok";
         o.erase("finding_type");
       },
       "invalid_value", "payload.outcome"},
      {"finding without type", t, p, [](auto& o) { o.erase("finding_type"); }, "missing_field",
       "payload.finding_type"},
      {"type without finding", t, p, [](auto& o) { o["outcome"] = "no_finding"; },
       "unexpected_field", "payload.finding_type"},
      {"long finding type", t, p, [](auto& o) { o["finding_type"] = std::string(65, 'f'); },
       "field_too_long", "payload.finding_type"},
      {"bad channel", t, p, [](auto& o) { o["channel"] = "blue"; }, "invalid_value",
       "payload.channel"},
      {"bad seal state", t, p, [](auto& o) { o["seal_state"] = "missing"; }, "invalid_value",
       "payload.seal_state"},
      {"long seal number", t, p, [](auto& o) { o["seal_number"] = std::string(33, '1'); },
       "field_too_long", "payload.seal_number"},
      {"long note", t, p, [](auto& o) { o["note"] = std::string(1001, 'n'); }, "field_too_long",
       "payload.note"},
      {"missing at", t, p, [](auto& o) { o.erase("at"); }, "missing_field", "payload.at"},
  });
  json::object longest = p;
  longest["note"] = std::string(1000, 'n');
  EXPECT_TRUE(DecodeInspectionResult(longest));
}

TEST(MessagesTest, SmallMessagesAreStrict) {
  ExpectRefused({
      {"release unknown", MessageType::kReleaseNotice, Encode(ReleaseNotice{"CR-1", T0(), "red"}),
       [](auto& o) { o["lane"] = 1; }, "unknown_field", "payload.lane"},
      {"release channel", MessageType::kReleaseNotice, Encode(ReleaseNotice{"CR-1", T0(), "red"}),
       [](auto& o) { o["channel"] = "none"; }, "invalid_value", "payload.channel"},
      {"handover seal state", MessageType::kHandover, Encode(Handover{"CR-1", T0(), "S", "intact"}),
       [](auto& o) { o["seal_state"] = ""; }, "field_too_short", "payload.seal_state"},
      {"handover unknown", MessageType::kHandover, Encode(Handover{"CR-1", T0(), "", ""}),
       [](auto& o) { o["x"] = 1; }, "unknown_field", "payload.x"},
      {"receipt missing time", MessageType::kReceipt, Encode(Receipt{"CR-1", T0()}),
       [](auto& o) { o.erase("received_at"); }, "missing_field", "payload.received_at"},
      {"cancellation empty reason", MessageType::kCancellation,
       Encode(Cancellation{"CR-1", "r", T0()}), [](auto& o) { o["reason"] = ""; },
       "field_too_short", "payload.reason"},
      {"cancellation long reason", MessageType::kCancellation,
       Encode(Cancellation{"CR-1", "r", T0()}),
       [](auto& o) { o["reason"] = std::string(1001, 'r'); }, "field_too_long", "payload.reason"},
  });
}

TEST(MessagesTest, AckIsStrict) {
  const MessageType t = MessageType::kAck;
  const json::object p = Encode(SampleAck());
  auto item = [](json::object& o, size_t i) -> json::object& {
    return o["items"].as_array()[i].as_object();
  };
  ExpectRefused({
      {"unknown", t, p, [](auto& o) { o["batch"] = 1; }, "unknown_field", "payload.batch"},
      {"item unknown", t, p, [&](auto& o) { item(o, 1)["retry"] = true; }, "unknown_field",
       "payload.items[1].retry"},
      {"bad status", t, p, [&](auto& o) { item(o, 0)["status"] = "ok"; }, "invalid_value",
       "payload.items[0].status"},
      {"rejected without code", t, p, [&](auto& o) { item(o, 2).erase("code"); }, "missing_field",
       "payload.items[2].code"},
      {"long id", t, p, [&](auto& o) { item(o, 0)["id"] = std::string(257, 'i'); },
       "field_too_long", "payload.items[0].id"},
      {"too many", t, p, [&](auto& o) { o["items"] = json::array(513, json::value(item(o, 0))); },
       "wrong_item_count", "payload.items"},
  });
}

}  // namespace
}  // namespace borderflow
