#pragma once

// Plain HTTP request/response values and the router. This header is free of Boost.Beast/Asio so
// that api/ and tests can use it cheaply; only src/net/*.cpp include Beast.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <borderflow/core/error.h>

namespace borderflow::net {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: "/api/v1/crossings?state=booked"
  std::string path;    // percent-decoded path without the query: "/api/v1/crossings"
  std::vector<std::pair<std::string, std::string>> query;    // percent-decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;                      // "127.0.0.1"
  std::map<std::string, std::string> path_params;  // filled by the router: {"id": "..."}

  // First header with this (case-insensitive) name, or "".
  std::string_view Header(std::string_view name) const;
  // First query parameter with this name.
  std::optional<std::string_view> Query(std::string_view name) const;
  std::string_view PathParam(const std::string& name) const;
};

// A response body produced over time (server-sent events): the handler keeps the producer side
// and pushes chunks from any thread; the server writes each chunk as it arrives (chunked transfer
// encoding) until the producer finishes, the client goes away, the server stops, or the client
// falls more than `max_buffered` bytes behind (then the stream closes and the client reconnects).
// When nothing was pushed for `keepalive_every`, the server writes `keepalive` (so dead
// connections are found and proxies keep live ones open). Thread-safe.
class BodyStream {
 public:
  BodyStream(std::string keepalive, std::chrono::milliseconds keepalive_every,
             size_t max_buffered = 1 << 20)
      : keepalive_(std::move(keepalive)),
        keepalive_every_(keepalive_every),
        max_buffered_(max_buffered) {}

  // Producer. Queues a chunk; returns false (dropping it) when the stream is closed.
  bool Push(std::string chunk);
  // Producer: no more chunks; the server ends the response after the queued ones.
  void Finish();
  // Whether the consumer closed the stream (client gone, server stopping, too far behind).
  bool closed() const;

  // Consumer (the server). Takes everything queued; `done` when the producer finished or the
  // stream is closed.
  struct Taken {
    std::string data;
    bool done = false;
  };
  Taken Take();
  // Whether Take() would return something now: data, or the end.
  bool Pending() const;
  // `wake` is called, under the stream's lock, whenever a chunk is queued or the producer
  // finishes; it must only post work elsewhere. Close() removes it: once Close() returns,
  // `wake` is never called again.
  void SetWaker(std::function<void()> wake);
  void Close();

  const std::string& keepalive() const { return keepalive_; }
  std::chrono::milliseconds keepalive_every() const { return keepalive_every_; }

 private:
  const std::string keepalive_;
  const std::chrono::milliseconds keepalive_every_;
  const size_t max_buffered_;
  mutable std::mutex mu_;
  std::string queued_;
  bool finished_ = false;
  bool closed_ = false;
  std::function<void()> wake_;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  // When set, `body` is sent first and then the stream's chunks, and the connection closes
  // when the stream ends (server only; HEAD requests get the header alone).
  std::shared_ptr<BodyStream> stream;
};

// Completes a request. Must be called exactly once, from any thread.
using Respond = std::function<void(HttpResponse)>;
// Handles one request. It may respond before returning (synchronous) or later from another
// thread (asynchronous, e.g. after a group commit). It must not block for long: it runs on an
// I/O thread.
using Handler = std::function<void(HttpRequest& request, Respond respond)>;

// Builds the response for errors the server detects itself before any handler runs (404 no
// route, 405 wrong method, 413 body too large, 400 unparsable request, 503 overloaded), so
// that the body format (problem details) is decided by api/, not net/.
using ErrorResponder =
    std::function<HttpResponse(int status, std::string_view code, std::string_view detail)>;

class Router {
 public:
  // `pattern` is a path with `{name}` segments: "/api/v1/crossings/{id}/events".
  // A trailing "/*" segment matches the rest of the path into param "*" (for static files).
  void Add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when no route matched
    std::map<std::string, std::string> params;
    int status = 404;     // 404 (no path) or 405 (path exists, other method)
    std::string allow;    // for 405: "GET, POST"
    std::string pattern;  // matched pattern, for metrics labels
  };
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace borderflow::net
