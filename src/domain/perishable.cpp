// What makes a load perishable (perishable.h).

#include <cstdint>
#include <string_view>

#include <borderflow/domain/perishable.h>

namespace borderflow {

bool CarriesPerishableGoods(const Declaration& d) {
  // HS 2022 chapters of goods that spoil within days: 02 meat, 03 fish, 04 dairy and eggs,
  // 06 live plants and cut flowers, 07 vegetables, 08 fruit and nuts.
  auto perishable = [](std::string_view chapter) {
    return chapter == "02" || chapter == "03" || chapter == "04" || chapter == "06" ||
           chapter == "07" || chapter == "08";
  };
  int64_t total = 0, fresh = 0;
  for (const ConsignmentLine& line : d.lines) {
    total += line.gross_weight_grams;
    if (perishable(line.hs.chapter)) fresh += line.gross_weight_grams;
  }
  // As for a green lane for fresh produce: at least 80% of the load by weight (a box of fruit
  // on a truck of inverters does not make it a perishable load).
  return total > 0 && fresh * 5 >= total * 4;
}

bool IsPerishableLoad(const Declaration& d, const LaneClass* lane_class) {
  if (lane_class != nullptr && lane_class->perishable) return true;
  return d.freshness_deadline.has_value() && CarriesPerishableGoods(d);
}

}  // namespace borderflow
