// EngineOptions::encode_crossing_documents off (the twin on a MemoryStore) changes nothing but
// the store's documents and the text of crossing events' results: the same commands give the
// same results, crossings, audit trail (records, bodies and hashes) and stored crossings as with
// documents encoded.

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/store/memory_store.h>

#include "engine_internal.h"
#include "test_fixtures.h"

namespace borderflow {
namespace {

namespace json = boost::json;

const Actor kForwarder{"U-FWD", "fwd", Role::kForwarder, "COMPANY-A"};
const Actor kCustoms{"U-CUSTOMS", "customs", Role::kCustomsOfficer, ""};
const Actor kCamera{"U-CAMERA", "camera", Role::kSensor, ""};
const Actor kGuard{"U-GUARD", "guard", Role::kBorderGuard, ""};

using testing::HuuNghi;

Declaration MakeDeclaration(int n) {
  return testing::MakeDeclaration(fmt::format("12C-123.{:02d}", n));
}

// One engine on its own MemoryStore, inline, without idempotency keys (as the twin runs it).
struct Node {
  explicit Node(bool documents)
      : engine(HuuNghi(), HsNomenclature::Hs2022(), store, clock, random,
               EngineOptions{.writer_thread = false,
                             .require_idempotency_keys = false,
                             .encode_crossing_documents = documents}) {}
  MemoryStore store;
  ManualClock clock{*ParseTimestamp("2026-11-29T01:00:00Z")};
  SeededRandom random{7};
  Engine engine;
};

// Everything of a result but its text, as text.
std::string Describe(const Result<CommandResult>& r) {
  if (!r) return "error " + r.error().ToString();
  std::string out = fmt::format("status {}\n", r->status);
  if (r->crossing) out += "crossing " + EncodeCrossingText(*r->crossing) + "\n";
  for (const SharedCrossing& c : r->changed) out += "changed " + EncodeCrossingText(*c) + "\n";
  for (const AuditRecord& a : r->records) {
    out += fmt::format("record {} {} {} {} {}\n", a.seq, a.action, a.subject_id, a.body, a.hash);
  }
  return out;
}

TEST(EngineDocuments, WithoutDocumentsTheSameCrossingsAndAuditTrail) {
  Node with(true), without(false);
  int commands = 0, events = 0;
  // Runs `body` on both engines; returns the result with documents.
  auto run = [&](const Actor& actor, CommandBody body) {
    ++commands;
    const bool is_event = std::holds_alternative<RecordCrossingEvent>(body);
    Result<CommandResult> a = with.engine.Execute(Command{actor, "", "", body});
    Result<CommandResult> b = without.engine.Execute(Command{actor, "", "", std::move(body)});
    EXPECT_EQ(Describe(a), Describe(b)) << "command " << commands;
    if (a && b && a->crossing && is_event) {
      ++events;
      // With documents, an event answers with the stored document; without, "{}".
      EXPECT_NE(a->body_text.find(with.engine.CrossingDocument(*a->crossing)), std::string::npos);
      EXPECT_EQ(b->body_text, "{}");
    }
    return a;
  };
  auto event = [&](const Actor& actor, const std::string& id, CrossingEventType type,
                   json::object data = {}) {
    return run(actor, RecordCrossingEvent{id, CrossingEvent{type, std::move(data)}, {}});
  };
  auto advance = [&](std::chrono::minutes by) {
    with.clock.Advance(by);
    without.clock.Advance(by);
  };

  std::vector<std::string> ids;
  for (int n = 0; n < 8; ++n) {
    auto declared = run(kForwarder, DeclareCrossing{MakeDeclaration(n)});
    ASSERT_TRUE(declared) << declared.error().ToString();
    const std::string id = declared->crossing->id;
    ids.push_back(id);
    ASSERT_TRUE(event(
        kCustoms, id, CrossingEventType::kAssess,
        json::object{{"channel", n % 3 == 0 ? "red" : "green"}, {"quarantine_inspection", false}}));
    if (n % 2 == 0) (void)event(kForwarder, id, CrossingEventType::kBook);
    ASSERT_TRUE(event(kCamera, id, CrossingEventType::kEnterYard));
    advance(std::chrono::minutes(4));
  }
  (void)event(kForwarder, ids[7], CrossingEventType::kCancel,
              json::object{{"reason", "load spoiled while waiting"}});
  for (int tick = 0; tick < 12; ++tick) {
    auto ticked = run(Actor::System(), QueueTick{});
    ASSERT_TRUE(ticked) << ticked.error().ToString();
    for (const SharedCrossing& called : ticked->changed) {
      const Crossing& c = *called;
      if (c.state != CrossingState::kCalled) continue;
      ASSERT_TRUE(event(kCamera, c.id, CrossingEventType::kArriveAtGate));
      if (c.channel == Channel::kRed) {
        ASSERT_TRUE(event(kCustoms, c.id, CrossingEventType::kStartInspection));
        ASSERT_TRUE(event(kCustoms, c.id, CrossingEventType::kRecordInspection,
                          json::object{{"outcome", "no_finding"}}));
      } else {
        ASSERT_TRUE(event(kCustoms, c.id, CrossingEventType::kCheckDocuments,
                          json::object{{"outcome", "ok"}}));
      }
      ASSERT_TRUE(event(kCustoms, c.id, CrossingEventType::kRelease));
      ASSERT_TRUE(event(kGuard, c.id, CrossingEventType::kCross));
    }
    advance(std::chrono::minutes(10));
  }
  EXPECT_GT(events, 40);  // the whole lifecycle ran

  auto a = with.store.ReadAudit(0, 10000);
  auto b = without.store.ReadAudit(0, 10000);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), b->size());
  EXPECT_GT(a->size(), 60u);
  for (size_t i = 0; i < a->size(); ++i) {
    const AuditRecord& x = (*a)[i];
    const AuditRecord& y = (*b)[i];
    EXPECT_EQ(std::tie(x.seq, x.at, x.actor_id, x.subject_id, x.action, x.body, x.hash),
              std::tie(y.seq, y.at, y.actor_id, y.subject_id, y.action, y.body, y.hash))
        << "record " << i;
  }
  for (const std::string& id : ids) {
    auto x = with.store.GetCrossing(id);
    auto y = without.store.GetCrossing(id);
    ASSERT_TRUE(x && y && *x && *y) << id;
    EXPECT_EQ(EncodeCrossingText(**x), EncodeCrossingText(**y)) << id;
  }
}

// The body of an event's audit record, written as text, against the object it stands for
// (built and written as Transition built it before, a member of `why` replacing one of the
// same name in place).
TEST(EngineDocuments, EventAuditBodyIsTheTextOfItsObject) {
  namespace json = boost::json;
  auto as_object = [](std::string_view type, std::string_view from, std::string_view to,
                      int64_t version, const json::object& data, const json::object& why) {
    json::object body{
        {"type", type}, {"from", from}, {"to", to}, {"version", version}, {"data", data}};
    for (const auto& kv : why) body[kv.key()] = kv.value();
    return ToJsonText(json::value(body));
  };
  const json::object data{{"plate_read", "AB 123 \"C\""}, {"camera", "yard-1"}};
  const std::vector<json::object> whys = {
      {},
      {{"policy", "smart"}, {"position", 3}, {"planned_bucket", "2026-11-30T10:15:00Z"}},
      {{"match", "exact"}, {"confidence", 0.97}},
      {{"assessment", json::object{{"summary", json::object{{"en", "green\n"}}}}}},
      {{"data", "replaced"}, {"extra", nullptr}},
      {{"reason", "x"}, {"version", 99}, {"type", json::array{1, 2}}},
  };
  for (const json::object& why : whys) {
    for (const json::object& d : {data, json::object{}}) {
      EXPECT_EQ(EventAuditBody("enter_yard", "assessed", "in_yard", 7, d, why),
                as_object("enter_yard", "assessed", "in_yard", 7, d, why))
          << ToJsonText(why);
    }
  }
  EXPECT_EQ(EventAuditBody("cross", "released", "crossed", 12, data, {}),
            R"({"type":"cross","from":"released","to":"crossed","version":12,)"
            R"("data":{"plate_read":"AB 123 \"C\"","camera":"yard-1"}})");
}

}  // namespace
}  // namespace borderflow
