#include <boost/json/object.hpp>
#include <spdlog/spdlog.h>

#include <borderflow/api/api.h>
#include <borderflow/core/json.h>
#include <borderflow/core/utf8.h>

namespace borderflow::api {

namespace json = boost::json;

namespace {
std::string_view Title(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "Invalid request";
    case ErrorKind::kUnauthenticated:
      return "Authentication required";
    case ErrorKind::kPermissionDenied:
      return "Not allowed";
    case ErrorKind::kNotFound:
      return "Not found";
    case ErrorKind::kConflict:
      return "Conflict with the current state";
    case ErrorKind::kPayloadTooLarge:
      return "Request too large";
    case ErrorKind::kUnprocessable:
      return "Request cannot be processed";
    case ErrorKind::kTooManyRequests:
      return "Too many requests";
    case ErrorKind::kInternal:
      return "Internal error";
    case ErrorKind::kUnavailable:
      return "Service unavailable";
  }
  return "Error";
}
net::HttpResponse ProblemBody(int status, const Error& error, std::string_view instance);
}  // namespace

net::HttpResponse ProblemResponse(const Error& error, std::string_view instance) {
  return ProblemResponse(HttpStatusFor(error.kind), error, instance);
}

net::HttpResponse ProblemResponse(int status, const Error& error, std::string_view instance) {
  if (error.kind == ErrorKind::kInternal) {
    // Internal details (SQLite messages, exception texts) go to the log, not to the client.
    spdlog::error("internal error at {}: {}", instance, error.ToString());
    Error generic = error;
    generic.message = "internal error; the server log has the details";
    generic.field.clear();
    return ProblemBody(status, generic, instance);
  }
  return ProblemBody(status, error, instance);
}

namespace {
net::HttpResponse ProblemBody(int status, const Error& error, std::string_view instance) {
  json::object body{{"type", "https://borderflow.dev/problems/" + error.code},
                    {"title", status == 405   ? std::string_view("Method not allowed")
                              : status == 431 ? std::string_view("Request headers too large")
                                              : Title(error.kind)},
                    {"status", status},
                    {"detail", ValidUtf8(error.message)},
                    {"code", error.code}};
  // The detail, the field and the instance may echo the request's path or query, whose bytes
  // are the client's: invalid UTF-8 would make the whole body invalid JSON.
  if (!error.field.empty()) body["field"] = ValidUtf8(error.field);
  if (!instance.empty()) body["instance"] = ValidUtf8(instance);
  net::HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = ToJsonText(body);
  if (error.kind == ErrorKind::kTooManyRequests) r.headers.emplace_back("Retry-After", "1");
  if (error.kind == ErrorKind::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"borderflow\"");
  }
  return r;
}
}  // namespace

}  // namespace borderflow::api
