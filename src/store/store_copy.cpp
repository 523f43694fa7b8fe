// borderflow store copy: an SQLite database into an empty PostgreSQL database, row for row.
//
// Both sides have the same schema (src/store/migrations.cpp), so every table is copied as text
// values, column for column, in one snapshot of the source (a read transaction) and one
// transaction on the target. The tables and their columns are listed below and checked against
// the source's own, so that a migration that adds a table or a column cannot be skipped silently.

#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/store/store_factory.h>

#include "migrations.h"
#include "postgres/pg_conn.h"
#include "sqlite/sqlite_db.h"

namespace borderflow {

namespace {

struct TableSpec {
  std::string_view name;
  std::string_view columns;  // in the table's column order
  int column_count;
  std::string_view order_by;
};

// Parents before children (tokens reference users); audit_log last.
constexpr TableSpec kTables[] = {
    {"users", "id, name, role, company_id, created_at_ms, driver_document", 6, "id"},
    {"tokens", "id, user_id, secret_hash, label, created_at_ms, expires_at_ms, revoked_at_ms", 7,
     "id"},
    {"crossings",
     "id, company_id, direction, lane_class, state, plate, version, created_at_ms, "
     "updated_at_ms, doc, driver_document",
     11, "id"},
    {"idempotency", "scope, key, fingerprint, status, response, created_at_ms", 6, "scope, key"},
    {"records", "kind, id, body, updated_at_ms", 4, "kind, id"},
    {"audit_log",
     "seq, at_ms, actor_id, actor_role, subject_type, subject_id, action, body, prev_hash, hash",
     10, "seq"},
};

constexpr int kRowsPerInsert = 200;
// The audit lock of PostgresStore (postgres_store.cpp), so that a server appending to the
// target's chain waits for the copy.
constexpr std::string_view kLockAudit =
    "SELECT pg_advisory_xact_lock($1::integer, hashtext(current_schema()))";
constexpr int kAuditLockClass = 0x62664155;

Error SourceInvalid(std::string message) {
  return InvalidArgument("copy_source_invalid", std::move(message));
}

// Checks that the source has exactly the tables and columns of kTables (and schema_migrations).
Status CheckSourceSchema(sqlite::Db& src, const std::string& path) {
  BF_ASSIGN_OR_RETURN(
      sqlite::Stmt tables,
      src.Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                  "'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"));
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, tables.Step());
    if (!row) break;
    std::string_view name = tables.Text(0);
    bool known = false;
    for (const TableSpec& t : kTables) known = known || t.name == name;
    if (!known) {
      return SourceInvalid(fmt::format(
          "'{}' has a table '{}' that store copy does not know (src/store/store_copy.cpp)", path,
          name));
    }
  }
  for (const TableSpec& t : kTables) {
    BF_ASSIGN_OR_RETURN(sqlite::Stmt columns,
                        src.Prepare("SELECT group_concat(name, ', ') FROM "
                                    "(SELECT name FROM pragma_table_info(?1) ORDER BY cid)"));
    columns.Bind(1, t.name);
    BF_ASSIGN_OR_RETURN(bool row, columns.Step());
    std::string_view found = row ? columns.Text(0) : std::string_view();
    if (found != t.columns) {
      return SourceInvalid(fmt::format("'{}': table {} has columns ({}), store copy expects ({})",
                                       path, t.name, found, t.columns));
    }
  }
  return {};
}

std::string InsertSql(const TableSpec& t, int rows) {
  std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", t.name, t.columns);
  int n = 0;
  for (int r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (int c = 0; c < t.column_count; ++c) sql += fmt::format("{}${}", c == 0 ? "" : ", ", ++n);
    sql += ")";
  }
  return sql;
}

// Verifies the source's audit chain record by record as it is copied.
class ChainCheck {
 public:
  Status Next(const sqlite::Stmt& s) {
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
    if (r.seq != seq_ + 1 || r.prev_hash != hash_ || r.hash != AuditHash(r)) {
      return SourceInvalid(fmt::format(
          "the source's audit trail is broken at record {} (after record {}); run `borderflow "
          "audit verify` on it",
          r.seq, seq_));
    }
    seq_ = r.seq;
    hash_ = r.hash;
    return {};
  }
  int64_t seq() const { return seq_; }
  const std::string& hash() const { return hash_; }

 private:
  int64_t seq_ = 0;
  std::string hash_ = kGenesisHash;
};

// Copies one table; returns the rows copied.
Result<int64_t> CopyTable(sqlite::Db& src, pg::Conn& dst, const TableSpec& t, ChainCheck* chain) {
  BF_ASSIGN_OR_RETURN(sqlite::Stmt read, src.Prepare(fmt::format("SELECT {} FROM {} ORDER BY {}",
                                                                 t.columns, t.name, t.order_by)));
  const std::string full_batch = InsertSql(t, kRowsPerInsert);
  pg::Params params;
  int pending = 0;
  int64_t copied = 0;
  auto flush = [&]() -> Status {
    if (pending == 0) return {};
    BF_TRY(dst.Query(pending == kRowsPerInsert ? full_batch : InsertSql(t, pending), params));
    copied += pending;
    pending = 0;
    params = pg::Params();
    return {};
  };
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    if (chain != nullptr) BF_TRY(chain->Next(read));
    for (int c = 0; c < t.column_count; ++c) {
      if (read.IsNull(c)) {
        params.AddNull();
      } else {
        params.Add(read.Text(c));
      }
    }
    if (++pending == kRowsPerInsert) BF_TRY(flush());
  }
  BF_TRY(flush());
  return copied;
}

Result<StoreCopyReport> CopyInTransactions(sqlite::Db& src, pg::Conn& dst,
                                           const std::string& sqlite_path,
                                           const std::string& redacted) {
  // Every table is empty, checked under locks that keep a server out until the copy commits.
  std::string all;
  for (const TableSpec& t : kTables) all += fmt::format("{}{}", all.empty() ? "" : ", ", t.name);
  BF_TRY(dst.Exec(fmt::format("LOCK TABLE {} IN EXCLUSIVE MODE", all)));
  pg::Params lock;
  lock.Add(kAuditLockClass);
  BF_TRY(dst.Query(kLockAudit, lock));
  for (const TableSpec& t : kTables) {
    BF_ASSIGN_OR_RETURN(pg::Res any, dst.Query(fmt::format("SELECT 1 FROM {} LIMIT 1", t.name)));
    if (any.rows() > 0) {
      return Conflict("copy_target_not_empty",
                      fmt::format("the target database '{}' is not empty (table {} has rows); "
                                  "copy into a new, empty database",
                                  redacted, t.name));
    }
  }

  BF_TRY(CheckSourceSchema(src, sqlite_path));
  StoreCopyReport report;
  ChainCheck chain;
  for (const TableSpec& t : kTables) {
    BF_ASSIGN_OR_RETURN(int64_t rows,
                        CopyTable(src, dst, t, t.name == "audit_log" ? &chain : nullptr));
    report.tables.push_back(StoreCopyReport::Table{std::string(t.name), rows});
  }
  report.audit_head_seq = chain.seq();
  report.audit_head_hash = chain.seq() > 0 ? chain.hash() : std::string();
  return report;
}

}  // namespace

Result<StoreCopyReport> CopySqliteToPostgres(const std::string& sqlite_path,
                                             const std::string& pg_url) {
  if (!IsPostgresUrl(pg_url)) {
    return InvalidArgument(
        "copy_target_invalid",
        fmt::format("the target must be a postgresql:// URL, not '{}'", DescribeStore(pg_url)));
  }
  if (!std::filesystem::is_regular_file(sqlite_path)) {
    return SourceInvalid(fmt::format("no database file '{}'", sqlite_path));
  }
  const std::string redacted = pg::RedactPassword(pg_url);

  // The target's connection first, before the source is opened: opening a WAL database makes
  // its -wal and -shm files, and a target that does not answer keeps libpq waiting up to its
  // connect_timeout, long enough for the operator to interrupt a mistyped URL (Ctrl-C, kill):
  // the source would be left with them. Nothing is written to the target until the source is
  // known to be good (migrations included).
  auto dst = pg::Conn::Open(pg_url);
  if (!dst) {
    return Unavailable("store_open_failed",
                       fmt::format("cannot open database '{}': {}", redacted, dst.error().message));
  }

  // The source: at this borderflow's schema version, read in one snapshot, never written
  // (query_only). Opened for writing all the same, so that closing it removes the -wal and -shm
  // files that opening a WAL database makes (a read-only connection leaves them behind).
  auto src = sqlite::Db::Open(sqlite_path, SQLITE_OPEN_READWRITE);
  if (!src) return SourceInvalid(fmt::format("'{}': {}", sqlite_path, src.error().message));
  if (auto query_only = (*src)->Exec("PRAGMA query_only = ON"); !query_only) {
    return SourceInvalid(fmt::format("'{}': {}", sqlite_path, query_only.error().message));
  }
  {
    auto version = (*src)->QueryText("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!version) {
      return SourceInvalid(fmt::format("'{}' is not a borderflow database: {}", sqlite_path,
                                       version.error().message));
    }
    if (*version != std::to_string(store::LatestSchemaVersion())) {
      return SourceInvalid(fmt::format(
          "'{}' has schema version {}, this borderflow copies version {}; run `borderflow "
          "migrate --db {}` with this borderflow first",
          sqlite_path, *version, store::LatestSchemaVersion(), sqlite_path));
    }
  }

  // The target: migrated, then one transaction.
  BF_TRY(PostgresStore::Migrate(pg_url));
  pg::Conn& db = **dst;
  BF_TRY(db.Exec("SET synchronous_commit = on"));
  BF_TRY((*src)->Exec("BEGIN"));
  BF_TRY(db.Exec("BEGIN"));
  auto report = CopyInTransactions(**src, db, sqlite_path, redacted);
  (void)(*src)->Exec("COMMIT");  // a read transaction: nothing to keep
  if (!report) {
    if (db.transaction_status() != PQTRANS_IDLE) (void)db.Exec("ROLLBACK");
    return report.error();
  }
  BF_ASSIGN_OR_RETURN(pg::Res commit, db.Exec("COMMIT"));
  if (commit.CommandStatus() != "COMMIT") {
    return Unavailable("store_write_failed", fmt::format("the copy was not committed: COMMIT "
                                                         "answered '{}'",
                                                         commit.CommandStatus()));
  }
  return report;
}

}  // namespace borderflow
