#pragma once

// A crossing: one truck's declared passage through the gate pair, from pre-declaration to
// receipt by the other side. Values only; validation is in Declaration parsing
// (crossing_json.h) and ValidateDeclaration below; state changes are in lifecycle.h.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/hs_code.h>
#include <borderflow/core/plate.h>
#include <borderflow/core/random.h>
#include <borderflow/core/time.h>
#include <borderflow/domain/gate_config.h>

namespace borderflow {

#define BORDERFLOW_CROSSING_STATES(X) \
  X(kExpected, "expected")            \
  X(kDeclared, "declared")            \
  X(kAssessed, "assessed")            \
  X(kBooked, "booked")                \
  X(kInYard, "in_yard")               \
  X(kCalled, "called")                \
  X(kAtGate, "at_gate")               \
  X(kInspecting, "inspecting")        \
  X(kChecked, "checked")              \
  X(kReleased, "released")            \
  X(kCrossed, "crossed")              \
  X(kReceived, "received")            \
  X(kRefused, "refused")              \
  X(kCancelled, "cancelled")

enum class CrossingState {
#define BORDERFLOW_STATE_ENUM(name, text) name,
  BORDERFLOW_CROSSING_STATES(BORDERFLOW_STATE_ENUM)
#undef BORDERFLOW_STATE_ENUM
};

std::string_view CrossingStateName(CrossingState s);
Result<CrossingState> ParseCrossingState(std::string_view text);
// Terminal states accept no further events.
bool IsTerminal(CrossingState s);

// Customs risk channel: none until assessed.
enum class Channel { kNone, kGreen, kYellow, kRed };
std::string_view ChannelName(Channel c);
Result<Channel> ParseChannel(std::string_view text);

struct Vehicle {
  Plate plate;
  std::optional<Plate> trailer_plate;
  std::optional<std::string> container_number;  // ISO 6346, validated
  std::optional<std::string> seal_number;
};

struct Driver {
  std::string name;
  std::string document_number;  // passport or border pass
  std::string nationality;      // ISO 3166 alpha-2
  std::string phone;
};

struct Money {
  int64_t minor_units = 0;  // cents
  std::string currency;     // ISO 4217, "USD"
  friend bool operator==(const Money&, const Money&) = default;
};

struct ConsignmentLine {
  HsCode hs;
  std::string description;
  int64_t packages = 0;
  int64_t gross_weight_grams = 0;
  Money value;
  std::string origin_country;  // ISO 3166 alpha-2
};

struct Documents {
  std::string customs_declaration;        // customs declaration number
  std::string phytosanitary_certificate;  // ePhyto certificate number
  std::string certificate_of_origin;      // Form E number
};

// What a forwarder declares. Parsed and validated from JSON by DecodeDeclaration.
struct Declaration {
  std::string direction;   // a GateConfig direction id
  std::string lane_class;  // a GateConfig lane class id
  Vehicle vehicle;
  Driver driver;
  std::vector<ConsignmentLine> lines;
  std::optional<Timestamp> freshness_deadline;       // perishable goods
  std::optional<Timestamp> declaration_valid_until;  // default: now + configured validity
  Documents documents;
};

// The outcome recorded by the latest document check or inspection.
struct CheckResult {
  std::string kind;     // "documents" or "inspection"
  std::string outcome;  // "ok"/"discrepancy" or "no_finding"/"finding"
  std::string note;
  std::string officer;  // user name
  Timestamp at;
};

// The truck's place in the electronic queue, kept with the crossing (the plan itself is derived,
// see queue/planner.h). Set by the engine as the truck books, arrives and is called.
struct QueueInfo {
  int64_t ticket = 0;                        // order of joining the queue (0: not in it)
  std::optional<Timestamp> booked_bucket;    // the booked slot's bucket start
  std::optional<Timestamp> booked_at;        // when the booking was made
  std::optional<Timestamp> yard_arrived_at;  // plate read at the staging yard entrance
  std::optional<Timestamp> called_at;        // called forward
  std::optional<Timestamp> call_deadline;    // must reach the gate by then
  std::string call_reason;                   // why it was called (a planner reason code)
  int requeues = 0;                          // times sent back after missing its call
  // The expected call time predicted when it joined the yard queue (for accuracy metrics).
  std::optional<Timestamp> predicted_call_at;
  std::optional<Timestamp> predicted_at;

  bool empty() const { return ticket == 0 && !booked_bucket && !yard_arrived_at && !called_at; }
  friend bool operator==(const QueueInfo&, const QueueInfo&) = default;
};

// Facts recorded about the truck after its declaration (weighbridge, document verification,
// seal), used by the risk rules when the crossing is re-assessed. Empty values: not recorded.
struct GateFindings {
  std::optional<double> weighbridge_kg;  // gross weight measured at the gate
  std::string phytosanitary;             // "valid" or "invalid" once verified
  std::string certificate_of_origin;
  std::string customs_declaration;
  std::string seal;  // "intact" or "broken" as read at the gate

  bool empty() const {
    return !weighbridge_kg && phytosanitary.empty() && certificate_of_origin.empty() &&
           customs_declaration.empty() && seal.empty();
  }
  friend bool operator==(const GateFindings&, const GateFindings&) = default;
};

// The latest decision of the risk rules (issue 4), kept so that a re-assessment never falls
// below it. Rule indices refer to the rule set `rule_set` ("huu-nghi@3").
struct RiskDecision {
  struct Fired {
    uint32_t rule = 0;
    int32_t line = -1;
    double score = 0;
    friend bool operator==(const Fired&, const Fired&) = default;
  };
  std::string rule_set;
  std::string fingerprint;
  double score = 0;
  Channel mandatory_channel = Channel::kNone;
  bool random = false;
  std::vector<Fired> fired;
  friend bool operator==(const RiskDecision&, const RiskDecision&) = default;
};

struct Crossing {
  std::string id;           // "CR-..." assigned by the engine
  std::string company_id;   // the declaring forwarder's company
  std::string declared_by;  // user id
  // Inbound crossings were announced by the counterpart node (its pre-arrival notice): its node
  // id. Empty for crossings declared at this node.
  std::string announced_by;
  Declaration declaration;
  Timestamp declaration_valid_until;
  CrossingState state = CrossingState::kDeclared;
  Channel channel = Channel::kNone;
  bool quarantine_inspection = false;
  std::optional<CheckResult> last_check;
  std::string refusal_reason;
  QueueInfo queue;
  GateFindings findings;
  std::optional<RiskDecision> risk;
  int64_t version = 0;  // increases by one with every event
  Timestamp created_at;
  Timestamp updated_at;
};

// A new crossing id: "CR-" + 8 Crockford base32 characters of milliseconds since 2025-01-01
// (big-endian, so ids sort by creation time until 2059) + 6 random characters. Time-ordered ids
// keep the store's indexes append-mostly and make id order the order of declaration.
std::string NewCrossingId(Timestamp now, Random& random);

// Checks a declaration against the gate configuration at `now`: known direction and lane class,
// lanes for that class in that direction, lines present unless the class is for empty trucks,
// a future freshness deadline for perishable classes, a validity after `now`.
Status ValidateDeclaration(const Declaration& d, const GateConfig& config, Timestamp now);
// The checks of a new or changed driver that the decoder does not make: no control characters
// in the text, an ISO 3166 nationality. Part of ValidateDeclaration.
Status ValidateDriver(const Driver& driver);

}  // namespace borderflow
