#pragma once

// PostgreSQL for tests (header-only; link bf_store_postgres). Tests run against the database
// named by the environment variable BORDERFLOW_TEST_PG_URL (scripts/test.sh starts a throwaway
// cluster and sets it); each test gets a fresh schema of its own (`search_path` in the URL),
// dropped afterwards. Without the variable the PostgreSQL cases are skipped, unless
// BORDERFLOW_REQUIRE_PG=1 (CI) makes that a failure.

#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <unistd.h>

#include <borderflow/store/postgres_store.h>

#include "pg_conn.h"

namespace borderflow::pg_test {

inline constexpr const char* kSkipMessage =
    "BORDERFLOW_TEST_PG_URL is not set: PostgreSQL cases skipped (scripts/test.sh starts a "
    "throwaway cluster and sets it; or scripts/pg-cluster.sh start)";

// The test cluster's URL, or nullopt when PostgreSQL tests are off.
inline std::optional<std::string> BaseUrl() {
  const char* url = std::getenv("BORDERFLOW_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

// Whether a missing BORDERFLOW_TEST_PG_URL must fail the tests instead of skipping them.
inline bool Required() {
  const char* required = std::getenv("BORDERFLOW_REQUIRE_PG");
  return required != nullptr && std::string(required) == "1";
}

// `base` with `schema` as the only schema on the search path.
inline std::string WithSearchPath(const std::string& base, const std::string& schema) {
  if (base.find("://") == std::string::npos) {  // key=value form
    return fmt::format("{} options='-csearch_path={}'", base, schema);
  }
  return fmt::format("{}{}options=-csearch_path%3D{}", base,
                     base.find('?') == std::string::npos ? '?' : '&', schema);
}

// A fresh schema in the test database, dropped (with everything in it) on destruction.
class Schema {
 public:
  static Result<std::unique_ptr<Schema>> Create(const std::string& base_url) {
    std::random_device rd;
    std::string name = fmt::format("bf_test_{}_{:08x}{:08x}", getpid(), rd(), rd());
    BF_ASSIGN_OR_RETURN(auto admin, pg::Conn::Open(base_url));
    BF_TRY(admin->Exec(fmt::format("CREATE SCHEMA {}", name)));
    return std::unique_ptr<Schema>(new Schema(std::move(admin), name, base_url));
  }
  ~Schema() { (void)admin_->Exec(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", name_)); }
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  const std::string& name() const { return name_; }
  // A URL whose connections see only this schema.
  std::string url() const { return WithSearchPath(base_url_, name_); }
  pg::Conn& admin() { return *admin_; }

 private:
  Schema(std::unique_ptr<pg::Conn> admin, std::string name, std::string base_url)
      : admin_(std::move(admin)), name_(std::move(name)), base_url_(std::move(base_url)) {}
  std::unique_ptr<pg::Conn> admin_;
  std::string name_;
  std::string base_url_;
};

// A PostgresStore in a schema of its own; the schema is dropped after the store is closed.
class SchemaStore final : public Store {
 public:
  SchemaStore(std::unique_ptr<Schema> schema, std::unique_ptr<PostgresStore> store)
      : schema_(std::move(schema)), store_(std::move(store)) {}
  ~SchemaStore() override { store_.reset(); }  // connections closed before the schema drops

  const Schema& schema() const { return *schema_; }
  PostgresStore& inner() { return *store_; }

  std::vector<Status> WriteBatch(std::span<const TxnFn> work) override {
    return store_->WriteBatch(work);
  }
  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override {
    return store_->GetCrossing(id);
  }
  Result<CrossingPage> ListCrossings(const CrossingFilter& filter) override {
    return store_->ListCrossings(filter);
  }
  Result<std::vector<CrossingCount>> CountCrossings() override { return store_->CountCrossings(); }
  Result<std::vector<AuditRecord>> ListAuditFor(std::string_view subject_type,
                                                std::string_view subject_id, int limit) override {
    return store_->ListAuditFor(subject_type, subject_id, limit);
  }
  Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) override {
    return store_->ReadAudit(after_seq, limit);
  }
  Result<std::vector<StoredRecord>> ListRecords(std::string_view kind) override {
    return store_->ListRecords(kind);
  }
  Result<std::optional<UserRecord>> FindUserById(std::string_view id) override {
    return store_->FindUserById(id);
  }
  Result<std::vector<UserRecord>> ListUsers() override { return store_->ListUsers(); }
  Result<std::optional<TokenRecord>> FindToken(std::string_view token_id) override {
    return store_->FindToken(token_id);
  }
  Result<std::vector<TokenRecord>> ListTokens(std::string_view user_id) override {
    return store_->ListTokens(user_id);
  }
  Status Ping() override { return store_->Ping(); }

 private:
  std::unique_ptr<Schema> schema_;
  std::unique_ptr<PostgresStore> store_;
};

// Opens an empty, migrated PostgresStore in a fresh schema of the test database. Call only when
// BaseUrl() has a value.
inline Result<std::unique_ptr<SchemaStore>> OpenStore(std::shared_ptr<const HsNomenclature> hs,
                                                      int read_connections = 4) {
  std::optional<std::string> base = BaseUrl();
  if (!base) return Unavailable("pg_test_disabled", kSkipMessage);
  BF_ASSIGN_OR_RETURN(auto schema, Schema::Create(*base));
  BF_ASSIGN_OR_RETURN(
      auto store,
      PostgresStore::Open(PostgresOptions{schema->url(), read_connections, true}, std::move(hs)));
  return std::make_unique<SchemaStore>(std::move(schema), std::move(store));
}

}  // namespace borderflow::pg_test
