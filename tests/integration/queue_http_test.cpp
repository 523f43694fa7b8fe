// The electronic queue over HTTP: bad input gets a clear 4xx problem and changes nothing;
// company scoping of the new endpoints; the public wait board; plate reads; capacity changes
// with their re-plan; and a restart that keeps bookings, bans, capacity changes and pending
// plate reads.

#include <fmt/format.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

namespace json = boost::json;

std::string Text(const json::value& v, std::string_view key) {
  const json::value* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
}

// A declaration body like TestNode::DurianDeclaration, in the general-cargo lane unless told,
// with optional extra top-level fields (`extra` is JSON members without braces).
std::string CargoDeclaration(std::string_view plate, std::string_view lane_class = "general_cargo",
                             std::string_view extra = "") {
  return fmt::format(R"({{
    "direction": "VN-CN",
    "lane_class": "{}",
    "vehicle": {{"plate": "{}", "container_number": "CSQU3054383"}},
    "driver": {{"name": "Nguyen Van An", "document_number": "B1234567", "nationality": "VN"}},
    "lines": [{{"hs_code": "0810.60", "description": "Fresh durian", "packages": 800,
                "gross_weight_kg": 16000, "value": {{"amount": "48000.00", "currency": "USD"}},
                "origin_country": "VN"}}],
    "freshness_deadline": "2026-11-30T20:00:00+07:00"{}{}
  }})",
                     lane_class, plate, extra.empty() ? "" : ",", extra);
}

class QueueHttpTest : public ::testing::Test {
 protected:
  // Declares (as `user`) and assesses green; returns the crossing id.
  std::string Assessed(std::string_view plate, std::string_view user = "fwd-a") {
    std::string id = node_.Declare(user, plate);
    ApiReply r = node_.Event(id, "assess", "customs", R"({"channel": "green"})");
    EXPECT_EQ(r.status, 200) << r.raw;
    return id;
  }
  std::string Booked(std::string_view plate, std::string_view user = "fwd-a",
                     std::string_view slot = "") {
    std::string id = Assessed(plate, user);
    std::string data = slot.empty() ? "{}" : fmt::format(R"({{"slot": "{}"}})", slot);
    ApiReply r = node_.Event(id, "book", user, data);
    EXPECT_EQ(r.status, 200) << r.raw;
    return id;
  }
  json::value Get(const std::string& id, std::string_view user = "operator") {
    ApiReply r = node_.Call("GET", "/api/v1/crossings/" + id, user);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }
  // The crossing's state and version, as a refused request must leave them.
  std::string StateOf(const std::string& id) {
    json::value c = Get(id);
    return fmt::format(
        "{} v{}", Text(c, "state"),
        c.is_object() && c.as_object().contains("version") ? c.at("version").as_int64() : -1);
  }

  // `r` is a problem with `status` and `code`, and nothing was recorded since `audit_before`.
  void ExpectRefused(const ApiReply& r, int status, std::string_view code, int64_t audit_before) {
    EXPECT_EQ(r.status, status) << r.raw;
    EXPECT_EQ(r.Code(), code) << r.raw;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.raw;
    EXPECT_FALSE(Text(r.body, "detail").empty()) << r.raw;
    EXPECT_EQ(node_.AuditCount(), audit_before) << "a refused request recorded something";
  }

  TestNode node_;
};

TEST_F(QueueHttpTest, BookingRefusalsAreClearAndChangeNothing) {
  std::string id = node_.Declare("fwd-a", "12C-123.45");
  int64_t audit = node_.AuditCount();

  // Not assessed yet.
  ExpectRefused(node_.Event(id, "book", "fwd-a"), 409, "invalid_transition", audit);
  EXPECT_EQ(StateOf(id), "declared v1");

  ASSERT_EQ(node_.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  audit = node_.AuditCount();
  // Outside the 72-hour horizon, before the current bucket, in a closed bucket (Vietnam closes
  // at 23:00), and not a time at all.
  ApiReply far = node_.Event(id, "book", "fwd-a", R"({"slot": "2026-12-02T09:00:00+07:00"})");
  ExpectRefused(far, 422, "slot_outside_horizon", audit);
  EXPECT_EQ(Text(far.body, "field"), "data.slot");
  ExpectRefused(node_.Event(id, "book", "fwd-a", R"({"slot": "2026-11-29T07:00:00+07:00"})"), 422,
                "slot_outside_horizon", audit);
  ApiReply closed = node_.Event(id, "book", "fwd-a", R"({"slot": "2026-11-29T23:30:00+07:00"})");
  ExpectRefused(closed, 409, "slot_closed", audit);
  EXPECT_NE(Text(closed.body, "detail").find("self_closed"), std::string::npos) << closed.raw;
  ExpectRefused(node_.Event(id, "book", "fwd-a", R"({"slot": "tomorrow"})"), 400,
                "invalid_timestamp", audit);
  EXPECT_EQ(StateOf(id), "assessed v2");

  // A good booking.
  ApiReply booked = node_.Event(id, "book", "fwd-a", R"({"slot": "2026-11-29T09:00:00+07:00"})");
  ASSERT_EQ(booked.status, 200) << booked.raw;
  EXPECT_EQ(Text(booked.body.at("crossing").at("queue"), "booked_slot_local"),
            "2026-11-29T09:00:00+07:00");

  // A second booking for the same plate, through another crossing.
  std::string again = Assessed("12C-123.45");
  audit = node_.AuditCount();
  ApiReply second = node_.Event(again, "book", "fwd-a");
  ExpectRefused(second, 409, "plate_already_booked", audit);
  EXPECT_NE(Text(second.body, "detail").find(id), std::string::npos) << second.raw;
  EXPECT_EQ(StateOf(again), "assessed v2");
  EXPECT_EQ(StateOf(id), "booked v3");
}

TEST_F(QueueHttpTest, ExpiredDeclarationCannotBook) {
  ApiReply declared =
      node_.Call("POST", "/api/v1/crossings", "fwd-a",
                 CargoDeclaration("12C-222.22", "general_cargo",
                                  R"("declaration_valid_until": "2026-11-29T10:00:00+07:00")"));
  ASSERT_EQ(declared.status, 201) << declared.raw;
  std::string id = Text(declared.body, "id");
  ASSERT_EQ(node_.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  int64_t audit = node_.AuditCount();
  // Valid now, but not at the slot.
  ExpectRefused(node_.Event(id, "book", "fwd-a", R"({"slot": "2026-11-29T11:00:00+07:00"})"), 409,
                "declaration_expires_before_slot", audit);
  node_.clock().Advance(std::chrono::hours(2));  // 10:00 local: expired
  ApiReply r = node_.Event(id, "book", "fwd-a");
  ExpectRefused(r, 409, "declaration_expired", audit);
  EXPECT_NE(Text(r.body, "detail").find("declare again"), std::string::npos) << r.raw;
  EXPECT_EQ(StateOf(id), "assessed v2");
}

TEST_F(QueueHttpTest, OnlyTheDriverMayChangeAfterBooking) {
  std::string id = Booked("12C-123.45");
  const std::string slot = Text(Get(id).at("queue"), "booked_slot");
  ASSERT_FALSE(slot.empty());
  int64_t audit = node_.AuditCount();
  for (std::string_view body :
       {R"({"vehicle": {"plate": "12C-999.99"}})", R"({"plate": "12C-999.99"})",
        R"({"trailer_plate": "12R-001.23", "driver": {"name": "A", "document_number": "B1",
            "nationality": "VN"}})"}) {
    ApiReply r = node_.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a", body);
    ExpectRefused(r, 422, "plate_change_not_allowed", audit);
  }
  ApiReply unknown = node_.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                                R"({"driver": {"name": "A", "document_number": "B1",
                                    "nationality": "VN"}, "lane_class": "fresh_produce"})");
  ExpectRefused(unknown, 400, "unknown_field", audit);
  // The new driver is checked as in a declaration.
  ExpectRefused(node_.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                           R"({"driver": {"name": "A", "document_number": "B1",
                               "nationality": "XX"}})"),
                400, "invalid_country", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                           R"({"driver": {"name": "A\u001b[2J", "document_number": "B1",
                               "nationality": "VN"}})"),
                400, "control_character", audit);
  EXPECT_EQ(StateOf(id), "booked v3");

  ApiReply edited =
      node_.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                 R"({"driver": {"name": "Tran Van Binh", "document_number": "C7654321",
          "nationality": "VN"}, "expected_version": 3})");
  ASSERT_EQ(edited.status, 200) << edited.raw;
  EXPECT_EQ(node_.AuditCount(), audit + 1);
  json::value c = Get(id);
  EXPECT_EQ(Text(c, "state"), "booked");
  EXPECT_EQ(c.at("version").as_int64(), 4);
  EXPECT_EQ(Text(c.at("driver"), "name"), "Tran Van Binh");
  EXPECT_EQ(Text(c.at("vehicle").at("plate"), "display"), "12C-123.45");
  EXPECT_EQ(Text(c.at("queue"), "booked_slot"), slot);

  // A stale version is refused.
  audit = node_.AuditCount();
  ExpectRefused(node_.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                           R"({"driver": {"name": "X Y", "document_number": "C7654321",
                               "nationality": "VN"}, "expected_version": 3})"),
                409, "version_conflict", audit);
}

TEST(QueueHttpLimitTest, CompanyOverItsOpenBookingLimit) {
  TestNode node({}, {}, [](GateConfig& config) { config.queue.max_open_bookings_per_company = 2; });
  auto assessed = [&](std::string_view plate, std::string_view user) {
    std::string id = node.Declare(user, plate);
    EXPECT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
    return id;
  };
  std::string a1 = assessed("12C-100.01", "fwd-a");
  std::string a2 = assessed("12C-100.02", "fwd-a");
  std::string a3 = assessed("12C-100.03", "fwd-a");
  std::string b1 = assessed("12C-100.04", "fwd-b");
  ASSERT_EQ(node.Event(a1, "book", "fwd-a").status, 200);
  ASSERT_EQ(node.Event(a2, "book", "fwd-a").status, 200);
  int64_t audit = node.AuditCount();
  ApiReply over = node.Event(a3, "book", "fwd-a");
  EXPECT_EQ(over.status, 409) << over.raw;
  EXPECT_EQ(over.Code(), "booking_limit_reached");
  EXPECT_NE(Text(over.body, "detail").find("COMPANY-A"), std::string::npos) << over.raw;
  EXPECT_EQ(node.AuditCount(), audit);
  // The operator books for the company: the same limit.
  EXPECT_EQ(node.Event(a3, "book", "operator").Code(), "booking_limit_reached");
  // Another company is not affected; a rebooking within the limit moves the slot.
  EXPECT_EQ(node.Event(b1, "book", "fwd-b").status, 200);
  EXPECT_EQ(node.Event(a2, "book", "fwd-a", R"({"slot": "2026-11-29T12:00:00+07:00"})").status,
            200);
  // A cancelled booking frees a place.
  ASSERT_EQ(node.Event(a1, "cancel_booking", "fwd-a", R"({"reason": "plans changed"})").status,
            200);
  EXPECT_EQ(node.Event(a3, "book", "fwd-a").status, 200);
}

TEST_F(QueueHttpTest, BannedTruckCannotBook) {
  std::string id = Assessed("12C-123.45");
  int64_t audit = node_.AuditCount();
  // Only operators and administrators ban.
  ExpectRefused(node_.Call("POST", "/api/v1/bans", "fwd-a",
                           R"({"plate": "12C-123.45", "days": 14, "reason": "no-shows"})"),
                403, "role_not_allowed", audit);
  ExpectRefused(
      node_.Call("POST", "/api/v1/bans", "operator", R"({"plate": "12C-123.45", "days": 14})"), 400,
      "invalid_value", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/bans", "operator",
                           R"({"plate": "not a plate", "days": 14, "reason": "x"})"),
                400, "invalid_plate", audit);
  // A reason is words: not blank, and no control characters (an operator's terminal prints it).
  ExpectRefused(node_.Call("POST", "/api/v1/bans", "operator",
                           R"({"plate": "12C-123.45", "days": 14, "reason": "   "})"),
                400, "invalid_value", audit);
  ApiReply escape = node_.Call("POST", "/api/v1/bans", "operator",
                               R"({"plate": "12C-123.45", "days": 14,
                                   "reason": "no-shows\u001b[2J\u0000"})");
  ExpectRefused(escape, 400, "control_character", audit);
  EXPECT_EQ(Text(escape.body, "field"), "reason") << escape.raw;
  ApiReply nested = node_.Call("POST", "/api/v1/capacity/changes", "operator",
                               R"({"kind": "closure", "direction": "VN-CN",
                                   "lane_class": "fresh_produce",
                                   "from": "2026-11-29T10:00:00+07:00",
                                   "until": "2026-11-29T10:30:00+07:00",
                                   "reason": "road\u0007works"})");
  ExpectRefused(nested, 400, "control_character", audit);
  ApiReply ban = node_.Call("POST", "/api/v1/bans", "operator",
                            R"({"plate": "12C-123.45", "days": 14, "reason": "three no-shows"})");
  ASSERT_EQ(ban.status, 200) << ban.raw;
  EXPECT_EQ(Text(ban.body, "until"), "2026-12-13T01:00:00.000Z");

  audit = node_.AuditCount();
  ApiReply refused = node_.Event(id, "book", "fwd-a");
  ExpectRefused(refused, 403, "truck_banned", audit);
  EXPECT_NE(Text(refused.body, "detail").find("three no-shows"), std::string::npos);
  EXPECT_EQ(StateOf(id), "assessed v2");

  ApiReply bans = node_.Call("GET", "/api/v1/bans", "operator");
  ASSERT_EQ(bans.status, 200) << bans.raw;
  ASSERT_EQ(bans.body.at("bans").as_array().size(), 1u);
  EXPECT_EQ(Text(bans.body.at("bans").at(0), "plate"), "12C12345");
  EXPECT_EQ(node_.Call("GET", "/api/v1/bans", "fwd-a").status, 403);
}

TEST_F(QueueHttpTest, OtherCompanySeesNothingThroughTheQueueEndpoints) {
  std::string id = Booked("12C-123.45", "fwd-a");
  int64_t audit = node_.AuditCount();
  EXPECT_EQ(node_.Call("GET", "/api/v1/crossings/" + id, "fwd-b").status, 404);
  ApiReply driver = node_.Call(
      "POST", "/api/v1/crossings/" + id + "/driver", "fwd-b",
      R"({"driver": {"name": "Someone Else", "document_number": "Z1", "nationality": "CN"}})");
  ExpectRefused(driver, 404, "crossing_not_found", audit);
  ExpectRefused(node_.Event(id, "book", "fwd-b", R"({"slot": "2026-11-29T12:00:00+07:00"})"), 404,
                "crossing_not_found", audit);
  ExpectRefused(node_.Event(id, "cancel_booking", "fwd-b"), 404, "crossing_not_found", audit);
  // The staff views are not for forwarders at all.
  EXPECT_EQ(node_.Call("GET", "/api/v1/queue", "fwd-b").status, 403);
  EXPECT_EQ(node_.Call("GET", "/api/v1/plate-reads", "fwd-b").status, 403);
  ExpectRefused(node_.Call("POST", "/api/v1/queue/call-next", "fwd-b",
                           R"({"direction": "VN-CN", "lane_class": "fresh_produce"})"),
                403, "role_not_allowed", audit);
  // The owner still sees its truck with its expected call.
  json::value own = Get(id, "fwd-a");
  EXPECT_EQ(Text(own, "state"), "booked");
  ASSERT_TRUE(own.as_object().contains("expected_call")) << own;
  EXPECT_EQ(Text(own.at("expected_call"), "reason"), "booked_slot");
}

TEST_F(QueueHttpTest, PublicSeesTheWaitBoardButNotTheQueue) {
  std::string booked = Booked("12C-123.45", "fwd-a");
  std::string waiting = Assessed("12C-678.90", "fwd-b");
  ASSERT_EQ(node_.Event(waiting, "enter_yard", "camera").status, 200);

  ApiReply board = node_.Call("GET", "/api/v1/wait-board", "");
  ASSERT_EQ(board.status, 200) << board.raw;
  EXPECT_EQ(board.Header("cache-control"), "public, max-age=15");
  for (std::string_view secret : {"12C", "123.45", "COMPANY-A", "COMPANY-B", "CR-", "plate"}) {
    EXPECT_EQ(board.raw.find(secret), std::string::npos) << secret << " in " << board.raw;
  }
  const json::array& lanes = board.body.at("lanes").as_array();
  ASSERT_EQ(lanes.size(), 6u);  // every direction x lane class with lanes
  bool found = false;
  for (const auto& lane : lanes) {
    if (Text(lane, "direction") != "VN-CN" || Text(lane, "lane_class") != "fresh_produce") {
      continue;
    }
    found = true;
    EXPECT_EQ(lane.at("waiting").as_int64(), 1);
    EXPECT_EQ(lane.at("booked").as_int64(), 1);
    EXPECT_TRUE(lane.at("open").as_bool());
    EXPECT_TRUE(lane.at("expected_wait_minutes").is_int64()) << lane;
  }
  EXPECT_TRUE(found) << board.raw;

  ApiReply queue = node_.Call("GET", "/api/v1/queue", "");
  EXPECT_EQ(queue.status, 401) << queue.raw;
  EXPECT_EQ(queue.Code(), "authentication_required");
  EXPECT_EQ(node_.Call("GET", "/api/v1/plate-reads", "").status, 401);
  EXPECT_EQ(node_.Call("GET", "/api/v1/bans", "").status, 401);
  EXPECT_EQ(
      node_.Call("GET", "/api/v1/capacity?direction=VN-CN&lane_class=general_cargo", "").status,
      401);

  ApiReply staff =
      node_.Call("GET", "/api/v1/queue?direction=VN-CN&lane_class=fresh_produce", "operator");
  ASSERT_EQ(staff.status, 200) << staff.raw;
  const json::array& staff_lanes = staff.body.at("lanes").as_array();
  ASSERT_EQ(staff_lanes.size(), 1u);
  EXPECT_EQ(staff_lanes[0].at("planned_calls").as_int64(), 2);
  EXPECT_NE(staff.raw.find("12C-123.45"), std::string::npos) << "staff see plates";
  (void)booked;
}

TEST_F(QueueHttpTest, PlateReadEndpoints) {
  std::string t = Assessed("12C-123.45");
  std::string a = Assessed("12C-555.61");
  std::string b = Assessed("12C-555.62", "fwd-b");
  int64_t audit = node_.AuditCount();

  // Bad reads and wrong roles change nothing.
  ExpectRefused(node_.Call("POST", "/api/v1/plate-reads", "camera",
                           R"({"location": "parking", "text": "12C12345"})"),
                400, "invalid_value", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/plate-reads", "camera",
                           R"({"location": "gate", "text": "12C12345", "confidence": 1.5})"),
                400, "out_of_range", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/plate-reads", "camera",
                           R"({"location": "gate", "txt": "12C12345"})"),
                400, "unknown_field", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/plate-reads", "fwd-a",
                           R"({"location": "yard_entrance", "text": "12C12345"})"),
                403, "role_not_allowed", audit);

  // Two camera confusions: applied.
  ApiReply matched = node_.Call("POST", "/api/v1/plate-reads", "camera",
                                R"({"location": "yard_entrance", "camera": "yard-in-1",
                                    "text": "12C-I23.4S", "confidence": 0.9})");
  ASSERT_EQ(matched.status, 200) << matched.raw;
  EXPECT_EQ(Text(matched.body, "outcome"), "matched");
  EXPECT_EQ(Text(matched.body, "reason"), "2 camera confusions");
  EXPECT_EQ(Text(matched.body, "crossing_id"), t);
  EXPECT_EQ(Text(Get(t), "state"), "in_yard");

  // Ambiguous: waits for an operator.
  ApiReply ambiguous = node_.Call("POST", "/api/v1/plate-reads", "camera",
                                  R"({"location": "yard_entrance", "text": "12C-555.67"})");
  ASSERT_EQ(ambiguous.status, 202) << ambiguous.raw;
  EXPECT_EQ(Text(ambiguous.body, "outcome"), "ambiguous");
  std::string read_id = Text(ambiguous.body.at("read"), "id");
  ASSERT_TRUE(read_id.starts_with("PR-")) << ambiguous.raw;
  EXPECT_EQ(ambiguous.body.at("read").at("candidates").as_array().size(), 2u);
  EXPECT_EQ(Text(Get(a), "state"), "assessed");
  EXPECT_EQ(Text(Get(b), "state"), "assessed");

  ApiReply pending = node_.Call("GET", "/api/v1/plate-reads", "guard");
  ASSERT_EQ(pending.status, 200) << pending.raw;
  ASSERT_EQ(pending.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(Text(pending.body.at("items").at(0), "id"), read_id);
  EXPECT_EQ(pending.body.at("total").as_int64(), 1);

  // Reads wait until resolved; the list gives the oldest, a page at a time.
  std::vector<std::string> unknown_ids;
  for (int i = 0; i < 3; ++i) {
    node_.clock().Advance(std::chrono::seconds(1));
    ApiReply unknown = node_.Call(
        "POST", "/api/v1/plate-reads", "camera",
        R"({"location": "yard_entrance", "text": "99C-000.0)" + std::to_string(i) + R"("})");
    ASSERT_EQ(unknown.status, 202) << unknown.raw;
    unknown_ids.push_back(Text(unknown.body.at("read"), "id"));
  }
  ApiReply page = node_.Call("GET", "/api/v1/plate-reads?limit=2", "guard");
  ASSERT_EQ(page.status, 200) << page.raw;
  ASSERT_EQ(page.body.at("items").as_array().size(), 2u) << page.raw;
  EXPECT_EQ(Text(page.body.at("items").at(0), "id"), read_id);
  EXPECT_EQ(page.body.at("total").as_int64(), 4);
  EXPECT_EQ(node_.Call("GET", "/api/v1/plate-reads?limit=0", "guard").status, 400);
  for (const std::string& id : unknown_ids) {
    ApiReply dismissed = node_.Call("POST", "/api/v1/plate-reads/" + id + "/resolve", "operator",
                                    R"({"action": "dismiss"})");
    ASSERT_EQ(dismissed.status, 200) << dismissed.raw;
  }

  audit = node_.AuditCount();
  std::string resolve = "/api/v1/plate-reads/" + read_id + "/resolve";
  ExpectRefused(node_.Call("POST", resolve, "operator", R"({"action": "apply"})"), 400,
                "missing_field", audit);
  ExpectRefused(node_.Call("POST", resolve, "operator", R"({"action": "keep"})"), 400,
                "invalid_value", audit);
  ExpectRefused(node_.Call("POST", resolve, "operator",
                           R"({"action": "dismiss", "crossing_id": ")" + b + R"("})"),
                400, "unexpected_field", audit);
  ExpectRefused(node_.Call("POST", resolve, "camera",
                           R"({"action": "apply", "crossing_id": ")" + b + R"("})"),
                403, "role_not_allowed", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/plate-reads/PR-NOPE/resolve", "operator",
                           R"({"action": "dismiss"})"),
                404, "plate_read_not_found", audit);
  ApiReply applied =
      node_.Call("POST", resolve, "operator",
                 R"({"action": "apply", "crossing_id": ")" + b + R"(", "note": "seen on CCTV"})");
  ASSERT_EQ(applied.status, 200) << applied.raw;
  EXPECT_EQ(Text(applied.body, "crossing_id"), b);
  EXPECT_EQ(Text(Get(b), "state"), "in_yard");
  EXPECT_EQ(Text(Get(a), "state"), "assessed");
  EXPECT_EQ(node_.Call("GET", "/api/v1/plate-reads", "operator").body.at("items").as_array().size(),
            0u);

  // Called, then read at the gate.
  ApiReply call = node_.Call("POST", "/api/v1/queue/call-next", "operator",
                             R"({"direction": "VN-CN", "lane_class": "fresh_produce"})");
  ASSERT_EQ(call.status, 200) << call.raw;
  // t entered the yard first and is of the highest class (company A, perishable).
  EXPECT_EQ(Text(call.body, "called"), t);
  EXPECT_EQ(Text(call.body, "reason"), "fifo");
  ApiReply gate = node_.Call("POST", "/api/v1/plate-reads", "camera",
                             R"({"location": "gate", "text": "12C12345"})");
  ASSERT_EQ(gate.status, 200) << gate.raw;
  EXPECT_EQ(Text(Get(t), "state"), "at_gate");
}

TEST_F(QueueHttpTest, CapacityChangesReplanAndAreRoleChecked) {
  // Three trucks booked 10:00 (fresh produce VN->CN: 4 lanes x 15 min / 15 min = 4 a bucket).
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    ids.push_back(Booked(fmt::format("12C-100.0{}", i), "fwd-a", "2026-11-29T10:00:00+07:00"));
  }
  int64_t audit = node_.AuditCount();
  const std::string closure = R"({"kind": "closure", "direction": "VN-CN",
      "lane_class": "fresh_produce", "from": "2026-11-29T10:00:00+07:00",
      "until": "2026-11-29T10:30:00+07:00", "reason": "road works"})";

  // A counterpart token (the other country's node) is refused: it acts through signed link
  // messages only. A forwarder may not close the gate.
  ExpectRefused(node_.Call("POST", "/api/v1/capacity/changes", "counterpart", closure), 403,
                "role_not_allowed", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/capacity/changes", "fwd-a", closure), 403,
                "role_not_allowed", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/capacity/changes", "operator",
                           R"({"kind": "closure", "from": "2026-11-29T10:30:00+07:00",
                               "until": "2026-11-29T10:00:00+07:00"})"),
                400, "invalid_capacity_change", audit);
  for (const char* from : {"1970-01-01T00:00:00Z", "9999-01-01T00:00:00Z"}) {
    ExpectRefused(node_.Call("POST", "/api/v1/capacity/changes", "operator",
                             fmt::format(R"({{"kind": "closure", "direction": "VN-CN",
                                 "lane_class": "fresh_produce", "from": "{}",
                                 "until": "{}", "reason": "typo"}})",
                                         from, std::string(from).replace(11, 2, "10"))),
                  400, "invalid_capacity_change", audit);
  }
  ExpectRefused(node_.Call("POST", "/api/v1/capacity/changes", "operator",
                           R"({"kind": "closure", "id": "CAP-MINE",
                               "from": "2026-11-29T10:00:00+07:00",
                               "until": "2026-11-29T10:30:00+07:00"})"),
                400, "unknown_field", audit);
  ExpectRefused(node_.Call("POST", "/api/v1/capacity/changes", "operator",
                           R"({"kind": "lanes", "direction": "VN-CN",
                               "lane_class": "fresh_produce",
                               "from": "2026-11-29T10:00:00+07:00",
                               "until": "2026-11-29T10:30:00+07:00"})"),
                400, "missing_field", audit);

  ApiReply closed = node_.Call("POST", "/api/v1/capacity/changes", "operator", closure);
  ASSERT_EQ(closed.status, 201) << closed.raw;
  // The change, the re-plan, and one booking_moved record per booking that moved.
  EXPECT_EQ(node_.AuditCount(), audit + 2 + 3);
  std::string change_id = Text(closed.body.at("change"), "id");
  EXPECT_TRUE(change_id.starts_with("CAP-")) << closed.raw;
  EXPECT_EQ(Text(closed.body.at("change"), "created_by").empty(), false);
  const json::object& replan = closed.body.at("replan").as_object();
  EXPECT_EQ(replan.at("changed_count").as_int64(), 3) << closed.raw;
  for (const auto& entry : replan.at("changed").as_array()) {
    EXPECT_EQ(Text(entry, "reason"), "booking_moved") << entry;
    EXPECT_NE(std::find(ids.begin(), ids.end(), Text(entry, "crossing_id")), ids.end());
    // Out of the closure: 10:30 local (03:30Z) or later.
    EXPECT_GE(Text(entry, "to"), "2026-11-29T03:30:00.000Z") << entry;
    EXPECT_LT(Text(entry, "to"), "2026-11-29T03:45:00.000Z") << entry;
  }
  for (const auto& id : ids) {
    json::value c = Get(id, "fwd-a");
    // The booking itself moved to the first bucket after the closure.
    EXPECT_EQ(Text(c.at("expected_call"), "reason"), "booked_slot") << c;
    EXPECT_EQ(Text(c.at("queue"), "booked_slot_local"), "2026-11-29T10:30:00+07:00") << c;
  }

  // The counterpart's acceptance rate, as announced (by telephone, say) and entered by the
  // operator, is accepted and re-plans too (nothing moves here: 60 an hour is more than this
  // side clears). Its signed announcement over the link is in link_test.
  audit = node_.AuditCount();
  ApiReply acceptance =
      node_.Call("POST", "/api/v1/capacity/changes", "operator",
                 R"({"kind": "acceptance", "direction": "VN-CN", "lane_class": "fresh_produce",
                     "trucks_per_hour": 60, "from": "2026-11-29T09:00:00+07:00",
                     "until": "2026-11-29T18:00:00+07:00"})");
  ASSERT_EQ(acceptance.status, 201) << acceptance.raw;
  EXPECT_EQ(acceptance.body.at("replan").at("changed_count").as_int64(), 0) << acceptance.raw;
  EXPECT_EQ(node_.AuditCount(), audit + 2);

  EXPECT_EQ(node_.Call("GET", "/api/v1/capacity/changes", "counterpart").status, 403);
  ApiReply changes = node_.Call("GET", "/api/v1/capacity/changes", "operator");
  ASSERT_EQ(changes.status, 200) << changes.raw;
  ASSERT_EQ(changes.body.at("items").as_array().size(), 2u);
  EXPECT_EQ(Text(changes.body.at("items").at(0), "id"), change_id);
  EXPECT_EQ(node_.Call("GET", "/api/v1/capacity/changes", "fwd-a").status, 403);

  ApiReply buckets = node_.Call(
      "GET",
      "/api/v1/capacity?direction=VN-CN&lane_class=fresh_produce&from=2026-11-29T03:00:00Z"
      "&until=2026-11-29T04:00:00Z",
      "fwd-a");
  ASSERT_EQ(buckets.status, 200) << buckets.raw;
  const json::array& list = buckets.body.at("buckets").as_array();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].at("effective").as_int64(), 0);
  EXPECT_EQ(Text(list[0], "closed_reason"), "closure:" + change_id);
  EXPECT_EQ(list[2].at("planned").as_int64(), 3);  // 10:30 local
}

TEST(QueueHttpRestartTest, RestartKeepsBookingsBansChangesAndPendingReads) {
  TestNode node;
  std::string booked = node.Declare("fwd-a", "12C-123.45");
  ASSERT_EQ(node.Event(booked, "assess", "customs", R"({"channel": "green"})").status, 200);
  ASSERT_EQ(node.Event(booked, "book", "fwd-a", R"({"slot": "2026-11-29T10:00:00+07:00"})").status,
            200);
  std::string banned = node.Declare("fwd-b", "12C-678.90");
  ASSERT_EQ(node.Event(banned, "assess", "customs", R"({"channel": "green"})").status, 200);
  ASSERT_EQ(node.Call("POST", "/api/v1/bans", "operator",
                      R"({"plate": "12C-678.90", "days": 14, "reason": "no-shows"})")
                .status,
            200);
  ApiReply change = node.Call("POST", "/api/v1/capacity/changes", "operator",
                              R"({"kind": "lanes", "direction": "VN-CN",
                                  "lane_class": "fresh_produce", "lanes": 0,
                                  "from": "2026-11-29T10:00:00+07:00",
                                  "until": "2026-11-29T11:00:00+07:00"})");
  ASSERT_EQ(change.status, 201) << change.raw;
  EXPECT_EQ(change.body.at("replan").at("changed_count").as_int64(), 1);
  ApiReply read = node.Call("POST", "/api/v1/plate-reads", "camera",
                            R"({"location": "yard_entrance", "text": "99Z-999.99"})");
  ASSERT_EQ(read.status, 202) << read.raw;
  EXPECT_EQ(Text(read.body, "outcome"), "unknown");

  auto snapshot = [&] {
    return std::vector<std::string>{
        node.Call("GET", "/api/v1/crossings/" + booked, "operator").raw,
        node.Call("GET", "/api/v1/bans", "operator").raw,
        node.Call("GET", "/api/v1/capacity/changes", "operator").raw,
        node.Call("GET", "/api/v1/plate-reads", "operator").raw,
        node.Call("GET", "/api/v1/queue?direction=VN-CN&lane_class=fresh_produce", "operator").raw};
  };
  std::vector<std::string> before = snapshot();
  int64_t audit = node.AuditCount();
  node.Restart();
  std::vector<std::string> after = snapshot();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i], before[i]) << i;
  EXPECT_EQ(node.AuditCount(), audit);

  // And they still act: the ban refuses, the booking is planned after the lanes closure.
  ApiReply refused = node.Event(banned, "book", "fwd-b");
  EXPECT_EQ(refused.Code(), "truck_banned") << refused.raw;
  json::value c = node.Call("GET", "/api/v1/crossings/" + booked, "fwd-a").body;
  EXPECT_EQ(Text(c.at("expected_call"), "reason"), "booked_slot") << c;  // moved for good
  EXPECT_EQ(Text(c.at("expected_call"), "at"), "2026-11-29T11:00:00+07:00") << c;
  EXPECT_EQ(Text(c, "state"), "booked");
}

// A prediction is scored once, when the truck is called. A truck that misses its call and is
// called again is predicted anew when it goes back in the queue: its first prediction (made at
// the yard entrance, for 08:00) is not scored a second time against the second call (08:31).
// The wait board's lane `lane_class` of VN-CN.
json::value BoardLane(TestNode& node, std::string_view lane_class) {
  ApiReply board = node.Call("GET", "/api/v1/wait-board", "");
  EXPECT_EQ(board.status, 200) << board.raw;
  for (const auto& lane : board.body.at("lanes").as_array()) {
    if (Text(lane, "direction") == "VN-CN" && Text(lane, "lane_class") == lane_class) return lane;
  }
  ADD_FAILURE() << "no VN-CN " << lane_class << " on the board: " << board.raw;
  return json::object();
}

// An emergency closure or a stop of the counterpart's acceptance made "from now" holds at once
// for the running bucket: no call into the lane, and the board shows it closed.
TEST_F(QueueHttpTest, AChangeFromNowHoldsForTheRunningBucket) {
  for (std::string_view kind : {"closure", "acceptance"}) {
    SCOPED_TRACE(kind);
    TestNode node;
    node.clock().Advance(std::chrono::minutes(5));  // 08:05 local, inside the 08:00 bucket
    std::string id = node.Declare("fwd-a", "12C-123.45");
    ASSERT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
    ASSERT_EQ(node.Event(id, "enter_yard", "camera").status, 200);
    EXPECT_TRUE(BoardLane(node, "fresh_produce").at("open").as_bool());
    std::string change = fmt::format(
        R"({{"kind": "{}", "direction": "VN-CN", "lane_class": "fresh_produce",
             "from": "2026-11-29T08:05:00+07:00", "until": "2026-11-29T09:05:00+07:00",
             {} "reason": "accident"}})",
        kind, kind == "acceptance" ? R"("trucks_per_hour": 0,)" : "");
    ApiReply made = node.Call("POST", "/api/v1/capacity/changes", "operator", change);
    ASSERT_EQ(made.status, 201) << made.raw;

    const std::string lane = R"({"direction": "VN-CN", "lane_class": "fresh_produce"})";
    ApiReply call = node.Call("POST", "/api/v1/queue/call-next", "operator", lane);
    EXPECT_EQ(call.status, 409) << call.raw;
    EXPECT_EQ(call.Code(), "no_call_room") << call.raw;
    EXPECT_TRUE(node.Tick().at("called").as_array().empty());
    EXPECT_EQ(Text(node.Call("GET", "/api/v1/crossings/" + id, "operator").body, "state"),
              "in_yard");
    EXPECT_FALSE(BoardLane(node, "fresh_produce").at("open").as_bool());
    EXPECT_TRUE(BoardLane(node, "general_cargo").at("open").as_bool());
    ApiReply queue =
        node.Call("GET", "/api/v1/queue?direction=VN-CN&lane_class=fresh_produce", "operator");
    ASSERT_EQ(queue.status, 200) << queue.raw;
    EXPECT_EQ(queue.body.at("lanes").at(0).at("bucket").at("capacity").as_int64(), 0);

    // The bucket in which it ends is still held; the next one is open again.
    node.clock().Advance(std::chrono::minutes(60));  // 09:05
    EXPECT_TRUE(BoardLane(node, "fresh_produce").at("open").as_bool());
    EXPECT_EQ(node.Call("POST", "/api/v1/queue/call-next", "operator", lane).status, 409);
    node.clock().Advance(std::chrono::minutes(10));  // 09:15
    ApiReply later = node.Call("POST", "/api/v1/queue/call-next", "operator", lane);
    EXPECT_EQ(later.status, 200) << later.raw;
  }
}

// A lane is open on the board whenever it is open, also in a bucket whose capacity rounds to
// none (one general-cargo lane, 20 minutes a truck: 0, 1, 1, 1 trucks in an hour's buckets).
TEST_F(QueueHttpTest, WaitBoardShowsAnOpenLaneOpenWhateverTheBucketRoundsTo) {
  ApiReply made = node_.Call("POST", "/api/v1/capacity/changes", "operator",
                             R"({"kind": "lanes", "direction": "VN-CN",
                                 "lane_class": "general_cargo", "lanes": 1,
                                 "from": "2026-11-29T08:00:00+07:00",
                                 "until": "2026-11-29T12:00:00+07:00"})");
  ASSERT_EQ(made.status, 201) << made.raw;
  ApiReply queue =
      node_.Call("GET", "/api/v1/queue?direction=VN-CN&lane_class=general_cargo", "operator");
  ASSERT_EQ(queue.status, 200) << queue.raw;
  ASSERT_EQ(queue.body.at("lanes").at(0).at("bucket").at("capacity").as_int64(), 0);
  json::value lane = BoardLane(node_, "general_cargo");
  EXPECT_TRUE(lane.at("open").as_bool()) << lane;
  EXPECT_EQ(lane.at("capacity_next_hour").as_int64(), 3) << lane;
}

TEST_F(QueueHttpTest, EachPredictionIsScoredOnce) {
  std::string t = Assessed("12C-123.45");
  ASSERT_EQ(node_.Event(t, "enter_yard", "camera").status, 200);
  ApiReply call = node_.Call("POST", "/api/v1/queue/call-next", "operator",
                             R"({"direction": "VN-CN", "lane_class": "fresh_produce"})");
  ASSERT_EQ(call.status, 200) << call.raw;
  ApiReply first = node_.Call("GET", "/api/v1/queue/predictions", "");
  ASSERT_EQ(first.status, 200) << first.raw;
  EXPECT_EQ(first.body.at("count").as_int64(), 1);
  EXPECT_EQ(first.body.at("mean_abs_error_minutes").to_number<double>(), 0.0);

  node_.clock().Advance(std::chrono::minutes(31));
  json::object tick = node_.Tick();
  ASSERT_EQ(tick.at("requeued").as_array().size(), 1u) << tick;
  ASSERT_EQ(tick.at("called").as_array().size(), 1u) << tick;  // called again at once
  json::value c = Get(t);
  EXPECT_EQ(Text(c, "state"), "called");
  EXPECT_EQ(c.at("queue").at("requeues").as_int64(), 1);
  // Predicted at the requeue for the current bucket's first slot (08:30, already past: so
  // now, 08:31), and called at 08:31.
  EXPECT_EQ(Text(c.at("queue"), "predicted_call_at_local"), "2026-11-29T08:31:00+07:00") << c;
  EXPECT_EQ(Text(c.at("queue"), "predicted_at_local"), "2026-11-29T08:31:00+07:00") << c;

  ApiReply second = node_.Call("GET", "/api/v1/queue/predictions", "");
  // Errors 0 and 0 minutes (scoring the 08:00 prediction again would give 31).
  EXPECT_EQ(second.body.at("count").as_int64(), 2) << second.raw;
  EXPECT_EQ(second.body.at("mean_abs_error_minutes").to_number<double>(), 0.0) << second.raw;
  EXPECT_EQ(second.body.at("p90_abs_error_minutes").to_number<double>(), 0.0) << second.raw;
}

}  // namespace
}  // namespace borderflow::testing
