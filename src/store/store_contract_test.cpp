// The Store contract (include/borderflow/engine/store.h), run against every backend: crossings,
// one savepoint per function of a batch, the audit chain, idempotency, users and tokens, records,
// lists and counts, concurrent readers. What only one backend has (SQLite's files, migrations,
// WAL, triggers) is tested beside it (sqlite/sqlite_store_test.cpp).
//
// To run the contract against another backend, add it to Backends(). The PostgreSQL cases run
// against BORDERFLOW_TEST_PG_URL (scripts/test.sh starts a throwaway cluster), each in a fresh
// schema; without it they are skipped (postgres/pg_test_support.h).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/engine/store.h>
#include <borderflow/store/memory_store.h>
#include <borderflow/store/postgres_store.h>
#include <borderflow/store/sqlite_store.h>

#include "postgres/pg_test_support.h"
#include "store_test_support.h"

namespace borderflow {
namespace {

namespace fs = std::filesystem;
using namespace store_test;  // NOLINT(build/namespaces): test data only
using std::chrono::hours;
using std::chrono::minutes;

// A backend under test.
struct StoreBackend {
  std::string name;  // the test name suffix: "Sqlite", "Memory"
  // Opens an empty store. A backend with files keeps them under `dir`, a fresh directory that
  // the fixture removes afterwards.
  std::function<Result<std::unique_ptr<Store>>(const fs::path& dir)> open;
  bool needs_postgres = false;  // skipped without BORDERFLOW_TEST_PG_URL
};

void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

std::vector<StoreBackend> Backends() {
  return {
      {"Sqlite",
       [](const fs::path& dir) -> Result<std::unique_ptr<Store>> {
         // Fewer read connections than ConcurrentReadsWhileWriting has reader threads, so that
         // the pool makes them wait.
         BF_ASSIGN_OR_RETURN(
             auto store,
             SqliteStore::Open(SqliteOptions{(dir / "borderflow.db").string(), 3, true}, Hs()));
         return std::unique_ptr<Store>(std::move(store));
       }},
      {"Memory",
       [](const fs::path&) -> Result<std::unique_ptr<Store>> {
         return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
       }},
      {"Postgres",
       [](const fs::path&) -> Result<std::unique_ptr<Store>> {
         // A fresh schema per test, dropped with the store; 3 readers as for SQLite.
         BF_ASSIGN_OR_RETURN(auto store, pg_test::OpenStore(Hs(), 3));
         return std::unique_ptr<Store>(std::move(store));
       },
       true},
  };
}

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    if (GetParam().needs_postgres && !pg_test::BaseUrl()) {
      if (pg_test::Required()) FAIL() << "BORDERFLOW_REQUIRE_PG=1: " << pg_test::kSkipMessage;
      GTEST_SKIP() << pg_test::kSkipMessage;
    }
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '_');
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           fmt::format("bf_store_contract_{}_{}_{:08x}", getpid(), test, rd());
    fs::create_directories(dir_);
    auto store = GetParam().open(dir_);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Status Write(const TxnFn& fn) { return store_->Write(fn); }

  void Insert(const Crossing& c) {
    auto s = Write([&](WriteTxn& txn) { return txn.InsertCrossing(c); });
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }

  std::vector<std::string> Ids(const CrossingFilter& f) {
    std::vector<std::string> out;
    auto page = store_->ListCrossings(f);
    EXPECT_TRUE(page.has_value()) << page.error().ToString();
    if (page) {
      for (const auto& c : page->items) out.push_back(c.id);
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

// --- Crossings --------------------------------------------------------------------------------

TEST_P(StoreContractTest, CrossingRoundTrip) {
  Crossing c = MakeCrossing("CR-0001");
  Insert(c);

  auto read = store_->GetCrossing("CR-0001");
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(Json(**read), Json(c));

  // Update: a state change with version + 1, read back inside the transaction and outside.
  Crossing next = c;
  next.state = CrossingState::kAssessed;
  next.channel = Channel::kYellow;
  next.quarantine_inspection = true;
  next.last_check = CheckResult{"documents", "ok", "all present", "officer.tran", kT0 + hours(1)};
  next.version = 2;
  next.updated_at = kT0 + hours(1);
  auto s = Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.UpdateCrossing(next, 1));
    BF_ASSIGN_OR_RETURN(auto inside, txn.GetCrossing("CR-0001"));
    if (!inside || Json(*inside) != Json(next)) return Internal("not visible inside the txn");
    return {};
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  read = store_->GetCrossing("CR-0001");
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ(Json(**read), Json(next));
  EXPECT_EQ((*read)->version, 2);
  EXPECT_EQ((*read)->state, CrossingState::kAssessed);

  auto missing = store_->GetCrossing("CR-9999");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(StoreContractTest, MinimalCrossingRoundTrip) {
  Crossing c = MakeCrossing("CR-EMPTY");
  c.declaration.vehicle.trailer_plate.reset();
  c.declaration.vehicle.container_number.reset();
  c.declaration.vehicle.seal_number.reset();
  c.declaration.freshness_deadline.reset();
  c.declaration.lines.clear();
  c.declaration.documents = {};
  c.declaration.driver.phone.clear();
  c.declaration.vehicle.plate = MustPlate("桂F·12345");
  Insert(c);
  auto read = store_->GetCrossing("CR-EMPTY");
  ASSERT_TRUE(read.has_value() && read->has_value()) << (read ? "" : read.error().ToString());
  EXPECT_EQ(Json(**read), Json(c));
}

TEST_P(StoreContractTest, UpdateReportsVersionConflictAndNotFound) {
  Crossing c = MakeCrossing("CR-0001");
  Insert(c);
  Crossing next = c;
  next.version = 2;
  next.state = CrossingState::kAssessed;

  auto conflict = Write([&](WriteTxn& txn) { return txn.UpdateCrossing(next, 7); });
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(conflict.error().code, "version_conflict");
  EXPECT_NE(conflict.error().message.find("expected version 7"), std::string::npos)
      << conflict.error().message;
  EXPECT_NE(conflict.error().message.find("stored version 1"), std::string::npos)
      << conflict.error().message;

  Crossing ghost = MakeCrossing("CR-GHOST");
  auto not_found = Write([&](WriteTxn& txn) { return txn.UpdateCrossing(ghost, 1); });
  ASSERT_FALSE(not_found.has_value());
  EXPECT_EQ(not_found.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(not_found.error().code, "crossing_not_found");

  // Nothing changed.
  auto read = store_->GetCrossing("CR-0001");
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ(Json(**read), Json(c));
}

TEST_P(StoreContractTest, InsertExistingCrossingConflicts) {
  Insert(MakeCrossing("CR-0001"));
  Crossing again = MakeCrossing("CR-0001");
  again.company_id = "OTHER";
  auto s = Write([&](WriteTxn& txn) { return txn.InsertCrossing(again); });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(s.error().code, "crossing_exists");
  auto read = store_->GetCrossing("CR-0001");
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ((*read)->company_id, "CO-HUU-NGHI");
}

// --- Batches and the audit chain --------------------------------------------------------------

TEST_P(StoreContractTest, EmptyBatchReturnsNothing) { EXPECT_TRUE(store_->WriteBatch({}).empty()); }

TEST_P(StoreContractTest, FailedFunctionInBatchLeavesNoTrace) {
  auto declare = [](std::string id, bool fail) -> TxnFn {
    return [id, fail](WriteTxn& txn) -> Status {
      BF_TRY(txn.InsertCrossing(MakeCrossing(id)));
      BF_ASSIGN_OR_RETURN(AuditRecord r, txn.AppendAudit(Draft(id, "declare")));
      BF_TRY(txn.PutIdempotency(IdempotencyRecord{"U1", "key-" + id, "fp", 201, "{}", kT0}));
      if (fail) return InvalidArgument("rule_refused", "refused by a rule");
      (void)r;
      return {};
    };
  };
  std::vector<TxnFn> batch = {declare("CR-1", false), declare("CR-2", true),
                              declare("CR-3", false)};
  std::vector<Status> results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].has_value()) << results[0].error().ToString();
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().code, "rule_refused");
  EXPECT_TRUE(results[2].has_value()) << results[2].error().ToString();

  auto one = store_->GetCrossing("CR-1");
  auto two = store_->GetCrossing("CR-2");
  auto three = store_->GetCrossing("CR-3");
  ASSERT_TRUE(one && two && three);
  EXPECT_TRUE(one->has_value());
  EXPECT_FALSE(two->has_value());
  EXPECT_TRUE(three->has_value());

  auto audit_two = store_->ListAuditFor("crossing", "CR-2", 10);
  ASSERT_TRUE(audit_two.has_value());
  EXPECT_TRUE(audit_two->empty());
  auto audit_three = store_->ListAuditFor("crossing", "CR-3", 10);
  ASSERT_TRUE(audit_three.has_value());
  ASSERT_EQ(audit_three->size(), 1u);
  EXPECT_EQ(audit_three->front().seq, 2);
  ExpectChainIntact(*store_, 2);

  auto idem = Write([&](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(auto two_key, txn.FindIdempotency("U1", "key-CR-2"));
    BF_ASSIGN_OR_RETURN(auto three_key, txn.FindIdempotency("U1", "key-CR-3"));
    if (two_key || !three_key) return Internal("idempotency records wrong");
    return {};
  });
  EXPECT_TRUE(idem.has_value()) << idem.error().ToString();

  // The next write continues the chain.
  auto next = Write([](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(AuditRecord r, txn.AppendAudit(Draft("CR-1", "assess", 1)));
    if (r.seq != 3) return Internal(fmt::format("seq {}", r.seq));
    return {};
  });
  EXPECT_TRUE(next.has_value()) << next.error().ToString();
  ExpectChainIntact(*store_, 3);
}

TEST_P(StoreContractTest, FailingFunctionAfterSeveralAppendsRestoresTheHead) {
  std::vector<TxnFn> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back([i](WriteTxn& txn) -> Status {
      for (int k = 0; k < 3; ++k) {
        BF_TRY(txn.AppendAudit(Draft(fmt::format("CR-{}", i), "event", k)));
      }
      if (i % 3 == 1) return Conflict("version_conflict", "simulated");
      return {};
    });
  }
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 10u);
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i].has_value(), i % 3 != 1) << i;
    ok += results[i].has_value() ? 1 : 0;
  }
  ExpectChainIntact(*store_, ok * 3);
}

TEST_P(StoreContractTest, ThrowingFunctionIsRolledBackAlone) {
  std::vector<TxnFn> batch = {
      [](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-1")); },
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertCrossing(MakeCrossing("CR-2")));
        BF_TRY(txn.AppendAudit(Draft("CR-2", "declare")));
        throw std::runtime_error("boom");
      },
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertCrossing(MakeCrossing("CR-3")));
        BF_TRY(txn.AppendAudit(Draft("CR-3", "declare")));
        return {};
      },
      TxnFn(),
  };
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].has_value());
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().kind, ErrorKind::kInternal);
  EXPECT_NE(results[1].error().message.find("boom"), std::string::npos);
  EXPECT_TRUE(results[2].has_value());
  EXPECT_FALSE(results[3].has_value());
  auto two = store_->GetCrossing("CR-2");
  ASSERT_TRUE(two.has_value());
  EXPECT_FALSE(two->has_value());
  ExpectChainIntact(*store_, 1);
}

TEST_P(StoreContractTest, ListAuditForOneSubjectOldestFirst) {
  auto s = Write([](WriteTxn& txn) -> Status {
    for (int i = 0; i < 6; ++i) {
      BF_TRY(txn.AppendAudit(Draft(i % 2 == 0 ? "CR-EVEN" : "CR-ODD", "event", i)));
    }
    return {};
  });
  ASSERT_TRUE(s.has_value());
  auto even = store_->ListAuditFor("crossing", "CR-EVEN", 10);
  ASSERT_TRUE(even.has_value());
  ASSERT_EQ(even->size(), 3u);
  EXPECT_EQ((*even)[0].seq, 1);
  EXPECT_EQ((*even)[1].seq, 3);
  EXPECT_EQ((*even)[2].seq, 5);
  auto limited = store_->ListAuditFor("crossing", "CR-EVEN", 2);
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->size(), 2u);
  auto other_type = store_->ListAuditFor("user", "CR-EVEN", 10);
  ASSERT_TRUE(other_type.has_value());
  EXPECT_TRUE(other_type->empty());
  auto none = store_->ReadAudit(0, 0);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

// --- Idempotency, users, tokens ---------------------------------------------------------------

TEST_P(StoreContractTest, IdempotencyPutAndFind) {
  IdempotencyRecord record{"U1", "8a7f-key", "sha256:abc", 201, R"({"id":"CR-1"})", kT0};
  ASSERT_TRUE(Write([&](WriteTxn& txn) { return txn.PutIdempotency(record); }).has_value());
  auto s = Write([&](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(auto found, txn.FindIdempotency("U1", "8a7f-key"));
    if (!found) return Internal("not found");
    EXPECT_EQ(found->scope, "U1");
    EXPECT_EQ(found->key, "8a7f-key");
    EXPECT_EQ(found->fingerprint, "sha256:abc");
    EXPECT_EQ(found->status, 201);
    EXPECT_EQ(found->response, R"({"id":"CR-1"})");
    EXPECT_EQ(found->created_at, kT0);
    BF_ASSIGN_OR_RETURN(auto other_scope, txn.FindIdempotency("U2", "8a7f-key"));
    EXPECT_FALSE(other_scope.has_value());
    BF_ASSIGN_OR_RETURN(auto other_key, txn.FindIdempotency("U1", "other"));
    EXPECT_FALSE(other_key.has_value());
    return {};
  });
  EXPECT_TRUE(s.has_value()) << s.error().ToString();
  auto again = Write([&](WriteTxn& txn) { return txn.PutIdempotency(record); });
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
}

TEST_P(StoreContractTest, UsersHaveUniqueNames) {
  ASSERT_TRUE(Write([](WriteTxn& txn) {
                return txn.InsertUser(MakeUser("U-B", "operator.le"));
              }).has_value());
  ASSERT_TRUE(Write([](WriteTxn& txn) {
                return txn.InsertUser(MakeUser("U-A", "forwarder.huu", Role::kForwarder, "CO-1"));
              }).has_value());
  auto dup = Write([](WriteTxn& txn) { return txn.InsertUser(MakeUser("U-C", "operator.le")); });
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(dup.error().code, "user_exists");

  auto by_id = store_->FindUserById("U-A");
  ASSERT_TRUE(by_id.has_value() && by_id->has_value());
  EXPECT_EQ((*by_id)->name, "forwarder.huu");
  EXPECT_EQ((*by_id)->role, Role::kForwarder);
  EXPECT_EQ((*by_id)->company_id, "CO-1");
  EXPECT_EQ((*by_id)->created_at, kT0);
  auto missing = store_->FindUserById("U-NONE");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  auto by_name = Write([](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(auto u, txn.FindUserByName("operator.le"));
    if (!u || u->id != "U-B" || u->role != Role::kGateOperator) return Internal("wrong user");
    BF_ASSIGN_OR_RETURN(auto none, txn.FindUserByName("nobody"));
    if (none) return Internal("found nobody");
    return {};
  });
  EXPECT_TRUE(by_name.has_value()) << by_name.error().ToString();

  auto users = store_->ListUsers();
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "forwarder.huu");
  EXPECT_EQ((*users)[1].name, "operator.le");
}

TEST_P(StoreContractTest, TokensInsertFindRevoke) {
  UserRecord user = MakeUser("U-A", "operator.le");
  TokenRecord token{"tok1", "U-A", std::string(64, 'a'), "laptop", kT0, kT0 + hours(24), {}};
  TokenRecord forever{"tok2", "U-A", std::string(64, 'b'), "camera", kT0, {}, {}};
  auto s = Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertUser(user));
    BF_TRY(txn.InsertToken(token));
    BF_TRY(txn.InsertToken(forever));
    return {};
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();

  auto found = store_->FindToken("tok1");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->user_id, "U-A");
  EXPECT_EQ((*found)->secret_hash, std::string(64, 'a'));
  EXPECT_EQ((*found)->label, "laptop");
  EXPECT_EQ((*found)->created_at, kT0);
  EXPECT_EQ((*found)->expires_at, kT0 + hours(24));
  EXPECT_FALSE((*found)->revoked_at.has_value());
  auto found2 = store_->FindToken("tok2");
  ASSERT_TRUE(found2.has_value() && found2->has_value());
  EXPECT_FALSE((*found2)->expires_at.has_value());

  ASSERT_TRUE(
      Write([](WriteTxn& txn) { return txn.RevokeToken("tok1", kT0 + hours(2)); }).has_value());
  // A second revocation keeps the first instant.
  ASSERT_TRUE(
      Write([](WriteTxn& txn) { return txn.RevokeToken("tok1", kT0 + hours(5)); }).has_value());
  found = store_->FindToken("tok1");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->revoked_at, kT0 + hours(2));

  auto unknown = Write([](WriteTxn& txn) { return txn.RevokeToken("nope", kT0); });
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(unknown.error().code, "token_not_found");

  auto missing = store_->FindToken("nope");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  // foreign_keys=ON: a token must belong to a user.
  TokenRecord orphan{"tok3", "U-NONE", std::string(64, 'c'), "x", kT0, {}, {}};
  auto fk = Write([&](WriteTxn& txn) { return txn.InsertToken(orphan); });
  ASSERT_FALSE(fk.has_value());
  EXPECT_EQ(fk.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(fk.error().code, "user_not_found");
}

// --- Lists and counts -------------------------------------------------------------------------

TEST_P(StoreContractTest, ListCrossingsPaginatesWithoutDuplicates) {
  std::vector<TxnFn> batch;
  for (int i = 5; i >= 1; --i) {  // inserted out of order: the list is ordered by id
    batch.push_back([i](WriteTxn& txn) {
      return txn.InsertCrossing(MakeCrossing(fmt::format("CR-{:04}", i)));
    });
  }
  for (const Status& s : store_->WriteBatch(batch)) ASSERT_TRUE(s.has_value());

  CrossingFilter filter;
  filter.limit = 2;
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    auto page = store_->ListCrossings(filter);
    ASSERT_TRUE(page.has_value()) << page.error().ToString();
    ++pages;
    ASSERT_LE(page->items.size(), 2u);
    for (const Crossing& c : page->items) seen.push_back(c.id);
    if (page->next_cursor.empty()) break;
    EXPECT_EQ(page->next_cursor, page->items.back().id);
    filter.after = page->next_cursor;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"CR-0001", "CR-0002", "CR-0003", "CR-0004", "CR-0005"}));

  // Exactly one page's worth: no cursor.
  CrossingFilter all;
  all.limit = 5;
  auto page = store_->ListCrossings(all);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->items.size(), 5u);
  EXPECT_TRUE(page->next_cursor.empty());

  // Limits are clamped to 1..200.
  CrossingFilter zero;
  zero.limit = 0;
  page = store_->ListCrossings(zero);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->next_cursor, "CR-0001");
  CrossingFilter huge;
  huge.limit = 100000;
  page = store_->ListCrossings(huge);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->items.size(), 5u);
}

TEST_P(StoreContractTest, ListCrossingsFilters) {
  std::vector<CrossingSpec> specs = {
      {"CR-1", "CO-A", "12C-123.45", CrossingState::kDeclared, "vn_to_cn", "perishable"},
      {"CR-2", "CO-A", "12C-234.56", CrossingState::kBooked, "vn_to_cn", "general"},
      {"CR-3", "CO-B", "12C-123.45", CrossingState::kBooked, "cn_to_vn", "general"},
      {"CR-4", "CO-B", "桂F·12345", CrossingState::kDeclared, "cn_to_vn", "perishable"},
      {"CR-5", "CO-A", "14C-987.65", CrossingState::kBooked, "vn_to_cn", "perishable"},
  };
  for (const auto& spec : specs) Insert(MakeCrossing(spec));

  auto ids = [&](const CrossingFilter& f) {
    std::vector<std::string> out;
    auto page = store_->ListCrossings(f);
    EXPECT_TRUE(page.has_value()) << page.error().ToString();
    if (page) {
      for (const auto& c : page->items) out.push_back(c.id);
    }
    return out;
  };
  using V = std::vector<std::string>;
  CrossingFilter f;
  f.company_id = "CO-A";
  EXPECT_EQ(ids(f), (V{"CR-1", "CR-2", "CR-5"}));
  f.state = CrossingState::kBooked;
  EXPECT_EQ(ids(f), (V{"CR-2", "CR-5"}));
  f.lane_class = "perishable";
  EXPECT_EQ(ids(f), (V{"CR-5"}));
  f.direction = "cn_to_vn";
  EXPECT_EQ(ids(f), V{});

  CrossingFilter by_plate;
  by_plate.plate = "12C12345";
  EXPECT_EQ(ids(by_plate), (V{"CR-1", "CR-3"}));
  by_plate.plate = "桂F12345";
  EXPECT_EQ(ids(by_plate), (V{"CR-4"}));

  CrossingFilter by_direction;
  by_direction.direction = "cn_to_vn";
  EXPECT_EQ(ids(by_direction), (V{"CR-3", "CR-4"}));
  by_direction.after = "CR-3";
  EXPECT_EQ(ids(by_direction), (V{"CR-4"}));

  // Filters and pagination together.
  CrossingFilter paged;
  paged.company_id = "CO-A";
  paged.limit = 2;
  auto first = store_->ListCrossings(paged);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->next_cursor, "CR-2");
  paged.after = first->next_cursor;
  auto second = store_->ListCrossings(paged);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, "CR-5");
  EXPECT_TRUE(second->next_cursor.empty());
}

// Drivers see the crossings that name them: the filter follows the declared driver's document
// number as inserted and as later changed (a forwarder edits the driver), and a driver user keeps
// their document.
TEST_P(StoreContractTest, ListCrossingsByDriverDocument) {
  auto with_driver = [](std::string id, std::string company, std::string document) {
    CrossingSpec spec;
    spec.id = std::move(id);
    spec.company = std::move(company);
    Crossing c = MakeCrossing(spec);
    c.declaration.driver.document_number = std::move(document);
    return c;
  };
  Insert(with_driver("CR-1", "CO-A", "B0004711"));
  Insert(with_driver("CR-2", "CO-A", "B0009999"));
  Insert(with_driver("CR-3", "CO-B", "B0004711"));
  Insert(with_driver("CR-4", "CO-A", "b0004711"));  // another number: compared as written
  using V = std::vector<std::string>;
  CrossingFilter f;
  f.company_id = "CO-A";
  f.driver_document = "B0004711";
  EXPECT_EQ(Ids(f), (V{"CR-1"}));
  f.company_id.reset();
  EXPECT_EQ(Ids(f), (V{"CR-1", "CR-3"}));
  f.company_id = "CO-A";
  f.driver_document = "";
  EXPECT_EQ(Ids(f), V{});

  Crossing moved = with_driver("CR-2", "CO-A", "B0004711");
  moved.version = 2;
  ASSERT_TRUE(Write([&](WriteTxn& txn) { return txn.UpdateCrossing(moved, 1); }).has_value());
  f.driver_document = "B0004711";
  EXPECT_EQ(Ids(f), (V{"CR-1", "CR-2"}));
  f.driver_document = "B0009999";
  EXPECT_EQ(Ids(f), V{});

  UserRecord driver = MakeUser("U-D", "an.driver", Role::kDriver, "CO-A");
  driver.driver_document = "B0004711";
  ASSERT_TRUE(Write([&](WriteTxn& txn) { return txn.InsertUser(driver); }).has_value());
  auto found = store_->FindUserById("U-D");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->driver_document, "B0004711");
  auto users = store_->ListUsers();
  ASSERT_TRUE(users.has_value() && users->size() == 1u);
  EXPECT_EQ((*users)[0].driver_document, "B0004711");
  EXPECT_EQ((*users)[0].ToActor().driver_document, "B0004711");
}

TEST_P(StoreContractTest, CountCrossingsGroupsByDirectionLaneClassAndState) {
  auto empty = store_->CountCrossings();
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());

  std::vector<CrossingSpec> specs = {
      {"CR-1", "CO-A", "12C-123.45", CrossingState::kDeclared, "vn_to_cn", "perishable"},
      {"CR-2", "CO-A", "12C-123.45", CrossingState::kDeclared, "vn_to_cn", "perishable"},
      {"CR-3", "CO-A", "12C-123.45", CrossingState::kInYard, "vn_to_cn", "perishable"},
      {"CR-4", "CO-A", "12C-123.45", CrossingState::kDeclared, "cn_to_vn", "general"},
  };
  for (const auto& spec : specs) Insert(MakeCrossing(spec));
  auto counts = store_->CountCrossings();
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  ASSERT_EQ(counts->size(), 3u);
  std::map<std::tuple<std::string, std::string, CrossingState>, int64_t> by_key;
  for (const auto& c : *counts) by_key[{c.direction, c.lane_class, c.state}] = c.count;
  EXPECT_EQ((by_key[{"vn_to_cn", "perishable", CrossingState::kDeclared}]), 2);
  EXPECT_EQ((by_key[{"vn_to_cn", "perishable", CrossingState::kInYard}]), 1);
  EXPECT_EQ((by_key[{"cn_to_vn", "general", CrossingState::kDeclared}]), 1);
}

// --- Concurrency -------------------------------------------------------------------------------

TEST_P(StoreContractTest, ConcurrentReadsWhileWriting) {
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 10;
  std::atomic<bool> done{false};
  std::atomic<int> read_errors{0};
  std::atomic<int64_t> reads{0};

  auto reader = [&] {
    size_t last_seen = 0;
    int64_t last_audit = 0;
    while (true) {
      const bool final_pass = done.load();
      CrossingFilter f;
      f.limit = 200;
      auto page = store_->ListCrossings(f);
      auto audit = store_->ReadAudit(0, 10000);
      auto one = store_->GetCrossing("CR-00000");
      if (!page || !audit || !one || !store_->Ping()) {
        ++read_errors;
        return;
      }
      // Committed data only, and never going backwards: each batch adds crossings and audit
      // records together, and the audit read comes after the list read.
      if (page->items.size() < last_seen || page->items.size() % kPerBatch != 0 ||
          static_cast<int64_t>(audit->size()) < last_audit || audit->size() % kPerBatch != 0 ||
          audit->size() < page->items.size()) {
        ++read_errors;
        return;
      }
      last_seen = page->items.size();
      last_audit = static_cast<int64_t>(audit->size());
      ++reads;
      if (final_pass) {
        if (last_seen != kBatches * kPerBatch) ++read_errors;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) threads.emplace_back(reader);

  for (int b = 0; b < kBatches; ++b) {
    std::vector<TxnFn> batch;
    for (int k = 0; k < kPerBatch; ++k) {
      std::string id = fmt::format("CR-{:05}", b * kPerBatch + k);
      batch.push_back([id](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertCrossing(MakeCrossing(id)));
        BF_TRY(txn.AppendAudit(Draft(id, "declare")));
        return {};
      });
    }
    for (const Status& s : store_->WriteBatch(batch)) {
      ASSERT_TRUE(s.has_value()) << s.error().ToString();
    }
  }
  done = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_GE(reads.load(), 6);
  ExpectChainIntact(*store_, kBatches * kPerBatch);
}

TEST_P(StoreContractTest, ConcurrentWriteCallersAreSerialised) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto s = store_->Write([&](WriteTxn& txn) -> Status {
          BF_TRY(txn.InsertCrossing(MakeCrossing(fmt::format("CR-{}-{:02}", t, i))));
          BF_TRY(txn.AppendAudit(Draft("x", "declare")));
          return {};
        });
        if (!s) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectChainIntact(*store_, 100);
}

// --- Added with the in-memory store: what the engine relies on, checked on every backend ------

TEST_P(StoreContractTest, LaterFunctionsSeeEarlierOnesButNotFailedOnes) {
  std::vector<TxnFn> batch = {
      [](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-1")); },
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertCrossing(MakeCrossing("CR-2")));
        return Conflict("refused", "simulated");
      },
      [](WriteTxn& txn) -> Status {
        BF_ASSIGN_OR_RETURN(auto one, txn.GetCrossing("CR-1"));
        if (!one) return Internal("CR-1 from the earlier function is not visible");
        BF_ASSIGN_OR_RETURN(auto two, txn.GetCrossing("CR-2"));
        if (two) return Internal("CR-2 of the failed function is visible");
        // Not a duplicate: the failed function's insert is gone.
        BF_TRY(txn.InsertCrossing(MakeCrossing("CR-2")));
        Crossing next = *one;
        next.version = 2;
        next.state = CrossingState::kAssessed;
        return txn.UpdateCrossing(next, 1);
      },
      [](WriteTxn& txn) -> Status {
        // The update of the previous function is the stored version now.
        Crossing next = MakeCrossing("CR-1");
        next.version = 3;
        next.state = CrossingState::kBooked;
        return txn.UpdateCrossing(next, 1);
      },
  };
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].has_value());
  EXPECT_FALSE(results[1].has_value());
  EXPECT_TRUE(results[2].has_value()) << results[2].error().ToString();
  ASSERT_FALSE(results[3].has_value());
  EXPECT_EQ(results[3].error().code, "version_conflict");
  EXPECT_NE(results[3].error().message.find("stored version 2"), std::string::npos)
      << results[3].error().message;

  auto one = store_->GetCrossing("CR-1");
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->version, 2);
  EXPECT_EQ((*one)->state, CrossingState::kAssessed);
  auto two = store_->GetCrossing("CR-2");
  ASSERT_TRUE(two.has_value() && two->has_value());
}

TEST_P(StoreContractTest, ReadsInsideABatchSeeOnlyCommittedData) {
  Insert(MakeCrossing("CR-OLD"));
  bool checked = false;
  auto s = Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertCrossing(MakeCrossing("CR-NEW")));
    BF_TRY(txn.AppendAudit(Draft("CR-NEW", "declare")));
    BF_TRY(txn.PutRecord(StoredRecord{"ban", "12C12345", "{}", kT0}));
    // The store's own read methods (another reader) do not see the open batch.
    auto fresh = store_->GetCrossing("CR-NEW");
    auto old = store_->GetCrossing("CR-OLD");
    auto audit = store_->ReadAudit(0, 100);
    auto records = store_->ListRecords("ban");
    if (!fresh || !old || !audit || !records) return Internal("read failed");
    EXPECT_FALSE(fresh->has_value());
    EXPECT_TRUE(old->has_value());
    EXPECT_TRUE(audit->empty());
    EXPECT_TRUE(records->empty());
    checked = true;
    return {};
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_TRUE(checked);
  auto fresh = store_->GetCrossing("CR-NEW");
  ASSERT_TRUE(fresh.has_value());
  EXPECT_TRUE(fresh->has_value());
}

TEST_P(StoreContractTest, GetRecordSeesTheTransactionsOwnChanges) {
  auto seed = Write([](WriteTxn& txn) -> Status {
    BF_TRY(txn.PutRecord(StoredRecord{"inbox", "s1", R"({"seq":1})", kT0}));
    BF_TRY(txn.PutRecord(StoredRecord{"inbox", "s2", R"({"seq":7})", kT0}));
    return {};
  });
  ASSERT_TRUE(seed.has_value()) << seed.error().ToString();
  std::vector<std::string> seen;
  std::vector<TxnFn> batch = {
      [&](WriteTxn& txn) -> Status {
        BF_ASSIGN_OR_RETURN(auto r, txn.GetRecord("inbox", "s1"));
        seen.push_back(r ? r->body : "none");
        BF_TRY(txn.PutRecord(StoredRecord{"inbox", "s1", R"({"seq":2})", kT0 + hours(1)}));
        BF_ASSIGN_OR_RETURN(r, txn.GetRecord("inbox", "s1"));
        seen.push_back(r ? r->body : "none");
        BF_TRY(txn.DeleteRecord("inbox", "s2"));
        BF_ASSIGN_OR_RETURN(r, txn.GetRecord("inbox", "s2"));
        seen.push_back(r ? r->body : "none");
        BF_ASSIGN_OR_RETURN(r, txn.GetRecord("outbox", "s1"));
        seen.push_back(r ? r->body : "none");
        return {};
      },
      // A later function of the batch sees the earlier one's committed savepoint.
      [&](WriteTxn& txn) -> Status {
        BF_ASSIGN_OR_RETURN(auto r, txn.GetRecord("inbox", "s1"));
        seen.push_back(r ? r->body : "none");
        BF_TRY(txn.PutRecord(StoredRecord{"inbox", "s3", "{}", kT0}));
        return InvalidArgument("refused", "simulated");
      },
      [&](WriteTxn& txn) -> Status {
        BF_ASSIGN_OR_RETURN(auto r, txn.GetRecord("inbox", "s3"));
        seen.push_back(r ? r->body : "none");
        BF_ASSIGN_OR_RETURN(r, txn.GetRecord("inbox", "s2"));
        seen.push_back(r ? r->body : "none");
        return {};
      },
  };
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].has_value());
  EXPECT_FALSE(results[1].has_value());
  EXPECT_TRUE(results[2].has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{R"({"seq":1})", R"({"seq":2})", "none", "none",
                                            R"({"seq":2})", "none", "none"}));
  std::optional<StoredRecord> after;
  auto read = Write([&](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(after, txn.GetRecord("inbox", "s1"));
    return {};
  });
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->body, R"({"seq":2})");
  EXPECT_EQ(after->updated_at, kT0 + hours(1));
}

TEST_P(StoreContractTest, RecordsPutReplaceDeleteAndList) {
  auto s = Write([](WriteTxn& txn) -> Status {
    BF_TRY(txn.PutRecord(StoredRecord{"ban", "29C11111", R"({"n":1})", kT0}));
    BF_TRY(txn.PutRecord(StoredRecord{"ban", "12C12345", R"({"n":2})", kT0}));
    BF_TRY(txn.PutRecord(StoredRecord{"ban", "桂F12345", R"({"n":3})", kT0}));
    BF_TRY(txn.PutRecord(StoredRecord{"strike", "12C12345:CR-1:no_show", "{}", kT0}));
    // Replaced within the same function.
    BF_TRY(txn.PutRecord(StoredRecord{"ban", "29C11111", R"({"n":4})", kT0 + hours(1)}));
    // Deleting what does not exist is not an error.
    BF_TRY(txn.DeleteRecord("ban", "NOPE"));
    BF_TRY(txn.DeleteRecord("nokind", "x"));
    return {};
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();

  auto bans = store_->ListRecords("ban");
  ASSERT_TRUE(bans.has_value()) << bans.error().ToString();
  ASSERT_EQ(bans->size(), 3u);
  // Ordered by id, byte for byte (UTF-8 after ASCII).
  EXPECT_EQ((*bans)[0].id, "12C12345");
  EXPECT_EQ((*bans)[1].id, "29C11111");
  EXPECT_EQ((*bans)[1].body, R"({"n":4})");
  EXPECT_EQ((*bans)[1].updated_at, kT0 + hours(1));
  EXPECT_EQ((*bans)[1].kind, "ban");
  EXPECT_EQ((*bans)[2].id, "桂F12345");
  auto strikes = store_->ListRecords("strike");
  ASSERT_TRUE(strikes.has_value());
  EXPECT_EQ(strikes->size(), 1u);
  auto none = store_->ListRecords("capacity_change");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());

  // Replace in one batch, delete in another; a failed function's put and delete are undone.
  std::vector<TxnFn> batch = {
      [](WriteTxn& txn) {
        return txn.PutRecord(StoredRecord{"ban", "12C12345", R"({"n":5})", kT0 + hours(2)});
      },
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.DeleteRecord("ban", "29C11111"));
        BF_TRY(txn.PutRecord(StoredRecord{"ban", "99Z99999", "{}", kT0}));
        BF_TRY(txn.DeleteRecord("strike", "12C12345:CR-1:no_show"));
        return InvalidArgument("refused", "simulated");
      },
      [](WriteTxn& txn) { return txn.DeleteRecord("ban", "桂F12345"); },
  };
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].has_value());
  EXPECT_FALSE(results[1].has_value());
  EXPECT_TRUE(results[2].has_value());
  bans = store_->ListRecords("ban");
  ASSERT_TRUE(bans.has_value());
  ASSERT_EQ(bans->size(), 2u);
  EXPECT_EQ((*bans)[0].id, "12C12345");
  EXPECT_EQ((*bans)[0].body, R"({"n":5})");
  EXPECT_EQ((*bans)[1].id, "29C11111");
  strikes = store_->ListRecords("strike");
  ASSERT_TRUE(strikes.has_value());
  EXPECT_EQ(strikes->size(), 1u);

  // Delete then put again in one function: the put wins.
  ASSERT_TRUE(Write([](WriteTxn& txn) -> Status {
                BF_TRY(txn.DeleteRecord("strike", "12C12345:CR-1:no_show"));
                BF_TRY(txn.PutRecord(StoredRecord{"strike", "12C12345:CR-1:no_show", "{}", kT0}));
                return txn.DeleteRecord("ban", "12C12345");
              }).has_value());
  strikes = store_->ListRecords("strike");
  ASSERT_TRUE(strikes.has_value());
  EXPECT_EQ(strikes->size(), 1u);
  bans = store_->ListRecords("ban");
  ASSERT_TRUE(bans.has_value());
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].id, "29C11111");
}

TEST_P(StoreContractTest, FailedFunctionUndoesUsersTokensAndRevocations) {
  ASSERT_TRUE(Write([](WriteTxn& txn) -> Status {
                BF_TRY(txn.InsertUser(MakeUser("U-A", "operator.le")));
                return txn.InsertToken(
                    TokenRecord{"tok1", "U-A", std::string(64, 'a'), "laptop", kT0, {}, {}});
              }).has_value());
  std::vector<TxnFn> batch = {
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertUser(MakeUser("U-B", "customs.tran", Role::kCustomsOfficer)));
        BF_TRY(
            txn.InsertToken(TokenRecord{"tok2", "U-B", std::string(64, 'b'), "desk", kT0, {}, {}}));
        BF_TRY(txn.RevokeToken("tok1", kT0 + hours(1)));
        BF_TRY(txn.AppendAudit(Draft("U-B", "user_add")));
        BF_TRY(txn.PutIdempotency(IdempotencyRecord{"U-ADMIN", "k", "fp", 201, "{}", kT0}));
        return Conflict("refused", "simulated");
      },
      [](WriteTxn& txn) -> Status {
        // The failed function's user, name and token are free again.
        BF_ASSIGN_OR_RETURN(auto b, txn.FindUserByName("customs.tran"));
        if (b) return Internal("the failed function's user is visible");
        BF_TRY(txn.InsertUser(MakeUser("U-B", "customs.tran", Role::kCustomsOfficer)));
        BF_ASSIGN_OR_RETURN(auto found, txn.FindUserByName("customs.tran"));
        if (!found || found->id != "U-B") return Internal("own user not visible");
        BF_ASSIGN_OR_RETURN(auto idem, txn.FindIdempotency("U-ADMIN", "k"));
        if (idem) return Internal("the failed function's idempotency record is visible");
        return txn.InsertToken(
            TokenRecord{"tok2", "U-B", std::string(64, 'c'), "laptop", kT0, {}, {}});
      },
  };
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].has_value());
  EXPECT_TRUE(results[1].has_value()) << results[1].error().ToString();

  auto tok1 = store_->FindToken("tok1");
  ASSERT_TRUE(tok1.has_value() && tok1->has_value());
  EXPECT_FALSE((*tok1)->revoked_at.has_value());
  auto tok2 = store_->FindToken("tok2");
  ASSERT_TRUE(tok2.has_value() && tok2->has_value());
  EXPECT_EQ((*tok2)->secret_hash, std::string(64, 'c'));
  EXPECT_EQ((*tok2)->label, "laptop");
  auto users = store_->ListUsers();
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "customs.tran");
  EXPECT_EQ((*users)[0].role, Role::kCustomsOfficer);
  EXPECT_EQ((*users)[1].name, "operator.le");
  ExpectChainIntact(*store_, 0);
}

TEST_P(StoreContractTest, UserAndTokenConflicts) {
  ASSERT_TRUE(Write([](WriteTxn& txn) -> Status {
                BF_TRY(txn.InsertUser(MakeUser("U-A", "operator.le")));
                return txn.InsertToken(
                    TokenRecord{"tok1", "U-A", std::string(64, 'a'), "laptop", kT0, {}, {}});
              }).has_value());
  // The same id under another name is refused too (the primary key).
  auto same_id = Write([](WriteTxn& txn) { return txn.InsertUser(MakeUser("U-A", "other")); });
  ASSERT_FALSE(same_id.has_value());
  EXPECT_EQ(same_id.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(same_id.error().code, "user_exists");

  auto same_token = Write([](WriteTxn& txn) {
    return txn.InsertToken(TokenRecord{"tok1", "U-A", std::string(64, 'b'), "x", kT0, {}, {}});
  });
  ASSERT_FALSE(same_token.has_value());
  EXPECT_EQ(same_token.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(same_token.error().code, "token_exists");

  // Both wrong: the duplicate id is reported (SQLite checks keys before foreign keys).
  auto both = Write([](WriteTxn& txn) {
    return txn.InsertToken(TokenRecord{"tok1", "U-NONE", std::string(64, 'b'), "", kT0, {}, {}});
  });
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().code, "token_exists");

  // A user and its token in one function.
  auto together = Write([](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertUser(MakeUser("U-B", "admin.one", Role::kAdministrator)));
    return txn.InsertToken(TokenRecord{"tok2", "U-B", std::string(64, 'c'), "", kT0, {}, {}});
  });
  EXPECT_TRUE(together.has_value()) << together.error().ToString();
  auto user = store_->FindUserById("U-B");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->role, Role::kAdministrator);
  EXPECT_TRUE(store_->Ping().has_value());
}

TEST_P(StoreContractTest, TokensListedPerUserOldestFirst) {
  const Timestamp t1 = kT0 + std::chrono::minutes(1), t2 = kT0 + std::chrono::minutes(2);
  ASSERT_TRUE(
      Write([&](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertUser(MakeUser("U-A", "camera.one", Role::kSensor)));
        BF_TRY(txn.InsertUser(MakeUser("U-B", "desk.two")));
        BF_TRY(
            txn.InsertToken(TokenRecord{"tokB", "U-A", std::string(64, 'b'), "spare", t2, t2, {}}));
        BF_TRY(txn.InsertToken(
            TokenRecord{"tokA", "U-A", std::string(64, 'a'), "lane 3", t1, {}, {}}));
        return txn.InsertToken(TokenRecord{"tokC", "U-B", std::string(64, 'c'), "", kT0, {}, {}});
      }).has_value());
  ASSERT_TRUE(Write([&](WriteTxn& txn) { return txn.RevokeToken("tokB", t2); }).has_value());
  auto mine = store_->ListTokens("U-A");
  ASSERT_TRUE(mine.has_value()) << mine.error().ToString();
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, "tokA");
  EXPECT_EQ((*mine)[0].label, "lane 3");
  EXPECT_EQ((*mine)[0].created_at, t1);
  EXPECT_FALSE((*mine)[0].expires_at.has_value());
  EXPECT_FALSE((*mine)[0].revoked_at.has_value());
  EXPECT_EQ((*mine)[1].id, "tokB");
  EXPECT_EQ((*mine)[1].expires_at, t2);
  EXPECT_EQ((*mine)[1].revoked_at, t2);
  auto all = store_->ListTokens("");
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "tokC");
  auto none = store_->ListTokens("U-NOBODY");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, IdempotencyKeyConflictCode) {
  IdempotencyRecord record{"U1", "k", "fp", 201, "{}", kT0};
  std::vector<TxnFn> batch = {
      [&](WriteTxn& txn) { return txn.PutIdempotency(record); },
      [&](WriteTxn& txn) { return txn.PutIdempotency(record); },  // same batch, later function
      [&](WriteTxn& txn) {
        IdempotencyRecord other = record;
        other.scope = "U2";  // the key is per scope
        return txn.PutIdempotency(other);
      },
  };
  auto results = store_->WriteBatch(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].has_value());
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().kind, ErrorKind::kConflict);
  EXPECT_EQ(results[1].error().code, "idempotency_key_exists");
  EXPECT_TRUE(results[2].has_value());
}

TEST_P(StoreContractTest, UpdatesMoveCrossingsBetweenFiltersAndCounts) {
  for (int i = 1; i <= 4; ++i) Insert(MakeCrossing(fmt::format("CR-{}", i)));
  Crossing moved = MakeCrossing("CR-2");
  moved.version = 2;
  moved.state = CrossingState::kBooked;
  moved.company_id = "CO-OTHER";
  moved.declaration.vehicle.plate = MustPlate("29C-111.11");
  moved.declaration.lane_class = "general";
  ASSERT_TRUE(Write([&](WriteTxn& txn) { return txn.UpdateCrossing(moved, 1); }).has_value());
  // A failed update changes nothing in the lists either.
  ASSERT_FALSE(Write([&](WriteTxn& txn) -> Status {
                 Crossing again = MakeCrossing("CR-3");
                 again.version = 2;
                 again.state = CrossingState::kCancelled;
                 BF_TRY(txn.UpdateCrossing(again, 1));
                 return Conflict("refused", "simulated");
               }).has_value());

  using V = std::vector<std::string>;
  CrossingFilter f;
  f.state = CrossingState::kDeclared;
  EXPECT_EQ(Ids(f), (V{"CR-1", "CR-3", "CR-4"}));
  f.state = CrossingState::kBooked;
  EXPECT_EQ(Ids(f), (V{"CR-2"}));
  f.state = CrossingState::kCancelled;
  EXPECT_EQ(Ids(f), V{});
  CrossingFilter company;
  company.company_id = "CO-HUU-NGHI";
  EXPECT_EQ(Ids(company), (V{"CR-1", "CR-3", "CR-4"}));
  company.company_id = "CO-OTHER";
  EXPECT_EQ(Ids(company), (V{"CR-2"}));
  company.company_id = "CO-NONE";
  EXPECT_EQ(Ids(company), V{});
  CrossingFilter plate;
  plate.plate = "12C12345";
  EXPECT_EQ(Ids(plate), (V{"CR-1", "CR-3", "CR-4"}));
  plate.plate = "29C11111";
  EXPECT_EQ(Ids(plate), (V{"CR-2"}));
  CrossingFilter lane;
  lane.lane_class = "general";
  EXPECT_EQ(Ids(lane), (V{"CR-2"}));
  // Every filter at once, with a cursor.
  CrossingFilter all;
  all.company_id = "CO-HUU-NGHI";
  all.state = CrossingState::kDeclared;
  all.direction = "vn_to_cn";
  all.lane_class = "perishable";
  all.plate = "12C12345";
  all.after = "CR-1";
  all.limit = 1;
  auto page = store_->ListCrossings(all);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "CR-3");
  EXPECT_EQ(page->next_cursor, "CR-3");
  all.after = "CR-3";
  page = store_->ListCrossings(all);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "CR-4");
  EXPECT_TRUE(page->next_cursor.empty());
  all.after = "CR-9";
  page = store_->ListCrossings(all);
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->items.empty());
  EXPECT_TRUE(page->next_cursor.empty());

  auto counts = store_->CountCrossings();
  ASSERT_TRUE(counts.has_value());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].lane_class, "general");
  EXPECT_EQ((*counts)[0].state, CrossingState::kBooked);
  EXPECT_EQ((*counts)[0].count, 1);
  EXPECT_EQ((*counts)[1].lane_class, "perishable");
  EXPECT_EQ((*counts)[1].count, 3);

  // Moving the last crossing out of a group removes the group.
  Crossing back = moved;
  back.version = 3;
  back.declaration.lane_class = "perishable";
  back.state = CrossingState::kDeclared;
  ASSERT_TRUE(Write([&](WriteTxn& txn) { return txn.UpdateCrossing(back, 2); }).has_value());
  counts = store_->CountCrossings();
  ASSERT_TRUE(counts.has_value());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].count, 4);
}

TEST_P(StoreContractTest, CountCrossingsOrderedByDirectionLaneClassAndStateName) {
  // State names sort differently from the enum: "assessed" < "booked" < "declared" < "in_yard".
  std::vector<CrossingSpec> specs = {
      {"CR-1", "CO-A", "12C-123.45", CrossingState::kInYard, "vn_to_cn", "perishable"},
      {"CR-2", "CO-A", "12C-123.45", CrossingState::kDeclared, "vn_to_cn", "perishable"},
      {"CR-3", "CO-A", "12C-123.45", CrossingState::kAssessed, "vn_to_cn", "perishable"},
      {"CR-4", "CO-A", "12C-123.45", CrossingState::kBooked, "vn_to_cn", "general"},
      {"CR-5", "CO-A", "12C-123.45", CrossingState::kDeclared, "cn_to_vn", "perishable"},
      {"CR-6", "CO-A", "12C-123.45", CrossingState::kDeclared, "vn_to_cn", "perishable"},
  };
  for (const auto& spec : specs) Insert(MakeCrossing(spec));
  auto counts = store_->CountCrossings();
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  std::vector<std::tuple<std::string, std::string, CrossingState, int64_t>> got;
  for (const auto& c : *counts) got.emplace_back(c.direction, c.lane_class, c.state, c.count);
  using T = std::tuple<std::string, std::string, CrossingState, int64_t>;
  EXPECT_EQ(got, (std::vector<T>{
                     {"cn_to_vn", "perishable", CrossingState::kDeclared, 1},
                     {"vn_to_cn", "general", CrossingState::kBooked, 1},
                     {"vn_to_cn", "perishable", CrossingState::kAssessed, 1},
                     {"vn_to_cn", "perishable", CrossingState::kDeclared, 2},
                     {"vn_to_cn", "perishable", CrossingState::kInYard, 1},
                 }));
}

TEST_P(StoreContractTest, ReadAuditPagesAndFields) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Write([i](WriteTxn& txn) -> Status {
                  BF_TRY(txn.AppendAudit(Draft("CR-1", "event", i)));
                  return {};
                }).has_value());
  }
  auto first = store_->ReadAudit(0, 1);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().seq, 1);
  EXPECT_EQ(first->front().prev_hash, kGenesisHash);
  auto page = store_->ReadAudit(2, 2);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[1].seq, 4);
  EXPECT_EQ((*page)[1].body, R"({"n":3})");
  EXPECT_EQ((*page)[1].at, kT0 + minutes(3));
  EXPECT_EQ((*page)[1].actor_id, "U0000000000000001");
  EXPECT_EQ((*page)[1].actor_role, "forwarder");
  EXPECT_EQ((*page)[1].subject_type, "crossing");
  EXPECT_EQ((*page)[1].subject_id, "CR-1");
  EXPECT_EQ((*page)[1].action, "event");
  EXPECT_EQ((*page)[1].prev_hash, (*page)[0].hash);
  auto negative = store_->ReadAudit(-10, 100);
  ASSERT_TRUE(negative.has_value());
  EXPECT_EQ(negative->size(), 5u);
  auto past_end = store_->ReadAudit(5, 100);
  ASSERT_TRUE(past_end.has_value());
  EXPECT_TRUE(past_end->empty());
  auto far = store_->ReadAudit(1'000'000, 100);
  ASSERT_TRUE(far.has_value());
  EXPECT_TRUE(far->empty());
  auto negative_limit = store_->ListAuditFor("crossing", "CR-1", -1);
  ASSERT_TRUE(negative_limit.has_value());
  EXPECT_TRUE(negative_limit->empty());
  auto missing = store_->ListAuditFor("crossing", "CR-NONE", 10);
  ASSERT_TRUE(missing.has_value());
  EXPECT_TRUE(missing->empty());
}

// The audit page is capped at 10000 records per call, whatever the caller asks.
TEST_P(StoreContractTest, AuditPagesAreCapped) {
  std::vector<TxnFn> batch(1, [](WriteTxn& txn) -> Status {
    for (int i = 0; i < 10'005; ++i) BF_TRY(txn.AppendAudit(Draft("CR-1", "event", i % 60)));
    return {};
  });
  ASSERT_TRUE(store_->WriteBatch(batch).front().has_value());
  auto all = store_->ReadAudit(0, 1'000'000);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 10'000u);
  auto rest = store_->ReadAudit(10'000, 1'000'000);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->size(), 5u);
  auto subject = store_->ListAuditFor("crossing", "CR-1", 1'000'000);
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(subject->size(), 10'000u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<StoreBackend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace borderflow
