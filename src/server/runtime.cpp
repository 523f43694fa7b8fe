#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <borderflow/core/thread_name.h>
#include <borderflow/link/envelope.h>
#include <borderflow/net/tls.h>
#include <borderflow/server/runtime.h>

#include "another_writer.h"

namespace borderflow {

Result<GateConfig> LoadGateConfig(const std::string& path) {
  // Like the key file reader (ReadKeyFile): refuse what is not a file, and read at most one byte
  // more than the limit, so that /dev/zero or a huge file is refused rather than read on and on.
  constexpr std::streamsize kMaxConfigBytes = 1 << 20;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument("invalid_config",
                           fmt::format("{}: is a directory, not a gate configuration file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument("config_not_found",
                           fmt::format("cannot read gate configuration '{}'", path));
  }
  std::string text(static_cast<size_t>(kMaxConfigBytes) + 1, '\0');
  in.read(text.data(), kMaxConfigBytes + 1);
  if (in.bad()) {
    return InvalidArgument("config_not_found",
                           fmt::format("cannot read gate configuration '{}'", path));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(kMaxConfigBytes)) {
    return InvalidArgument("invalid_config",
                           fmt::format("{}: the gate configuration is larger than 1 MiB", path));
  }
  return ParseGateConfig(text, path);
}

namespace {

std::string ResolvePath(const std::string& dir, const std::string& path) {
  std::filesystem::path p(path);
  return p.is_absolute() || dir.empty() ? p.string() : (std::filesystem::path(dir) / p).string();
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("file_not_found", fmt::format("cannot read '{}'", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The peer listener: [link] listen ("host:port"), HTTPS with the configured certificate or, when
// none is configured, a self-signed one made now (the counterpart trusts our signatures, not
// our certificate, unless it pins a CA).
Result<net::ServerOptions> PeerServerOptions(const GateConfig& config, const std::string& dir) {
  net::ServerOptions o;
  const std::string& listen = config.link.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("invalid_config", "link.listen: must be host:port", "link.listen");
  }
  o.address = listen.substr(0, colon);
  if (o.address.size() > 2 && o.address.front() == '[') {
    o.address = o.address.substr(1, o.address.size() - 2);
  }
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return InvalidArgument("invalid_config", "link.listen: bad port", "link.listen");
  }
  o.port = static_cast<uint16_t>(port);
  if (!config.link.tls_certificate_file.empty()) {
    BF_ASSIGN_OR_RETURN(
        net::TlsServerOptions tls,
        net::LoadTlsServerOptions(ResolvePath(dir, config.link.tls_certificate_file),
                                  ResolvePath(dir, config.link.tls_private_key_file)));
    o.tls = std::move(tls);
  } else {
    BF_ASSIGN_OR_RETURN(net::SelfSignedCertificate cert,
                        net::MakeSelfSignedCertificate(config.self.node_id, 365));
    o.tls = net::TlsServerOptions{cert.certificate_pem, cert.private_key_pem};
  }
  return o;
}

}  // namespace

namespace server_internal {

bool AnotherWriterIsAhead(const EngineStats& stats,
                          const std::function<Result<int64_t>()>& read_head) {
  const uint64_t ended = stats.batches_ended.load();
  Result<int64_t> head = read_head();
  const int64_t known = stats.known_head.load();
  return head.has_value() && *head > known && stats.batches_begun.load() == ended;
}

}  // namespace server_internal

// Submits QueueTick to the engine every `interval` until stopped; and, every `follow`, looks
// whether the store's audit head is beyond what the engine has read (records committed by
// another process: a second server on the same database, a CLI command on the same file). Then
// it ticks at once, so that this server's read views, served from the engine's caches, catch up
// within `follow` instead of at the next tick. At most one tick is in the engine at a time.
struct Runtime::Ticker {
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::shared_ptr<std::atomic<bool>> in_flight = std::make_shared<std::atomic<bool>>(false);
  std::thread thread;

  Ticker(Engine& engine, Store& store, Duration interval, Duration follow) {
    thread = std::thread([this, &engine, &store, interval, follow] {
      NameThisThread("bf-queue-tick");
      using Steady = std::chrono::steady_clock;
      Steady::time_point next_tick = Steady::now() + interval;
      std::unique_lock lock(mu);
      while (true) {
        Steady::time_point wake = next_tick;
        if (follow.count() > 0) wake = std::min(wake, Steady::now() + follow);
        if (cv.wait_until(lock, wake, [this] { return stopping; })) return;
        lock.unlock();
        bool due = Steady::now() >= next_tick;
        if (!due && !in_flight->load()) {
          due = server_internal::AnotherWriterIsAhead(engine.stats(),
                                                      [&store] { return store.AuditHead(); });
        }
        if (due) {
          // Due again while the last tick is still in the engine (a stalled store): look again
          // after another interval rather than at once, which would spin.
          next_tick = Steady::now() + interval;
          if (!in_flight->exchange(true)) {
            engine.Submit(Command{Actor::System(), "", "", QueueTick{}},
                          [flag = in_flight](Result<CommandResult> r) {
                            flag->store(false);
                            if (!r) spdlog::warn("queue timer: {}", r.error().ToString());
                          });
          }
        }
        lock.lock();
      }
    });
  }
  ~Ticker() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    thread.join();
  }
};

Result<std::unique_ptr<Runtime>> Runtime::Start(RuntimeOptions options, const Clock& clock,
                                                Random& random) {
  std::unique_ptr<Runtime> rt(new Runtime());
  auto hs = HsNomenclature::Hs2022();
  BF_ASSIGN_OR_RETURN(rt->store_, OpenStore(options.db_path, hs));
  rt->engine_ = std::make_unique<Engine>(std::move(options.config), hs, *rt->store_, clock, random,
                                         options.engine);
  const GateConfig& config = rt->engine_->config();
  net::ServerOptions peer_http;
  if (config.link.enabled) {
    BF_ASSIGN_OR_RETURN(peer::LinkKeys keys, peer::LoadLinkKeys(config, options.config_dir));
    BF_ASSIGN_OR_RETURN(peer_http, PeerServerOptions(config, options.config_dir));
    // The sender keeps its batches within kMaxBatchBytes (the default), which holds one
    // envelope of the largest size (kMaxEnvelopeBytes) and more; a larger batch is refused
    // (413, answered from its Content-Length) and sent again in halves.
    peer_http.max_body_bytes = options.link.max_request_bytes;
    if (!config.link.peer_ca_file.empty()) {
      BF_ASSIGN_OR_RETURN(options.link.peer_ca_pem,
                          ReadTextFile(ResolvePath(options.config_dir, config.link.peer_ca_file)));
    }
    // The peer listener's errors are problem details, like the API's.
    options.link.problem = [](const Error& e, std::string_view instance) {
      return api::ProblemResponse(e, instance);
    };
    rt->link_ =
        std::make_unique<peer::PeerLink>(*rt->engine_, *rt->store_, clock, std::move(keys.own),
                                         std::move(keys.counterpart), options.link);
    peer::PeerLink* link = rt->link_.get();
    options.api.link_status = [link] { return link->StatusJson(); };
    options.api.link_metrics = [link] { return link->MetricsText(); };
  }
  rt->api_ = std::make_unique<api::Api>(*rt->engine_, *rt->store_, options.api);
  // Before any request can reach the engine: commits wake the link's sender and the live feed.
  rt->engine_->SetCommitListener(
      [link = rt->link_.get(), api = rt->api_.get()](const std::vector<AuditRecord>&) {
        if (link != nullptr) link->Notify();
        api->NotifyCommitted();
      });
  // A write without a token is refused before its body is read (Api::Admission).
  if (!options.http.admit) options.http.admit = rt->api_->Admission();
  rt->server_ = std::make_unique<net::HttpServer>(options.http, rt->api_->Routes(),
                                                  rt->api_->Errors(), rt->api_->Observer());
  BF_ASSIGN_OR_RETURN(rt->port_, rt->server_->Start());
  if (rt->link_) {
    // The counterpart reaches only /peer/v1 (and health), on its own HTTPS listener.
    net::Router peer_routes;
    rt->link_->AddRoutes(peer_routes);
    peer_routes.Add("GET", "/healthz", [](net::HttpRequest&, net::Respond respond) {
      respond(net::HttpResponse{200, "application/json", {}, R"({"status":"ok"})", nullptr});
    });
    // Over the rate limit, a request is refused before its body (up to 8 MiB) is read.
    peer_http.admit = [link = rt->link_.get()](const net::HttpRequest& header) {
      return link->Admit(header);
    };
    rt->peer_server_ = std::make_unique<net::HttpServer>(peer_http, std::move(peer_routes),
                                                         rt->api_->Errors(), rt->api_->Observer());
    BF_ASSIGN_OR_RETURN(rt->peer_port_, rt->peer_server_->Start());
    if (!options.hold_link) rt->StartLink();
  }
  rt->queue_tick_ = options.queue_tick;
  rt->follow_ = options.follow;
  if (!options.hold_queue_timer) rt->StartQueueTimer();
  return rt;
}

void Runtime::StartQueueTimer() {
  if (ticker_ || queue_tick_.count() <= 0 || !engine_) return;
  ticker_ = std::make_unique<Ticker>(*engine_, *store_, queue_tick_, follow_);
}

void Runtime::StartLink() {
  if (link_) link_->Start();  // PeerLink::Start starts its sender once
}

Runtime::~Runtime() { Stop(); }

void Runtime::Stop() {
  ticker_.reset();
  if (link_) link_->Stop();  // the sender uses the engine
  // Stop accepting and let in-flight requests finish; then drain the engine while the servers'
  // io_contexts and the API still exist, because draining completes the queued requests'
  // callbacks, which call into the API and post to the connections' strands. Destroying a
  // server before the drain let the engine's writer touch a destroyed io_context (ASan).
  if (peer_server_) peer_server_->Stop();
  if (server_) server_->Stop();
  if (api_) api_->StopLiveFeed();  // its poller reads the engine
  engine_.reset();                 // drains queued commands
  peer_server_.reset();
  server_.reset();
  api_.reset();
  link_.reset();
  store_.reset();
}

}  // namespace borderflow
