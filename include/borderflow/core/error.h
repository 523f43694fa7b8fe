#pragma once

// Expected failures are values: every fallible call returns Result<T>.
// One place at the HTTP edge (api/problem.cpp) maps an ErrorKind to a status code
// and an RFC 9457 problem-details body; the `code` string is the stable,
// machine-readable name a client can switch on.

#include <string>
#include <string_view>
#include <utility>

#include <boost/system/result.hpp>

namespace borderflow {

// X-macro: kind, HTTP status it maps to at the edge.
#define BORDERFLOW_ERROR_KINDS(X) \
  X(kInvalidArgument, 400)        \
  X(kUnauthenticated, 401)        \
  X(kPermissionDenied, 403)       \
  X(kNotFound, 404)               \
  X(kConflict, 409)               \
  X(kPayloadTooLarge, 413)        \
  X(kUnprocessable, 422)          \
  X(kTooManyRequests, 429)        \
  X(kInternal, 500)               \
  X(kUnavailable, 503)

enum class ErrorKind {
#define BORDERFLOW_ERROR_ENUM(name, status) name,
  BORDERFLOW_ERROR_KINDS(BORDERFLOW_ERROR_ENUM)
#undef BORDERFLOW_ERROR_ENUM
};

// HTTP status for an error kind (the only mapping in the code base).
int HttpStatusFor(ErrorKind kind);
// The error kind whose status is `status`; kInvalidArgument for other 4xx statuses (405, 431)
// and kInternal for other 5xx ones. Used where an HTTP layer reports its own errors.
ErrorKind ErrorKindForStatus(int status);
// Human-readable kind name, e.g. "invalid_argument".
std::string_view ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  // Stable machine-readable code, e.g. "invalid_plate", "unknown_hs_code", "invalid_transition".
  std::string code;
  // Human-readable explanation (English); safe to show to the caller.
  std::string message;
  // JSON pointer or dotted path of the offending field, when there is one ("vehicle.plate").
  std::string field;

  Error() = default;
  Error(ErrorKind k, std::string c, std::string m, std::string f = {})
      : kind(k), code(std::move(c)), message(std::move(m)), field(std::move(f)) {}

  // "invalid_plate: plate '12X' is not a Vietnamese or Chinese plate (at vehicle.plate)"
  std::string ToString() const;
  // Returns a copy whose field is prefixed with `parent` ("lines[2]" + "hs_code").
  Error Within(std::string_view parent) const;
};

// Allows boost::system::result<T, Error>::value() to throw on error (used only in tests and
// in wiring code where an error is a bug).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;
using Status = boost::system::result<void, Error>;

inline Error InvalidArgument(std::string code, std::string message, std::string field = {}) {
  return Error(ErrorKind::kInvalidArgument, std::move(code), std::move(message), std::move(field));
}
inline Error NotFound(std::string code, std::string message) {
  return Error(ErrorKind::kNotFound, std::move(code), std::move(message));
}
inline Error Conflict(std::string code, std::string message) {
  return Error(ErrorKind::kConflict, std::move(code), std::move(message));
}
inline Error Internal(std::string message) {
  return Error(ErrorKind::kInternal, "internal", std::move(message));
}
inline Error Unavailable(std::string code, std::string message) {
  return Error(ErrorKind::kUnavailable, std::move(code), std::move(message));
}

}  // namespace borderflow

// Returns the error of `expr` (a Result) from the enclosing function.
#define BF_TRY(expr)                                    \
  do {                                                  \
    auto&& bf_try_result_ = (expr);                     \
    if (!bf_try_result_) return bf_try_result_.error(); \
  } while (0)

#define BF_CONCAT_INNER(a, b) a##b
#define BF_CONCAT(a, b) BF_CONCAT_INNER(a, b)
// BF_ASSIGN_OR_RETURN(auto x, Compute()); declares x from a Result or returns its error.
#define BF_ASSIGN_OR_RETURN(decl, expr) \
  BF_ASSIGN_OR_RETURN_IMPL(BF_CONCAT(bf_result_, __LINE__), decl, expr)
#define BF_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                              \
  if (!tmp) return tmp.error();                   \
  decl = std::move(*tmp)
