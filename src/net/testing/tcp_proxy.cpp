// TcpProxy: one io_context on one thread; every connection is two pump coroutines (one per
// direction). All connection state is touched only on that thread; Cut() and Stop() post to it
// and wait for the posted work to finish.

#include <array>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <borderflow/net/testing/tcp_proxy.h>

#include "../beast_common.h"

namespace borderflow::net::testing {

namespace asio = internal::asio;
using internal::kAwaitTuple;
using internal::tcp;

namespace {

struct Connection {
  explicit Connection(tcp::socket client_in)
      : client(std::move(client_in)), upstream(client.get_executor()) {}

  tcp::socket client;
  tcp::socket upstream;
  int pumps_running = 0;
  bool closed = false;
};

// Closes a socket with a TCP reset (SO_LINGER 0), like a link that went away mid-stream.
void Reset(tcp::socket& socket) {
  boost::system::error_code ec;
  if (!socket.is_open()) return;
  socket.set_option(asio::socket_base::linger(true, 0), ec);
  socket.close(ec);
}

void Close(Connection& connection) {
  boost::system::error_code ec;
  connection.closed = true;
  connection.client.close(ec);
  connection.upstream.close(ec);
}

}  // namespace

struct TcpProxy::Impl {
  Impl(std::string host, uint16_t port) : target_host(std::move(host)), target_port(port) {}

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Forward(std::shared_ptr<Connection> connection, uint64_t id);
  asio::awaitable<void> Pump(std::shared_ptr<Connection> connection, uint64_t id, bool to_upstream);
  // Runs `fn` on the I/O thread and waits for it; runs it inline when the thread is not running.
  void RunOnIoThread(const std::function<void()>& fn);

  const std::string target_host;
  const uint16_t target_port;

  std::atomic<bool> cut{false};
  std::atomic<uint16_t> port{0};
  std::atomic<uint64_t> accepted{0}, dropped{0}, refused{0}, up{0}, down{0};

  std::mutex lifecycle_mu;  // serializes Start() and Stop()
  bool running = false;
  bool stopped = false;
  std::thread thread;

  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  tcp::resolver::results_type endpoints;
  std::map<uint64_t, std::shared_ptr<Connection>> connections;  // I/O thread only
  uint64_t next_id = 0;
};

void TcpProxy::Impl::RunOnIoThread(const std::function<void()>& fn) {
  std::unique_lock lifecycle(lifecycle_mu);
  if (!running) {
    fn();
    return;
  }
  std::promise<void> done;
  asio::post(ioc, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

asio::awaitable<void> TcpProxy::Impl::AcceptLoop() {
  for (;;) {
    tcp::socket socket(ioc);
    auto [ec] = co_await acceptor->async_accept(socket, kAwaitTuple);
    if (ec) {
      if (!acceptor->is_open()) co_return;
      continue;
    }
    ++accepted;
    if (cut) {
      ++refused;
      Reset(socket);
      continue;
    }
    const uint64_t id = next_id++;
    auto connection = std::make_shared<Connection>(std::move(socket));
    connections.emplace(id, connection);
    asio::co_spawn(ioc, Forward(connection, id), asio::detached);
  }
}

asio::awaitable<void> TcpProxy::Impl::Forward(std::shared_ptr<Connection> connection, uint64_t id) {
  auto [ec, endpoint] = co_await asio::async_connect(connection->upstream, endpoints, kAwaitTuple);
  if (ec || connection->closed) {
    Reset(connection->client);
    Close(*connection);
    connections.erase(id);
    co_return;
  }
  boost::system::error_code ignored;
  connection->client.set_option(tcp::no_delay(true), ignored);
  connection->upstream.set_option(tcp::no_delay(true), ignored);
  connection->pumps_running = 2;
  asio::co_spawn(ioc, Pump(connection, id, true), asio::detached);
  asio::co_spawn(ioc, Pump(connection, id, false), asio::detached);
}

asio::awaitable<void> TcpProxy::Impl::Pump(std::shared_ptr<Connection> connection, uint64_t id,
                                           bool to_upstream) {
  tcp::socket& from = to_upstream ? connection->client : connection->upstream;
  tcp::socket& to = to_upstream ? connection->upstream : connection->client;
  std::atomic<uint64_t>& counter = to_upstream ? up : down;
  std::array<char, 16 << 10> buffer;
  for (;;) {
    auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), kAwaitTuple);
    if (read_ec) {
      boost::system::error_code ignored;
      if (read_ec == asio::error::eof && !connection->closed) {
        to.shutdown(tcp::socket::shutdown_send, ignored);  // pass the half-close on
      } else if (!connection->closed) {
        Reset(to);  // pass a reset on
        Close(*connection);
      }
      break;
    }
    auto [write_ec, written] =
        co_await asio::async_write(to, asio::buffer(buffer.data(), n), kAwaitTuple);
    if (write_ec) {
      if (!connection->closed) {
        Reset(from);
        Close(*connection);
      }
      break;
    }
    counter += written;
  }
  if (--connection->pumps_running == 0) {
    Close(*connection);
    connections.erase(id);
  }
}

TcpProxy::TcpProxy(std::string target_host, uint16_t target_port)
    : impl_(std::make_unique<Impl>(std::move(target_host), target_port)) {}

TcpProxy::~TcpProxy() { Stop(); }

Result<uint16_t> TcpProxy::Start() {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mu);
  if (impl.running || impl.stopped) {
    return Unavailable("listen_failed", "proxy already started");
  }
  boost::system::error_code ec;
  tcp::resolver resolver(impl.ioc);
  impl.endpoints = resolver.resolve(impl.target_host, std::to_string(impl.target_port), ec);
  if (ec) return Unavailable("listen_failed", "cannot resolve the target: " + ec.message());
  impl.acceptor.emplace(impl.ioc);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl.acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor->bind(endpoint, ec);
  if (!ec) impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    impl.acceptor.reset();
    return Unavailable("listen_failed", "proxy cannot listen: " + ec.message());
  }
  impl.port = impl.acceptor->local_endpoint().port();
  impl.work.emplace(impl.ioc.get_executor());
  asio::co_spawn(impl.ioc, impl.AcceptLoop(), asio::detached);
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  impl.running = true;
  return impl.port.load();
}

void TcpProxy::Cut() {
  impl_->cut = true;
  impl_->RunOnIoThread([impl = impl_.get()] {
    for (auto& [id, connection] : impl->connections) {
      if (connection->closed) continue;
      ++impl->dropped;
      Reset(connection->client);
      Reset(connection->upstream);
      connection->closed = true;
    }
  });
}

void TcpProxy::Heal() { impl_->cut = false; }

void TcpProxy::Stop() {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mu);
  if (!impl.running) {
    impl.stopped = true;
    return;
  }
  asio::post(impl.ioc, [&impl] {
    boost::system::error_code ec;
    impl.acceptor->close(ec);
    for (auto& [id, connection] : impl.connections) Close(*connection);
  });
  impl.work.reset();
  impl.thread.join();  // returns once every coroutine has seen its socket closed
  impl.connections.clear();
  impl.running = false;
  impl.stopped = true;
}

uint16_t TcpProxy::port() const { return impl_->port.load(); }
uint64_t TcpProxy::accepted() const { return impl_->accepted.load(); }
uint64_t TcpProxy::dropped() const { return impl_->dropped.load(); }
uint64_t TcpProxy::refused() const { return impl_->refused.load(); }
uint64_t TcpProxy::bytes_upstream() const { return impl_->up.load(); }
uint64_t TcpProxy::bytes_downstream() const { return impl_->down.load(); }

}  // namespace borderflow::net::testing
