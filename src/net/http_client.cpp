// HttpClient (blocking, keep-alive) and RunLoad (closed-loop load generator), on Beast.
//
// HttpClient runs each Send() as a coroutine on its private io_context and drives that context
// on the calling thread until the exchange completes; using async operations gives a real
// per-request deadline (beast::tcp_stream timeouts apply to async operations only).
//
// Thread-safety: an HttpClient is not thread-safe (one Send() at a time; use one client per
// thread). RunLoad is reentrant; it calls `next` concurrently when options.threads > 1.

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include <borderflow/net/http_client.h>

#include "beast_common.h"

namespace borderflow::net {

namespace asio = internal::asio;
namespace beast = internal::beast;
namespace http = internal::http;
using internal::kAwaitTuple;
using internal::tcp;
using Clock = std::chrono::steady_clock;

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
  for (const auto& [name, value] : headers) req.set(name, value);
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
         ec == asio::error::connection_aborted || ec == http::error::partial_message;
}

}  // namespace

struct HttpClient::Impl {
  Impl(std::string host_in, uint16_t port_in, std::chrono::milliseconds timeout_in)
      : host(std::move(host_in)),
        port(port_in),
        timeout(timeout_in),
        host_header(host + ":" + std::to_string(port)) {}

  // Runs one exchange (with at most one retry on a stale connection); writes `*out`.
  asio::awaitable<void> Exchange(http::request<http::string_body> request, bool head,
                                 Result<HttpResponse>* out);
  // Connects `stream`; returns an error for `*out` on failure.
  asio::awaitable<std::optional<Error>> Connect(Clock::time_point deadline);
  Error MakeIoError(const beast::error_code& ec, std::string_view what) const;
  void Close() {
    if (stream) {
      beast::error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->close();
    }
    stream.reset();
    buffer.clear();
  }

  const std::string host;
  const uint16_t port;
  const std::chrono::milliseconds timeout;
  const std::string host_header;
  asio::io_context ioc{1};
  std::optional<beast::tcp_stream> stream;  // set while a connection is open
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
  stream.emplace(ioc);
  stream->expires_at(deadline);
  auto [ec, endpoint] = co_await stream->async_connect(*endpoints, kAwaitTuple);
  if (ec) {
    Close();
    if (ec == beast::error::timeout) co_return MakeIoError(ec, "connecting to");
    co_return Unavailable("connect_failed",
                          "cannot connect to " + host_header + ": " + ec.message());
  }
  beast::error_code ignored;
  stream->socket().set_option(tcp::no_delay(true), ignored);
  co_return std::nullopt;
}

asio::awaitable<void> HttpClient::Impl::Exchange(http::request<http::string_body> request,
                                                 bool head, Result<HttpResponse>* out) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (int attempt = 0;; ++attempt) {
    const bool reused = stream.has_value();
    if (!reused) {
      if (auto error = co_await Connect(deadline)) {
        *out = std::move(*error);
        co_return;
      }
    }
    // Only a request that failed on a kept-alive connection before any response byte arrived
    // is retried, and only once.
    const bool may_retry = reused && attempt == 0;

    stream->expires_at(deadline);
    auto [write_ec, written] = co_await http::async_write(*stream, request, kAwaitTuple);
    if (write_ec) {
      Close();
      if (may_retry && IsStaleConnectionError(write_ec)) continue;
      *out = MakeIoError(write_ec, "sending to");
      co_return;
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    parser.header_limit(kMaxResponseHeader);
    if (head) parser.skip(true);
    stream->expires_at(deadline);
    auto [read_ec, read] = co_await http::async_read(*stream, buffer, parser, kAwaitTuple);
    if (read_ec) {
      const bool nothing_read = !parser.got_some() && buffer.size() == 0;
      Close();
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
    : impl_(std::make_unique<Impl>(std::move(host), port, timeout)) {}

HttpClient::~HttpClient() { impl_->Close(); }

Result<HttpResponse> HttpClient::Send(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
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
  for (int t = 0; t < threads; ++t) pool.emplace_back([&ioc] { ioc.run(); });
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
