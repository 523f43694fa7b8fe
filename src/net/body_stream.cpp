// BodyStream: the hand-off between a streaming handler (any thread) and the connection
// coroutine that writes the chunks. Free of Asio; the server's waker posts to its strand.

#include <borderflow/net/http.h>

namespace borderflow::net {

bool BodyStream::Push(std::string chunk) {
  std::lock_guard lock(mu_);
  if (closed_ || finished_) return false;
  if (queued_.size() + chunk.size() > max_buffered_) {
    // The client reads slower than events arrive: give up on this connection rather than
    // buffer without bound; the client reconnects and catches up from its last event id.
    closed_ = true;
    queued_.clear();
    if (wake_) wake_();
    return false;
  }
  queued_ += chunk;
  if (wake_) wake_();
  return true;
}

void BodyStream::Finish() {
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (wake_) wake_();
}

bool BodyStream::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

BodyStream::Taken BodyStream::Take() {
  std::lock_guard lock(mu_);
  Taken taken;
  taken.data.swap(queued_);
  taken.done = finished_ || closed_;
  return taken;
}

bool BodyStream::Pending() const {
  std::lock_guard lock(mu_);
  return !queued_.empty() || finished_ || closed_;
}

void BodyStream::SetWaker(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  if (!closed_) wake_ = std::move(wake);
}

void BodyStream::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  queued_.clear();
  wake_ = nullptr;
}

}  // namespace borderflow::net
