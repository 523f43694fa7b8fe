#pragma once

// A node's Ed25519 identity for the cross-border link (issue 5), the counterpart's pinned keys,
// and key rotation.
//
// Rotation with an overlap period: a node adds its new key to its KeyChain with a `not_before`
// in the future and sends the new public key to the counterpart out of band (`borderflow node
// show`). The counterpart pins the new key with that `not_before` and the old one with a
// `not_after` after it; between the two instants both keys are accepted, so messages in flight
// or retried across the switch still verify. After `not_after` the old key is refused.
//
// Everything here is pure except ReadKeyFile/WriteKeyFile (file I/O, in node_key_file.cpp) and
// GenerateNodeKey (libsodium's random generator).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>

namespace borderflow {

struct NodeKey {
  std::string key_id;  // KeyIdOf(public_key)
  std::array<uint8_t, 32> public_key{};
  // libsodium layout: the 32-byte seed followed by the public key.
  std::array<uint8_t, 64> secret_key{};
  Timestamp created_at;
};

// A fresh key pair from libsodium's random generator, with key_id filled in.
NodeKey GenerateNodeKey(Timestamp now);
// The key pair derived from a 32-byte seed (deterministic; for tests and for key files).
NodeKey NodeKeyFromSeed(std::span<const uint8_t, 32> seed, Timestamp created_at);

// "ed25519:" + lower-case hex of the first 8 bytes of SHA-256(public_key).
std::string KeyIdOf(std::span<const uint8_t, 32> public_key);

// Standard base64 (RFC 4648 section 4) with padding.
std::string Base64Encode(std::span<const uint8_t> bytes);
inline std::string Base64Encode(std::string_view bytes) {
  return Base64Encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}
// Strict decoding: standard alphabet only, padding required, no whitespace, and the unused bits
// of the last character must be zero, so that every byte string has exactly one accepted text.
// Error: "invalid_base64" (kInvalidArgument).
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

// Key file: a small TOML document (every value a double-quoted string without escapes), mode
// 0600, for example
//
//   # borderflow node key: secret, keep it readable by its owner only
//   format = "borderflow-node-key-v1"
//   key_id = "ed25519:0123456789abcdef"
//   public_key = "<base64 of 32 bytes>"
//   secret_seed = "<base64 of the 32-byte seed>"
//   created_at = "2026-11-29T01:37:06.123Z"
//
// Blank lines and lines starting with '#' are ignored; every key is required exactly once and no
// other key is allowed.
std::string EncodeKeyFile(const NodeKey& key);
// Parses a key file and re-derives the key pair from the seed. Errors (kInvalidArgument):
// "invalid_key_file" (syntax, unknown/missing/duplicate keys, bad base64 or sizes, bad time),
// "key_mismatch" (the public key is not the seed's, or key_id is not the public key's).
Result<NodeKey> DecodeKeyFile(std::string_view text);
// Reads and decodes the key file at `path`. Errors: "key_file_not_found" (kNotFound),
// "key_file_unreadable" (kInternal), "key_file_permissions" (kPermissionDenied: the file is
// readable or writable by group or others, like ssh refuses such keys), and DecodeKeyFile's.
Result<NodeKey> ReadKeyFile(const std::string& path);
// Writes `key` to `path` with mode 0600, atomically (a temporary file in the same directory,
// then linked or renamed into place). Without `overwrite`, an existing file is kept and the call
// fails with "key_file_exists" (kConflict). Other failures: "key_file_write_failed" (kInternal).
Status WriteKeyFile(const std::string& path, const NodeKey& key, bool overwrite);

// A counterpart's public key, pinned in this node's configuration.
struct PinnedKey {
  std::string key_id;
  std::array<uint8_t, 32> public_key{};
  std::optional<Timestamp> not_before;  // accepted from this instant on (inclusive)
  std::optional<Timestamp> not_after;   // accepted up to this instant (inclusive)
};

// The keys a counterpart may sign with. Not thread-safe for writes; const methods may be called
// concurrently.
class PeerKeyRing {
 public:
  // Errors (kInvalidArgument): "duplicate_key_id", "key_id_mismatch" (key_id is not
  // KeyIdOf(public_key)), "invalid_key_window" (not_after before not_before).
  Status Add(PinnedKey key);
  // The key `key_id` if it is pinned and valid at `at`. The returned pointer stays valid until
  // the ring is changed or destroyed. Errors (kUnauthenticated): "unknown_key",
  // "key_not_yet_valid", "key_expired".
  Result<const PinnedKey*> Find(std::string_view key_id, Timestamp at) const;
  size_t size() const { return keys_.size(); }
  const std::vector<PinnedKey>& keys() const { return keys_; }

 private:
  std::vector<PinnedKey> keys_;
};

// This node's own keys: the current one and, during a rotation, the next one.
class KeyChain {
 public:
  // Adds `key`, used for signing from `not_before` on (always when absent).
  void Add(NodeKey key, std::optional<Timestamp> not_before = std::nullopt);
  // The key to sign with at `now`: among the keys whose not_before <= now (or absent), the one
  // with the latest not_before (a key without not_before counts as its created_at); ties go to
  // the key added last. When no key is valid yet, the one with the earliest not_before.
  // Requires at least one key (crashes otherwise: a node without a key is a wiring bug).
  const NodeKey& SigningKey(Timestamp now) const;
  // The key with this id, or nullptr.
  const NodeKey* Find(std::string_view key_id) const;
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    NodeKey key;
    std::optional<Timestamp> not_before;
  };
  std::vector<Entry> entries_;
};

}  // namespace borderflow
