#pragma once

// Small HTTP/1.1 clients: a blocking keep-alive client (tests, CLI, peer link) and a load
// generator (benchmarks). Implemented with Beast in src/net/.

#include <memory>

#include <borderflow/net/http.h>

namespace borderflow::net {

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on a kept-alive connection (reconnecting when needed) and returns the
  // response. Errors: "connect_failed", "io_error", "timeout" (kUnavailable).
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body = {},
                            const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LoadRequest {
  std::string method;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int connections = 64;  // concurrent keep-alive connections, one request in flight each
  std::chrono::milliseconds duration{5000};
  std::chrono::milliseconds warmup{1000};  // requests in this first period are not measured
  int threads = 1;                         // client I/O threads
};

struct LoadResult {
  uint64_t requests = 0;  // measured completed requests
  uint64_t ok = 0;        // 2xx among them
  uint64_t errors = 0;    // non-2xx or I/O errors
  double seconds = 0;     // measured period
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

// Runs a closed-loop load: each connection sends `next(connection, i)` and waits for its
// response before sending the next. `next` is called from client I/O threads.
LoadResult RunLoad(const LoadOptions& options,
                   const std::function<LoadRequest(int connection, uint64_t i)>& next);

}  // namespace borderflow::net
