#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <borderflow/core/digest.h>
#include <borderflow/core/json.h>
#include <borderflow/core/thread_name.h>
#include <borderflow/link/envelope.h>
#include <borderflow/link/messages.h>
#include <borderflow/net/http_client.h>
#include <borderflow/peer/peer_link.h>

namespace borderflow::peer {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;
using net::Respond;

namespace {

constexpr std::string_view kOutboxRecord = "peer_outbox";  // written by the engine

// Refusals that a later attempt can overcome: the message stays in the outbox. Any other
// refusal is final: the message leaves the outbox as "dead", recorded on both sides.
bool Retryable(std::string_view code) {
  static const std::set<std::string_view> kRetryable = {
      "sequence_gap", "unknown_key", "key_not_yet_valid", "key_expired",   "bad_signature",
      "too_new",      "overloaded",  "unavailable",       "link_disabled", "store_write_failed",
      "internal"};
  return kRetryable.contains(code);
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse ErrorResponse(const Error& e) {
  return JsonResponse(HttpStatusFor(e.kind),
                      ToJsonText(json::object{{"code", e.code}, {"message", e.message}}));
}

}  // namespace

struct PeerLink::Impl : std::enable_shared_from_this<Impl> {
  Impl(Engine& engine, Store& store, const Clock& clock, KeyChain keys, PeerKeyRing ring,
       PeerLinkOptions options)
      : engine(engine),
        store(store),
        clock(clock),
        config(engine.config()),
        keys(std::move(keys)),
        ring(std::move(ring)),
        options(std::move(options)) {
    self_id = config.self.node_id;
    counterpart_id = config.counterpart.node_id;
    counterpart_actor = Actor{"peer:" + counterpart_id, counterpart_id, Role::kCounterpart, ""};
  }

  Engine& engine;
  Store& store;
  const Clock& clock;
  const GateConfig& config;
  const KeyChain keys;
  const PeerKeyRing ring;
  const PeerLinkOptions options;
  std::string self_id, counterpart_id;
  Actor counterpart_actor;

  // Sender.
  std::mutex client_mu;  // one request in flight
  std::unique_ptr<net::HttpClient> client;
  std::string prefix;
  std::string peer_url;  // empty: the configuration's
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool notified = false;

  // State, under state_mu.
  mutable std::mutex state_mu;
  std::string state = "unknown";  // "up", "down", "unknown" (nothing tried yet)
  std::string last_error;
  std::optional<Timestamp> last_error_at, last_success_at;
  int64_t backlog = 0;
  std::optional<Timestamp> oldest_unacked;
  int consecutive_failures = 0;
  std::map<std::string, uint64_t> rejected_by_code;  // refused incoming messages
  std::atomic<uint64_t> sent{0}, delivered{0}, dead{0}, received{0}, applied{0}, duplicates{0},
      attempts{0}, failures{0};

  Status EnsureClient() {
    if (client) return {};
    BF_ASSIGN_OR_RETURN(
        net::ClientOptions o,
        net::HttpClient::ParseUrl(peer_url.empty() ? config.counterpart.peer_url : peer_url));
    o.ca_pem = options.peer_ca_pem;
    o.timeout = options.request_timeout;
    prefix = o.path_prefix;
    client = std::make_unique<net::HttpClient>(std::move(o));
    return {};
  }

  void Failed(const Error& e) {
    failures.fetch_add(1);
    std::lock_guard lock(state_mu);
    state = "down";
    last_error = fmt::format("{}: {}", e.code, e.message);
    last_error_at = clock.Now();
    ++consecutive_failures;
  }

  // Reads the outbox; returns the first `limit` records and updates the backlog figures.
  Result<std::vector<StoredRecord>> ReadOutbox(size_t limit) {
    BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> all, store.ListRecords(kOutboxRecord));
    // A commit can be read before it is durable (Store::WriteBatchThen): nothing read goes to
    // the counterpart until it is.
    BF_TRY(store.WaitDurable());
    {
      std::lock_guard lock(state_mu);
      backlog = static_cast<int64_t>(all.size());
      oldest_unacked.reset();
      if (!all.empty()) oldest_unacked = all.front().updated_at;
    }
    if (all.size() > limit) all.resize(limit);
    return all;
  }

  Result<Envelope> EnvelopeOf(const StoredRecord& r) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    BF_ASSIGN_OR_RETURN(JsonObjectReader o, JsonObjectReader::Of(v, "outbox"));
    Envelope e;
    e.from = self_id;
    e.to = counterpart_id;
    BF_ASSIGN_OR_RETURN(std::string type, o.String("type", 64));
    BF_ASSIGN_OR_RETURN(e.type, ParseMessageType(type));
    BF_ASSIGN_OR_RETURN(e.stream, o.String("stream", kMaxStreamLength));
    BF_ASSIGN_OR_RETURN(e.seq, o.Int("seq", 1, INT64_MAX));
    BF_ASSIGN_OR_RETURN(std::string created, o.String("created_at", 64));
    BF_ASSIGN_OR_RETURN(e.sent_at, ParseTimestamp(created));
    BF_ASSIGN_OR_RETURN(JsonObjectReader payload, o.Object("payload"));
    e.payload = payload.object();
    e.id = MessageId(e.from, e.stream, e.seq);
    return e;
  }

  Result<int> SendOnce() {
    std::lock_guard client_lock(client_mu);
    BF_TRY(EnsureClient());
    BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> records,
                        ReadOutbox(static_cast<size_t>(config.link.batch_size)));
    if (records.empty()) return 0;
    attempts.fetch_add(1);
    std::vector<SignedMessage> batch;
    std::map<std::string, std::string> outbox_of;  // message id -> outbox record id
    Timestamp now = clock.Now();
    const NodeKey& key = keys.SigningKey(now);
    for (const StoredRecord& r : records) {
      auto envelope = EnvelopeOf(r);
      if (!envelope) return Internal("outbox record " + r.id + ": " + envelope.error().ToString());
      outbox_of[envelope->id] = r.id;
      batch.push_back(Sign(*envelope, key));
    }
    auto response = client->Send("POST", prefix + "/messages", EncodeBatch(batch),
                                 {{"content-type", "application/json"}});
    if (!response) return response.error();
    if (response->status != 200) {
      return Unavailable("peer_refused",
                         fmt::format("the counterpart answered {}: {}", response->status,
                                     response->body.substr(0, 300)));
    }
    sent.fetch_add(batch.size());
    // The acknowledgement is trusted only through its signature, like every message.
    BF_ASSIGN_OR_RETURN(SignedMessage signed_ack, DecodeSigned(response->body));
    VerifyOptions verify{counterpart_id, self_id, clock.Now(), config.link.max_clock_skew,
                         config.link.max_message_age};
    BF_ASSIGN_OR_RETURN(Envelope ack_envelope, VerifyAndOpen(signed_ack, ring, verify));
    if (ack_envelope.type != MessageType::kAck) {
      return Unavailable("bad_ack", "the counterpart answered with a message that is no ack");
    }
    BF_ASSIGN_OR_RETURN(Ack ack, DecodeAck(ack_envelope.payload));
    AckPeerMessages done;
    for (const Ack::Item& item : ack.items) {
      auto it = outbox_of.find(item.id);
      if (it == outbox_of.end()) continue;  // not ours in this batch: ignored
      if (item.status == "applied" || item.status == "duplicate") {
        done.delivered.push_back(it->second);
      } else if (!Retryable(item.code)) {
        done.dead.push_back({it->second, item.id, item.code, item.message});
      }
    }
    int removed = static_cast<int>(done.delivered.size() + done.dead.size());
    if (removed > 0) {
      Command command{Actor::System(), "", "", std::move(done)};
      const auto& body = std::get<AckPeerMessages>(command.body);
      size_t delivered_now = body.delivered.size(), dead_now = body.dead.size();
      BF_ASSIGN_OR_RETURN(CommandResult r, engine.Execute(std::move(command)));
      (void)r;
      delivered.fetch_add(delivered_now);
      dead.fetch_add(dead_now);
    }
    {
      std::lock_guard lock(state_mu);
      state = "up";
      last_success_at = clock.Now();
      consecutive_failures = 0;
      backlog = std::max<int64_t>(0, backlog - removed);
    }
    if (removed < static_cast<int>(batch.size())) {
      // Something is held back (a retryable refusal): report it as the link's error.
      for (const Ack::Item& item : ack.items) {
        if (item.status == "rejected" && Retryable(item.code)) {
          std::lock_guard lock(state_mu);
          last_error = fmt::format("{} refused {}: {}", item.id, item.code, item.message);
          last_error_at = clock.Now();
          break;
        }
      }
    }
    return removed;
  }

  void Run() {
    auto next_announce = std::chrono::steady_clock::now();
    auto retry_at = std::chrono::steady_clock::now();
    std::chrono::milliseconds backoff{0};
    while (true) {
      bool more = false;
      auto steady = std::chrono::steady_clock::now();
      if (steady >= next_announce) {
        next_announce = steady + options.announce_every;
        auto announced = engine.Execute(Command{Actor::System(), "", "", AnnounceCapacity{}});
        if (!announced)
          spdlog::warn("link: capacity announcement failed: {}", announced.error().ToString());
      }
      if (steady >= retry_at) {
        auto r = SendOnce();
        if (!r) {
          Failed(r.error());
          auto min = std::chrono::duration_cast<std::chrono::milliseconds>(config.link.retry_min);
          auto max = std::chrono::duration_cast<std::chrono::milliseconds>(config.link.retry_max);
          backoff = backoff.count() == 0 ? min : std::min(max, backoff * 2);
          retry_at = std::chrono::steady_clock::now() + backoff;
          spdlog::warn("link: sending to {} failed ({}); retrying in {} ms", counterpart_id,
                       r.error().ToString(), backoff.count());
        } else {
          backoff = std::chrono::milliseconds(0);
          more = *r >= config.link.batch_size;  // a full batch: the outbox may hold more
        }
      }
      std::unique_lock lock(mu);
      if (stopping) return;
      if (more) continue;
      auto wake = std::min(
          std::chrono::steady_clock::now() + options.poll,
          std::max(retry_at, std::chrono::steady_clock::now()) + std::chrono::milliseconds(1));
      wake = std::min(wake, next_announce);
      cv.wait_until(lock, wake, [&] { return stopping || notified; });
      notified = false;
      if (stopping) return;
    }
  }

  // --- Receiving ---------------------------------------------------------------------------

  void Receive(HttpRequest& request, Respond respond) {
    auto batch = DecodeBatch(request.body);
    if (!batch) {
      Reject(batch.error(), "", "", Sha256Hex(request.body));
      respond(ErrorResponse(batch.error()));
      return;
    }
    struct Pending {
      std::mutex mu;
      std::vector<Ack::Item> items;
      size_t left = 0;
      Respond respond;
    };
    auto pending = std::make_shared<Pending>();
    pending->items.resize(batch->size());
    pending->left = batch->size();
    pending->respond = std::move(respond);
    auto self = shared_from_this();
    auto finish_one = [self, pending](size_t i, Ack::Item item) {
      bool last = false;
      {
        std::lock_guard lock(pending->mu);
        pending->items[i] = std::move(item);
        last = --pending->left == 0;
      }
      if (last) pending->respond(self->SignedAck(std::move(pending->items)));
    };
    if (batch->empty()) {
      pending->respond(SignedAck({}));
      return;
    }
    Timestamp now = clock.Now();
    VerifyOptions verify{counterpart_id, self_id, now, config.link.max_clock_skew,
                         config.link.max_message_age};
    for (size_t i = 0; i < batch->size(); ++i) {
      const SignedMessage& message = (*batch)[i];
      std::string digest = Sha256Hex(message.bytes);
      received.fetch_add(1);
      auto envelope = VerifyAndOpen(message, ring, verify);
      if (envelope && envelope->type == MessageType::kAck) {
        envelope = InvalidArgument("unexpected_ack", "an ack is an answer, not a message");
      }
      if (envelope) {
        Status valid = ValidatePayload(envelope->type, envelope->payload);
        if (!valid) envelope = valid.error();
      }
      if (!envelope) {
        // The id is not trusted (nothing of an unverified message is), only echoed back.
        std::string claimed = ClaimedId(message);
        Reject(envelope.error(), message.key_id, claimed, digest);
        finish_one(i, Ack::Item{claimed, "rejected", envelope.error().code,
                                envelope.error().message.substr(0, 1000)});
        continue;
      }
      ApplyPeerMessage apply{envelope->id,      std::string(MessageTypeName(envelope->type)),
                             envelope->stream,  envelope->seq,
                             envelope->sent_at, std::move(envelope->payload),
                             message.key_id,    digest};
      std::string id = apply.id;
      Command command{counterpart_actor, id, digest, std::move(apply)};
      engine.Submit(std::move(command), [self, finish_one, i, id, digest,
                                         key_id = message.key_id](Result<CommandResult> r) {
        if (!r) {
          self->CountRejection(r.error().code);
          finish_one(i,
                     Ack::Item{id, "rejected", r.error().code, r.error().message.substr(0, 1000)});
          return;
        }
        if (r->replayed) {
          // The same message again: a retry after a lost acknowledgement, or a replay. It
          // changes nothing either way; it is logged as a replay.
          self->duplicates.fetch_add(1);
          self->Reject(Error(ErrorKind::kConflict, "replay",
                             "message already applied; acknowledged again, nothing changed"),
                       key_id, id, digest);
          finish_one(i, Ack::Item{id, "duplicate", "", ""});
          return;
        }
        const json::value* status = r->body.if_contains("status");
        std::string s = status != nullptr && status->is_string() ? std::string(status->get_string())
                                                                 : std::string("applied");
        Ack::Item item{id, s, "", ""};
        if (s == "rejected") {
          const json::value* code = r->body.if_contains("code");
          const json::value* text = r->body.if_contains("message");
          item.code =
              code != nullptr && code->is_string() ? std::string(code->get_string()) : "refused";
          item.message = text != nullptr && text->is_string()
                             ? std::string(text->get_string()).substr(0, 1000)
                             : "";
          self->CountRejection(item.code);
        } else if (s == "duplicate") {
          self->duplicates.fetch_add(1);
        } else {
          self->applied.fetch_add(1);
        }
        finish_one(i, std::move(item));
      });
    }
  }

  // The id a message claims, for the acknowledgement (bounded; never trusted).
  static std::string ClaimedId(const SignedMessage& message) {
    auto v = ParseJson(message.bytes, JsonLimits{kMaxEnvelopeBytes, kMaxEnvelopeDepth});
    if (v && v->is_object()) {
      const json::value* id = v->as_object().if_contains("id");
      if (id != nullptr && id->is_string() && id->get_string().size() <= 256) {
        return std::string(id->get_string());
      }
    }
    return "";
  }

  void CountRejection(const std::string& code) {
    std::lock_guard lock(state_mu);
    ++rejected_by_code[code];
  }

  // Records a refused message in the audit trail (asynchronously; the refusal stands anyway).
  void Reject(const Error& e, const std::string& key_id, const std::string& message_id,
              const std::string& digest) {
    CountRejection(e.code);
    spdlog::warn("link: refused a message from {} ({}): {} {}", counterpart_id,
                 message_id.empty() ? "no id" : message_id, e.code, e.message);
    RecordPeerRejection body{e.code, e.message, key_id, message_id, digest};
    engine.Submit(Command{Actor::System(), "", "", std::move(body)}, [](Result<CommandResult> r) {
      if (!r) spdlog::error("link: could not record a refusal: {}", r.error().ToString());
    });
  }

  HttpResponse SignedAck(std::vector<Ack::Item> items) {
    Envelope e;
    e.from = self_id;
    e.to = counterpart_id;
    e.type = MessageType::kAck;
    e.stream = "ack";
    e.sent_at = clock.Now();
    e.seq = std::max<int64_t>(1, ToUnixMillis(e.sent_at));
    e.id = MessageId(e.from, e.stream, e.seq);
    e.payload = Encode(Ack{std::move(items)});
    return JsonResponse(200, EncodeSigned(Sign(e, keys.SigningKey(e.sent_at))));
  }

  json::object StatusJson() const {
    std::lock_guard lock(state_mu);
    Timestamp now = clock.Now();
    json::object o{{"counterpart", counterpart_id},
                   {"peer_url", config.counterpart.peer_url},  // as configured
                   {"state", state},
                   {"backlog", backlog},
                   {"consecutive_failures", consecutive_failures},
                   {"signing_key", keys.SigningKey(now).key_id}};
    json::array pinned;
    for (const PinnedKey& k : ring.keys()) pinned.push_back(json::string(k.key_id));
    o["counterpart_keys"] = std::move(pinned);
    if (oldest_unacked) {
      o["oldest_unacknowledged_at"] = FormatUtc(*oldest_unacked);
      o["oldest_unacknowledged_age_seconds"] =
          std::chrono::duration_cast<std::chrono::seconds>(now - *oldest_unacked).count();
    } else {
      o["oldest_unacknowledged_at"] = nullptr;
      o["oldest_unacknowledged_age_seconds"] = 0;
    }
    o["last_error"] = last_error.empty() ? json::value(nullptr) : json::value(last_error);
    o["last_error_at"] = last_error_at ? json::value(FormatUtc(*last_error_at)) : nullptr;
    o["last_success_at"] = last_success_at ? json::value(FormatUtc(*last_success_at)) : nullptr;
    json::object rejected;
    for (const auto& [code, n] : rejected_by_code) rejected[code] = n;
    o["sent"] = json::object{{"messages", sent.load()},
                             {"delivered", delivered.load()},
                             {"dead", dead.load()},
                             {"attempts", attempts.load()},
                             {"failures", failures.load()}};
    o["received"] = json::object{{"messages", received.load()},
                                 {"applied", applied.load()},
                                 {"duplicates", duplicates.load()},
                                 {"rejected", std::move(rejected)}};
    return o;
  }

  std::string MetricsText() const {
    std::lock_guard lock(state_mu);
    Timestamp now = clock.Now();
    std::string out;
    auto gauge = [&](std::string_view name, std::string_view help, double value) {
      out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, value);
    };
    auto counter = [&](std::string_view name, std::string_view help, uint64_t value) {
      out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, value);
    };
    gauge("borderflow_link_up", "1 when the last exchange with the counterpart succeeded",
          state == "up" ? 1 : 0);
    gauge("borderflow_link_backlog", "messages in the outbox not yet acknowledged",
          static_cast<double>(backlog));
    gauge("borderflow_link_oldest_unacknowledged_seconds",
          "age of the oldest message not yet acknowledged (0 when none)",
          oldest_unacked ? std::chrono::duration<double>(now - *oldest_unacked).count() : 0.0);
    counter("borderflow_link_sent_total", "messages sent (retries included)", sent.load());
    counter("borderflow_link_delivered_total", "messages acknowledged by the counterpart",
            delivered.load());
    counter("borderflow_link_dead_total", "messages refused for good by the counterpart",
            dead.load());
    counter("borderflow_link_send_failures_total", "failed exchanges with the counterpart",
            failures.load());
    counter("borderflow_link_received_total", "messages received from the counterpart",
            received.load());
    counter("borderflow_link_applied_total", "received messages applied", applied.load());
    out +=
        "# HELP borderflow_link_rejected_total received messages refused, by reason\n"
        "# TYPE borderflow_link_rejected_total counter\n";
    for (const auto& [code, n] : rejected_by_code) {
      out += fmt::format("borderflow_link_rejected_total{{code=\"{}\"}} {}\n", code, n);
    }
    return out;
  }
};

PeerLink::PeerLink(Engine& engine, Store& store, const Clock& clock, KeyChain keys,
                   PeerKeyRing ring, PeerLinkOptions options)
    : impl_(std::make_shared<Impl>(engine, store, clock, std::move(keys), std::move(ring),
                                   std::move(options))) {}

PeerLink::~PeerLink() { Stop(); }

void PeerLink::AddRoutes(net::Router& router) {
  std::weak_ptr<Impl> weak = impl_;
  router.Add("POST", "/peer/v1/messages", [weak](HttpRequest& request, Respond respond) {
    auto impl = weak.lock();
    if (!impl) {
      respond(ErrorResponse(Unavailable("stopping", "the node is stopping")));
      return;
    }
    impl->Receive(request, std::move(respond));
  });
}

void PeerLink::Start() {
  if (!impl_->options.sender || impl_->thread.joinable()) return;
  impl_->thread = std::thread([impl = impl_] {
    NameThisThread("bf-link");
    impl->Run();
  });
}

void PeerLink::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void PeerLink::Notify() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->notified = true;
  }
  impl_->cv.notify_all();
}

void PeerLink::SetPeerUrl(std::string url) {
  std::lock_guard lock(impl_->client_mu);
  impl_->peer_url = std::move(url);
  impl_->client.reset();
}

Result<int> PeerLink::SendOnce() {
  auto r = impl_->SendOnce();
  if (!r) impl_->Failed(r.error());
  return r;
}

boost::json::object PeerLink::StatusJson() const { return impl_->StatusJson(); }
std::string PeerLink::MetricsText() const { return impl_->MetricsText(); }

Result<LinkKeys> LoadLinkKeys(const GateConfig& config, const std::string& config_dir) {
  LinkKeys keys;
  auto resolve = [&](const std::string& path) {
    std::filesystem::path p(path);
    return p.is_absolute() || config_dir.empty() ? p.string()
                                                 : (std::filesystem::path(config_dir) / p).string();
  };
  BF_ASSIGN_OR_RETURN(NodeKey key, ReadKeyFile(resolve(config.link.key_file)));
  keys.own.Add(std::move(key));
  if (!config.link.next_key_file.empty()) {
    BF_ASSIGN_OR_RETURN(NodeKey next, ReadKeyFile(resolve(config.link.next_key_file)));
    keys.own.Add(std::move(next), config.link.next_key_from);
  }
  for (size_t i = 0; i < config.counterpart.keys.size(); ++i) {
    const PinnedPeerKey& k = config.counterpart.keys[i];
    std::string field = fmt::format("counterpart.keys[{}].public_key", i);
    auto bytes = Base64Decode(k.public_key);
    if (!bytes || bytes->size() != 32) {
      return InvalidArgument("invalid_config", field + ": must be 32 bytes in base64", field);
    }
    PinnedKey pinned;
    pinned.key_id = k.id;
    std::copy(bytes->begin(), bytes->end(), pinned.public_key.begin());
    pinned.not_before = k.not_before;
    pinned.not_after = k.not_after;
    Status added = keys.counterpart.Add(std::move(pinned));
    if (!added) return added.error().Within(fmt::format("counterpart.keys[{}]", i));
  }
  return keys;
}

}  // namespace borderflow::peer
