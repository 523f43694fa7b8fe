// Fuzz target: bearer tokens (include/borderflow/auth/credentials.h), the first thing every
// authenticated request parses.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/auth/credentials.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parts = bf::ParseToken(text);
  if (!parts) {
    const bf::Error& e = parts.error();
    FUZZ_CHECK(e.kind == bf::ErrorKind::kUnauthenticated && e.code == "invalid_token",
               e.ToString());
    // The error never echoes the token (it may be a real secret with a typo): every bad token
    // gets the same message.
    static const std::string kMessage = bf::ParseToken("x").error().message;
    FUZZ_CHECK(e.message == kMessage && e.field.empty(),
               "error depends on the token: " + Escaped(e.ToString()));
    return 0;
  }
  FUZZ_CHECK(parts->id.size() == 12 && parts->secret.size() == 40, Escaped(text));
  FUZZ_CHECK("bft_" + parts->id + "." + parts->secret == text,
             "parts do not make up the token " + Escaped(text));
  bf::TokenRecord record;
  record.id = parts->id;
  record.secret_hash = bf::HashSecret(parts->secret);
  FUZZ_CHECK(record.secret_hash.size() == 64, record.secret_hash);
  auto now = bf::FromUnixMillis(1'795'000'000'000);
  FUZZ_CHECK(bf::TokenMatches(record, parts->secret, now), Escaped(text));
  FUZZ_CHECK(!bf::TokenMatches(record, parts->id, now), Escaped(text));
  record.revoked_at = now;
  FUZZ_CHECK(!bf::TokenMatches(record, parts->secret, now), Escaped(text));
  return 0;
}
