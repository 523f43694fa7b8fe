#pragma once

// Choosing a store by configuration: `borderflow serve --db LOCATION`, `migrate`, `audit verify`.
//
//   postgresql://user@host:5432/borderflow   PostgreSQL (postgres:// too; libpq URL parameters
//                                            such as sslmode pass through)
//   sqlite:var/borderflow.db                 SQLite (sqlite://PATH and sqlite:///ABSOLUTE too)
//   var/borderflow.db                        SQLite: anything else is a file path

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/hs_code.h>
#include <borderflow/engine/store.h>
#include <borderflow/store/postgres_store.h>
#include <borderflow/store/sqlite_store.h>

namespace borderflow {

struct StoreOpenOptions {
  int read_connections = 4;  // pooled reader connections
  bool migrate = true;       // apply pending migrations on open
};

// The SQLite file of `location`, or "" when it names a PostgreSQL database.
std::string SqlitePathOf(std::string_view location);

// `location` for messages and logs (a PostgreSQL password replaced by ***).
std::string DescribeStore(std::string_view location);

// Opens the store `location` names (see above). Errors as SqliteStore::Open and
// PostgresStore::Open.
Result<std::unique_ptr<Store>> OpenStore(std::string_view location,
                                         std::shared_ptr<const HsNomenclature> hs,
                                         const StoreOpenOptions& options = {});

// Applies pending migrations to the store `location` names (borderflow migrate).
Result<MigrationStatus> MigrateStore(std::string_view location);

struct StoreCopyReport {
  struct Table {
    std::string name;
    int64_t rows = 0;
  };
  std::vector<Table> tables;   // rows copied per table, in copy order
  int64_t audit_head_seq = 0;  // the last audit record copied (0: none)
  std::string audit_head_hash;
};

// Copies every row of the SQLite database `sqlite_path` into the PostgreSQL database `pg_url`
// (borderflow store copy). The source is opened read-only and must be at this borderflow's
// schema version (run `borderflow migrate` on it first); the target is migrated, must be empty,
// and receives everything in one transaction, so a failed copy leaves it empty. Audit records
// keep their sequence numbers and hashes: the source chain is verified while it is read, and
// the copy is refused if it is broken. Stop the node that writes the source first. The target
// is connected to before the source is opened, so that a target that cannot be reached (or
// answers slowly and the copy is interrupted) leaves the source as it was, without -wal and
// -shm files; nothing is written to the target before the source has been checked.
// Errors: kInvalidArgument "copy_source_invalid" (missing file, wrong schema version, broken
// chain), kConflict "copy_target_not_empty", store_open_failed and the stores' errors.
Result<StoreCopyReport> CopySqliteToPostgres(const std::string& sqlite_path,
                                             const std::string& pg_url);

}  // namespace borderflow
