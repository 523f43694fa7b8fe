#pragma once

// A blocking TCP socket to 127.0.0.1 for tests that send bytes HttpClient never would (broken
// requests, partial headers, nothing at all) and read what comes back. Test-only (library
// bf_net_testing).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace borderflow::net::testing {

class RawSocket {
 public:
  // Connects to 127.0.0.1:`port`; every read gives up after `timeout` without data.
  explicit RawSocket(uint16_t port, std::chrono::seconds timeout = std::chrono::seconds(5));
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  // Sends all of `bytes` (or as much as the peer takes before closing).
  void Send(std::string_view bytes);
  // One response with a Content-Length body (or none); "" on EOF, error or timeout first.
  std::string ReadResponse();
  // What arrives until a response's header is complete, the peer closes or the timeout.
  std::string ReadHeader();
  // True when the peer closed the connection (after any bytes still to read).
  bool ReadsEof();
  // True when the peer closed or reset the connection before the timeout.
  bool ReadsEofOrReset();

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;  // read but not yet returned
};

}  // namespace borderflow::net::testing
