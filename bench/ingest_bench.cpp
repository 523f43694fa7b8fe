// Durable event ingest: acknowledged declarations per second over HTTP with 64 concurrent
// clients (group commit), side by side in the same run with the store's own limit for the same
// records (one transaction per event, and batched). Every acknowledged write is on disk
// (SQLite WAL, synchronous=FULL). With --pg-url, the same cases run on PostgreSQL too
// (synchronous_commit=on, each case in a fresh schema of that database), in the same run.
//
//   bench/run.sh            (builds the release preset and runs this)
//   bench/run.sh ingest --pg   (also starts a durable throwaway PostgreSQL for the PG cases)
//   ingest_bench --seconds 5 --connections 64 --markdown out.md [--pg-url postgresql://...]

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <borderflow/domain/crossing_json.h>
#include <borderflow/net/http_client.h>
#include <borderflow/server/runtime.h>
#include <borderflow/store/store_factory.h>

#include "postgres/pg_test_support.h"  // a fresh schema per PostgreSQL case

namespace borderflow {
namespace {

// Where a case keeps its data: a fresh SQLite file, or a fresh schema of a PostgreSQL database.
class BenchStore {
 public:
  BenchStore(const char* name, const std::string& pg_url) {
    if (pg_url.empty()) {
      dir_ = TempDirFor(name);
      location_ = (dir_ / "bench.db").string();
      return;
    }
    auto schema = pg_test::Schema::Create(pg_url);
    BF_ASSERT(schema.has_value(), "bench schema");
    schema_ = std::move(*schema);
    location_ = schema_->url();
  }
  ~BenchStore() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& location() const { return location_; }
  const char* backend() const { return schema_ ? "PostgreSQL" : "SQLite"; }

  static std::filesystem::path TempDirFor(const char* name) {
    auto dir =
        std::filesystem::temp_directory_path() / fmt::format("bf-bench-{}-{}", name, getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<pg_test::Schema> schema_;
  std::string location_;
};

struct Row {
  std::string what;
  double events_per_second = 0;
  std::string latency;  // p50 / p99 for HTTP
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

// The same records the engine writes for a declaration: the crossing row, its audit record and
// its idempotency record.
Status WriteDeclaration(WriteTxn& txn, const Declaration& decl, uint64_t n, Timestamp now) {
  Crossing c;
  c.id = fmt::format("CR-B{:011d}", n);
  c.company_id = "BENCH";
  c.declared_by = "Ubench";
  c.declaration = decl;
  c.declaration_valid_until = now + std::chrono::hours(72);
  c.version = 1;
  c.created_at = c.updated_at = now;
  BF_TRY(txn.InsertCrossing(c));
  std::string body = ToJsonText(EncodeCrossing(c));
  BF_TRY(
      txn.AppendAudit(AuditDraft{now, "Ubench", "forwarder", "crossing", c.id, "declare", body}));
  return txn.PutIdempotency(
      IdempotencyRecord{"Ubench", fmt::format("k{}", n), "fp", 201, body, now});
}

Row StoreLimit(const GateConfig& config, size_t batch, double seconds,
               const std::string& pg_url = "") {
  BenchStore where("store", pg_url);
  auto hs = HsNomenclature::Hs2022();
  auto store = OpenStore(where.location(), hs);
  BF_ASSERT(store.has_value(), "bench store opens");
  auto decl = DecodeDeclaration(*ParseJson(DeclarationBody(1)), *hs);
  BF_ASSERT(decl.has_value(), "bench declaration is valid");
  (void)config;
  SystemClock clock;
  uint64_t n = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<TxnFn> work;
    Timestamp now = clock.Now();
    for (size_t i = 0; i < batch; ++i) {
      uint64_t id = n++;
      work.push_back([&, id, now](WriteTxn& txn) { return WriteDeclaration(txn, *decl, id, now); });
    }
    for (const Status& s : (*store)->WriteBatch(work)) BF_ASSERT(s.has_value(), "bench write");
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  store->reset();
  return Row{fmt::format("{} store, {}", where.backend(),
                         batch == 1 ? "one transaction per event"
                                    : fmt::format("{} events per transaction", batch)),
             double(n) / elapsed, "-"};
}

// Which requests the HTTP case sends.
enum class HttpCase {
  kDeclarations,  // POST /api/v1/crossings: a new crossing each (about 1.5 KB of JSON)
  kEvents,  // POST /api/v1/crossings/{id}/events: start_inspection and record_inspection in turn
};

std::string IssueToken(Runtime& rt, const std::string& name, Role role, std::string company) {
  Actor admin{"bench", "bench", Role::kAdministrator, ""};
  auto user = rt.engine().Execute(Command{admin, "", "", AddUser{name, role, std::move(company)}});
  BF_ASSERT(user.has_value(), "bench user");
  auto token = rt.engine().Execute(Command{admin, "", "", IssueApiToken{name, "", {}}});
  BF_ASSERT(token.has_value(), "bench token");
  return "Bearer " + std::string(token->body.at("token").as_string());
}

// `servers` = 2 starts a second node on the same database (issue 8: several servers sharing
// one database) and sends half of the connections to each (declarations only).
Row HttpIngest(const GateConfig& config, HttpCase which, int connections, double seconds,
               int http_threads, const std::string& pg_url = "", int servers = 1) {
  BenchStore where("http", pg_url);
  SystemClock clock;
  SystemRandom random;
  RuntimeOptions options;
  options.config = config;
  options.db_path = where.location();
  options.http.port = 0;
  options.http.threads = http_threads;
  options.api.rate_per_second = 0;   // one token sends everything here
  options.queue_tick = Duration(0);  // no automatic calls while the setup places trucks
  // Lanes enough to call every connection's truck to the gate in the setup.
  for (Direction& d : options.config.directions) {
    for (auto& [lane_class, lanes] : d.lanes) lanes = std::max(lanes, connections);
  }
  for (const LaneClass& lc : options.config.lane_classes) {
    options.config.queue.service_time[lc.id] = std::chrono::minutes(1);
  }
  RuntimeOptions second_options = options;
  auto rt = Runtime::Start(std::move(options), clock, random);
  BF_ASSERT(rt.has_value(), "bench node starts");
  Runtime& node = **rt;
  SystemRandom second_random;
  std::unique_ptr<Runtime> second;
  if (servers == 2) {
    BF_ASSERT(which == HttpCase::kDeclarations, "two servers: declarations only");
    auto started = Runtime::Start(std::move(second_options), clock, second_random);
    BF_ASSERT(started.has_value(), "second bench node starts");
    second = std::move(*started);
  }
  std::string forwarder = IssueToken(node, "bench", Role::kForwarder, "BENCH");
  std::string customs_auth = IssueToken(node, "customs", Role::kCustomsOfficer, "");

  // For the events case: one crossing per connection, at the gate with its documents checked.
  std::vector<std::string> ids;
  if (which == HttpCase::kEvents) {
    Actor fwd{"", "bench", Role::kForwarder, "BENCH"};
    auto users = node.store().ListUsers();
    for (const UserRecord& u : *users) {
      if (u.name == "bench") fwd.user_id = u.id;
    }
    Actor customs{"customs", "customs", Role::kCustomsOfficer, ""};
    Actor camera{"camera", "camera", Role::kSensor, ""};
    Actor op{"operator", "operator", Role::kGateOperator, ""};
    for (int c = 0; c < connections; ++c) {
      auto decl = DecodeDeclaration(*ParseJson(DeclarationBody(c)), node.engine().hs());
      auto declared = node.engine().Execute(
          Command{fwd, fmt::format("setup-{}", c), "", DeclareCrossing{std::move(*decl)}});
      BF_ASSERT(declared.has_value(), "bench setup declares");
      std::string id = declared->crossing->id;
      for (auto [actor, type, data] :
           {std::tuple{customs, CrossingEventType::kAssess,
                       boost::json::object{{"channel", "green"}}},
            std::tuple{camera, CrossingEventType::kEnterYard, boost::json::object{}},
            std::tuple{op, CrossingEventType::kCallForward, boost::json::object{}},
            std::tuple{camera, CrossingEventType::kArriveAtGate, boost::json::object{}},
            std::tuple{customs, CrossingEventType::kCheckDocuments,
                       boost::json::object{{"outcome", "ok"}}}}) {
        auto r = node.engine().Execute(
            Command{actor, fmt::format("setup-{}-{}", c, CrossingEventName(type)), "",
                    RecordCrossingEvent{id, CrossingEvent{type, data}, std::nullopt}});
        BF_ASSERT(r.has_value(), "bench setup event");
      }
      ids.push_back(id);
    }
  }
  const EngineStats& stats = node.engine().stats();
  uint64_t commands_before = stats.commands.load();
  uint64_t transactions_before = stats.transactions.load();

  std::atomic<uint64_t> counter{0};
  net::LoadOptions load;
  load.port = node.port();
  load.connections = second ? connections / 2 : connections;
  load.duration = std::chrono::milliseconds(int64_t(seconds * 1000));
  load.warmup = std::chrono::milliseconds(1000);
  auto next = [&](int connection, uint64_t i) {
    uint64_t n = counter.fetch_add(1);
    std::string key = fmt::format("bench-{}", n);
    if (which == HttpCase::kDeclarations) {
      return net::LoadRequest{"POST",
                              "/api/v1/crossings",
                              DeclarationBody(n),
                              {{"Authorization", forwarder},
                               {"Content-Type", "application/json"},
                               {"Idempotency-Key", key}}};
    }
    // Each connection owns one crossing and moves it checked -> inspecting -> checked -> ...
    std::string body = i % 2 == 0
                           ? R"({"type":"start_inspection","data":{"lane":"L1"}})"
                           : R"({"type":"record_inspection","data":{"outcome":"no_finding"}})";
    return net::LoadRequest{"POST",
                            fmt::format("/api/v1/crossings/{}/events", ids[connection]),
                            std::move(body),
                            {{"Authorization", customs_auth},
                             {"Content-Type", "application/json"},
                             {"Idempotency-Key", key}}};
  };
  net::LoadResult r;
  if (second) {
    // Both servers loaded at once, half of the clients each; the figures are summed (latency:
    // the worse of the two).
    net::LoadOptions load2 = load;
    load2.port = second->port();
    net::LoadResult r2;
    std::thread other([&] { r2 = net::RunLoad(load2, next); });
    r = net::RunLoad(load, next);
    other.join();
    r.ok += r2.ok;
    r.errors += r2.errors;
    r.requests += r2.requests;
    r.seconds = std::max(r.seconds, r2.seconds);
    r.p50_ms = std::max(r.p50_ms, r2.p50_ms);
    r.p99_ms = std::max(r.p99_ms, r2.p99_ms);
    r.max_ms = std::max(r.max_ms, r2.max_ms);
  } else {
    r = net::RunLoad(load, next);
  }
  uint64_t transactions = stats.transactions.load() - transactions_before;
  double per_txn = transactions == 0
                       ? 0
                       : double(stats.commands.load() - commands_before) / double(transactions);
  if (second) second->Stop();
  node.Stop();
  if (r.errors > 0) std::cerr << "warning: " << r.errors << " requests failed\n";
  return Row{
      fmt::format("{} HTTP {}, {} clients{} ({:.0f} events per commit)", where.backend(),
                  which == HttpCase::kDeclarations
                      ? "POST /api/v1/crossings (declarations)"
                      : "POST /api/v1/crossings/{id}/events (start_inspection, record_inspection)",
                  connections, second ? " over two servers" : "", per_txn),
      double(r.ok) / r.seconds,
      fmt::format("p50 {:.2f} ms, p99 {:.2f} ms, max {:.1f} ms", r.p50_ms, r.p99_ms, r.max_ms)};
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

}  // namespace
}  // namespace borderflow

int main(int argc, char** argv) {
  using namespace borderflow;
  CLI::App app{"borderflow durable ingest benchmark"};
  double seconds = 5;
  int connections = 64;
  std::string config_path = std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml";
  std::string markdown;
  std::string only;
  int http_threads = 2;
  std::string pg_url;
  app.add_option("--seconds", seconds, "measured seconds per case")->capture_default_str();
  app.add_option("--connections", connections, "concurrent HTTP clients")->capture_default_str();
  app.add_option("--http-threads", http_threads, "server I/O threads")->capture_default_str();
  app.add_option("--config", config_path, "gate configuration")->capture_default_str();
  app.add_option("--markdown", markdown, "also write the result table to this file");
  app.add_option("--pg-url", pg_url,
                 "also run the cases on this PostgreSQL database (a fresh schema per case)");
  app.add_option("--only", only,
                 "run one case: http, http2 (two servers), events, store1 or store256 (for "
                 "profiling)")
      ->check(CLI::IsMember({"http", "http2", "events", "store1", "store256"}));
  CLI11_PARSE(app, argc, argv);

  auto config = LoadGateConfig(config_path);
  if (!config) {
    std::cerr << config.error().ToString() << "\n";
    return 2;
  }
  std::vector<Row> rows;
  if (!only.empty()) {
    auto run_case = [&](const std::string& url) {
      if (only == "http" || only == "http2") {
        return HttpIngest(*config, HttpCase::kDeclarations, connections, seconds, http_threads, url,
                          only == "http2" ? 2 : 1);
      }
      if (only == "events") {
        return HttpIngest(*config, HttpCase::kEvents, connections, seconds, http_threads, url);
      }
      return StoreLimit(*config, only == "store1" ? 1 : 256, seconds, url);
    };
    std::vector<std::string> urls{""};  // SQLite, then PostgreSQL with --pg-url
    if (!pg_url.empty()) urls.push_back(pg_url);
    for (const std::string& url : urls) {
      Row r = run_case(url);
      std::cout << fmt::format("{}: {:.0f} events/s {}\n", r.what, r.events_per_second, r.latency);
    }
    return 0;
  }
  // SQLite, then (with --pg-url) the same four cases on PostgreSQL.
  std::vector<std::string> backends = {""};
  if (!pg_url.empty()) backends.push_back(pg_url);
  const size_t total = 5 * backends.size();
  size_t step = 0;
  for (const std::string& url : backends) {
    const char* name = url.empty() ? "SQLite" : "PostgreSQL";
    std::cerr << fmt::format("[{}/{}] {} store limit, one transaction per event...\n", ++step,
                             total, name);
    rows.push_back(StoreLimit(*config, 1, seconds, url));
    std::cerr << fmt::format("[{}/{}] {} store limit, batched...\n", ++step, total, name);
    rows.push_back(StoreLimit(*config, 256, seconds, url));
    std::cerr << fmt::format("[{}/{}] {} HTTP declarations with {} clients...\n", ++step, total,
                             name, connections);
    rows.push_back(
        HttpIngest(*config, HttpCase::kDeclarations, connections, seconds, http_threads, url));
    std::cerr << fmt::format("[{}/{}] {} HTTP lifecycle events with {} clients...\n", ++step, total,
                             name, connections);
    rows.push_back(HttpIngest(*config, HttpCase::kEvents, connections, seconds, http_threads, url));
    std::cerr << fmt::format("[{}/{}] {} HTTP declarations with {} clients over two servers...\n",
                             ++step, total, name, connections);
    rows.push_back(HttpIngest(*config, HttpCase::kDeclarations, connections, seconds, http_threads,
                              url, /*servers=*/2));
  }

  std::string table = fmt::format(
      "Machine: {} cores, {}. Durable: SQLite WAL, synchronous=FULL{}.\n\n"
      "| case | acknowledged events/s | ratio to one-per-transaction | latency |\n"
      "|---|---:|---:|---|\n",
      sysconf(_SC_NPROCESSORS_ONLN), CpuModel(),
      pg_url.empty() ? "" : "; PostgreSQL synchronous_commit=on, ratios to its own first row");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const Row& first = rows[i - i % 5];  // each backend's one-transaction-per-event row
    table += fmt::format("| {} | {:.0f} | {:.1f}x | {} |\n", r.what, r.events_per_second,
                         r.events_per_second / first.events_per_second, r.latency);
  }
  std::cout << table;
  if (!markdown.empty()) std::ofstream(markdown) << table;
  return 0;
}
