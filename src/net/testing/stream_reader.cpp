#include <algorithm>
#include <cctype>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <borderflow/net/testing/stream_reader.h>

namespace borderflow::net::testing {

StreamReader::StreamReader(uint16_t port, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ended_ = true;
    return;
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  std::string_view rest = request;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      ended_ = true;
      return;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

StreamReader::~StreamReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool StreamReader::WaitFor(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (body_.find(text) != std::string::npos) return true;
    if (ended_ || !Pump(deadline)) return body_.find(text) != std::string::npos;
  }
}

bool StreamReader::WaitForEnd(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ended_) {
    if (!Pump(deadline)) return ended_;
  }
  return true;
}

bool StreamReader::Pump(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[8192];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    Decode();
    ended_ = true;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  Decode();
  return true;
}

void StreamReader::Decode() {
  if (status_ == 0) {
    size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    header_ = raw_.substr(0, end + 2);
    std::transform(header_.begin(), header_.end(), header_.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    raw_.erase(0, end + 4);
    status_ = header_.size() > 12 ? std::atoi(header_.c_str() + 9) : -1;
    chunked_ = header_.find("transfer-encoding: chunked") != std::string::npos;
  }
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    return;
  }
  for (;;) {
    size_t line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) return;
    size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
    if (size == 0) {
      ended_ = true;
      raw_.clear();
      return;
    }
    if (raw_.size() < line_end + 2 + size + 2) return;
    body_.append(raw_, line_end + 2, size);
    raw_.erase(0, line_end + 2 + size + 2);
  }
}

}  // namespace borderflow::net::testing
