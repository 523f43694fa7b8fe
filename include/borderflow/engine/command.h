#pragma once

// Commands: what every driver (HTTP API, CLI, simulator, peer link, timers) asks the engine to
// do. A command names its actor, carries the client's idempotency key and a fingerprint of its
// content, and one of the bodies below.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/audit/audit_record.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/lifecycle.h>
#include <borderflow/domain/role.h>
#include <borderflow/engine/shared_crossing.h>
#include <borderflow/queue/capacity.h>

namespace borderflow {

// A forwarder pre-declares a crossing for its own company.
struct DeclareCrossing {
  Declaration declaration;
};

// An event in a crossing's lifecycle (assess, book, enter_yard, ..., cancel).
struct RecordCrossingEvent {
  std::string crossing_id;
  CrossingEvent event;
  // When set, the command applies only if the crossing is still at this version (If-Match).
  std::optional<int64_t> expected_version;
};

// --- The electronic queue -----------------------------------------------------------------

// An operator changes capacity (closure, lanes, reversible lane) or records the counterpart's
// acceptance rate. Every affected truck gets a new expected call time ("replan" record).
struct ChangeCapacity {
  CapacityChange change;
};

// The engine's timer (role system): sends back called trucks that missed their window, lapses
// bookings whose truck never came, and calls trucks forward when lanes have room.
struct QueueTick {};

// An operator calls the next truck of a lane by the active policy.
struct CallNext {
  std::string direction;
  std::string lane_class;
};

// A camera read at the yard entrance or the gate. A unique good match is applied (enter_yard,
// arrive_at_gate); anything else waits for an operator.
struct SubmitPlateRead {
  std::string location;  // "yard_entrance" or "gate"
  std::string camera;
  std::string text;
  double confidence = 1.0;
};

// An operator resolves a waiting read: applies it to `crossing_id`, or dismisses it (empty).
struct ResolvePlateRead {
  std::string read_id;
  std::string crossing_id;
  std::string note;
};

// The forwarder edits the driver (the only change allowed after booking; the plate is bound).
struct UpdateDriver {
  std::string crossing_id;
  Driver driver;
  std::optional<int64_t> expected_version;
};

// An operator bans a truck (plate) from booking for `days`, or lifts its ban (days == 0).
struct SetBan {
  std::string plate;
  int days = 0;
  std::string reason;
};

// An operator switches the queue policy (fifo, cyclic, smart).
struct SetQueuePolicy {
  std::string policy;
};

// --- Risk-based selectivity (issue 4) ------------------------------------------------------

// A customs officer or administrator uploads a rule set (text in the rule language). It is
// compiled and stored as "validated"; the same id with another text is refused.
struct UploadRuleSet {
  std::string text;
};

// ... and activates a stored one: from then on declarations are assessed by it.
struct ActivateRuleSet {
  std::string id;  // "huu-nghi@3"
};

// A new fact about a crossing: a weighbridge reading, a document verified, a seal read. The
// crossing is re-assessed: its channel can rise, never fall.
struct RecordFinding {
  std::string crossing_id;
  std::string kind;                   // "weighbridge", "document", "seal"
  std::optional<double> measured_kg;  // weighbridge
  std::string
      document;  // document: "phytosanitary", "certificate_of_origin", "customs_declaration"
  std::optional<bool> valid;  // document
  std::string seal;           // seal: "intact", "broken"
  std::string note;
  std::optional<int64_t> expected_version;
};

// A customs or quarantine analyst (or an administrator) replaces a watch list: a named list of
// entries that the rules' `watchlist "NAME"` criterion matches against a declaration — its plate
// or trailer plate ("plate"), its company ("company"), its driver's document number ("driver"),
// or an HS code prefix of one of its lines ("hs": chapter, heading, subheading or code). The
// whole list is replaced at once and gets the next version; the same entries again change
// nothing. Empty `entries` empties the list.
struct WatchlistEntry {
  std::string kind;   // "plate", "company", "driver", "hs"
  std::string value;  // normalised by the engine (canonical plate, HS digits)
  std::string note;
};
// The most entries one list holds: a full list must fit the API's 1 MiB request body (a plate
// entry without a note is about 40 bytes of JSON).
inline constexpr size_t kMaxWatchlistEntries = 25000;
struct PutWatchlist {
  std::string name;  // 1 to 64 of A-Z a-z 0-9 . _ -
  std::vector<WatchlistEntry> entries;
  std::string description;
  // When set, replaces only if the list is still at this version (0: the list must not exist).
  std::optional<int64_t> expected_version;
};

// ... and deletes one (same roles): rules that ask for it then match nothing. Deleting a list
// that does not exist changes nothing.
struct DeleteWatchlist {
  std::string name;
};

// --- The cross-border link (issue 5) -------------------------------------------------------

// A message from the counterpart whose signature the link has verified (src/peer). The
// command's idempotency key is the message id, so a message takes effect once; within its
// stream it applies only in order (seq = the last applied + 1, else "sequence_gap"). A message
// whose effect is refused (the crossing is in another state, say) still counts as delivered:
// the refusal is recorded and the stream moves on, so one bad message cannot stop the link.
struct ApplyPeerMessage {
  std::string id;      // "<from>/<stream>/<seq>"
  std::string type;    // a link MessageType name ("pre_arrival", ...)
  std::string stream;  // "crossing:CR-..." or "capacity"
  int64_t seq = 0;
  Timestamp sent_at;
  boost::json::object payload;  // validated for its type
  std::string key_id;           // the key that signed it
  std::string digest;           // SHA-256 of the signed bytes (hex), for the audit trail
  // Set when the link refused the message for good before its effect (its payload is invalid,
  // say): the engine then only consumes its number on its stream and records the refusal, so
  // that a message the sender gives up on ("dead") cannot block the messages after it.
  std::string refused_code;
  std::string refused_message;
};

// The counterpart acknowledged outbox messages (`delivered`, by outbox record id): they leave
// the outbox. `dead` ones were refused for good (an invalid payload, an envelope it could not
// open, say), with the reason in the audit trail: each is replaced in the outbox by a signed
// skip notice for its stream and seq (so that the counterpart, which may never have learnt the
// number, consumes it); a dead skip notice only leaves the outbox.
struct AckPeerMessages {
  std::vector<std::string> delivered;
  struct Dead {
    std::string outbox_id;
    std::string message_id;
    std::string code;
    std::string message;
    // The message could not be delivered at all (its envelope is larger than this node or the
    // counterpart takes): besides the skip notice, the control room gets an alert (LinkAlerts,
    // and `alert` in the audit record), since what it said must be told by other means.
    bool undeliverable = false;
  };
  std::vector<Dead> dead;
};

// A message the link refused before the engine (bad signature, unknown key, too old, a
// replay...): recorded in the audit trail, nothing else changes.
struct RecordPeerRejection {
  std::string code;
  std::string message;
  std::string key_id;
  std::string message_id;
  std::string digest;
};

// The link's timer: announces this side's capacity for trucks coming in (per lane class per
// hour, `[link] announce_hours` ahead) when it changed or a new hour began.
struct AnnounceCapacity {};

// Administration (CLI): users and tokens.
struct AddUser {
  std::string name;
  Role role = Role::kPublic;
  std::string company_id;
  std::string driver_document = {};  // drivers only
};
struct IssueApiToken {
  std::string user_name;
  std::string label;
  std::optional<Timestamp> expires_at;
};
// Revokes one token (`token_id`), or every live token of one user (`user_name`: someone who
// left, a stolen camera); exactly one of the two is set.
struct RevokeApiToken {
  std::string token_id;
  std::string user_name;
};

using CommandBody =
    std::variant<DeclareCrossing, RecordCrossingEvent, AddUser, IssueApiToken, RevokeApiToken,
                 ChangeCapacity, QueueTick, CallNext, SubmitPlateRead, ResolvePlateRead,
                 UpdateDriver, SetBan, SetQueuePolicy, UploadRuleSet, ActivateRuleSet,
                 RecordFinding, ApplyPeerMessage, AckPeerMessages, RecordPeerRejection,
                 AnnounceCapacity, PutWatchlist, DeleteWatchlist>;

struct Command {
  Actor actor;
  // The client's key: a retry with the same key (by the same user) returns the first result
  // and records nothing. Required for crossing commands; optional for administration.
  std::string idempotency_key;
  // A digest of the command's content (e.g. SHA-256 of method, path and body): the same key
  // with a different fingerprint is refused ("idempotency_key_reused").
  std::string fingerprint;
  CommandBody body;
};

struct CommandResult {
  int status = 200;  // 201 when something was created
  // The response document. Declarations, crossing events and replays write only body_text
  // (the hot paths); readers outside the engine use Json(), which parses it then.
  boost::json::object body;
  std::string body_text;  // the document serialised once (what the API sends and replays)
  bool replayed = false;  // true when this is the stored first result of a retry
  std::vector<AuditRecord> records;  // what this command appended (empty when replayed)
  // The crossing after a crossing command (null on replays and for other commands).
  SharedCrossing crossing;
  std::vector<SharedCrossing> changed;  // every crossing the command changed, in order

  // The response document: `body`, or body_text parsed when only the text was written.
  boost::json::object Json() const;
};

}  // namespace borderflow
