#pragma once

#include <string>

#include <borderflow/domain/gate_config.h>

namespace borderflow::api {

// A self-contained HTML page (no external assets) that shows the public gate status from
// /api/v1/gate in Vietnamese, Chinese or English and refreshes itself. The full web
// application replaces it.
std::string StatusPageHtml(const GateConfig& config);

}  // namespace borderflow::api
