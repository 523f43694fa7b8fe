#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <borderflow/cli/cli.h>
#include <borderflow/link/node_key.h>
#include <borderflow/server/runtime.h>
#include <borderflow/store/sqlite_store.h>

#include "demo_data.h"
#include "demo_pair.h"
#include "node_cli.h"
#include "queue_cli.h"
#include "rules_cli.h"
#include "sim_cli.h"
#include "table.h"

namespace borderflow::cli {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the command ran and found a problem (e.g. a broken chain)
constexpr int kExitError = 2;   // the command could not run (bad input, missing file)

int Fail(const Error& e) {
  std::cerr << "borderflow: " << e.ToString() << "\n";
  return kExitError;
}

// For a command line that names no known subcommand where one is required: the first word
// that is not one, and the subcommands its parent has ("unknown command 'token disable';
// commands: issue, list, revoke"). Empty when every word before the options is known.
std::string UnknownSubcommand(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word.empty() || word.front() == '-') break;
    const CLI::App* next = nullptr;
    std::string names;
    for (const CLI::App* sub : current->get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == word) next = sub;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    path += (path.empty() ? "" : " ") + std::string(word);
    if (next == nullptr) {
      if (names.empty()) return "";
      return fmt::format("unknown command '{}'; commands{}: {}", path.substr(0, 200),
                         path.find(' ') == std::string::npos
                             ? ""
                             : " of '" + path.substr(0, path.rfind(' ')) + "'",
                         names);
    }
    current = next;
  }
  return "";
}

Actor CliAdmin() {
  const char* user = std::getenv("USER");
  return Actor{"cli", user != nullptr ? user : "operator", Role::kAdministrator, ""};
}

// Blocks SIGINT and SIGTERM in every thread started after this call; WaitForSignal takes them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int WaitForSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// --db: where the store is (store_factory.h).
constexpr const char* kDbHelp = "SQLite database file, or a postgresql:// URL";

// A store and an engine without a server, for administration commands.
struct Offline {
  std::unique_ptr<Store> store;
  SystemClock clock;
  SystemRandom random;
  std::unique_ptr<Engine> engine;
};

Result<std::unique_ptr<Offline>> OpenOffline(const std::string& db, const std::string& config) {
  auto off = std::make_unique<Offline>();
  BF_ASSIGN_OR_RETURN(GateConfig gate, LoadGateConfig(config));
  auto hs = HsNomenclature::Hs2022();
  BF_ASSIGN_OR_RETURN(off->store, OpenStore(db, hs));
  off->engine = std::make_unique<Engine>(std::move(gate), hs, *off->store, off->clock, off->random,
                                         EngineOptions{.writer_thread = false});
  return off;
}

struct ServeFlags {
  std::string config = "config/huu-nghi.toml";
  std::string db = "var/borderflow.db";
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 2;
  int max_connections_per_address = 256;  // net::ServerOptions::max_connections_per_address
  std::string port_file;                  // written with the bound port once the server listens
  double rate_limit = 200;
  int queue_tick_seconds = 10;
  std::string web_root;  // empty: web/dist found beside the working directory or the binary
};

void AddServeFlags(CLI::App* cmd, ServeFlags& f) {
  cmd->add_option("--config", f.config, "gate pair configuration (TOML)")->capture_default_str();
  cmd->add_option("--db", f.db, kDbHelp)->capture_default_str();
  cmd->add_option("--listen", f.address, "address to listen on")->capture_default_str();
  cmd->add_option("--port", f.port, "TCP port (0: any free port)")->capture_default_str();
  cmd->add_option("--threads", f.threads, "HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-connections-per-address", f.max_connections_per_address,
                  "connections open at once from one client address; beyond it new ones are "
                  "closed (0: no limit; raise it behind a reverse proxy)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--rate-limit", f.rate_limit,
                  "requests per second per user or client address, bursts of 10x (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--queue-tick", f.queue_tick_seconds,
                  "seconds between runs of the queue timer (missed calls, lapsed bookings, "
                  "automatic call-forward); 0 turns it off")
      ->check(CLI::Range(0, 3600));
  cmd->add_option("--web-root", f.web_root,
                  "directory of the built web front end (default: web/dist of this checkout; "
                  "built by scripts/setup.sh)");
  cmd->add_option("--port-file", f.port_file,
                  "write the bound port to this file once listening (useful with --port 0)");
}

// `configure` changes the configuration after it is read (the demo pair's link).
Result<std::unique_ptr<Runtime>> StartRuntime(
    const ServeFlags& f, const Clock& clock, Random& random,
    const std::function<void(GateConfig&)>& configure = {}, bool hold_queue_timer = false,
    bool hold_link = false) {
  // Checked before the database is opened (a bad address used to fail only at bind, after the
  // database had been created and migrated).
  in6_addr parsed{};
  if (::inet_pton(AF_INET, f.address.c_str(), &parsed) != 1 &&
      ::inet_pton(AF_INET6, f.address.c_str(), &parsed) != 1) {
    return InvalidArgument(
        "invalid_listen_address",
        fmt::format("--listen '{}': an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::",
                    f.address.substr(0, 100)),
        "listen");
  }
  BF_ASSIGN_OR_RETURN(GateConfig config, LoadGateConfig(f.config));
  if (configure) configure(config);
  std::filesystem::path db(SqlitePathOf(f.db));  // empty for PostgreSQL
  std::error_code ec;
  if (db.has_parent_path()) std::filesystem::create_directories(db.parent_path(), ec);
  if (ec) {
    return Unavailable(
        "store_open_failed",
        fmt::format("cannot create the directory of --db '{}': {}", f.db, ec.message()));
  }
  RuntimeOptions options;
  options.config = std::move(config);
  options.db_path = f.db;
  options.http.address = f.address;
  options.http.port = f.port;
  options.http.threads = f.threads;
  options.http.max_connections_per_address = static_cast<size_t>(f.max_connections_per_address);
  options.api.rate_per_second = f.rate_limit;
  options.api.rate_burst = f.rate_limit * 10;
  options.queue_tick = std::chrono::seconds(f.queue_tick_seconds);
  options.hold_queue_timer = hold_queue_timer;
  options.hold_link = hold_link;
  options.api.web_root = f.web_root.empty() ? api::FindWebRoot() : f.web_root;
  if (!f.web_root.empty() &&
      !std::filesystem::is_regular_file(std::filesystem::path(f.web_root) / "index.html")) {
    return InvalidArgument("invalid_web_root",
                           fmt::format("--web-root {}: no index.html there (build the front end "
                                       "with scripts/setup.sh)",
                                       f.web_root),
                           "web-root");
  }
  if (options.api.web_root.empty()) {
    spdlog::warn("no built web front end found (web/dist); / shows the status page");
  }
  options.config_dir = std::filesystem::path(f.config).parent_path().string();
  BF_ASSIGN_OR_RETURN(std::unique_ptr<Runtime> rt,
                      Runtime::Start(std::move(options), clock, random));
  if (!f.port_file.empty()) {
    // Write then rename, so a reader never sees a partial file.
    std::string tmp = f.port_file + ".tmp";
    std::ofstream(tmp) << rt->port() << "\n";
    std::filesystem::rename(tmp, f.port_file);
  }
  if (rt->link() != nullptr) {
    // A held link (the demo pair) is pointed at its counterpart once that one listens.
    spdlog::info("cross-border link to {} {}; peer listener https://{}:{}/peer/v1",
                 rt->engine().config().counterpart.node_id,
                 hold_link ? std::string("(its address is set once it listens)")
                           : "at " + rt->engine().config().counterpart.peer_url,
                 f.address, rt->peer_port());
  }
  return rt;
}

// An advisory lock beside an SQLite database ("<db>.lock", flock) for the life of the process:
// `serve` holds it shared (several servers may share one file), `demo` exclusive, because the
// demo deletes and recreates its database. Without it a second demo on the same --db replaced
// the files under a running node, which went on answering 2xx for writes to deleted files.
class DatabaseLock {
 public:
  DatabaseLock() = default;
  DatabaseLock(DatabaseLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  DatabaseLock& operator=(DatabaseLock&&) = delete;
  ~DatabaseLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

  // Nothing to lock for PostgreSQL. Creates the database's directory when missing.
  static Result<DatabaseLock> Take(const std::string& location, bool exclusive) {
    DatabaseLock lock;
    std::filesystem::path db(SqlitePathOf(location));
    if (db.empty()) return lock;
    std::error_code ec;
    if (db.has_parent_path()) std::filesystem::create_directories(db.parent_path(), ec);
    if (ec) {
      return Unavailable(
          "store_open_failed",
          fmt::format("cannot create the directory of --db '{}': {}", location, ec.message()));
    }
    std::string path = db.string() + ".lock";
    lock.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock.fd_ < 0) {
      return Unavailable("store_open_failed",
                         fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    }
    if (::flock(lock.fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
      return Unavailable(
          "store_open_failed",
          fmt::format("database '{}' is in use by {}; stop it first", location,
                      exclusive ? "another borderflow process"
                                : "a running borderflow demo (which deletes its database)"));
    }
    return lock;
  }

 private:
  int fd_ = -1;
};

int Serve(const ServeFlags& f) {
  sigset_t signals = BlockStopSignals();
  auto db_lock = DatabaseLock::Take(f.db, /*exclusive=*/false);
  if (!db_lock) return Fail(db_lock.error());
  // A mistyped --db would otherwise look like a node that lost all its data.
  const bool created = !IsPostgresUrl(f.db) && !std::filesystem::exists(f.db);
  SystemClock clock;
  SystemRandom random;
  auto rt = StartRuntime(f, clock, random);
  if (!rt) return Fail(rt.error());
  if (created) {
    spdlog::warn(
        "{} did not exist: this node starts with a new, empty database (no users, "
        "crossings or audit trail); if you meant an existing one, stop and check --db",
        f.db);
  }
  spdlog::info("borderflow serving {} on http://{}:{}/ (database {})",
               (*rt)->engine().config().self.node_id, f.address, (*rt)->port(),
               DescribeStore(f.db));
  int sig = WaitForSignal(signals);
  spdlog::info("signal {}: stopping", sig);
  (*rt)->Stop();
  return kExitOk;
}

// The demo can be shown at any hour: both sides of the demo pair are open around the clock. With
// the real hours of config/huu-nghi.toml (07:00-23:00 and 08:00-24:00 local time) nothing can
// be called forward at night, so neither the demo's crossings nor its truck could be placed.
void OpenAroundTheClock(GateConfig& config) { config.OpenAroundTheClock(); }

int Demo(ServeFlags f, bool keep, bool single) {
  sigset_t signals = BlockStopSignals();
  if (IsPostgresUrl(f.db)) {
    // demo deletes its database; it never touches a PostgreSQL one.
    return Fail(InvalidArgument("demo_needs_sqlite", "demo runs on an SQLite file only"));
  }
  // The second node listens on port + 1, the peer listeners on port + 363 and + 364.
  constexpr int kDemoPortSpan = 364;
  if (f.port != 0 && f.port > 65535 - kDemoPortSpan) {
    return Fail(InvalidArgument(
        "invalid_port", fmt::format("demo --port {}: at most {} (the demo also listens on the "
                                    "next port and on port + 363 and + 364), or 0",
                                    f.port, 65535 - kDemoPortSpan)));
  }
  std::filesystem::path var = std::filesystem::path(f.db).parent_path();
  // The port file is written once the demo is ready (both nodes, users, tokens), not before.
  std::string port_file = std::move(f.port_file);
  f.port_file.clear();
  ServeFlags cn = f;  // the Chinese side: the sibling configuration, its own database and port
  cn.config = (std::filesystem::path(f.config).parent_path() / "youyiguan.toml").string();
  cn.db = (var / "demo-cn.db").string();
  cn.port = f.port == 0 ? 0 : static_cast<uint16_t>(f.port + 1);
  // Held until the demo ends: nothing else may serve these files while they are replaced.
  auto vn_lock = DatabaseLock::Take(f.db, /*exclusive=*/true);
  if (!vn_lock) return Fail(vn_lock.error());
  auto cn_lock = DatabaseLock::Take(cn.db, /*exclusive=*/true);
  if (!cn_lock) return Fail(cn_lock.error());
  if (!keep) {
    for (const std::string& db : {f.db, cn.db}) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    }
  }
  SystemClock clock;
  SystemRandom random;
  std::unique_ptr<Runtime> vn_rt, cn_rt;
  if (single) {
    auto rt = StartRuntime(f, clock, random, OpenAroundTheClock, /*hold_queue_timer=*/true);
    if (!rt) return Fail(rt.error());
    vn_rt = std::move(*rt);
  } else {
    auto link = MakeDemoKeys((var / "demo-keys").string(), keep);
    if (!link) return Fail(link.error());
    uint16_t vn_peer = f.port == 0 ? 0 : static_cast<uint16_t>(f.port + 363);  // 8443
    uint16_t cn_peer = f.port == 0 ? 0 : static_cast<uint16_t>(f.port + 364);  // 8444
    auto demo_side = [&link](bool vn_side, uint16_t own_peer, uint16_t other_peer) {
      return [linked = DemoLinkConfig(*link, vn_side, own_peer, other_peer)](GateConfig& c) {
        linked(c);
        OpenAroundTheClock(c);
      };
    };
    // The links' senders are held until each side knows the other's peer port: with --port 0
    // the configured peer URL is on port 0, and a sender started at once logged its failure.
    auto rt = StartRuntime(f, clock, random, demo_side(true, vn_peer, cn_peer),
                           /*hold_queue_timer=*/true, /*hold_link=*/true);
    if (!rt) return Fail(rt.error());
    vn_rt = std::move(*rt);
    auto rt_cn = StartRuntime(cn, clock, random, demo_side(false, cn_peer, vn_peer),
                              /*hold_queue_timer=*/true, /*hold_link=*/true);
    if (!rt_cn) return Fail(rt_cn.error());
    cn_rt = std::move(*rt_cn);
    ConnectDemoPair(*vn_rt, *cn_rt);
  }
  // The queue timers are held until the crossings are seeded: a tick between a truck's
  // entering the yard and the seeder's call forward would call it first, and the seeding fail.
  auto users = SeedDemo(vn_rt->engine());
  if (!users) return Fail(users.error());
  std::vector<DemoUser> cn_users;
  if (cn_rt) {
    auto seeded = SeedDemo(cn_rt->engine(), /*crossings=*/false);
    if (!seeded) return Fail(seeded.error());
    cn_users = std::move(*seeded);
    cn_rt->StartQueueTimer();
  }
  vn_rt->StartQueueTimer();
  std::string host = f.address == "0.0.0.0" ? "127.0.0.1" : f.address;
  std::string url = fmt::format("http://{}:{}/", host, vn_rt->port());
  std::string tokens_file = (var / "demo-tokens.txt").string();
  {
    // The file holds secrets: readable by its owner only.
    std::filesystem::remove(tokens_file);
    std::ofstream tokens(tokens_file);
    std::filesystem::permissions(
        tokens_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    for (const auto& u : *users) tokens << fmt::format("{} {} {}\n", u.name, u.role, u.token);
    for (const auto& u : cn_users) {
      tokens << fmt::format("cn:{} {} {}\n", u.name, u.role, u.token);
    }
  }
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << vn_rt->port() << "\n";
    std::filesystem::rename(tmp, port_file);
  }
  const GateConfig& config = vn_rt->engine().config();
  std::cout << "\nborderflow demo: " << config.self.name.en << " – " << config.counterpart.name.en
            << " gate pair (open around the clock for the demo)\n\n";
  std::cout << "  Open " << url << " in a browser (Huu Nghi, the Vietnamese node).\n";
  if (cn_rt) {
    std::cout << "  Open http://" << host << ":" << cn_rt->port()
              << "/ for Youyiguan, the Chinese node.\n";
    std::cout << "  The two nodes exchange signed messages over HTTPS (peer ports "
              << vn_rt->peer_port() << " and " << cn_rt->peer_port() << ").\n";
  }
  std::cout << "  API:  " << url << "api/v1/gate   (see docs/openapi.yaml)\n\n";
  std::cout << "  Demo users and their API tokens (also in " << tokens_file << "):\n";
  for (const auto& u : *users) {
    std::string who =
        fmt::format("{} ({}{})", u.name, u.role, u.company_id.empty() ? "" : ", " + u.company_id);
    std::cout << fmt::format("    {:<44} {}\n", who, u.token);
  }
  const std::string& fwd = (*users)[1].token;
  std::cout << "\n  Try:  curl -H 'Authorization: Bearer " << fwd << "' " << url
            << "api/v1/crossings\n";
  if (cn_rt) {
    std::cout << "        curl -H 'Authorization: Bearer " << (*users)[3].token << "' " << url
              << "api/v1/link\n\n  Watch a truck cross (a step every 3 s):\n";
  }
  std::cout << "\n  Ctrl-C stops the server" << (cn_rt ? "s" : "") << ".\n" << std::flush;
  std::atomic<bool> stop{false};
  std::thread driver;
  if (cn_rt) {
    driver = std::thread([&] {
      Status drove = DriveDemoCrossing(vn_rt->port(), *users, cn_rt->port(), cn_users,
                                       DemoDriveOptions{}, stop);
      if (!drove) spdlog::warn("demo truck: {}", drove.error().ToString());
    });
  }
  int sig = WaitForSignal(signals);
  spdlog::info("signal {}: stopping", sig);
  stop = true;
  if (driver.joinable()) driver.join();
  if (cn_rt) cn_rt->Stop();
  vn_rt->Stop();
  return kExitOk;
}

int AuditVerify(const std::string& db, const std::string& expect_head) {
  if (!IsPostgresUrl(db) && !std::filesystem::exists(SqlitePathOf(db))) {
    return Fail(InvalidArgument("db_not_found", fmt::format("no database file '{}'", db)));
  }
  // An SQLite file is only read: verifying neither creates, migrates nor converts it.
  std::function<Result<std::vector<AuditRecord>>(int64_t)> read;
  std::unique_ptr<Store> store;
  std::unique_ptr<SqliteAuditReader> reader;
  if (IsPostgresUrl(db)) {
    auto opened = OpenStore(db, HsNomenclature::Hs2022(), StoreOpenOptions{1, false});
    if (!opened) return Fail(opened.error());
    store = std::move(*opened);
    read = [&](int64_t after) { return store->ReadAudit(after, 5000); };
  } else {
    auto opened = SqliteAuditReader::Open(SqlitePathOf(db));
    if (!opened) return Fail(opened.error());
    reader = std::move(*opened);
    read = [&](int64_t after) { return reader->Read(after, 5000); };
  }
  auto result = VerifyAuditChain(read, expect_head);
  if (!result) return Fail(result.error());
  if (!result->ok) {
    std::cout << fmt::format("audit trail BROKEN at record {}: {}\n", result->first_bad_seq,
                             result->reason);
    std::cout << fmt::format("records before it are intact (last good record {})\n",
                             result->head_seq);
    return kExitFailed;
  }
  std::cout << fmt::format("audit trail intact: {} records\nhead {}:{}\n", result->records,
                           result->head_seq, result->head_hash);
  return kExitOk;
}

int StoreCopy(const std::string& from, const std::string& to) {
  auto report = CopySqliteToPostgres(SqlitePathOf(from), to);
  if (!report) return Fail(report.error());
  for (const auto& t : report->tables) {
    std::cout << fmt::format("copied {:<12} {}\n", t.name, t.rows);
  }
  // The target's chain, read back from the target.
  auto store = OpenStore(to, HsNomenclature::Hs2022(), StoreOpenOptions{1, false});
  if (!store) return Fail(store.error());
  auto verified = VerifyAuditChain([&](int64_t after) { return (*store)->ReadAudit(after, 5000); });
  if (!verified) return Fail(verified.error());
  if (!verified->ok || verified->head_seq != report->audit_head_seq) {
    std::cout << fmt::format("audit trail of the copy BROKEN at record {}: {}\n",
                             verified->first_bad_seq, verified->reason);
    return kExitFailed;
  }
  std::cout << fmt::format("audit trail intact: {} records\nhead {}:{}\n", verified->records,
                           verified->head_seq, verified->head_hash);
  return kExitOk;
}

}  // namespace

int RunCli(int argc, char** argv) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  CLI::App app{"borderflow: runs one node of a smart border gate pair"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "borderflow 0.1.0");

  ServeFlags serve;
  auto* serve_cmd = app.add_subcommand("serve", "run the node's HTTP server");
  AddServeFlags(serve_cmd, serve);

  ServeFlags demo;
  demo.db = "var/demo.db";
  bool keep = false;
  bool single = false;
  auto* demo_cmd = app.add_subcommand(
      "demo",
      "start the demo gate pair (Huu Nghi and Youyiguan nodes, linked) with users and crossings; "
      "Huu Nghi listens on --port, Youyiguan on --port + 1, their peer listeners on --port + 363 "
      "and + 364");
  AddServeFlags(demo_cmd, demo);
  demo_cmd->add_flag("--keep", keep,
                     "keep the existing demo databases (users get new tokens) instead of starting "
                     "fresh");
  demo_cmd->add_flag("--single", single, "run the Vietnamese node alone, without the link");

  std::string db = "var/borderflow.db";
  std::string config = "config/huu-nghi.toml";
  auto* migrate_cmd = app.add_subcommand("migrate", "apply pending schema migrations");
  migrate_cmd->add_option("--db", db, kDbHelp)->capture_default_str();

  auto* audit_cmd = app.add_subcommand("audit", "inspect the audit trail");
  audit_cmd->require_subcommand(1);
  std::string expect_head;
  auto* verify_cmd = audit_cmd->add_subcommand(
      "verify", "check the hash chain; exit 0 when intact, 1 naming the first bad record");
  verify_cmd->add_option("--db", db, kDbHelp)->required();
  verify_cmd->add_option("--expect-head", expect_head,
                         "SEQ:HASH printed by an earlier verify, to detect removed records");

  auto* user_cmd = app.add_subcommand("user", "manage users");
  user_cmd->require_subcommand(1);
  std::string name, role, company, driver_document;
  auto* user_add = user_cmd->add_subcommand("add", "add a user");
  user_add->add_option("--db", db, kDbHelp)->capture_default_str();
  user_add->add_option("--config", config, "gate configuration")->capture_default_str();
  user_add->add_option("--name", name, "login name")->required();
  user_add
      ->add_option(
          "--role", role,
          "forwarder, driver, gate_operator, customs_officer, quarantine_officer, "
          "border_guard, administrator, sensor (the counterpart node is no user: it signs)")
      ->required();
  user_add->add_option("--company", company, "company id (forwarders and drivers)");
  user_add->add_option("--driver-document", driver_document,
                       "drivers: the passport or border-pass number their declarations give as "
                       "driver.document_number; a driver sees only those crossings");
  auto* user_list = user_cmd->add_subcommand("list", "list users");
  user_list->add_option("--db", db, kDbHelp)->capture_default_str();
  user_list->add_option("--config", config, "gate configuration")->capture_default_str();

  auto* token_cmd = app.add_subcommand("token", "manage API tokens");
  token_cmd->require_subcommand(1);
  std::string label, token_id;
  int expires_days = 0;
  auto* token_issue = token_cmd->add_subcommand("issue", "issue a token (shown once)");
  token_issue->add_option("--db", db, kDbHelp)->capture_default_str();
  token_issue->add_option("--config", config, "gate configuration")->capture_default_str();
  token_issue->add_option("--user", name, "user name")->required();
  token_issue->add_option("--label", label, "what the token is for");
  token_issue->add_option("--expires-days", expires_days, "expire after N days (0: never)")
      ->check(CLI::Range(0, 3650));
  auto* token_revoke = token_cmd->add_subcommand(
      "revoke", "revoke a token, or every token of a user (someone who left, a stolen device)");
  token_revoke->add_option("--db", db, kDbHelp)->capture_default_str();
  token_revoke->add_option("--config", config, "gate configuration")->capture_default_str();
  auto* revoke_id =
      token_revoke->add_option("--id", token_id, "token id (the part after bft_ and before '.')");
  auto* revoke_user =
      token_revoke->add_option("--user", name, "user name: revokes every live token of the user");
  revoke_id->excludes(revoke_user);
  auto* token_list = token_cmd->add_subcommand(
      "list", "list tokens (ids, labels, dates and state; never the secrets)");
  token_list->add_option("--db", db, kDbHelp)->capture_default_str();
  token_list->add_option("--config", config, "gate configuration")->capture_default_str();
  token_list->add_option("--user", name, "only this user's tokens");

  auto* store_cmd = app.add_subcommand("store", "move data between stores");
  store_cmd->require_subcommand(1);
  std::string copy_from, copy_to;
  auto* copy_cmd = store_cmd->add_subcommand(
      "copy", "copy an SQLite database into an empty PostgreSQL database (audit chain kept)");
  copy_cmd->add_option("--from", copy_from, "SQLite database file (stop its node first)")
      ->required();
  copy_cmd->add_option("--to", copy_to, "postgresql:// URL of an empty database")->required();

  auto run_remote = AddQueueCommands(app);  // queue, capacity, ban, plate-read, wait-board
  auto run_rules = AddRulesCommands(app);   // rules check, test, explain (offline)
  auto run_node = AddNodeCommands(app);     // node keygen, show (offline)
  auto run_sim = AddSimCommands(app);       // simulate (the digital twin, in process)

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (std::string unknown = UnknownSubcommand(app, argc, argv); !unknown.empty()) {
      std::cerr << "borderflow: " << unknown << "\nRun with --help for more information.\n";
      return kExitError;
    }
    return app.exit(e) == 0 ? kExitOk : kExitError;
  }

  if (serve_cmd->parsed()) return Serve(serve);
  if (demo_cmd->parsed()) return Demo(demo, keep, single);
  if (migrate_cmd->parsed()) {
    auto status = MigrateStore(db);
    if (!status) return Fail(status.error());
    for (const auto& m : status->applied) std::cout << "applied " << m << "\n";
    std::cout << "schema version " << status->current_version << "\n";
    return kExitOk;
  }
  if (verify_cmd->parsed()) return AuditVerify(db, expect_head);
  if (copy_cmd->parsed()) return StoreCopy(copy_from, copy_to);
  if (auto code = run_remote()) return *code;
  if (auto code = run_rules()) return *code;
  if (auto code = run_node()) return *code;
  if (auto code = run_sim()) return *code;

  if (token_revoke->parsed() && token_id.empty() == name.empty()) {
    return Fail(InvalidArgument("missing_field", "token revoke: give --id TOKEN or --user NAME"));
  }
  auto offline = OpenOffline(db, config);
  if (!offline) return Fail(offline.error());
  Engine& engine = *(*offline)->engine;
  if (user_add->parsed()) {
    auto parsed_role = ParseRole(role);
    if (!parsed_role) return Fail(parsed_role.error());
    auto r = engine.Execute(
        Command{CliAdmin(), "", "", AddUser{name, *parsed_role, company, driver_document}});
    if (!r) return Fail(r.error());
    std::cout << fmt::format("added user {} ({}) id {}\n", name, role,
                             std::string(r->Json().at("id").as_string()));
    return kExitOk;
  }
  if (user_list->parsed()) {
    auto users = (*offline)->store->ListUsers();
    if (!users) return Fail(users.error());
    for (const auto& u : *users) {
      std::cout << fmt::format("{:<20} {:<20} {:<20} {}{}\n", u.name, RoleName(u.role),
                               u.company_id.empty() ? "-" : u.company_id, u.id,
                               u.driver_document.empty() ? "" : " driver " + u.driver_document);
    }
    return kExitOk;
  }
  if (token_issue->parsed()) {
    std::optional<Timestamp> expires;
    if (expires_days > 0) {
      expires = (*offline)->clock.Now() + std::chrono::hours(24 * expires_days);
    }
    auto r = engine.Execute(Command{CliAdmin(), "", "", IssueApiToken{name, label, expires}});
    if (!r) return Fail(r.error());
    std::cout << std::string(r->Json().at("token").as_string()) << "\n";
    std::cerr << "token for " << name << " issued; it is shown only once\n";
    return kExitOk;
  }
  if (token_revoke->parsed()) {
    auto r = engine.Execute(Command{CliAdmin(), "", "", RevokeApiToken{token_id, name}});
    if (!r) return Fail(r.error());
    boost::json::value body = r->Json();
    if (!token_id.empty()) {
      std::cout << fmt::format("{} {} (at {})\n",
                               body.at("already_revoked").as_bool() ? "already revoked" : "revoked",
                               token_id, std::string(body.at("revoked_at").as_string()));
      return kExitOk;
    }
    const boost::json::array& revoked = body.at("revoked").as_array();
    for (const boost::json::value& id : revoked) {
      std::cout << "revoked " << std::string(id.as_string()) << "\n";
    }
    std::cout << fmt::format("{} live token{} of {} revoked; the user can no longer sign in\n",
                             revoked.size(), revoked.size() == 1 ? "" : "s", name);
    return kExitOk;
  }
  if (token_list->parsed()) {
    std::string user_id;
    std::map<std::string, std::string> user_names;
    auto users = (*offline)->store->ListUsers();
    if (!users) return Fail(users.error());
    for (const auto& u : *users) {
      user_names[u.id] = u.name;
      if (u.name == name) user_id = u.id;
    }
    if (!name.empty() && user_id.empty()) {
      return Fail(NotFound("user_not_found", fmt::format("no user '{}'", name.substr(0, 64))));
    }
    auto tokens = (*offline)->store->ListTokens(user_id);
    if (!tokens) return Fail(tokens.error());
    const Timestamp now = (*offline)->clock.Now();
    Table table({"ID", "USER", "LABEL", "ISSUED", "EXPIRES", "STATE"});
    for (const TokenRecord& t : *tokens) {
      std::string state = t.revoked_at ? "revoked " + FormatUtc(*t.revoked_at)
                          : t.expires_at && *t.expires_at <= now ? "expired"
                                                                 : "active";
      auto user = user_names.find(t.user_id);
      table.Row({t.id, user != user_names.end() ? user->second : t.user_id,
                 t.label.empty() ? "-" : t.label, FormatUtc(t.created_at),
                 t.expires_at ? FormatUtc(*t.expires_at) : "never", std::move(state)});
    }
    table.Print(std::cout);
    return kExitOk;
  }
  return kExitError;
}

}  // namespace borderflow::cli
