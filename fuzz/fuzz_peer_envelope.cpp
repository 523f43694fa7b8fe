// Fuzz target: what the cross-border link receives from the counterpart (include/borderflow/link/).
// The input is tried as
//  1. a batch body (DecodeBatch), each message verified against a fixed key ring;
//  2. envelope bytes signed with the ring's key, so that VerifyAndOpen's parser is reached (a
//     fuzzer cannot forge signatures);
//  3. a payload object for every decoder of messages.h.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/json.h>
#include <borderflow/link/envelope.h>
#include <borderflow/link/messages.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

namespace {

// 2026-11-29T01:00:00Z: the seed corpus' envelopes are sent around then.
const bf::Timestamp kNow = bf::FromUnixMillis(1795914000000);

const bf::NodeKey& FuzzKey() {
  static const bf::NodeKey key = [] {
    std::array<uint8_t, 32> seed;
    seed.fill(1);
    return bf::NodeKeyFromSeed(seed, kNow);
  }();
  return key;
}

const bf::PeerKeyRing& FuzzRing() {
  static const bf::PeerKeyRing ring = [] {
    bf::PeerKeyRing r;
    auto added = r.Add(bf::PinnedKey{FuzzKey().key_id, FuzzKey().public_key, {}, {}});
    FUZZ_CHECK(added.has_value(), "the fixed key is refused");
    return r;
  }();
  return ring;
}

bf::VerifyOptions Options() {
  return bf::VerifyOptions{.expected_from = "VN-HN", .expected_to = "CN-YY", .now = kNow};
}

void CheckError(const bf::Error& e) {
  FUZZ_CHECK(!e.code.empty(), "error without a code: " + Escaped(e.ToString()));
  FUZZ_CHECK(IsValidUtf8(e.message) && IsValidUtf8(e.field),
             "error is not UTF-8: " + Escaped(e.ToString()));
}

// A decoded payload encodes to a payload that decodes to the same value.
template <class T>
void CheckDecoder(const boost::json::object& payload,
                  bf::Result<T> (*decode)(const boost::json::object&), bf::MessageType type) {
  auto decoded = decode(payload);
  auto validated = bf::ValidatePayload(type, payload);
  FUZZ_CHECK(
      decoded.has_value() == validated.has_value(),
      std::string(bf::MessageTypeName(type)) + ": ValidatePayload disagrees with its decoder");
  if (!decoded) {
    CheckError(decoded.error());
    return;
  }
  boost::json::object encoded = bf::Encode(*decoded);
  auto again = decode(encoded);
  FUZZ_CHECK(again.has_value(), std::string(bf::MessageTypeName(type)) + ": " +
                                    Escaped(bf::ToJsonText(encoded)) +
                                    " is refused: " + again.error().ToString());
  FUZZ_CHECK(*again == *decoded, std::string(bf::MessageTypeName(type)) + ": " +
                                     Escaped(bf::ToJsonText(encoded)) + " does not round-trip");
}

void CheckPayload(const boost::json::object& payload) {
  CheckDecoder(payload, bf::DecodePreArrival, bf::MessageType::kPreArrival);
  CheckDecoder(payload, bf::DecodeCapacityAnnouncement, bf::MessageType::kCapacityAnnouncement);
  CheckDecoder(payload, bf::DecodeInspectionResult, bf::MessageType::kInspectionResult);
  CheckDecoder(payload, bf::DecodeReleaseNotice, bf::MessageType::kReleaseNotice);
  CheckDecoder(payload, bf::DecodeHandover, bf::MessageType::kHandover);
  CheckDecoder(payload, bf::DecodeReceipt, bf::MessageType::kReceipt);
  CheckDecoder(payload, bf::DecodeCancellation, bf::MessageType::kCancellation);
  CheckDecoder(payload, bf::DecodeAck, bf::MessageType::kAck);
  CheckDecoder(payload, bf::DecodeDriverChange, bf::MessageType::kDriverChange);
  CheckDecoder(payload, bf::DecodeSkipNotice, bf::MessageType::kSkipNotice);
}

void CheckOpened(const bf::Envelope& e) {
  FUZZ_CHECK(e.version == 1 && e.seq >= 1, "opened an envelope outside the bounds");
  FUZZ_CHECK(e.id == bf::MessageId(e.from, e.stream, e.seq), "id is not from/stream/seq");
  FUZZ_CHECK(e.from == "VN-HN" && e.to == "CN-YY", "opened an envelope for other parties");
  // Re-signing what was opened gives an envelope that opens to the same value.
  auto again = bf::VerifyAndOpen(bf::Sign(e, FuzzKey()), FuzzRing(), Options());
  FUZZ_CHECK(again.has_value(), "re-signed envelope is refused: " + again.error().ToString());
  FUZZ_CHECK(*again == e,
             "re-signed envelope opens differently: " + Escaped(bf::EncodeEnvelope(e)));
  CheckPayload(e.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto batch = bf::DecodeBatch(text, 16);
  if (batch) {
    FUZZ_CHECK(batch->size() <= 16, "more messages than the limit");
    auto again = bf::DecodeBatch(bf::EncodeBatch(*batch), 16);
    FUZZ_CHECK(again.has_value() && *again == *batch, "the batch does not round-trip");
    for (const bf::SignedMessage& m : *batch) {
      FUZZ_CHECK(m.signature.size() == 64, "signature of the wrong size");
      FUZZ_CHECK(m.bytes.size() <= bf::kMaxEnvelopeBytes, "envelope over the limit");
      auto opened = bf::VerifyAndOpen(m, FuzzRing(), Options());
      if (opened) {
        CheckOpened(*opened);
      } else {
        CheckError(opened.error());
      }
    }
  } else {
    CheckError(batch.error());
  }

  // The same bytes as a signed envelope: past the signature, into the parser.
  auto opened_raw =
      bf::VerifyAndOpen(bf::SignBytes(std::string(text), FuzzKey()), FuzzRing(), Options());
  if (opened_raw) {
    CheckOpened(*opened_raw);
  } else {
    CheckError(opened_raw.error());
    FUZZ_CHECK(opened_raw.error().code != "bad_signature", "a valid signature is refused");
  }

  auto json = bf::ParseJson(text);
  if (json && json->is_object()) CheckPayload(json->as_object());
  return 0;
}
