#pragma once

// What makes a load perishable: the one definition behind the electronic queue's perishable
// priority (and the freshness deadline it counts) and the risk rules' `perishable` fact, so that
// the two cannot drift apart.

#include <borderflow/domain/crossing.h>
#include <borderflow/domain/gate_config.h>

namespace borderflow {

// Whether the declared load is perishable goods (HS 2022 chapters 02 meat, 03 fish, 04 dairy
// and eggs, 06 live plants and cut flowers, 07 vegetables, 08 fruit and nuts) for at least 80%
// of its gross weight. False for a load without lines or weight.
bool CarriesPerishableGoods(const Declaration& d);

// Whether a declaration is a perishable load: declared in a perishable lane class, or with a
// freshness deadline on a load that CarriesPerishableGoods (fresh fruit sharing the general-cargo
// lane). A freshness deadline on other goods (a truck of inverters) is the declarant's statement,
// kept with the crossing, but does not make the load perishable. `lane_class` is the gate
// configuration's class of d.lane_class (nullptr when unknown: then the goods decide).
bool IsPerishableLoad(const Declaration& d, const LaneClass* lane_class);

}  // namespace borderflow
