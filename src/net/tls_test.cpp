// HTTPS: HttpServer with ServerOptions::tls, HttpClient with ClientOptions, self-signed
// certificates, and HttpClient::ParseUrl. Loopback, ephemeral ports.

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <borderflow/net/http_client.h>
#include <borderflow/net/http_server.h>
#include <borderflow/net/testing/raw_socket.h>
#include <borderflow/net/testing/tcp_proxy.h>
#include <borderflow/net/tls.h>

namespace borderflow::net {
namespace {

using ::borderflow::net::testing::RawSocket;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

HttpResponse TestErrors(int status, std::string_view code, std::string_view detail) {
  return HttpResponse{
      status,
      "application/problem+json",
      {},
      "{\"code\":\"" + std::string(code) + "\",\"detail\":\"" + std::string(detail) + "\"}",
      nullptr};
}

// One certificate for the suite (key generation is the slow part under ASan).
const SelfSignedCertificate& ServerCert() {
  static const SelfSignedCertificate cert = MakeSelfSignedCertificate("gate-cn.test", 2).value();
  return cert;
}
const SelfSignedCertificate& OtherCert() {
  static const SelfSignedCertificate cert = MakeSelfSignedCertificate("other.test", 2).value();
  return cert;
}

TlsServerOptions ServerTls() {
  return TlsServerOptions{ServerCert().certificate_pem, ServerCert().private_key_pem};
}

ClientOptions TlsClient(uint16_t port, std::string ca_pem = {},
                        std::chrono::milliseconds timeout = 5s, std::string host = "127.0.0.1") {
  ClientOptions options;
  options.host = std::move(host);
  options.port = port;
  options.tls = true;
  options.ca_pem = std::move(ca_pem);
  options.timeout = timeout;
  return options;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/hello", [](HttpRequest& request, Respond respond) {
      respond(HttpResponse{200, "text/plain", {}, "hello " + request.remote_address, nullptr});
    });
    router_.Add("POST", "/echo", [](HttpRequest& request, Respond respond) {
      respond(HttpResponse{200, "application/octet-stream", {}, request.body, nullptr});
    });
  }

  void StartServer(ServerOptions options = {}) {
    if (!options.tls) options.tls = ServerTls();
    server_ = std::make_unique<HttpServer>(options, router_, TestErrors,
                                           [this](const HttpRequest&, const std::string& pattern,
                                                  int status, std::chrono::nanoseconds) {
                                             std::lock_guard lock(mu_);
                                             observed_.emplace_back(pattern, status);
                                           });
    auto port = server_->Start();
    ASSERT_TRUE(port.has_value()) << port.error().ToString();
    port_ = *port;
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::pair<std::string, int>> observed_;
};

TEST_F(TlsServerTest, RoundTripWithoutCaAndObserverSeesIt) {
  StartServer();
  HttpClient client(TlsClient(port_));
  auto response = client.Send("GET", "/hello");
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello 127.0.0.1");
  auto echo = client.Send("POST", "/echo", std::string(100000, 'e'));
  ASSERT_TRUE(echo.has_value()) << echo.error().ToString();
  EXPECT_EQ(echo->body, std::string(100000, 'e'));
  server_->Stop();  // the observer runs after the response is written
  std::lock_guard lock(mu_);
  ASSERT_EQ(observed_.size(), 2u);
  EXPECT_EQ(observed_[0], (std::pair<std::string, int>("/hello", 200)));
}

TEST_F(TlsServerTest, ClientWithTheCertificateAsCaVerifiesIpAndName) {
  StartServer();
  for (const char* host : {"127.0.0.1", "localhost"}) {
    HttpClient client(TlsClient(port_, ServerCert().certificate_pem, 5s, host));
    auto response = client.Send("GET", "/hello");
    ASSERT_TRUE(response.has_value()) << host << ": " << response.error().ToString();
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(TlsServerTest, ClientWithAnotherCaFailsTheHandshake) {
  StartServer();
  HttpClient client(TlsClient(port_, OtherCert().certificate_pem));
  auto response = client.Send("GET", "/hello");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, "tls_handshake_failed") << response.error().ToString();
  EXPECT_EQ(response.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(response.error().message.find("certificate"), std::string::npos)
      << response.error().message;
  // The server is unaffected.
  HttpClient good(TlsClient(port_, ServerCert().certificate_pem));
  ASSERT_TRUE(good.Send("GET", "/hello").has_value());
}

TEST_F(TlsServerTest, UnusableCaIsReportedBySend) {
  StartServer();
  HttpClient client(TlsClient(port_, "not a certificate"));
  auto response = client.Send("GET", "/hello");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, "invalid_tls_config");
}

TEST_F(TlsServerTest, PlainClientFailsCleanly) {
  StartServer();
  HttpClient client("127.0.0.1", port_, 5s);
  const auto start = Clock::now();
  auto response = client.Send("GET", "/hello");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, "io_error") << response.error().ToString();
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST(TlsClientTest, TlsClientAgainstPlainServerFailsTheHandshake) {
  Router router;
  router.Add("GET", "/hello", [](HttpRequest&, Respond respond) { respond(HttpResponse{}); });
  HttpServer server(ServerOptions{}, router, TestErrors);
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  HttpClient client(TlsClient(*port));
  const auto start = Clock::now();
  auto response = client.Send("GET", "/hello");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, "tls_handshake_failed") << response.error().ToString();
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_F(TlsServerTest, SilentClientIsDroppedAfterTheHandshakeTimeout) {
  StartServer(ServerOptions{.idle_timeout = 30s, .tls_handshake_timeout = 300ms});
  RawSocket silent(port_);
  ASSERT_TRUE(silent.connected());
  RawSocket partial(port_);
  ASSERT_TRUE(partial.connected());
  partial.Send(std::string("\x16\x03\x01\x02\x00\x01", 6));  // the start of a ClientHello
  const auto start = Clock::now();
  EXPECT_TRUE(silent.ReadsEofOrReset());
  EXPECT_TRUE(partial.ReadsEofOrReset());
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 3s);
}

TEST_F(TlsServerTest, GarbageInsteadOfAHandshakeIsDropped) {
  StartServer();
  RawSocket raw(port_);
  ASSERT_TRUE(raw.connected());
  raw.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(raw.ReadsEofOrReset());
}

TEST_F(TlsServerTest, BodyAndHeaderLimitsApply) {
  StartServer(ServerOptions{.max_body_bytes = 1024, .max_header_bytes = 1024});
  HttpClient client(TlsClient(port_));
  auto small = client.Send("POST", "/echo", std::string(1024, 'a'));
  ASSERT_TRUE(small.has_value()) << small.error().ToString();
  EXPECT_EQ(small->status, 200);
  auto big = client.Send("POST", "/echo", std::string(8192, 'b'));
  ASSERT_TRUE(big.has_value()) << big.error().ToString();
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("payload_too_large"), std::string::npos);
  auto header = client.Send("GET", "/hello", "", {{"X-Big", std::string(4096, 'h')}});
  ASSERT_TRUE(header.has_value()) << header.error().ToString();
  EXPECT_EQ(header->status, 431);
  auto again = client.Send("GET", "/hello");  // reconnects after the closes
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(again->status, 200);
}

TEST_F(TlsServerTest, KeepsOneConnectionForSeveralRequests) {
  StartServer();
  testing::TcpProxy proxy("127.0.0.1", port_);  // counts the connections
  auto proxy_port = proxy.Start();
  ASSERT_TRUE(proxy_port.has_value());
  HttpClient client(TlsClient(*proxy_port, ServerCert().certificate_pem));
  for (int i = 0; i < 5; ++i) {
    auto response = client.Send("POST", "/echo", "n" + std::to_string(i));
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->body, "n" + std::to_string(i));
  }
  EXPECT_EQ(proxy.accepted(), 1u);
}

TEST_F(TlsServerTest, StopClosesIdleAndHandshakingConnectionsQuickly) {
  StartServer();
  HttpClient client(TlsClient(port_));
  ASSERT_TRUE(client.Send("GET", "/hello").has_value());  // an idle kept-alive connection
  RawSocket silent(port_);                                // a connection mid-handshake
  ASSERT_TRUE(silent.connected());
  std::this_thread::sleep_for(50ms);
  const auto start = Clock::now();
  server_->Stop(5s);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(silent.ReadsEofOrReset());
}

TEST(TlsServerConfigTest, UnusableCertificateOrKeyIsRefusedAtStart) {
  const auto start = [](TlsServerOptions tls) {
    HttpServer server(ServerOptions{.tls = std::move(tls)}, Router{}, TestErrors);
    return server.Start();
  };
  auto garbage = start(TlsServerOptions{"garbage", ServerCert().private_key_pem});
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, "invalid_tls_config");
  auto no_key = start(TlsServerOptions{ServerCert().certificate_pem, ""});
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code, "invalid_tls_config");
  auto mismatch =
      start(TlsServerOptions{ServerCert().certificate_pem, OtherCert().private_key_pem});
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code, "invalid_tls_config");
  EXPECT_NE(mismatch.error().message.find("key"), std::string::npos) << mismatch.error().message;
}

TEST(TlsCertificateTest, PemFilesRoundTripAndKeyIsPrivate) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bf-tls-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert_file = (dir / "cert.pem").string();
  const std::string key_file = (dir / "key.pem").string();
  ASSERT_TRUE(WritePemFiles(ServerCert(), cert_file, key_file).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = LoadTlsServerOptions(cert_file, key_file);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(loaded->certificate_chain_pem, ServerCert().certificate_pem);
  EXPECT_EQ(loaded->private_key_pem, ServerCert().private_key_pem);
  auto missing = LoadTlsServerOptions((dir / "nope.pem").string(), key_file);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, "tls_file_unreadable");
  std::filesystem::remove_all(dir);
}

TEST(TlsCertificateTest, RefusesBadArguments) {
  EXPECT_FALSE(MakeSelfSignedCertificate("", 10).has_value());
  EXPECT_FALSE(MakeSelfSignedCertificate(std::string(65, 'a'), 10).has_value());
  EXPECT_FALSE(MakeSelfSignedCertificate("ok", 0).has_value());
  auto cert = MakeSelfSignedCertificate("10.0.0.7", 1);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_EQ(cert->certificate_pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  EXPECT_EQ(cert->private_key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
}

TEST(ParseUrlTest, AcceptsHttpAndHttpsWithPrefixes) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
    bool tls;
    const char* prefix;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8080", "127.0.0.1", 8080, false, ""},
      {"http://127.0.0.1:8080/", "127.0.0.1", 8080, false, ""},
      {"https://gate-cn.example:8443/peer/v1", "gate-cn.example", 8443, true, "/peer/v1"},
      {"https://gate-cn.example/peer/v1/", "gate-cn.example", 443, true, "/peer/v1"},
      {"HTTPS://Gate.Example", "Gate.Example", 443, true, ""},
      {"http://gate.example", "gate.example", 80, false, ""},
      {"https://[::1]:9443/p", "::1", 9443, true, "/p"},
  };
  for (const Case& c : cases) {
    auto options = HttpClient::ParseUrl(c.url);
    ASSERT_TRUE(options.has_value()) << c.url << ": " << options.error().ToString();
    EXPECT_EQ(options->host, c.host) << c.url;
    EXPECT_EQ(options->port, c.port) << c.url;
    EXPECT_EQ(options->tls, c.tls) << c.url;
    EXPECT_EQ(options->path_prefix, c.prefix) << c.url;
    EXPECT_TRUE(options->ca_pem.empty());
  }
}

TEST(ParseUrlTest, RefusesOtherUrls) {
  for (const char* url :
       {"", "127.0.0.1:8080", "ftp://host/", "https://", "https://:443/", "http://host:0",
        "http://host:65536", "http://host:80x", "http://user:pw@host/", "http://host/p?q=1",
        "http://host/p#frag", "/peer/v1", "https//host"}) {
    auto options = HttpClient::ParseUrl(url);
    ASSERT_FALSE(options.has_value()) << url;
    EXPECT_EQ(options.error().code, "invalid_url") << url;
    EXPECT_EQ(options.error().kind, ErrorKind::kInvalidArgument);
  }
}

TEST(ParseUrlTest, ParsedOptionsConnect) {
  Router router;
  router.Add("GET", "/peer/v1/ping", [](HttpRequest&, Respond respond) {
    respond(HttpResponse{200, "text/plain", {}, "pong", nullptr});
  });
  HttpServer server(ServerOptions{.tls = ServerTls()}, router, TestErrors);
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  auto options = HttpClient::ParseUrl("https://localhost:" + std::to_string(*port) + "/peer/v1");
  ASSERT_TRUE(options.has_value());
  options->ca_pem = ServerCert().certificate_pem;
  HttpClient client(*options);
  auto response = client.Send("GET", client.options().path_prefix + "/ping");
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->body, "pong");
}

}  // namespace
}  // namespace borderflow::net
