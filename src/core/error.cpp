#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <borderflow/core/assert.h>
#include <borderflow/core/error.h>

namespace borderflow {

int HttpStatusFor(ErrorKind kind) {
  switch (kind) {
#define BORDERFLOW_ERROR_STATUS(name, status) \
  case ErrorKind::name:                       \
    return status;
    BORDERFLOW_ERROR_KINDS(BORDERFLOW_ERROR_STATUS)
#undef BORDERFLOW_ERROR_STATUS
  }
  return 500;
}

ErrorKind ErrorKindForStatus(int status) {
#define BORDERFLOW_ERROR_FROM_STATUS(name, code) \
  if (status == code) return ErrorKind::name;
  BORDERFLOW_ERROR_KINDS(BORDERFLOW_ERROR_FROM_STATUS)
#undef BORDERFLOW_ERROR_FROM_STATUS
  return status >= 500 ? ErrorKind::kInternal : ErrorKind::kInvalidArgument;
}

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kUnauthenticated:
      return "unauthenticated";
    case ErrorKind::kPermissionDenied:
      return "permission_denied";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorKind::kUnprocessable:
      return "unprocessable";
    case ErrorKind::kTooManyRequests:
      return "too_many_requests";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

std::string Error::ToString() const {
  std::string out = code.empty() ? std::string(ErrorKindName(kind)) : code;
  out += ": ";
  out += message;
  if (!field.empty()) {
    out += " (at ";
    out += field;
    out += ")";
  }
  return out;
}

Error Error::Within(std::string_view parent) const {
  Error copy = *this;
  if (copy.field.empty()) {
    copy.field = std::string(parent);
  } else if (copy.field.front() == '[') {
    copy.field = std::string(parent) + copy.field;
  } else {
    copy.field = std::string(parent) + "." + copy.field;
  }
  return copy;
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.ToString());
}

namespace internal {
void AssertFailed(const char* condition, const char* why, const char* file, int line) {
  std::fprintf(stderr, "borderflow: invariant violated at %s:%d: %s (%s)\n", file, line, condition,
               why);
  std::fflush(stderr);
  std::abort();
}
}  // namespace internal

}  // namespace borderflow
