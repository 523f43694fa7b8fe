// Electronic-queue benchmarks (issue 3), side by side in one run:
//   - booking throughput through the engine: durable `book` commands per second from many
//     concurrent submitters (group commit, SQLite WAL fdatasynced before the answer);
//   - re-planning N booked trucks after a capacity change: the planner alone (PlanLane), and
//     the whole ChangeCapacity command through the engine (every lane re-planned, the changed
//     expected call times diffed into one audit record, committed durably).
//
//   bench/run.sh queue                  (builds the release preset and runs this)
//   queue_bench --trucks 10000 --markdown out.md

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/queue/planner.h>
#include <borderflow/store/sqlite_store.h>

namespace borderflow {
namespace {

// One busy lane (VN-CN general cargo, 40 lanes × 15 min / 20 min = 30 calls a bucket) and a
// week of booking horizon, so that 10,000 trucks can hold bookings at once.
constexpr std::string_view kConfig = R"(
[node]
id = "vn-huu-nghi"
country = "VN"
name = "Huu Nghi"
utc_offset = "+07:00"
open = "07:00"
close = "23:00"
staging_yard_capacity = 20000
declaration_validity_hours = 720

[counterpart]
id = "cn-youyiguan"
country = "CN"
name = "Youyiguan"
utc_offset = "+08:00"
open = "08:00"
close = "24:00"

[[lane_classes]]
id = "general_cargo"
name = "General cargo"

[[lane_classes]]
id = "fresh_produce"
name = "Fresh produce"
perishable = true

[[directions]]
id = "VN-CN"
from = "VN"
to = "CN"
lanes = { general_cargo = 40, fresh_produce = 4 }

[[directions]]
id = "CN-VN"
from = "CN"
to = "VN"
lanes = { general_cargo = 3, fresh_produce = 1 }

[queue]
booking_horizon_hours = 240
max_open_bookings_per_company = 100000
service_minutes = { general_cargo = 20, fresh_produce = 15 }
policy = "smart"
)";

struct Row {
  std::string what;
  std::string figure;
  std::string note;
};

std::string DeclarationBody(uint64_t n) {
  return fmt::format(R"({{"direction":"VN-CN","lane_class":"general_cargo",
    "vehicle":{{"plate":"12C-{:03d}.{:02d}"}},
    "driver":{{"name":"Nguyen Van An","document_number":"B{:07d}","nationality":"VN"}},
    "lines":[{{"hs_code":"030617","description":"Frozen shrimp","packages":100,
      "gross_weight_kg":2000,"value":{{"amount":"9000.00","currency":"USD"}},
      "origin_country":"VN"}}]}})",
                     (n / 100) % 1000, n % 100, n % 10000000);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <class Fn>
double MillisOf(Fn&& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Submits `commands` with at most `in_flight` outstanding and waits for all of them; returns
// the number that failed.
int RunAll(Engine& engine, std::vector<Command> commands, size_t in_flight) {
  std::mutex mu;
  std::condition_variable cv;
  size_t outstanding = 0;
  int failed = 0;
  for (auto& command : commands) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return outstanding < in_flight; });
      ++outstanding;
    }
    engine.Submit(std::move(command), [&](Result<CommandResult> r) {
      std::lock_guard lock(mu);
      if (!r) {
        if (failed == 0) std::cerr << "first failure: " << r.error().ToString() << "\n";
        ++failed;
      }
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
  return failed;
}

int Run(int trucks, int repeats, const std::string& markdown) {
  auto config = ParseGateConfig(kConfig);
  if (!config) {
    std::cerr << config.error().ToString() << "\n";
    return 2;
  }
  auto dir = std::filesystem::temp_directory_path() / fmt::format("bf-queue-bench-{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto hs = HsNomenclature::Hs2022();
  auto store = SqliteStore::Open(SqliteOptions{(dir / "bench.db").string()}, hs);
  if (!store) {
    std::cerr << store.error().ToString() << "\n";
    return 2;
  }
  ManualClock clock(*ParseTimestamp("2026-11-30T01:00:00Z"));  // 08:00 in Vietnam
  SeededRandom random(7);
  std::vector<Row> rows;
  {
    Engine engine(*config, hs, **store, clock, random);
    Actor forwarder{"u_fwd", "fwd", Role::kForwarder, "COMPANY-BENCH"};
    Actor customs{"u_customs", "customs", Role::kCustomsOfficer, ""};
    Actor op{"u_op", "operator", Role::kGateOperator, ""};

    // Declared and assessed (not timed).
    std::vector<std::string> ids(trucks);
    for (int i = 0; i < trucks; ++i) {
      auto decl = DecodeDeclaration(*ParseJson(DeclarationBody(i)), *hs);
      if (!decl) {
        std::cerr << decl.error().ToString() << "\n";
        return 2;
      }
      auto r = engine.Execute(
          Command{forwarder, fmt::format("d-{}", i), "", DeclareCrossing{std::move(*decl)}});
      if (!r) {
        std::cerr << r.error().ToString() << "\n";
        return 2;
      }
      ids[i] = r->crossing->id;
    }
    std::vector<Command> assesses;
    for (int i = 0; i < trucks; ++i) {
      assesses.push_back(Command{
          customs, fmt::format("a-{}", i), "",
          RecordCrossingEvent{ids[i],
                              CrossingEvent{CrossingEventType::kAssess,
                                            boost::json::object{{"channel", "green"},
                                                                {"quarantine_inspection", false}}},
                              std::nullopt}});
    }
    if (int failed = RunAll(engine, std::move(assesses), 256); failed > 0) return 2;

    // Slots: fill the open buckets from now on in order.
    CapacityPlan capacity(*config, {});
    std::vector<Timestamp> slots;
    for (Timestamp b = capacity.BucketStart(clock.Now()); static_cast<int>(slots.size()) < trucks;
         b += capacity.bucket()) {
      int n = capacity.At("VN-CN", "general_cargo", b).effective;
      for (int k = 0; k < n && static_cast<int>(slots.size()) < trucks; ++k) slots.push_back(b);
    }
    std::vector<Command> books;
    for (int i = 0; i < trucks; ++i) {
      boost::json::object data{{"slot", FormatUtc(slots[i])}};
      books.push_back(
          Command{forwarder, fmt::format("b-{}", i), "",
                  RecordCrossingEvent{ids[i], CrossingEvent{CrossingEventType::kBook, data},
                                      std::nullopt}});
    }
    int failed = 0;
    double ms = MillisOf([&] { failed = RunAll(engine, std::move(books), 64); });
    rows.push_back(Row{"booking through the engine (64 in flight, durable)",
                       fmt::format("{:.0f} bookings/s", (trucks - failed) / (ms / 1000)),
                       fmt::format("{} bookings in {:.0f} ms, {} refused", trucks, ms, failed)});

    // The whole command: a capacity drop by the counterpart over the next day, then back up.
    std::vector<double> replan;
    size_t moved = 0;
    size_t rebooked = 0;
    for (int r = 0; r < repeats; ++r) {
      CapacityChange change;
      change.kind = CapacityChangeKind::kAcceptance;
      change.direction = "VN-CN";
      change.lane_class = "general_cargo";
      change.from = clock.Now();
      change.until = clock.Now() + std::chrono::hours(24);
      change.trucks_per_hour = r % 2 == 0 ? 20 : 120;
      change.reason = "counterpart announcement";
      Result<CommandResult> result;
      replan.push_back(MillisOf([&] {
        result = engine.Execute(Command{op, fmt::format("cap-{}", r), "", ChangeCapacity{change}});
      }));
      if (!result) {
        std::cerr << result.error().ToString() << "\n";
        return 2;
      }
      moved = std::max<size_t>(moved,
                               result->Json().at("replan").at("changed_count").to_number<size_t>());
      rebooked = std::max<size_t>(rebooked, result->changed.size());
    }
    rows.push_back(Row{
        fmt::format("capacity change through the engine, {} booked trucks", trucks),
        fmt::format("{:.1f} ms", Median(replan)),
        fmt::format("median of {} (slowest {:.1f} ms); up to {} expected calls "
                    "moved and {} bookings rewritten to a later slot in one "
                    "change; all lanes re-planned, diff audited, durable commit",
                    repeats, *std::max_element(replan.begin(), replan.end()), moved, rebooked)});
  }

  // The planner alone on the same shape of input.
  {
    CapacityChange drop;
    drop.id = "CAP-1";
    drop.kind = CapacityChangeKind::kAcceptance;
    drop.direction = "VN-CN";
    drop.lane_class = "general_cargo";
    drop.from = clock.Now();
    drop.until = clock.Now() + std::chrono::hours(24);
    drop.trucks_per_hour = 20;
    CapacityPlan before(*config, {});
    CapacityPlan after(*config, {drop});
    PlanRequest request;
    request.direction = "VN-CN";
    request.lane_class = "general_cargo";
    request.now = clock.Now();
    request.horizon_end = clock.Now() + config->queue.booking_horizon;
    Timestamp b = before.BucketStart(clock.Now());
    int placed = 0;
    for (int i = 0; i < trucks; b += before.bucket()) {
      for (int k = before.At("VN-CN", "general_cargo", b).effective; k > 0 && i < trucks; --k) {
        QueueTruck t;
        t.crossing_id = fmt::format("CR-{:06d}", i);
        t.ticket = i + 1;
        t.booked_bucket = b;
        t.in_yard = i % 3 == 0;
        t.declaration_valid_until = clock.Now() + std::chrono::hours(720);
        request.trucks.push_back(t);
        ++i;
        ++placed;
      }
    }
    auto policy = MakeQueuePolicy("smart", config->queue);
    std::vector<double> times;
    size_t planned = 0;
    for (int r = 0; r < std::max(repeats, 5); ++r) {
      times.push_back(MillisOf([&] { planned = PlanLane(after, **policy, request).calls.size(); }));
    }
    rows.push_back(Row{
        fmt::format("planner alone: re-plan {} booked trucks after a drop", placed),
        fmt::format("{:.1f} ms", Median(times)),
        fmt::format("median of {}; {} still planned within the horizon", times.size(), planned)});
  }
  std::filesystem::remove_all(dir);

  std::string table = "| what | figure | note |\n|---|---|---|\n";
  for (const auto& r : rows) table += fmt::format("| {} | {} | {} |\n", r.what, r.figure, r.note);
  std::cout << table;
  if (!markdown.empty()) std::ofstream(markdown) << table;
  return 0;
}

}  // namespace
}  // namespace borderflow

int main(int argc, char** argv) {
  CLI::App app{"borderflow queue benchmarks: booking throughput and re-planning"};
  int trucks = 10000;
  int repeats = 5;
  std::string markdown;
  app.add_option("--trucks", trucks, "booked trucks")->check(CLI::Range(10, 100000));
  app.add_option("--repeats", repeats, "capacity changes to time")->check(CLI::Range(1, 100));
  app.add_option("--markdown", markdown, "also write the table to this file");
  CLI11_PARSE(app, argc, argv);
  return borderflow::Run(trucks, repeats, markdown);
}
