// HttpClient (blocking, keep-alive) and RunLoad (closed-loop load generator), on Beast.
//
// HttpClient runs each Send() as a coroutine on its private io_context and drives that context
// on the calling thread until the exchange completes; using async operations gives a real
// per-request deadline (beast::tcp_stream timeouts apply to async operations only).
//
// TLS: with ClientOptions::tls the connection is a beast::ssl_stream over the same tcp_stream
// (one request/response path for both, through WithStream); the handshake shares the request's
// deadline. TLS connections are closed at the TCP level, without close_notify (HTTP/1.1 framing
// makes truncation detectable).
//
// Thread-safety: an HttpClient is not thread-safe (one Send() at a time; use one client per
// thread). RunLoad is reentrant; it calls `next` concurrently when options.threads > 1.

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <borderflow/core/thread_name.h>
#include <borderflow/net/http_client.h>

#include "beast_common.h"

namespace borderflow::net {

namespace asio = internal::asio;
namespace beast = internal::beast;
namespace http = internal::http;
using internal::kAwaitTuple;
using internal::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr std::uint64_t kMaxResponseBody = std::uint64_t{1} << 30;
constexpr std::uint32_t kMaxResponseHeader = 64 << 10;

http::request<http::string_body> BuildRequest(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& host) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "borderflow-client");
  // Each header as given, a name given twice sent twice (tests send ambiguous requests).
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = std::string(body);
  req.prepare_payload();
  return req;
}

HttpResponse ToResponse(http::response<http::string_body>&& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  for (const auto& field : res) {
    out.headers.emplace_back(internal::ToLower(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(res.body());
  return out;
}

// True when a failure on a reused connection means "the server had already closed it".
bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == http::error::partial_message ||
         ec == asio::ssl::error::stream_truncated;
}

bool IsIpAddress(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// "host:port", with IPv6 addresses in brackets.
std::string HostHeader(const std::string& host, uint16_t port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// The client TLS context: TLS 1.2+, and with a CA, peer verification against it alone.
Result<asio::ssl::context> MakeClientContext(const std::string& ca_pem) {
  const auto invalid = [](std::string what, const beast::error_code& ec) {
    return InvalidArgument("invalid_tls_config", what + (ec ? ": " + ec.message() : std::string()));
  };
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  beast::error_code ec;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression,
                  ec);
  if (ec) return invalid("cannot set TLS options", ec);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
    return invalid("cannot require TLS 1.2", {});
  }
  if (ca_pem.empty()) {
    ctx.set_verify_mode(asio::ssl::verify_none, ec);
  } else {
    ctx.add_certificate_authority(asio::buffer(ca_pem), ec);
    if (ec) return invalid("unusable CA certificate (ca_pem)", ec);
    ctx.set_verify_mode(asio::ssl::verify_peer, ec);
  }
  if (ec) return invalid("cannot set the verify mode", ec);
  return ctx;
}

}  // namespace

struct HttpClient::Impl {
  explicit Impl(ClientOptions options_in)
      : options(std::move(options_in)),
        host(options.host),
        port(options.port),
        timeout(options.timeout),
        host_header(HostHeader(host, port)) {
    if (options.tls) {
      auto ctx = MakeClientContext(options.ca_pem);
      if (ctx) {
        ssl_ctx.emplace(std::move(*ctx));
      } else {
        config_error = ctx.error();
      }
    }
  }

  // Runs one exchange (with at most one retry on a stale connection); writes `*out`.
  asio::awaitable<void> Exchange(http::request<http::string_body> request, bool head,
                                 Result<HttpResponse>* out);
  // Connects (and with TLS, handshakes); returns an error for `*out` on failure.
  asio::awaitable<std::optional<Error>> Connect(Clock::time_point deadline);
  // TLS handshake on the connected `secure` stream, with SNI and (with a CA) host checks.
  asio::awaitable<std::optional<Error>> Handshake();
  Error MakeIoError(const beast::error_code& ec, std::string_view what) const;
  bool connected() const { return plain.has_value() || secure.has_value(); }
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // Calls fn(stream) with the open plain or TLS stream (fn's result for both must agree).
  template <class Fn>
  auto WithStream(Fn&& fn) {
    return secure ? fn(*secure) : fn(*plain);
  }
  void Close() {
    if (connected()) {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      lowest().close();
    }
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  const ClientOptions options;
  const std::string host;
  const uint16_t port;
  const std::chrono::milliseconds timeout;
  const std::string host_header;
  std::optional<Error> config_error;          // an unusable options.ca_pem
  std::optional<asio::ssl::context> ssl_ctx;  // with options.tls
  asio::io_context ioc{1};
  // At most one is set, while a connection is open.
  std::optional<beast::tcp_stream> plain;
  std::optional<TlsStream> secure;
  beast::flat_buffer buffer;
  std::optional<tcp::resolver::results_type> endpoints;  // cached after the first resolve
};

Error HttpClient::Impl::MakeIoError(const beast::error_code& ec, std::string_view what) const {
  if (ec == beast::error::timeout) {
    return Unavailable("timeout", std::string(what) + " " + host_header + " timed out after " +
                                      std::to_string(timeout.count()) + " ms");
  }
  return Unavailable("io_error", std::string(what) + " " + host_header + ": " + ec.message());
}

asio::awaitable<std::optional<Error>> HttpClient::Impl::Connect(Clock::time_point deadline) {
  Close();
  if (!endpoints) {
    tcp::resolver resolver(ioc);
    auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(port), kAwaitTuple);
    if (ec) {
      co_return Unavailable("connect_failed",
                            "cannot resolve " + host_header + ": " + ec.message());
    }
    endpoints = std::move(results);
  }
  if (ssl_ctx) {
    secure.emplace(ioc, *ssl_ctx);
  } else {
    plain.emplace(ioc);
  }
  lowest().expires_at(deadline);
  auto [ec, endpoint] = co_await lowest().async_connect(*endpoints, kAwaitTuple);
  if (ec) {
    Close();
    if (ec == beast::error::timeout) co_return MakeIoError(ec, "connecting to");
    co_return Unavailable("connect_failed",
                          "cannot connect to " + host_header + ": " + ec.message());
  }
  beast::error_code ignored;
  lowest().socket().set_option(tcp::no_delay(true), ignored);
  if (secure) co_return co_await Handshake();
  co_return std::nullopt;
}

asio::awaitable<std::optional<Error>> HttpClient::Impl::Handshake() {
  SSL* ssl = secure->native_handle();
  const bool ip = IsIpAddress(host);
  bool ok = true;
  if (!ip) ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;  // SNI: names only
  if (ok && !options.ca_pem.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
    }
  }
  if (!ok) {
    ERR_clear_error();
    Close();
    co_return Unavailable("tls_handshake_failed", "cannot set up TLS for " + host_header);
  }
  // The deadline set for connecting still runs.
  auto [ec] = co_await secure->async_handshake(asio::ssl::stream_base::client, kAwaitTuple);
  if (!ec) co_return std::nullopt;
  std::string reason = ec.message();
  if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK) {
    reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  Close();
  if (ec == beast::error::timeout) co_return MakeIoError(ec, "TLS handshake with");
  co_return Unavailable("tls_handshake_failed",
                        "TLS handshake with " + host_header + " failed: " + reason);
}

asio::awaitable<void> HttpClient::Impl::Exchange(http::request<http::string_body> request,
                                                 bool head, Result<HttpResponse>* out) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (int attempt = 0;; ++attempt) {
    const bool reused = connected();
    if (!reused) {
      if (auto error = co_await Connect(deadline)) {
        *out = std::move(*error);
        co_return;
      }
    }
    // Only a request that failed on a kept-alive connection before any response byte arrived
    // is retried, and only once.
    const bool may_retry = reused && attempt == 0;

    lowest().expires_at(deadline);
    auto [write_ec, written] = co_await WithStream(
        [&](auto& stream) { return http::async_write(stream, request, kAwaitTuple); });
    if (write_ec) {
      Close();
      if (may_retry && IsStaleConnectionError(write_ec)) continue;
      *out = MakeIoError(write_ec, "sending to");
      co_return;
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_body_bytes);
    parser.header_limit(kMaxResponseHeader);
    if (head) parser.skip(true);
    lowest().expires_at(deadline);
    auto [read_ec, read] = co_await WithStream(
        [&](auto& stream) { return http::async_read(stream, buffer, parser, kAwaitTuple); });
    if (read_ec) {
      const bool nothing_read = !parser.got_some() && buffer.size() == 0;
      Close();
      if (read_ec == http::error::body_limit) {
        *out = Unavailable("response_too_large",
                           "the response of " + host_header + " is larger than " +
                               std::to_string(options.max_response_body_bytes) + " bytes");
        co_return;
      }
      if (may_retry && nothing_read && IsStaleConnectionError(read_ec)) continue;
      *out = MakeIoError(read_ec, "reading from");
      co_return;
    }
    auto message = parser.release();
    if (!message.keep_alive()) Close();
    *out = ToResponse(std::move(message));
    co_return;
  }
}

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : HttpClient(ClientOptions{.host = std::move(host), .port = port, .timeout = timeout}) {}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

const ClientOptions& HttpClient::options() const { return impl_->options; }

Result<ClientOptions> HttpClient::ParseUrl(std::string_view url) {
  const auto invalid = [url](std::string why) {
    return InvalidArgument("invalid_url", "invalid URL '" + std::string(url) + "': " + why);
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return invalid(parsed.error().message());
  const boost::urls::url_view& u = *parsed;
  ClientOptions options;
  if (u.scheme_id() == boost::urls::scheme::https) {
    options.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return invalid("the scheme must be http or https");
  }
  if (!u.has_authority() || u.encoded_host().empty()) return invalid("no host");
  if (u.has_userinfo()) return invalid("user info is not supported");
  if (u.has_query()) return invalid("a query is not allowed");
  if (u.has_fragment()) return invalid("a fragment is not allowed");
  if (u.host_type() == boost::urls::host_type::ipvfuture) return invalid("unsupported host");
  options.host = u.host_address();
  if (options.host.empty()) return invalid("no host");
  options.port = options.tls ? 443 : 80;
  if (u.has_port()) {
    const std::string_view port = u.port();
    unsigned long value = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!digits || value == 0 || value > 65535) return invalid("bad port");
    options.port = static_cast<uint16_t>(value);
  }
  options.path_prefix = u.path();
  if (!options.path_prefix.empty() && options.path_prefix.front() != '/') {
    return invalid("bad port or path");
  }
  while (!options.path_prefix.empty() && options.path_prefix.back() == '/') {
    options.path_prefix.pop_back();
  }
  return options;
}

HttpClient::~HttpClient() { impl_->Close(); }

Result<HttpResponse> HttpClient::Send(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  if (impl_->config_error) return *impl_->config_error;
  Result<HttpResponse> result = Internal("request did not complete");
  auto request = BuildRequest(method, target, body, headers, impl_->host_header);
  const bool head = request.method() == http::verb::head;
  asio::co_spawn(impl_->ioc, impl_->Exchange(std::move(request), head, &result),
                 [this, &result](std::exception_ptr error) {
                   if (!error) return;
                   impl_->Close();
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     result = Unavailable("io_error", e.what());
                   } catch (...) {
                     result = Unavailable("io_error", "unknown failure");
                   }
                 });
  impl_->ioc.restart();
  impl_->ioc.run();
  return result;
}

// ---------------------------------------------------------------------------------------------
// RunLoad

namespace {

struct LoadState {
  LoadOptions options;
  const std::function<LoadRequest(int, uint64_t)>* next = nullptr;
  tcp::resolver::results_type endpoints;
  Clock::time_point measure_start;
  Clock::time_point end;
  Clock::time_point hard_deadline;  // in-flight requests are abandoned after this

  std::mutex mu;  // guards the totals below
  std::vector<double> latencies_ms;
  uint64_t requests = 0, ok = 0, errors = 0;
};

Clock::time_point OpDeadline(const LoadState& state) {
  return std::min(Clock::now() + std::chrono::seconds(10), state.hard_deadline);
}

// Pauses a failing connection briefly so that a dead server does not make it spin.
asio::awaitable<void> Backoff() {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
  co_await timer.async_wait(kAwaitTuple);
}

// One closed-loop connection: connect, then request/response until `end`.
asio::awaitable<void> LoadConnection(LoadState& state, int connection) {
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::vector<double> latencies;
  uint64_t requests = 0, ok = 0, errors = 0;
  const auto executor = co_await asio::this_coro::executor;
  const std::string host_header = state.options.host + ":" + std::to_string(state.options.port);

  for (uint64_t i = 0; Clock::now() < state.end;) {
    if (!stream) {
      stream.emplace(executor);
      stream->expires_at(OpDeadline(state));
      auto [ec, endpoint] = co_await stream->async_connect(state.endpoints, kAwaitTuple);
      if (ec) {
        stream.reset();
        if (Clock::now() >= state.measure_start) {
          ++requests;
          ++errors;
        }
        co_await Backoff();
        continue;
      }
      beast::error_code ignored;
      stream->socket().set_option(tcp::no_delay(true), ignored);
      buffer.clear();
    }

    LoadRequest next;
    try {
      next = (*state.next)(connection, i++);
    } catch (...) {
      ++requests;
      ++errors;
      break;
    }
    auto request = BuildRequest(next.method, next.target, next.body, next.headers, host_header);
    const bool head = request.method() == http::verb::head;

    const Clock::time_point sent = Clock::now();
    stream->expires_at(OpDeadline(state));
    auto [write_ec, written] = co_await http::async_write(*stream, request, kAwaitTuple);
    beast::error_code ec = write_ec;
    http::response_parser<http::string_body> parser;
    if (!ec) {
      parser.body_limit(kMaxResponseBody);
      parser.header_limit(kMaxResponseHeader);
      if (head) parser.skip(true);
      stream->expires_at(OpDeadline(state));
      auto [read_ec, read] = co_await http::async_read(*stream, buffer, parser, kAwaitTuple);
      ec = read_ec;
    }
    const Clock::time_point done = Clock::now();
    const bool measured = sent >= state.measure_start;
    if (ec) {
      stream.reset();
      if (measured) {
        ++requests;
        ++errors;
      }
      if (done < state.end) co_await Backoff();
      continue;
    }
    if (measured) {
      ++requests;
      const unsigned status = parser.get().result_int();
      if (status >= 200 && status < 300) {
        ++ok;
      } else {
        ++errors;
      }
      latencies.push_back(std::chrono::duration<double, std::milli>(done - sent).count());
    }
    if (!parser.get().keep_alive()) stream.reset();
  }
  if (stream) {
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->close();
  }
  std::lock_guard lock(state.mu);
  state.latencies_ms.insert(state.latencies_ms.end(), latencies.begin(), latencies.end());
  state.requests += requests;
  state.ok += ok;
  state.errors += errors;
}

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

LoadResult RunLoad(const LoadOptions& options,
                   const std::function<LoadRequest(int connection, uint64_t i)>& next) {
  LoadResult result;
  const int threads = std::max(1, options.threads);
  asio::io_context ioc(threads);
  LoadState state;
  state.options = options;
  state.next = &next;
  {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    state.endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) {
      result.requests = 1;
      result.errors = 1;
      return result;
    }
  }
  const Clock::time_point now = Clock::now();
  state.measure_start = now + options.warmup;
  state.end = state.measure_start + options.duration;
  state.hard_deadline = state.end + std::chrono::seconds(2);

  for (int c = 0; c < std::max(1, options.connections); ++c) {
    asio::co_spawn(asio::make_strand(ioc), LoadConnection(state, c), asio::detached);
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&ioc, t] {
      NameThisThread("bf-load-" + std::to_string(t));
      ioc.run();
    });
  }
  for (auto& thread : pool) thread.join();

  std::sort(state.latencies_ms.begin(), state.latencies_ms.end());
  result.requests = state.requests;
  result.ok = state.ok;
  result.errors = state.errors;
  result.seconds = std::chrono::duration<double>(options.duration).count();
  result.p50_ms = Percentile(state.latencies_ms, 0.50);
  result.p90_ms = Percentile(state.latencies_ms, 0.90);
  result.p99_ms = Percentile(state.latencies_ms, 0.99);
  result.max_ms = state.latencies_ms.empty() ? 0 : state.latencies_ms.back();
  return result;
}

}  // namespace borderflow::net
