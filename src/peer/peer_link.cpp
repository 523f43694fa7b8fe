#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/digest.h>
#include <borderflow/core/json.h>
#include <borderflow/core/rate_limit.h>
#include <borderflow/core/thread_name.h>
#include <borderflow/core/utf8.h>
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

// The longest error answer (problem details, or a proxy's page) the sender reads from the
// counterpart: it needs only the code and the start of the detail, and the 413 that makes it
// send a batch in halves must still be read when the batch is of one message (whose
// acknowledgement bound, MaxAckBytes(1), is about 12 KB).
constexpr size_t kMaxProblemBytes = 64 << 10;

// Refusals that a later attempt can overcome: the message stays in the outbox. Any other
// refusal is final: the message leaves the outbox as "dead", recorded on both sides. Every
// attempt is signed with the time it is sent, so "too_new" and "too_old" mean that the two
// clocks disagree (or the counterpart's limits are too tight): fixable, never a reason to drop.
bool Retryable(std::string_view code) {
  static const std::set<std::string_view> kRetryable = {
      "sequence_gap",  "unknown_key",        "key_not_yet_valid",
      "key_expired",   "bad_signature",      "too_new",
      "too_old",       "overloaded",         "unavailable",
      "link_disabled", "store_write_failed", "internal"};
  return kRetryable.contains(code);
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// At most one line per `every`: lines about what anyone who reaches the listener can cause
// (unsigned junk, rate-limited clients) must not flood the log. Thread-safe.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::steady_clock::duration every) : every_(every) {}
  // Whether a line may be written now; `suppressed` is set to the number of lines held back
  // since the last one written.
  bool Allow(uint64_t& suppressed) {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (now < next_) {
      ++suppressed_;
      return false;
    }
    next_ = now + every_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  const std::chrono::steady_clock::duration every_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};
  uint64_t suppressed_ = 0;
};

// Refusals of messages whose signature did not verify: nothing of such a message is the
// counterpart's, so they are counted and logged, never audited.
bool Unauthenticated(std::string_view code) {
  return code == "unknown_key" || code == "key_not_yet_valid" || code == "key_expired" ||
         code == "bad_signature";
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
        options(std::move(options)),
        rate_limit(config.link.peer_rate_per_second, config.link.peer_rate_burst, 10000) {
    BF_ASSERT(static_cast<bool>(this->options.problem),
              "PeerLinkOptions::problem maps the listener's errors to responses");
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

  // Receiving: the per-address rate limit, and the limiter of lines about unsigned traffic.
  KeyedRateLimit rate_limit;  // per client address
  LogLimiter unauthenticated_log{std::chrono::seconds(10)};

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
  // Set by SendOnce when the counterpart answered but took nothing out of the outbox (every
  // message refused with a retryable code): the sender then backs off as after a failure.
  std::atomic<bool> held_back{false};
  // Set by SendOnce when the batch ended at kMaxBatchBytes with more messages read: the outbox
  // holds more to send at once.
  std::atomic<bool> truncated{false};
  std::map<std::string, uint64_t> rejected_by_code;  // refused incoming messages
  // Of those, refused before authentication (never audited); and whole batches refused
  // before any message was looked at (malformed, too large).
  std::map<std::string, uint64_t> unauthenticated_by_code;
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> sent{0}, delivered{0}, dead{0}, received{0}, applied{0}, duplicates{0},
      attempts{0}, failures{0};

  Status EnsureClient() {
    if (client) return {};
    BF_ASSIGN_OR_RETURN(
        net::ClientOptions o,
        net::HttpClient::ParseUrl(peer_url.empty() ? config.counterpart.peer_url : peer_url));
    if (!o.tls) {
      // The configuration refuses it too: the link carries personal data, never in plain text.
      return InvalidArgument("insecure_peer_url", "the counterpart's peer_url must be https://");
    }
    o.ca_pem = options.peer_ca_pem;
    o.timeout = options.request_timeout;
    // Nothing longer than the acknowledgement of the largest batch (or an error answer) is
    // read: a counterpart cannot make the sender allocate without limit.
    o.max_response_body_bytes = std::max(
        MaxAckBytes(static_cast<size_t>(std::max(config.link.batch_size, 1))), kMaxProblemBytes);
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

  // The envelope of an outbox record as sent at `now`: `sent_at` is the time of this attempt,
  // not the time the message was put in the outbox, because the receiver's age check is about
  // the freshness of what it is sent (replays), and a message may wait out a long outage.
  Result<Envelope> EnvelopeOf(const StoredRecord& r, Timestamp now) {
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    BF_ASSIGN_OR_RETURN(JsonObjectReader o, JsonObjectReader::Of(v, "outbox"));
    Envelope e;
    e.from = self_id;
    e.to = counterpart_id;
    BF_ASSIGN_OR_RETURN(std::string type, o.String("type", 64));
    BF_ASSIGN_OR_RETURN(e.type, ParseMessageType(type));
    BF_ASSIGN_OR_RETURN(e.stream, o.String("stream", kMaxStreamLength));
    BF_ASSIGN_OR_RETURN(e.seq, o.Int("seq", 1, INT64_MAX));
    e.sent_at = now;
    BF_ASSIGN_OR_RETURN(JsonObjectReader payload, o.Object("payload"));
    e.payload = payload.object();
    e.id = MessageId(e.from, e.stream, e.seq);
    return e;
  }

  // A message of the batch being sent: its outbox record and its signed envelope.
  struct Outgoing {
    std::string outbox_id;
    std::string message_id;
    std::string type;
    SignedMessage message;
  };

  // The code and detail of an RFC 9457 problem answer; else "" and the body's start.
  static std::pair<std::string, std::string> ProblemOf(const HttpResponse& response) {
    auto problem = ParseJson(response.body);
    if (problem && problem->is_object()) {
      const json::value* code = problem->as_object().if_contains("code");
      const json::value* detail = problem->as_object().if_contains("detail");
      if (code != nullptr && code->is_string()) {
        return {std::string(code->get_string()).substr(0, 64),
                detail != nullptr && detail->is_string()
                    ? std::string(detail->get_string()).substr(0, 300)
                    : std::string()};
      }
    }
    return {"", response.body.substr(0, 300)};
  }

  // Gives up on messages that cannot be delivered however often they are sent (marked
  // undeliverable): the engine puts a signed skip notice in each one's place in the outbox (so
  // that the counterpart moves past its number), records it as peer_message_dead and alerts
  // the control room. Logged as errors: what such a message said must be told by hand.
  Status GiveUp(std::vector<AckPeerMessages::Dead> messages) {
    for (const AckPeerMessages::Dead& d : messages) {
      spdlog::error(
          "link: gave up on message {} to {} ({}: {}); a skip notice takes its place and the "
          "control room is alerted",
          LogQuoted(d.message_id, 256), counterpart_id, d.code, LogQuoted(d.message, 300));
    }
    const size_t n = messages.size();
    AckPeerMessages command;
    command.dead = std::move(messages);
    BF_ASSIGN_OR_RETURN(CommandResult r,
                        engine.Execute(Command{Actor::System(), "", "", std::move(command)}));
    (void)r;
    dead.fetch_add(n);
    return {};
  }

  // The error of an answer longer than any the counterpart may give to `messages` messages.
  static Error AckTooLarge(size_t messages, const std::string& why) {
    return Unavailable("ack_too_large",
                       fmt::format("the counterpart's answer to a batch of {} messages is longer "
                                   "than its acknowledgement may be: {}",
                                   messages, why));
  }

  Result<int> SendOnce() {
    std::lock_guard client_lock(client_mu);
    BF_TRY(EnsureClient());
    held_back = false;
    truncated = false;
    const Timestamp now = clock.Now();
    const NodeKey& key = keys.SigningKey(now);
    int removed = 0;
    std::vector<Outgoing> batch;
    // A message whose envelope is larger than the link takes (a bug: every message the engine
    // makes from bounded input fits, see kMaxEnvelopeBytes) is never sent: the counterpart
    // would refuse the whole batch, again and again. It is given up before anything is sent,
    // and the outbox read again, with its skip notice in its place. A batch ends before it
    // grows past kMaxBatchBytes (the counterpart's body limit); the rest waits for the next.
    for (int pass = 0;; ++pass) {
      BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> records,
                          ReadOutbox(static_cast<size_t>(config.link.batch_size)));
      if (records.empty()) return removed;
      batch.clear();
      truncated = false;
      std::vector<AckPeerMessages::Dead> oversized;
      size_t bytes = 16;  // {"messages":[]}
      for (const StoredRecord& r : records) {
        auto envelope = EnvelopeOf(r, now);
        if (!envelope)
          return Internal("outbox record " + r.id + ": " + envelope.error().ToString());
        std::string bytes_of_envelope = EncodeEnvelope(*envelope);
        if (bytes_of_envelope.size() > kMaxEnvelopeBytes) {
          oversized.push_back(
              {r.id, envelope->id, "envelope_too_large",
               fmt::format("the {} envelope is {} bytes, more than the link's limit of {} bytes",
                           MessageTypeName(envelope->type), bytes_of_envelope.size(),
                           kMaxEnvelopeBytes),
               true});
          continue;
        }
        SignedMessage message = SignBytes(std::move(bytes_of_envelope), key);
        const size_t item = BatchItemBytes(message);
        if (!batch.empty() && bytes + item > kMaxBatchBytes) {
          truncated = true;
          break;
        }
        bytes += item;
        batch.push_back(Outgoing{r.id, envelope->id, std::string(MessageTypeName(envelope->type)),
                                 std::move(message)});
      }
      if (oversized.empty()) break;
      removed += static_cast<int>(oversized.size());
      BF_TRY(GiveUp(std::move(oversized)));
      // Skip notices are small, so a second pass finds none; the bound is for safety only.
      if (pass >= 3) break;
    }
    if (batch.empty()) return removed;
    BF_TRY(SendRange(batch, 0, batch.size(), removed));
    held_back = removed == 0;
    return removed;
  }

  // Sends batch[begin, end) and processes the acknowledgement; adds the number of messages
  // that left the outbox to `removed`. A batch refused whole as too large (413: more bytes or
  // messages than the counterpart takes, or an envelope larger than its limit) is sent again
  // in halves, down to single messages; a single message refused so is given up (GiveUp),
  // since no retry can change it, and the rest go on.
  Status SendRange(const std::vector<Outgoing>& batch, size_t begin, size_t end, int& removed) {
    std::vector<SignedMessage> messages;
    messages.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) messages.push_back(batch[i].message);
    attempts.fetch_add(1);
    auto response = client->Send("POST", prefix + "/messages", EncodeBatch(messages),
                                 {{"content-type", "application/json"}});
    // The acknowledgement of these messages takes at most MaxAckBytes(their number): a longer
    // answer is refused like any bad answer (retried with backoff). The client stopped reading
    // at its own bound (the largest batch's, or kMaxProblemBytes), so an answer of any other
    // status is within that.
    if (!response && response.error().code == "response_too_large") {
      return AckTooLarge(messages.size(), response.error().message);
    }
    if (!response) return response.error();
    if (response->status == 200 && response->body.size() > MaxAckBytes(messages.size())) {
      return AckTooLarge(messages.size(),
                         fmt::format("the answer is {} bytes, more than {}", response->body.size(),
                                     MaxAckBytes(messages.size())));
    }
    if (response->status == 413) {
      auto [code, detail] = ProblemOf(*response);
      if (end - begin > 1) {
        const size_t middle = begin + (end - begin) / 2;
        spdlog::warn(
            "link: {} refused a batch of {} messages as too large ({}: {}); sending it "
            "in halves",
            counterpart_id, end - begin, LogQuoted(code, 64), LogQuoted(detail, 300));
        BF_TRY(SendRange(batch, begin, middle, removed));
        return SendRange(batch, middle, end, removed);
      }
      const Outgoing& one = batch[begin];
      BF_TRY(GiveUp(
          {{one.outbox_id, one.message_id, code.empty() ? std::string("payload_too_large") : code,
            fmt::format("the counterpart refused the {} message ({} envelope bytes) as "
                        "too large: {}",
                        one.type, one.message.bytes.size(), detail),
            true}}));
      ++removed;
      return {};
    }
    if (response->status != 200) {
      // Errors are RFC 9457 problem details: their code and detail, else the body's start.
      auto [code, detail] = ProblemOf(*response);
      std::string why = code.empty() ? detail : fmt::format("{} ({})", code, detail);
      return Unavailable("peer_refused",
                         fmt::format("the counterpart answered {}: {}", response->status, why));
    }
    sent.fetch_add(messages.size());
    // The acknowledgement is trusted only through its signature, like every message.
    BF_ASSIGN_OR_RETURN(SignedMessage signed_ack,
                        DecodeSigned(response->body, MaxAckEnvelopeBytes(messages.size())));
    VerifyOptions verify{counterpart_id, self_id, clock.Now(), config.link.max_clock_skew,
                         config.link.max_message_age};
    BF_ASSIGN_OR_RETURN(Envelope ack_envelope, VerifyAndOpen(signed_ack, ring, verify));
    if (ack_envelope.type != MessageType::kAck) {
      return Unavailable("bad_ack", "the counterpart answered with a message that is no ack");
    }
    BF_ASSIGN_OR_RETURN(Ack ack, DecodeAck(ack_envelope.payload));
    if (ack.items.size() > messages.size()) {
      return Unavailable("bad_ack",
                         fmt::format("the counterpart acknowledged {} messages of a batch of {}",
                                     ack.items.size(), messages.size()));
    }
    std::map<std::string, std::string> outbox_of;  // message id -> outbox record id
    for (size_t i = begin; i < end; ++i) outbox_of[batch[i].message_id] = batch[i].outbox_id;
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
    const int now_removed = static_cast<int>(done.delivered.size() + done.dead.size());
    if (now_removed > 0) {
      size_t delivered_now = done.delivered.size(), dead_now = done.dead.size();
      BF_ASSIGN_OR_RETURN(CommandResult r,
                          engine.Execute(Command{Actor::System(), "", "", std::move(done)}));
      (void)r;
      delivered.fetch_add(delivered_now);
      dead.fetch_add(dead_now);
    }
    removed += now_removed;
    {
      std::lock_guard lock(state_mu);
      state = "up";
      last_success_at = clock.Now();
      consecutive_failures = 0;
      backlog = std::max<int64_t>(0, backlog - now_removed);
    }
    if (now_removed < static_cast<int>(messages.size())) {
      // Something is held back (a retryable refusal): report it as the link's error.
      for (const Ack::Item& item : ack.items) {
        if (item.status == "rejected" && Retryable(item.code)) {
          std::lock_guard lock(state_mu);
          last_error = fmt::format("{}: the counterpart refused {} for now ({})", item.code,
                                   item.id, item.message);
          last_error_at = clock.Now();
          break;
        }
      }
    }
    return {};
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
          // The error may quote the counterpart's answer: quoted and escaped.
          spdlog::warn("link: sending to {} failed ({}); retrying in {} ms", counterpart_id,
                       LogQuoted(r.error().ToString(), 600), backoff.count());
        } else if (held_back) {
          // The counterpart answered but took nothing (every message refused for now: an
          // unknown key, clocks apart, a gap): sending again at once changes nothing and only
          // runs into its rate limit, so the sender backs off as after a failure.
          auto min = std::chrono::duration_cast<std::chrono::milliseconds>(config.link.retry_min);
          auto max = std::chrono::duration_cast<std::chrono::milliseconds>(config.link.retry_max);
          backoff = backoff.count() == 0 ? min : std::min(max, backoff * 2);
          retry_at = std::chrono::steady_clock::now() + backoff;
          std::string why;
          {
            std::lock_guard lock(state_mu);
            why = last_error;
          }
          spdlog::warn("link: {} refused every message for now ({}); retrying in {} ms",
                       counterpart_id, LogQuoted(why, 600), backoff.count());
        } else {
          backoff = std::chrono::milliseconds(0);
          // A full batch, or one cut at its byte limit: the outbox may hold more.
          more = *r >= config.link.batch_size || (truncated && *r > 0);
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

  // Takes one request from the client address's bucket: a 429 problem when it is empty.
  std::optional<HttpResponse> Admit(const HttpRequest& header) {
    const std::string& source = header.remote_address;
    if (rate_limit.TryTake(source, clock.Now())) return std::nullopt;
    rate_limited.fetch_add(1);
    uint64_t suppressed = 0;
    if (unauthenticated_log.Allow(suppressed)) {
      spdlog::warn(
          "link: {} is over the peer listener's rate limit; its requests get 429 "
          "({} similar lines suppressed)",
          LogQuoted(source, 64), suppressed);
    }
    Error limited(ErrorKind::kTooManyRequests, "rate_limited",
                  fmt::format("more than {:.0f} requests per second to the peer listener; "
                              "retry in a second",
                              rate_limit.per_second()));
    return options.problem(limited, header.path);
  }

  // The batch of a request admitted by Admit (before its body was read).
  void Receive(HttpRequest& request, Respond respond) {
    const std::string& source = request.remote_address;
    auto batch = DecodeBatch(request.body);
    if (!batch) {
      // Nothing in it is authenticated: counted and logged, not audited.
      CountUnauthenticated(batch.error().code, 1);
      uint64_t suppressed = 0;
      if (unauthenticated_log.Allow(suppressed)) {
        spdlog::warn("link: refused a batch from {}: {} ({} similar lines suppressed)",
                     LogQuoted(source, 64), batch.error().code, suppressed);
      }
      respond(options.problem(batch.error(), request.path));
      return;
    }
    struct Pending {
      std::mutex mu;
      std::vector<Ack::Item> items;
      size_t left = 0;
      size_t unauthenticated = 0;
      Respond respond;
      std::string source;
    };
    auto pending = std::make_shared<Pending>();
    pending->items.resize(batch->size());
    pending->left = batch->size();
    pending->respond = std::move(respond);
    pending->source = source;
    auto self = shared_from_this();
    auto finish_one = [self, pending](size_t i, Ack::Item item) {
      bool last = false;
      {
        std::lock_guard lock(pending->mu);
        pending->items[i] = std::move(item);
        last = --pending->left == 0;
      }
      if (last) {
        self->LogBatch(pending->source, pending->items, pending->unauthenticated);
        pending->respond(self->SignedAck(std::move(pending->items)));
      }
    };
    if (batch->empty()) {
      pending->respond(SignedAck({}));
      return;
    }
    Timestamp now = clock.Now();
    VerifyOptions verify{counterpart_id, self_id, now, config.link.max_clock_skew,
                         config.link.max_message_age};
    // The messages whose signature does not verify are answered first, before any is
    // submitted, so that the count is complete when the last message finishes.
    std::vector<size_t> authentic;
    authentic.reserve(batch->size());
    for (size_t i = 0; i < batch->size(); ++i) {
      const SignedMessage& message = (*batch)[i];
      received.fetch_add(1);
      Status signed_by_counterpart = VerifySignature(message, ring, now);
      if (signed_by_counterpart) {
        authentic.push_back(i);
        continue;
      }
      // Anyone may have sent it: refused, counted and logged (LogBatch), never stored. The
      // id it claims is only echoed back.
      const Error& e = signed_by_counterpart.error();
      CountUnauthenticated(e.code, 1);
      {
        std::lock_guard lock(pending->mu);
        ++pending->unauthenticated;
      }
      finish_one(i, Ack::Item{ClaimedId(message), "rejected", e.code, e.message.substr(0, 1000)});
    }
    for (size_t i : authentic) {
      const SignedMessage& message = (*batch)[i];
      std::string digest = Sha256Hex(message.bytes);
      auto envelope = OpenVerified(message, verify);
      if (!envelope) {
        // Signed by the counterpart's key, so the refusal is theirs to account for: audited.
        // Nothing of it is known to be true (not even its stream), so it consumes nothing;
        // "too_old" and "too_new" are retried by the sender. A sender that gives up on it
        // sends a skip notice for its stream and number instead, which consumes the number.
        std::string claimed = ClaimedId(message);
        Reject(envelope.error(), message.key_id, claimed, digest);
        finish_one(i, Ack::Item{claimed, "rejected", envelope.error().code,
                                envelope.error().message.substr(0, 1000)});
        continue;
      }
      std::optional<Error> refusal;
      if (envelope->type == MessageType::kAck) {
        refusal = InvalidArgument("unexpected_ack", "an ack is an answer, not a message");
      } else if (Status valid = ValidatePayload(envelope->type, envelope->payload); !valid) {
        refusal = valid.error();
      }
      // The idempotency fingerprint is the message's content, not its signed bytes: every
      // attempt is signed anew (with its own sent_at), and a resend after a lost
      // acknowledgement must get the first answer.
      std::string fingerprint =
          Sha256Hex(fmt::format("{}\n{}\n{}", envelope->id, MessageTypeName(envelope->type),
                                ToJsonText(json::value(envelope->payload))));
      auto apply = std::make_shared<ApplyPeerMessage>(
          ApplyPeerMessage{envelope->id, std::string(MessageTypeName(envelope->type)),
                           envelope->stream, envelope->seq, envelope->sent_at,
                           std::move(envelope->payload), message.key_id, digest, "", ""});
      if (refusal) {
        // Refused for good: the engine consumes its number on its stream (so the messages after
        // it are not held back as a gap forever) and records the refusal.
        apply->refused_code = refusal->code;
        apply->refused_message = refusal->message.substr(0, 1000);
      }
      SubmitApply(apply, fingerprint, i, finish_one);
    }
  }

  // Submits a message to the engine and acknowledges its outcome. An effect the engine fails
  // with a final error (not one a retry can overcome) is submitted again as refused, so that
  // its number is consumed and the sender's giving up on it cannot block its stream.
  template <typename Finish>
  void SubmitApply(std::shared_ptr<ApplyPeerMessage> apply, const std::string& fingerprint,
                   size_t i, Finish finish_one) {
    auto self = shared_from_this();
    std::string id = apply->id;
    std::string key_id = apply->key_id;
    // A skip notice has the id of the message it replaces (the same stream and seq), which the
    // counterpart may have sent before and had refused for good here (its idempotency record
    // then exists with another fingerprint): the notice has its own idempotency key.
    std::string key = apply->type == MessageTypeName(MessageType::kSkipNotice) ? "skip:" + id : id;
    Command command{counterpart_actor, key, fingerprint, ApplyPeerMessage(*apply)};
    engine.Submit(std::move(command), [self, finish_one, i, id, key_id, apply,
                                       fingerprint](Result<CommandResult> r) {
      if (!r) {
        if (r.error().code == "idempotency_key_reused") {
          // Another message with a stream and seq (so an id) already used: refused, and
          // audited once per content (not per signed copy: every resend is signed anew).
          self->Reject(r.error(), key_id, id, fingerprint);
          finish_one(i,
                     Ack::Item{id, "rejected", r.error().code, r.error().message.substr(0, 1000)});
          return;
        }
        if (apply->refused_code.empty() && !Retryable(r.error().code)) {
          apply->refused_code = r.error().code;
          apply->refused_message = r.error().message.substr(0, 1000);
          self->SubmitApply(apply, fingerprint, i, finish_one);
          return;
        }
        self->CountRejection(r.error().code);
        finish_one(i, Ack::Item{id, "rejected", r.error().code, r.error().message.substr(0, 1000)});
        return;
      }
      if (r->replayed) {
        // The same message again (its stream and seq, so its id, and its content: the engine
        // compared the fingerprint): a resend after a lost acknowledgement, or a captured copy
        // replayed. It is answered as a duplicate and changes nothing, so nothing is recorded
        // either: every resend is signed anew (another digest), and an audit record per resend
        // would grow the trail with every lost acknowledgement. It is counted (`replay` and
        // duplicates) and in the batch's log line.
        self->duplicates.fetch_add(1);
        self->CountRejection("replay");
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

  // One line per batch with refusals: how many of each outcome and the first refused id, all
  // outside text quoted (LogQuoted). Batches with unsigned messages, which anyone can send,
  // are logged at most once per 10 s.
  void LogBatch(const std::string& source, const std::vector<Ack::Item>& items,
                size_t unauthenticated) {
    std::map<std::string, size_t> refused;
    size_t applied_now = 0, duplicates_now = 0;
    const Ack::Item* first = nullptr;
    for (const Ack::Item& item : items) {
      if (item.status == "rejected") {
        ++refused[item.code];
        if (first == nullptr) first = &item;
      } else if (item.status == "duplicate") {
        ++duplicates_now;
      } else {
        ++applied_now;
      }
    }
    if (first == nullptr && duplicates_now == 0) return;
    std::string codes;
    for (const auto& [code, n] : refused) {
      codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", code, n);
    }
    std::string line = fmt::format(
        "link: batch of {} from {} ({}): {} applied, {} duplicates, {} refused{}{}", items.size(),
        counterpart_id, LogQuoted(source, 64), applied_now, duplicates_now,
        items.size() - applied_now - duplicates_now, codes.empty() ? "" : " (" + codes + ")",
        first == nullptr ? ""
                         : fmt::format("; first refused: {} {}: {}", LogQuoted(first->id, 256),
                                       first->code, LogQuoted(first->message, 300)));
    if (unauthenticated == 0) {
      spdlog::warn("{}", line);
      return;
    }
    uint64_t suppressed = 0;
    if (unauthenticated_log.Allow(suppressed)) {
      spdlog::warn("{}; {} unsigned or unknown-key messages ({} similar lines suppressed)", line,
                   unauthenticated, suppressed);
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

  // A refusal before anything was authenticated: counted (rejected and unauthenticated).
  void CountUnauthenticated(const std::string& code, uint64_t n) {
    std::lock_guard lock(state_mu);
    rejected_by_code[code] += n;
    unauthenticated_by_code[code] += n;
  }

  // Records the refusal of an authentic message (signed by a pinned key) in the audit trail
  // (asynchronously; the refusal stands anyway). Logged by LogBatch. `once_per` is what makes
  // two refusals the same (the signed bytes' digest unless given).
  void Reject(const Error& e, const std::string& key_id, const std::string& message_id,
              const std::string& digest, const std::string& once_per = {}) {
    BF_ASSERT(!Unauthenticated(e.code), "only authentic messages' refusals are audited");
    CountRejection(e.code);
    // Keyed by the refusal and the message's digest (or `once_per`), so the same signed bytes
    // sent again (a retry, or someone on the path replaying a captured message) are recorded
    // once, not once per copy: counted every time, audited once.
    std::string key = fmt::format("peer-refusal:{}:{}", e.code.substr(0, 40),
                                  once_per.empty() ? digest : once_per);
    RecordPeerRejection body{e.code, e.message, key_id, message_id, digest};
    Command command{Actor::System(), key, key, std::move(body)};
    engine.Submit(std::move(command), [](Result<CommandResult> r) {
      if (!r) {
        spdlog::error("link: could not record a refusal: {}", LogQuoted(r.error().ToString(), 600));
      }
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
    // Refusal messages were cut to 1,000 bytes, possibly inside a UTF-8 sequence: JSON text
    // must be UTF-8, or the sender cannot read the acknowledgement.
    for (Ack::Item& item : items) {
      if (!IsValidUtf8(item.message)) item.message = ValidUtf8(item.message);
    }
    // An acknowledgement larger than an envelope may be is refused by the sender, which would
    // then send the same batch again for ever (512 refusals with long messages could make one):
    // shorten the messages, then leave out the last items, which the sender sends again since
    // they are not acknowledged.
    for (int pass = 0;; ++pass) {
      e.payload = Encode(Ack{items});
      SignedMessage ack = Sign(e, keys.SigningKey(e.sent_at));
      if (ack.bytes.size() <= kMaxEnvelopeBytes || items.size() <= 1) {
        return JsonResponse(200, EncodeSigned(ack));
      }
      if (pass == 0) {
        for (Ack::Item& item : items) {
          if (item.message.size() > kShortRefusalBytes) {
            item.message = ValidUtf8(std::string_view(item.message).substr(0, kShortRefusalBytes));
          }
        }
      } else {
        items.resize(items.size() / 2);
      }
    }
  }
  static constexpr size_t kShortRefusalBytes = 120;

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
    out +=
        "# HELP borderflow_link_unauthenticated_total received messages and batches refused "
        "before any signature verified (not audited), by reason\n"
        "# TYPE borderflow_link_unauthenticated_total counter\n";
    for (const auto& [code, n] : unauthenticated_by_code) {
      out += fmt::format("borderflow_link_unauthenticated_total{{code=\"{}\"}} {}\n", code, n);
    }
    counter("borderflow_link_rate_limited_total",
            "requests to the peer listener refused by its rate limit (429)", rate_limited.load());
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
  router.Add("POST", "/peer/v1/messages",
             [weak, problem = impl_->options.problem](HttpRequest& request, Respond respond) {
               auto impl = weak.lock();
               if (!impl) {
                 respond(problem(Unavailable("stopping", "the node is stopping"), request.path));
                 return;
               }
               impl->Receive(request, std::move(respond));
             });
}

std::optional<net::HttpResponse> PeerLink::Admit(const net::HttpRequest& header) {
  return impl_->Admit(header);
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
