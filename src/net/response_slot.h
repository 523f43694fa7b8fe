#pragma once

// Internal to src/net: the one-shot rendezvous between a handler's Respond callback (any thread)
// and the connection coroutine waiting for it. Free of Asio so it can be unit-reasoned alone;
// the Asio completion handler is type-erased behind Waiter.

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <borderflow/net/http.h>

namespace borderflow::net::internal {

// How a request ended from the connection's point of view.
struct SlotOutcome {
  enum class Kind {
    kResponse,   // the handler called Respond (or the server built a response)
    kAbandoned,  // every copy of Respond was destroyed without being called
    kCancelled,  // the server is shutting down the connection
  };
  Kind kind = Kind::kResponse;
  HttpResponse response;
};

// Receives the outcome once. Deliver() must not run the waiting coroutine inline: it posts to
// the coroutine's executor. Implementations are move-only (they own an Asio handler).
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void Deliver(SlotOutcome outcome) = 0;
};

// Thread-safe. Complete() may be called from any thread, any number of times: the first call
// wins and later calls are ignored. Wait() is called at most once, by the connection.
class ResponseSlot {
 public:
  // Returns true when this call completed the slot. Delivery happens under the lock (Deliver
  // only posts), so once a competing Complete() returns false, the winner's post is done: the
  // server relies on this to know that no thread still touches its io_context.
  bool Complete(SlotOutcome outcome) {
    std::lock_guard lock(mu_);
    if (completed_) return false;
    completed_ = true;
    if (waiter_) {
      std::unique_ptr<Waiter> waiter = std::move(waiter_);
      waiter->Deliver(std::move(outcome));
    } else {
      outcome_ = std::move(outcome);
    }
    return true;
  }

  // Takes the outcome if the slot completed before anyone waited (synchronous handlers).
  std::optional<SlotOutcome> TryTake() {
    std::lock_guard lock(mu_);
    std::optional<SlotOutcome> out = std::move(outcome_);
    outcome_.reset();
    return out;
  }

  // Registers the waiter, or delivers at once if the outcome is already there.
  void Wait(std::unique_ptr<Waiter> waiter) {
    std::lock_guard lock(mu_);
    if (!outcome_) {
      waiter_ = std::move(waiter);
      return;
    }
    SlotOutcome ready = std::move(*outcome_);
    outcome_.reset();
    waiter->Deliver(std::move(ready));
  }

 private:
  std::mutex mu_;
  bool completed_ = false;
  std::optional<SlotOutcome> outcome_;
  std::unique_ptr<Waiter> waiter_;
};

// Owned (through a shared_ptr) only by copies of the Respond callback: when the last copy dies
// without a response, the slot is completed as abandoned so the connection never hangs.
class RespondGuard {
 public:
  explicit RespondGuard(std::shared_ptr<ResponseSlot> slot) : slot_(std::move(slot)) {}
  ~RespondGuard() { slot_->Complete(SlotOutcome{SlotOutcome::Kind::kAbandoned, {}}); }
  RespondGuard(const RespondGuard&) = delete;
  RespondGuard& operator=(const RespondGuard&) = delete;

  void Respond(HttpResponse response) {
    slot_->Complete(SlotOutcome{SlotOutcome::Kind::kResponse, std::move(response)});
  }

 private:
  std::shared_ptr<ResponseSlot> slot_;
};

}  // namespace borderflow::net::internal
