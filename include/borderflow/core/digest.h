#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace borderflow {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// SHA-256 over several pieces without joining them first (the audit chain hashes every record
// on every command). Same result as Sha256Hex of the concatenation. Small pieces are gathered
// in a buffer before they reach OpenSSL, and the OpenSSL context is reused from one stream to
// the next on the same thread: an audit record is a few dozen short pieces, and setting up a
// context cost more than hashing them.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  Sha256Stream& Update(std::string_view bytes);
  // Lower-case hex of the digest; the stream is then spent.
  std::string HexDigest();

 private:
  void Flush();

  struct Ctx;
  static thread_local std::unique_ptr<Ctx> spare_ctx_;  // one per thread, for the next stream
  std::unique_ptr<Ctx> ctx_;
  size_t buffered_ = 0;
  char buffer_[256];
};

}  // namespace borderflow
