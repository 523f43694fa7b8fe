#include "migrations.h"

namespace borderflow::store {

const std::string_view kSchemaMigrationsDdl = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at_ms BIGINT NOT NULL
);
)sql";

namespace {

// ---------------------------------------------------------------------------------------------
// 0001_initial
// ---------------------------------------------------------------------------------------------

constexpr std::string_view kInitialSql = R"sql(
CREATE TABLE crossings (
  id TEXT PRIMARY KEY,
  company_id TEXT NOT NULL,
  direction TEXT NOT NULL,
  lane_class TEXT NOT NULL,
  state TEXT NOT NULL,
  plate TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX crossings_company_idx ON crossings (company_id, id);
CREATE INDEX crossings_state_idx ON crossings (state, id);
CREATE INDEX crossings_plate_idx ON crossings (plate, id);
CREATE INDEX crossings_direction_idx ON crossings (direction, lane_class, state);

CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  action TEXT NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id, seq);

CREATE TABLE idempotency (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  response TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created_idx ON idempotency (created_at_ms);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  company_id TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id),
  secret_hash TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NULL,
  revoked_at_ms BIGINT NULL
);
CREATE INDEX tokens_user_idx ON tokens (user_id);
)sql";

// SQLite only: the audit trail is append-only. The hash chain detects tampering after the fact;
// these triggers stop a buggy statement from rewriting history in the first place.
constexpr std::string_view kInitialSqliteSql = R"sql(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
)sql";

// PostgreSQL only: byte order for the ordered columns (see migrations.h), and the same
// append-only guard as SQLite's triggers (TRUNCATE included).
constexpr std::string_view kInitialPostgresSql = R"sql(
ALTER TABLE crossings
  ALTER COLUMN id TYPE TEXT COLLATE "C",
  ALTER COLUMN company_id TYPE TEXT COLLATE "C",
  ALTER COLUMN direction TYPE TEXT COLLATE "C",
  ALTER COLUMN lane_class TYPE TEXT COLLATE "C",
  ALTER COLUMN state TYPE TEXT COLLATE "C",
  ALTER COLUMN plate TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "C";
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
)sql";

// ---------------------------------------------------------------------------------------------
// 0002_records: the engine's small documents beside the crossings (capacity changes, bans,
// strikes, plate reads, queue counters).
// ---------------------------------------------------------------------------------------------

constexpr std::string_view kRecordsSql = R"sql(
CREATE TABLE records (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
);
)sql";

constexpr std::string_view kRecordsPostgresSql = R"sql(
ALTER TABLE records
  ALTER COLUMN kind TYPE TEXT COLLATE "C",
  ALTER COLUMN id TYPE TEXT COLLATE "C";
)sql";

// ---------------------------------------------------------------------------------------------
// 0003_driver_scope: a driver user names their document number, and sees only the crossings
// that declare them (crossings.driver_document, filled from each stored document).
// ---------------------------------------------------------------------------------------------

constexpr std::string_view kDriverScopeSql = R"sql(
ALTER TABLE users ADD COLUMN driver_document TEXT NOT NULL DEFAULT '';
ALTER TABLE crossings ADD COLUMN driver_document TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::string_view kDriverScopeSqliteSql = R"sql(
UPDATE crossings SET driver_document = COALESCE(json_extract(doc, '$.driver.document_number'), '');
CREATE INDEX crossings_driver_idx ON crossings (company_id, driver_document, id);
)sql";

constexpr std::string_view kDriverScopePostgresSql = R"sql(
ALTER TABLE crossings ALTER COLUMN driver_document TYPE TEXT COLLATE "C";
UPDATE crossings SET driver_document = COALESCE(doc::jsonb #>> '{driver,document_number}', '');
CREATE INDEX crossings_driver_idx ON crossings (company_id, driver_document, id);
)sql";

constexpr Migration kMigrations[] = {
    {1, "0001_initial", kInitialSql, kInitialSqliteSql, kInitialPostgresSql},
    {2, "0002_records", kRecordsSql, "", kRecordsPostgresSql},
    {3, "0003_driver_scope", kDriverScopeSql, kDriverScopeSqliteSql, kDriverScopePostgresSql},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

}  // namespace borderflow::store
