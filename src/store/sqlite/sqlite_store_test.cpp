// What only SqliteStore has: the file and its migrations, durability settings, corruption of
// stored documents, a commit that cannot start, two stores on one file, the append-only
// triggers, and reopening. The Store contract itself (crossings, batches, audit chain, users,
// lists, concurrency) runs against every backend in ../store_contract_test.cpp.

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/store/sqlite_store.h>

#include "../migrations.h"
#include "../store_test_support.h"

namespace borderflow {
namespace {

namespace fs = std::filesystem;
using namespace store_test;  // NOLINT(build/namespaces): test data only
using std::chrono::hours;
using std::chrono::minutes;

// A raw connection to the database file, for what the store must not allow or cannot show.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  // Returns the error message, or "" on success.
  std::string Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string message = rc == SQLITE_OK ? "" : (err ? err : "error");
    sqlite3_free(err);
    return message;
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           fmt::format("bf_store_test_{}_{}_{:08x}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name(), rd());
    fs::create_directories(dir_);
    path_ = (dir_ / "borderflow.db").string();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Opens (or reopens) the store at path_ into store_.
  void Reopen(int readers = 4) {
    store_.reset();
    auto store = SqliteStore::Open(SqliteOptions{path_, readers, true}, Hs());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }

  Status Write(const TxnFn& fn) { return store_->Write(fn); }

  void Insert(const Crossing& c) {
    auto s = Write([&](WriteTxn& txn) { return txn.InsertCrossing(c); });
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

// --- Migrations -------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, MigrationsAreAppliedOnce) {
  auto first = SqliteStore::Migrate(path_);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->current_version, store::LatestSchemaVersion());
  ASSERT_EQ(first->applied.size(), store::Migrations().size());
  EXPECT_EQ(first->applied.front(), "0001_initial");

  auto second = SqliteStore::Migrate(path_);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_EQ(second->current_version, store::LatestSchemaVersion());
  EXPECT_TRUE(second->applied.empty());

  Reopen();  // opening with migrate=true applies nothing either
  store_.reset();
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(store::Migrations().size()));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM schema_migrations WHERE name = '0001_initial' AND "
                    "version = 1 AND applied_at_ms > 0"),
            1);
}

TEST_F(SqliteStoreTest, OpenMigratesAFreshFile) {
  Reopen();
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT MAX(version) FROM schema_migrations"), store::LatestSchemaVersion());
  for (const char* table : {"crossings", "audit_log", "idempotency", "users", "tokens"}) {
    EXPECT_EQ(raw.Int(fmt::format("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                                  "name = '{}'",
                                  table)),
              1)
        << table;
  }
}

// 0003_driver_scope on a database written before it: each stored crossing's driver document is
// read out of its document, so that drivers find the crossings declared before the upgrade.
TEST_F(SqliteStoreTest, DriverScopeMigrationFillsStoredCrossings) {
  Reopen();
  CrossingSpec spec;
  spec.id = "CR-OLD-1";
  Crossing old = MakeCrossing(spec);
  old.declaration.driver.document_number = "B0004711";
  Insert(old);
  spec.id = "CR-OLD-2";
  Insert(MakeCrossing(spec));
  store_.reset();
  {
    // Back to the schema of version 2, as an older borderflow left it.
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("DROP INDEX crossings_driver_idx; "
                       "ALTER TABLE crossings DROP COLUMN driver_document; "
                       "ALTER TABLE users DROP COLUMN driver_document; "
                       "DELETE FROM schema_migrations WHERE version = 3"),
              "");
  }
  auto migrated = SqliteStore::Migrate(path_);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  EXPECT_EQ(migrated->applied, (std::vector<std::string>{"0003_driver_scope"}));
  Reopen();
  CrossingFilter f;
  f.driver_document = "B0004711";
  auto page = store_->ListCrossings(f);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "CR-OLD-1");
  f.driver_document = MakeCrossing(spec).declaration.driver.document_number;
  page = store_->ListCrossings(f);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "CR-OLD-2");
}

TEST_F(SqliteStoreTest, SchemaTooNewIsRefused) {
  Reopen();
  store_.reset();
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations VALUES (9999, '9999_future', 1)"), "");
  }
  auto store = SqliteStore::Open(SqliteOptions{path_, 2, true}, Hs());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, "schema_too_new");
  EXPECT_NE(store.error().message.find("9999"), std::string::npos) << store.error().message;

  auto no_migrate = SqliteStore::Open(SqliteOptions{path_, 2, false}, Hs());
  ASSERT_FALSE(no_migrate.has_value());
  EXPECT_EQ(no_migrate.error().code, "schema_too_new");

  auto migrate = SqliteStore::Migrate(path_);
  ASSERT_FALSE(migrate.has_value());
  EXPECT_EQ(migrate.error().code, "schema_too_new");
}

TEST_F(SqliteStoreTest, OpenWithoutMigrateRefusesAnOutdatedSchema) {
  auto store = SqliteStore::Open(SqliteOptions{path_, 2, false}, Hs());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, "schema_outdated");
  ASSERT_TRUE(SqliteStore::Migrate(path_).has_value());
  auto migrated = SqliteStore::Open(SqliteOptions{path_, 2, false}, Hs());
  EXPECT_TRUE(migrated.has_value()) << migrated.error().ToString();
}

TEST_F(SqliteStoreTest, OpenFailuresNameThePathAndReason) {
  std::string missing_dir = (dir_ / "no" / "such" / "dir" / "x.db").string();
  auto store = SqliteStore::Open(SqliteOptions{missing_dir, 2, true}, Hs());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(store.error().code, "store_open_failed");
  EXPECT_NE(store.error().message.find(missing_dir), std::string::npos) << store.error().message;

  {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string garbage(8192, 'x');
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  auto garbage = SqliteStore::Open(SqliteOptions{path_, 2, true}, Hs());
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, "store_open_failed");
  EXPECT_NE(garbage.error().message.find("not a database"), std::string::npos)
      << garbage.error().message;

  auto memory = SqliteStore::Open(SqliteOptions{":memory:", 2, true}, Hs());
  ASSERT_FALSE(memory.has_value());
  EXPECT_EQ(memory.error().code, "store_open_failed");
}

TEST_F(SqliteStoreTest, OpenSetsDurabilityPragmas) {
  Reopen();
  RawDb raw(path_);
  // journal_mode is persistent in the file; synchronous and foreign_keys are per connection and
  // are checked through behaviour (durability test, token foreign key) instead.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
}

// --- Crossings --------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, CorruptStoredDocumentIsAnInternalError) {
  Reopen();
  Insert(MakeCrossing("CR-A"));
  Insert(MakeCrossing("CR-B"));
  Insert(MakeCrossing("CR-C"));
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("UPDATE crossings SET doc = '{not json' WHERE id = 'CR-A'"), "");
    // Valid JSON of the wrong shape (a plate that is not an object, a line that is a number).
    ASSERT_EQ(raw.Exec("UPDATE crossings SET doc = json_set(doc, '$.vehicle.plate', json('{}'), "
                       "'$.lines[0]', 7) WHERE id = 'CR-B'"),
              "");
    ASSERT_EQ(raw.Exec("UPDATE crossings SET doc = json_set(doc, '$.id', 'CR-X') "
                       "WHERE id = 'CR-C'"),
              "");
  }
  for (const char* id : {"CR-A", "CR-B", "CR-C"}) {
    auto read = store_->GetCrossing(id);
    ASSERT_FALSE(read.has_value()) << id;
    EXPECT_EQ(read.error().kind, ErrorKind::kInternal) << id;
    EXPECT_NE(read.error().message.find(id), std::string::npos) << read.error().message;
  }
  auto list = store_->ListCrossings({});
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().kind, ErrorKind::kInternal);
  auto in_txn = Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.GetCrossing("CR-B"));
    return {};
  });
  ASSERT_FALSE(in_txn.has_value());
  EXPECT_EQ(in_txn.error().kind, ErrorKind::kInternal);
}

// --- Batches and the audit chain --------------------------------------------------------------

// The only way to make a commit fail from outside is to hold the write lock: the store then
// waits for its busy timeout (5 s) and gives up on the whole batch.
TEST_F(SqliteStoreTest, BatchFailsAsAWholeWhenTheTransactionCannotStart) {
  Reopen();
  auto first = Write([](WriteTxn& txn) -> Status {
    BF_TRY(txn.AppendAudit(Draft("CR-1", "declare")));
    return {};
  });
  ASSERT_TRUE(first.has_value());
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("BEGIN IMMEDIATE"), "");
    std::vector<TxnFn> batch(2, [](WriteTxn& txn) -> Status {
      BF_TRY(txn.InsertCrossing(MakeCrossing("CR-2")));
      BF_TRY(txn.AppendAudit(Draft("CR-2", "declare")));
      return {};
    });
    auto results = store_->WriteBatch(batch);
    ASSERT_EQ(results.size(), 2u);
    for (const Status& s : results) {
      ASSERT_FALSE(s.has_value());
      EXPECT_EQ(s.error().kind, ErrorKind::kUnavailable);
      EXPECT_EQ(s.error().code, "store_write_failed");
      EXPECT_NE(s.error().message.find("locked"), std::string::npos) << s.error().message;
    }
    ASSERT_EQ(raw.Exec("ROLLBACK"), "");
  }
  // The store recovers and the chain continues from the committed head.
  auto next = Write([](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(AuditRecord r, txn.AppendAudit(Draft("CR-1", "assess", 1)));
    if (r.seq != 2) return Internal(fmt::format("seq {}", r.seq));
    return {};
  });
  EXPECT_TRUE(next.has_value()) << next.error().ToString();
  auto two = store_->GetCrossing("CR-2");
  ASSERT_TRUE(two.has_value());
  EXPECT_FALSE(two->has_value());
  ExpectChainIntact(*store_, 2);
}

TEST_F(SqliteStoreTest, AuditChainContinuesAcrossReopen) {
  Reopen();
  for (int i = 0; i < 3; ++i) {
    auto s = Write([i](WriteTxn& txn) -> Status {
      BF_TRY(txn.AppendAudit(Draft("CR-1", "event", i)));
      return {};
    });
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  auto before = store_->ReadAudit(0, 100);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(before->size(), 3u);
  const std::string head_hash = before->back().hash;

  Reopen();
  AuditRecord appended;
  auto s = Write([&](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(appended, txn.AppendAudit(Draft("CR-1", "event", 3)));
    return {};
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(appended.seq, 4);
  EXPECT_EQ(appended.prev_hash, head_hash);
  ExpectChainIntact(*store_, 4);

  auto first = store_->ReadAudit(0, 1);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().prev_hash, kGenesisHash);
  auto page = store_->ReadAudit(2, 100);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[1].seq, 4);
  EXPECT_EQ((*page)[1].body, R"({"n":3})");
  EXPECT_EQ((*page)[1].at, kT0 + minutes(3));
  EXPECT_EQ((*page)[1].actor_role, "forwarder");
}

// The CLI adds users while a server runs: two stores on one file must both extend the chain.
TEST_F(SqliteStoreTest, TwoStoresOnOneFileExtendOneChain) {
  Reopen();
  auto other = SqliteStore::Open(SqliteOptions{path_, 1, true}, Hs());
  ASSERT_TRUE(other.has_value()) << other.error().ToString();
  auto append = [](SqliteStore& store, int n) {
    return store.Write([n](WriteTxn& txn) -> Status {
      BF_TRY(txn.AppendAudit(Draft("CR-1", "event", n)));
      return {};
    });
  };
  for (int i = 0; i < 6; ++i) {
    SqliteStore& store = i % 3 == 1 ? **other : *store_;
    auto s = append(store, i);
    ASSERT_TRUE(s.has_value()) << "append " << i << ": " << s.error().ToString();
  }
  ExpectChainIntact(*store_, 6);
}

TEST_F(SqliteStoreTest, AuditLogRefusesUpdateAndDelete) {
  Reopen();
  auto s = Write([](WriteTxn& txn) -> Status {
    BF_TRY(txn.AppendAudit(Draft("CR-1", "declare")));
    BF_TRY(txn.AppendAudit(Draft("CR-1", "assess", 1)));
    return {};
  });
  ASSERT_TRUE(s.has_value());
  RawDb raw(path_);
  std::string update = raw.Exec("UPDATE audit_log SET action = 'forged' WHERE seq = 1");
  EXPECT_NE(update.find("append-only"), std::string::npos) << update;
  std::string del = raw.Exec("DELETE FROM audit_log WHERE seq = 2");
  EXPECT_NE(del.find("append-only"), std::string::npos) << del;
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM audit_log"), 2);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM audit_log WHERE action = 'forged'"), 0);
  ExpectChainIntact(*store_, 2);
}

// --- Durability ------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, DataSurvivesReopen) {
  Reopen();
  Crossing c = MakeCrossing("CR-DURABLE");
  auto s = Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertUser(MakeUser("U-A", "admin.one", Role::kAdministrator)));
    BF_TRY(txn.InsertCrossing(c));
    BF_TRY(txn.AppendAudit(Draft("CR-DURABLE", "declare")));
    BF_TRY(txn.PutIdempotency(IdempotencyRecord{"U-A", "k1", "fp", 201, "{}", kT0}));
    return {};
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  store_.reset();  // destroy the store object

  // The file alone (no -wal needed after a clean close) holds everything.
  Reopen();
  auto read = store_->GetCrossing("CR-DURABLE");
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ(Json(**read), Json(c));
  auto user = store_->FindUserById("U-A");
  ASSERT_TRUE(user.has_value() && user->has_value());
  ExpectChainIntact(*store_, 1);
  auto idem = Write([](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(auto r, txn.FindIdempotency("U-A", "k1"));
    if (!r) return Internal("idempotency record lost");
    return {};
  });
  EXPECT_TRUE(idem.has_value()) << idem.error().ToString();
  EXPECT_TRUE(store_->Ping().has_value());
}

TEST_F(SqliteStoreTest, CommittedDataIsVisibleToAnotherConnectionBeforeClose) {
  Reopen();
  Insert(MakeCrossing("CR-1"));
  // While the store is still open, a separate connection (as after a crash) sees the commit.
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM crossings WHERE id = 'CR-1'"), 1);
}

// --- Group commit: the WAL's sync off the writer's path ----------------------------------------

// Holds the sync thread inside its next sync until Release(), and counts syncs.
class SyncGate {
 public:
  std::function<Status()> Fault() {
    return [this]() -> Status {
      std::unique_lock lock(mu_);
      ++syncs_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      return result_;
    };
  }
  void Release(Status result = {}) {
    std::lock_guard lock(mu_);
    open_ = true;
    result_ = std::move(result);
    cv_.notify_all();
  }
  // Waits until `n` syncs have begun.
  void AwaitSyncs(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return syncs_ >= n; });
  }
  int syncs() {
    std::lock_guard lock(mu_);
    return syncs_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int syncs_ = 0;
  Status result_;
};

TEST_F(SqliteStoreTest, DurableCallbackWaitsForTheWalSync) {
  Reopen();
  SyncGate gate;
  store_->SetSyncFaultForTesting(gate.Fault());
  std::atomic<bool> durable{false};
  Crossing c = MakeCrossing("CR-SYNC");
  TxnFn insert = [&](WriteTxn& txn) { return txn.InsertCrossing(c); };
  std::vector<Status> statuses =
      store_->WriteBatchThen(std::span<const TxnFn>(&insert, 1), [&](Status s) {
        EXPECT_TRUE(s.has_value()) << s.error().ToString();
        durable = true;
      });
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_TRUE(statuses[0].has_value());
  gate.AwaitSyncs(1);
  // Committed, readable, and not yet acknowledged as durable.
  EXPECT_FALSE(durable);
  EXPECT_EQ(RawDb(path_).Int("SELECT COUNT(*) FROM crossings WHERE id = 'CR-SYNC'"), 1);
  std::atomic<bool> waited{false};
  std::thread waiter([&] {
    EXPECT_TRUE(store_->WaitDurable().has_value());
    waited = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(waited);
  gate.Release();
  waiter.join();
  EXPECT_TRUE(durable);
  EXPECT_TRUE(waited);
}

TEST_F(SqliteStoreTest, OneSyncCoversEveryCommitMadeBeforeIt) {
  Reopen();
  SyncGate gate;
  store_->SetSyncFaultForTesting(gate.Fault());
  std::mutex mu;
  std::vector<int> order;
  std::vector<TxnFn> inserts;
  for (int i = 0; i < 4; ++i) {
    inserts.push_back(
        [i](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing(fmt::format("CR-G{}", i))); });
  }
  auto write = [&](int i) {
    std::vector<Status> statuses =
        store_->WriteBatchThen(std::span<const TxnFn>(&inserts[i], 1), [&, i](Status s) {
          EXPECT_TRUE(s.has_value());
          std::lock_guard lock(mu);
          order.push_back(i);
        });
    EXPECT_TRUE(statuses.at(0).has_value());
  };
  write(0);
  gate.AwaitSyncs(1);                    // the first commit's sync is under way (and held)
  for (int i = 1; i < 4; ++i) write(i);  // these commit while it runs
  gate.Release();
  ASSERT_TRUE(store_->WaitDurable().has_value());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(gate.syncs(), 2);  // one for the first commit, one for the three behind it
}

TEST_F(SqliteStoreTest, AFailedSyncFailsItsCommitsAndEveryLaterWrite) {
  Reopen();
  SyncGate gate;
  gate.Release(Unavailable("store_sync_failed", "fdatasync: Input/output error"));
  store_->SetSyncFaultForTesting(gate.Fault());
  auto s = Write([](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-LOST")); });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, "store_sync_failed");
  // Nothing more is written, and the store says it is not ready.
  auto later = Write([](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-LATER")); });
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code, "store_sync_failed");
  EXPECT_EQ(RawDb(path_).Int("SELECT COUNT(*) FROM crossings WHERE id = 'CR-LATER'"), 0);
  EXPECT_FALSE(store_->Ping().has_value());
  EXPECT_FALSE(store_->WaitDurable().has_value());
}

TEST_F(SqliteStoreTest, ABatchThatFailedNeedsNoSync) {
  Reopen();
  SyncGate gate;
  gate.Release();
  store_->SetSyncFaultForTesting(gate.Fault());
  auto s = Write([](WriteTxn&) -> Status { return Internal("refused"); });
  EXPECT_FALSE(s.has_value());
  EXPECT_EQ(gate.syncs(), 0);
  EXPECT_TRUE(
      Write([](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-1")); }).has_value());
  EXPECT_EQ(gate.syncs(), 1);
}

}  // namespace
}  // namespace borderflow
