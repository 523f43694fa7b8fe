#pragma once

// The HTTP/1.1 server (Boost.Beast, C++20 coroutines). The implementation is the only code in
// the project that includes Beast/Asio.

#include <functional>
#include <memory>
#include <optional>

#include <borderflow/net/http.h>
#include <borderflow/net/tls.h>

namespace borderflow::net {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (tests)
  int threads = 2;    // I/O threads
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  // How long a kept-alive connection may wait for the first byte of its next request.
  std::chrono::seconds idle_timeout{30};
  // How long a request's header may take to arrive: from the connection's start (after the TLS
  // handshake) for its first request, from the first byte of the request for the next ones. A
  // client that trickles a header ("slowloris") is closed after this, sooner than an idle one.
  std::chrono::milliseconds header_timeout{10000};
  size_t max_connections = 4096;  // beyond this, new connections get 503 and are closed
  // Connections open at once from one client address (IPv4, or IPv6 as written); beyond it a
  // new connection from that address is closed at once, unanswered, so that one client cannot
  // take every slot of max_connections. Behind a reverse proxy every client has the proxy's
  // address: raise it there. 0: no limit.
  size_t max_connections_per_address = 256;
  // When set, the server speaks HTTPS only (TLS 1.2 or 1.3, OpenSSL's default cipher lists,
  // no renegotiation, no client certificates); the HTTP handling is the same as without.
  std::optional<TlsServerOptions> tls{};
  // Bound on the TLS handshake of a new connection (with tls set); a client that connects and
  // never completes the handshake is closed after this.
  std::chrono::milliseconds tls_handshake_timeout{10000};
  // Called once a request's header is read, before its body (method, target, path, headers and
  // remote address are set; the body is empty). A response refuses the request unread: it is
  // sent and the connection closed, so a client over a rate limit cannot make the server read
  // and buffer bodies of up to max_body_bytes. Empty: every request is read.
  std::function<std::optional<HttpResponse>(const HttpRequest& header)> admit{};
};

// Called once per completed request, for access logs and metrics (from an I/O thread).
using RequestObserver = std::function<void(const HttpRequest& request, const std::string& pattern,
                                           int status, std::chrono::nanoseconds elapsed)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, Router router, ErrorResponder errors,
             RequestObserver observer = {});
  ~HttpServer();  // stops the server
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. Returns the bound port (useful with port 0).
  // Errors: code "listen_failed" (kUnavailable) with the OS reason; "invalid_tls_config"
  // (kInvalidArgument) when options.tls holds an unusable certificate chain or key, or a key
  // that does not match the certificate.
  Result<uint16_t> Start();
  // Stops accepting, lets in-flight requests finish for up to `grace`, closes connections and
  // joins the I/O threads. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace borderflow::net
