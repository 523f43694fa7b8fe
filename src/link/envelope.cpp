#include <algorithm>
#include <array>
#include <limits>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/link/envelope.h>

#include "sodium_init.h"

namespace borderflow {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 10> kTypeNames = {
    "pre_arrival",       "capacity_announcement",
    "inspection_result", "release_notice",
    "handover",          "receipt",
    "cancellation",      "ack",
    "driver_change",     "skip_notice"};

// The field errors of JsonObjectReader (which name the path) become "malformed_envelope".
Error Malformed(const Error& e) {
  return Error(ErrorKind::kInvalidArgument, "malformed_envelope",
               "malformed envelope: " + e.message, e.field);
}
Error Malformed(std::string message, std::string field = {}) {
  return Error(ErrorKind::kInvalidArgument, "malformed_envelope",
               "malformed envelope: " + std::move(message), std::move(field));
}

Error MalformedBatch(const Error& e) {
  return Error(ErrorKind::kInvalidArgument, "malformed_batch", "malformed batch: " + e.message,
               e.field);
}

Result<std::string> LinkToken(const JsonObjectReader& r, std::string_view key, size_t max_len) {
  auto s = r.String(key, max_len);
  if (!s) return Malformed(s.error());
  if (!IsLinkToken(*s, max_len)) {
    return Malformed(fmt::format("'{}' may hold only letters, digits and ':_.-'", r.PathOf(key)),
                     r.PathOf(key));
  }
  return s;
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string SignedInput(std::string_view bytes) {
  std::string input;
  input.reserve(kSignaturePrefix.size() + bytes.size());
  input.append(kSignaturePrefix);
  input.append(bytes);
  return input;
}

// Parses bytes whose signature is already verified.
Result<Envelope> ParseEnvelope(std::string_view bytes) {
  auto value = ParseJson(bytes, JsonLimits{kMaxEnvelopeBytes, kMaxEnvelopeDepth});
  if (!value) return Malformed(value.error());
  auto reader = JsonObjectReader::Of(*value, "envelope");
  if (!reader) return Malformed(reader.error());
  const JsonObjectReader& r = *reader;
  // The version decides what the other fields mean, so it is read before anything else.
  auto version =
      r.Int("v", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (!version) return Malformed(version.error());
  if (*version != 1) {
    return Error(ErrorKind::kInvalidArgument, "unsupported_version",
                 fmt::format("envelope version {} is not supported (this node speaks 1)", *version),
                 "envelope.v");
  }
  if (auto known =
          r.RejectUnknown({"v", "from", "to", "type", "id", "stream", "seq", "sent_at", "payload"});
      !known) {
    return Malformed(known.error());
  }
  Envelope e;
  e.version = 1;
  BF_ASSIGN_OR_RETURN(e.from, LinkToken(r, "from", kMaxNodeIdLength));
  BF_ASSIGN_OR_RETURN(e.to, LinkToken(r, "to", kMaxNodeIdLength));
  auto type_name = r.String("type", 32);
  if (!type_name) return Malformed(type_name.error());
  auto type = ParseMessageType(*type_name);
  if (!type) return Malformed("'envelope.type': " + type.error().message, "envelope.type");
  e.type = *type;
  BF_ASSIGN_OR_RETURN(e.stream, LinkToken(r, "stream", kMaxStreamLength));
  auto seq = r.Int("seq", 1, std::numeric_limits<int64_t>::max());
  if (!seq) return Malformed(seq.error());
  e.seq = *seq;
  auto id = r.String("id", kMaxNodeIdLength + kMaxStreamLength + 22);
  if (!id) return Malformed(id.error());
  e.id = std::move(*id);
  if (e.id != MessageId(e.from, e.stream, e.seq)) {
    return Malformed("'envelope.id' must be from/stream/seq", "envelope.id");
  }
  auto sent_at_text = r.String("sent_at", 40);
  if (!sent_at_text) return Malformed(sent_at_text.error());
  auto sent_at = ParseTimestamp(*sent_at_text);
  if (!sent_at) {
    return Malformed("'envelope.sent_at' must be an RFC 3339 timestamp: " + sent_at.error().message,
                     "envelope.sent_at");
  }
  e.sent_at = *sent_at;
  auto payload = r.Object("payload");
  if (!payload) return Malformed(payload.error());
  // Only the canonical text of a document is accepted (what EncodeEnvelope writes: compact,
  // fields in order, no duplicate keys). JSON parsers disagree on duplicate keys; refusing
  // them means every reader of the stored bytes sees the same message.
  if (ToJsonText(*value) != bytes) {
    return Malformed(
        "the envelope is not in canonical form (compact JSON, fields in order, no duplicate "
        "keys)");
  }
  e.payload = payload->object();
  return e;
}

json::object SignedToJson(const SignedMessage& m) {
  json::object o;
  o["key_id"] = m.key_id;
  o["signature"] = Base64Encode(m.signature);
  o["envelope"] = Base64Encode(m.bytes);
  return o;
}

Result<SignedMessage> SignedFromJson(const json::value& v, std::string path,
                                     size_t max_envelope_bytes) {
  auto reader = JsonObjectReader::Of(v, std::move(path));
  if (!reader) return MalformedBatch(reader.error());
  const JsonObjectReader& r = *reader;
  if (auto known = r.RejectUnknown({"key_id", "signature", "envelope"}); !known) {
    return MalformedBatch(known.error());
  }
  SignedMessage m;
  auto key_id = r.String("key_id", kMaxKeyIdLength);
  if (!key_id) return MalformedBatch(key_id.error());
  m.key_id = std::move(*key_id);
  auto signature_text = r.String("signature", 128);
  if (!signature_text) return MalformedBatch(signature_text.error());
  auto signature = Base64Decode(*signature_text);
  if (!signature || signature->size() != crypto_sign_BYTES) {
    return MalformedBatch(InvalidArgument(
        "", fmt::format("'{}' must be the base64 of 64 bytes", r.PathOf("signature")),
        r.PathOf("signature")));
  }
  m.signature = std::string(AsText(*signature));
  const size_t max_text = (max_envelope_bytes + 2) / 3 * 4;
  auto envelope_text = r.String("envelope", std::numeric_limits<size_t>::max());
  if (!envelope_text) return MalformedBatch(envelope_text.error());
  if (envelope_text->size() > max_text) {
    return Error(
        ErrorKind::kPayloadTooLarge, "envelope_too_large",
        fmt::format("'{}' is larger than {} bytes", r.PathOf("envelope"), max_envelope_bytes),
        r.PathOf("envelope"));
  }
  auto bytes = Base64Decode(*envelope_text);
  if (!bytes) {
    return MalformedBatch(InvalidArgument(
        "", fmt::format("'{}' must be base64", r.PathOf("envelope")), r.PathOf("envelope")));
  }
  if (bytes->size() > max_envelope_bytes) {
    return Error(
        ErrorKind::kPayloadTooLarge, "envelope_too_large",
        fmt::format("'{}' is larger than {} bytes", r.PathOf("envelope"), max_envelope_bytes),
        r.PathOf("envelope"));
  }
  m.bytes = std::string(AsText(*bytes));
  return m;
}

// The nesting of a batch: objects of signed messages inside an array inside the root object
// (3); one more so that a value nested in an item is refused naming its field, anything deeper
// by the parser ("json_too_deep", as "malformed_batch").
constexpr size_t kMaxWireDepth = 4;

Result<json::value> ParseWire(std::string_view body, size_t max_bytes) {
  auto value = ParseJson(body, JsonLimits{max_bytes, kMaxWireDepth});
  if (!value) {
    if (value.error().kind == ErrorKind::kPayloadTooLarge) return value.error();
    return MalformedBatch(value.error());
  }
  return value;
}

}  // namespace

std::string_view MessageTypeName(MessageType type) { return kTypeNames[static_cast<size_t>(type)]; }

Result<MessageType> ParseMessageType(std::string_view text) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == text) return static_cast<MessageType>(i);
  }
  std::string list;
  for (std::string_view name : kTypeNames) list += (list.empty() ? "" : ", ") + std::string(name);
  return InvalidArgument("unknown_message_type",
                         fmt::format("the message type must be one of: {}", list));
}

std::string MessageId(std::string_view from, std::string_view stream, int64_t seq) {
  return fmt::format("{}/{}/{}", from, stream, seq);
}

bool IsLinkToken(std::string_view text, size_t max_len) {
  if (text.empty() || text.size() > max_len) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '.' || c == '-';
  });
}

std::string EncodeEnvelope(const Envelope& e) {
  json::object o;
  o["v"] = e.version;
  o["from"] = e.from;
  o["to"] = e.to;
  o["type"] = MessageTypeName(e.type);
  o["id"] = e.id;
  o["stream"] = e.stream;
  o["seq"] = e.seq;
  o["sent_at"] = FormatUtc(e.sent_at);
  o["payload"] = e.payload;
  return ToJsonText(o);
}

SignedMessage Sign(const Envelope& envelope, const NodeKey& key) {
  return SignBytes(EncodeEnvelope(envelope), key);
}

SignedMessage SignBytes(std::string bytes, const NodeKey& key) {
  link_internal::EnsureSodium();
  SignedMessage m;
  m.key_id = key.key_id;
  m.bytes = std::move(bytes);
  std::string input = SignedInput(m.bytes);
  std::array<uint8_t, crypto_sign_BYTES> signature;
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const uint8_t*>(input.data()),
                       input.size(), key.secret_key.data());
  m.signature = std::string(AsText(signature));
  return m;
}

Status VerifySignature(const SignedMessage& message, const PeerKeyRing& ring, Timestamp now) {
  link_internal::EnsureSodium();
  BF_ASSIGN_OR_RETURN(const PinnedKey* key, ring.Find(message.key_id, now));
  if (message.bytes.size() > kMaxEnvelopeBytes) {
    return Malformed(fmt::format("the envelope is larger than {} bytes", kMaxEnvelopeBytes));
  }
  std::string input = SignedInput(message.bytes);
  if (message.signature.size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(reinterpret_cast<const uint8_t*>(message.signature.data()),
                                  reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  key->public_key.data()) != 0) {
    return Error(ErrorKind::kUnauthenticated, "bad_signature",
                 fmt::format("the signature does not verify with key '{}'", key->key_id));
  }
  return {};
}

Result<Envelope> VerifyAndOpen(const SignedMessage& message, const PeerKeyRing& ring,
                               const VerifyOptions& options) {
  BF_TRY(VerifySignature(message, ring, options.now));
  return OpenVerified(message, options);
}

Result<Envelope> OpenVerified(const SignedMessage& message, const VerifyOptions& options) {
  BF_ASSIGN_OR_RETURN(Envelope e, ParseEnvelope(message.bytes));
  if (e.from != options.expected_from) {
    return Error(ErrorKind::kPermissionDenied, "wrong_sender",
                 fmt::format("the message is from '{}', not from the counterpart '{}'", e.from,
                             options.expected_from),
                 "envelope.from");
  }
  if (e.to != options.expected_to) {
    return Error(
        ErrorKind::kPermissionDenied, "wrong_recipient",
        fmt::format("the message is for '{}', not for this node '{}'", e.to, options.expected_to),
        "envelope.to");
  }
  if (e.sent_at > options.now + options.max_skew) {
    return Error(
        ErrorKind::kUnprocessable, "too_new",
        fmt::format("the message was sent at {}, more than {} s after now ({})",
                    FormatUtc(e.sent_at), options.max_skew.count() / 1000, FormatUtc(options.now)),
        "envelope.sent_at");
  }
  if (e.sent_at < options.now - options.max_age) {
    return Error(
        ErrorKind::kUnprocessable, "too_old",
        fmt::format("the message was sent at {}, more than {} s before now ({})",
                    FormatUtc(e.sent_at), options.max_age.count() / 1000, FormatUtc(options.now)),
        "envelope.sent_at");
  }
  return e;
}

std::string EncodeBatch(const std::vector<SignedMessage>& messages) {
  json::array items;
  items.reserve(messages.size());
  for (const SignedMessage& m : messages) items.push_back(SignedToJson(m));
  json::object o;
  o["messages"] = std::move(items);
  return ToJsonText(o);
}

size_t BatchItemBytes(const SignedMessage& message) {
  // {"key_id":"...","signature":"...","envelope":"..."}, with a key id escaped at worst
  // (\u00XX: six bytes a byte), and the comma before it.
  constexpr size_t kFraming = 48;
  return kFraming + 6 * message.key_id.size() + (message.signature.size() + 2) / 3 * 4 +
         (message.bytes.size() + 2) / 3 * 4;
}

Result<std::vector<SignedMessage>> DecodeBatch(std::string_view body, size_t max_messages,
                                               size_t max_envelope_bytes) {
  BF_ASSIGN_OR_RETURN(json::value value,
                      ParseWire(body, MaxBatchBodyBytes(max_messages, max_envelope_bytes)));
  auto reader = JsonObjectReader::Of(value, "");
  if (!reader) return MalformedBatch(reader.error());
  if (auto known = reader->RejectUnknown({"messages"}); !known) {
    return MalformedBatch(known.error());
  }
  auto items = reader->Array("messages", 0, std::numeric_limits<size_t>::max());
  if (!items) return MalformedBatch(items.error());
  if ((*items)->size() > max_messages) {
    return Error(
        ErrorKind::kPayloadTooLarge, "too_many_messages",
        fmt::format("the batch holds {} messages, more than {}", (*items)->size(), max_messages),
        "messages");
  }
  std::vector<SignedMessage> out;
  out.reserve((*items)->size());
  for (size_t i = 0; i < (*items)->size(); ++i) {
    BF_ASSIGN_OR_RETURN(
        SignedMessage m,
        SignedFromJson((**items)[i], fmt::format("messages[{}]", i), max_envelope_bytes));
    out.push_back(std::move(m));
  }
  return out;
}

std::string EncodeSigned(const SignedMessage& message) { return ToJsonText(SignedToJson(message)); }

Result<SignedMessage> DecodeSigned(std::string_view body, size_t max_envelope_bytes) {
  // One item of a batch, without the comma.
  const size_t max_bytes = MaxBatchBodyBytes(1, max_envelope_bytes) - 16;
  BF_ASSIGN_OR_RETURN(json::value value, ParseWire(body, max_bytes));
  return SignedFromJson(value, "", max_envelope_bytes);
}

}  // namespace borderflow
