// HttpServer on Boost.Beast with C++20 coroutines.
//
// Threading model: one io_context run by `options.threads` threads. The accept loop runs on its
// own strand; every connection runs one coroutine on its own strand, so all state of a
// connection (stream, buffer, `busy`, `stopping`) is touched by one thread at a time. The only
// cross-thread hand-offs are (1) the handler's Respond callback, which goes through a
// ResponseSlot and posts the waiting coroutine's completion handler back to its strand, and
// (2) Stop(), which posts closures to the strands and uses Impl::mu_ for the session registry.
//
// Lifetime: coroutines hold a raw Impl*; Impl outlives the I/O threads (Stop joins them) and its
// io_context is declared after every member a coroutine frame touches, so frames destroyed by
// the io_context destructor still see live state.
//
// TLS: with ServerOptions::tls, every connection is a Session<ssl_stream<tcp_stream>> that first
// completes a handshake (bounded by tls_handshake_timeout); without, a Session<tcp_stream>. The
// request/response code is one template over the stream type; Stop() reaches both kinds through
// SessionBase. Timeouts, closes and lingering drains work on the lowest (TCP) layer.

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <borderflow/core/thread_name.h>
#include <borderflow/core/utf8.h>
#include <borderflow/net/http_server.h>

#include "beast_common.h"
#include "response_slot.h"

namespace borderflow::net {

namespace asio = internal::asio;
namespace beast = internal::beast;
namespace http = internal::http;
using internal::kAwaitTuple;
using internal::SlotOutcome;
using internal::tcp;

namespace {

// The most bytes of a body refused as too large (413) from its Content-Length that the server
// reads and drops so that its client, which may write the whole body before it reads the
// answer, gets the 413 rather than a reset. Beyond it the connection is closed after the usual
// short drain.
constexpr std::uint64_t kMaxDrainBytes = 64 << 20;

// Completes a coroutine's async wait on a ResponseSlot by posting its Asio handler to the
// handler's associated executor (the connection strand). Never invokes the handler inline.
template <class AsioHandler>
class AsioWaiter final : public internal::Waiter {
 public:
  explicit AsioWaiter(AsioHandler handler) : handler_(std::move(handler)) {}

  void Deliver(SlotOutcome outcome) override {
    auto executor = asio::get_associated_executor(handler_);
    asio::post(executor, [handler = std::move(handler_), outcome = std::move(outcome)]() mutable {
      std::move(handler)(std::move(outcome));
    });
  }

 private:
  AsioHandler handler_;
};

// Waits (asynchronously) until `slot` completes.
template <class CompletionToken>
auto AsyncWaitSlot(std::shared_ptr<internal::ResponseSlot> slot, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(SlotOutcome)>(
      [slot](auto handler) {
        using H = decltype(handler);
        slot->Wait(std::make_unique<AsioWaiter<H>>(std::move(handler)));
      },
      token);
}

bool IsNoBodyStatus(int status) { return status / 100 == 1 || status == 204 || status == 304; }

// Whether the bytes of a request header continue a field on the next line (obs-fold,
// a line starting with a space or a tab). RFC 9112 §5.2: a server must refuse it or unfold it;
// Beast unfolds it, and two readers that differ on it disagree about the request.
bool HasObsFold(std::string_view header) {
  for (size_t nl = header.find('\n'); nl != std::string_view::npos && nl + 1 < header.size();
       nl = header.find('\n', nl + 1)) {
    if (header[nl + 1] == ' ' || header[nl + 1] == '\t') return true;
  }
  return false;
}

// The request's transfer codings, in order, from every Transfer-Encoding field; empty when it
// has none.
template <class Fields>
std::vector<std::string> TransferCodings(const Fields& fields) {
  std::vector<std::string> codings;
  for (const auto& field : fields) {
    if (field.name() != http::field::transfer_encoding) continue;
    std::string_view value = field.value();
    while (!value.empty()) {
      const size_t comma = value.find(',');
      std::string_view item = value.substr(0, comma);
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      // RFC 9110 section 5.6.1: empty list elements ("chunked, ,") are ignored.
      if (!item.empty()) codings.push_back(internal::ToLower(item));
    }
  }
  return codings;
}

// True for errors meaning "the peer sent bytes that are not valid HTTP/1.1".
bool IsProtocolError(const beast::error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::bad_target).category()) return false;
  return ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more && ec != http::error::need_buffer;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// While a body is streamed the client sends nothing the server reads, so its going away (FIN or
// RST) would be noticed only at the next write, up to a keep-alive interval later, and its
// stream would hold its place until then. This keeps a wait for readability pending on
// `socket`: on end of stream or an error it sets `*gone` and cancels `timer` (which wakes the
// streaming coroutine); bytes that arrive are discarded (a streamed response ends the
// connection, so they are never a request to read). Runs on the socket's strand; does nothing
// once `*watching` is false, after which the socket may be gone.
void WatchForHangUp(tcp::socket& socket, std::shared_ptr<bool> watching, std::shared_ptr<bool> gone,
                    std::shared_ptr<asio::steady_timer> timer) {
  socket.async_wait(
      tcp::socket::wait_read, [&socket, watching, gone, timer](const beast::error_code& ec) {
        if (!*watching) return;
        if (!ec) {
          std::array<char, 4096> sink;
          const ssize_t n = ::recv(socket.native_handle(), sink.data(), sink.size(), MSG_DONTWAIT);
          if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
            WatchForHangUp(socket, std::move(watching), std::move(gone), std::move(timer));
            return;
          }
        }
        *gone = true;
        timer->cancel();
      });
}

template <class Stream>
inline constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// One accepted connection. The stream and the plain fields are used only on the strand of the
// stream; `mu` guards `cancelled` and `slot`, which Stop() touches from its own thread.
struct SessionBase {
  SessionBase(uint64_t id_in, bool overloaded_in, std::string address_in)
      : id(id_in), overloaded(overloaded_in), address(std::move(address_in)) {}
  virtual ~SessionBase() = default;
  SessionBase(const SessionBase&) = delete;
  SessionBase& operator=(const SessionBase&) = delete;

  virtual asio::any_io_executor executor() = 0;
  // Closes the connection now (TCP level; no TLS close_notify); on the session's strand only.
  virtual void CloseNow() = 0;

  const uint64_t id;
  const bool overloaded;      // beyond max_connections: answer 503 and close
  const std::string address;  // the client's address ("" when unknown)
  bool busy = false;          // a request was read and its response is not written yet
  bool stopping = false;      // server is stopping: close after the current response

  std::mutex mu;
  bool cancelled = false;  // server gave up waiting: stop at once
  std::shared_ptr<internal::ResponseSlot> slot;

  // While the session streams a body: the timer its coroutine waits on between chunks.
  // Cancelling it (on the strand) wakes the coroutine.
  std::shared_ptr<asio::steady_timer> stream_timer;
};

template <class Stream>
struct Session final : SessionBase {
  template <class... StreamArgs>
  Session(uint64_t id_in, bool overloaded_in, std::string address_in, StreamArgs&&... args)
      : SessionBase(id_in, overloaded_in, std::move(address_in)),
        stream(std::forward<StreamArgs>(args)...) {}

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }
  asio::any_io_executor executor() override { return stream.get_executor(); }
  void CloseNow() override {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  Stream stream;
};

// The server's TLS context: TLS 1.2+, OpenSSL's default ciphers (server preference), no
// renegotiation, no compression, no prompt for a key passphrase.
Result<asio::ssl::context> MakeServerContext(const TlsServerOptions& tls) {
  const auto invalid = [](std::string what, const beast::error_code& ec) {
    return InvalidArgument("invalid_tls_config", what + (ec ? ": " + ec.message() : std::string()));
  };
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  beast::error_code ec;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression,
                  ec);
  if (ec) return invalid("cannot set TLS options", ec);
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return invalid("cannot require TLS 1.2", {});
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  ctx.set_password_callback(
      [](std::size_t, asio::ssl::context::password_purpose) { return std::string(); }, ec);
  if (ec) return invalid("cannot set the password callback", ec);
  ctx.set_verify_mode(asio::ssl::verify_none, ec);
  if (ec) return invalid("cannot set the verify mode", ec);
  ctx.use_certificate_chain(asio::buffer(tls.certificate_chain_pem), ec);
  if (ec) return invalid("unusable certificate chain", ec);
  ctx.use_private_key(asio::buffer(tls.private_key_pem), asio::ssl::context::pem, ec);
  if (ec) return invalid("unusable private key (it must be PEM and unencrypted)", ec);
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return invalid("the private key does not match the certificate", {});
  }
  return ctx;
}

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions options_in, Router router_in, ErrorResponder errors_in,
       RequestObserver observer_in)
      : options(std::move(options_in)),
        router(std::move(router_in)),
        errors(std::move(errors_in)),
        observer(std::move(observer_in)),
        ioc(std::max(1, options.threads)) {}

  Result<uint16_t> Start();
  void Stop(std::chrono::milliseconds grace);

  asio::awaitable<void> AcceptLoop();
  // Registers a session for `socket` (plain or TLS) and starts its coroutine.
  void StartSession(tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> RunSession(std::shared_ptr<Session<Stream>> session);
  // Reads into `buffer` until it holds a whole request header, within header_timeout: from now
  // for a connection's first request, else from the request's first byte, which may take up to
  // idle_timeout to come. Returns the header's size in `buffer`, or 0 when the bytes are not a
  // request header (the request parser then says why: too large, malformed); or the read's
  // error (closed, timed out).
  template <class Stream>
  asio::awaitable<std::pair<beast::error_code, size_t>> ReadHeaderBytes(Session<Stream>& session,
                                                                        beast::flat_buffer& buffer,
                                                                        bool first_request);
  // Runs the handler and waits for its response; nullopt when the connection was cancelled.
  asio::awaitable<std::optional<HttpResponse>> CallHandler(const Handler& handler,
                                                           HttpRequest& request,
                                                           SessionBase& session);
  template <class Stream>
  asio::awaitable<beast::error_code> WriteResponse(Session<Stream>& session, HttpResponse response,
                                                   unsigned version, bool keep_alive, bool head);
  // Half-closes, drains what the peer still sends for a short while, then closes, so the
  // error response is not lost to a TCP reset caused by unread request bytes. `announced`: the
  // body a request refused as too large announced (Content-Length), which a client may send in
  // full before it reads the response: drained in full when within kMaxDrainBytes.
  template <class Stream>
  asio::awaitable<void> LingeringClose(Session<Stream>& session,
                                       std::optional<std::uint64_t> announced = std::nullopt);
  // Writes a streamed response (HttpResponse::stream). Returns false when the connection broke.
  template <class Stream>
  asio::awaitable<bool> WriteStream(Session<Stream>& session, HttpResponse response,
                                    unsigned version);
  HttpResponse MakeError(int status, std::string_view code, std::string_view detail) const;
  void Observe(const HttpRequest& request, const std::string& pattern, int status,
               std::chrono::steady_clock::time_point start) const;
  void Unregister(const SessionBase& session);
  bool AllDone() const { return sessions.empty() && !accept_loop_running; }  // mu held

  const ServerOptions options;
  const Router router;
  const ErrorResponder errors;
  const RequestObserver observer;

  std::mutex lifecycle_mu;  // serializes Start() and Stop()
  enum class State { kNew, kRunning, kStopped } state = State::kNew;
  std::atomic<uint16_t> bound_port{0};
  std::vector<std::thread> threads;

  mutable std::mutex mu;  // guards the registry below
  std::condition_variable cv;
  std::map<uint64_t, std::shared_ptr<SessionBase>> sessions;
  size_t normal_sessions = 0;                          // sessions that are not `overloaded`
  std::map<std::string, size_t> sessions_per_address;  // every session, by client address
  uint64_t next_session_id = 0;
  bool stopping = false;
  bool accept_loop_running = false;

  // Set by Start() when options.tls is; outlives the io_context (declared before it).
  std::optional<asio::ssl::context> ssl_ctx;

  // Declared after the state above so that it is destroyed first (see file comment); the
  // acceptor and work guard are declared after it so that they die before it.
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
};

Result<uint16_t> HttpServer::Impl::Start() {
  std::lock_guard lifecycle(lifecycle_mu);
  if (state == State::kRunning) return bound_port.load();
  const std::string where = options.address + ":" + std::to_string(options.port);
  if (state == State::kStopped) {
    return Unavailable("listen_failed", "server on " + where + " was stopped");
  }
  if (options.tls && !ssl_ctx) {
    auto ctx = MakeServerContext(*options.tls);
    if (!ctx) return ctx.error();
    ssl_ctx.emplace(std::move(*ctx));
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) return Unavailable("listen_failed", "invalid address " + where + ": " + ec.message());
  const tcp::endpoint endpoint(address, options.port);
  acceptor.emplace(asio::make_strand(ioc));
  const char* step = "open";
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    step = "set_option";
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    step = "bind";
    acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    step = "listen";
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    acceptor.reset();
    return Unavailable("listen_failed",
                       "cannot listen on " + where + " (" + step + "): " + ec.message());
  }
  bound_port = acceptor->local_endpoint().port();

  work.emplace(ioc.get_executor());
  {
    std::lock_guard lock(mu);
    accept_loop_running = true;
  }
  asio::co_spawn(acceptor->get_executor(), AcceptLoop(), [this](std::exception_ptr) {
    std::lock_guard lock(mu);
    accept_loop_running = false;
    cv.notify_all();
  });
  const int n = std::max(1, options.threads);
  threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([this, i] {
      NameThisThread("bf-http-" + std::to_string(i));
      ioc.run();
    });
  }
  state = State::kRunning;
  return bound_port.load();
}

void HttpServer::Impl::Stop(std::chrono::milliseconds grace) {
  std::lock_guard lifecycle(lifecycle_mu);
  if (state != State::kRunning) {
    state = State::kStopped;
    return;
  }
  // 1. Stop accepting and ask every connection to finish its current request, then close.
  std::vector<std::shared_ptr<SessionBase>> snapshot;
  {
    std::lock_guard lock(mu);
    stopping = true;
    for (auto& [id, session] : sessions) snapshot.push_back(session);
  }
  asio::post(acceptor->get_executor(), [this] {
    beast::error_code ec;
    acceptor->close(ec);
  });
  for (auto& session : snapshot) {
    asio::post(session->executor(), [session] {
      session->stopping = true;
      if (!session->busy) session->CloseNow();
      if (session->stream_timer) session->stream_timer->cancel();  // end a streamed body now
    });
  }
  // 2. Grace period for in-flight requests.
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, grace, [this] { return AllDone(); });
    snapshot.clear();
    for (auto& [id, session] : sessions) snapshot.push_back(session);
  }
  // 3. Force: abandon pending handlers and close the remaining sockets.
  for (auto& session : snapshot) {
    {
      std::lock_guard lock(session->mu);
      session->cancelled = true;
      if (session->slot) session->slot->Complete({SlotOutcome::Kind::kCancelled, {}});
    }
    asio::post(session->executor(), [session] { session->CloseNow(); });
  }
  snapshot.clear();
  {
    // Everything is cancelled, so this takes milliseconds; the bound only guards against a
    // handler that blocks an I/O thread.
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(5), [this] { return AllDone(); });
  }
  work.reset();
  ioc.stop();
  for (auto& thread : threads) thread.join();
  threads.clear();
  {
    std::lock_guard lock(mu);
    sessions.clear();  // frames left in the io_context (if any) still own their sessions
  }
  state = State::kStopped;
}

asio::awaitable<void> HttpServer::Impl::AcceptLoop() {
  for (;;) {
    if (!acceptor->is_open()) co_return;
    tcp::socket socket(asio::make_strand(ioc));
    auto [ec] = co_await acceptor->async_accept(socket, kAwaitTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // Transient failure (e.g. out of file descriptors): back off instead of spinning.
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
      co_await timer.async_wait(kAwaitTuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    StartSession(std::move(socket));
  }
}

void HttpServer::Impl::StartSession(tcp::socket socket) {
  std::string address;
  {
    beast::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (!ec) address = endpoint.address().to_string();
  }
  const auto start = [this, &socket, &address]<class Stream>(auto&&... stream_args) {
    std::shared_ptr<Session<Stream>> session;
    {
      std::lock_guard lock(mu);
      if (stopping) return;  // the socket closes as it goes out of scope
      size_t& from_address = sessions_per_address[address];
      if (options.max_connections_per_address > 0 &&
          from_address >= options.max_connections_per_address) {
        // Unanswered: an answer would mean reading a request, which is what the cap saves.
        beast::error_code ec;
        socket.shutdown(tcp::socket::shutdown_both, ec);
        return;  // the socket closes as it goes out of scope
      }
      ++from_address;
      const bool overloaded = normal_sessions >= options.max_connections;
      session = std::make_shared<Session<Stream>>(next_session_id++, overloaded, address,
                                                  std::move(socket), stream_args...);
      sessions.emplace(session->id, session);
      if (!overloaded) ++normal_sessions;
    }
    asio::co_spawn(session->stream.get_executor(), RunSession(session),
                   [this, session](std::exception_ptr) { Unregister(*session); });
  };
  if (ssl_ctx) {
    start.template operator()<TlsStream>(*ssl_ctx);
  } else {
    start.template operator()<beast::tcp_stream>();
  }
}

void HttpServer::Impl::Unregister(const SessionBase& session) {
  std::lock_guard lock(mu);
  if (sessions.erase(session.id) > 0) {
    if (!session.overloaded) --normal_sessions;
    auto it = sessions_per_address.find(session.address);
    if (it != sessions_per_address.end() && --it->second == 0) sessions_per_address.erase(it);
  }
  cv.notify_all();
}

HttpResponse HttpServer::Impl::MakeError(int status, std::string_view code,
                                         std::string_view detail) const {
  if (errors) {
    try {
      return errors(status, code, detail);
    } catch (...) {
      // Fall through to the built-in body.
    }
  }
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  boost::json::object body;
  body["status"] = status;
  body["code"] = code;
  body["detail"] = detail;
  response.body = boost::json::serialize(body);
  return response;
}

void HttpServer::Impl::Observe(const HttpRequest& request, const std::string& pattern, int status,
                               std::chrono::steady_clock::time_point start) const {
  if (!observer) return;
  try {
    observer(request, pattern, status, std::chrono::steady_clock::now() - start);
  } catch (...) {
    // An observer must not take the connection down.
  }
}

asio::awaitable<std::optional<HttpResponse>> HttpServer::Impl::CallHandler(const Handler& handler,
                                                                           HttpRequest& request,
                                                                           SessionBase& session) {
  auto slot = std::make_shared<internal::ResponseSlot>();
  {
    std::lock_guard lock(session.mu);
    if (session.cancelled) co_return std::nullopt;
    session.slot = slot;
  }
  std::string failure;  // what() of an exception thrown by the handler
  {
    auto guard = std::make_shared<internal::RespondGuard>(slot);
    Respond respond = [guard](HttpResponse response) { guard->Respond(std::move(response)); };
    try {
      handler(request, std::move(respond));
    } catch (const std::exception& e) {
      failure = std::string("handler threw: ") + e.what();
    } catch (...) {
      failure = "handler threw a non-standard exception";
    }
    if (!failure.empty()) {
      slot->Complete({SlotOutcome::Kind::kResponse, MakeError(500, "internal", failure)});
    }
  }
  std::optional<SlotOutcome> outcome = slot->TryTake();
  if (!outcome) outcome = co_await AsyncWaitSlot(slot, asio::use_awaitable);
  {
    std::lock_guard lock(session.mu);
    session.slot.reset();
  }
  switch (outcome->kind) {
    case SlotOutcome::Kind::kResponse:
      co_return std::move(outcome->response);
    case SlotOutcome::Kind::kAbandoned:
      co_return MakeError(
          500, "internal",
          failure.empty() ? "handler dropped the request without responding" : failure);
    case SlotOutcome::Kind::kCancelled:
      break;
  }
  co_return std::nullopt;
}

template <class Stream>
asio::awaitable<beast::error_code> HttpServer::Impl::WriteResponse(Session<Stream>& session,
                                                                   HttpResponse response,
                                                                   unsigned version,
                                                                   bool keep_alive, bool head) {
  if (response.status < 100 || response.status > 999) {
    response = MakeError(500, "internal", "handler returned an invalid status code");
  }
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(response.status));
  res.set(http::field::server, "borderflow");
  const bool no_body = IsNoBodyStatus(response.status);
  if (!no_body && !response.content_type.empty()) {
    res.set(http::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) res.insert(name, value);
  res.keep_alive(keep_alive);
  if (!no_body) res.body() = std::move(response.body);
  res.prepare_payload();
  session.lowest().expires_after(options.idle_timeout);
  if (head) {
    // HEAD: same header (including Content-Length), no body.
    http::response<http::empty_body> header_only(std::move(res.base()));
    auto [ec, n] = co_await http::async_write(session.stream, header_only, kAwaitTuple);
    co_return ec;
  }
  auto [ec, n] = co_await http::async_write(session.stream, res, kAwaitTuple);
  co_return ec;
}

template <class Stream>
asio::awaitable<bool> HttpServer::Impl::WriteStream(Session<Stream>& session, HttpResponse response,
                                                    unsigned version) {
  std::shared_ptr<BodyStream> body = std::move(response.stream);
  http::response<http::empty_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(response.status));
  res.set(http::field::server, "borderflow");
  if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) res.insert(name, value);
  res.keep_alive(false);
  // HTTP/1.0 has no chunked encoding: the body then ends when the connection closes.
  const bool chunked = version >= 11;
  res.chunked(chunked);
  http::response_serializer<http::empty_body> serializer(res);
  session.lowest().expires_after(options.idle_timeout);
  auto [header_ec, header_n] =
      co_await http::async_write_header(session.stream, serializer, kAwaitTuple);
  if (header_ec) {
    body->Close();
    co_return false;
  }

  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  session.stream_timer = timer;
  // Posted under the stream's lock; runs on this strand once the coroutine suspends. A wake
  // that runs while the coroutine writes finds no wait to cancel and is lost: after each write
  // the loop looks for what came meanwhile (Pending) before it waits, and a chunk pushed after
  // that look still wakes the wait.
  body->SetWaker([timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
  auto watching = std::make_shared<bool>(true);
  auto gone = std::make_shared<bool>(false);
  WatchForHangUp(session.lowest().socket(), watching, gone, timer);

  const auto write = [&](const std::string& data) -> asio::awaitable<bool> {
    if (data.empty()) co_return true;
    session.lowest().expires_after(options.idle_timeout);
    if (chunked) {
      auto [ec, n] = co_await asio::async_write(session.stream,
                                                http::make_chunk(asio::buffer(data)), kAwaitTuple);
      co_return !ec;
    }
    auto [ec, n] = co_await asio::async_write(session.stream, asio::buffer(data), kAwaitTuple);
    co_return !ec;
  };

  bool ok = co_await write(response.body);
  while (ok && !*gone) {
    BodyStream::Taken taken = body->Take();
    ok = co_await write(taken.data);
    if (!ok || taken.done || session.stopping || *gone) break;
    if (body->Pending()) continue;  // pushed or finished during the write
    timer->expires_after(body->keepalive_every());
    auto [wait_ec] = co_await timer->async_wait(kAwaitTuple);
    if (*gone) break;
    if (!wait_ec && !session.stopping) ok = co_await write(body->keepalive());  // idle
  }
  ok = ok && !*gone;
  body->Close();  // frees the stream's place at once, also when the client went away
  *watching = false;
  {
    beast::error_code ec;
    session.lowest().socket().cancel(ec);  // the pending wait; nothing else is pending now
  }
  session.stream_timer.reset();
  if (ok && chunked) {
    session.lowest().expires_after(options.idle_timeout);
    auto [ec, n] = co_await asio::async_write(session.stream, http::make_chunk_last(), kAwaitTuple);
    ok = !ec;
  }
  co_return ok;
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::LingeringClose(Session<Stream>& session,
                                                       std::optional<std::uint64_t> announced) {
  // TCP level even under TLS: the drained bytes are discarded, so they need no decryption.
  beast::tcp_stream& tcp_stream = session.lowest();
  beast::error_code ec;
  tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  session.busy = false;  // Stop() may close us at once
  if (!ec && !session.stopping) {
    size_t budget = options.max_body_bytes + options.max_header_bytes + (64 << 10);
    std::chrono::steady_clock::duration within = std::min<std::chrono::steady_clock::duration>(
        options.idle_timeout, std::chrono::milliseconds(500));
    if (announced && *announced <= kMaxDrainBytes) {
      // A body refused from its announced length (413) is still on its way: a client such as
      // ours writes all of it before it reads the answer, and closing with it unread would
      // reset the connection and lose the answer. Its bytes (and TLS's framing of them) are
      // read and dropped, within the time a header may take.
      budget = std::max<size_t>(
          budget, *announced + *announced / 32 + options.max_header_bytes + (64 << 10));
      within = std::max<std::chrono::steady_clock::duration>(within, options.header_timeout);
    }
    tcp_stream.expires_after(within);
    std::array<char, 16384> sink;
    size_t drained = 0;
    while (drained < budget) {
      auto [read_ec, n] = co_await tcp_stream.async_read_some(asio::buffer(sink), kAwaitTuple);
      if (read_ec) break;
      drained += n;
    }
  }
  tcp_stream.close();
}

template <class Stream>
asio::awaitable<std::pair<beast::error_code, size_t>> HttpServer::Impl::ReadHeaderBytes(
    Session<Stream>& session, beast::flat_buffer& buffer, bool first_request) {
  // A parser of the header alone, fed the whole buffer each time (it remembers how far it
  // looked): it finds where the header ends and fails at once on bytes that are not HTTP.
  http::request_parser<http::empty_body> probe;
  probe.eager(false);
  probe.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  bool started = first_request || buffer.size() > 0;
  session.lowest().expires_after(started
                                     ? std::chrono::steady_clock::duration(options.header_timeout)
                                     : std::chrono::steady_clock::duration(options.idle_timeout));
  for (;;) {
    if (buffer.size() > 0) {
      beast::error_code parse_ec;
      const size_t used = probe.put(buffer.data(), parse_ec);
      if (!parse_ec && probe.is_header_done()) co_return std::pair(beast::error_code(), used);
      if (parse_ec && parse_ec != http::error::need_more) {
        co_return std::pair(beast::error_code(), size_t{0});
      }
    }
    auto [ec, n] = co_await session.stream.async_read_some(buffer.prepare(4096), kAwaitTuple);
    if (ec) co_return std::pair(ec, size_t{0});
    buffer.commit(n);
    if (!started && n > 0) {
      started = true;
      session.lowest().expires_after(options.header_timeout);
    }
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::RunSession(std::shared_ptr<Session<Stream>> session_ptr) {
  Session<Stream>& session = *session_ptr;
  std::string remote_address;
  {
    beast::error_code ec;
    auto endpoint = session.lowest().socket().remote_endpoint(ec);
    if (!ec) remote_address = endpoint.address().to_string();
  }
  if constexpr (kIsTls<Stream>) {
    // Bounded: a client that connects and never completes the handshake is dropped.
    session.lowest().expires_after(options.tls_handshake_timeout);
    auto [ec] =
        co_await session.stream.async_handshake(asio::ssl::stream_base::server, kAwaitTuple);
    if (ec) {
      session.CloseNow();
      co_return;
    }
  }
  beast::flat_buffer buffer;
  for (bool first_request = true;; first_request = false) {
    if (session.stopping) break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // No limit while the header is read: a Content-Length over max_body_bytes is refused below,
    // knowing how much body is still coming; the limit is set for the body itself (a chunked
    // one is refused once it passes it).
    parser.body_limit(boost::none);

    auto [ec, header_size] = co_await ReadHeaderBytes(session, buffer, first_request);
    // Refused from the header alone, before any of the body is read; the connection closes.
    std::optional<HttpResponse> refused;
    if (!ec && header_size > 0) {
      const std::string_view data(static_cast<const char*>(buffer.data().data()), header_size);
      if (HasObsFold(data)) {
        refused = MakeError(400, "bad_request",
                            "a header field is continued on the next line (obsolete line "
                            "folding, RFC 9112 section 5.2)");
      }
    }
    if (!ec && !refused) {
      auto [header_ec, n] =
          co_await http::async_read_header(session.stream, buffer, parser, kAwaitTuple);
      ec = header_ec;
    }
    if (!ec && !refused) {
      // RFC 9112 section 6.1: only "chunked", as the one and final coding, delimits a body
      // here. Another one used to be ignored, and its body read as the next request (request
      // smuggling behind a proxy that reads it otherwise).
      const std::vector<std::string> codings = TransferCodings(parser.get());
      if (!codings.empty() && (codings.size() != 1 || codings[0] != "chunked")) {
        refused = MakeError(400, "unsupported_transfer_encoding",
                            "Transfer-Encoding must be exactly 'chunked' (or absent)");
      }
    }
    std::optional<std::uint64_t> announced;  // the Content-Length of a body over the limit
    if (!ec && !refused && parser.is_header_done()) {
      if (auto length = parser.content_length(); length && *length > options.max_body_bytes) {
        announced = *length;
        ec = http::error::body_limit;  // answered 413 below, before the admission check
      } else {
        parser.body_limit(options.max_body_bytes);
      }
    }
    if (refused) {
      HttpRequest header;
      header.remote_address = remote_address;
      if (parser.is_header_done()) {
        header.method = std::string(parser.get().method_string());
        header.target = std::string(parser.get().target());
      }
      const auto refused_at = std::chrono::steady_clock::now();
      const int status = refused->status;
      session.busy = true;
      auto write_ec = co_await WriteResponse(session, std::move(*refused), 11, false, false);
      if (!write_ec) Observe(header, "", status, refused_at);
      co_await LingeringClose(session);
      co_return;
    }
    if (!ec && options.admit && !session.overloaded) {
      HttpRequest header;
      header.remote_address = remote_address;
      header.method = std::string(parser.get().method_string());
      header.target = std::string(parser.get().target());
      if (auto url = boost::urls::parse_origin_form(parser.get().target()); url) {
        header.path = url->path();
      }
      for (const auto& field : parser.get()) {
        header.headers.emplace_back(internal::ToLower(field.name_string()),
                                    std::string(field.value()));
      }
      if (std::optional<HttpResponse> refused = options.admit(header)) {
        const auto refused_at = std::chrono::steady_clock::now();
        const int status = refused->status;
        auto write_ec = co_await WriteResponse(session, std::move(*refused), parser.get().version(),
                                               false, false);
        if (!write_ec) Observe(header, "", status, refused_at);
        co_await LingeringClose(session);
        co_return;
      }
    }
    if (!ec && !parser.is_done()) {
      if (beast::iequals(parser.get()[http::field::expect], "100-continue") &&
          !session.overloaded) {
        http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
        auto [write_ec, written] = co_await http::async_write(session.stream, go_on, kAwaitTuple);
        ec = write_ec;
      }
      if (!ec) {
        session.lowest().expires_after(options.idle_timeout);
        auto [body_ec, body_n] =
            co_await http::async_read(session.stream, buffer, parser, kAwaitTuple);
        ec = body_ec;
      }
    }
    const auto start = std::chrono::steady_clock::now();
    session.busy = true;

    HttpRequest request;
    request.remote_address = remote_address;
    if (parser.is_header_done()) {
      const auto& header = parser.get();
      request.method = std::string(header.method_string());
      request.target = std::string(header.target());
      for (const auto& field : header) {
        request.headers.emplace_back(internal::ToLower(field.name_string()),
                                     std::string(field.value()));
      }
    }

    if (ec) {
      // The request could not be read: answer protocol violations, drop the rest silently
      // (peer closed, idle timeout, server stopping).
      std::optional<HttpResponse> error;
      if (ec == http::error::body_limit) {
        // From the header's Content-Length (`announced`) before any of the body was read; a
        // chunked body once it passed the limit.
        error =
            MakeError(413, "payload_too_large",
                      "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
      } else if (ec == http::error::header_limit) {
        error = MakeError(
            431, "headers_too_large",
            "request header exceeds " + std::to_string(options.max_header_bytes) + " bytes");
      } else if (IsProtocolError(ec)) {
        error = MakeError(400, "bad_request", "malformed HTTP request: " + ec.message());
      }
      if (error) {
        const int status = error->status;
        auto write_ec = co_await WriteResponse(session, std::move(*error), 11, false, false);
        if (!write_ec) Observe(request, "", status, start);
        co_await LingeringClose(session, announced);
        co_return;
      }
      break;
    }

    auto& message = parser.get();
    request.body = std::move(message.body());
    bool keep_alive = message.keep_alive() && !session.stopping;
    const bool head = message.method() == http::verb::head;
    const unsigned version = message.version();
    bool close_hard = false;  // close with LingeringClose after the response

    std::optional<HttpResponse> response;
    std::string pattern;
    if (session.overloaded) {
      response =
          MakeError(503, "overloaded",
                    "too many connections (limit " + std::to_string(options.max_connections) + ")");
      response->headers.emplace_back("Retry-After", "1");
      keep_alive = false;
      close_hard = true;
    } else if (auto url = boost::urls::parse_origin_form(message.target()); !url) {
      response = MakeError(400, "bad_request", "unparsable request target");
      keep_alive = false;
      close_hard = true;
    } else {
      request.path = url->path();
      bool utf8 = IsValidUtf8(request.path);
      for (auto param : url->params()) {
        utf8 = utf8 && IsValidUtf8(param.key) && IsValidUtf8(param.value);
        request.query.emplace_back(std::move(param.key), std::move(param.value));
      }
      Router::Match match = router.Find(request.method, request.path);
      if (!utf8) {
        // Every id, name and filter of the API is text: bytes that decode to no text match
        // nothing, and would reach a database that refuses them (PostgreSQL: a 500).
        response =
            MakeError(400, "bad_request", "the request target is not UTF-8 once percent-decoded");
      } else if (match.handler == nullptr) {
        if (match.status == 405) {
          response = MakeError(405, "method_not_allowed",
                               "method " + request.method + " is not allowed on " + request.path);
          response->headers.emplace_back("Allow", match.allow);
        } else {
          response = MakeError(404, "not_found", "no route for " + request.path);
        }
      } else {
        pattern = match.pattern;
        request.path_params = std::move(match.params);
        response = co_await CallHandler(*match.handler, request, session);
        if (!response) break;  // cancelled by Stop()
        keep_alive = keep_alive && !session.stopping;
      }
    }

    const int status = response->status;
    if (response->stream) {
      if (!head) {
        // A streamed body ends the connection.
        const bool ok = co_await WriteStream(session, std::move(*response), version);
        if (ok) Observe(request, pattern, status, start);
        break;
      }
      response->stream->Close();
    }
    auto write_ec =
        co_await WriteResponse(session, std::move(*response), version, keep_alive, head);
    if (write_ec) break;
    Observe(request, pattern, status, start);
    if (close_hard) {
      co_await LingeringClose(session);
      co_return;
    }
    session.busy = false;
    if (!keep_alive) break;
  }
  session.CloseNow();
}

HttpServer::HttpServer(ServerOptions options, Router router, ErrorResponder errors,
                       RequestObserver observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(errors),
                                   std::move(observer))) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Start() { return impl_->Start(); }

void HttpServer::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }

uint16_t HttpServer::port() const { return impl_->bound_port.load(); }

}  // namespace borderflow::net
