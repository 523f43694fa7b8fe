#include "stored_crossing.h"

#include <exception>
#include <utility>

#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>

namespace borderflow::store {

namespace {

JsonLimits StoredDocLimits() {
  JsonLimits limits;
  limits.max_bytes = 64u << 20;
  limits.max_depth = 64;
  return limits;
}

}  // namespace

Error Corrupt(std::string message) {
  return Error(ErrorKind::kInternal, "stored_data_corrupt", std::move(message));
}

Result<Crossing> DecodeStoredCrossing(std::string_view id, std::string_view doc,
                                      const HsNomenclature& hs) {
  auto parsed = ParseJson(doc, StoredDocLimits());
  if (!parsed) {
    return Corrupt(
        fmt::format("stored crossing '{}' is not valid JSON: {}", id, parsed.error().message));
  }
  Result<Crossing> decoded = Crossing();
  try {
    decoded = DecodeCrossing(*parsed, hs);
  } catch (const std::exception& e) {
    return Corrupt(fmt::format("stored crossing '{}' is malformed: {}", id, e.what()));
  }
  if (!decoded) {
    return Corrupt(
        fmt::format("stored crossing '{}' is malformed: {}", id, decoded.error().ToString()));
  }
  if (decoded->id != id) {
    return Corrupt(fmt::format("stored crossing '{}' contains id '{}'", id, decoded->id));
  }
  return std::move(*decoded);
}

}  // namespace borderflow::store
