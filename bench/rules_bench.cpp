// Selectivity rules: declarations assessed per second on one core against a generated 200-rule
// set (HS-specific rules with origin, direction and valuation criteria; trader, weight, document,
// history and watch-list rules; random selection), goal >= 1,000,000/s. Also reports the compile
// time of the set and how many rules fire per declaration.
//
// The set is run twice, its text differing only in `random draw`: siphash24 (what new sets say)
// and blake2b (the default of sets written before it), in alternating slices of the measured
// time so that both see the same load; the table gives their ratio.
//
//   rules_bench                       (200 rules, 10,000 distinct declarations, 3 s each)
//   rules_bench --rules 1000 --seconds 5 --draw siphash24 --markdown out.md

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <borderflow/core/random.h>
#include <borderflow/rules/assessment.h>

namespace borderflow::rules {
namespace {

const char* kReason = "reason en \"Generated rule\" vi \"Quy tắc sinh tự động\" zh \"生成的规则\"";

// A realistic mix of HS codes at Huu Nghi – Youyiguan: fruit, vegetables, seafood, rubber,
// furniture, electronics, machinery, textiles.
const char* kHs[] = {"08106000", "08109040", "08045020", "08039010", "07099990", "03061719",
                     "03038990", "40012200", "94036090", "85171300", "84713020", "85423100",
                     "61091010", "87089900", "39269099", "72142000", "10063099", "09041110"};
const char* kOrigins[] = {"VN", "CN", "TH", "LA", "KH", "MY"};

std::string GenerateRules(int count, Random& rng, std::string_view draw) {
  std::string out = fmt::format(
      "ruleset \"bench\" version 1\nthreshold yellow 30\nthreshold red 80\n"
      "random minimum 1%\nrandom draw {}\n",
      draw);
  for (const char* hs : kHs) {
    out += fmt::format("reference hs.subheading {} unit_value {} .. {}\n", std::string(hs, 6),
                       1 + rng.Next64() % 5, 50 + rng.Next64() % 500);
  }
  out += "list \"plates\" [\"12C99999\", \"14H00013\", \"29H12345\", \"LONGPLATE-001\"]\n";
  auto pick = [&](auto& arr) { return arr[rng.Next64() % std::size(arr)]; };
  const char* channels[] = {"green", "yellow", "red"};
  for (int i = 0; i < count; ++i) {
    std::string when;
    int kind = i % 20;
    std::string hs = pick(kHs);
    if (kind < 14) {  // HS-specific (70%), each as narrow as analysts write them
      switch (i % 4) {
        case 0:
          when = fmt::format("hs.chapter == {} and origin == \"{}\" and lane_class == \"{}\"",
                             hs.substr(0, 2), pick(kOrigins),
                             i % 8 == 0 ? "fresh_produce" : "general_cargo");
          break;
        case 1:
          when = fmt::format(
              "hs.heading in [{}, {}] and direction == \"{}\" and trader.class in [\"C\", \"D\"]",
              hs.substr(0, 4), std::string(pick(kHs)).substr(0, 4), i % 8 == 1 ? "VN-CN" : "CN-VN");
          break;
        case 2:
          when = fmt::format("hs.subheading == {} and unit_value < reference.min * 0.{}",
                             hs.substr(0, 6), 5 + i % 5);
          break;
        default:
          when = fmt::format(
              "hs.chapter in [{}..{}] and origin not in [\"VN\", \"CN\"] and gross_weight > {}",
              hs.substr(0, 2), hs.substr(0, 2), 10000 + 1000 * (i % 10));
          break;
      }
    } else {
      switch (kind) {
        case 14:
          when = fmt::format("trader.risk > 0.{} and not trader.trusted", 2 + i % 3);
          break;
        case 15:
          when = fmt::format("weight.deviation > {}%", 5 + i % 10);
          break;
        case 16:
          when = fmt::format("phyto in [missing, invalid] and lane_class == \"fresh_produce\"");
          break;
        case 17:
          when =
              fmt::format("vehicle.findings >= {} or driver.findings >= {}", 1 + i % 3, 2 + i % 3);
          break;
        case 18:
          when = "watchlist \"stolen-vehicles\" or vehicle.plate in list \"plates\"";
          break;
        default:
          when = i % 40 == 19 ? "not empty and random 2%"
                              : fmt::format("trader.class == \"D\" and seal == broken");
          break;
      }
    }
    out += fmt::format("rule \"r{}\" {{\n  when {}\n  then channel {}, score {}\n  {}\n}}\n", i,
                       when, channels[i % 3], 5 + i % 40, kReason);
  }
  return out;
}

std::vector<RiskFacts> GenerateFacts(size_t n, Random& rng) {
  std::vector<RiskFacts> out;
  for (size_t i = 0; i < n; ++i) {
    RiskFacts f;
    f.crossing_id = fmt::format("CR-BENCH{:08d}", i);
    bool vn_cn = rng.Next64() % 2 == 0;
    f.direction = vn_cn ? "VN-CN" : "CN-VN";
    f.from_country = vn_cn ? "VN" : "CN";
    f.to_country = vn_cn ? "CN" : "VN";
    f.lane_class = rng.Next64() % 3 == 0 ? "fresh_produce" : "general_cargo";
    size_t lines = 1 + rng.Next64() % 3;
    if (rng.Next64() % 20 == 0) lines = 0;  // empty trucks returning
    for (size_t l = 0; l < lines; ++l) {
      double kg = 500 + static_cast<double>(rng.Next64() % 20000);
      f.lines.push_back(LineFacts{kHs[rng.Next64() % std::size(kHs)],
                                  kOrigins[rng.Next64() % std::size(kOrigins)], kg,
                                  kg * static_cast<double>(1 + rng.Next64() % 300),
                                  static_cast<int64_t>(1 + rng.Next64() % 1000)});
    }
    f.trader.company = fmt::format("COMPANY-{}", rng.Next64() % 500);
    f.trader.compliance_class = std::string(1, static_cast<char>('A' + rng.Next64() % 4));
    f.trader.trusted = rng.Next64() % 10 == 0;
    double u = static_cast<double>(rng.Next64() % 1000) / 1000.0;
    f.trader.risk = u * u * u * 0.5;  // most traders comply; a few are risky
    f.vehicle_plate = fmt::format("12C{:05d}", rng.Next64() % 100000);
    f.vehicle = HistoryFacts{
        static_cast<int64_t>(rng.Next64() % 100), static_cast<int64_t>(rng.Next64() % 10),
        rng.Next64() % 20 == 0 ? static_cast<int64_t>(1 + rng.Next64() % 3) : 0};
    f.driver_document = fmt::format("B{:07d}", rng.Next64() % 10000000);
    if (rng.Next64() % 2 == 0) {
      double declared = 0;
      for (const auto& l : f.lines) declared += l.gross_weight_kg;
      bool off = rng.Next64() % 20 == 0;  // 5% of the readings are far off
      f.weighbridge_kg =
          declared * (off ? 1.15 : 0.98 + static_cast<double>(rng.Next64() % 40) / 1000.0);
    }
    f.phytosanitary = rng.Next64() % 10 == 0 ? static_cast<DocumentStatus>(rng.Next64() % 4)
                                             : DocumentStatus::kValid;
    f.customs_declaration = DocumentStatus::kUnchecked;
    f.seal = rng.Next64() % 50 == 0 ? SealStatus::kBroken : SealStatus::kIntact;
    if (rng.Next64() % 200 == 0) f.watchlists.push_back("stolen-vehicles");
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace
}  // namespace borderflow::rules

namespace {

using namespace borderflow;
using namespace borderflow::rules;

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One rule set under measurement: its statistics from one pass and the time spent so far.
struct Run {
  std::string draw;
  RuleSet rules;
  double compile_ms = 0;
  size_t fired = 0, red = 0, yellow = 0;
  uint64_t done = 0;
  uint64_t checksum = 0;
  double cpu = 0;
  double wall = 0;
  double Rate() const { return static_cast<double>(done) / cpu; }
};

// Assesses every declaration in turn for about `seconds` of wall-clock time.
void Measure(Run& run, const std::vector<RiskFacts>& facts, double seconds, Assessment& a) {
  using Clock = std::chrono::steady_clock;
  const double cpu_start = ThreadCpuSeconds();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    for (const auto& f : facts) {
      Assess(run.rules, f, &a);
      run.checksum += static_cast<uint64_t>(a.channel) + a.fired.size();
    }
    run.done += facts.size();
  }
  run.wall += std::chrono::duration<double>(Clock::now() - start).count();
  run.cpu += ThreadCpuSeconds() - cpu_start;
}

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  CLI::App app{"borderflow selectivity rules benchmark"};
  int rule_count = 200;
  size_t declarations = 10000;
  double seconds = 3;
  int slices = 6;
  std::string draw = "both";
  std::string markdown;
  app.add_option("--rules", rule_count, "rules in the generated set")->capture_default_str();
  app.add_option("--declarations", declarations, "distinct declarations assessed in turn")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds per draw algorithm")
      ->capture_default_str();
  app.add_option("--slices", slices, "alternating slices the measured time is cut into")
      ->capture_default_str();
  app.add_option("--draw", draw, "the sets' random draw: siphash24, blake2b or both")
      ->check(CLI::IsMember({"both", "siphash24", "blake2b"}))
      ->capture_default_str();
  app.add_option("--markdown", markdown, "also write the result table to this file");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> draws;
  if (draw == "both" || draw == "siphash24") draws.push_back("siphash24");
  if (draw == "both" || draw == "blake2b") draws.push_back("blake2b");
  std::vector<Run> runs;
  std::vector<RiskFacts> facts;
  size_t text_bytes = 0;
  for (const std::string& d : draws) {
    SeededRandom rng(42);  // the same rules and declarations for every draw
    std::string text = GenerateRules(rule_count, rng, d);
    text_bytes = text.size();
    RuleCompileOptions options;
    options.secret = "bench-secret-0123456789";
    options.max_bytes = 4 << 20;  // the engine's cost, not the API's upload limit
    auto t0 = Clock::now();
    auto rs = CompileRuleSet(text, options);
    double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!rs) {
      std::cerr << rs.error().ToString() << "\n";
      return 2;
    }
    std::vector<RiskFacts> generated = GenerateFacts(declarations, rng);
    if (facts.empty()) facts = std::move(generated);
    runs.push_back(Run{d, std::move(*rs), compile_ms});
  }

  Assessment a;
  // Warm-up, and the statistics of one pass.
  for (Run& run : runs) {
    for (const auto& f : facts) {
      Assess(run.rules, f, &a);
      run.fired += a.fired.size();
      run.red += a.channel == Channel::kRed ? 1 : 0;
      run.yellow += a.channel == Channel::kYellow ? 1 : 0;
    }
  }
  // The machine may be shared: the rate per core is measured in this thread's CPU time, and
  // the wall-clock rate is shown beside it. The draws take turns, slice by slice.
  slices = std::max(1, slices);
  for (int s = 0; s < slices; ++s) {
    for (Run& run : runs) Measure(run, facts, seconds / slices, a);
  }

  const double n = static_cast<double>(facts.size());
  std::string table =
      "| draw | rules | declarations/s (1 core, CPU time) | ns/declaration | wall-clock/s | "
      "rules fired/declaration | red | yellow | compile | ratio |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Run& run : runs) {
    table += fmt::format(
        "| {} | {} | {:.0f} | {:.0f} | {:.0f} | {:.2f} | {:.1f}% | {:.1f}% | {:.1f} ms | {:.2f}x "
        "|\n",
        run.draw, run.rules.size(), run.Rate(), 1e9 / run.Rate(),
        static_cast<double>(run.done) / run.wall, static_cast<double>(run.fired) / n,
        100.0 * static_cast<double>(run.red) / n, 100.0 * static_cast<double>(run.yellow) / n,
        run.compile_ms, run.Rate() / runs.back().Rate());
  }
  std::cout << table << "(checksums";
  for (const Run& run : runs) std::cout << " " << run.checksum % 1000;
  std::cout << "; " << text_bytes << " bytes of rules; ratio: against " << runs.back().draw
            << ")\n";
  if (!markdown.empty()) std::ofstream(markdown) << table;
  return 0;
}
