#pragma once

#include <string>
#include <string_view>

#include <borderflow/domain/gate_config.h>

namespace borderflow::api {

// A self-contained HTML page (no external assets) that shows the public gate status from
// /api/v1/gate in Vietnamese, Chinese or English and refreshes itself. The full web
// application replaces it.
std::string StatusPageHtml(const GateConfig& config);

// The Content-Security-Policy for `html` (a page from StatusPageHtml): its one inline script is
// allowed by its SHA-256 hash, and nothing else may run; styles inline, fetches to this origin,
// no framing.
std::string StatusPageContentSecurityPolicy(std::string_view html);

}  // namespace borderflow::api
