#pragma once

// The live feed (GET /api/v1/feed): server-sent events that push crossing, queue, capacity,
// plate-read, rules and link changes to signed-in clients, with the API's role and scope rules.
//
// The feed is built on the audit trail: every committed change is an audit record, and its
// sequence number is the event id. A poller thread reads new records from the store (woken at
// once by the engine's commit listener, and every `poll` anyway, so changes written by another
// server process on the same database reach this one's clients too), turns each into an event
// and pushes it to every subscriber allowed to see it. A client that reconnects sends
// `Last-Event-ID` and gets every event after it, from a ring of recent events or, further back,
// from the store; beyond `max_catch_up` records it gets `event: reset` and reloads its views.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <borderflow/engine/engine.h>
#include <borderflow/net/http.h>

namespace borderflow::api {

struct LiveFeedOptions {
  std::chrono::milliseconds poll{250};         // how often the store is read without a wake
  std::chrono::milliseconds keepalive{15000};  // ": keep-alive" comment when idle
  std::chrono::milliseconds link_check{1000};  // how often the link's state is compared
  size_t ring = 4096;                          // recent events kept for reconnecting clients
  int max_catch_up = 20000;                    // records scanned for one reconnect at most
  size_t max_subscribers = 1000;               // beyond: 503 "too_many_subscribers"
  size_t max_streams_per_user = 16;            // beyond: 429 "too_many_streams"
  std::chrono::milliseconds recheck{1000};     // how often each stream's credentials are checked
  size_t max_buffered_bytes = 4 << 20;         // per client; a slower client is cut off
};

class LiveFeed {
 public:
  // `link_status` may be empty (a node without a link). `engine` and `store` outlive the feed.
  LiveFeed(Engine& engine, Store& store, std::function<boost::json::object()> link_status,
           LiveFeedOptions options = {});
  ~LiveFeed();  // stops the poller; open streams are finished
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // New records were committed: read them now rather than at the next poll.
  void Notify();
  // Stops the poller (it reads the engine and the store) and finishes every open stream.
  // Idempotent; the destructor calls it. Call before the engine or the store goes away.
  void Stop();

  // Who a stream's credentials name now: called every `recheck` for each open stream (on the
  // poller thread, without the feed's lock). A 401 error (token revoked or expired, user
  // removed) or another role or company than at the start ends the stream; other errors (the
  // store unavailable) leave it open until the next check.
  using Recheck = std::function<Result<Actor>()>;

  // Opens a stream for `actor`. `last_event_id`: the id of the last event the client saw
  // (resume after it); none: start from now. An id beyond the last event (a restored database,
  // or an id from another node) gets `event: reset`. Errors: 403 "role_not_allowed" for roles
  // without a feed (public, sensor, counterpart), 429 "too_many_streams" beyond
  // `max_streams_per_user` for one user, 503 "too_many_subscribers".
  Result<net::HttpResponse> Subscribe(const Actor& actor, std::optional<int64_t> last_event_id,
                                      Recheck recheck = {});

  // For tests and /metrics: open subscriptions and the last sequence number read.
  size_t subscribers() const;
  int64_t head() const;
  // Audit records rendered as events so far (none while no stream is open).
  uint64_t rendered() const { return rendered_.load(); }

 private:
  // One audit record as an event, rendered once for staff and once for company-scoped users.
  struct Event {
    int64_t seq = 0;
    std::string audience_company;    // crossing events: the crossing's company
    std::string audience_driver;     // crossing events: the declared driver's document number
    bool staff_only = false;         // queue, plate reads, rules, link messages
    bool watchlist_readers = false;  // watch-list changes: MayReadWatchlists roles only
    std::string staff_text;          // the SSE frame ("id: ...\nevent: ...\ndata: ...\n\n")
    std::string company_text;        // the same without risk details ("" when staff_only)
    // For staff who may not read watch lists: the frame with the crossing's risk decision only
    // (RestrictRiskToChannel); "" when that is staff_text (no risk).
    std::string withheld_text;
  };
  struct Subscriber {
    Actor actor;
    std::shared_ptr<net::BodyStream> stream;
    int64_t cursor = 0;  // events up to this seq were sent (or skipped)
    Recheck recheck;     // empty: the credentials are not checked again
  };

  void Run();
  // Without subscribers: moves the head to the store's and empties the ring, rendering
  // nothing. False when it did not (a subscriber arrived, or the head could not be read).
  bool SkipWhileIdle();
  // Reads at most `limit` records after `after`, appends their events to `out` and returns the
  // last seq read (`after` when there was none).
  Result<int64_t> ReadEvents(int64_t after, int limit, std::vector<Event>& out);
  std::optional<Event> Render(const AuditRecord& record);
  static bool Sees(const Actor& actor, const Event& event);
  static const std::string& TextFor(const Actor& actor, const Event& event);
  void Deliver(const std::vector<Event>& events);
  void CheckLink();
  // Ends the streams whose credentials no longer hold (at most every `recheck`).
  void RecheckCredentials();

  Engine& engine_;
  Store& store_;
  const std::function<boost::json::object()> link_status_;
  const LiveFeedOptions options_;

  std::atomic<uint64_t> rendered_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool notified_ = false;
  int64_t head_ = 0;          // last audit seq read
  std::deque<Event> recent_;  // every event with seq > ring_floor_ (up to head_)
  int64_t ring_floor_ = 0;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::string link_state_;  // last link state pushed
  std::chrono::steady_clock::time_point link_checked_{};
  std::chrono::steady_clock::time_point credentials_checked_{};
  std::thread thread_;
};

}  // namespace borderflow::api
