#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <borderflow/core/json.h>
#include <borderflow/core/thread_name.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/store/sqlite_store.h>

#include "../migrations.h"
#include "../stored_crossing.h"
#include "../write_function.h"
#include "sqlite_db.h"

// SqliteStore: the file is a WAL database. The writer connection commits with
// synchronous=NORMAL (COMMIT writes the WAL frames without syncing them) and a sync thread
// (bf-wal-sync) then fdatasyncs the WAL file once for every commit that returned before the sync
// began: a group commit whose sync overlaps the next batch's work. WriteBatch waits for that
// sync, so it returns only after its commit is on disk, as with synchronous=FULL;
// WriteBatchThen returns at the commit and reports durability through its callback. One writer
// connection serves WriteBatch (under Impl::write_mu; the engine calls it from one thread,
// accidental concurrent callers queue); `read_connections` read-only connections serve the read
// methods concurrently, each borrowed for one call. WAL readers see every transaction committed
// before their statement starts and never block the writer.
//
// Every connection caches its prepared statements; a statement is reset as soon as the call that
// used it returns, so no read transaction stays open between calls.

namespace borderflow {

using sqlite::Db;
using sqlite::Stmt;

// Thread safety: `writer`, `head_seq` and `head_hash` are used only under `write_mu`; `idle` only
// under `pool_mu`. `readers`, `path` and `hs` are fixed after Open.
struct SqliteStore::Impl {
  std::string path;
  std::shared_ptr<const HsNomenclature> hs;

  std::mutex write_mu;
  std::unique_ptr<Db> writer;
  int64_t head_seq = 0;  // the last audit record: 0 and kGenesisHash when there is none
  std::string head_hash;

  std::vector<std::unique_ptr<Db>> readers;  // destroyed before `writer` (declared after it)
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<Db*> idle;

  // WAL checkpoints run on their own thread and connection, so that the writer's commits never
  // wait for a checkpoint's copying and fsync of the database file.
  std::unique_ptr<Db> checkpointer;
  std::thread checkpoint_thread;
  std::mutex checkpoint_mu;
  std::condition_variable checkpoint_cv;
  bool stopping = false;  // under checkpoint_mu

  // Durability (see the top of this file). Everything below is under sync_mu, except wal_fd
  // (the sync thread's own).
  std::thread sync_thread;
  std::mutex sync_mu;
  std::condition_variable sync_cv;    // wakes the sync thread
  std::condition_variable synced_cv;  // wakes WaitDurable
  struct AwaitingSync {
    bool wrote = false;  // the batch committed something (a failed batch has nothing to sync)
    std::function<void(Status)> durable;
  };
  std::vector<AwaitingSync> awaiting_sync;  // in commit order
  uint64_t commits_queued = 0;              // batches handed to the sync thread
  uint64_t commits_done = 0;                // batches whose callback has run
  std::optional<Error> sync_failed;         // sticky: no write is accepted after it
  bool sync_stopping = false;
  int wal_fd = -1;
  std::function<Status()> sync_fault;

  ~Impl() {
    StopSync();
    StopCheckpoints();
  }
  void StartCheckpoints();
  void StopCheckpoints();
  void StartSync();
  void StopSync();
  Status SyncWal();

  std::vector<Status> WriteBatchLocked(std::span<const TxnFn> work);
  Status ReloadHead();
};

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kWriterCacheKiB = 64 * 1024;
constexpr int kMaxReadConnections = 64;
constexpr int kMaxCrossingPage = 200;
constexpr int kMaxAuditPage = 10000;

// --- SQL --------------------------------------------------------------------------------------

constexpr std::string_view kSelectCrossingDoc = "SELECT id, doc FROM crossings WHERE id = ?1";
constexpr std::string_view kSelectCrossingVersion = "SELECT version FROM crossings WHERE id = ?1";
constexpr std::string_view kInsertCrossing =
    "INSERT INTO crossings (id, company_id, direction, lane_class, state, plate, version, "
    "created_at_ms, updated_at_ms, doc, driver_document) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12)";
constexpr std::string_view kUpdateCrossing =
    "UPDATE crossings SET company_id = ?2, direction = ?3, lane_class = ?4, state = ?5, "
    "plate = ?6, version = ?7, created_at_ms = ?8, updated_at_ms = ?9, doc = ?10, "
    "driver_document = ?12 WHERE id = ?1 AND version = ?11";
constexpr std::string_view kCountCrossings =
    "SELECT direction, lane_class, state, COUNT(*) FROM crossings "
    "GROUP BY direction, lane_class, state ORDER BY direction, lane_class, state";

constexpr std::string_view kAuditColumns =
    "seq, at_ms, actor_id, actor_role, subject_type, subject_id, action, body, prev_hash, hash";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (seq, at_ms, actor_id, actor_role, subject_type, subject_id, action, "
    "body, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr std::string_view kSelectAuditHead =
    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

constexpr std::string_view kSelectIdempotency =
    "SELECT scope, key, fingerprint, status, response, created_at_ms FROM idempotency "
    "WHERE scope = ?1 AND key = ?2";
constexpr std::string_view kInsertIdempotency =
    "INSERT INTO idempotency (scope, key, fingerprint, status, response, created_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

constexpr std::string_view kUserColumns =
    "id, name, role, company_id, created_at_ms, driver_document";
constexpr std::string_view kInsertUser =
    "INSERT INTO users (id, name, role, company_id, created_at_ms, driver_document) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

constexpr std::string_view kSelectToken =
    "SELECT id, user_id, secret_hash, label, created_at_ms, expires_at_ms, revoked_at_ms "
    "FROM tokens WHERE id = ?1";
constexpr std::string_view kListTokens =
    "SELECT id, user_id, secret_hash, label, created_at_ms, expires_at_ms, revoked_at_ms "
    "FROM tokens WHERE ?1 = '' OR user_id = ?1 ORDER BY created_at_ms, id";
constexpr std::string_view kInsertToken =
    "INSERT INTO tokens (id, user_id, secret_hash, label, created_at_ms, expires_at_ms, "
    "revoked_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
// A second revocation keeps the first instant.
constexpr std::string_view kRevokeToken =
    "UPDATE tokens SET revoked_at_ms = COALESCE(revoked_at_ms, ?2) WHERE id = ?1";

constexpr std::string_view kPutRecord =
    "INSERT INTO records (kind, id, body, updated_at_ms) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, "
    "updated_at_ms = excluded.updated_at_ms";
constexpr std::string_view kDeleteRecord = "DELETE FROM records WHERE kind = ?1 AND id = ?2";
constexpr std::string_view kGetRecord =
    "SELECT kind, id, body, updated_at_ms FROM records WHERE kind = ?1 AND id = ?2";
constexpr std::string_view kListRecords =
    "SELECT kind, id, body, updated_at_ms FROM records WHERE kind = ?1 ORDER BY id";

constexpr std::string_view kSchemaMigrationsExists =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
constexpr std::string_view kSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)";

// --- Helpers ----------------------------------------------------------------------------------

int64_t WallClockMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error OpenFailed(const std::string& path, std::string_view reason) {
  return Unavailable("store_open_failed",
                     fmt::format("cannot open database '{}': {}", path, reason));
}

using store::Corrupt;
using store::DecodeStoredCrossing;

bool IsUniqueViolation(int rc) {
  return rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE;
}

// Prepares (from the cache) and runs a statement without parameters or results.
Status RunSql(Db& db, std::string_view sql) {
  BF_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare(sql));
  return stmt.Run();
}

Result<int64_t> QueryInt(Db& db, std::string_view sql) {
  BF_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare(sql));
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

// Connection settings. The writer makes the file a WAL database with full durability: a commit
// is fsynced before it returns (a store's writer then leaves the sync to its sync thread).
Status Configure(Db& db, bool writer) {
  BF_TRY(db.Exec(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs)));
  if (!writer) return {};
  BF_ASSIGN_OR_RETURN(std::string mode, db.QueryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return Error(ErrorKind::kUnavailable, "store_unavailable",
                 fmt::format("journal_mode WAL refused (mode is '{}')", mode));
  }
  BF_TRY(db.Exec("PRAGMA synchronous = FULL"));
  BF_TRY(db.Exec("PRAGMA foreign_keys = ON"));
  // Performance of group commit: every function of a batch runs in a savepoint, whose
  // sub-journal would otherwise spill to a temporary file after 64 KiB; and a batch's dirty
  // pages should stay in the page cache until COMMIT instead of spilling into the WAL early.
  BF_TRY(db.Exec("PRAGMA temp_store = MEMORY"));
  BF_TRY(db.Exec(fmt::format("PRAGMA cache_size = -{}", kWriterCacheKiB)));
  return {};
}

Result<int> SchemaVersion(Db& db) {
  BF_ASSIGN_OR_RETURN(int64_t exists, QueryInt(db, kSchemaMigrationsExists));
  if (exists == 0) return 0;
  BF_ASSIGN_OR_RETURN(int64_t version, QueryInt(db, kSchemaVersion));
  return static_cast<int>(version);
}

Error SchemaTooNew(const std::string& path, int version) {
  return Error(ErrorKind::kUnavailable, "schema_too_new",
               fmt::format("database '{}' has schema version {}, but this borderflow knows only "
                           "up to version {}; use a newer borderflow",
                           path, version, store::LatestSchemaVersion()));
}

// Applies `m` inside the caller's transaction unless another process already did. Returns
// whether it was applied.
Result<bool> ApplyMigration(Db& db, const store::Migration& m) {
  BF_ASSIGN_OR_RETURN(int current, SchemaVersion(db));
  if (current >= m.version) return false;
  BF_TRY(db.Exec(m.sql));
  if (!m.sqlite_sql.empty()) BF_TRY(db.Exec(m.sqlite_sql));
  BF_ASSIGN_OR_RETURN(Stmt insert, db.Prepare(kInsertMigration));
  insert.Bind(1, m.version).Bind(2, m.name).Bind(3, WallClockMillis());
  BF_TRY(insert.Run());
  return true;
}

// Brings the schema of `db` up to date, one transaction per migration. A concurrent migrator
// is harmless: BEGIN IMMEDIATE serialises the two and each re-checks the version inside.
Result<MigrationStatus> RunMigrations(Db& db, const std::string& path) {
  if (auto s = db.Exec(store::kSchemaMigrationsDdl); !s) {
    return OpenFailed(path, s.error().message);
  }
  auto version = SchemaVersion(db);
  if (!version) return OpenFailed(path, version.error().message);
  if (*version > store::LatestSchemaVersion()) return SchemaTooNew(path, *version);

  MigrationStatus status;
  for (const store::Migration& m : store::Migrations()) {
    if (m.version <= *version) continue;
    Status done = db.Exec("BEGIN IMMEDIATE");
    Result<bool> applied = false;
    if (done) {
      applied = ApplyMigration(db, m);
      done = applied ? db.Exec("COMMIT") : Status(applied.error());
    }
    if (!done) {
      if (!db.autocommit()) (void)db.Exec("ROLLBACK");
      return OpenFailed(path, fmt::format("migration {} failed: {}", m.name, done.error().message));
    }
    if (*applied) status.applied.emplace_back(m.name);
  }
  version = SchemaVersion(db);
  if (!version) return OpenFailed(path, version.error().message);
  if (*version > store::LatestSchemaVersion()) return SchemaTooNew(path, *version);
  status.current_version = *version;
  return status;
}

Result<std::unique_ptr<Db>> OpenConnection(const std::string& path, bool writer) {
  int flags = writer ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
  auto db = Db::Open(path, flags);
  if (!db) return OpenFailed(path, db.error().message);
  if (auto s = Configure(**db, writer); !s) return OpenFailed(path, s.error().message);
  return std::move(*db);
}

Status CheckPath(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return OpenFailed(path,
                      "a file path is required (temporary and in-memory databases are not shared "
                      "between connections)");
  }
  return {};
}

// --- Row codecs -------------------------------------------------------------------------------

// Reads every row of `stmt` (columns: id, doc) as crossings.
Result<std::vector<Crossing>> ReadCrossings(Stmt& stmt, const HsNomenclature& hs) {
  std::vector<Crossing> out;
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    BF_ASSIGN_OR_RETURN(Crossing c, DecodeStoredCrossing(stmt.Text(0), stmt.Text(1), hs));
    out.push_back(std::move(c));
  }
}

AuditRecord ReadAuditRow(const Stmt& s) {
  AuditRecord r;
  r.seq = s.Int(0);
  r.at = FromUnixMillis(s.Int(1));
  r.actor_id = s.Text(2);
  r.actor_role = s.Text(3);
  r.subject_type = s.Text(4);
  r.subject_id = s.Text(5);
  r.action = s.Text(6);
  r.body = s.Text(7);
  r.prev_hash = s.Text(8);
  r.hash = s.Text(9);
  return r;
}

Result<std::vector<AuditRecord>> ReadAuditRows(Stmt& stmt) {
  std::vector<AuditRecord> out;
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(ReadAuditRow(stmt));
  }
}

Result<UserRecord> ReadUserRow(const Stmt& s) {
  UserRecord u;
  u.id = s.Text(0);
  u.name = s.Text(1);
  auto role = ParseRole(s.Text(2));
  if (!role) return Corrupt(fmt::format("stored user '{}' has unknown role '{}'", u.id, s.Text(2)));
  u.role = *role;
  u.company_id = s.Text(3);
  u.created_at = FromUnixMillis(s.Int(4));
  u.driver_document = s.Text(5);
  return u;
}

Result<std::optional<UserRecord>> QueryUser(Db& db, std::string_view column,
                                            std::string_view value) {
  BF_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare(fmt::format("SELECT {} FROM users WHERE {} = ?1",
                                                        kUserColumns, column)));
  stmt.Bind(1, value);
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<UserRecord>();
  BF_ASSIGN_OR_RETURN(UserRecord user, ReadUserRow(stmt));
  return std::optional<UserRecord>(std::move(user));
}

std::optional<int64_t> OptionalMillis(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

std::optional<Timestamp> OptionalTimestamp(std::optional<int64_t> ms) {
  if (!ms) return std::nullopt;
  return FromUnixMillis(*ms);
}

// --- Queries shared by the writer and the readers ---------------------------------------------

Result<std::optional<Crossing>> QueryCrossing(Db& db, const HsNomenclature& hs,
                                              std::string_view id) {
  BF_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare(kSelectCrossingDoc));
  stmt.Bind(1, id);
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<Crossing>();
  BF_ASSIGN_OR_RETURN(Crossing c, DecodeStoredCrossing(stmt.Text(0), stmt.Text(1), hs));
  return std::optional<Crossing>(std::move(c));
}

// Binds ?1..?10 and ?12 of kInsertCrossing / kUpdateCrossing.
void BindCrossing(Stmt& stmt, const Crossing& c, std::string_view document) {
  const Declaration& d = c.declaration;
  stmt.Bind(1, c.id)
      .Bind(2, c.company_id)
      .Bind(3, d.direction)
      .Bind(4, d.lane_class)
      .Bind(5, CrossingStateName(c.state))
      .Bind(6, d.vehicle.plate.canonical)
      .Bind(7, c.version)
      .Bind(8, ToUnixMillis(c.created_at))
      .Bind(9, ToUnixMillis(c.updated_at))
      .Bind(10, document)
      .Bind(12, d.driver.document_number);
}

// --- Reader pool ------------------------------------------------------------------------------

// A reader connection borrowed from the pool for the duration of one call.
class ReaderLease {
 public:
  explicit ReaderLease(SqliteStore::Impl& impl) : impl_(impl) {
    std::unique_lock lock(impl_.pool_mu);
    impl_.pool_cv.wait(lock, [&] { return !impl_.idle.empty(); });
    db_ = impl_.idle.back();
    impl_.idle.pop_back();
  }
  ~ReaderLease() {
    {
      std::lock_guard lock(impl_.pool_mu);
      impl_.idle.push_back(db_);
    }
    impl_.pool_cv.notify_one();
  }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;

  Db& db() { return *db_; }

 private:
  SqliteStore::Impl& impl_;
  Db* db_ = nullptr;
};

// --- WriteTxn ---------------------------------------------------------------------------------

// Bound to the writer connection inside WriteBatch (so under write_mu).
class SqliteWriteTxn final : public WriteTxn {
 public:
  explicit SqliteWriteTxn(SqliteStore::Impl& impl) : impl_(impl), db_(*impl.writer) {}

  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view scope,
                                                           std::string_view key) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kSelectIdempotency));
    stmt.Bind(1, scope).Bind(2, key);
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<IdempotencyRecord>();
    IdempotencyRecord r;
    r.scope = stmt.Text(0);
    r.key = stmt.Text(1);
    r.fingerprint = stmt.Text(2);
    r.status = static_cast<int>(stmt.Int(3));
    r.response = stmt.Text(4);
    r.created_at = FromUnixMillis(stmt.Int(5));
    return std::optional<IdempotencyRecord>(std::move(r));
  }

  Status PutIdempotency(const IdempotencyRecord& r) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kInsertIdempotency));
    stmt.Bind(1, r.scope)
        .Bind(2, r.key)
        .Bind(3, r.fingerprint)
        .Bind(4, r.status)
        .Bind(5, r.response)
        .Bind(6, ToUnixMillis(r.created_at));
    if (auto s = stmt.Run(); !s) {
      if (IsUniqueViolation(stmt.last_rc())) {
        return Conflict("idempotency_key_exists",
                        fmt::format("idempotency key '{}' is already recorded", r.key));
      }
      return s;
    }
    return {};
  }

  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override {
    return QueryCrossing(db_, *impl_.hs, id);
  }

  using WriteTxn::InsertCrossing;
  using WriteTxn::UpdateCrossing;

  Status InsertCrossing(const Crossing& c, std::string_view document) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kInsertCrossing));
    BindCrossing(stmt, c, document);
    if (auto s = stmt.Run(); !s) {
      if (IsUniqueViolation(stmt.last_rc())) {
        return Conflict("crossing_exists", fmt::format("crossing '{}' already exists", c.id));
      }
      return s;
    }
    return {};
  }

  Status UpdateCrossing(const Crossing& c, std::string_view document,
                        int64_t expected_version) override {
    {
      BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kUpdateCrossing));
      BindCrossing(stmt, c, document);
      stmt.Bind(11, expected_version);
      BF_TRY(stmt.Run());
      if (stmt.Changes() > 0) return {};
    }
    BF_ASSIGN_OR_RETURN(Stmt lookup, db_.Prepare(kSelectCrossingVersion));
    lookup.Bind(1, c.id);
    BF_ASSIGN_OR_RETURN(bool row, lookup.Step());
    if (!row) {
      return NotFound("crossing_not_found", fmt::format("crossing '{}' does not exist", c.id));
    }
    return Conflict("version_conflict",
                    fmt::format("crossing '{}' was changed concurrently: expected version {}, "
                                "stored version {}",
                                c.id, expected_version, lookup.Int(0)));
  }

  // BEGIN IMMEDIATE holds the database's write lock, and the batch re-read the head under it.
  Result<int64_t> LockAuditHead() override { return impl_.head_seq; }

  Result<AuditRecord> AppendAudit(const AuditDraft& draft) override {
    AuditRecord r = ChainNext(draft, impl_.head_seq, impl_.head_hash);
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kInsertAudit));
    stmt.Bind(1, r.seq)
        .Bind(2, ToUnixMillis(r.at))
        .Bind(3, r.actor_id)
        .Bind(4, r.actor_role)
        .Bind(5, r.subject_type)
        .Bind(6, r.subject_id)
        .Bind(7, r.action)
        .Bind(8, r.body)
        .Bind(9, r.prev_hash)
        .Bind(10, r.hash);
    BF_TRY(stmt.Run());
    impl_.head_seq = r.seq;
    impl_.head_hash = r.hash;
    return r;
  }

  Status PutRecord(const StoredRecord& r) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kPutRecord));
    stmt.Bind(1, r.kind).Bind(2, r.id).Bind(3, r.body).Bind(4, ToUnixMillis(r.updated_at));
    return stmt.Run();
  }

  Status DeleteRecord(std::string_view kind, std::string_view id) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kDeleteRecord));
    stmt.Bind(1, kind).Bind(2, id);
    return stmt.Run();
  }

  Result<std::optional<StoredRecord>> GetRecord(std::string_view kind,
                                                std::string_view id) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kGetRecord));
    stmt.Bind(1, kind).Bind(2, id);
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<StoredRecord>();
    return std::optional<StoredRecord>(
        StoredRecord{std::string(stmt.Text(0)), std::string(stmt.Text(1)),
                     std::string(stmt.Text(2)), FromUnixMillis(stmt.Int(3))});
  }

  Status InsertUser(const UserRecord& u) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kInsertUser));
    stmt.Bind(1, u.id)
        .Bind(2, u.name)
        .Bind(3, RoleName(u.role))
        .Bind(4, u.company_id)
        .Bind(5, ToUnixMillis(u.created_at))
        .Bind(6, u.driver_document);
    if (auto s = stmt.Run(); !s) {
      if (IsUniqueViolation(stmt.last_rc())) {
        return Conflict("user_exists", fmt::format("user '{}' already exists", u.name));
      }
      return s;
    }
    return {};
  }

  Result<std::optional<UserRecord>> FindUserByName(std::string_view name) override {
    return QueryUser(db_, "name", name);
  }

  Status InsertToken(const TokenRecord& t) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kInsertToken));
    stmt.Bind(1, t.id)
        .Bind(2, t.user_id)
        .Bind(3, t.secret_hash)
        .Bind(4, t.label)
        .Bind(5, ToUnixMillis(t.created_at))
        .Bind(6, OptionalMillis(t.expires_at))
        .Bind(7, OptionalMillis(t.revoked_at));
    if (auto s = stmt.Run(); !s) {
      if (IsUniqueViolation(stmt.last_rc())) {
        return Conflict("token_exists", fmt::format("token '{}' already exists", t.id));
      }
      if (stmt.last_rc() == SQLITE_CONSTRAINT_FOREIGNKEY) {
        return NotFound("user_not_found", fmt::format("user '{}' does not exist", t.user_id));
      }
      return s;
    }
    return {};
  }

  Status RevokeToken(std::string_view token_id, Timestamp at) override {
    BF_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(kRevokeToken));
    stmt.Bind(1, token_id).Bind(2, ToUnixMillis(at));
    BF_TRY(stmt.Run());
    if (stmt.Changes() == 0) {
      return NotFound("token_not_found", fmt::format("token '{}' does not exist", token_id));
    }
    return {};
  }

 private:
  SqliteStore::Impl& impl_;
  Db& db_;
};

// Sets `stopping` under `mu`, wakes `cv` and joins `thread`, if it runs.
void StopThread(std::thread& thread, std::mutex& mu, bool& stopping, std::condition_variable& cv) {
  if (!thread.joinable()) return;
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  thread.join();
}

}  // namespace

// --- Impl -------------------------------------------------------------------------------------

void SqliteStore::Impl::StartCheckpoints() {
  checkpoint_thread = std::thread([this] {
    NameThisThread("bf-checkpoint");
    std::unique_lock lock(checkpoint_mu);
    while (!stopping) {
      checkpoint_cv.wait_for(lock, std::chrono::milliseconds(100));
      if (stopping) break;
      lock.unlock();
      // PASSIVE: copies what it can without blocking the writer or readers. A failure (busy)
      // is retried at the next tick; the WAL is only ever larger, never wrong.
      (void)checkpointer->Exec("PRAGMA wal_checkpoint(PASSIVE)");
      lock.lock();
    }
  });
}

void SqliteStore::Impl::StartSync() {
  sync_thread = std::thread([this] {
    NameThisThread("bf-wal-sync");
    std::unique_lock lock(sync_mu);
    for (;;) {
      sync_cv.wait(lock, [&] { return sync_stopping || !awaiting_sync.empty(); });
      if (awaiting_sync.empty()) return;  // stopping and drained
      // Every batch taken here committed before this sync begins: one sync covers them all.
      std::vector<AwaitingSync> group;
      group.swap(awaiting_sync);
      std::optional<Error> failed_before = sync_failed;
      std::function<Status()> fault = sync_fault;
      lock.unlock();
      bool wrote = false;
      for (const AwaitingSync& a : group) wrote = wrote || a.wrote;
      Status synced = failed_before ? Status(*failed_before) : Status();
      if (synced && wrote && fault) synced = fault();
      if (synced && wrote) synced = SyncWal();
      if (!synced) {
        // Before anyone hears of the failure: a write sent after the answer must be refused,
        // not committed by a writer that has not yet seen it.
        lock.lock();
        if (!sync_failed) sync_failed = synced.error();
        lock.unlock();
      }
      for (AwaitingSync& a : group) a.durable(a.wrote ? synced : Status());
      lock.lock();
      commits_done += group.size();
      synced_cv.notify_all();
    }
  });
}

void SqliteStore::Impl::StopSync() {
  StopThread(sync_thread, sync_mu, sync_stopping, sync_cv);
  if (wal_fd >= 0) ::close(wal_fd);
  wal_fd = -1;
}

// fdatasync of the WAL file through a descriptor of our own: a sync flushes the file's pages
// whichever descriptor wrote them. SQLite keeps the file (the same inode) while any connection
// is open, and this store keeps its writer open.
Status SqliteStore::Impl::SyncWal() {
  const std::string wal_path = path + "-wal";
  if (wal_fd < 0) {
    wal_fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd < 0) {
      return Unavailable("store_sync_failed", fmt::format("cannot open '{}' to sync it: {}",
                                                          wal_path, std::strerror(errno)));
    }
  }
  if (::fdatasync(wal_fd) != 0) {
    return Unavailable("store_sync_failed",
                       fmt::format("fdatasync of '{}' failed: {}; the store accepts no more "
                                   "writes until the server restarts",
                                   wal_path, std::strerror(errno)));
  }
  return {};
}

void SqliteStore::Impl::StopCheckpoints() {
  StopThread(checkpoint_thread, checkpoint_mu, stopping, checkpoint_cv);
}

Status SqliteStore::Impl::ReloadHead() {
  BF_ASSIGN_OR_RETURN(Stmt stmt, writer->Prepare(kSelectAuditHead));
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  head_seq = row ? stmt.Int(0) : 0;
  head_hash = row ? std::string(stmt.Text(1)) : kGenesisHash;
  return {};
}

std::vector<Status> SqliteStore::Impl::WriteBatchLocked(std::span<const TxnFn> work) {
  Db& db = *writer;
  const int64_t batch_head_seq = head_seq;
  const std::string batch_head_hash = head_hash;

  // The whole batch fails: nothing of it is kept, every function gets the same error.
  auto fail_all = [&](const Error& cause) {
    if (!db.autocommit()) (void)RunSql(db, "ROLLBACK");
    head_seq = batch_head_seq;
    head_hash = batch_head_hash;
    (void)ReloadHead();  // the database is authoritative; keep the saved head if it fails
    Error e = Unavailable("store_write_failed",
                          fmt::format("the transaction was not committed: {}", cause.message));
    return std::vector<Status>(work.size(), Status(e));
  };

  if (auto s = RunSql(db, "BEGIN IMMEDIATE"); !s) return fail_all(s.error());
  // Another process (the CLI adding a user while the server runs) may have appended to the
  // audit trail since our last commit: the head is read inside the write lock, every batch.
  if (auto s = ReloadHead(); !s) return fail_all(s.error());
  std::vector<Status> results;
  results.reserve(work.size());
  SqliteWriteTxn txn(*this);
  for (const TxnFn& fn : work) {
    if (auto s = RunSql(db, "SAVEPOINT bf_fn"); !s) return fail_all(s.error());
    const int64_t saved_seq = head_seq;
    const std::string saved_hash = head_hash;
    Status status = store::RunWriteFunction(fn, txn);
    if (db.autocommit()) {
      // SQLite rolled the whole transaction back on its own (disk full, I/O error, ...).
      return fail_all(status ? Internal("the transaction was rolled back") : status.error());
    }
    if (status) {
      if (auto s = RunSql(db, "RELEASE bf_fn"); !s) return fail_all(s.error());
    } else {
      head_seq = saved_seq;
      head_hash = saved_hash;
      if (auto s = RunSql(db, "ROLLBACK TO bf_fn"); !s) return fail_all(s.error());
      if (auto s = RunSql(db, "RELEASE bf_fn"); !s) return fail_all(s.error());
    }
    results.push_back(std::move(status));
  }
  if (auto s = RunSql(db, "COMMIT"); !s) return fail_all(s.error());
  return results;
}

// --- SqliteStore ------------------------------------------------------------------------------

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options,
                                                       std::shared_ptr<const HsNomenclature> hs) {
  BF_TRY(CheckPath(options.path));
  auto impl = std::make_unique<Impl>();
  impl->path = options.path;
  impl->hs = hs ? std::move(hs) : HsNomenclature::Hs2022();  // a null `hs` means HS 2022

  BF_ASSIGN_OR_RETURN(impl->writer, OpenConnection(options.path, /*writer=*/true));
  if (options.migrate) {
    BF_TRY(RunMigrations(*impl->writer, options.path));
  } else {
    auto version = SchemaVersion(*impl->writer);
    if (!version) return OpenFailed(options.path, version.error().message);
    if (*version > store::LatestSchemaVersion()) return SchemaTooNew(options.path, *version);
    if (*version < store::LatestSchemaVersion()) {
      return Error(ErrorKind::kUnavailable, "schema_outdated",
                   fmt::format("database '{}' has schema version {}, this borderflow needs {}; "
                               "run `borderflow migrate`",
                               options.path, *version, store::LatestSchemaVersion()));
    }
  }
  if (auto s = impl->ReloadHead(); !s) return OpenFailed(options.path, s.error().message);
  BF_TRY(impl->writer->Exec("PRAGMA wal_autocheckpoint = 0"));
  // From here on the writer's commits are synced by the sync thread (migrations above were
  // synced by COMMIT itself).
  BF_TRY(impl->writer->Exec("PRAGMA synchronous = NORMAL"));
  impl->StartSync();
  BF_ASSIGN_OR_RETURN(impl->checkpointer, OpenConnection(options.path, /*writer=*/true));
  impl->StartCheckpoints();

  const int readers = std::clamp(options.read_connections, 1, kMaxReadConnections);
  for (int i = 0; i < readers; ++i) {
    BF_ASSIGN_OR_RETURN(auto reader, OpenConnection(options.path, /*writer=*/false));
    impl->idle.push_back(reader.get());
    impl->readers.push_back(std::move(reader));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

Result<MigrationStatus> SqliteStore::Migrate(const std::string& path) {
  BF_TRY(CheckPath(path));
  BF_ASSIGN_OR_RETURN(auto db, OpenConnection(path, /*writer=*/true));
  return RunMigrations(*db, path);
}

// A TxnFn must not call WriteBatch itself (the writer lock is not recursive); reads through the
// Store's read methods inside a TxnFn see only what was committed before the batch.
std::vector<Status> SqliteStore::WriteBatch(std::span<const TxnFn> work) {
  std::promise<Status> synced;
  std::future<Status> durable = synced.get_future();
  std::vector<Status> statuses =
      WriteBatchThen(work, [&synced](Status s) { synced.set_value(std::move(s)); });
  Status s = durable.get();
  if (!s) {
    for (Status& each : statuses) {
      if (each) each = s;
    }
  }
  return statuses;
}

std::vector<Status> SqliteStore::WriteBatchThen(std::span<const TxnFn> work,
                                                std::function<void(Status)> durable) {
  std::vector<Status> statuses;
  std::lock_guard lock(impl_->write_mu);
  std::optional<Error> failed;
  {
    std::lock_guard sync_lock(impl_->sync_mu);
    failed = impl_->sync_failed;
  }
  if (failed) {
    statuses.assign(work.size(), Status(*failed));
  } else if (!work.empty()) {
    statuses = impl_->WriteBatchLocked(work);
  }
  bool wrote = false;
  for (const Status& s : statuses) wrote = wrote || s.has_value();
  {
    // Queued under write_mu: callbacks run in commit order.
    std::lock_guard sync_lock(impl_->sync_mu);
    impl_->awaiting_sync.push_back(Impl::AwaitingSync{wrote, std::move(durable)});
    ++impl_->commits_queued;
  }
  impl_->sync_cv.notify_one();
  return statuses;
}

void SqliteStore::SetSyncFaultForTesting(std::function<Status()> fault) {
  std::lock_guard lock(impl_->sync_mu);
  impl_->sync_fault = std::move(fault);
}

Status SqliteStore::WaitDurable() {
  std::unique_lock lock(impl_->sync_mu);
  const uint64_t target = impl_->commits_queued;
  impl_->synced_cv.wait(lock, [&] { return impl_->commits_done >= target; });
  if (impl_->sync_failed) return *impl_->sync_failed;
  return {};
}

Result<std::optional<Crossing>> SqliteStore::GetCrossing(std::string_view id) {
  ReaderLease lease(*impl_);
  return QueryCrossing(lease.db(), *impl_->hs, id);
}

Result<CrossingPage> SqliteStore::ListCrossings(const CrossingFilter& filter) {
  const int limit = std::clamp(filter.limit, 1, kMaxCrossingPage);
  // One SQL text per combination of filters, so each is prepared once and uses its index.
  std::string sql = "SELECT id, doc FROM crossings WHERE id > ?1";
  std::vector<std::string_view> values;
  auto add = [&](std::string_view column, std::string_view value) {
    values.push_back(value);
    sql += fmt::format(" AND {} = ?{}", column, values.size() + 1);
  };
  if (filter.company_id) add("company_id", *filter.company_id);
  if (filter.state) add("state", CrossingStateName(*filter.state));
  if (filter.direction) add("direction", *filter.direction);
  if (filter.lane_class) add("lane_class", *filter.lane_class);
  if (filter.plate) add("plate", *filter.plate);
  if (filter.driver_document) add("driver_document", *filter.driver_document);
  sql += fmt::format(" ORDER BY id LIMIT ?{}", values.size() + 2);

  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(sql));
  stmt.Bind(1, filter.after);
  for (size_t i = 0; i < values.size(); ++i) stmt.Bind(static_cast<int>(i) + 2, values[i]);
  stmt.Bind(static_cast<int>(values.size()) + 2, limit + 1);
  CrossingPage page;
  BF_ASSIGN_OR_RETURN(page.items, ReadCrossings(stmt, *impl_->hs));
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.resize(limit);
    page.next_cursor = page.items.back().id;
  }
  return page;
}

Result<std::vector<CrossingCount>> SqliteStore::CountCrossings() {
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(kCountCrossings));
  std::vector<CrossingCount> out;
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    auto state = ParseCrossingState(stmt.Text(2));
    if (!state) return Corrupt(fmt::format("stored crossing state '{}' is unknown", stmt.Text(2)));
    out.push_back(
        CrossingCount{std::string(stmt.Text(0)), std::string(stmt.Text(1)), *state, stmt.Int(3)});
  }
}

Result<std::vector<AuditRecord>> SqliteStore::ListAuditFor(std::string_view subject_type,
                                                           std::string_view subject_id, int limit) {
  if (limit <= 0) return std::vector<AuditRecord>();
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(fmt::format(
                                     "SELECT {} FROM audit_log WHERE subject_type = ?1 AND "
                                     "subject_id = ?2 ORDER BY seq LIMIT ?3",
                                     kAuditColumns)));
  stmt.Bind(1, subject_type).Bind(2, subject_id).Bind(3, std::min(limit, kMaxAuditPage));
  return ReadAuditRows(stmt);
}

Result<int64_t> SqliteStore::AuditHead() {
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare("SELECT COALESCE(MAX(seq), 0) FROM audit_log"));
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Corrupt("SELECT MAX(seq) returned no row");
  return stmt.Int(0);
}

Result<std::vector<AuditRecord>> SqliteStore::ReadAudit(int64_t after_seq, int limit) {
  if (limit <= 0) return std::vector<AuditRecord>();
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(
      Stmt stmt,
      lease.db().Prepare(fmt::format(
          "SELECT {} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2", kAuditColumns)));
  stmt.Bind(1, after_seq).Bind(2, std::min(limit, kMaxAuditPage));
  return ReadAuditRows(stmt);
}

Result<std::vector<StoredRecord>> SqliteStore::ListRecords(std::string_view kind) {
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(kListRecords));
  stmt.Bind(1, kind);
  std::vector<StoredRecord> out;
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(StoredRecord{std::string(stmt.Text(0)), std::string(stmt.Text(1)),
                               std::string(stmt.Text(2)), FromUnixMillis(stmt.Int(3))});
  }
}

Result<std::optional<UserRecord>> SqliteStore::FindUserById(std::string_view id) {
  ReaderLease lease(*impl_);
  return QueryUser(lease.db(), "id", id);
}

Result<std::vector<UserRecord>> SqliteStore::ListUsers() {
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(fmt::format(
                                     "SELECT {} FROM users ORDER BY name", kUserColumns)));
  std::vector<UserRecord> out;
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    BF_ASSIGN_OR_RETURN(UserRecord user, ReadUserRow(stmt));
    out.push_back(std::move(user));
  }
}

namespace {

TokenRecord ReadTokenRow(Stmt& stmt) {
  TokenRecord t;
  t.id = stmt.Text(0);
  t.user_id = stmt.Text(1);
  t.secret_hash = stmt.Text(2);
  t.label = stmt.Text(3);
  t.created_at = FromUnixMillis(stmt.Int(4));
  t.expires_at = OptionalTimestamp(stmt.OptionalInt(5));
  t.revoked_at = OptionalTimestamp(stmt.OptionalInt(6));
  return t;
}

}  // namespace

Result<std::optional<TokenRecord>> SqliteStore::FindToken(std::string_view token_id) {
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(kSelectToken));
  stmt.Bind(1, token_id);
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(ReadTokenRow(stmt));
}

Result<std::vector<TokenRecord>> SqliteStore::ListTokens(std::string_view user_id) {
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(Stmt stmt, lease.db().Prepare(kListTokens));
  stmt.Bind(1, user_id);
  std::vector<TokenRecord> out;
  for (;;) {
    BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(ReadTokenRow(stmt));
  }
}

Status SqliteStore::Ping() {
  {
    std::lock_guard lock(impl_->sync_mu);
    if (impl_->sync_failed) return *impl_->sync_failed;
  }
  ReaderLease lease(*impl_);
  BF_ASSIGN_OR_RETURN(int64_t one, QueryInt(lease.db(), "SELECT 1"));
  if (one != 1) return Unavailable("store_unavailable", "SELECT 1 did not return 1");
  return {};
}

// --- Read-only audit reader ----------------------------------------------------------------

struct SqliteAuditReader::Impl {
  std::unique_ptr<Db> db;
};

namespace {

// `path` as an SQLite URI for an immutable read-only open.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

// Whether `db` holds a borderflow audit trail (reading the file's schema, which is also the
// first read that can fail on a WAL file without its shared memory).
Result<bool> HasAuditTrail(Db& db) {
  BF_ASSIGN_OR_RETURN(
      int64_t tables,
      QueryInt(db,
               "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'"));
  return tables > 0;
}

}  // namespace

SqliteAuditReader::SqliteAuditReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteAuditReader::~SqliteAuditReader() = default;

Result<std::unique_ptr<SqliteAuditReader>> SqliteAuditReader::Open(const std::string& path) {
  BF_TRY(CheckPath(path));
  auto db = Db::Open(path, SQLITE_OPEN_READONLY);
  if (!db) return OpenFailed(path, db.error().message);
  (void)(*db)->Exec(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs));
  Result<bool> has = HasAuditTrail(**db);
  std::error_code ec;
  if (!has && !std::filesystem::exists(path + "-wal", ec)) {
    // A WAL database in a read-only directory: SQLite cannot create the -shm file.
    auto immutable = Db::Open(ImmutableUri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    if (immutable) {
      Result<bool> again = HasAuditTrail(**immutable);
      if (again) {
        db = std::move(immutable);
        has = again;
      }
    }
  }
  if (!has) return OpenFailed(path, has.error().message);
  if (!*has) return OpenFailed(path, "not a borderflow database (it has no audit trail)");
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  return std::unique_ptr<SqliteAuditReader>(new SqliteAuditReader(std::move(impl)));
}

Result<std::vector<AuditRecord>> SqliteAuditReader::Read(int64_t after_seq, int limit) {
  if (limit <= 0) return std::vector<AuditRecord>();
  BF_ASSIGN_OR_RETURN(
      Stmt stmt,
      impl_->db->Prepare(fmt::format(
          "SELECT {} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2", kAuditColumns)));
  stmt.Bind(1, after_seq).Bind(2, std::min(limit, kMaxAuditPage));
  return ReadAuditRows(stmt);
}

}  // namespace borderflow
