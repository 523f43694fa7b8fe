#pragma once

// The embedded default store: SQLite in WAL mode, one writer connection, a small pool of reader
// connections. Commits are group-committed: a sync thread fdatasyncs the WAL once for every
// commit made before it began, so the next batch is written while the last one syncs.
// WriteBatch returns once its commit is on disk; WriteBatchThen at the commit, with a callback
// once it is on disk.

#include <functional>
#include <memory>
#include <string>

#include <borderflow/core/hs_code.h>
#include <borderflow/engine/store.h>

namespace borderflow {

struct SqliteOptions {
  std::string path;          // database file; created when missing
  int read_connections = 4;  // pool for concurrent reads
  bool migrate = true;       // apply pending migrations on open
};

struct MigrationStatus {
  int current_version = 0;           // after the call
  std::vector<std::string> applied;  // "0001_initial" applied by this call
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when needed) and, with options.migrate, brings the schema up to date.
  // `hs` decodes stored consignment lines. Errors: kUnavailable "store_open_failed" naming the
  // path and SQLite's reason; "schema_too_new" when the file was written by a newer borderflow.
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options,
                                                   std::shared_ptr<const HsNomenclature> hs);
  // Applies pending migrations to the database at `path` (borderflow migrate).
  static Result<MigrationStatus> Migrate(const std::string& path);

  ~SqliteStore() override;

  std::vector<Status> WriteBatch(std::span<const TxnFn> work) override;
  std::vector<Status> WriteBatchThen(std::span<const TxnFn> work,
                                     std::function<void(Status)> durable) override;
  Status WaitDurable() override;
  // Tests only: `fault` runs on the sync thread before each sync of the WAL (it may block); an
  // error stands for a failed sync (and, as one would, stops every later write).
  void SetSyncFaultForTesting(std::function<Status()> fault);
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
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the audit trail of an SQLite database file without writing to it (`borderflow audit
// verify`): the file is opened read-only, so verifying never creates, migrates or converts a
// file, and works on a copy in a read-only directory (such a copy without its -wal file is
// opened as immutable: no writer can be at work in a directory nobody may write to).
class SqliteAuditReader {
 public:
  // Errors: kUnavailable "store_open_failed" naming the path and the reason (not a database,
  // not a borderflow database, unreadable).
  static Result<std::unique_ptr<SqliteAuditReader>> Open(const std::string& path);
  ~SqliteAuditReader();
  // Records with seq > after_seq in order, at most `limit`.
  Result<std::vector<AuditRecord>> Read(int64_t after_seq, int limit);

  struct Impl;

 private:
  explicit SqliteAuditReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace borderflow
