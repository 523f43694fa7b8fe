#pragma once

// A blocking reader of a streamed HTTP response (server-sent events) over plain TCP, for tests:
// it sends one GET, then decodes the chunked body as it arrives, so a test can wait until a
// given text has been streamed. Test-only (library bf_net_testing).

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace borderflow::net::testing {

class StreamReader {
 public:
  // Connects to 127.0.0.1:`port` and sends `GET target` with the extra headers.
  StreamReader(uint16_t port, const std::string& target,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // Reads until the decoded body contains `text` (true) or `timeout` passes or the response
  // ends (false). The status line and headers are read first.
  bool WaitFor(const std::string& text,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until the server ends the response (last chunk or closed connection); false on
  // timeout.
  bool WaitForEnd(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  int status() const { return status_; }                 // 0 until the header was read
  const std::string& header() const { return header_; }  // raw header block, lower-cased
  const std::string& body() const { return body_; }      // decoded so far
  bool ended() const { return ended_; }

 private:
  // Reads more bytes (up to `deadline`) and decodes what it can. False on timeout or EOF.
  bool Pump(std::chrono::steady_clock::time_point deadline);
  void Decode();

  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false;
  bool ended_ = false;
  std::string raw_;
  std::string header_;
  std::string body_;
};

}  // namespace borderflow::net::testing
