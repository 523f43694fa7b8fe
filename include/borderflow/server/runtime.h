#pragma once

// The composition root of a borderflow node: configuration, store, engine, API and HTTP
// server, started and stopped together. `borderflow serve`, `borderflow demo` and the
// integration tests all start a node through this one class.

#include <memory>
#include <string>

#include <borderflow/api/api.h>
#include <borderflow/core/clock.h>
#include <borderflow/core/random.h>
#include <borderflow/engine/engine.h>
#include <borderflow/net/http_server.h>
#include <borderflow/peer/peer_link.h>
#include <borderflow/store/store_factory.h>

namespace borderflow {

// Reads and parses a gate configuration file (ParseGateConfig). Errors name the file and, for
// its content, the line and the key; a directory or a file over 1 MiB is refused.
Result<GateConfig> LoadGateConfig(const std::string& path);

struct RuntimeOptions {
  GateConfig config;
  std::string db_path;  // the store's location: an SQLite file or a postgresql:// URL (OpenStore)
  net::ServerOptions http;
  EngineOptions engine;
  api::ApiOptions api;
  // How often the queue timer runs (missed calls, lapsed bookings, automatic call-forward).
  // 0 disables it (tests drive QueueTick themselves on a manual clock).
  Duration queue_tick = std::chrono::seconds(10);
  // With the queue timer on: how often it looks for records that another process (a second
  // server on the same database, a CLI command on the same file) committed, and then runs at
  // once, so that the read views served from the engine's caches (the queue, the wait board,
  // the capacity changes) follow the other servers within this time. 0: they catch up on this
  // server's next write or tick only.
  Duration follow = std::chrono::milliseconds(250);
  // The queue timer waits for StartQueueTimer(): `borderflow demo` seeds its crossings first,
  // since a tick during the seeding could call forward a truck the seeder is about to call.
  bool hold_queue_timer = false;
  // The link's sender waits for StartLink() (the peer listener serves at once): `borderflow
  // demo --port 0` learns each node's peer port only once both have started, and a sender
  // started before would try the configured URL (port 0) and log its failure.
  bool hold_link = false;
  // The cross-border link ([link] in the configuration): key files are resolved against
  // `config_dir`; the peer listener serves HTTPS on [link] listen.
  std::string config_dir;
  peer::PeerLinkOptions link;
};

class Runtime {
 public:
  // Opens the store (migrating it), starts the engine's writer and the HTTP server.
  // `clock` and `random` must outlive the runtime.
  static Result<std::unique_ptr<Runtime>> Start(RuntimeOptions options, const Clock& clock,
                                                Random& random);
  ~Runtime();  // Stop()

  // Stops the HTTP server (letting in-flight requests finish), then drains the engine.
  void Stop();
  // Starts the queue timer held by RuntimeOptions::hold_queue_timer (once; no-op without one).
  void StartQueueTimer();
  // Starts the link's sender held by RuntimeOptions::hold_link (no-op without a link, or once
  // started). Call PeerLink::SetPeerUrl first when the counterpart's address is known only now.
  void StartLink();

  uint16_t port() const { return port_; }
  // The HTTPS peer listener's port (0 without a link).
  uint16_t peer_port() const { return peer_port_; }
  // The link (null without one).
  peer::PeerLink* link() { return link_.get(); }
  Engine& engine() { return *engine_; }
  Store& store() { return *store_; }

 private:
  Runtime() = default;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<api::Api> api_;
  std::unique_ptr<net::HttpServer> server_;
  uint16_t port_ = 0;
  std::unique_ptr<peer::PeerLink> link_;
  std::unique_ptr<net::HttpServer> peer_server_;
  uint16_t peer_port_ = 0;
  struct Ticker;
  std::unique_ptr<Ticker> ticker_;
  Duration queue_tick_{0};
  Duration follow_{0};
};

}  // namespace borderflow
