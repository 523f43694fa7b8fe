#pragma once

// The versioned schema of borderflow's relational stores (internal to src/store).
//
// Each migration's `sql` is portable: it uses only TEXT, BIGINT and INTEGER columns, plain
// PRIMARY KEY/UNIQUE/REFERENCES constraints and CREATE INDEX, so that the SQLite store and the
// PostgreSQL store apply the same list, under the same version numbers and in the same
// `schema_migrations` table. Anything that only one engine understands goes in that engine's own
// field, run after `sql` in the same transaction: `sqlite_sql` and `postgres_sql` (the triggers
// that keep audit_log append-only; PostgreSQL's byte-order collation, below).
//
// Text order: SQLite compares TEXT byte for byte; PostgreSQL by the database's collation, which
// is usually a natural-language one (en_US.UTF-8 ignores '-' at first). Every column that the
// stores order by or compare with '<' (ids used as cursors, the grouping columns of the counts,
// user names) is given COLLATE "C" on PostgreSQL, so that lists, pages and counts come back in
// the same order from both. Equality is byte equality under either collation.
//
// Rules: never edit a migration that has shipped; append a new one with the next version.

#include <span>
#include <string_view>

namespace borderflow::store {

struct Migration {
  int version = 0;                // 1, 2, 3, ... without gaps
  std::string_view name;          // "0001_initial"; recorded in schema_migrations
  std::string_view sql;           // portable DDL (SQLite and PostgreSQL), one or more statements
  std::string_view sqlite_sql;    // SQLite-only DDL run after `sql` in the same transaction
  std::string_view postgres_sql;  // PostgreSQL-only DDL run after `sql` in the same transaction
};

// The table that records applied migrations; created (if missing) before the first migration.
extern const std::string_view kSchemaMigrationsDdl;

// All migrations in ascending version order.
std::span<const Migration> Migrations();

// The highest version this build knows; a database at a higher version is "schema_too_new".
int LatestSchemaVersion();

}  // namespace borderflow::store
