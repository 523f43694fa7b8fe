// Fuzz target: event payloads (the "data" of POST /api/v1/crossings/{id}/events), see
// include/borderflow/domain/lifecycle.h. The first byte picks the event type from
// LifecycleTable(); the rest is the JSON payload.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/json.h>
#include <borderflow/domain/lifecycle.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& table = bf::LifecycleTable();
  bf::CrossingEventType type = table[data[0] % table.size()].event;
  auto name = bf::ParseCrossingEventType(bf::CrossingEventName(type));
  FUZZ_CHECK(name.has_value() && *name == type, std::string(bf::CrossingEventName(type)));

  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto json = bf::ParseJson(text);
  if (!json) return 0;
  auto decoded = bf::DecodeEventData(type, *json);
  if (!decoded) {
    FUZZ_CHECK(IsValidUtf8(decoded.error().message) && IsValidUtf8(decoded.error().field),
               "error is not UTF-8: " + Escaped(decoded.error().ToString()));
    return 0;
  }
  // What DecodeEventData returns is a valid payload of the same type, and a fixed point.
  auto again = bf::DecodeEventData(type, boost::json::value(*decoded));
  FUZZ_CHECK(again.has_value(), std::string(bf::CrossingEventName(type)) + ": decoded payload " +
                                    Escaped(bf::ToJsonText(*decoded)) +
                                    " is refused: " + again.error().ToString());
  FUZZ_CHECK(*again == *decoded, std::string(bf::CrossingEventName(type)) + ": " +
                                     Escaped(bf::ToJsonText(*decoded)) + " decodes to " +
                                     Escaped(bf::ToJsonText(*again)));
  // The stored form (text) parses back to the same payload.
  auto text_again = bf::ParseJson(bf::ToJsonText(*decoded));
  FUZZ_CHECK(text_again.has_value() && *text_again == boost::json::value(*decoded),
             Escaped(bf::ToJsonText(*decoded)));
  return 0;
}
