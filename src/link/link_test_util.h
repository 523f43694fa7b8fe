#pragma once

// Shared fixtures of the bf_link tests: deterministic keys and a valid envelope.

#include <array>
#include <cstdint>

#include <borderflow/core/time.h>
#include <borderflow/link/envelope.h>
#include <borderflow/link/node_key.h>

namespace borderflow::link_test {

// 2026-11-29T01:00:00Z
inline Timestamp T0() { return FromUnixMillis(1795914000000); }

inline NodeKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return NodeKeyFromSeed(seed, T0());
}

inline PinnedKey Pin(const NodeKey& key, std::optional<Timestamp> not_before = std::nullopt,
                     std::optional<Timestamp> not_after = std::nullopt) {
  return PinnedKey{key.key_id, key.public_key, not_before, not_after};
}

inline Envelope SampleEnvelope() {
  Envelope e;
  e.from = "VN-HN";
  e.to = "CN-YY";
  e.type = MessageType::kReceipt;
  e.stream = "crossing:CR-01ABCDEF0123456";
  e.seq = 3;
  e.id = MessageId(e.from, e.stream, e.seq);
  e.sent_at = T0() + std::chrono::milliseconds(123);
  e.payload["crossing_id"] = "CR-01ABCDEF0123456";
  e.payload["received_at"] = "2026-11-29T01:00:00.000Z";
  return e;
}

}  // namespace borderflow::link_test
