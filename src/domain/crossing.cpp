#include <algorithm>

#include <fmt/format.h>

#include <borderflow/core/time_ordered_id.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/iso_codes.h>

namespace borderflow {

std::string_view CrossingStateName(CrossingState s) {
  switch (s) {
#define BORDERFLOW_STATE_NAME(name, text) \
  case CrossingState::name:               \
    return text;
    BORDERFLOW_CROSSING_STATES(BORDERFLOW_STATE_NAME)
#undef BORDERFLOW_STATE_NAME
  }
  return "unknown";
}

Result<CrossingState> ParseCrossingState(std::string_view text) {
#define BORDERFLOW_STATE_PARSE(name, str) \
  if (text == str) return CrossingState::name;
  BORDERFLOW_CROSSING_STATES(BORDERFLOW_STATE_PARSE)
#undef BORDERFLOW_STATE_PARSE
  return InvalidArgument("unknown_state",
                         fmt::format("unknown crossing state '{}'", text.substr(0, 32)), "state");
}

bool IsTerminal(CrossingState s) {
  return s == CrossingState::kReceived || s == CrossingState::kRefused ||
         s == CrossingState::kCancelled;
}

std::string_view ChannelName(Channel c) {
  switch (c) {
    case Channel::kNone:
      return "none";
    case Channel::kGreen:
      return "green";
    case Channel::kYellow:
      return "yellow";
    case Channel::kRed:
      return "red";
  }
  return "none";
}

Result<Channel> ParseChannel(std::string_view text) {
  if (text == "none") return Channel::kNone;
  if (text == "green") return Channel::kGreen;
  if (text == "yellow") return Channel::kYellow;
  if (text == "red") return Channel::kRed;
  return InvalidArgument(
      "invalid_channel",
      fmt::format("'{}' is not a channel (green, yellow, red)", text.substr(0, 16)), "channel");
}

std::string NewCrossingId(Timestamp now, Random& random) {
  return TimeOrderedId("CR-", now, random, 6);
}

namespace {

// Control characters (NUL, escape sequences, line breaks) in a name or a number are never
// meant, and would travel into documents, screens and the counterpart's records.
Status RefuseControlCharacters(std::string_view text, std::string_view field) {
  bool control = std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
  if (!control) return {};
  return InvalidArgument("control_character",
                         fmt::format("'{}' contains a control character", field),
                         std::string(field));
}

}  // namespace

Status ValidateDriver(const Driver& driver) {
  BF_TRY(RefuseControlCharacters(driver.name, "driver.name"));
  BF_TRY(RefuseControlCharacters(driver.document_number, "driver.document_number"));
  BF_TRY(RefuseControlCharacters(driver.phone, "driver.phone"));
  // The decoder checks the code's form; ISO's list is checked here, for new data only, so
  // that a crossing stored before cannot become unreadable.
  if (!IsIsoCountry(driver.nationality)) {
    return InvalidArgument(
        "invalid_country",
        fmt::format("'{}' is not an ISO 3166 country code (such as VN or CN)", driver.nationality),
        "driver.nationality");
  }
  return {};
}

Status ValidateDeclaration(const Declaration& d, const GateConfig& config, Timestamp now) {
  const Direction* direction = config.FindDirection(d.direction);
  if (direction == nullptr) {
    std::string valid;
    for (const auto& dir : config.directions) valid += (valid.empty() ? "" : ", ") + dir.id;
    return InvalidArgument(
        "unknown_direction",
        fmt::format("direction '{}' is not one of this gate's: {}", d.direction, valid),
        "direction");
  }
  const LaneClass* lane_class = config.FindLaneClass(d.lane_class);
  if (lane_class == nullptr) {
    std::string valid;
    for (const auto& lc : config.lane_classes) valid += (valid.empty() ? "" : ", ") + lc.id;
    return InvalidArgument(
        "unknown_lane_class",
        fmt::format("lane class '{}' is not one of this gate's: {}", d.lane_class, valid),
        "lane_class");
  }
  auto lanes = direction->lanes.find(d.lane_class);
  if (lanes == direction->lanes.end() || lanes->second == 0) {
    return InvalidArgument("no_lanes",
                           fmt::format("direction {} has no {} lanes", d.direction, d.lane_class),
                           "lane_class");
  }
  if (lane_class->empty && !d.lines.empty()) {
    return InvalidArgument(
        "empty_truck_has_goods",
        fmt::format("lane class {} is for empty trucks: declare no lines", d.lane_class), "lines");
  }
  if (!lane_class->empty && d.lines.empty()) {
    return InvalidArgument("missing_field", "a loaded truck must declare at least one line",
                           "lines");
  }
  if (lane_class->perishable && !d.freshness_deadline) {
    return InvalidArgument("missing_field",
                           fmt::format("lane class {} carries perishables: freshness_deadline is "
                                       "required",
                                       d.lane_class),
                           "freshness_deadline");
  }
  BF_TRY(ValidateDriver(d.driver));
  std::vector<std::pair<std::string, std::string_view>> texts = {
      {"documents.customs_declaration", d.documents.customs_declaration},
      {"documents.phytosanitary_certificate", d.documents.phytosanitary_certificate},
      {"documents.certificate_of_origin", d.documents.certificate_of_origin}};
  if (d.vehicle.seal_number) texts.emplace_back("vehicle.seal_number", *d.vehicle.seal_number);
  for (size_t i = 0; i < d.lines.size(); ++i) {
    texts.emplace_back(fmt::format("lines[{}].description", i), d.lines[i].description);
  }
  for (const auto& [field, text] : texts) BF_TRY(RefuseControlCharacters(text, field));
  // The decoder checks the codes' form; these are checked against ISO's lists here, for new
  // declarations only, so that a crossing stored before cannot become unreadable. A made-up
  // currency would also leave the rules unable to value the goods.
  for (size_t i = 0; i < d.lines.size(); ++i) {
    const ConsignmentLine& line = d.lines[i];
    if (!IsIsoCurrency(line.value.currency)) {
      return InvalidArgument(
          "invalid_currency",
          fmt::format("'{}' is not an ISO 4217 currency code (such as USD, CNY or VND)",
                      line.value.currency),
          fmt::format("lines[{}].value.currency", i));
    }
    if (!IsIsoCountry(line.origin_country)) {
      return InvalidArgument("invalid_country",
                             fmt::format("'{}' is not an ISO 3166 country code (such as VN or CN)",
                                         line.origin_country),
                             fmt::format("lines[{}].origin_country", i));
    }
  }
  if (d.freshness_deadline && *d.freshness_deadline <= now) {
    return InvalidArgument("deadline_passed", "freshness_deadline is already past",
                           "freshness_deadline");
  }
  if (d.declaration_valid_until && *d.declaration_valid_until <= now) {
    return InvalidArgument("declaration_expired", "declaration_valid_until is already past",
                           "declaration_valid_until");
  }
  return {};
}

}  // namespace borderflow
