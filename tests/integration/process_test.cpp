// Tests that run the borderflow binary as a separate process: `kill -9` while clients write
// loses no acknowledged write, and `borderflow audit verify` detects tampering.

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_node.h"

extern char** environ;

namespace borderflow::testing {
namespace {

namespace json = boost::json;

// Owns a server process: whatever way a test leaves (a failed ASSERT included), the process is
// killed and reaped, never left running over a deleted directory.
class ServerProcess {
 public:
  explicit ServerProcess(pid_t pid = 0) : pid_(pid) {}
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(ServerProcess&& other) noexcept {
    std::swap(pid_, other.pid_);
    return *this;
  }
  ~ServerProcess() { Wait(SIGKILL); }
  // Sends `signal` and waits; returns the wait status (or -1 when there is no process).
  int Wait(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

// Starts `borderflow serve` (or `command`) in the background and waits for its port file.
pid_t StartServer(const std::filesystem::path& dir, const std::string& db, uint16_t& port,
                  const char* command = "serve") {
  return StartServerProcess(
      {command, "--config", std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml", "--db",
       db},
      dir, port);
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("borderflow-proc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "node.db").string();
    std::string config = std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml";
    ProcessRun added = RunBinary({"user", "add", "--db", db_, "--config", config, "--name", "fwd",
                                  "--role", "forwarder", "--company", "ACME"},
                                 dir_);
    ASSERT_EQ(added.exit_code, 0) << added.output;
    ProcessRun token =
        RunBinary({"token", "issue", "--db", db_, "--config", config, "--user", "fwd"}, dir_);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    token_ = token.output.substr(0, token.output.find('\n'));
    ASSERT_TRUE(token_.starts_with("bft_")) << token.output;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string db_;
  std::string token_;
};

std::string Declaration(int n) {
  return fmt::format(R"({{"direction": "CN-VN", "lane_class": "general_cargo",
      "vehicle": {{"plate": "桂F{:05d}"}},
      "driver": {{"name": "Wang Wei", "document_number": "E{:07d}", "nationality": "CN"}},
      "lines": [{{"hs_code": "851713", "description": "Smartphones", "packages": 10,
                 "gross_weight_kg": 120.5, "value": {{"amount": 25000, "currency": "USD"}},
                 "origin_country": "CN"}}]}})",
                     n % 100000, n);
}

TEST_F(ProcessTest, KillNineLosesNoAcknowledgedWrite) {
  uint16_t port = 0;
  ServerProcess server(StartServer(dir_, db_, port));
  ASSERT_GT(port, 0) << "server did not start";

  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      net::HttpClient client("127.0.0.1", port, std::chrono::milliseconds(3000));
      while (!stop.load()) {
        int n = next.fetch_add(1);
        auto r = client.Send("POST", "/api/v1/crossings", Declaration(n),
                             {{"Authorization", "Bearer " + token_},
                              {"Content-Type", "application/json"},
                              {"Idempotency-Key", fmt::format("k-{}", n)}});
        if (!r) return;  // the server is gone
        if (r->status == 201) {
          auto body = ParseJson(r->body);
          std::lock_guard lock(mu);
          acknowledged.push_back(std::string(body->at("id").as_string()));
        }
      }
    });
  }
  // Let the clients write for a while, then kill the server without warning.
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard lock(mu);
    if (acknowledged.size() >= 200) break;
  }
  server.Wait(SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_GT(acknowledged.size(), 0u);

  // Restart on the same database: every acknowledged crossing is there, and the chain holds.
  server = ServerProcess(StartServer(dir_, db_, port));
  ASSERT_GT(port, 0);
  net::HttpClient client("127.0.0.1", port);
  for (const std::string& id : acknowledged) {
    auto r =
        client.Send("GET", "/api/v1/crossings/" + id, {}, {{"Authorization", "Bearer " + token_}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << "acknowledged crossing " << id << " was lost";
  }
  int status = server.Wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "graceful stop failed";
  ProcessRun verify = RunBinary({"audit", "verify", "--db", db_}, dir_);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

// Changes the database the way an intruder with the file would (triggers dropped first).
void Tamper(const std::string& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &conn), SQLITE_OK);
  char* err = nullptr;
  std::string all =
      "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; " +
      sql;
  EXPECT_EQ(sqlite3_exec(conn, all.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(conn);
}

TEST_F(ProcessTest, AuditVerifyDetectsTampering) {
  {
    // Five records besides the user and token: declarations through the CLI's own engine path
    // are not available, so run a server briefly.
    uint16_t port = 0;
    ServerProcess server(StartServer(dir_, db_, port));
    ASSERT_GT(port, 0);
    net::HttpClient client("127.0.0.1", port);
    for (int n = 0; n < 5; ++n) {
      auto r = client.Send("POST", "/api/v1/crossings", Declaration(n),
                           {{"Authorization", "Bearer " + token_},
                            {"Content-Type", "application/json"},
                            {"Idempotency-Key", fmt::format("t-{}", n)}});
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 201) << r->body;
    }
    server.Wait(SIGTERM);
  }
  ProcessRun intact = RunBinary({"audit", "verify", "--db", db_}, dir_);
  ASSERT_EQ(intact.exit_code, 0) << intact.output;
  EXPECT_NE(intact.output.find("intact: 7 records"), std::string::npos) << intact.output;
  std::string head = intact.output.substr(intact.output.find("head ") + 5);
  head = head.substr(0, head.find('\n'));

  std::filesystem::path pristine = dir_ / "pristine.db";
  std::filesystem::copy_file(db_, pristine);
  auto fresh_copy = [&] {
    std::filesystem::copy_file(pristine, db_, std::filesystem::copy_options::overwrite_existing);
  };

  // A changed record.
  Tamper(db_, "UPDATE audit_log SET body = replace(body, 'Smartphones', 'Bananas') WHERE seq = 4");
  ProcessRun changed = RunBinary({"audit", "verify", "--db", db_}, dir_);
  EXPECT_EQ(changed.exit_code, 1) << changed.output;
  EXPECT_NE(changed.output.find("BROKEN at record 4"), std::string::npos) << changed.output;

  // A removed record.
  fresh_copy();
  Tamper(db_, "DELETE FROM audit_log WHERE seq = 3");
  ProcessRun removed = RunBinary({"audit", "verify", "--db", db_}, dir_);
  EXPECT_EQ(removed.exit_code, 1) << removed.output;
  EXPECT_NE(removed.output.find("BROKEN at record 3"), std::string::npos) << removed.output;

  // An inserted record: shift the tail up and forge a record in the gap.
  fresh_copy();
  Tamper(db_,
         "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 5; "
         "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1005; "
         "INSERT INTO audit_log SELECT 5, at_ms, actor_id, actor_role, subject_type, subject_id, "
         "action, body, prev_hash, hash FROM audit_log WHERE seq = 4;");
  ProcessRun inserted = RunBinary({"audit", "verify", "--db", db_}, dir_);
  EXPECT_EQ(inserted.exit_code, 1) << inserted.output;
  EXPECT_NE(inserted.output.find("BROKEN at record 5"), std::string::npos) << inserted.output;

  // The last record removed: only the recorded head shows it.
  fresh_copy();
  Tamper(db_, "DELETE FROM audit_log WHERE seq = 7");
  ProcessRun truncated = RunBinary({"audit", "verify", "--db", db_, "--expect-head", head}, dir_);
  EXPECT_EQ(truncated.exit_code, 1) << truncated.output;
  EXPECT_NE(truncated.output.find("BROKEN at record 7"), std::string::npos) << truncated.output;

  ProcessRun missing = RunBinary({"audit", "verify", "--db", (dir_ / "nope.db").string()}, dir_);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;

  // Verifying only reads. An empty file stays empty (it became a 4 KiB database before) and is
  // no borderflow database; a copy in a directory nobody may write to is verified (opening it
  // for writing failed on the WAL pragma).
  std::filesystem::path empty = dir_ / "empty.db";
  std::ofstream(empty).close();
  ProcessRun not_ours = RunBinary({"audit", "verify", "--db", empty.string()}, dir_);
  EXPECT_EQ(not_ours.exit_code, 2) << not_ours.output;
  EXPECT_NE(not_ours.output.find("not a borderflow database"), std::string::npos)
      << not_ours.output;
  EXPECT_EQ(std::filesystem::file_size(empty), 0u);
  std::filesystem::path archive = dir_ / "archive";
  std::filesystem::create_directories(archive);
  std::filesystem::copy_file(pristine, archive / "node.db");
  std::filesystem::permissions(archive / "node.db", std::filesystem::perms::owner_read);
  std::filesystem::permissions(
      archive, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  ProcessRun archived =
      RunBinary({"audit", "verify", "--db", (archive / "node.db").string()}, dir_);
  std::filesystem::permissions(archive, std::filesystem::perms::owner_all);
  EXPECT_EQ(archived.exit_code, 0) << archived.output;
  EXPECT_NE(archived.output.find("intact: 7 records"), std::string::npos) << archived.output;
  // (Run as root, the directory's permissions do not apply: then the file itself is
  // unchanged.)
  EXPECT_EQ(std::filesystem::file_size(archive / "node.db"), std::filesystem::file_size(pristine));
}

// The Quick start's demo: a fresh demo node with users and crossings in several states.
TEST_F(ProcessTest, DemoStartsAGatePairWithCrossings) {
  uint16_t port = 0;
  std::string db = (dir_ / "demo" / "demo.db").string();
  ServerProcess server(StartServer(dir_, db, port, "demo"));
  ASSERT_GT(port, 0) << "demo did not start";
  net::HttpClient client("127.0.0.1", port);
  // The port is written once the server listens; seeding follows. Wait for all 11 crossings.
  int64_t total = 0;
  std::set<std::string> states;
  for (int attempt = 0; attempt < 200 && total < 11; ++attempt) {
    auto r = client.Send("GET", "/api/v1/gate");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto gate = ParseJson(r->body);
    ASSERT_TRUE(gate);
    total = 0;
    states.clear();
    for (const auto& d : gate->at("directions").as_array()) {
      for (const auto& c : d.at("lane_classes").as_array()) {
        for (const auto& kv : c.at("by_state").as_object()) {
          total += kv.value().as_int64();
          states.insert(std::string(kv.key()));
        }
      }
    }
    if (total < 11) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The demo's own truck (driven across the pair) may be declared by now too.
  EXPECT_GE(total, 11);
  EXPECT_LE(total, 12);
  for (const char* state :
       {"declared", "assessed", "booked", "in_yard", "called", "at_gate", "released"}) {
    EXPECT_TRUE(states.contains(state)) << state;
  }
  // The truck that crossed was received by Youyiguan (its receipt closed it here), unless the
  // link is a moment behind.
  EXPECT_TRUE(states.contains("received") || states.contains("crossed"));
  // Every demo user got a token, in a file only its owner may read.
  std::filesystem::path tokens = dir_ / "demo" / "demo-tokens.txt";
  ASSERT_TRUE(std::filesystem::exists(tokens));
  EXPECT_EQ(std::filesystem::status(tokens).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  std::ifstream in(tokens);
  std::string name, role, token;
  std::map<std::string, std::string> by_name;
  while (in >> name >> role >> token) by_name[name] = token;
  EXPECT_EQ(by_name.size(), 18u);  // nine users on each node of the pair ("cn:..." for Youyiguan)
  auto mine = client.Send("GET", "/api/v1/crossings", {},
                          {{"Authorization", "Bearer " + by_name["li.nanning"]}});
  ASSERT_TRUE(mine);
  auto page = ParseJson(mine->body);
  ASSERT_TRUE(page) << mine->body;
  EXPECT_EQ(page->at("items").as_array().size(), 3u) << "li.nanning declared three crossings";
  // The demo driver sees the one truck they drive, not FRUITCO's other trucks.
  auto driven = client.Send("GET", "/api/v1/crossings", {},
                            {{"Authorization", "Bearer " + by_name["an.driver"]}});
  ASSERT_TRUE(driven);
  auto driven_page = ParseJson(driven->body);
  ASSERT_TRUE(driven_page) << driven->body;
  ASSERT_EQ(driven_page->at("items").as_array().size(), 1u) << driven->body;
  EXPECT_EQ(driven_page->at("items").at(0).at("driver").at("document_number"), "B0004712");
  // A second demo on the same files would delete them under this one, and a server would
  // serve files the demo replaces: both are refused while it runs, and nothing is removed.
  const std::string config = std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml";
  for (const char* command : {"demo", "serve"}) {
    ProcessRun second = RunBinary({command, "--config", config, "--db", db, "--port", "0"}, dir_);
    EXPECT_EQ(second.exit_code, 2) << command << ": " << second.output;
    EXPECT_NE(second.output.find("is in use by"), std::string::npos) << second.output;
  }
  auto still = client.Send("GET", "/api/v1/crossings", {},
                           {{"Authorization", "Bearer " + by_name["li.nanning"]}});
  ASSERT_TRUE(still);
  EXPECT_EQ(still->body, mine->body);
  int status = server.Wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// A mistyped --db serves a new, empty node: the log says so, once, when the file is created.
TEST_F(ProcessTest, ServeWarnsWhenItCreatesTheDatabase) {
  const std::string fresh = (dir_ / "fresh.db").string();
  auto occurrences = [&] {
    std::ifstream in(dir_ / "server.log");
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t n = 0;
    for (size_t at = 0; (at = log.find("did not exist", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  for (const std::string& db : {fresh, fresh, db_}) {
    uint16_t port = 0;
    ServerProcess server(StartServer(dir_, db, port));
    ASSERT_GT(port, 0);
    int status = server.Wait(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(occurrences(), 1u);  // the first start only; db_ existed already (SetUp)
}

// `demo --keep` starts again on the databases of an earlier demo: the same users (with new
// tokens) and the same crossings, none declared twice. It used to stop at "user_exists".
TEST_F(ProcessTest, DemoKeepStartsAgainOnItsDatabases) {
  const std::string db = (dir_ / "demo" / "demo.db").string();
  const std::string config = std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml";
  auto crossings_of = [&](uint16_t port, const std::string& user) -> size_t {
    std::ifstream in(dir_ / "demo" / "demo-tokens.txt");
    std::string name, role, token, wanted;
    while (in >> name >> role >> token) {
      if (name == user) wanted = token;
    }
    net::HttpClient client("127.0.0.1", port);
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto r = client.Send("GET", "/api/v1/crossings?limit=200", {},
                           {{"Authorization", "Bearer " + wanted}});
      if (r && r->status == 200) {
        auto page = ParseJson(r->body);
        if (page && page->at("items").as_array().size() >= 8) {
          return page->at("items").as_array().size();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  };
  for (bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "demo --keep" : "demo");
    std::vector<std::string> args = {"demo", "--single", "--config", config, "--db", db};
    if (keep) args.push_back("--keep");
    uint16_t port = 0;
    ServerProcess server(StartServerProcess(args, dir_, port));
    ASSERT_GT(port, 0) << "demo did not start";
    EXPECT_EQ(crossings_of(port, "an.fruitco"), 8u);
    int status = server.Wait(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST_F(ProcessTest, HelpOnEverySubcommand) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"serve", "--help"},
                                        {"demo", "--help"},
                                        {"migrate", "--help"},
                                        {"audit", "verify", "--help"},
                                        {"user", "add", "--help"},
                                        {"token", "issue", "--help"},
                                        {"token", "revoke", "--help"},
                                        {"token", "list", "--help"}}) {
    ProcessRun r = RunBinary(args, dir_);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << r.output;
  }
  ProcessRun bad_role = RunBinary({"user", "add", "--db", db_, "--config",
                                   std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml",
                                   "--name", "x-user", "--role", "pilot"},
                                  dir_);
  EXPECT_EQ(bad_role.exit_code, 2);
  EXPECT_NE(bad_role.output.find("unknown_role"), std::string::npos) << bad_role.output;
}

// Bad command lines get an error and exit 2: no abort, nothing read as something else.
TEST_F(ProcessTest, BadCommandLinesAreRefusedClearly) {
  const std::string config = std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml";
  const std::string scenario =
      std::string(BORDERFLOW_SOURCE_DIR) + "/tests/scenarios/sim/small.toml";
  struct Case {
    std::vector<std::string> args;
    const char* expect;
  };
  const Case cases[] = {
      // A --db whose directory cannot be made aborted with an uncaught filesystem_error.
      {{"serve", "--config", config, "--db", "/proc/borderflow-none/x.db", "--port", "0"},
       "store_open_failed"},
      // The demo's second node and peer listeners sit above --port: no wrapping to port 127.
      {{"demo", "--config", config, "--db", (dir_ / "demo" / "demo.db").string(), "--port",
        "65300"},
       "at most 65171"},
      // An empty policy in the list was skipped, "3abc" lanes read as 3.
      {{"simulate", scenario, "--policy", "fifo,,smart", "--days", "1"}, "an empty name"},
      {{"simulate", scenario, "--policy", "fifo", "--days", "1", "--lanes",
        "VN-CN/fresh_produce=3abc"},
       "'3abc' is not a lane count"},
      // Seeds out of range ran with 18446744073709551615; duplicates ran the same run twice.
      {{"simulate", scenario, "--seed", "-1", "--days", "1"}, "--seed -1: expected an integer"},
      {{"simulate", scenario, "--seed", "99999999999999999999", "--days", "1"},
       "expected an integer from 0 to 18446744073709551615"},
      {{"simulate", scenario, "--policy", "smart,smart", "--days", "1"}, "'smart' is named twice"},
      {{"simulate", scenario, "--days", "1", "--lanes", "VN-CN/fresh_produce=2,2"},
       "2 is given twice"},
      // The report's languages: vi, zh, en.
      {{"simulate", scenario, "--days", "1", "--lang", "fr", "--report", (dir_ / "fr").string()},
       "--lang fr: expected vi (Vietnamese), zh (Chinese) or en (English)"},
      {{"simulate", scenario, "--days", "1", "--lang", "VI"}, "--lang VI: expected vi"},
      // A --report that is a file failed only after the whole simulation.
      {{"simulate", scenario, "--days", "1", "--report", (dir_ / "a-file").string()},
       "exists and is not a folder"},
      // A bad listen address failed only at bind, after creating and migrating the database.
      {{"serve", "--config", config, "--db", (dir_ / "listen" / "x.db").string(), "--listen",
        "999.1.1.1", "--port", "0"},
       "invalid_listen_address"},
      // An unknown command said only "A subcommand is required".
      {{"token", "disable", "--user", "x"},
       "unknown command 'token disable'; commands of 'token': issue, revoke, list"},
      {{"frobnicate"}, "unknown command 'frobnicate'; commands: serve, demo"},
      {{"token", "revoke", "--db", (dir_ / "x.db").string()}, "--id"},
  };
  {
    std::ofstream file(dir_ / "a-file");
    file << "not a folder\n";
  }
  for (const Case& c : cases) {
    ProcessRun r = RunBinary(c.args, dir_);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << ": " << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args[0] << ": " << r.output;
  }
}

// `borderflow store copy` to a target that is wrong or does not answer leaves the SQLite source
// as it found it: the same bytes and nothing new beside it - no -wal or -shm files, which
// opening a WAL database makes - even when the copy is interrupted while it waits for a target
// that does not answer (libpq waits up to its connect_timeout, 10 s: long enough for Ctrl-C).
TEST_F(ProcessTest, StoreCopyToABadTargetLeavesTheSourceAsItWas) {
  const std::filesystem::path source_dir = dir_ / "source";
  std::filesystem::create_directories(source_dir);
  const std::string source = (source_dir / "node.db").string();
  ASSERT_FALSE(std::filesystem::exists(db_ + "-wal"));
  std::filesystem::copy_file(db_, source);
  auto listing = [&] {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(source_dir)) {
      names.insert(e.path().filename().string());
    }
    return names;
  };
  auto bytes = [&] {
    std::ifstream in(source, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::set<std::string> names = listing();
  ASSERT_EQ(names, std::set<std::string>{"node.db"});
  const std::string before = bytes();

  // A target that accepts the connection and never answers.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t size = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &size), 0);
  const std::string silent =
      fmt::format("postgresql://borderflow@127.0.0.1:{}/none", ntohs(addr.sin_port));
  std::vector<std::string> all = {
      BorderflowBinary(), "store", "copy", "--from", source, "--to", silent};
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out = (dir_ / "copy.txt").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(spawned, 0);
  ServerProcess copy(pid);
  // The copy has connected (the connection waits to be accepted) and waits for an answer.
  pollfd pending{listener, POLLIN, 0};
  ASSERT_EQ(poll(&pending, 1, 30000), 1) << "the copy never connected to the target";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(listing(), names) << "while the copy waits for the target";
  int status = copy.Wait(SIGTERM);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the copy ended before it was interrupted";
  close(listener);
  EXPECT_EQ(listing(), names) << "after the copy was interrupted";
  EXPECT_EQ(bytes(), before);

  // Targets refused at once.
  struct Case {
    std::string to;
    const char* expect;
  };
  const Case cases[] = {
      {"postgresql://nobody@127.0.0.1:1/none", "store_open_failed"},
      {"postgresql://borderflow@127.0.0.1:notaport/none", "invalid integer value \"notaport\""},
      {"postgresql://%zz", "invalid percent-encoded token"},
      {"postgresql://127.0.0.1:1/none?sslmode=bogus", "invalid sslmode value"},
      {(source_dir / "copy.db").string(), "copy_target_invalid"},
      {"sqlite:" + (source_dir / "copy.db").string(), "copy_target_invalid"},
  };
  for (const Case& c : cases) {
    ProcessRun r = RunBinary({"store", "copy", "--from", source, "--to", c.to}, dir_);
    EXPECT_EQ(r.exit_code, 2) << c.to << ": " << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.to << ": " << r.output;
    EXPECT_EQ(listing(), names) << c.to;
    EXPECT_EQ(bytes(), before) << c.to;
  }
}

// A lane class closed for the run: the trucks the engine refuses are counted (arrived, still
// waiting) and the summary says so; they used to vanish from a "perfect gate" summary.
TEST_F(ProcessTest, SimulateReportsTrucksTheEngineRefused) {
  const std::string scenario =
      std::string(BORDERFLOW_SOURCE_DIR) + "/tests/scenarios/sim/small.toml";
  ProcessRun r = RunBinary({"simulate", scenario, "--days", "1", "--quiet", "--lanes",
                            "VN-CN/fresh_produce=0", "--json", (dir_ / "closed.json").string()},
                           dir_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("smart · 0 lanes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("WARNING: the engine refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no_lanes"), std::string::npos) << r.output;
  std::ifstream in(dir_ / "closed.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"trucks_refused\""), std::string::npos) << text.str();
}

// --lang: the report page opens in that language (all three are on it, with a switcher).
TEST_F(ProcessTest, SimulateReportOpensInTheLanguageAsked) {
  const std::string scenario =
      std::string(BORDERFLOW_SOURCE_DIR) + "/tests/scenarios/sim/small.toml";
  ProcessRun r = RunBinary({"simulate", scenario, "--days", "1", "--quiet", "--policy", "fifo",
                            "--lang", "zh", "--report", (dir_ / "zh").string()},
                           dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir_ / "zh" / "report.html");
  std::stringstream text;
  text << in.rdbuf();
  const std::string html = text.str();
  EXPECT_NE(html.find(R"(<html lang="zh-Hans" data-lang="zh")"), std::string::npos)
      << html.substr(0, 300);
  EXPECT_NE(html.find(R"(<option value="zh" lang="zh-Hans" selected>)"), std::string::npos);
  EXPECT_NE(html.find("主要指标"), std::string::npos);
  EXPECT_NE(html.find("Số liệu chính"), std::string::npos);
  EXPECT_NE(html.find("Key figures"), std::string::npos);
  // The command line shown on the page says it.
  EXPECT_NE(html.find("--lang zh"), std::string::npos);
  // The option is in the help.
  ProcessRun en = RunBinary({"simulate", "--help"}, dir_);
  EXPECT_NE(en.output.find("--lang"), std::string::npos) << en.output;
}

}  // namespace
}  // namespace borderflow::testing
