#pragma once

// Signed envelopes of the cross-border link (issue 5): what one node sends the other.
//
// An envelope is compact JSON with a fixed field order
//
//   {"v":1,"from":"VN-HN","to":"CN-YY","type":"pre_arrival",
//    "id":"VN-HN/crossing:CR-01ABCDEF0123456/3","stream":"crossing:CR-01ABCDEF0123456","seq":3,
//    "sent_at":"2026-11-29T01:37:06.123Z","payload":{...}}
//
// signed with Ed25519 (detached) over "borderflow/peer/v1\n" followed by the exact bytes. The
// receiver keeps and verifies the bytes it received, never a re-encoding, and verifies the
// signature before it parses anything. A stream is an ordered sequence of messages of one
// sender (one per crossing, "capacity", ...); `seq` numbers it from 1, so that the receiver can
// apply each message once and in order.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>
#include <borderflow/link/node_key.h>

namespace borderflow {

enum class MessageType {
  kPreArrival,
  kCapacityAnnouncement,
  kInspectionResult,
  kReleaseNotice,
  kHandover,
  kReceipt,
  kCancellation,
  kAck,
  kDriverChange,
  kSkipNotice
};

// "pre_arrival", "capacity_announcement", "inspection_result", "release_notice", "handover",
// "receipt", "cancellation", "ack", "driver_change", "skip_notice".
std::string_view MessageTypeName(MessageType type);
// Error: "unknown_message_type" (kInvalidArgument).
Result<MessageType> ParseMessageType(std::string_view text);

// The domain-separation prefix of every signed byte string.
inline constexpr std::string_view kSignaturePrefix = "borderflow/peer/v1\n";
// Bounds of the envelope's fields (bytes).
inline constexpr size_t kMaxNodeIdLength = 64;   // from, to: [A-Za-z0-9:_.-]
inline constexpr size_t kMaxStreamLength = 128;  // stream: [A-Za-z0-9:_.-]
inline constexpr size_t kMaxKeyIdLength = 64;
// The largest envelope either side sends or accepts. Every message the engine can put in its
// outbox must fit, with room to spare: the largest is a pre-arrival notice of a declaration at
// every bound (kMaxLinesPerCrossing = 200 lines of 500-byte descriptions, each byte of which
// takes up to two in JSON: '"' and '\' are escaped, control characters are refused), about
// 235 KB; then a capacity announcement of 64 lane classes over 72 hours, about 113 KB; every
// other message is a few KB. 512 KiB is twice the largest (pinned by LinkLimitsTest in
// tests/integration/link_test.cpp). A message over it is never sent: the sender gives it up
// with a skip notice and an alert (src/peer/peer_link.cpp).
inline constexpr size_t kMaxEnvelopeBytes = 512 * 1024;
inline constexpr size_t kMaxEnvelopeDepth = 16;
// The largest batch (the body of a request to the peer listener): the listener's body limit,
// and the sender fills a batch up to it. It holds a dozen envelopes of the largest size.
inline constexpr size_t kMaxBatchBytes = 8 << 20;
// The most bytes a signed message with an envelope of `envelope_bytes` and a key id of at most
// kMaxKeyIdLength takes in a batch: base64 of the envelope and of the 64-byte signature, the
// key id escaped at worst (six bytes a byte), the JSON around them (BatchItemBytes at most).
constexpr size_t MaxBatchItemBytes(size_t envelope_bytes) {
  return (envelope_bytes + 2) / 3 * 4 + 88 + 6 * kMaxKeyIdLength + 48;
}
static_assert(MaxBatchItemBytes(kMaxEnvelopeBytes) + 16 <= kMaxBatchBytes,
              "a batch of one envelope of the largest size must fit the peer listener's limit");
// The most bytes a batch of at most `max_messages` signed messages with envelopes of at most
// `max_envelope_bytes` takes: EncodeBatch's {"messages":[]} (16 bytes with room) and each item
// at its largest (MaxBatchItemBytes). DecodeBatch refuses a longer body before it parses it;
// saturates at SIZE_MAX.
constexpr size_t MaxBatchBodyBytes(size_t max_messages, size_t max_envelope_bytes) {
  constexpr size_t kMax = std::numeric_limits<size_t>::max();
  if (max_envelope_bytes > kMax / 2) return kMax;
  const size_t item = MaxBatchItemBytes(max_envelope_bytes);
  if (max_messages != 0 && item > (kMax - 16) / max_messages) return kMax;
  return 16 + max_messages * item;
}

struct Envelope {
  int version = 1;
  std::string from, to;  // node ids
  MessageType type = MessageType::kAck;
  std::string id;  // MessageId(from, stream, seq)
  std::string stream;
  int64_t seq = 0;  // >= 1
  Timestamp sent_at;
  boost::json::object payload;

  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// "<from>/<stream>/<seq>"
std::string MessageId(std::string_view from, std::string_view stream, int64_t seq);
// Whether `text` is a non-empty string of [A-Za-z0-9:_.-] of at most `max_len` bytes (the
// charset of node ids, streams and crossing ids on the link).
bool IsLinkToken(std::string_view text, size_t max_len);

struct SignedMessage {
  std::string key_id;
  std::string signature;  // raw 64 bytes
  std::string bytes;      // the exact envelope bytes

  friend bool operator==(const SignedMessage&, const SignedMessage&) = default;
};

// The envelope's bytes: compact JSON, fields in the order above, sent_at in UTC with
// milliseconds. Encoding does not validate; VerifyAndOpen does on the receiving side.
std::string EncodeEnvelope(const Envelope& envelope);
// Encodes `envelope` and signs the bytes with `key`.
SignedMessage Sign(const Envelope& envelope, const NodeKey& key);
// Signs `bytes` as they are (e.g. envelope bytes kept in an outbox); Sign(e, key) is
// SignBytes(EncodeEnvelope(e), key).
SignedMessage SignBytes(std::string bytes, const NodeKey& key);

struct VerifyOptions {
  std::string expected_from;  // the counterpart's node id
  std::string expected_to;    // this node's id
  Timestamp now;
  // Messages sent more than max_skew in the future are refused ("too_new"): clocks of the two
  // nodes may differ a little, a message from far in the future is forged or broken.
  Duration max_skew = std::chrono::minutes(5);
  // Messages sent longer than max_age ago are refused ("too_old"), which bounds replays.
  Duration max_age = std::chrono::hours(24 * 7);
};

// Verifies and parses one received message, in this order:
//  1. the key: ring.Find(key_id, now): "unknown_key", "key_not_yet_valid", "key_expired"
//     (kUnauthenticated);
//  2. the size (at most kMaxEnvelopeBytes) and the signature over the bytes, before any
//     parsing: "malformed_envelope" for oversized bytes, "bad_signature" (kUnauthenticated);
//  3. the version: "unsupported_version" (kInvalidArgument) when `v` is not 1;
//  4. strict parsing: "malformed_envelope" (kInvalidArgument) naming the field in the message
//     and in Error::field ("envelope.seq"): JSON syntax, depth, unknown or missing fields,
//     types, lengths, charsets, unknown type, seq >= 1, id == MessageId(from, stream, seq);
//  5. the parties: "wrong_sender" (from != expected_from), "wrong_recipient" (to !=
//     expected_to) (kPermissionDenied);
//  6. the time: "too_new", "too_old" (kUnprocessable).
// The payload is only checked to be a JSON object; decode it with messages.h.
Result<Envelope> VerifyAndOpen(const SignedMessage& message, const PeerKeyRing& ring,
                               const VerifyOptions& options);

// Steps 1 and 2 of VerifyAndOpen alone: whether `message` was signed by a key of `ring` valid
// at `now`. Until this passes nothing of the message is the counterpart's: the receiver must
// not store or audit it (anyone who reaches the listener could otherwise fill the trail).
Status VerifySignature(const SignedMessage& message, const PeerKeyRing& ring, Timestamp now);
// Steps 3 to 6 of VerifyAndOpen, for a message whose signature VerifySignature accepted.
Result<Envelope> OpenVerified(const SignedMessage& message, const VerifyOptions& options);

// Batches, the body of the link's HTTP requests:
//   {"messages":[{"key_id":"...","signature":"<base64>","envelope":"<base64 of bytes>"}]}
std::string EncodeBatch(const std::vector<SignedMessage>& messages);
// The bytes `message` adds to EncodeBatch's output (its item and a comma): an upper bound, so
// that a sender can keep a batch within kMaxBatchBytes without encoding it first.
size_t BatchItemBytes(const SignedMessage& message);
// Decodes a batch without verifying anything but its shape. Errors: "malformed_batch"
// (kInvalidArgument, with the path, e.g. "messages[3].signature"; JSON nested deeper than the
// batch's three levels too), "too_many_messages" and "envelope_too_large" (kPayloadTooLarge).
// Before anything is parsed, the body may be at most MaxBatchBodyBytes(max_messages,
// max_envelope_bytes) bytes: kPayloadTooLarge "payload_too_large" beyond. The peer listener
// bounds it to its body limit (kMaxBatchBytes) before.
Result<std::vector<SignedMessage>> DecodeBatch(std::string_view body, size_t max_messages = 512,
                                               size_t max_envelope_bytes = kMaxEnvelopeBytes);

// One signed message as a JSON object of its own ({"key_id":...,"signature":...,"envelope":...},
// e.g. the ack in the response to a batch). Errors as DecodeBatch's.
std::string EncodeSigned(const SignedMessage& message);
Result<SignedMessage> DecodeSigned(std::string_view body,
                                   size_t max_envelope_bytes = kMaxEnvelopeBytes);

}  // namespace borderflow
