#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/digest.h>
#include <borderflow/link/node_key.h>

#include "sodium_init.h"

namespace borderflow {

namespace {

using link_internal::EnsureSodium;

constexpr std::string_view kKeyFileFormat = "borderflow-node-key-v1";

Error BadKeyFile(std::string message) {
  return InvalidArgument("invalid_key_file", std::move(message));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

template <size_t N>
Result<std::array<uint8_t, N>> DecodeFixed(std::string_view text, std::string_view what) {
  auto bytes = Base64Decode(text);
  if (!bytes) return BadKeyFile(fmt::format("{} is not valid base64", what));
  if (bytes->size() != N) {
    return BadKeyFile(fmt::format("{} must be {} bytes, not {}", what, N, bytes->size()));
  }
  std::array<uint8_t, N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace

NodeKey NodeKeyFromSeed(std::span<const uint8_t, 32> seed, Timestamp created_at) {
  EnsureSodium();
  NodeKey key;
  crypto_sign_seed_keypair(key.public_key.data(), key.secret_key.data(), seed.data());
  key.key_id = KeyIdOf(key.public_key);
  key.created_at = created_at;
  return key;
}

NodeKey GenerateNodeKey(Timestamp now) {
  EnsureSodium();
  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  NodeKey key = NodeKeyFromSeed(seed, now);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

std::string KeyIdOf(std::span<const uint8_t, 32> public_key) {
  std::string hex = Sha256Hex(
      std::string_view(reinterpret_cast<const char*>(public_key.data()), public_key.size()));
  return "ed25519:" + hex.substr(0, 16);
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return std::string();
  const size_t size = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(size, '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(size - 1);  // the encoded length counts the terminating NUL
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  auto bad = [] {
    return InvalidArgument("invalid_base64", "not valid base64 (standard alphabet, padded)");
  };
  if (text.size() % 4 != 0) return bad();
  // libsodium's pointers are declared non-null, and a vector of no bytes has none.
  if (text.empty()) return std::vector<uint8_t>();
  std::vector<uint8_t> out(text.size() / 4 * 3);
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), /*ignore=*/nullptr,
                        &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return bad();
  }
  out.resize(length);
  // libsodium already refuses non-zero padding bits; the round trip makes the one-text-per-value
  // property independent of that detail.
  if (Base64Encode(out) != text) return bad();
  return out;
}

std::string EncodeKeyFile(const NodeKey& key) {
  std::span<const uint8_t> seed(key.secret_key.data(), 32);
  return fmt::format(
      "# borderflow node key: secret, keep it readable by its owner only (mode 0600).\n"
      "# Give the counterpart only the public key: borderflow node show --key FILE\n"
      "format = \"{}\"\n"
      "key_id = \"{}\"\n"
      "public_key = \"{}\"\n"
      "secret_seed = \"{}\"\n"
      "created_at = \"{}\"\n",
      kKeyFileFormat, key.key_id, Base64Encode(key.public_key), Base64Encode(seed),
      FormatUtc(key.created_at));
}

Result<NodeKey> DecodeKeyFile(std::string_view text) {
  if (text.size() > 16 * 1024) return BadKeyFile("the key file is larger than 16 KiB");
  constexpr std::string_view kKeys[] = {"format", "key_id", "public_key", "secret_seed",
                                        "created_at"};
  std::optional<std::string> values[std::size(kKeys)];
  int line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = Trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return BadKeyFile(fmt::format("line {}: expected key = \"value\"", line_number));
    }
    std::string_view name = Trim(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 1));
    if (value.size() < 2 || value.front() != '"' || value.back() != '"' ||
        value.substr(1, value.size() - 2).find_first_of("\"\\") != std::string_view::npos) {
      return BadKeyFile(
          fmt::format("line {}: the value must be a double-quoted string", line_number));
    }
    value = value.substr(1, value.size() - 2);
    auto it = std::find(std::begin(kKeys), std::end(kKeys), name);
    if (it == std::end(kKeys)) {
      // Names only a short, printable prefix: the file holds a secret.
      std::string shown;
      for (char c : name.substr(0, 32)) shown += (c >= 0x20 && c < 0x7F) ? c : '?';
      return BadKeyFile(fmt::format("line {}: unknown key '{}'", line_number, shown));
    }
    auto& slot = values[it - std::begin(kKeys)];
    if (slot) return BadKeyFile(fmt::format("line {}: '{}' is given twice", line_number, *it));
    slot = std::string(value);
  }
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    if (!values[i]) return BadKeyFile(fmt::format("'{}' is missing", kKeys[i]));
  }
  if (*values[0] != kKeyFileFormat) {
    return BadKeyFile(fmt::format("unknown format (expected \"{}\")", kKeyFileFormat));
  }
  BF_ASSIGN_OR_RETURN(auto public_key, DecodeFixed<32>(*values[2], "public_key"));
  BF_ASSIGN_OR_RETURN(auto seed, DecodeFixed<32>(*values[3], "secret_seed"));
  auto created_at = ParseTimestamp(*values[4]);
  if (!created_at) return BadKeyFile("created_at is not an RFC 3339 timestamp");
  NodeKey key = NodeKeyFromSeed(seed, *created_at);
  sodium_memzero(seed.data(), seed.size());
  if (key.public_key != public_key) {
    return InvalidArgument("key_mismatch", "public_key is not the public key of secret_seed");
  }
  if (*values[1] != key.key_id) {
    return InvalidArgument("key_mismatch",
                           fmt::format("key_id is not the id of the public key ({})", key.key_id));
  }
  return key;
}

Status PeerKeyRing::Add(PinnedKey key) {
  if (KeyIdOf(key.public_key) != key.key_id) {
    return InvalidArgument("key_id_mismatch",
                           fmt::format("key id '{}' is not the id of its public key ({})",
                                       key.key_id, KeyIdOf(key.public_key)));
  }
  if (key.not_before && key.not_after && *key.not_after < *key.not_before) {
    return InvalidArgument("invalid_key_window",
                           fmt::format("key '{}' has not_after before not_before", key.key_id));
  }
  for (const PinnedKey& k : keys_) {
    if (k.key_id == key.key_id) {
      return InvalidArgument("duplicate_key_id",
                             fmt::format("key '{}' is pinned twice", key.key_id));
    }
  }
  keys_.push_back(std::move(key));
  return {};
}

Result<const PinnedKey*> PeerKeyRing::Find(std::string_view key_id, Timestamp at) const {
  for (const PinnedKey& k : keys_) {
    if (k.key_id != key_id) continue;
    if (k.not_before && at < *k.not_before) {
      return Error(
          ErrorKind::kUnauthenticated, "key_not_yet_valid",
          fmt::format("key '{}' is valid only from {}", k.key_id, FormatUtc(*k.not_before)));
    }
    if (k.not_after && at > *k.not_after) {
      return Error(ErrorKind::kUnauthenticated, "key_expired",
                   fmt::format("key '{}' expired at {}", k.key_id, FormatUtc(*k.not_after)));
    }
    return &k;
  }
  // The id comes from the network: name it only when it is a plausible key id.
  bool printable = key_id.size() <= 64 && std::all_of(key_id.begin(), key_id.end(), [](char c) {
                     return c > 0x20 && c < 0x7F && c != '\'';
                   });
  return Error(ErrorKind::kUnauthenticated, "unknown_key",
               printable ? fmt::format("key '{}' is not pinned for the counterpart", key_id)
                         : std::string("the key is not pinned for the counterpart"));
}

void KeyChain::Add(NodeKey key, std::optional<Timestamp> not_before) {
  entries_.push_back(Entry{std::move(key), not_before});
}

const NodeKey& KeyChain::SigningKey(Timestamp now) const {
  BF_ASSERT(!entries_.empty(), "a node signs only with a key chain that holds a key");
  const Entry* best = nullptr;
  auto start = [](const Entry& e) { return e.not_before.value_or(e.key.created_at); };
  for (const Entry& e : entries_) {
    if (e.not_before && *e.not_before > now) continue;
    if (best == nullptr || start(e) >= start(*best)) best = &e;
  }
  if (best != nullptr) return best->key;
  // No key is valid yet (a misconfigured rotation): the one that becomes valid first.
  for (const Entry& e : entries_) {
    if (best == nullptr || *e.not_before < *best->not_before) best = &e;
  }
  return best->key;
}

const NodeKey* KeyChain::Find(std::string_view key_id) const {
  for (const Entry& e : entries_) {
    if (e.key.key_id == key_id) return &e.key;
  }
  return nullptr;
}

}  // namespace borderflow
