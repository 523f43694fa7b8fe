// RiskFacts from a crossing (facts.h).

#include <algorithm>

#include <fmt/format.h>

#include <borderflow/domain/perishable.h>
#include <borderflow/rules/facts.h>
#include <borderflow/rules/learning.h>

namespace borderflow::rules {

std::string_view DocumentStatusName(DocumentStatus s) {
  switch (s) {
    case DocumentStatus::kMissing:
      return "missing";
    case DocumentStatus::kUnchecked:
      return "unchecked";
    case DocumentStatus::kValid:
      return "valid";
    case DocumentStatus::kInvalid:
      return "invalid";
  }
  return "unknown";
}

Result<DocumentStatus> ParseDocumentStatus(std::string_view text) {
  for (auto s : {DocumentStatus::kMissing, DocumentStatus::kUnchecked, DocumentStatus::kValid,
                 DocumentStatus::kInvalid}) {
    if (DocumentStatusName(s) == text) return s;
  }
  return InvalidArgument("invalid_document_status",
                         fmt::format("'{}' is not a document status (missing, unchecked, valid, "
                                     "invalid)",
                                     text.substr(0, 32)));
}

std::string_view SealStatusName(SealStatus s) {
  switch (s) {
    case SealStatus::kNone:
      return "none";
    case SealStatus::kIntact:
      return "intact";
    case SealStatus::kBroken:
      return "broken";
  }
  return "unknown";
}

Result<SealStatus> ParseSealStatus(std::string_view text) {
  for (auto s : {SealStatus::kNone, SealStatus::kIntact, SealStatus::kBroken}) {
    if (SealStatusName(s) == text) return s;
  }
  return InvalidArgument(
      "invalid_seal_status",
      fmt::format("'{}' is not a seal status (none, intact, broken)", text.substr(0, 32)));
}

namespace {

DocumentStatus DefaultStatus(const std::string& number) {
  return number.empty() ? DocumentStatus::kMissing : DocumentStatus::kUnchecked;
}

}  // namespace

RiskFacts BuildRiskFacts(const Crossing& crossing, const FactSources& s) {
  const Declaration& d = crossing.declaration;
  RiskFacts f;
  f.crossing_id = crossing.id;
  f.direction = d.direction;
  f.lane_class = d.lane_class;
  const LaneClass* lane_class = nullptr;
  if (s.config != nullptr) {
    lane_class = s.config->FindLaneClass(d.lane_class);
    if (const Direction* dir = s.config->FindDirection(d.direction)) {
      f.from_country = dir->from_country;
      f.to_country = dir->to_country;
    }
    const auto& trusted = s.config->queue.trusted_traders;
    f.trader.trusted =
        std::find(trusted.begin(), trusted.end(), crossing.company_id) != trusted.end();
  }
  // As the queue sees it (IsPerishableLoad): a freshness deadline on goods that are not
  // perishable (a truck of inverters) does not make the load perishable.
  f.perishable = IsPerishableLoad(d, lane_class);
  for (const auto& l : d.lines) {
    LineFacts lf;
    lf.hs_code = l.hs.code;
    lf.origin = l.origin_country;
    lf.gross_weight_kg = static_cast<double>(l.gross_weight_grams) / 1000.0;
    lf.packages = l.packages;
    double amount = static_cast<double>(l.value.minor_units) / 100.0;
    if (l.value.currency == "USD") {
      lf.value_usd = amount;
    } else if (auto it = s.usd_per_unit.find(l.value.currency); it != s.usd_per_unit.end()) {
      lf.value_usd = amount * it->second;
    } else if (s.config != nullptr) {
      // The gate's published rates ([rules] usd_per_unit).
      const auto& rates = s.config->rules.usd_per_unit;
      if (auto rate = rates.find(l.value.currency); rate != rates.end()) {
        lf.value_usd = amount * rate->second;
      }
    }
    f.lines.push_back(std::move(lf));
  }
  f.trader.company = crossing.company_id;
  f.trader.compliance_class = s.compliance_class;
  if (s.compliance != nullptr) s.compliance->Fill(f.trader);
  f.vehicle_plate = d.vehicle.plate.canonical;
  f.vehicle = s.vehicle;
  f.driver_document = d.driver.document_number;
  f.driver = s.driver;
  f.weighbridge_kg = s.weighbridge_kg;
  f.phytosanitary = s.phytosanitary.value_or(DefaultStatus(d.documents.phytosanitary_certificate));
  f.certificate_of_origin =
      s.certificate_of_origin.value_or(DefaultStatus(d.documents.certificate_of_origin));
  f.customs_declaration =
      s.customs_declaration.value_or(DefaultStatus(d.documents.customs_declaration));
  f.seal =
      s.seal.value_or(d.vehicle.seal_number && !d.vehicle.seal_number->empty() ? SealStatus::kIntact
                                                                               : SealStatus::kNone);
  f.watchlists = s.watchlists;
  return f;
}

}  // namespace borderflow::rules
