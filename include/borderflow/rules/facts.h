#pragma once

// RiskFacts: everything the selectivity rules may look at for one crossing, as a plain value.
// The caller (engine) gathers it from the declaration, the trader record, the weighbridge, the
// document checks, the vehicle and driver history and the watch lists; the rules never do I/O.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/gate_config.h>

namespace borderflow::rules {

class TraderCompliance;

// State of one document. `kUnchecked`: a number was declared but not yet verified (ePhyto hub,
// Form E database); `kValid`/`kInvalid`: the result of that verification.
enum class DocumentStatus : uint8_t { kMissing, kUnchecked, kValid, kInvalid };
std::string_view DocumentStatusName(DocumentStatus s);  // "missing", "unchecked", ...
Result<DocumentStatus> ParseDocumentStatus(std::string_view text);

// The seal as last read: no seal declared/read, intact, broken.
enum class SealStatus : uint8_t { kNone, kIntact, kBroken };
std::string_view SealStatusName(SealStatus s);  // "none", "intact", "broken"
Result<SealStatus> ParseSealStatus(std::string_view text);

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

// Past crossings of a vehicle (plate) or a driver (document number).
struct HistoryFacts {
  int64_t crossings = 0;
  int64_t inspections = 0;
  int64_t findings = 0;
};

struct TraderFacts {
  std::string company;           // company id of the declarant
  std::string compliance_class;  // customs' compliance class ("A".."D"), "" when none
  bool trusted = false;          // trusted-trader (AEO) status
  int64_t inspections = 0;       // past inspections of this trader's trucks
  int64_t findings = 0;          // ... with a finding
  double risk = kUnknown;        // estimated probability of a finding (TraderCompliance), 0..1
};

struct LineFacts {
  std::string hs_code;  // digits only, 6 to 10 ("08106000")
  std::string origin;   // ISO 3166 alpha-2
  double gross_weight_kg = 0;
  double value_usd = kUnknown;  // declared value in USD (unknown for unconverted currencies)
  int64_t packages = 0;
};

struct RiskFacts {
  std::string crossing_id;   // keys the reproducible random selection
  std::string direction;     // "VN-CN"
  std::string lane_class;    // "fresh_produce"
  std::string from_country;  // export country of the direction ("VN")
  std::string to_country;    // destination country ("CN")
  bool perishable = false;   // IsPerishableLoad (domain/perishable.h), as the queue sees it
  std::vector<LineFacts> lines;
  TraderFacts trader;
  std::string vehicle_plate;  // canonical plate
  HistoryFacts vehicle;
  std::string driver_document;
  HistoryFacts driver;
  std::optional<double> weighbridge_kg;  // gross weight measured at the gate (truck load only)
  DocumentStatus phytosanitary = DocumentStatus::kMissing;
  DocumentStatus certificate_of_origin = DocumentStatus::kMissing;
  DocumentStatus customs_declaration = DocumentStatus::kMissing;
  SealStatus seal = SealStatus::kNone;
  // Names of the external watch lists this crossing is on (plate, driver or company matched by
  // the caller): "stolen-vehicles", "sanctioned-companies", ...
  std::vector<std::string> watchlists;
};

// What the caller knows besides the crossing itself. Every member is optional.
struct FactSources {
  const GateConfig* config = nullptr;            // countries, perishability, trusted traders
  const TraderCompliance* compliance = nullptr;  // learned per-trader estimates
  std::string compliance_class;
  HistoryFacts vehicle;
  HistoryFacts driver;
  std::optional<double> weighbridge_kg;
  // Document verification results; when absent a declared number counts as kUnchecked and an
  // empty one as kMissing.
  std::optional<DocumentStatus> phytosanitary;
  std::optional<DocumentStatus> certificate_of_origin;
  std::optional<DocumentStatus> customs_declaration;
  std::optional<SealStatus> seal;  // default: kIntact when a seal number is declared
  std::vector<std::string> watchlists;
  // USD per one unit of a currency ("CNY" -> 0.14, "VND" -> 0.00004); USD is always 1. Rates
  // not given here come from the configuration's [rules] usd_per_unit.
  std::map<std::string, double, std::less<>> usd_per_unit;
};

// Builds the facts of a crossing (its declaration, company and id) from `sources`.
RiskFacts BuildRiskFacts(const Crossing& crossing, const FactSources& sources);

}  // namespace borderflow::rules
