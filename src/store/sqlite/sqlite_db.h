#pragma once

// A thin RAII layer over the SQLite C API (internal to src/store/sqlite).
//
// Thread safety: a Db and its statements belong to one thread at a time (connections are opened
// with SQLITE_OPEN_NOMUTEX); the store hands connections out under its own locks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include <borderflow/core/error.h>

namespace borderflow::sqlite {

// An error from SQLite: kUnavailable "store_unavailable" for conditions that may pass (busy,
// locked, I/O, disk full, out of memory, read-only), kInternal "store_error" otherwise. The
// message is "<context>: <sqlite3_errmsg> (<extended code>)".
Error SqliteError(sqlite3* db, int rc, std::string_view context);

class Db;

// A prepared statement in use. Statements come from Db::Prepare's cache; destroying the Stmt
// resets it and clears its bindings, so no read transaction outlives the call that used it.
// Binding errors are remembered and reported by the next Step().
class Stmt {
 public:
  Stmt() = default;
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based. Text is copied (SQLITE_TRANSIENT).
  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, int value) { return Bind(index, int64_t{value}); }
  Stmt& Bind(int index, std::optional<int64_t> value);
  Stmt& BindNull(int index);

  // Advances: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();

  // Column readers for the current row (0-based). NULL reads as 0 / "".
  int64_t Int(int column) const;
  std::string_view Text(int column) const;
  bool IsNull(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;

  // Rows changed by the last Run() of an INSERT/UPDATE/DELETE on this connection.
  int64_t Changes() const;
  // Extended result code of the last failed Step()/Run() (0 if none).
  int last_rc() const { return last_rc_; }

 private:
  friend class Db;
  Stmt(Db* db, sqlite3_stmt* stmt, bool* in_use, bool owned);
  void Release();
  void NoteBind(int rc, int index);

  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;  // the cache slot's flag, or nullptr for an owned statement
  bool owned_ = false;      // finalise on release (a statement prepared while its twin was busy)
  int bind_rc_ = SQLITE_OK;
  int bind_index_ = 0;
  int last_rc_ = 0;
};

class Db {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_NOMUTEX and extended result codes are added).
  // Errors carry SQLite's reason.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, int flags);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements without results (DDL, pragmas, BEGIN/COMMIT).
  Status Exec(std::string_view sql);
  // Runs a pragma or query returning one text value in its first row ("wal").
  Result<std::string> QueryText(std::string_view sql);

  // Returns the cached prepared statement for `sql` (prepared once with
  // SQLITE_PREPARE_PERSISTENT). If the cached one is already in use (a nested use of the same
  // SQL), a fresh statement is prepared and finalised after use.
  Result<Stmt> Prepare(std::string_view sql);

  // Whether the connection is outside any transaction (SQLite rolled back on its own after
  // some errors, e.g. disk full).
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }
  sqlite3* handle() const { return db_; }
  Error ErrorFor(int rc, std::string_view context) const { return SqliteError(db_, rc, context); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  // unordered_map nodes never move, so Stmt may keep a pointer to `in_use`.
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Cached, StringHash, std::equal_to<>> cache_;
};

}  // namespace borderflow::sqlite
