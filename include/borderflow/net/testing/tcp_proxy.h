#pragma once

// A TCP proxy for tests that can cut the link: it forwards bytes both ways between clients
// that connect to it and one target, and Cut() drops every connection at once (TLS passes
// through untouched, since the proxy works below it). Test-only (library bf_net_testing).

#include <cstdint>
#include <memory>
#include <string>

#include <borderflow/core/error.h>

namespace borderflow::net::testing {

class TcpProxy {
 public:
  TcpProxy(std::string target_host, uint16_t target_port);
  ~TcpProxy();  // stops the proxy
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // Listens on 127.0.0.1 (a free port) and starts the proxy's I/O thread. Returns the port.
  // Errors: "listen_failed" (kUnavailable). Call at most once.
  [[nodiscard]] Result<uint16_t> Start();
  // Drops every open connection (TCP reset to both sides) and, until Heal(), resets every new
  // connection as soon as it is accepted. When Cut() returns, the drops are done.
  void Cut();
  // Forwards new connections again (connections dropped by Cut() stay dropped).
  void Heal();
  // Closes the listener and every connection and joins the I/O thread. Idempotent.
  void Stop();

  uint16_t port() const;
  // Counters (thread-safe): connections accepted (forwarded or refused), connections open
  // when Cut() dropped them, connections refused while cut, bytes forwarded to the target
  // (upstream) and back to clients (downstream).
  uint64_t accepted() const;
  uint64_t dropped() const;
  uint64_t refused() const;
  uint64_t bytes_upstream() const;
  uint64_t bytes_downstream() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace borderflow::net::testing
