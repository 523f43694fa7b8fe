#pragma once

// What a twin run produces for people and programs: the JSON result (`borderflow simulate
// --json`), and the comparison report of several runs on the same arrivals (one self-contained
// HTML page with inline SVG charts drawn here, and a Markdown table for docs/).

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/sim/scenario.h>
#include <borderflow/sim/twin.h>

namespace borderflow::sim {

// The result as JSON: trucks_arrived, trucks_cleared, throughput_per_day, lane_utilisation,
// wait_hours (mean, p50, p95, max overall, per priority class and per lane class),
// spoiled_perishables, expired_declarations, prediction_abs_error_hours (mean, p90),
// events_processed, wall_seconds and more (docs/simulation.md). With `series`, also the queue
// samples and the per-day counts.
boost::json::object ResultJson(const TwinResult& result, bool series = false);

// The report page's languages, in its switcher's order: Vietnamese, Chinese (Simplified),
// English.
inline constexpr const char* kReportLanguages[] = {"vi", "zh", "en"};
bool IsReportLanguage(std::string_view lang);

// The HTML comparison report. `command` is the command line that made it (shown on the page).
// The page holds its text in every report language and switches between them in the browser (a
// small inline script; the file stays self-contained); `lang` (one of kReportLanguages, else
// English) is the one shown first.
std::string ComparisonHtml(const Scenario& scenario, const std::vector<TwinResult>& runs,
                           const std::string& command, std::string_view lang = "en");
// The key figures as a Markdown table (for docs/).
std::string ComparisonMarkdown(const std::vector<TwinResult>& runs);

}  // namespace borderflow::sim
