// What only the PostgreSQL store has: migrations in a database, the append-only audit_log, byte
// order collations, durability settings, two stores (two processes) extending one audit chain,
// reconnection after the server drops connections, passwords kept out of messages; and the
// factory that picks a store by location. The Store contract itself runs in
// store_contract_test.cpp. Needs BORDERFLOW_TEST_PG_URL (scripts/test.sh); skipped without it.

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <borderflow/store/postgres_store.h>
#include <borderflow/store/store_factory.h>

#include "../migrations.h"
#include "../store_test_support.h"
#include "pg_conn.h"
#include "pg_test_support.h"

namespace borderflow {
namespace {

using namespace store_test;  // NOLINT(build/namespaces): test data only

// --- Without a server -------------------------------------------------------------------------

TEST(PostgresUrlTest, PasswordsAreRedacted) {
  EXPECT_EQ(pg::RedactPassword("postgresql://bob:s3cret@db.example:5432/bf"),
            "postgresql://bob:***@db.example:5432/bf");
  EXPECT_EQ(pg::RedactPassword("postgres://bob@db/bf?sslmode=require&password=s3cret"),
            "postgres://bob@db/bf?sslmode=require&password=***");
  EXPECT_EQ(pg::RedactPassword("host=db user=bob password='s 3cret' dbname=bf"),
            "host=db user=bob password=*** dbname=bf");
  EXPECT_EQ(pg::RedactPassword("postgresql://bob@db/bf"), "postgresql://bob@db/bf");
  EXPECT_EQ(pg::RedactPassword("postgresql:///bf?host=/run/pg"), "postgresql:///bf?host=/run/pg");
}

TEST(StoreFactoryTest, LocationsPickTheBackend) {
  EXPECT_TRUE(IsPostgresUrl("postgresql://u@h/db"));
  EXPECT_TRUE(IsPostgresUrl("postgres://u@h/db"));
  EXPECT_FALSE(IsPostgresUrl("var/borderflow.db"));
  EXPECT_FALSE(IsPostgresUrl("sqlite:var/x.db"));
  EXPECT_EQ(SqlitePathOf("var/borderflow.db"), "var/borderflow.db");
  EXPECT_EQ(SqlitePathOf("sqlite:var/x.db"), "var/x.db");
  EXPECT_EQ(SqlitePathOf("sqlite:///srv/x.db"), "/srv/x.db");
  EXPECT_EQ(SqlitePathOf("postgresql://u@h/db"), "");
  EXPECT_EQ(DescribeStore("postgresql://u:pw@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(DescribeStore("sqlite:var/x.db"), "var/x.db");

  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("bf_store_factory_{}_{:08x}", getpid(), std::random_device()());
  std::filesystem::create_directories(dir);
  {
    auto store = OpenStore("sqlite:" + (dir / "x.db").string(), Hs());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    EXPECT_NE(dynamic_cast<SqliteStore*>(store->get()), nullptr);
    auto migrated = MigrateStore((dir / "x.db").string());
    ASSERT_TRUE(migrated.has_value());
    EXPECT_EQ(migrated->current_version, store::LatestSchemaVersion());
    EXPECT_TRUE(migrated->applied.empty());
  }
  std::filesystem::remove_all(dir);
}

TEST(PostgresStoreOpenTest, FailuresNameTheDatabaseWithoutThePassword) {
  // Port 1 on the loopback: refused at once.
  auto store = PostgresStore::Open(PostgresOptions{"postgresql://bob:s3cret@127.0.0.1:1/bf"}, Hs());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(store.error().code, "store_open_failed");
  EXPECT_NE(store.error().message.find("postgresql://bob:***@127.0.0.1:1/bf"), std::string::npos)
      << store.error().message;
  EXPECT_EQ(store.error().message.find("s3cret"), std::string::npos) << store.error().message;
}

// --- Against the test cluster -----------------------------------------------------------------

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pg_test::BaseUrl()) {
      if (pg_test::Required()) FAIL() << "BORDERFLOW_REQUIRE_PG=1: " << pg_test::kSkipMessage;
      GTEST_SKIP() << pg_test::kSkipMessage;
    }
    auto schema = pg_test::Schema::Create(*pg_test::BaseUrl());
    ASSERT_TRUE(schema.has_value()) << schema.error().ToString();
    schema_ = std::move(*schema);
  }

  std::unique_ptr<PostgresStore> Open(bool migrate = true, std::string url = "") {
    auto store =
        PostgresStore::Open(PostgresOptions{url.empty() ? schema_->url() : url, 2, migrate}, Hs());
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  // Runs `sql` on the test schema through the administrator's connection.
  Result<pg::Res> Admin(const std::string& sql) {
    BF_TRY(schema_->admin().Exec(fmt::format("SET search_path = {}", schema_->name())));
    return schema_->admin().Exec(sql);
  }

  std::unique_ptr<pg_test::Schema> schema_;
};

TEST_F(PostgresStoreTest, MigrationsAreAppliedOnceWithSQLitesVersions) {
  auto first = PostgresStore::Migrate(schema_->url());
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_EQ(first->applied.size(), store::Migrations().size());
  for (size_t i = 0; i < first->applied.size(); ++i) {
    EXPECT_EQ(first->applied[i], store::Migrations()[i].name);
  }
  EXPECT_EQ(first->current_version, store::LatestSchemaVersion());
  auto again = PostgresStore::Migrate(schema_->url());
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(again->current_version, store::LatestSchemaVersion());

  auto rows = Admin("SELECT version, name FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->rows(), static_cast<int>(store::Migrations().size()));
  for (int i = 0; i < rows->rows(); ++i) {
    EXPECT_EQ(rows->Int(i, 0), store::Migrations()[i].version);
    EXPECT_EQ(rows->Text(i, 1), store::Migrations()[i].name);
  }
}

TEST_F(PostgresStoreTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto status = PostgresStore::Migrate(schema_->url());
      if (!status) {
        ++failures;
        return;
      }
      applied += static_cast<int>(status->applied.size());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(store::Migrations().size()));
}

TEST_F(PostgresStoreTest, SchemaTooNewAndOutdatedAreRefused) {
  auto outdated = PostgresStore::Open(PostgresOptions{schema_->url(), 1, false}, Hs());
  ASSERT_FALSE(outdated.has_value());
  EXPECT_EQ(outdated.error().code, "schema_outdated");

  ASSERT_TRUE(Open() != nullptr);
  ASSERT_TRUE(Admin("INSERT INTO schema_migrations VALUES (99, '0099_future', 0)").has_value());
  auto too_new = PostgresStore::Open(PostgresOptions{schema_->url()}, Hs());
  ASSERT_FALSE(too_new.has_value());
  EXPECT_EQ(too_new.error().code, "schema_too_new");
  auto migrate = PostgresStore::Migrate(schema_->url());
  ASSERT_FALSE(migrate.has_value());
  EXPECT_EQ(migrate.error().code, "schema_too_new");
}

TEST_F(PostgresStoreTest, AuditLogRefusesUpdateDeleteAndTruncate) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store
                  ->Write([](WriteTxn& txn) -> Status {
                    BF_TRY(txn.AppendAudit(Draft("CR-1", "declare")));
                    return {};
                  })
                  .has_value());
  for (const char* sql :
       {"UPDATE audit_log SET body = '{}'", "DELETE FROM audit_log", "TRUNCATE audit_log"}) {
    auto r = Admin(sql);
    ASSERT_FALSE(r.has_value()) << sql;
    EXPECT_NE(r.error().message.find("append-only"), std::string::npos) << r.error().message;
  }
  ExpectChainIntact(*store, 1);
}

TEST_F(PostgresStoreTest, OrderedColumnsCompareBytewise) {
  ASSERT_TRUE(Open() != nullptr);
  auto r =
      Admin(fmt::format("SELECT table_name || '.' || column_name FROM information_schema.columns "
                        "WHERE table_schema = '{}' AND collation_name = 'C' ORDER BY 1",
                        schema_->name()));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  std::vector<std::string> columns;
  for (int i = 0; i < r->rows(); ++i) columns.emplace_back(r->Text(i, 0));
  EXPECT_EQ(columns, (std::vector<std::string>{
                         "crossings.company_id", "crossings.direction", "crossings.driver_document",
                         "crossings.id", "crossings.lane_class", "crossings.plate",
                         "crossings.state", "records.id", "records.kind", "users.name"}));
}

// 0003_driver_scope on a database written before it: each stored crossing's driver document is
// read out of its document, so that drivers find the crossings declared before the upgrade.
TEST_F(PostgresStoreTest, DriverScopeMigrationFillsStoredCrossings) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    CrossingSpec spec;
    spec.id = "CR-OLD-1";
    Crossing old = MakeCrossing(spec);
    old.declaration.driver.document_number = "B0004711";
    ASSERT_TRUE(store->Write([&](WriteTxn& txn) { return txn.InsertCrossing(old); }).has_value());
    spec.id = "CR-OLD-2";
    ASSERT_TRUE(store->Write([&](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing(spec)); })
                    .has_value());
  }
  // Back to the schema of version 2, as an older borderflow left it.
  ASSERT_TRUE(Admin("ALTER TABLE crossings DROP COLUMN driver_document; "
                    "ALTER TABLE users DROP COLUMN driver_document; "
                    "DELETE FROM schema_migrations WHERE version = 3")
                  .has_value());
  auto migrated = PostgresStore::Migrate(schema_->url());
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  EXPECT_EQ(migrated->applied, (std::vector<std::string>{"0003_driver_scope"}));
  auto store = Open();
  ASSERT_TRUE(store);
  CrossingFilter f;
  f.driver_document = "B0004711";
  auto page = store->ListCrossings(f);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "CR-OLD-1");
  f.driver_document = MakeCrossing("x").declaration.driver.document_number;
  page = store->ListCrossings(f);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "CR-OLD-2");
}

TEST_F(PostgresStoreTest, TwoStoresOnOneDatabaseExtendOneChain) {
  // Two stores are two writer connections, as two server processes would have.
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  constexpr int kBatches = 30;
  std::atomic<int> failures{0};
  auto writer = [&](PostgresStore& store, std::string prefix) {
    for (int i = 0; i < kBatches; ++i) {
      std::vector<TxnFn> batch;
      for (int k = 0; k < 3; ++k) {
        std::string id = fmt::format("{}-{:03}-{}", prefix, i, k);
        batch.push_back([id](WriteTxn& txn) -> Status {
          BF_TRY(txn.InsertCrossing(MakeCrossing(id)));
          BF_TRY(txn.AppendAudit(Draft(id, "declare")));
          return {};
        });
      }
      for (const Status& s : store.WriteBatch(batch)) {
        if (!s) ++failures;
      }
    }
  };
  std::thread ta(writer, std::ref(*a), "A");
  std::thread tb(writer, std::ref(*b), "B");
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectChainIntact(*a, 2 * kBatches * 3);
}

TEST_F(PostgresStoreTest, TextWithNulIsRefusedAndFailsOnlyItsFunction) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<TxnFn> batch = {
      [](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-1")); },
      // PostgreSQL text has no NUL: the statement is refused before it is sent.
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.AppendAudit(Draft("CR-X", "declare")));
        return txn.PutRecord(StoredRecord{"ban", std::string("a\0b", 3), "{}", kT0});
      },
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertCrossing(MakeCrossing("CR-3")));
        BF_TRY(txn.AppendAudit(Draft("CR-3", "declare")));
        return {};
      },
  };
  auto results = store->WriteBatch(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].has_value());
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().code, "store_invalid_text");
  EXPECT_TRUE(results[2].has_value());
  ExpectChainIntact(*store, 1);
}

TEST_F(PostgresStoreTest, SwallowedSqlErrorFailsTheFunction) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(
      Admin("ALTER TABLE records ADD CONSTRAINT body_short CHECK (length(body) < 10)").has_value());
  std::vector<TxnFn> batch = {
      [](WriteTxn& txn) -> Status {
        BF_TRY(txn.InsertCrossing(MakeCrossing("CR-1")));
        (void)txn.PutRecord(StoredRecord{"ban", "x", "far too long for the check", kT0});
        return {};  // swallowed
      },
      [](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-2")); },
  };
  auto results = store->WriteBatch(batch);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_FALSE(results[0].has_value());
  EXPECT_EQ(results[0].error().kind, ErrorKind::kInternal);
  EXPECT_NE(results[0].error().message.find("body_short"), std::string::npos)
      << results[0].error().message;
  EXPECT_TRUE(results[1].has_value());
  auto one = store->GetCrossing("CR-1");
  ASSERT_TRUE(one.has_value());
  EXPECT_FALSE(one->has_value());
}

TEST_F(PostgresStoreTest, ReconnectsAfterTheServerDropsItsConnections) {
  // Our own application_name, so that only this test's connections are dropped.
  const std::string app = schema_->name();
  auto store = Open(true, schema_->url() + "&application_name=" + app);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Write([](WriteTxn& txn) { return txn.InsertCrossing(MakeCrossing("CR-1")); })
                  .has_value());
  auto killed = schema_->admin().Exec(fmt::format(
      "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
      "'{}'",
      app));
  ASSERT_TRUE(killed.has_value()) << killed.error().ToString();
  EXPECT_EQ(killed->Int(0, 0), 3);  // the writer and two readers
  // Reads and the next batch go through on new connections.
  auto read = store->GetCrossing("CR-1");
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_TRUE(read->has_value());
  EXPECT_TRUE(store->Ping().has_value());
  auto write = store->Write([](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertCrossing(MakeCrossing("CR-2")));
    BF_TRY(txn.AppendAudit(Draft("CR-2", "declare")));
    return {};
  });
  EXPECT_TRUE(write.has_value()) << write.error().ToString();
  ExpectChainIntact(*store, 1);
}

TEST_F(PostgresStoreTest, OpenStoreWithAUrlOpensPostgres) {
  auto store = OpenStore(schema_->url(), Hs());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  EXPECT_NE(dynamic_cast<PostgresStore*>(store->get()), nullptr);
  auto migrated = MigrateStore(schema_->url());
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  EXPECT_EQ(migrated->current_version, store::LatestSchemaVersion());
}

}  // namespace
}  // namespace borderflow
