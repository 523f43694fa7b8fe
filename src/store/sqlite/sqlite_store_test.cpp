#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/store/sqlite_store.h>

#include "../migrations.h"

namespace borderflow {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;

const Timestamp kT0 = FromUnixMillis(1'795'000'000'123);  // 2026-11-17, millisecond precision

std::shared_ptr<const HsNomenclature> Hs() { return HsNomenclature::Hs2022(); }

Plate MustPlate(std::string_view text) {
  auto p = ParsePlate(text);
  EXPECT_TRUE(p.has_value()) << text << ": " << p.error().ToString();
  return p ? *p : Plate{};
}

HsCode MustHs(std::string_view code) {
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
Crossing MakeCrossing(const CrossingSpec& spec) {
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

Crossing MakeCrossing(std::string id) {
  CrossingSpec spec;
  spec.id = std::move(id);
  return MakeCrossing(spec);
}

std::string Json(const Crossing& c) { return ToJsonText(EncodeCrossing(c)); }

AuditDraft Draft(std::string subject_id, std::string action, int n = 0) {
  AuditDraft d;
  d.at = kT0 + minutes(n);
  d.actor_id = "U0000000000000001";
  d.actor_role = "forwarder";
  d.subject_type = "crossing";
  d.subject_id = std::move(subject_id);
  d.action = std::move(action);
  d.body = fmt::format(R"({{"n":{}}})", n);
  return d;
}

UserRecord MakeUser(std::string id, std::string name, Role role = Role::kGateOperator,
                    std::string company = "") {
  return UserRecord{std::move(id), std::move(name), role, std::move(company), kT0};
}

// Checks the whole trail: seqs 1..n without gaps, each prev_hash the previous hash, each hash
// recomputable.
void ExpectChainIntact(SqliteStore& store, int64_t expected_records) {
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

TEST_F(SqliteStoreTest, CrossingRoundTrip) {
  Reopen();
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

TEST_F(SqliteStoreTest, MinimalCrossingRoundTrip) {
  Reopen();
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

TEST_F(SqliteStoreTest, UpdateReportsVersionConflictAndNotFound) {
  Reopen();
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

TEST_F(SqliteStoreTest, InsertExistingCrossingConflicts) {
  Reopen();
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

TEST_F(SqliteStoreTest, EmptyBatchReturnsNothing) {
  Reopen();
  EXPECT_TRUE(store_->WriteBatch({}).empty());
}

TEST_F(SqliteStoreTest, FailedFunctionInBatchLeavesNoTrace) {
  Reopen();
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

TEST_F(SqliteStoreTest, FailingFunctionAfterSeveralAppendsRestoresTheHead) {
  Reopen();
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

TEST_F(SqliteStoreTest, ThrowingFunctionIsRolledBackAlone) {
  Reopen();
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

TEST_F(SqliteStoreTest, ListAuditForOneSubjectOldestFirst) {
  Reopen();
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

TEST_F(SqliteStoreTest, IdempotencyPutAndFind) {
  Reopen();
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

TEST_F(SqliteStoreTest, UsersHaveUniqueNames) {
  Reopen();
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

TEST_F(SqliteStoreTest, TokensInsertFindRevoke) {
  Reopen();
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

TEST_F(SqliteStoreTest, ListCrossingsPaginatesWithoutDuplicates) {
  Reopen();
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

TEST_F(SqliteStoreTest, ListCrossingsFilters) {
  Reopen();
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

TEST_F(SqliteStoreTest, CountCrossingsGroupsByDirectionLaneClassAndState) {
  Reopen();
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

// --- Concurrency and durability ---------------------------------------------------------------

TEST_F(SqliteStoreTest, ConcurrentReadsWhileWriting) {
  Reopen(/*readers=*/3);  // fewer connections than reader threads: the pool makes them wait
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

TEST_F(SqliteStoreTest, ConcurrentWriteCallersAreSerialised) {
  Reopen();
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

}  // namespace
}  // namespace borderflow
