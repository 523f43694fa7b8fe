#pragma once

// Test data shared by the store tests (store_contract_test.cpp, sqlite/sqlite_store_test.cpp):
// fully populated crossings, audit drafts, users, and a check of the whole audit chain.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/store.h>

namespace borderflow::store_test {

inline const Timestamp kT0 = FromUnixMillis(1'795'000'000'123);  // 2026-11-17, ms precision

inline std::shared_ptr<const HsNomenclature> Hs() { return HsNomenclature::Hs2022(); }

inline Plate MustPlate(std::string_view text) {
  auto p = ParsePlate(text);
  EXPECT_TRUE(p.has_value()) << text << ": " << p.error().ToString();
  return p ? *p : Plate{};
}

inline HsCode MustHs(std::string_view code) {
  auto h = Hs()->Validate(code);
  EXPECT_TRUE(h.has_value()) << code << ": " << h.error().ToString();
  return h ? *h : HsCode{};
}

struct CrossingSpec {
  std::string id;
  std::string company = "CO-HUU-NGHI";
  std::string plate = "12C-123.45";
  CrossingState state = CrossingState::kDeclared;
  std::string direction = "vn_to_cn";
  std::string lane_class = "perishable";
};

// A fully populated, valid crossing (every optional part present) so that round trips cover the
// whole document.
inline Crossing MakeCrossing(const CrossingSpec& spec) {
  using std::chrono::hours;
  Crossing c;
  c.id = spec.id;
  c.company_id = spec.company;
  c.declared_by = "U0000000000000001";
  Declaration& d = c.declaration;
  d.direction = spec.direction;
  d.lane_class = spec.lane_class;
  d.vehicle.plate = MustPlate(spec.plate);
  d.vehicle.trailer_plate = MustPlate("12R-012.34");
  d.vehicle.container_number = "MSKU9070323";
  d.vehicle.seal_number = "SEAL-0042";
  d.driver = Driver{"Nguyen Van An", "B1234567", "VN", "+84912345678"};
  ConsignmentLine durian;
  durian.hs = MustHs("081060");  // durians
  durian.description = "Fresh durian, Ri6";
  durian.packages = 800;
  durian.gross_weight_grams = 16'500'250;
  durian.value = Money{4'200'050, "USD"};
  durian.origin_country = "VN";
  ConsignmentLine other;
  other.hs = MustHs("081090");  // other fresh fruit (longans)
  other.description = "Fresh longan";
  other.packages = 120;
  other.gross_weight_grams = 2'400'000;
  other.value = Money{360'000, "USD"};
  other.origin_country = "VN";
  d.lines = {durian, other};
  d.freshness_deadline = kT0 + hours(48);
  d.documents = Documents{"CD-305123456789", "EPHYTO-VN-2026-000123", "E-VN-2026-0042"};
  c.declaration_valid_until = kT0 + hours(72);
  c.state = spec.state;
  c.channel = Channel::kNone;
  c.version = 1;
  c.created_at = kT0;
  c.updated_at = kT0;
  return c;
}

inline Crossing MakeCrossing(std::string id) {
  CrossingSpec spec;
  spec.id = std::move(id);
  return MakeCrossing(spec);
}

inline std::string Json(const Crossing& c) { return ToJsonText(EncodeCrossing(c)); }

inline AuditDraft Draft(std::string subject_id, std::string action, int n = 0) {
  AuditDraft d;
  d.at = kT0 + std::chrono::minutes(n);
  d.actor_id = "U0000000000000001";
  d.actor_role = "forwarder";
  d.subject_type = "crossing";
  d.subject_id = std::move(subject_id);
  d.action = std::move(action);
  d.body = fmt::format(R"({{"n":{}}})", n);
  return d;
}

inline UserRecord MakeUser(std::string id, std::string name, Role role = Role::kGateOperator,
                           std::string company = "") {
  return UserRecord{std::move(id), std::move(name), role, std::move(company), kT0};
}

// Checks the whole trail: seqs 1..n without gaps, each prev_hash the previous hash, each hash
// recomputable, and VerifyAuditChain over small pages.
inline void ExpectChainIntact(Store& store, int64_t expected_records) {
  auto all = store.ReadAudit(0, 10000);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(static_cast<int64_t>(all->size()), expected_records);
  std::string prev = kGenesisHash;
  for (size_t i = 0; i < all->size(); ++i) {
    const AuditRecord& r = (*all)[i];
    EXPECT_EQ(r.seq, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(r.prev_hash, prev) << "seq " << r.seq;
    EXPECT_EQ(r.hash, AuditHash(r)) << "seq " << r.seq;
    prev = r.hash;
  }
  auto verified = VerifyAuditChain(
      [&](int64_t after) { return store.ReadAudit(after, 2); });  // small pages on purpose
  ASSERT_TRUE(verified.has_value());
  EXPECT_TRUE(verified->ok) << verified->reason;
  EXPECT_EQ(verified->records, expected_records);
}

}  // namespace borderflow::store_test
