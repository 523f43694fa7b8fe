#pragma once

// The PostgreSQL store (issue 8) on libpq: one writer connection, a small pool of reader
// connections, statements prepared once per connection, the same versioned schema as SQLite
// (src/store/migrations.cpp). A batch is one transaction with a savepoint per function, committed
// with synchronous_commit on: WriteBatch returns only after the commit is durable on the server.
//
// The audit chain stays linear when several processes write to one database: a batch that
// appends takes a transaction-scoped advisory lock (pg_advisory_xact_lock, one per schema) and
// only then reads the chain head, so appends of different processes are serialised until
// commit. (Several serve processes on one database need more than the store: the engine's
// caches, issue 8's second part.)

#include <memory>
#include <string>
#include <string_view>

#include <borderflow/core/hs_code.h>
#include <borderflow/engine/store.h>
#include <borderflow/store/sqlite_store.h>  // MigrationStatus

namespace borderflow {

struct PostgresOptions {
  // A libpq connection URL (postgresql://user[:password]@host[:port]/database[?param=value&...])
  // or a key=value connection string. Parameters such as sslmode or options=-csearch_path%3Dx
  // pass through to libpq.
  std::string url;
  int read_connections = 4;  // pool for concurrent reads
  bool migrate = true;       // apply pending migrations on open
};

// Whether `url` names a PostgreSQL database (postgres:// or postgresql://).
bool IsPostgresUrl(std::string_view url);

class PostgresStore final : public Store {
 public:
  // Connects and, with options.migrate, brings the schema up to date. `hs` decodes stored
  // consignment lines (null: HS 2022). Errors: kUnavailable "store_open_failed" naming the
  // database (password redacted) and libpq's reason; "schema_too_new" when a newer borderflow
  // migrated the database; "schema_outdated" without options.migrate.
  static Result<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options,
                                                     std::shared_ptr<const HsNomenclature> hs);
  // Applies pending migrations (borderflow migrate). Concurrent migrators are serialised by an
  // advisory lock; each migration is one transaction.
  static Result<MigrationStatus> Migrate(const std::string& url);

  ~PostgresStore() override;

  // Thread safety as Store: WriteBatch serialises callers on the writer connection; reads borrow
  // a pooled connection each and see committed data only (READ COMMITTED, one statement).
  std::vector<Status> WriteBatch(std::span<const TxnFn> work) override;
  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override;
  Result<CrossingPage> ListCrossings(const CrossingFilter& filter) override;
  Result<std::vector<CrossingCount>> CountCrossings() override;
  Result<std::vector<AuditRecord>> ListAuditFor(std::string_view subject_type,
                                                std::string_view subject_id, int limit) override;
  Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) override;
  Result<int64_t> AuditHead() override;
  Result<std::vector<StoredRecord>> ListRecords(std::string_view kind) override;
  Result<std::optional<UserRecord>> FindUserById(std::string_view id) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Result<std::optional<TokenRecord>> FindToken(std::string_view token_id) override;
  Result<std::vector<TokenRecord>> ListTokens(std::string_view user_id) override;
  Status Ping() override;

  struct Impl;

 private:
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace borderflow
