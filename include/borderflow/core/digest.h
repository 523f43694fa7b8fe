#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace borderflow {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// SHA-256 over several pieces without joining them first (the audit chain hashes every record
// on every command). Same result as Sha256Hex of the concatenation.
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
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace borderflow
