#pragma once

// The cross-border link's driver: the only code that moves messages between the two nodes.
//
//   receiving  POST /peer/v1/messages (served on the node's HTTPS peer listener): a batch of
//              signed messages. Each is verified (pinned key, signature over the exact bytes,
//              sender, recipient, time window) before its payload is parsed, then applied by the
//              engine once and in order (ApplyPeerMessage). Refusals of authentic messages
//              (signed by a pinned key) are recorded in the audit trail; a message whose
//              signature does not verify is refused, counted and logged (rate-limited), never
//              stored: it is nobody's. The response is a signed acknowledgement listing each
//              message's outcome. Each client address is rate-limited ([link]
//              peer_rate_per_second, 429 problem details beyond it).
//   sending    a thread reads the engine's outbox in order, signs each message, posts batches to
//              the counterpart over HTTPS, verifies the signed acknowledgement and removes what
//              was delivered (AckPeerMessages). Failures back off exponentially; the outbox
//              keeps everything until it is acknowledged, across restarts. A batch stays within
//              kMaxBatchBytes; one refused whole as too large (413) is sent again in halves,
//              down to single messages. A message that can never be delivered (its envelope
//              larger than kMaxEnvelopeBytes, or refused alone as too large) is given up: a
//              signed skip notice takes its place and the control room is alerted, so that it
//              cannot hold the link up.
//   announcing every minute the engine is asked to announce this side's capacity
//              (AnnounceCapacity); it does so when the plan changed or an hour began.
//
// Exactly-once effect: a message is kept until acknowledged, so it may be sent again (a crash
// after sending, a lost response); the receiver applies a message id once (the engine's
// idempotency record) and each stream in order.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include <borderflow/core/clock.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/engine/engine.h>
#include <borderflow/engine/store.h>
#include <borderflow/link/envelope.h>
#include <borderflow/link/node_key.h>
#include <borderflow/net/http.h>

namespace borderflow::peer {

struct PeerLinkOptions {
  std::string peer_ca_pem;  // when set, the counterpart's TLS certificate must chain to it
  std::chrono::milliseconds poll{200};               // outbox polling when idle
  std::chrono::milliseconds announce_every{60'000};  // capacity announcement timer
  std::chrono::milliseconds request_timeout{10'000};
  bool sender = true;  // run the sender thread (tests may drive SendOnce themselves)
  // The peer listener's body limit (the runtime gives it to the listener): a larger request
  // gets 413 payload_too_large problem details, from its Content-Length before its body is
  // read. kMaxBatchBytes, within which the sender keeps its batches; tests set a smaller one to
  // stand for a counterpart with smaller limits.
  size_t max_request_bytes = kMaxBatchBytes;
  // Turns an error of the peer listener (a refused batch, 429) into its HTTP response: the
  // API's RFC 9457 problem details (api::ProblemResponse), so that both listeners answer
  // errors alike. Required.
  std::function<net::HttpResponse(const Error& error, std::string_view instance)> problem;
};

class PeerLink {
 public:
  // `engine`, `store` and `clock` must outlive the link. The peer URL and settings come from
  // engine.config() (counterpart.peer_url, [link]).
  PeerLink(Engine& engine, Store& store, const Clock& clock, KeyChain keys, PeerKeyRing ring,
           PeerLinkOptions options = {});
  ~PeerLink();  // Stop()
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Adds POST /peer/v1/messages to `router` (the peer listener's).
  void AddRoutes(net::Router& router);
  // The peer listener's check of a request from its header alone (net::ServerOptions::admit):
  // a 429 problem when the client's address is over [link] peer_rate_per_second, before its
  // body is read. Thread-safe.
  std::optional<net::HttpResponse> Admit(const net::HttpRequest& header);
  // Starts the sender and the announcement timer (when options.sender).
  void Start();
  void Stop();
  // New outbox messages may be waiting (called after engine commits).
  void Notify();
  // Points the sender at another counterpart URL (tests on port 0, a proxy).
  void SetPeerUrl(std::string url);
  // Sends one batch from the outbox now and processes its acknowledgement. Returns the number
  // of messages that left the outbox. Errors are the link's (transport, verification).
  Result<int> SendOnce();

  // Link state, backlog, oldest unacknowledged message, last error, counters (GET /api/v1/link).
  boost::json::object StatusJson() const;
  // The same as Prometheus exposition lines (appended to /metrics).
  std::string MetricsText() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Reads this node's keys ([link] key_file, next_key_file) and the counterpart's pinned keys
// (counterpart.keys) from the configuration. Relative key paths are resolved against
// `config_dir`. Errors name the file or the key.
struct LinkKeys {
  KeyChain own;
  PeerKeyRing counterpart;
};
Result<LinkKeys> LoadLinkKeys(const GateConfig& config, const std::string& config_dir);

}  // namespace borderflow::peer
