// borderflow store copy (CopySqliteToPostgres): every table of an SQLite database into an empty
// PostgreSQL schema, audit sequence numbers and hashes kept. Needs BORDERFLOW_TEST_PG_URL
// (scripts/test.sh); skipped without it.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <borderflow/store/postgres_store.h>
#include <borderflow/store/sqlite_store.h>
#include <borderflow/store/store_factory.h>

#include "postgres/pg_test_support.h"
#include "sqlite/sqlite_db.h"
#include "store_test_support.h"

namespace borderflow {
namespace {

namespace fs = std::filesystem;
using namespace store_test;  // NOLINT(build/namespaces): test data only
using std::chrono::hours;

class StoreCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pg_test::BaseUrl()) {
      if (pg_test::Required()) FAIL() << "BORDERFLOW_REQUIRE_PG=1: " << pg_test::kSkipMessage;
      GTEST_SKIP() << pg_test::kSkipMessage;
    }
    auto schema = pg_test::Schema::Create(*pg_test::BaseUrl());
    ASSERT_TRUE(schema.has_value()) << schema.error().ToString();
    schema_ = std::move(*schema);
    dir_ = fs::temp_directory_path() /
           fmt::format("bf_store_copy_{}_{:08x}", getpid(), std::random_device()());
    fs::create_directories(dir_);
    path_ = (dir_ / "source.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // A source with something in every table: users, tokens (expiring, revoked, plain), crossings
  // (one updated), idempotency records, records of two kinds, and more audit records than one
  // insert statement carries.
  void FillSource() {
    auto store = SqliteStore::Open(SqliteOptions{path_}, Hs());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    Store& s = **store;
    auto ok = s.Write([](WriteTxn& txn) -> Status {
      BF_TRY(txn.InsertUser(MakeUser("U-A", "operator.le")));
      BF_TRY(txn.InsertUser(MakeUser("U-B", "forwarder.huu", Role::kForwarder, "CO-1")));
      BF_TRY(txn.InsertToken(
          TokenRecord{"tok1", "U-A", std::string(64, 'a'), "laptop", kT0, kT0 + hours(24), {}}));
      BF_TRY(txn.InsertToken(TokenRecord{"tok2", "U-B", std::string(64, 'b'), "", kT0, {}, {}}));
      BF_TRY(txn.RevokeToken("tok2", kT0 + hours(1)));
      for (int i = 0; i < 7; ++i) {
        BF_TRY(txn.InsertCrossing(MakeCrossing(fmt::format("CR-{:03}", i))));
      }
      Crossing moved = MakeCrossing("CR-003");
      moved.version = 2;
      moved.state = CrossingState::kBooked;
      BF_TRY(txn.UpdateCrossing(moved, 1));
      BF_TRY(txn.PutIdempotency(IdempotencyRecord{"U-B", "k1", "fp1", 201, R"({"id":"x"})", kT0}));
      BF_TRY(txn.PutIdempotency(IdempotencyRecord{"U-A", "k1", "fp2", 200, "{}", kT0}));
      BF_TRY(txn.PutRecord(StoredRecord{"ban", "12C12345", R"({"n":1})", kT0}));
      BF_TRY(txn.PutRecord(StoredRecord{"ban", "桂F12345", R"({"n":2})", kT0}));
      BF_TRY(txn.PutRecord(StoredRecord{"strike", "s1", "{}", kT0 + hours(2)}));
      for (int i = 0; i < 450; ++i) {
        BF_TRY(txn.AppendAudit(Draft(fmt::format("CR-{:03}", i % 7), "event", i % 60)));
      }
      return {};
    });
    ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  }

  std::unique_ptr<pg_test::Schema> schema_;
  fs::path dir_;
  std::string path_;
};

TEST_F(StoreCopyTest, CopiesEveryTableAndKeepsTheAuditChain) {
  FillSource();
  auto report = CopySqliteToPostgres(path_, schema_->url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  std::vector<std::pair<std::string, int64_t>> rows;
  for (const auto& t : report->tables) rows.emplace_back(t.name, t.rows);
  EXPECT_EQ(rows, (std::vector<std::pair<std::string, int64_t>>{{"users", 2},
                                                                {"tokens", 2},
                                                                {"crossings", 7},
                                                                {"idempotency", 2},
                                                                {"records", 3},
                                                                {"audit_log", 450}}));
  EXPECT_EQ(report->audit_head_seq, 450);

  auto source = SqliteStore::Open(SqliteOptions{path_, 1, false}, Hs());
  ASSERT_TRUE(source.has_value());
  auto target = PostgresStore::Open(PostgresOptions{schema_->url(), 1, false}, Hs());
  ASSERT_TRUE(target.has_value()) << target.error().ToString();
  Store& src = **source;
  Store& dst = **target;

  // The audit trail: the same records, sequence numbers and hashes; the chain verifies.
  auto src_audit = src.ReadAudit(0, 10000);
  auto dst_audit = dst.ReadAudit(0, 10000);
  ASSERT_TRUE(src_audit && dst_audit);
  ASSERT_EQ(src_audit->size(), dst_audit->size());
  for (size_t i = 0; i < src_audit->size(); ++i) {
    const AuditRecord& a = (*src_audit)[i];
    const AuditRecord& b = (*dst_audit)[i];
    EXPECT_EQ(a.seq, b.seq);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.prev_hash, b.prev_hash);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.at, b.at);
  }
  EXPECT_EQ(report->audit_head_hash, src_audit->back().hash);
  ExpectChainIntact(dst, 450);

  // Crossings, users, tokens, records and idempotency records, field for field.
  CrossingFilter all;
  all.limit = 200;
  auto src_crossings = src.ListCrossings(all);
  auto dst_crossings = dst.ListCrossings(all);
  ASSERT_TRUE(src_crossings && dst_crossings);
  ASSERT_EQ(dst_crossings->items.size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(Json(dst_crossings->items[i]), Json(src_crossings->items[i]));
  }
  auto users = dst.ListUsers();
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "forwarder.huu");
  EXPECT_EQ((*users)[0].company_id, "CO-1");
  auto tok1 = dst.FindToken("tok1");
  auto tok2 = dst.FindToken("tok2");
  ASSERT_TRUE(tok1 && tok1->has_value() && tok2 && tok2->has_value());
  EXPECT_EQ((*tok1)->expires_at, kT0 + hours(24));
  EXPECT_FALSE((*tok1)->revoked_at.has_value());
  EXPECT_FALSE((*tok2)->expires_at.has_value());
  EXPECT_EQ((*tok2)->revoked_at, kT0 + hours(1));
  auto bans = dst.ListRecords("ban");
  ASSERT_TRUE(bans.has_value());
  ASSERT_EQ(bans->size(), 2u);
  EXPECT_EQ((*bans)[1].id, "桂F12345");
  auto check = dst.Write([](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(auto k, txn.FindIdempotency("U-B", "k1"));
    if (!k || k->status != 201 || k->response != R"({"id":"x"})") {
      return Internal("idempotency record not copied");
    }
    // The copied chain goes on from its head.
    BF_ASSIGN_OR_RETURN(AuditRecord r, txn.AppendAudit(Draft("CR-000", "assess")));
    if (r.seq != 451) return Internal(fmt::format("next seq {}", r.seq));
    return {};
  });
  EXPECT_TRUE(check.has_value()) << check.error().ToString();
  ExpectChainIntact(dst, 451);
}

TEST_F(StoreCopyTest, RefusesATargetThatIsNotEmpty) {
  FillSource();
  ASSERT_TRUE(CopySqliteToPostgres(path_, schema_->url()).has_value());
  auto again = CopySqliteToPostgres(path_, schema_->url());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, "copy_target_not_empty");
  auto target = PostgresStore::Open(PostgresOptions{schema_->url(), 1, false}, Hs());
  ASSERT_TRUE(target.has_value());
  ExpectChainIntact(**target, 450);
}

TEST_F(StoreCopyTest, RefusesABrokenChainAndLeavesTheTargetEmpty) {
  FillSource();
  {
    // Tamper with record 300 behind the triggers' back.
    auto db = sqlite::Db::Open(path_, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER audit_log_no_update").has_value());
    ASSERT_TRUE(
        (*db)->Exec("UPDATE audit_log SET body = '{\"n\":999}' WHERE seq = 300").has_value());
  }
  auto copy = CopySqliteToPostgres(path_, schema_->url());
  ASSERT_FALSE(copy.has_value());
  EXPECT_EQ(copy.error().code, "copy_source_invalid");
  EXPECT_NE(copy.error().message.find("record 300"), std::string::npos) << copy.error().message;
  // Nothing was kept: the target is migrated and empty.
  auto target = PostgresStore::Open(PostgresOptions{schema_->url(), 1, false}, Hs());
  ASSERT_TRUE(target.has_value());
  ExpectChainIntact(**target, 0);
  auto users = (*target)->ListUsers();
  ASSERT_TRUE(users.has_value());
  EXPECT_TRUE(users->empty());
}

TEST_F(StoreCopyTest, RefusesAMissingOrOutdatedSourceAndANonPostgresTarget) {
  auto missing = CopySqliteToPostgres((dir_ / "none.db").string(), schema_->url());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, "copy_source_invalid");

  {
    auto db = sqlite::Db::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE((*db)
                    ->Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name "
                           "TEXT, applied_at_ms BIGINT); INSERT INTO schema_migrations VALUES "
                           "(1, '0001_initial', 0)")
                    .has_value());
  }
  auto outdated = CopySqliteToPostgres(path_, schema_->url());
  ASSERT_FALSE(outdated.has_value());
  EXPECT_EQ(outdated.error().code, "copy_source_invalid");
  EXPECT_NE(outdated.error().message.find("borderflow migrate"), std::string::npos);

  auto not_pg = CopySqliteToPostgres(path_, (dir_ / "other.db").string());
  ASSERT_FALSE(not_pg.has_value());
  EXPECT_EQ(not_pg.error().code, "copy_target_invalid");
}

// Without a PostgreSQL server: a copy to a target that cannot be reached fails with a clear
// error and leaves the source as it was, without the -wal and -shm files that a read-only
// connection to a WAL database leaves behind.
TEST(StoreCopyWithoutServerTest, AnUnreachableTargetLeavesTheSourceAsItWas) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("bf_store_copy_nopg_{}_{:08x}",
                                                               getpid(), std::random_device()());
  fs::create_directories(dir);
  const std::string path = (dir / "source.db").string();
  {
    auto store = SqliteStore::Open(SqliteOptions{path}, Hs());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    auto ok = (*store)->Write([](WriteTxn& txn) -> Status {
      BF_TRY(txn.InsertCrossing(MakeCrossing("CR-001")));
      auto record = txn.AppendAudit(Draft("CR-001", "event", 1));
      if (!record) return record.error();
      return {};
    });
    ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  }
  auto bytes = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = bytes();
  ASSERT_FALSE(fs::exists(path + "-wal"));
  auto copied = CopySqliteToPostgres(path, "postgresql://nobody@127.0.0.1:1/none");
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code, "store_open_failed") << copied.error().ToString();
  EXPECT_FALSE(fs::exists(path + "-wal"));
  EXPECT_FALSE(fs::exists(path + "-shm"));
  EXPECT_EQ(bytes(), before);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace borderflow
