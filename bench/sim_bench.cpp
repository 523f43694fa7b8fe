// Benchmarks of the digital twin (docs/benchmarks.md, "Digital twin"):
//   core    the pure event core: an M/M/c queue, events per second (goal: 10 million on one core),
//           side by side with the same model written for SimPy (bench/sim_mmc_simpy.py), as a
//           ratio of customers per second of process time;
//   season  a long season through the real engine (default: scenarios/season-90d.toml, 90 days
//           at 2,500 trucks a day; goal: under 10 s).
//
//   bash bench/run.sh sim                      both
//   bash bench/run.sh sim --only core --customers 5000000
//   bash bench/run.sh sim --only season --scenario scenarios/harvest-peak-2021.toml
//   bash bench/run.sh sim --only season --days 10 --policy fifo --seed 2 --json out.json

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <borderflow/core/huge_page_heap.h>
#include <borderflow/sim/queueing.h>
#include <borderflow/sim/report.h>
#include <borderflow/sim/twin.h>

namespace {

using namespace borderflow::sim;

double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

void Core(int64_t customers, int servers, double rho, int64_t simpy_customers) {
  CServerQueueRun run;
  run.servers = servers;
  run.arrival_rate = rho * servers;
  run.service = Distribution::Exponential(1);
  run.customers = customers;
  run.warmup = 0;
  run.seed = 1;
  double cpu = CpuSeconds();
  auto wall = std::chrono::steady_clock::now();
  CServerQueueResult r = SimulateCServerQueue(run);
  double cpu_s = CpuSeconds() - cpu;
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  double theory = MmcMeanWait(servers, run.arrival_rate, 1);
  std::cout << fmt::format(
      "core: M/M/{} rho {}: {} customers, {} events in {:.3f} s CPU ({:.3f} s wall): {:.2f} "
      "million events/s, {:.2f} million customers/s; mean wait {:.4f} (Erlang C {:.4f})\n",
      servers, rho, customers, r.events, cpu_s, wall_s, r.events / cpu_s / 1e6,
      customers / cpu_s / 1e6, r.wait.mean, theory);
  if (simpy_customers <= 0) return;
  std::string cmd = fmt::format(
      "/usr/bin/python3 {}/bench/sim_mmc_simpy.py --servers {} --rho {} --customers {} 2>&1",
      BORDERFLOW_SOURCE_DIR, servers, rho, simpy_customers);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  std::string out;
  char buf[512];
  while (pipe && std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  boost::system::error_code ec;
  auto v = boost::json::parse(out, ec);
  if (ec || !v.is_object()) {
    std::cout << "simpy: not run (install python3-simpy: bash scripts/setup.sh): " << out << "\n";
    return;
  }
  double seconds = v.at("seconds").to_number<double>();
  double simpy_rate = simpy_customers / seconds;
  double our_rate = customers / cpu_s;
  std::cout << fmt::format(
      "simpy: the same M/M/{} in SimPy 2 (python3-simpy): {} customers in {:.3f} s CPU: "
      "{:.3f} million customers/s; mean wait {:.4f}\n"
      "ratio: the event core serves {:.0f}x the customers per CPU second of SimPy\n",
      servers, simpy_customers, seconds, simpy_rate / 1e6, v.at("mean_wait").to_number<double>(),
      our_rate / simpy_rate);
}

int Season(const std::string& path, const std::string& policy, int days, uint64_t seed,
           bool chain_audit, const std::string& json_out) {
  auto scenario = LoadScenario(path);
  if (!scenario) {
    std::cerr << scenario.error().ToString() << "\n";
    return 2;
  }
  if (days > 0) scenario->days = days;  // as borderflow simulate --days
  // As borderflow simulate: the store only grows, and fresh 4 KiB pages cost a fault each.
  borderflow::UseHugePagesForHeap();
  TwinOptions options;
  options.policy = policy;
  options.label = policy;
  options.seed = seed;
  options.keep_store_until_exit = true;  // the process ends after this run
  options.chain_audit_records = chain_audit;
  double cpu = CpuSeconds();
  auto wall = std::chrono::steady_clock::now();
  auto r = RunTwin(*scenario, options);
  double cpu_s = CpuSeconds() - cpu;
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  if (!r) {
    std::cerr << r.error().ToString() << "\n";
    return 2;
  }
  r->wall_seconds = wall_s;
  std::cout << fmt::format(
      "season: {} ({} days, policy {}{}): {} trucks arrived, {} cleared, {} engine commands "
      "({} queue ticks), {} events in {:.2f} s CPU ({:.2f} s wall): {:.0f} commands/s, "
      "{:.1f} simulated days per CPU second; {} commands refused\n",
      scenario->name, scenario->days, r->policy, chain_audit ? ", audit records hash-chained" : "",
      r->trucks_arrived, r->trucks_cleared, r->engine_commands, r->queue_ticks, r->events_processed,
      cpu_s, wall_s, r->engine_commands / cpu_s, scenario->days / cpu_s, r->command_errors);
  if (!json_out.empty()) {
    std::FILE* f = std::fopen(json_out.c_str(), "w");
    if (f != nullptr) {
      std::fputs(boost::json::serialize(ResultJson(*r)).c_str(), f);
      std::fclose(f);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"digital twin benchmarks"};
  std::string only;
  int64_t customers = 5'000'000;
  int64_t simpy_customers = 200'000;
  int servers = 8;
  double rho = 0.9;
  std::string scenario = std::string(BORDERFLOW_SOURCE_DIR) + "/scenarios/season-90d.toml";
  std::string policy = "smart";
  std::string json_out;
  int days = 0;
  uint64_t seed = 1;
  bool chain_audit = false;
  app.add_option("--only", only, "core or season (default: both)");
  app.add_option("--customers", customers, "core: customers of the C++ run")->capture_default_str();
  app.add_option("--simpy-customers", simpy_customers, "core: customers of the SimPy run (0: skip)")
      ->capture_default_str();
  app.add_option("--servers", servers, "core: servers")->capture_default_str();
  app.add_option("--rho", rho, "core: utilisation")->capture_default_str();
  app.add_option("--scenario", scenario, "season: scenario file")->capture_default_str();
  app.add_option("--policy", policy, "season: queue policy")->capture_default_str();
  app.add_option("--json", json_out, "season: write the result JSON here");
  app.add_option("--days", days, "season: only the first N days of the scenario (0: all)")
      ->check(CLI::Range(0, 366));
  app.add_option("--seed", seed, "season: random seed")->capture_default_str();
  app.add_flag("--chain-audit", chain_audit,
               "season: hash-chain the twin store's audit records, as a kept trail is (by "
               "default they are numbered only: the twin keeps no trail)");
  CLI11_PARSE(app, argc, argv);
  if (only.empty() || only == "core") Core(customers, servers, rho, simpy_customers);
  if (only.empty() || only == "season")
    return Season(scenario, policy, days, seed, chain_audit, json_out);
  return 0;
}
