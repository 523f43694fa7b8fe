#include "pg_conn.h"

#include <charconv>
#include <utility>

#include <fmt/format.h>

namespace borderflow::pg {

namespace {

// libpq's messages end with a newline (sometimes several lines); keep one line.
std::string Trim(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  std::string out(message);
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

// --- Params -----------------------------------------------------------------------------------

Params& Params::Add(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) has_nul_ = true;
  values_.emplace_back(std::string(text));
  return *this;
}

Params& Params::Add(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

Params& Params::Add(std::optional<int64_t> value) {
  if (!value) return AddNull();
  return Add(*value);
}

Params& Params::AddNull() {
  values_.emplace_back(std::nullopt);
  return *this;
}

const char* const* Params::pointers() {
  pointers_.clear();
  for (const auto& v : values_) pointers_.push_back(v ? v->c_str() : nullptr);
  return pointers_.data();
}

// --- Res --------------------------------------------------------------------------------------

bool Res::IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string_view Res::Text(int row, int column) const {
  if (IsNull(row, column)) return {};
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t Res::Int(int row, int column) const { return OptionalInt(row, column).value_or(0); }

std::optional<int64_t> Res::OptionalInt(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  std::string_view text = Text(row, column);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return value;
}

int64_t Res::Affected() const {
  if (!result_) return 0;
  std::string_view text = PQcmdTuples(result_.get());
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string_view Res::CommandStatus() const {
  if (!result_) return {};
  return PQcmdStatus(result_.get());
}

// --- Errors -----------------------------------------------------------------------------------

bool IsTransient(std::string_view sqlstate) {
  return sqlstate.starts_with("08") ||   // connection exception
         sqlstate.starts_with("53") ||   // insufficient resources
         sqlstate.starts_with("57P") ||  // operator intervention (shutdown, crash recovery)
         sqlstate == "40001" ||          // serialization_failure
         sqlstate == "40P01" ||          // deadlock_detected
         sqlstate == "55P03";            // lock_not_available
}

std::string RedactPassword(std::string_view url) {
  std::string out(url);
  // URL user info: scheme://user:password@host
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?", start);
    size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at > start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... as a URL parameter or a key=value pair.
  for (size_t pos = out.find("password"); pos != std::string::npos;
       pos = out.find("password", pos + 1)) {
    size_t eq = out.find_first_not_of(' ', pos + 8);
    if (eq == std::string::npos || out[eq] != '=') continue;
    size_t value = out.find_first_not_of(' ', eq + 1);
    if (value == std::string::npos) break;
    size_t end = value;
    if (out[value] == '\'') {
      end = out.find('\'', value + 1);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      end = out.find_first_of("& ", value);
      if (end == std::string::npos) end = out.size();
    }
    out.replace(value, end - value, "***");
  }
  return out;
}

// --- Conn -------------------------------------------------------------------------------------

Result<std::unique_ptr<Conn>> Conn::Open(const std::string& conninfo) {
  // Later keywords win; with expand_dbname the URL is expanded in place of "dbname".
  const char* keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                        nullptr};
  const char* values[] = {"10", "borderflow", conninfo.c_str(), "UTF8", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("store_unavailable", "libpq: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("store_unavailable", reason);
  }
  // NOTICEs (DROP ... CASCADE lists, "relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Conn>(new Conn(conn));
}

Conn::~Conn() { PQfinish(conn_); }

Status Conn::Reset() {
  prepared_.clear();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable("store_unavailable",
                       fmt::format("reconnecting: {}", Trim(PQerrorMessage(conn_))));
  }
  return {};
}

Result<Res> Conn::Check(PGresult* raw, std::string_view context) {
  Res result(raw);
  ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return result;
  }
  std::string sqlstate;
  std::string message;
  if (raw != nullptr) {
    const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    if (state != nullptr) sqlstate = state;
    message = Trim(PQresultErrorMessage(raw));
  }
  if (message.empty()) message = Trim(PQerrorMessage(conn_));
  if (message.empty()) message = fmt::format("unexpected result {}", PQresStatus(status));
  last_error_ = fmt::format("{}: {}{}", context, message,
                            sqlstate.empty() ? "" : fmt::format(" (SQLSTATE {})", sqlstate));
  if (broken() || IsTransient(sqlstate)) return Unavailable("store_unavailable", last_error_);
  return Error(ErrorKind::kInternal, "store_error", last_error_);
}

Result<Res> Conn::Exec(std::string_view sql) {
  std::string text(sql);
  return Check(PQexec(conn_, text.c_str()), "executing SQL");
}

Result<Res> Conn::Query(std::string_view sql, Params& params) {
  if (params.has_nul()) {
    return InvalidArgument("store_invalid_text", "a text value contains a NUL character");
  }
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = fmt::format("bf{}", next_statement_++);
    BF_TRY(Check(PQprepare(conn_, name.c_str(), key.c_str(), params.size(), nullptr),
                 fmt::format("preparing '{}'", sql)));
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  return Check(PQexecPrepared(conn_, it->second.c_str(), params.size(), params.pointers(), nullptr,
                              nullptr, /*resultFormat=*/0),
               it->first);
}

}  // namespace borderflow::pg
