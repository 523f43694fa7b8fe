// TcpProxy: forwarding, Cut() and Heal(), plain and TLS, and a cut in the middle of a response.

#include <future>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <borderflow/net/http_client.h>
#include <borderflow/net/http_server.h>
#include <borderflow/net/testing/tcp_proxy.h>
#include <borderflow/net/tls.h>

namespace borderflow::net::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

HttpResponse TestErrors(int status, std::string_view code, std::string_view) {
  return HttpResponse{status, "text/plain", {}, std::string(code), nullptr};
}

// A server (plain or TLS) with GET /hello, and a proxy in front of it.
class TcpProxyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    Router router;
    router.Add("GET", "/hello", [](HttpRequest&, Respond respond) {
      respond(HttpResponse{200, "text/plain", {}, "hello", nullptr});
    });
    ServerOptions options;
    if (tls()) {
      static const SelfSignedCertificate cert = MakeSelfSignedCertificate("proxy.test", 1).value();
      options.tls = TlsServerOptions{cert.certificate_pem, cert.private_key_pem};
    }
    server_ = std::make_unique<HttpServer>(options, router, TestErrors);
    auto port = server_->Start();
    ASSERT_TRUE(port.has_value()) << port.error().ToString();
    proxy_ = std::make_unique<TcpProxy>("127.0.0.1", *port);
    auto proxy_port = proxy_->Start();
    ASSERT_TRUE(proxy_port.has_value()) << proxy_port.error().ToString();
    EXPECT_EQ(proxy_->port(), *proxy_port);
  }

  bool tls() const { return GetParam(); }

  std::unique_ptr<HttpClient> Client(std::chrono::milliseconds timeout = 5s) {
    ClientOptions options;
    options.host = "127.0.0.1";
    options.port = proxy_->port();
    options.tls = tls();
    options.timeout = timeout;
    return std::make_unique<HttpClient>(options);
  }

  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<TcpProxy> proxy_;
};

TEST_P(TcpProxyTest, ForwardsBothWays) {
  auto client = Client();
  for (int i = 0; i < 3; ++i) {
    auto response = client->Send("GET", "/hello");
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->body, "hello");
  }
  EXPECT_EQ(proxy_->accepted(), 1u);
  EXPECT_GT(proxy_->bytes_upstream(), 0u);
  EXPECT_GT(proxy_->bytes_downstream(), 0u);
  EXPECT_EQ(proxy_->dropped(), 0u);
}

TEST_P(TcpProxyTest, CutFailsFastAndHealRestores) {
  auto kept = Client();
  ASSERT_TRUE(kept->Send("GET", "/hello").has_value());  // an open kept-alive connection

  proxy_->Cut();
  EXPECT_EQ(proxy_->dropped(), 1u);
  const auto start = Clock::now();
  auto on_dropped = kept->Send("GET", "/hello");  // its connection was reset, and so is the retry
  ASSERT_FALSE(on_dropped.has_value());
  EXPECT_EQ(on_dropped.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(on_dropped.error().code, "timeout") << on_dropped.error().ToString();
  auto fresh = Client()->Send("GET", "/hello");
  ASSERT_FALSE(fresh.has_value());
  EXPECT_NE(fresh.error().code, "timeout") << fresh.error().ToString();
  EXPECT_LT(Clock::now() - start, 2s);  // well under the 5 s client timeout
  EXPECT_GE(proxy_->refused(), 2u);

  proxy_->Heal();
  auto healed = kept->Send("GET", "/hello");
  ASSERT_TRUE(healed.has_value()) << healed.error().ToString();
  EXPECT_EQ(healed->body, "hello");
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, TcpProxyTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

// A raw HTTP target that sends the header and part of the body of a response, then waits until
// its connection goes away.
class StallingTarget {
 public:
  StallingTarget() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StallingTarget() {
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  static constexpr size_t kSentBody = 1000;

 private:
  void Serve() {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    const std::string partial =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n" +
        std::string(kSentBody, 'p');
    (void)::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(TcpProxyCutTest, CutInTheMiddleOfAResponseIsAnError) {
  StallingTarget target;
  TcpProxy proxy("127.0.0.1", target.port());
  auto port = proxy.Start();
  ASSERT_TRUE(port.has_value());
  HttpClient client("127.0.0.1", *port, 5s);
  const auto start = Clock::now();
  auto pending = std::async(std::launch::async, [&client] { return client.Send("GET", "/big"); });
  while (proxy.bytes_downstream() < StallingTarget::kSentBody && Clock::now() - start < 4s) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_GE(proxy.bytes_downstream(), StallingTarget::kSentBody);
  proxy.Cut();
  auto response = pending.get();
  ASSERT_FALSE(response.has_value()) << "status " << response->status;
  EXPECT_EQ(response.error().code, "io_error") << response.error().ToString();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(proxy.dropped(), 1u);
}

TEST(TcpProxyCutTest, StopClosesConnectionsAndIsIdempotent) {
  StallingTarget target;
  TcpProxy proxy("127.0.0.1", target.port());
  ASSERT_TRUE(proxy.Start().has_value());
  HttpClient client("127.0.0.1", proxy.port(), 5s);
  auto pending = std::async(std::launch::async, [&client] { return client.Send("GET", "/big"); });
  const auto start = Clock::now();
  while (proxy.bytes_downstream() < StallingTarget::kSentBody && Clock::now() - start < 4s) {
    std::this_thread::sleep_for(5ms);
  }
  proxy.Stop();
  proxy.Stop();
  EXPECT_FALSE(pending.get().has_value());
  EXPECT_LT(Clock::now() - start, 3s);
}

}  // namespace
}  // namespace borderflow::net::testing
