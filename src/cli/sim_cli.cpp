#include "sim_cli.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <borderflow/core/huge_page_heap.h>
#include <borderflow/core/json.h>
#include <borderflow/sim/report.h>
#include <borderflow/sim/twin.h>

namespace borderflow::cli {

namespace {

namespace fs = std::filesystem;
using sim::TwinResult;

constexpr int kExitOk = 0;
// The runs finished and their results are written, but the engine refused commands the twin
// does not model as an outcome (a declaration refused is one: those trucks wait, counted).
constexpr int kExitEngineRefused = 1;
constexpr int kExitError = 2;

struct SimFlags {
  std::string scenario;
  std::string policies = "smart";
  std::string seed = "1";
  std::string json_out;
  std::string report_dir;
  std::string lang = "en";         // report.html's language shown first
  std::vector<std::string> lanes;  // DIRECTION/class=N[,N...]
  int days = 0;                    // 0: the scenario's
  bool quiet = false;
};

// Items as given, empty ones included ("fifo,,smart" names an empty policy: refused later).
std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);) out.push_back(item);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

int Fail(const Error& e) {
  std::cerr << "error: " << e.ToString() << "\n";
  return kExitError;
}

Status WriteFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    return InvalidArgument("write_failed", fmt::format("cannot write {}", path.string()));
  }
  return {};
}

// A seed: a decimal integer from 0 to 2^64-1 ("-1" and "99999999999999999999" used to run with
// 18446744073709551615 without a word).
Result<uint64_t> ParseSeed(const std::string& text) {
  uint64_t seed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(
        "bad_option",
        fmt::format("--seed {}: expected an integer from 0 to {}", text.substr(0, 40), UINT64_MAX),
        "seed");
  }
  return seed;
}

// --lang: a language of the report page (vi, zh, en).
Status CheckLang(const std::string& lang) {
  if (sim::IsReportLanguage(lang)) return {};
  return InvalidArgument(
      "bad_option",
      fmt::format("--lang {}: expected vi (Vietnamese), zh (Chinese) or en (English)",
                  lang.substr(0, 40)),
      "lang");
}

// A run to make: a policy and lane counts.
struct Variant {
  std::string policy;
  std::map<std::string, int> lanes;
  std::string label;
};

Result<std::vector<Variant>> Variants(const SimFlags& flags) {
  std::vector<std::string> policies = Split(flags.policies, ',');
  if (policies.empty()) return InvalidArgument("bad_option", "--policy names no policy", "policy");
  for (size_t i = 0; i < policies.size(); ++i) {
    if (policies[i].empty()) {
      return InvalidArgument("bad_option",
                             fmt::format("--policy {}: an empty name in the list", flags.policies),
                             "policy");
    }
    if (std::find(policies.begin(), policies.begin() + static_cast<long>(i), policies[i]) !=
        policies.begin() + static_cast<long>(i)) {
      return InvalidArgument(
          "bad_option",
          fmt::format("--policy {}: '{}' is named twice (the runs would be the same)",
                      flags.policies, policies[i]),
          "policy");
    }
  }
  // Lane variants: the product of every --lanes option's counts.
  std::vector<std::map<std::string, int>> lane_sets = {{}};
  for (const std::string& spec : flags.lanes) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || spec.find('/') > eq) {
      return InvalidArgument(
          "bad_option", fmt::format("--lanes {}: expected DIRECTION/lane_class=N[,N...]", spec),
          "lanes");
    }
    std::string key = spec.substr(0, eq);
    if (!lane_sets.front().empty() && lane_sets.front().contains(key)) {
      return InvalidArgument(
          "bad_option", fmt::format("--lanes {}: {} is given in two --lanes options", spec, key),
          "lanes");
    }
    std::vector<std::map<std::string, int>> next;
    std::vector<int> seen;
    for (const std::string& count : Split(spec.substr(eq + 1), ',')) {
      int n = -1;
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc() || end != count.data() + count.size()) n = -1;  // "3abc", ""
      if (n < 0 || n > 100) {
        return InvalidArgument(
            "bad_option", fmt::format("--lanes {}: '{}' is not a lane count 0..100", spec, count),
            "lanes");
      }
      if (std::find(seen.begin(), seen.end(), n) != seen.end()) {
        return InvalidArgument(
            "bad_option",
            fmt::format("--lanes {}: {} is given twice (the runs would be the same)", spec, n),
            "lanes");
      }
      seen.push_back(n);
      for (auto set : lane_sets) {
        set[key] = n;
        next.push_back(set);
      }
    }
    lane_sets = next;
  }
  // Short labels for the legends and tables: "fifo · 2 lanes" when one lane class varies (the
  // command line and the lane table name it), "fifo · VN-CN/fresh_produce 2 · ..." otherwise.
  std::vector<Variant> out;
  for (const auto& lanes : lane_sets) {
    for (const auto& policy : policies) {
      std::string label = policy;
      for (const auto& [key, n] : lanes) {
        label += lanes.size() == 1 ? fmt::format(" · {} lane{}", n, n == 1 ? "" : "s")
                                   : fmt::format(" · {} {}", key, n);
      }
      out.push_back(Variant{policy, lanes, label});
    }
  }
  return out;
}

std::string CommandLine(const SimFlags& flags) {
  std::string s = fmt::format("borderflow simulate {} --policy {} --seed {}", flags.scenario,
                              flags.policies, flags.seed);
  for (const auto& l : flags.lanes) s += " --lanes " + l;
  if (flags.days > 0) s += fmt::format(" --days {}", flags.days);
  if (!flags.json_out.empty()) s += " --json " + flags.json_out;
  if (!flags.report_dir.empty()) s += " --report " + flags.report_dir;
  if (flags.lang != "en") s += " --lang " + flags.lang;
  return s;
}

void PrintSummary(const TwinResult& r) {
  sim::Summary w = r.wait_hours.Summarize();
  sim::Summary p = r.prediction_abs_error_hours.Summarize();
  std::cout << fmt::format(
      "{:<28} arrived {:>7}  cleared {:>7} ({:.0f}/day)  wait h mean {:.1f} p95 {:.1f} max "
      "{:.1f}  spoiled {:>5}  expired {:>5}  pred. error h mean {:.2f} p90 {:.2f}  "
      "{:.1f} s\n",
      r.label, r.trucks_arrived, r.trucks_cleared,
      r.days ? static_cast<double>(r.trucks_cleared) / r.days : 0.0, w.mean, w.p95, w.max,
      r.spoiled_perishables, r.expired_declarations, p.mean, p.p90, r.wall_seconds);
  if (r.trucks_refused > 0) {
    std::cout << fmt::format("  WARNING: the engine refused {} trucks' declarations (",
                             r.trucks_refused);
    bool first = true;
    for (const auto& [code, n] : r.refused_by_code) {
      std::cout << fmt::format("{}{} {}", first ? "" : ", ", code, n);
      first = false;
    }
    std::cout << fmt::format(
        "): they count as arrived, are never served, and wait at the border; {} trucks waiting "
        "at the end\n",
        r.waiting_at_end);
  }
  if (int64_t other = r.command_errors - r.trucks_refused; other > 0) {
    std::cout << fmt::format("  WARNING: {} other commands refused by the engine:", other);
    for (const auto& [code, n] : r.errors_by_code) {
      auto refused = r.refused_by_code.find(code);
      int64_t k = n - (refused == r.refused_by_code.end() ? 0 : refused->second);
      if (k > 0) std::cout << fmt::format(" {} {}", code, k);
    }
    std::cout << " (the twin's model and the engine disagree: see errors_by_code)\n";
  }
}

// Columns of the terminal on stderr (COLUMNS, else 80).
int TerminalColumns() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* env = std::getenv("COLUMNS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return 80;
}

// Checks before the runs that the results can be written: a --report that is a file, or a
// folder that cannot be made or written, used to fail only after the whole simulation.
Status CheckWritable(const SimFlags& flags) {
  std::error_code ec;
  if (!flags.report_dir.empty()) {
    fs::path dir(flags.report_dir);
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
      return InvalidArgument("write_failed",
                             fmt::format("--report {}: exists and is not a folder", dir.string()),
                             "report");
    }
    fs::create_directories(dir, ec);
    if (ec || ::access(dir.c_str(), W_OK) != 0) {
      return InvalidArgument(
          "write_failed", fmt::format("--report {}: cannot make or write the folder", dir.string()),
          "report");
    }
  }
  if (!flags.json_out.empty()) {
    fs::path file(flags.json_out);
    if (fs::is_directory(file, ec)) {
      return InvalidArgument("write_failed", fmt::format("--json {}: is a folder", file.string()),
                             "json");
    }
    fs::path parent = file.has_parent_path() ? file.parent_path() : fs::path(".");
    fs::create_directories(parent, ec);
    if (!fs::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0) {
      return InvalidArgument(
          "write_failed",
          fmt::format("--json {}: cannot write in {}", file.string(), parent.string()), "json");
    }
  }
  return {};
}

int Simulate(const SimFlags& flags) {
  auto scenario = sim::LoadScenario(flags.scenario);
  if (!scenario) return Fail(scenario.error());
  if (flags.days > scenario->days) {
    return Fail(InvalidArgument(
        "bad_option",
        fmt::format("--days {}: the scenario has {} days (--days runs only the first N)",
                    flags.days, scenario->days),
        "days"));
  }
  if (flags.days > 0) scenario->days = flags.days;
  auto seed = ParseSeed(flags.seed);
  if (!seed) return Fail(seed.error());
  if (auto s = CheckLang(flags.lang); !s) return Fail(s.error());
  auto variants = Variants(flags);
  if (!variants) return Fail(variants.error());
  if (auto s = CheckWritable(flags); !s) return Fail(s.error());
  const bool bar = !flags.quiet && ::isatty(STDERR_FILENO);
  const int columns = bar ? TerminalColumns() : 80;
  // The twin's in-memory store only grows (more than a gigabyte over a 90-day season): its heap
  // in huge pages saves a page fault per fresh 4 KiB (docs/benchmarks.md, "Digital twin").
  UseHugePagesForHeap();
  std::vector<TwinResult> runs;
  for (size_t k = 0; k < variants->size(); ++k) {
    const Variant& v = (*variants)[k];
    sim::TwinOptions options;
    options.policy = v.policy;
    options.seed = *seed;
    options.lanes = v.lanes;
    options.label = v.label;
    options.keep_store_until_exit = k + 1 == variants->size();  // the last: the process ends
    std::string drawn;  // redrawn only when the line changes
    if (bar) {
      options.progress = [&, k](double f) {
        std::string line = SimProgressLine(f, k + 1, variants->size(), v.label, columns);
        if (line == drawn) return;
        drawn = line;
        std::fprintf(stderr, "\r%s", line.c_str());
        std::fflush(stderr);
      };
    }
    auto started = std::chrono::steady_clock::now();
    auto result = sim::RunTwin(*scenario, options);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (bar) {
      std::fprintf(stderr, "\r%s\r", std::string(static_cast<size_t>(columns - 1), ' ').c_str());
    }
    if (!result) return Fail(result.error());
    result->wall_seconds = wall;
    PrintSummary(*result);
    runs.push_back(std::move(*result));
  }
  if (!flags.json_out.empty()) {
    std::string text;
    if (runs.size() == 1) {
      text = ToJsonText(sim::ResultJson(runs.front()));
    } else {
      boost::json::array all;
      for (const auto& r : runs) all.push_back(sim::ResultJson(r));
      text = ToJsonText(boost::json::object{{"runs", std::move(all)}});
    }
    if (auto s = WriteFile(flags.json_out, text + "\n"); !s) return Fail(s.error());
  }
  if (!flags.report_dir.empty()) {
    fs::path dir(flags.report_dir);
    std::string command = CommandLine(flags);
    boost::json::array all;
    for (const auto& r : runs) all.push_back(sim::ResultJson(r, true));
    for (auto [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"report.html", sim::ComparisonHtml(*scenario, runs, command, flags.lang)},
             {"summary.md", "Made with `" + command + "`\n\n" + sim::ComparisonMarkdown(runs)},
             {"results.json",
              ToJsonText(boost::json::object{{"command", command}, {"runs", std::move(all)}}) +
                  "\n"}}) {
      if (auto s = WriteFile(dir / name, text); !s) return Fail(s.error());
    }
    std::cout << "report: " << (dir / "report.html").string() << "\n";
  }
  for (const auto& r : runs) {
    if (r.command_errors > r.trucks_refused) {
      std::cerr << fmt::format(
          "error: run {}: the engine refused {} commands the twin does not expect (see "
          "errors_by_code); the results are written but do not model the scenario faithfully\n",
          r.label, r.command_errors - r.trucks_refused);
      return kExitEngineRefused;
    }
  }
  return kExitOk;
}

}  // namespace

// One line of progress, at most `columns` - 1 characters: the bar shrinks, then the label goes.
std::string SimProgressLine(double f, size_t run, size_t runs, const std::string& label,
                            int columns) {
  int percent = static_cast<int>(f * 100);
  std::string tail = fmt::format(" {:3d}%  run {}/{} {}", percent, run, runs, label);
  int room = columns - 1;
  int bar = std::min(40, room - static_cast<int>(tail.size()) - 2);
  if (bar < 10) {
    tail = fmt::format(" {:3d}%  run {}/{}", percent, run, runs);
    bar = std::min(40, room - static_cast<int>(tail.size()) - 2);
  }
  std::string line;
  if (bar >= 5) {
    int filled = percent * bar / 100;  // of the whole percent: the line changes with it only
    line = "[" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(bar - filled), '.') + "]";
  }
  line += tail;
  if (static_cast<int>(line.size()) > room) {
    line.resize(static_cast<size_t>(std::max(0, room)));
    // Not half a character: drop a cut (or whole) multi-byte one at the end.
    while (!line.empty() && static_cast<unsigned char>(line.back()) >= 0x80) line.pop_back();
  }
  return line;
}

std::function<std::optional<int>()> AddSimCommands(CLI::App& app) {
  auto flags = std::make_shared<SimFlags>();
  auto* cmd = app.add_subcommand(
      "simulate", "run a digital-twin scenario on the engine and compare queue policies");
  cmd->add_option("scenario", flags->scenario, "scenario file (TOML, see docs/simulation.md)")
      ->required();
  cmd->add_option("--policy", flags->policies,
                  "fifo, cyclic or smart; several separated by commas run on the same arrivals")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "random seed, 0 to 18446744073709551615")
      ->capture_default_str();
  cmd->add_option("--json", flags->json_out, "write the result as JSON to this file");
  cmd->add_option("--report", flags->report_dir,
                  "write report.html (SVG charts), summary.md and results.json to this folder");
  cmd->add_option("--lang", flags->lang,
                  "language report.html shows first: vi, zh or en (the page has all three and a "
                  "switcher)")
      ->capture_default_str();
  cmd->add_option("--lanes", flags->lanes,
                  "lane counts to compare, DIRECTION/lane_class=N[,N...] (repeatable)");
  cmd->add_option("--days", flags->days, "simulate only the first N days of the scenario")
      ->check(CLI::Range(1, 366));
  cmd->add_flag("--quiet", flags->quiet, "no progress bar");
  return [cmd, flags]() -> std::optional<int> {
    if (!cmd->parsed()) return std::nullopt;
    return Simulate(*flags);
  };
}

}  // namespace borderflow::cli
