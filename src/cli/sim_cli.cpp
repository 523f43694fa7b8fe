#include "sim_cli.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
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
constexpr int kExitError = 2;

struct SimFlags {
  std::string scenario;
  std::string policies = "smart";
  uint64_t seed = 1;
  std::string json_out;
  std::string report_dir;
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

// A run to make: a policy and lane counts.
struct Variant {
  std::string policy;
  std::map<std::string, int> lanes;
  std::string label;
};

Result<std::vector<Variant>> Variants(const SimFlags& flags) {
  std::vector<std::string> policies = Split(flags.policies, ',');
  if (policies.empty()) return InvalidArgument("bad_option", "--policy names no policy", "policy");
  for (const std::string& policy : policies) {
    if (policy.empty()) {
      return InvalidArgument("bad_option",
                             fmt::format("--policy {}: an empty name in the list", flags.policies),
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
    std::vector<std::map<std::string, int>> next;
    for (const std::string& count : Split(spec.substr(eq + 1), ',')) {
      int n = -1;
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc() || end != count.data() + count.size()) n = -1;  // "3abc", ""
      if (n < 0 || n > 100) {
        return InvalidArgument(
            "bad_option", fmt::format("--lanes {}: '{}' is not a lane count 0..100", spec, count),
            "lanes");
      }
      for (auto set : lane_sets) {
        set[key] = n;
        next.push_back(set);
      }
    }
    lane_sets = next;
  }
  std::vector<Variant> out;
  for (const auto& lanes : lane_sets) {
    for (const auto& policy : policies) {
      std::string label = policy;
      for (const auto& [key, n] : lanes) label += fmt::format(" {}={}", key, n);
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
  if (r.command_errors > 0) {
    std::cout << fmt::format("  {} commands refused by the engine:", r.command_errors);
    for (const auto& [code, n] : r.errors_by_code) std::cout << fmt::format(" {} {}", code, n);
    std::cout << "\n";
  }
}

int Simulate(const SimFlags& flags) {
  auto scenario = sim::LoadScenario(flags.scenario);
  if (!scenario) return Fail(scenario.error());
  if (flags.days > 0) scenario->days = flags.days;
  auto variants = Variants(flags);
  if (!variants) return Fail(variants.error());
  const bool bar = !flags.quiet && ::isatty(STDERR_FILENO);
  // The twin's in-memory store only grows (more than a gigabyte over a 90-day season): its heap
  // in huge pages saves a page fault per fresh 4 KiB (docs/benchmarks.md, "Digital twin").
  UseHugePagesForHeap();
  std::vector<TwinResult> runs;
  for (size_t k = 0; k < variants->size(); ++k) {
    const Variant& v = (*variants)[k];
    sim::TwinOptions options;
    options.policy = v.policy;
    options.seed = flags.seed;
    options.lanes = v.lanes;
    options.label = v.label;
    options.keep_store_until_exit = k + 1 == variants->size();  // the last: the process ends
    if (bar) {
      options.progress = [&, k](double f) {
        int filled = static_cast<int>(f * 40);
        std::fprintf(stderr, "\r[%s%s] %3d%%  run %zu/%zu %s", std::string(filled, '#').c_str(),
                     std::string(40 - filled, '.').c_str(), static_cast<int>(f * 100), k + 1,
                     variants->size(), v.label.c_str());
        std::fflush(stderr);
      };
    }
    auto started = std::chrono::steady_clock::now();
    auto result = sim::RunTwin(*scenario, options);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (bar) std::fprintf(stderr, "\r%s\r", std::string(80, ' ').c_str());
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
             {"report.html", sim::ComparisonHtml(*scenario, runs, command)},
             {"summary.md", "Made with `" + command + "`\n\n" + sim::ComparisonMarkdown(runs)},
             {"results.json",
              ToJsonText(boost::json::object{{"command", command}, {"runs", std::move(all)}}) +
                  "\n"}}) {
      if (auto s = WriteFile(dir / name, text); !s) return Fail(s.error());
    }
    std::cout << "report: " << (dir / "report.html").string() << "\n";
  }
  return kExitOk;
}

}  // namespace

std::function<std::optional<int>()> AddSimCommands(CLI::App& app) {
  auto flags = std::make_shared<SimFlags>();
  auto* cmd = app.add_subcommand(
      "simulate", "run a digital-twin scenario on the engine and compare queue policies");
  cmd->add_option("scenario", flags->scenario, "scenario file (TOML, see docs/simulation.md)")
      ->required();
  cmd->add_option("--policy", flags->policies,
                  "fifo, cyclic or smart; several separated by commas run on the same arrivals")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "random seed")->capture_default_str();
  cmd->add_option("--json", flags->json_out, "write the result as JSON to this file");
  cmd->add_option("--report", flags->report_dir,
                  "write report.html (SVG charts), summary.md and results.json to this folder");
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
