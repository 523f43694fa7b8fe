#pragma once

// A thin RAII layer over libpq (internal to src/store). It mirrors sqlite/sqlite_db.h: a
// connection, its results, and statements prepared once per connection under a generated name.
//
// Every parameter and every result column is text (libpq's text format); the server infers the
// parameter types from the statement, and integers are parsed here.
//
// Thread safety: a Conn and its results belong to one thread at a time; the store hands
// connections out under its own locks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <libpq-fe.h>

#include <borderflow/core/error.h>

namespace borderflow::pg {

// The parameters of one statement ($1, $2, ... in the order added), as text; NULL for an empty
// optional. Text with a NUL byte cannot be sent (PostgreSQL's text has none): the statement that
// receives it fails with kInvalidArgument "store_invalid_text".
class Params {
 public:
  Params& Add(std::string_view text);
  Params& Add(const char* text) { return Add(std::string_view(text)); }
  Params& Add(int64_t value);
  Params& Add(int value) { return Add(int64_t{value}); }
  Params& Add(std::optional<int64_t> value);
  Params& AddNull();

  int size() const { return static_cast<int>(values_.size()); }
  bool has_nul() const { return has_nul_; }
  // Pointers to the values, valid until the next Add.
  const char* const* pointers();

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<const char*> pointers_;
  bool has_nul_ = false;
};

// A result (PQclear on destruction). Rows and columns are 0-based.
class Res {
 public:
  Res() = default;
  explicit Res(PGresult* result) : result_(result) {}

  int rows() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool IsNull(int row, int column) const;
  std::string_view Text(int row, int column) const;  // NULL reads as ""
  int64_t Int(int row, int column) const;            // NULL or not an integer reads as 0
  std::optional<int64_t> OptionalInt(int row, int column) const;
  // Rows inserted, updated or deleted by the statement (PQcmdTuples).
  int64_t Affected() const;
  // "COMMIT", "ROLLBACK", "INSERT 0 1", ...
  std::string_view CommandStatus() const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

class Conn {
 public:
  // Connects with `conninfo`, a URL (postgresql://user@host:5432/db?...) or a key=value string.
  // Defaults that the URL may override: connect_timeout=10, application_name=borderflow; always:
  // client_encoding=UTF8. Errors (kUnavailable "store_unavailable") carry libpq's reason.
  static Result<std::unique_ptr<Conn>> Open(const std::string& conninfo);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one or more statements without parameters (DDL, SET, BEGIN, COMMIT) through the simple
  // query protocol; returns the last statement's result.
  Result<Res> Exec(std::string_view sql);
  // Runs `sql` with `params`. The statement is prepared on first use and kept, by name, for the
  // life of the connection.
  Result<Res> Query(std::string_view sql, Params& params);
  Result<Res> Query(std::string_view sql) {
    Params none;
    return Query(sql, none);
  }

  // Whether the connection is lost (the server went away, a network error).
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // Reconnects after a loss; prepared statements are forgotten (the server's are gone).
  Status Reset();
  // Idle, in a transaction, or in a failed transaction (every statement refused until ROLLBACK).
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }
  // The message of the last error on this connection (kept until the next statement), for a
  // function that swallowed a failed statement's error.
  const std::string& last_error() const { return last_error_; }

 private:
  explicit Conn(PGconn* conn) : conn_(conn) {}
  Result<Res> Check(PGresult* result, std::string_view context);

  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  int next_statement_ = 0;
  std::string last_error_;
};

// Errors of Exec/Query: kUnavailable "store_unavailable" for conditions that may pass (the
// connection lost, the server shutting down, serialisation failures, deadlocks, resources
// exhausted), kInternal "store_error" otherwise. The message is "<context>: <PostgreSQL's
// message> (SQLSTATE xxxxx)". IsTransient tells the two apart by SQLSTATE.
bool IsTransient(std::string_view sqlstate);

// `url` with its password replaced by "***" (URL user info, a password= parameter or key), for
// messages and logs.
std::string RedactPassword(std::string_view url);

}  // namespace borderflow::pg
