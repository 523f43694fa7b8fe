#include "sqlite_db.h"

#include <utility>

#include <fmt/format.h>

namespace borderflow::sqlite {

Error SqliteError(sqlite3* db, int rc, std::string_view context) {
  const char* reason = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = fmt::format("{}: {} ({})", context, reason, rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Error(ErrorKind::kUnavailable, "store_unavailable", std::move(message));
    default:
      return Error(ErrorKind::kInternal, "store_error", std::move(message));
  }
}

// --- Stmt -------------------------------------------------------------------------------------

Stmt::Stmt(Db* db, sqlite3_stmt* stmt, bool* in_use, bool owned)
    : db_(db), stmt_(stmt), in_use_(in_use), owned_(owned) {}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      owned_(std::exchange(other.owned_, false)),
      bind_rc_(other.bind_rc_),
      bind_index_(other.bind_index_),
      last_rc_(other.last_rc_) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    in_use_ = std::exchange(other.in_use_, nullptr);
    owned_ = std::exchange(other.owned_, false);
    bind_rc_ = other.bind_rc_;
    bind_index_ = other.bind_index_;
    last_rc_ = other.last_rc_;
  }
  return *this;
}

Stmt::~Stmt() { Release(); }

void Stmt::Release() {
  if (stmt_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (in_use_ != nullptr) *in_use_ = false;
  }
  stmt_ = nullptr;
  in_use_ = nullptr;
}

void Stmt::NoteBind(int rc, int index) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
    bind_index_ = index;
  }
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Stmt& Stmt::Bind(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Stmt& Stmt::Bind(int index, std::optional<int64_t> value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Stmt& Stmt::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) {
    last_rc_ = bind_rc_;
    return db_->ErrorFor(
        bind_rc_, fmt::format("binding parameter {} of \"{}\"", bind_index_, sqlite3_sql(stmt_)));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  last_rc_ = sqlite3_extended_errcode(db_->handle());
  return db_->ErrorFor(last_rc_, sqlite3_sql(stmt_));
}

Status Stmt::Run() {
  while (true) {
    BF_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return {};
  }
}

int64_t Stmt::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string_view Stmt::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(text),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Stmt::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::optional<int64_t> Stmt::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

int64_t Stmt::Changes() const { return sqlite3_changes64(db_->handle()); }

// --- Db ---------------------------------------------------------------------------------------

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, int flags) {
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &handle, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(handle, rc, "open");
    sqlite3_close_v2(handle);  // a handle is returned even on most failures
    return e;
  }
  sqlite3_extended_result_codes(handle, 1);
  return std::unique_ptr<Db>(new Db(handle));
}

Db::~Db() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  cache_.clear();
  sqlite3_close_v2(db_);
}

namespace {

// The start of `sql` on one line, for error messages ("CREATE TABLE crossings ( id TEXT ...").
std::string Abbreviate(std::string_view sql) {
  std::string out;
  for (char c : sql) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
    if (out.size() >= 60) return out + "...";
  }
  return out;
}

}  // namespace

Status Db::Exec(std::string_view sql) {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return ErrorFor(sqlite3_extended_errcode(db_), fmt::format("\"{}\"", Abbreviate(text)));
  }
  return {};
}

Result<std::string> Db::QueryText(std::string_view sql) {
  BF_ASSIGN_OR_RETURN(Stmt stmt, Prepare(sql));
  BF_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::string();
  return std::string(stmt.Text(0));
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(this, it->second.stmt, &it->second.in_use, false);
  }
  sqlite3_stmt* stmt = nullptr;
  const bool cache = it == cache_.end();
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return ErrorFor(sqlite3_extended_errcode(db_), fmt::format("preparing \"{}\"", sql));
  }
  if (stmt == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", fmt::format("empty statement \"{}\"", sql));
  }
  if (!cache) return Stmt(this, stmt, nullptr, true);
  auto slot = cache_.emplace(std::string(sql), Cached{stmt, true}).first;
  return Stmt(this, stmt, &slot->second.in_use, false);
}

}  // namespace borderflow::sqlite
