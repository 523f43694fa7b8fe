#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/store/postgres_store.h>

#include "../migrations.h"
#include "../stored_crossing.h"
#include "../write_function.h"
#include "pg_conn.h"

// PostgresStore: one writer connection serves WriteBatch (under Impl::write_mu; the engine calls
// it from one thread, accidental concurrent callers queue); `read_connections` connections serve
// the read methods, each borrowed for one call. Reads are single statements in autocommit mode
// (READ COMMITTED), so they see every transaction committed before they start and never block or
// wait for the writer.
//
// Expected failures (a duplicate crossing, user or key; a version conflict; a missing user) are
// found without raising an SQL error (ON CONFLICT DO NOTHING, affected rows, a lookup), so the
// transaction stays usable and a function may go on after one. An unexpected SQL error leaves
// the transaction failed: the function's savepoint is rolled back and the function fails, even if
// it swallowed the error.
//
// The audit chain: the first AppendAudit of a batch takes pg_advisory_xact_lock(kAuditLockClass,
// hashtext(current_schema())) and then reads the head (a statement of its own, so that its
// snapshot is taken after the lock is granted). The lock is held until COMMIT or ROLLBACK, so a
// second process appending to the same chain waits and then reads our committed head. Chosen over
// a one-row head table with SELECT ... FOR UPDATE because it needs no schema of its own and no
// extra row update per batch; the primary key on audit_log.seq backs it up (a second record with
// the same seq is refused, never stored). After a function fails, the head it took is forgotten,
// and the next append takes the lock again (a no-op when still held) and re-reads the head.

namespace borderflow {

using pg::Conn;
using pg::Params;
using pg::Res;
using store::Corrupt;

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

// Thread safety: `writer` is used only under `write_mu`; `idle` only under `pool_mu`. `readers`,
// `url`, `redacted` and `hs` are fixed after Open.
struct PostgresStore::Impl {
  std::string url;
  std::string redacted;  // for messages
  std::shared_ptr<const HsNomenclature> hs;

  std::mutex write_mu;
  std::unique_ptr<Conn> writer;
  // The chain head as of this batch, valid while `head_locked` (the advisory lock is held and the
  // head was read under it). Reset at every batch.
  bool head_locked = false;
  int64_t head_seq = 0;
  std::string head_hash;

  std::vector<std::unique_ptr<Conn>> readers;
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<Conn*> idle;

  std::vector<Status> WriteBatchLocked(std::span<const TxnFn> work);
  Status LockHead();
};

namespace {

constexpr int kMaxReadConnections = 64;
constexpr int kMaxCrossingPage = 200;
constexpr int kMaxAuditPage = 10000;
// Advisory lock classes (the first key of the two-key form); the second key is the schema's hash.
constexpr int kAuditLockClass = 0x62664155;    // "bfAU"
constexpr int kMigrateLockClass = 0x62664d47;  // "bfMG"

// --- SQL --------------------------------------------------------------------------------------

constexpr std::string_view kSelectCrossingDoc = "SELECT id, doc FROM crossings WHERE id = $1";
constexpr std::string_view kSelectCrossingVersion = "SELECT version FROM crossings WHERE id = $1";
constexpr std::string_view kInsertCrossing =
    "INSERT INTO crossings (id, company_id, direction, lane_class, state, plate, version, "
    "created_at_ms, updated_at_ms, doc, driver_document) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING";
constexpr std::string_view kUpdateCrossing =
    "UPDATE crossings SET company_id = $2, direction = $3, lane_class = $4, state = $5, "
    "plate = $6, version = $7, created_at_ms = $8, updated_at_ms = $9, doc = $10, "
    "driver_document = $11 WHERE id = $1 AND version = $12";
constexpr std::string_view kCountCrossings =
    "SELECT direction, lane_class, state, COUNT(*) FROM crossings "
    "GROUP BY direction, lane_class, state ORDER BY direction, lane_class, state";

constexpr std::string_view kAuditColumns =
    "seq, at_ms, actor_id, actor_role, subject_type, subject_id, action, body, prev_hash, hash";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (seq, at_ms, actor_id, actor_role, subject_type, subject_id, action, "
    "body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
constexpr std::string_view kSelectAuditHead =
    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
// Advisory locks are per database; the schema's hash keeps two schemas' chains apart.
constexpr std::string_view kAdvisoryXactLock =
    "SELECT pg_advisory_xact_lock($1::integer, hashtext(current_schema()))";

constexpr std::string_view kSelectIdempotency =
    "SELECT scope, key, fingerprint, status, response, created_at_ms FROM idempotency "
    "WHERE scope = $1 AND key = $2";
constexpr std::string_view kInsertIdempotency =
    "INSERT INTO idempotency (scope, key, fingerprint, status, response, created_at_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

constexpr std::string_view kUserColumns =
    "id, name, role, company_id, created_at_ms, driver_document";
constexpr std::string_view kInsertUser =
    "INSERT INTO users (id, name, role, company_id, created_at_ms, driver_document) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

constexpr std::string_view kSelectToken =
    "SELECT id, user_id, secret_hash, label, created_at_ms, expires_at_ms, revoked_at_ms "
    "FROM tokens WHERE id = $1";
// Inserts only when the user exists and the id is free; the caller tells the two apart.
constexpr std::string_view kListTokens =
    "SELECT id, user_id, secret_hash, label, created_at_ms, expires_at_ms, revoked_at_ms "
    "FROM tokens WHERE $1 = '' OR user_id = $1 ORDER BY created_at_ms, id";
constexpr std::string_view kInsertToken =
    "INSERT INTO tokens (id, user_id, secret_hash, label, created_at_ms, expires_at_ms, "
    "revoked_at_ms) SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, "
    "$7::bigint WHERE EXISTS (SELECT 1 FROM users WHERE id = $2::text) ON CONFLICT DO NOTHING";
constexpr std::string_view kTokenExists = "SELECT 1 FROM tokens WHERE id = $1";
// A second revocation keeps the first instant.
constexpr std::string_view kRevokeToken =
    "UPDATE tokens SET revoked_at_ms = COALESCE(revoked_at_ms, $2) WHERE id = $1";

constexpr std::string_view kPutRecord =
    "INSERT INTO records (kind, id, body, updated_at_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, "
    "updated_at_ms = excluded.updated_at_ms";
constexpr std::string_view kDeleteRecord = "DELETE FROM records WHERE kind = $1 AND id = $2";
constexpr std::string_view kGetRecord =
    "SELECT kind, id, body, updated_at_ms FROM records WHERE kind = $1 AND id = $2";
constexpr std::string_view kListRecords =
    "SELECT kind, id, body, updated_at_ms FROM records WHERE kind = $1 ORDER BY id";

constexpr std::string_view kSchemaMigrationsExists =
    "SELECT to_regclass('schema_migrations') IS NOT NULL";
constexpr std::string_view kSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)";

// --- Helpers ----------------------------------------------------------------------------------

int64_t WallClockMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error OpenFailed(std::string_view redacted, std::string_view reason) {
  return Unavailable("store_open_failed",
                     fmt::format("cannot open database '{}': {}", redacted, reason));
}

Result<int64_t> QueryInt(Conn& db, std::string_view sql) {
  BF_ASSIGN_OR_RETURN(Res r, db.Query(sql));
  return r.rows() > 0 ? r.Int(0, 0) : 0;
}

Result<int> SchemaVersion(Conn& db) {
  BF_ASSIGN_OR_RETURN(Res exists, db.Query(kSchemaMigrationsExists));
  if (exists.rows() == 0 || exists.Text(0, 0) != "t") return 0;
  BF_ASSIGN_OR_RETURN(int64_t version, QueryInt(db, kSchemaVersion));
  return static_cast<int>(version);
}

Error SchemaTooNew(std::string_view redacted, int version) {
  return Error(ErrorKind::kUnavailable, "schema_too_new",
               fmt::format("database '{}' has schema version {}, but this borderflow knows only "
                           "up to version {}; use a newer borderflow",
                           redacted, version, store::LatestSchemaVersion()));
}

// Runs `body` in one transaction under the migration lock; rolls back on any error.
template <typename Fn>
Result<bool> InMigrationTransaction(Conn& db, Fn body) {
  BF_TRY(db.Exec("BEGIN"));
  Result<bool> result = [&]() -> Result<bool> {
    Params lock;
    lock.Add(kMigrateLockClass);
    BF_TRY(db.Query(kAdvisoryXactLock, lock));
    return body();
  }();
  if (result) {
    auto commit = db.Exec("COMMIT");
    if (!commit) result = commit.error();
  }
  if (!result && db.transaction_status() != PQTRANS_IDLE) (void)db.Exec("ROLLBACK");
  return result;
}

// Brings the schema up to date, one transaction per migration. Concurrent migrators (two serve
// processes starting together) wait for each other's advisory lock and re-check the version.
Result<MigrationStatus> RunMigrations(Conn& db, std::string_view redacted) {
  auto created = InMigrationTransaction(db, [&]() -> Result<bool> {
    BF_TRY(db.Exec(store::kSchemaMigrationsDdl));
    return true;
  });
  if (!created) return OpenFailed(redacted, created.error().message);
  auto version = SchemaVersion(db);
  if (!version) return OpenFailed(redacted, version.error().message);
  if (*version > store::LatestSchemaVersion()) return SchemaTooNew(redacted, *version);

  MigrationStatus status;
  for (const store::Migration& m : store::Migrations()) {
    if (m.version <= *version) continue;
    auto applied = InMigrationTransaction(db, [&]() -> Result<bool> {
      BF_ASSIGN_OR_RETURN(int current, SchemaVersion(db));
      if (current >= m.version) return false;
      BF_TRY(db.Exec(m.sql));
      if (!m.postgres_sql.empty()) BF_TRY(db.Exec(m.postgres_sql));
      Params p;
      p.Add(m.version).Add(m.name).Add(WallClockMillis());
      BF_TRY(db.Query(kInsertMigration, p));
      return true;
    });
    if (!applied) {
      return OpenFailed(redacted,
                        fmt::format("migration {} failed: {}", m.name, applied.error().message));
    }
    if (*applied) status.applied.emplace_back(m.name);
  }
  version = SchemaVersion(db);
  if (!version) return OpenFailed(redacted, version.error().message);
  if (*version > store::LatestSchemaVersion()) return SchemaTooNew(redacted, *version);
  status.current_version = *version;
  return status;
}

// Connection settings. The writer commits durably whatever the server's or database's default
// (synchronous_commit=on: COMMIT returns after the WAL is flushed); readers cannot write.
Result<std::unique_ptr<Conn>> OpenConnection(const std::string& url, std::string_view redacted,
                                             bool writer) {
  auto db = Conn::Open(url);
  if (!db) return OpenFailed(redacted, db.error().message);
  auto set = (*db)->Exec(writer ? "SET synchronous_commit = on"
                                : "SET default_transaction_read_only = on");
  if (!set) return OpenFailed(redacted, set.error().message);
  return std::move(*db);
}

// --- Row codecs -------------------------------------------------------------------------------

Result<std::vector<Crossing>> ReadCrossings(const Res& r, const HsNomenclature& hs) {
  std::vector<Crossing> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    BF_ASSIGN_OR_RETURN(Crossing c, store::DecodeStoredCrossing(r.Text(i, 0), r.Text(i, 1), hs));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<AuditRecord> ReadAuditRows(const Res& r) {
  std::vector<AuditRecord> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    AuditRecord a;
    a.seq = r.Int(i, 0);
    a.at = FromUnixMillis(r.Int(i, 1));
    a.actor_id = r.Text(i, 2);
    a.actor_role = r.Text(i, 3);
    a.subject_type = r.Text(i, 4);
    a.subject_id = r.Text(i, 5);
    a.action = r.Text(i, 6);
    a.body = r.Text(i, 7);
    a.prev_hash = r.Text(i, 8);
    a.hash = r.Text(i, 9);
    out.push_back(std::move(a));
  }
  return out;
}

Result<UserRecord> ReadUserRow(const Res& r, int i) {
  UserRecord u;
  u.id = r.Text(i, 0);
  u.name = r.Text(i, 1);
  auto role = ParseRole(r.Text(i, 2));
  if (!role) {
    return Corrupt(fmt::format("stored user '{}' has unknown role '{}'", u.id, r.Text(i, 2)));
  }
  u.role = *role;
  u.company_id = r.Text(i, 3);
  u.created_at = FromUnixMillis(r.Int(i, 4));
  u.driver_document = r.Text(i, 5);
  return u;
}

StoredRecord ReadRecordRow(const Res& r, int i) {
  return StoredRecord{std::string(r.Text(i, 0)), std::string(r.Text(i, 1)),
                      std::string(r.Text(i, 2)), FromUnixMillis(r.Int(i, 3))};
}

Result<std::optional<UserRecord>> QueryUser(Conn& db, std::string_view column,
                                            std::string_view value) {
  Params p;
  p.Add(value);
  BF_ASSIGN_OR_RETURN(
      Res r, db.Query(fmt::format("SELECT {} FROM users WHERE {} = $1", kUserColumns, column), p));
  if (r.rows() == 0) return std::optional<UserRecord>();
  BF_ASSIGN_OR_RETURN(UserRecord user, ReadUserRow(r, 0));
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

Result<std::optional<Crossing>> QueryCrossing(Conn& db, const HsNomenclature& hs,
                                              std::string_view id) {
  Params p;
  p.Add(id);
  BF_ASSIGN_OR_RETURN(Res r, db.Query(kSelectCrossingDoc, p));
  if (r.rows() == 0) return std::optional<Crossing>();
  BF_ASSIGN_OR_RETURN(Crossing c, store::DecodeStoredCrossing(r.Text(0, 0), r.Text(0, 1), hs));
  return std::optional<Crossing>(std::move(c));
}

// $1..$11 of kInsertCrossing / kUpdateCrossing.
Params CrossingParams(const Crossing& c, std::string_view document) {
  const Declaration& d = c.declaration;
  Params p;
  p.Add(c.id)
      .Add(c.company_id)
      .Add(d.direction)
      .Add(d.lane_class)
      .Add(CrossingStateName(c.state))
      .Add(d.vehicle.plate.canonical)
      .Add(c.version)
      .Add(ToUnixMillis(c.created_at))
      .Add(ToUnixMillis(c.updated_at))
      .Add(document)
      .Add(d.driver.document_number);
  return p;
}

// --- Reader pool ------------------------------------------------------------------------------

// A reader connection borrowed from the pool for the duration of one call; a connection that
// was lost is reconnected before use.
class ReaderLease {
 public:
  // Waits for an idle connection.
  explicit ReaderLease(PostgresStore::Impl& impl) : impl_(impl) {
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

  // Runs `read(Conn&)`. A read that fails because the connection was lost (the server restarted,
  // a network error) is run once more on a new connection: reads change nothing.
  template <typename Fn>
  auto Run(Fn read) -> decltype(read(std::declval<Conn&>())) {
    if (db_->broken()) BF_TRY(db_->Reset());
    auto result = read(*db_);
    if (result || !db_->broken()) return result;
    BF_TRY(db_->Reset());
    return read(*db_);
  }

 private:
  PostgresStore::Impl& impl_;
  Conn* db_ = nullptr;
};

// --- WriteTxn ---------------------------------------------------------------------------------

// Bound to the writer connection inside WriteBatch (so under write_mu).
class PostgresWriteTxn final : public WriteTxn {
 public:
  explicit PostgresWriteTxn(PostgresStore::Impl& impl) : impl_(impl), db_(*impl.writer) {}

  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view scope,
                                                           std::string_view key) override {
    Params p;
    p.Add(scope).Add(key);
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kSelectIdempotency, p));
    if (r.rows() == 0) return std::optional<IdempotencyRecord>();
    IdempotencyRecord rec;
    rec.scope = r.Text(0, 0);
    rec.key = r.Text(0, 1);
    rec.fingerprint = r.Text(0, 2);
    rec.status = static_cast<int>(r.Int(0, 3));
    rec.response = r.Text(0, 4);
    rec.created_at = FromUnixMillis(r.Int(0, 5));
    return std::optional<IdempotencyRecord>(std::move(rec));
  }

  Status PutIdempotency(const IdempotencyRecord& rec) override {
    Params p;
    p.Add(rec.scope)
        .Add(rec.key)
        .Add(rec.fingerprint)
        .Add(rec.status)
        .Add(rec.response)
        .Add(ToUnixMillis(rec.created_at));
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kInsertIdempotency, p));
    if (r.Affected() == 0) {
      return Conflict("idempotency_key_exists",
                      fmt::format("idempotency key '{}' is already recorded", rec.key));
    }
    return {};
  }

  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override {
    return QueryCrossing(db_, *impl_.hs, id);
  }

  using WriteTxn::InsertCrossing;
  using WriteTxn::UpdateCrossing;

  Status InsertCrossing(const Crossing& c, std::string_view document) override {
    Params p = CrossingParams(c, document);
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kInsertCrossing, p));
    if (r.Affected() == 0) {
      return Conflict("crossing_exists", fmt::format("crossing '{}' already exists", c.id));
    }
    return {};
  }

  Status UpdateCrossing(const Crossing& c, std::string_view document,
                        int64_t expected_version) override {
    Params p = CrossingParams(c, document);
    p.Add(expected_version);
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kUpdateCrossing, p));
    if (r.Affected() > 0) return {};
    Params lookup;
    lookup.Add(c.id);
    BF_ASSIGN_OR_RETURN(Res stored, db_.Query(kSelectCrossingVersion, lookup));
    if (stored.rows() == 0) {
      return NotFound("crossing_not_found", fmt::format("crossing '{}' does not exist", c.id));
    }
    return Conflict("version_conflict",
                    fmt::format("crossing '{}' was changed concurrently: expected version {}, "
                                "stored version {}",
                                c.id, expected_version, stored.Int(0, 0)));
  }

  Result<int64_t> LockAuditHead() override {
    BF_TRY(impl_.LockHead());
    return impl_.head_seq;
  }

  Result<AuditRecord> AppendAudit(const AuditDraft& draft) override {
    BF_TRY(impl_.LockHead());
    AuditRecord a = ChainNext(draft, impl_.head_seq, impl_.head_hash);
    Params p;
    p.Add(a.seq)
        .Add(ToUnixMillis(a.at))
        .Add(a.actor_id)
        .Add(a.actor_role)
        .Add(a.subject_type)
        .Add(a.subject_id)
        .Add(a.action)
        .Add(a.body)
        .Add(a.prev_hash)
        .Add(a.hash);
    BF_TRY(db_.Query(kInsertAudit, p));
    impl_.head_seq = a.seq;
    impl_.head_hash = a.hash;
    return a;
  }

  Status PutRecord(const StoredRecord& rec) override {
    Params p;
    p.Add(rec.kind).Add(rec.id).Add(rec.body).Add(ToUnixMillis(rec.updated_at));
    BF_TRY(db_.Query(kPutRecord, p));
    return {};
  }

  Status DeleteRecord(std::string_view kind, std::string_view id) override {
    Params p;
    p.Add(kind).Add(id);
    BF_TRY(db_.Query(kDeleteRecord, p));
    return {};
  }

  Result<std::optional<StoredRecord>> GetRecord(std::string_view kind,
                                                std::string_view id) override {
    Params p;
    p.Add(kind).Add(id);
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kGetRecord, p));
    if (r.rows() == 0) return std::optional<StoredRecord>();
    return std::optional<StoredRecord>(ReadRecordRow(r, 0));
  }

  Status InsertUser(const UserRecord& u) override {
    Params p;
    p.Add(u.id)
        .Add(u.name)
        .Add(RoleName(u.role))
        .Add(u.company_id)
        .Add(ToUnixMillis(u.created_at))
        .Add(u.driver_document);
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kInsertUser, p));
    if (r.Affected() == 0) {
      return Conflict("user_exists", fmt::format("user '{}' already exists", u.name));
    }
    return {};
  }

  Result<std::optional<UserRecord>> FindUserByName(std::string_view name) override {
    return QueryUser(db_, "name", name);
  }

  Status InsertToken(const TokenRecord& t) override {
    Params p;
    p.Add(t.id)
        .Add(t.user_id)
        .Add(t.secret_hash)
        .Add(t.label)
        .Add(ToUnixMillis(t.created_at))
        .Add(OptionalMillis(t.expires_at))
        .Add(OptionalMillis(t.revoked_at));
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kInsertToken, p));
    if (r.Affected() > 0) return {};
    // As SQLite reports it: a taken id before a missing user.
    Params id;
    id.Add(t.id);
    BF_ASSIGN_OR_RETURN(Res exists, db_.Query(kTokenExists, id));
    if (exists.rows() > 0) {
      return Conflict("token_exists", fmt::format("token '{}' already exists", t.id));
    }
    return NotFound("user_not_found", fmt::format("user '{}' does not exist", t.user_id));
  }

  Status RevokeToken(std::string_view token_id, Timestamp at) override {
    Params p;
    p.Add(token_id).Add(ToUnixMillis(at));
    BF_ASSIGN_OR_RETURN(Res r, db_.Query(kRevokeToken, p));
    if (r.Affected() == 0) {
      return NotFound("token_not_found", fmt::format("token '{}' does not exist", token_id));
    }
    return {};
  }

 private:
  PostgresStore::Impl& impl_;
  Conn& db_;
};

}  // namespace

// --- Impl -------------------------------------------------------------------------------------

Status PostgresStore::Impl::LockHead() {
  if (head_locked) return {};
  Params lock;
  lock.Add(kAuditLockClass);
  BF_TRY(writer->Query(kAdvisoryXactLock, lock));
  BF_ASSIGN_OR_RETURN(Res r, writer->Query(kSelectAuditHead));
  head_seq = r.rows() > 0 ? r.Int(0, 0) : 0;
  head_hash = r.rows() > 0 ? std::string(r.Text(0, 1)) : kGenesisHash;
  head_locked = true;
  return {};
}

std::vector<Status> PostgresStore::Impl::WriteBatchLocked(std::span<const TxnFn> work) {
  Conn& db = *writer;
  head_locked = false;

  // The whole batch fails: nothing of it is kept, every function gets the same error.
  auto fail_all = [&](const Error& cause) {
    if (!db.broken() && db.transaction_status() != PQTRANS_IDLE) (void)db.Exec("ROLLBACK");
    head_locked = false;
    Error e = Unavailable("store_write_failed",
                          fmt::format("the transaction was not committed: {}", cause.message));
    return std::vector<Status>(work.size(), Status(e));
  };

  // A connection lost since the last batch (the server restarted) is replaced before BEGIN;
  // BEGIN itself is retried once on a new connection, since nothing was sent before it.
  if (db.broken()) {
    if (auto s = db.Reset(); !s) return fail_all(s.error());
  }
  constexpr std::string_view kBegin = "BEGIN; SAVEPOINT bf_fn";
  if (auto s = db.Exec(kBegin); !s) {
    if (!db.broken()) return fail_all(s.error());
    if (auto r = db.Reset(); !r) return fail_all(r.error());
    if (auto again = db.Exec(kBegin); !again) return fail_all(again.error());
  }
  // One round trip of savepoint handling per function: savepoint bf_fn always exists; it marks
  // the start of the current function when `at_start` (after BEGIN, and after a failed function
  // was rolled back to it), else the start of the previous, successful function, and is then
  // replaced. COMMIT releases the last one.
  bool at_start = true;
  std::vector<Status> results;
  results.reserve(work.size());
  PostgresWriteTxn txn(*this);
  for (const TxnFn& fn : work) {
    if (!at_start) {
      if (auto s = db.Exec("RELEASE bf_fn; SAVEPOINT bf_fn"); !s) return fail_all(s.error());
    }
    const bool saved_locked = head_locked;
    const int64_t saved_seq = head_seq;
    const std::string saved_hash = head_hash;
    Status status = store::RunWriteFunction(fn, txn);
    switch (db.transaction_status()) {
      case PQTRANS_INTRANS:
        break;
      case PQTRANS_INERROR:
        // A statement failed and the function went on (or returned its own error): the
        // transaction refuses everything until the savepoint is rolled back.
        if (status) status = Internal(fmt::format("a statement failed: {}", db.last_error()));
        break;
      default:  // the connection was lost, or the transaction ended behind our back
        return fail_all(status ? Internal("the transaction was lost") : status.error());
    }
    at_start = !status;
    if (!status) {
      head_locked = saved_locked;
      head_seq = saved_seq;
      head_hash = saved_hash;
      // ROLLBACK TO keeps the savepoint: it marks the start of the next function.
      if (auto s = db.Exec("ROLLBACK TO bf_fn"); !s) return fail_all(s.error());
    }
    results.push_back(std::move(status));
  }
  auto commit = db.Exec("COMMIT");
  if (!commit) return fail_all(commit.error());
  // COMMIT of a failed transaction answers ROLLBACK without an error.
  if (commit->CommandStatus() != "COMMIT") {
    return fail_all(Internal(fmt::format("COMMIT answered '{}'", commit->CommandStatus())));
  }
  head_locked = false;
  return results;
}

// --- PostgresStore ----------------------------------------------------------------------------

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const PostgresOptions& options, std::shared_ptr<const HsNomenclature> hs) {
  auto impl = std::make_unique<Impl>();
  impl->url = options.url;
  impl->redacted = pg::RedactPassword(options.url);
  impl->hs = hs ? std::move(hs) : HsNomenclature::Hs2022();  // a null `hs` means HS 2022

  BF_ASSIGN_OR_RETURN(impl->writer, OpenConnection(impl->url, impl->redacted, /*writer=*/true));
  if (options.migrate) {
    BF_TRY(RunMigrations(*impl->writer, impl->redacted));
  } else {
    auto version = SchemaVersion(*impl->writer);
    if (!version) return OpenFailed(impl->redacted, version.error().message);
    if (*version > store::LatestSchemaVersion()) return SchemaTooNew(impl->redacted, *version);
    if (*version < store::LatestSchemaVersion()) {
      return Error(ErrorKind::kUnavailable, "schema_outdated",
                   fmt::format("database '{}' has schema version {}, this borderflow needs {}; "
                               "run `borderflow migrate`",
                               impl->redacted, *version, store::LatestSchemaVersion()));
    }
  }
  const int readers = std::clamp(options.read_connections, 1, kMaxReadConnections);
  for (int i = 0; i < readers; ++i) {
    BF_ASSIGN_OR_RETURN(auto reader, OpenConnection(impl->url, impl->redacted, /*writer=*/false));
    impl->idle.push_back(reader.get());
    impl->readers.push_back(std::move(reader));
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

Result<MigrationStatus> PostgresStore::Migrate(const std::string& url) {
  std::string redacted = pg::RedactPassword(url);
  BF_ASSIGN_OR_RETURN(auto db, OpenConnection(url, redacted, /*writer=*/true));
  return RunMigrations(*db, redacted);
}

// A TxnFn must not call WriteBatch itself (the writer lock is not recursive); reads through the
// Store's read methods inside a TxnFn see only what was committed before the batch.
std::vector<Status> PostgresStore::WriteBatch(std::span<const TxnFn> work) {
  if (work.empty()) return {};
  std::lock_guard lock(impl_->write_mu);
  return impl_->WriteBatchLocked(work);
}

Result<std::optional<Crossing>> PostgresStore::GetCrossing(std::string_view id) {
  return ReaderLease(*impl_).Run([&](Conn& db) { return QueryCrossing(db, *impl_->hs, id); });
}

Result<CrossingPage> PostgresStore::ListCrossings(const CrossingFilter& filter) {
  const int limit = std::clamp(filter.limit, 1, kMaxCrossingPage);
  // One SQL text per combination of filters, so each is prepared once and uses its index.
  std::string sql = "SELECT id, doc FROM crossings WHERE id > $1";
  Params p;
  p.Add(filter.after);
  auto add = [&](std::string_view column, std::string_view value) {
    p.Add(value);
    sql += fmt::format(" AND {} = ${}", column, p.size());
  };
  if (filter.company_id) add("company_id", *filter.company_id);
  if (filter.state) add("state", CrossingStateName(*filter.state));
  if (filter.direction) add("direction", *filter.direction);
  if (filter.lane_class) add("lane_class", *filter.lane_class);
  if (filter.plate) add("plate", *filter.plate);
  if (filter.driver_document) add("driver_document", *filter.driver_document);
  p.Add(limit + 1);
  sql += fmt::format(" ORDER BY id LIMIT ${}", p.size());

  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<CrossingPage> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(sql, p));
    CrossingPage page;
    BF_ASSIGN_OR_RETURN(page.items, ReadCrossings(r, *impl_->hs));
    if (page.items.size() > static_cast<size_t>(limit)) {
      page.items.resize(limit);
      page.next_cursor = page.items.back().id;
    }
    return page;
  });
}

Result<std::vector<CrossingCount>> PostgresStore::CountCrossings() {
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::vector<CrossingCount>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(kCountCrossings));
    std::vector<CrossingCount> out;
    for (int i = 0; i < r.rows(); ++i) {
      auto state = ParseCrossingState(r.Text(i, 2));
      if (!state) {
        return Corrupt(fmt::format("stored crossing state '{}' is unknown", r.Text(i, 2)));
      }
      out.push_back(
          CrossingCount{std::string(r.Text(i, 0)), std::string(r.Text(i, 1)), *state, r.Int(i, 3)});
    }
    return out;
  });
}

Result<std::vector<AuditRecord>> PostgresStore::ListAuditFor(std::string_view subject_type,
                                                             std::string_view subject_id,
                                                             int limit) {
  if (limit <= 0) return std::vector<AuditRecord>();
  Params p;
  p.Add(subject_type).Add(subject_id).Add(std::min(limit, kMaxAuditPage));
  const std::string sql = fmt::format(
      "SELECT {} FROM audit_log WHERE subject_type = $1 AND subject_id = $2 ORDER BY seq LIMIT $3",
      kAuditColumns);
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::vector<AuditRecord>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(sql, p));
    return ReadAuditRows(r);
  });
}

Result<int64_t> PostgresStore::AuditHead() {
  Params none;
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<int64_t> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query("SELECT COALESCE(MAX(seq), 0) FROM audit_log", none));
    return r.Int(0, 0);
  });
}

Result<std::vector<AuditRecord>> PostgresStore::ReadAudit(int64_t after_seq, int limit) {
  if (limit <= 0) return std::vector<AuditRecord>();
  Params p;
  p.Add(after_seq).Add(std::min(limit, kMaxAuditPage));
  const std::string sql =
      fmt::format("SELECT {} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2", kAuditColumns);
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::vector<AuditRecord>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(sql, p));
    return ReadAuditRows(r);
  });
}

Result<std::vector<StoredRecord>> PostgresStore::ListRecords(std::string_view kind) {
  Params p;
  p.Add(kind);
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::vector<StoredRecord>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(kListRecords, p));
    std::vector<StoredRecord> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadRecordRow(r, i));
    return out;
  });
}

Result<std::optional<UserRecord>> PostgresStore::FindUserById(std::string_view id) {
  return ReaderLease(*impl_).Run([&](Conn& db) { return QueryUser(db, "id", id); });
}

Result<std::vector<UserRecord>> PostgresStore::ListUsers() {
  const std::string sql = fmt::format("SELECT {} FROM users ORDER BY name", kUserColumns);
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::vector<UserRecord>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(sql));
    std::vector<UserRecord> out;
    for (int i = 0; i < r.rows(); ++i) {
      BF_ASSIGN_OR_RETURN(UserRecord user, ReadUserRow(r, i));
      out.push_back(std::move(user));
    }
    return out;
  });
}

namespace {

TokenRecord ReadTokenRow(const Res& r, int row) {
  TokenRecord t;
  t.id = r.Text(row, 0);
  t.user_id = r.Text(row, 1);
  t.secret_hash = r.Text(row, 2);
  t.label = r.Text(row, 3);
  t.created_at = FromUnixMillis(r.Int(row, 4));
  t.expires_at = OptionalTimestamp(r.OptionalInt(row, 5));
  t.revoked_at = OptionalTimestamp(r.OptionalInt(row, 6));
  return t;
}

}  // namespace

Result<std::optional<TokenRecord>> PostgresStore::FindToken(std::string_view token_id) {
  Params p;
  p.Add(token_id);
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::optional<TokenRecord>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(kSelectToken, p));
    if (r.rows() == 0) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(ReadTokenRow(r, 0));
  });
}

Result<std::vector<TokenRecord>> PostgresStore::ListTokens(std::string_view user_id) {
  Params p;
  p.Add(user_id);
  return ReaderLease(*impl_).Run([&](Conn& db) -> Result<std::vector<TokenRecord>> {
    BF_ASSIGN_OR_RETURN(Res r, db.Query(kListTokens, p));
    std::vector<TokenRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadTokenRow(r, i));
    return out;
  });
}

Status PostgresStore::Ping() {
  return ReaderLease(*impl_).Run([&](Conn& db) -> Status {
    BF_ASSIGN_OR_RETURN(int64_t one, QueryInt(db, "SELECT 1"));
    if (one != 1) return Unavailable("store_unavailable", "SELECT 1 did not return 1");
    return {};
  });
}

}  // namespace borderflow
