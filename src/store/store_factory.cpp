#include <utility>

#include <borderflow/store/store_factory.h>

#include "postgres/pg_conn.h"

namespace borderflow {

std::string SqlitePathOf(std::string_view location) {
  if (IsPostgresUrl(location)) return {};
  if (location.starts_with("sqlite://")) {
    location.remove_prefix(9);
  } else if (location.starts_with("sqlite:")) {
    location.remove_prefix(7);
  }
  return std::string(location);
}

std::string DescribeStore(std::string_view location) {
  return IsPostgresUrl(location) ? pg::RedactPassword(location) : SqlitePathOf(location);
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view location,
                                         std::shared_ptr<const HsNomenclature> hs,
                                         const StoreOpenOptions& options) {
  if (IsPostgresUrl(location)) {
    BF_ASSIGN_OR_RETURN(
        auto store, PostgresStore::Open(PostgresOptions{std::string(location),
                                                        options.read_connections, options.migrate},
                                        std::move(hs)));
    return std::unique_ptr<Store>(std::move(store));
  }
  BF_ASSIGN_OR_RETURN(
      auto store, SqliteStore::Open(SqliteOptions{SqlitePathOf(location), options.read_connections,
                                                  options.migrate},
                                    std::move(hs)));
  return std::unique_ptr<Store>(std::move(store));
}

Result<MigrationStatus> MigrateStore(std::string_view location) {
  if (IsPostgresUrl(location)) return PostgresStore::Migrate(std::string(location));
  return SqliteStore::Migrate(SqlitePathOf(location));
}

}  // namespace borderflow
