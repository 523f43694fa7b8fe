#pragma once

// The typed payloads of the link's envelopes (envelope.h), one per MessageType.
//
// Encode(x) writes the payload object; DecodeX(object) reads it strictly: unknown fields are
// refused ("unknown_field"), required fields must be present ("missing_field"), strings are
// bounded ("field_too_long"), enumerations checked ("invalid_value"), and every error names the
// field's path under "payload" ("payload.entries[1].lane_class"). All errors are
// kInvalidArgument. Timestamps are RFC 3339 strings naming their zone; Encode writes UTC with
// milliseconds. Optional strings are omitted when empty.

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>
#include <borderflow/link/envelope.h>

namespace borderflow {

// Field bounds (bytes).
inline constexpr size_t kMaxLinkIdLength = 64;  // crossing, company, direction, lane class ids
inline constexpr size_t kMaxNoteLength = 1000;  // notes and reasons
inline constexpr size_t kMaxCapacityHours = 72;
inline constexpr size_t kMaxCapacityEntries = 64;
inline constexpr size_t kMaxAckItems = 512;
inline constexpr size_t kMaxMessageIdLength = 256;  // ids in acks and skip notices
inline constexpr size_t kMaxErrorCodeLength = 64;   // refusal codes in acks and skip notices

// The most bytes one item of an acknowledgement takes in its envelope: its id, code and message
// at their bounds with every byte escaped at worst (\u00XX, six bytes a byte), the longest
// status ("duplicate") and the field names around them (54 bytes and a comma).
inline constexpr size_t kMaxAckItemBytes =
    6 * (kMaxMessageIdLength + kMaxErrorCodeLength + kMaxNoteLength) + 64;
// The most bytes the envelope of an acknowledgement of `items` messages takes: its fields
// around the payload (node ids and stream are link tokens, unescaped: under 512 bytes) and the
// items; never more than kMaxEnvelopeBytes, which neither side opens.
constexpr size_t MaxAckEnvelopeBytes(size_t items) {
  return items >= (kMaxEnvelopeBytes - 512) / kMaxAckItemBytes ? kMaxEnvelopeBytes
                                                               : 512 + items * kMaxAckItemBytes;
}
// The most bytes a counterpart's answer to a batch of `items` messages may take: the signed
// acknowledgement ({"key_id","signature","envelope"} with the envelope in base64) of the
// largest envelope above. The sender refuses a longer answer ("ack_too_large"): an
// answer is for the messages it sent, so nothing longer can be a valid one. About 12 KB for
// one message, 700 KB (the envelope's limit) from 65 on.
constexpr size_t MaxAckBytes(size_t items) { return MaxBatchItemBytes(MaxAckEnvelopeBytes(items)); }

// The sender declared a crossing that will arrive at the receiver's gate.
struct PreArrival {
  std::string crossing_id;  // [A-Za-z0-9:_.-]
  std::string company_id;
  std::string direction;
  std::string lane_class;
  // The declaration JSON as the API accepts it; the engine decodes it with DecodeDeclaration.
  boost::json::object declaration;
  std::string channel;  // "green" | "yellow" | "red"
  bool quarantine_inspection = false;
  Timestamp declaration_valid_until;
  std::optional<Timestamp> freshness_deadline;
  friend bool operator==(const PreArrival&, const PreArrival&) = default;
};

// How many trucks per hour the sender accepts from `from` on, per lane class.
struct CapacityAnnouncement {
  std::string direction;
  Timestamp from;  // a whole UTC hour
  struct Entry {
    std::string lane_class;               // distinct within the announcement
    std::vector<double> trucks_per_hour;  // one per hour from `from`, 1..72, each 0..10000
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  std::vector<Entry> entries;  // 1..64
  friend bool operator==(const CapacityAnnouncement&, const CapacityAnnouncement&) = default;
};

// A document check or an inspection of a crossing, and the channel it leaves the crossing in.
struct InspectionResult {
  std::string crossing_id;
  std::string kind;     // "documents" | "inspection"
  std::string outcome;  // documents: "ok" | "discrepancy"; inspection: "no_finding" | "finding"
  std::string finding_type;  // required with "finding", absent otherwise (max 64)
  std::string channel;       // "green" | "yellow" | "red"
  bool quarantine_inspection = false;
  std::string seal_number;  // optional (max 32)
  std::string seal_state;   // "" | "intact" | "broken"
  std::string note;         // optional (max 1000)
  Timestamp at;
  friend bool operator==(const InspectionResult&, const InspectionResult&) = default;
};

struct ReleaseNotice {
  std::string crossing_id;
  Timestamp released_at;
  std::string channel;  // "green" | "yellow" | "red"
  friend bool operator==(const ReleaseNotice&, const ReleaseNotice&) = default;
};

// The truck crossed the border line towards the receiver.
struct Handover {
  std::string crossing_id;
  Timestamp crossed_at;
  std::string seal_number;  // optional (max 32)
  std::string seal_state;   // "" | "intact" | "broken"
  friend bool operator==(const Handover&, const Handover&) = default;
};

// The receiver's side took the truck over.
struct Receipt {
  std::string crossing_id;
  Timestamp received_at;
  friend bool operator==(const Receipt&, const Receipt&) = default;
};

struct Cancellation {
  std::string crossing_id;
  std::string reason;  // 1..1000
  Timestamp at;
  friend bool operator==(const Cancellation&, const Cancellation&) = default;
};

// The sender changed the driver of a crossing it announced (after the pre-arrival notice): the
// receiver's border guard checks the driver who actually comes.
struct DriverChange {
  std::string crossing_id;
  // The driver as the API takes it ({name, document_number, nationality, phone?}); the engine
  // decodes it with DecodeDriver.
  std::string name;             // 1..100
  std::string document_number;  // 1..32
  std::string nationality;      // 1..8 (ISO 3166 alpha-2, checked by the engine)
  std::string phone;            // optional (max 32)
  Timestamp changed_at;
  friend bool operator==(const DriverChange&, const DriverChange&) = default;
};

// The sender gave up on the message with this number on this stream (the receiver refused it for
// good, possibly without being able to open it): the receiver consumes the number, so that the
// messages after it on the stream apply. It travels on the stream of the message it replaces,
// with that message's number as its own `seq` (and so its id), in the outbox place of that
// message; `seq` repeats the number in the payload so that the notice names what it skips.
struct SkipNotice {
  int64_t seq = 0;           // the number given up: the envelope's own seq
  std::string skipped_type;  // the type of the message given up
  std::string code;          // the refusal it was given up on (1..64), e.g. "envelope_too_large"
  std::string message;       // optional (max 1000)
  Timestamp given_up_at;
  friend bool operator==(const SkipNotice&, const SkipNotice&) = default;
};

// The receiver's answer to a batch: one item per message, in the batch's order.
struct Ack {
  struct Item {
    std::string id;       // the message id (max 256)
    std::string status;   // "applied" | "duplicate" | "rejected"
    std::string code;     // required when rejected (max 64), e.g. "bad_signature"
    std::string message;  // optional (max 1000)
    friend bool operator==(const Item&, const Item&) = default;
  };
  std::vector<Item> items;  // 0..512
  friend bool operator==(const Ack&, const Ack&) = default;
};

boost::json::object Encode(const PreArrival& m);
boost::json::object Encode(const CapacityAnnouncement& m);
boost::json::object Encode(const InspectionResult& m);
boost::json::object Encode(const ReleaseNotice& m);
boost::json::object Encode(const Handover& m);
boost::json::object Encode(const Receipt& m);
boost::json::object Encode(const Cancellation& m);
boost::json::object Encode(const Ack& m);
boost::json::object Encode(const DriverChange& m);
boost::json::object Encode(const SkipNotice& m);

Result<PreArrival> DecodePreArrival(const boost::json::object& payload);
Result<CapacityAnnouncement> DecodeCapacityAnnouncement(const boost::json::object& payload);
Result<InspectionResult> DecodeInspectionResult(const boost::json::object& payload);
Result<ReleaseNotice> DecodeReleaseNotice(const boost::json::object& payload);
Result<Handover> DecodeHandover(const boost::json::object& payload);
Result<Receipt> DecodeReceipt(const boost::json::object& payload);
Result<Cancellation> DecodeCancellation(const boost::json::object& payload);
Result<Ack> DecodeAck(const boost::json::object& payload);
Result<DriverChange> DecodeDriverChange(const boost::json::object& payload);
Result<SkipNotice> DecodeSkipNotice(const boost::json::object& payload);

// Runs the decoder of `type` on `payload` and returns its error, if any.
Status ValidatePayload(MessageType type, const boost::json::object& payload);

}  // namespace borderflow
