#pragma once

// Small HTTP/1.1 clients: a blocking keep-alive client (tests, CLI, peer link) and a load
// generator (benchmarks). Implemented with Beast in src/net/.

#include <memory>

#include <borderflow/net/http.h>

namespace borderflow::net {

struct ClientOptions {
  std::string host{};  // name or IP address ("::1" without brackets)
  uint16_t port = 0;
  bool tls = false;  // HTTPS (TLS 1.2 or 1.3)
  // With tls: when set (PEM, one or more certificates), the server's certificate must chain to
  // one of them and match `host` (DNS name or IP address in subjectAltName). When empty, the
  // server's certificate is not verified at all: the connection is encrypted but not
  // authenticated, so trust must come from elsewhere (the peer link's message signatures).
  std::string ca_pem{};
  std::chrono::milliseconds timeout{10000};  // per Send(), connecting and handshake included
  // Path of the URL given to ParseUrl without a trailing "/" ("" or "/peer/v1"). Send() does
  // not add it: callers build targets as options().path_prefix + "/...".
  std::string path_prefix{};
  // The largest response body Send() reads: a response announcing a longer one (Content-Length)
  // is refused from its header, a chunked one once it passes the bound, before more is read,
  // with "response_too_large" and the connection closed.
  size_t max_response_body_bytes = size_t{1} << 30;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // Plain HTTP or HTTPS per `options`. An unusable options.ca_pem is reported by every Send()
  // ("invalid_tls_config", kInvalidArgument).
  explicit HttpClient(ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Parses "http://host[:port][/prefix]" or "https://host[:port][/prefix]" (default ports 80 and
  // 443; IPv6 hosts in brackets) into host, port, tls and path_prefix; timeout and ca_pem keep
  // their defaults. Errors: "invalid_url" (kInvalidArgument) for another scheme, no host, a bad
  // port, user info, a query or a fragment.
  [[nodiscard]] static Result<ClientOptions> ParseUrl(std::string_view url);

  // Sends one request on a kept-alive connection (reconnecting when needed) and returns the
  // response. Errors (kUnavailable): "connect_failed", "io_error", "timeout", and with TLS
  // "tls_handshake_failed" (the server's certificate was refused, or the server does not speak
  // TLS), "response_too_large" (a body over options.max_response_body_bytes);
  // "invalid_tls_config" (kInvalidArgument) for an unusable ca_pem.
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body = {},
                            const std::vector<std::pair<std::string, std::string>>& headers = {});

  const ClientOptions& options() const;

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
