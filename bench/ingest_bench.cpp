// Durable event ingest: acknowledged declarations per second over HTTP with 64 concurrent
// clients (group commit), side by side in the same run with the store's own limit for the same
// records (one transaction per event, and batched). Every acknowledged write is on disk
// (SQLite WAL, fdatasynced before the answer). With --pg-url, the same cases run on PostgreSQL too
// (synchronous_commit=on, each case in a fresh schema of that database), in the same run.
//
//   bench/run.sh            (builds the release preset and runs this)
//   bench/run.sh ingest --pg   (also starts a durable throwaway PostgreSQL for the PG cases)
//   ingest_bench --seconds 5 --connections 64 --markdown out.md [--pg-url postgresql://...]

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include <CLI/CLI.hpp>
#include <fcntl.h>
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

// Idempotency keys as clients make them. `ordered`: a counter ("bench-17"), so consecutive keys
// sit side by side in the idempotency table's key index. `random`: 128 random bits in hex, as
// browsers' crypto.getRandomValues and UUIDv4 give, each landing on its own page of the index.
bool random_keys = false;

std::string IdempotencyKey(std::string_view prefix, uint64_t n) {
  if (!random_keys) return fmt::format("{}{}", prefix, n);
  auto mix = [](uint64_t x) {  // splitmix64: distinct inputs give distinct, uniform outputs
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return fmt::format("{}{:016x}{:016x}", prefix, mix(n), mix(n ^ 0x5bd1e995ULL << 32));
}

// Idempotency records written before a store case is measured (records are kept without
// expiry, so a node's table grows with every write it has answered).
uint64_t earlier_keys = 0;

std::string DeclarationBody(uint64_t n) {
  return fmt::format(R"({{"direction":"VN-CN","lane_class":"general_cargo",
    "vehicle":{{"plate":"12C-{:03d}.{:02d}"}},
    "driver":{{"name":"Nguyen Van An","document_number":"B{:07d}","nationality":"VN"}},
    "lines":[{{"hs_code":"030617","description":"Frozen shrimp","packages":100,
      "gross_weight_kg":2000,"value":{{"amount":"9000.00","currency":"USD"}},
      "origin_country":"VN"}}]}})",
                     (n / 100) % 1000, n % 100, n % 10000000);
}

constexpr UtcOffset kVietnamTime{7 * 60};  // the demo node's local time, as the engine shows it

// Which records a store case writes.
enum class RecordKind {
  kDeclaration,  // a new crossing row, its audit record and its idempotency record
  kEvent,  // a lifecycle event: the crossing row rewritten, an audit record, an idempotency record
};

Crossing BenchCrossing(const Declaration& decl, uint64_t n, Timestamp now) {
  Crossing c;
  c.id = fmt::format("CR-B{:011d}", n);
  c.company_id = "BENCH";
  c.declared_by = "Ubench";
  c.declaration = decl;
  c.declaration_valid_until = now + std::chrono::hours(72);
  c.version = 1;
  c.created_at = c.updated_at = now;
  return c;
}

// The same records the engine writes for a declaration: the crossing row, its audit record and
// its idempotency record, with the engine's encoder (one text for all three).
Status WriteDeclaration(WriteTxn& txn, const Crossing& c, const std::string& key, Timestamp now) {
  std::string document = EncodeCrossingText(c, kVietnamTime);
  BF_TRY(txn.InsertCrossing(c, document));
  BF_TRY(txn.AppendAudit(
      AuditDraft{now, "Ubench", "forwarder", "crossing", c.id, "declare", document}));
  return txn.PutIdempotency(IdempotencyRecord{"Ubench", key, "fp", 201, document, now});
}

// The same records the engine writes for a lifecycle event (start_inspection or
// record_inspection): the crossing's row rewritten at its next version, the event's audit record
// and the idempotent response ({"event":..,"crossing":<document>}).
Status WriteEvent(WriteTxn& txn, Crossing& c, const std::string& key, Timestamp now) {
  const bool start = c.version % 2 == 1;
  Crossing next = c;
  next.state = start ? CrossingState::kInspecting : CrossingState::kChecked;
  next.version = c.version + 1;
  next.updated_at = now;
  std::string document = EncodeCrossingText(next, kVietnamTime);
  BF_TRY(txn.UpdateCrossing(next, document, c.version));
  const char* type = start ? "start_inspection" : "record_inspection";
  std::string body =
      fmt::format(R"({{"type":"{}","from":"{}","to":"{}","version":{},"data":{}}})", type,
                  CrossingStateName(c.state), CrossingStateName(next.state), next.version,
                  start ? R"({"lane":"L1"})" : R"({"outcome":"no_finding"})");
  BF_ASSIGN_OR_RETURN(AuditRecord record,
                      txn.AppendAudit(AuditDraft{now, "Ucustoms", "customs_officer", "crossing",
                                                 next.id, type, std::move(body)}));
  std::string response =
      fmt::format(R"({{"event":{{"seq":{},"type":"{}","at":"{}"}},"crossing":{}}})", record.seq,
                  type, FormatUtc(now), document);
  BF_TRY(txn.PutIdempotency(IdempotencyRecord{"Ucustoms", key, "fp", 200, response, now}));
  c = std::move(next);
  return {};
}

// The store's own limit for the records of `kind`: `batch` of them per transaction, for
// `seconds`. Events go round 64 crossings (one per HTTP client in the events case).
Row StoreLimit(RecordKind kind, size_t batch, double seconds, const std::string& pg_url = "") {
  BenchStore where("store", pg_url);
  auto hs = HsNomenclature::Hs2022();
  auto store = OpenStore(where.location(), hs);
  BF_ASSERT(store.has_value(), "bench store opens");
  auto decl = DecodeDeclaration(*ParseJson(DeclarationBody(1)), *hs);
  BF_ASSERT(decl.has_value(), "bench declaration is valid");
  SystemClock clock;
  uint64_t n = 0;
  std::vector<Crossing> crossings;
  if (kind == RecordKind::kEvent) {
    std::vector<TxnFn> setup;
    for (uint64_t i = 0; i < 64; ++i) {
      crossings.push_back(BenchCrossing(*decl, i, clock.Now()));
      crossings.back().state = CrossingState::kChecked;
      setup.push_back([&, i](WriteTxn& txn) {
        return WriteDeclaration(txn, crossings[i], fmt::format("setup-{}", i), clock.Now());
      });
    }
    for (const Status& s : (*store)->WriteBatch(setup)) BF_ASSERT(s.has_value(), "bench setup");
  }
  const std::string earlier_response(600, 'r');
  for (uint64_t written = 0; written < earlier_keys;) {
    const uint64_t until = std::min(earlier_keys, written + 20000);
    std::vector<TxnFn> fill = {[&, from = written, until](WriteTxn& txn) -> Status {
      for (uint64_t i = from; i < until; ++i) {
        BF_TRY(txn.PutIdempotency(IdempotencyRecord{"Ucustoms", IdempotencyKey("earlier-", i), "fp",
                                                    200, earlier_response, clock.Now()}));
      }
      return {};
    }};
    for (const Status& s : (*store)->WriteBatch(fill)) BF_ASSERT(s.has_value(), "bench fill");
    written = until;
  }
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<TxnFn> work;
    Timestamp now = clock.Now();
    for (size_t i = 0; i < batch; ++i) {
      uint64_t id = n++;
      work.push_back([&, id, now](WriteTxn& txn) {
        std::string key = IdempotencyKey("k", id);
        if (kind == RecordKind::kEvent) {
          return WriteEvent(txn, crossings[id % crossings.size()], key, now);
        }
        return WriteDeclaration(txn, BenchCrossing(*decl, id, now), key, now);
      });
    }
    for (const Status& s : (*store)->WriteBatch(work)) BF_ASSERT(s.has_value(), "bench write");
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  store->reset();
  return Row{
      fmt::format(
          "{} store, {}, {}", where.backend(),
          kind == RecordKind::kEvent ? "lifecycle event records" : "declaration records",
          batch == 1 ? "one transaction per event" : fmt::format("{} per transaction", batch)),
      double(n) / elapsed, "-"};
}

// Which requests the HTTP case sends.
enum class HttpCase {
  kDeclarations,  // POST /api/v1/crossings: a new crossing each (about 1.5 KB of JSON)
  kEvents,  // POST /api/v1/crossings/{id}/events: start_inspection and record_inspection in turn
  // GET /api/v1/me: the token checked (from the cache), a small JSON answer, no engine or
  // store: what HTTP and the load generator cost on this machine, the floor under the others.
  kFloor,
};

std::string IssueToken(Runtime& rt, const std::string& name, Role role, std::string company) {
  Actor admin{"bench", "bench", Role::kAdministrator, ""};
  auto user = rt.engine().Execute(Command{admin, "", "", AddUser{name, role, std::move(company)}});
  BF_ASSERT(user.has_value(), "bench user");
  auto token = rt.engine().Execute(Command{admin, "", "", IssueApiToken{name, "", {}}});
  BF_ASSERT(token.has_value(), "bench token");
  return "Bearer " + std::string(token->Json().at("token").as_string());
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
  // Both sides open all day, every day: the benchmark measures ingest at any hour it is run
  // (the demo gate closes at 23:00 local time, and a closed gate calls no truck forward).
  options.config.OpenAroundTheClock();
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
        if (!r) {
          std::cerr << fmt::format("setup of crossing {}: {}: {}\n", c, CrossingEventName(type),
                                   r.error().ToString());
        }
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
    if (which == HttpCase::kFloor) {
      return net::LoadRequest{"GET", "/api/v1/me", "", {{"Authorization", forwarder}}};
    }
    std::string key = IdempotencyKey("bench-", n);
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
  if (which == HttpCase::kFloor) {
    return Row{
        fmt::format("HTTP floor: GET /api/v1/me (token check, no engine or store; "
                    "requests/s, not events), {} clients",
                    connections),
        double(r.ok) / r.seconds,
        fmt::format("p50 {:.2f} ms, p99 {:.2f} ms, max {:.1f} ms", r.p50_ms, r.p99_ms, r.max_ms)};
  }
  return Row{
      fmt::format("{} HTTP {}, {} clients{} ({:.0f} events per commit)", where.backend(),
                  which == HttpCase::kDeclarations
                      ? "POST /api/v1/crossings (declarations)"
                      : "POST /api/v1/crossings/{id}/events (start_inspection, record_inspection)",
                  connections, second ? " over two servers" : "", per_txn),
      double(r.ok) / r.seconds,
      fmt::format("p50 {:.2f} ms, p99 {:.2f} ms, max {:.1f} ms", r.p50_ms, r.p99_ms, r.max_ms)};
}

// The disk's floor under any durable commit: write `kib` KiB at the start of a file and
// fdatasync it, as a WAL commit does, on the same filesystem as the SQLite cases. With
// `connections` closed-loop clients, each waiting for its write to be durable, throughput is at
// most connections / (mean latency) (Little's law), and the latency includes at least one such
// sync: the "events/s" of this row is that bound, not a measurement of borderflow.
Row DiskSyncBound(size_t kib, int connections, double seconds) {
  auto dir = BenchStore::TempDirFor("disk");
  const std::string path = (dir / "sync-probe").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  BF_ASSERT(fd >= 0, "disk probe file opens");
  std::string block(kib * 1024, 'x');
  // Preallocated and synced once, like a reused WAL: the probe measures data syncs only.
  BF_ASSERT(::pwrite(fd, block.data(), block.size(), 0) == ssize_t(block.size()), "probe write");
  BF_ASSERT(::fsync(fd) == 0, "probe fsync");
  uint64_t syncs = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    block[syncs % block.size()] = char('a' + syncs % 26);
    BF_ASSERT(::pwrite(fd, block.data(), block.size(), 0) == ssize_t(block.size()), "probe write");
    BF_ASSERT(::fdatasync(fd) == 0, "probe fdatasync");
    ++syncs;
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  std::filesystem::remove_all(dir);
  const double latency_ms = 1000 * elapsed / double(syncs);
  return Row{fmt::format("disk: write {} KiB + fdatasync ({:.2f} ms each); bound for {} "
                         "closed-loop clients that each wait for one such sync",
                         kib, latency_ms, connections),
             connections / (latency_ms / 1000), fmt::format("{:.2f} ms", latency_ms)};
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
  const GateConfig* config_holder = nullptr;  // set once the configuration is loaded
  app.add_option("--seconds", seconds, "measured seconds per case")->capture_default_str();
  app.add_option("--connections", connections, "concurrent HTTP clients")->capture_default_str();
  app.add_option("--http-threads", http_threads, "server I/O threads")->capture_default_str();
  app.add_option("--config", config_path, "gate configuration")->capture_default_str();
  app.add_option("--markdown", markdown, "also write the result table to this file");
  std::string key_style = "ordered";
  app.add_option("--keys", key_style,
                 "idempotency keys: ordered (a counter) or random (128 bits, like UUIDv4)")
      ->check(CLI::IsMember({"ordered", "random"}))
      ->capture_default_str();
  app.add_option("--earlier-keys", earlier_keys,
                 "store cases: idempotency records written before the measurement")
      ->capture_default_str();
  app.add_option("--pg-url", pg_url,
                 "also run the cases on this PostgreSQL database (a fresh schema per case)");
  // Every case, in the order of the full run. `compare_to` names the case a row is measured
  // against: a batched store case against one transaction per event, an HTTP case against the
  // store's batched limit for the same records (the most it could reach).
  struct Case {
    std::string key;  // for --only
    std::string progress;
    std::string compare_to;
    std::function<Row(const std::string& url)> run;
    bool per_backend = true;  // false: the disk probe, run once (with the SQLite cases)
  };
  auto http = [&](HttpCase which, int servers) {
    return [&, which, servers](const std::string& url) {
      return HttpIngest(*config_holder, which, connections, seconds, http_threads, url, servers);
    };
  };
  auto store = [&](RecordKind kind, size_t batch) {
    return
        [&, kind, batch](const std::string& url) { return StoreLimit(kind, batch, seconds, url); };
  };
  auto disk = [&](size_t kib) {
    return [&, kib](const std::string&) { return DiskSyncBound(kib, connections, seconds); };
  };
  const std::vector<Case> cases = {
      {"disk4", "disk: 4 KiB write + fdatasync", "", disk(4), false},
      {"disk400", "disk: 400 KiB write + fdatasync (a group of about 32 events)", "", disk(400),
       false},
      {"store1", "store limit, declaration records, one transaction per event", "",
       store(RecordKind::kDeclaration, 1)},
      {"store256", "store limit, declaration records, batched", "store1",
       store(RecordKind::kDeclaration, 256)},
      {"events-store1", "store limit, lifecycle event records, one transaction per event", "",
       store(RecordKind::kEvent, 1)},
      {"events-store64", "store limit, lifecycle event records, batched", "events-store1",
       store(RecordKind::kEvent, 64)},
      {"floor", "HTTP floor (GET /api/v1/me, no store)", "", http(HttpCase::kFloor, 1), false},
      {"http", "HTTP declarations", "store256", http(HttpCase::kDeclarations, 1)},
      {"events", "HTTP lifecycle events", "events-store64", http(HttpCase::kEvents, 1)},
      {"http2", "HTTP declarations over two servers", "store256", http(HttpCase::kDeclarations, 2)},
  };
  std::vector<std::string> keys;
  for (const Case& c : cases) keys.push_back(c.key);
  app.add_option("--only", only, "run one case (for profiling)")->check(CLI::IsMember(keys));
  CLI11_PARSE(app, argc, argv);

  random_keys = key_style == "random";
  auto config = LoadGateConfig(config_path);
  if (!config) {
    std::cerr << config.error().ToString() << "\n";
    return 2;
  }
  config_holder = &*config;
  std::vector<std::string> backends = {""};  // SQLite, then PostgreSQL with --pg-url
  if (!pg_url.empty()) backends.push_back(pg_url);
  if (!only.empty()) {
    for (const Case& c : cases) {
      if (c.key != only) continue;
      for (const std::string& url : backends) {
        if (!c.per_backend && !url.empty()) continue;
        Row r = c.run(url);
        std::cout << fmt::format("{}: {:.0f} events/s {}\n", r.what, r.events_per_second,
                                 r.latency);
      }
    }
    return 0;
  }
  std::vector<Row> rows;
  std::vector<std::string> compared;
  size_t total = 0;
  for (const Case& c : cases) total += c.per_backend ? backends.size() : 1;
  size_t step = 0;
  for (const std::string& url : backends) {
    std::map<std::string, double> rate;  // this backend's figure per case key
    for (const Case& c : cases) {
      if (!c.per_backend && !url.empty()) continue;
      std::cerr << fmt::format("[{}/{}] {} {} ({} clients for HTTP)...\n", ++step, total,
                               url.empty() ? "SQLite" : "PostgreSQL", c.progress, connections);
      rows.push_back(c.run(url));
      rate[c.key] = rows.back().events_per_second;
      if (c.compare_to.empty()) {
        compared.push_back("-");
      } else if (c.compare_to.find("store1") != std::string::npos) {
        compared.push_back(
            fmt::format("{:.1f}x one per transaction", rate[c.key] / rate[c.compare_to]));
      } else {
        compared.push_back(fmt::format("{:.0f}% of the batched store limit",
                                       100 * rate[c.key] / rate[c.compare_to]));
      }
    }
  }

  std::string table = fmt::format(
      "Machine: {} cores, {}. Durable: SQLite WAL fdatasynced before each answer{}. "
      "Idempotency keys: {}{}.\n\n"
      "| case | acknowledged events/s | compared | latency |\n"
      "|---|---:|---|---|\n",
      sysconf(_SC_NPROCESSORS_ONLN), CpuModel(),
      pg_url.empty() ? "" : "; PostgreSQL synchronous_commit=on, compared within its own rows",
      key_style,
      earlier_keys == 0
          ? ""
          : fmt::format(", {} earlier idempotency records in the store cases", earlier_keys));
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    table += fmt::format("| {} | {:.0f} | {} | {} |\n", r.what, r.events_per_second, compared[i],
                         r.latency);
  }
  std::cout << table;
  if (!markdown.empty()) std::ofstream(markdown) << table;
  return 0;
}
