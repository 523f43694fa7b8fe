// The cross-border link between two `borderflow serve` processes: `kill -9` of either node
// while messages flow loses nothing and applies nothing twice (issue 5).

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <borderflow/link/node_key.h>

#include "test_node.h"

extern char** environ;

namespace borderflow::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A port free now (the peer listeners need known ports before either node starts).
uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// One node of the pair as a process: its directory, configuration, database and tokens.
class NodeProcess {
 public:
  NodeProcess(fs::path dir, std::string config) : dir_(std::move(dir)), config_(std::move(config)) {
    fs::create_directories(dir_);
  }
  ~NodeProcess() { Kill(SIGKILL); }

  std::string db() const { return (dir_ / "node.db").string(); }
  const fs::path& dir() const { return dir_; }

  std::string AddUser(const std::string& name, const std::string& role,
                      const std::string& company = "") {
    std::vector<std::string> args = {"user",  "add",    "--db", db(),     "--config",
                                     config_, "--name", name,   "--role", role};
    if (!company.empty()) {
      args.push_back("--company");
      args.push_back(company);
    }
    ProcessRun added = RunBinary(args, dir_);
    EXPECT_EQ(added.exit_code, 0) << added.output;
    ProcessRun token =
        RunBinary({"token", "issue", "--db", db(), "--config", config_, "--user", name}, dir_);
    EXPECT_EQ(token.exit_code, 0) << token.output;
    return token.output.substr(0, token.output.find('\n'));
  }

  void Start() {
    pid_ = StartServerProcess({"serve", "--config", config_, "--db", db(), "--queue-tick", "0"},
                              dir_, port_);
  }

  int Kill(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }

  uint16_t port() const { return port_; }

 private:
  fs::path dir_;
  std::string config_;
  pid_t pid_ = 0;
  uint16_t port_ = 0;
};

// The shipped configuration of one side with the link to the other added.
std::string WriteLinkedConfig(const fs::path& path, const std::string& source,
                              const std::string& key_file, const NodeKey& peer,
                              uint16_t own_peer_port, uint16_t peer_port) {
  std::ifstream in(std::string(BORDERFLOW_SOURCE_DIR) + "/config/" + source);
  std::string text(std::istreambuf_iterator<char>(in), {});
  size_t at = text.find("peer_url = ");
  EXPECT_NE(at, std::string::npos);
  text.replace(at, text.find('\n', at) - at,
               fmt::format("peer_url = \"https://127.0.0.1:{}/peer/v1\"", peer_port));
  text += fmt::format(
      "\n[[counterpart.keys]]\nid = \"{}\"\npublic_key = \"{}\"\n\n[link]\nkey_file = \"{}\"\n"
      "listen = \"127.0.0.1:{}\"\nretry_min_ms = 50\nretry_max_ms = 500\n",
      peer.key_id, Base64Encode(peer.public_key), key_file, own_peer_port);
  std::ofstream(path) << text;
  return path.string();
}

int64_t QueryInt(const std::string& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(conn);
  int64_t v = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return v;
}

std::string Declaration(int n) {
  return fmt::format(R"({{"direction": "VN-CN", "lane_class": "general_cargo",
      "vehicle": {{"plate": "12C-{:03d}.{:02d}"}},
      "driver": {{"name": "Nguyen Van An", "document_number": "B{:07d}", "nationality": "VN"}},
      "lines": [{{"hs_code": "940360", "description": "Wooden furniture", "packages": 10,
                 "gross_weight_kg": 900, "value": {{"amount": 1800, "currency": "USD"}},
                 "origin_country": "VN"}}]}})",
                     100 + n / 100 % 900, n % 100, n);
}

TEST(LinkProcessTest, KillNineOfEitherNodeLosesNothingAndAppliesNothingTwice) {
  fs::path root = fs::temp_directory_path() / fmt::format("bf-link-proc-{}", getpid());
  fs::remove_all(root);
  fs::create_directories(root);
  Timestamp created = *ParseTimestamp("2026-11-01T00:00:00Z");
  NodeKey vn_key = GenerateNodeKey(created), cn_key = GenerateNodeKey(created);
  ASSERT_TRUE(WriteKeyFile((root / "vn.key").string(), vn_key, true));
  ASSERT_TRUE(WriteKeyFile((root / "cn.key").string(), cn_key, true));
  uint16_t vn_peer = FreePort(), cn_peer = FreePort();
  std::string vn_config = WriteLinkedConfig(root / "vn.toml", "huu-nghi.toml",
                                            (root / "vn.key").string(), cn_key, vn_peer, cn_peer);
  std::string cn_config = WriteLinkedConfig(root / "cn.toml", "youyiguan.toml",
                                            (root / "cn.key").string(), vn_key, cn_peer, vn_peer);
  NodeProcess vn(root / "vn", vn_config), cn(root / "cn", cn_config);
  std::string fwd = vn.AddUser("fwd", "forwarder", "ACME");
  std::string customs = vn.AddUser("customs", "customs_officer");
  std::string cn_operator = cn.AddUser("operator", "gate_operator");
  vn.Start();
  cn.Start();
  ASSERT_GT(vn.port(), 0);
  ASSERT_GT(cn.port(), 0);

  // Clients declare and assess trucks on the Vietnamese node: each assessment puts a
  // pre-arrival notice in the outbox, in the same transaction.
  std::mutex mu;
  std::vector<std::string> assessed;
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  std::atomic<uint16_t> vn_port{vn.port()};
  auto client_loop = [&] {
    while (!stop.load()) {
      net::HttpClient client("127.0.0.1", vn_port.load(), 2000ms);
      while (!stop.load()) {
        int n = next.fetch_add(1);
        auto declared = client.Send("POST", "/api/v1/crossings", Declaration(n),
                                    {{"Authorization", "Bearer " + fwd},
                                     {"Content-Type", "application/json"},
                                     {"Idempotency-Key", fmt::format("d-{}", n)}});
        if (!declared || declared->status != 201) break;  // the node is down: reconnect
        auto body = ParseJson(declared->body);
        std::string id(body->at("id").as_string());
        auto assess = client.Send("POST", "/api/v1/crossings/" + id + "/events",
                                  R"({"type": "assess", "data": {"channel": "green"}})",
                                  {{"Authorization", "Bearer " + customs},
                                   {"Content-Type", "application/json"},
                                   {"Idempotency-Key", fmt::format("a-{}", n)}});
        if (!assess || assess->status != 200) break;
        std::lock_guard lock(mu);
        assessed.push_back(id);
      }
      std::this_thread::sleep_for(50ms);
    }
  };
  auto wait_for = [&](size_t count) {
    for (int i = 0; i < 400; ++i) {
      {
        std::lock_guard lock(mu);
        if (assessed.size() >= count) return;
      }
      std::this_thread::sleep_for(25ms);
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) clients.emplace_back(client_loop);

  wait_for(60);
  cn.Kill(SIGKILL);  // the receiver dies mid-flow
  wait_for(120);     // the Vietnamese side keeps working meanwhile
  cn.Start();
  wait_for(180);
  vn.Kill(SIGKILL);  // the sender dies mid-flow
  vn.Start();
  vn_port = vn.port();
  wait_for(240);
  stop = true;
  for (auto& t : clients) t.join();

  // Wait for the Vietnamese outbox to drain.
  net::HttpClient vn_client("127.0.0.1", vn.port());
  int64_t backlog = -1;
  for (int i = 0; i < 300 && backlog != 0; ++i) {
    auto r = vn_client.Send("GET", "/api/v1/link", {}, {{"Authorization", "Bearer " + customs}});
    ASSERT_TRUE(r);
    auto link = ParseJson(r->body);
    backlog = link->at("backlog").as_int64();
    if (backlog != 0) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(backlog, 0) << "the outbox did not drain";

  // Every acknowledged assessment reached the other side, as an expected truck.
  net::HttpClient cn_client("127.0.0.1", cn.port());
  ASSERT_GT(assessed.size(), 100u);
  for (const std::string& id : assessed) {
    auto r = cn_client.Send("GET", "/api/v1/crossings/" + id, {},
                            {{"Authorization", "Bearer " + cn_operator}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << id << " never reached Youyiguan";
  }
  vn.Kill(SIGTERM);
  cn.Kill(SIGTERM);
  // Nothing applied twice: one announcement per crossing, one applied record per message id.
  std::string cn_db = cn.db();
  int64_t crossings = QueryInt(cn_db, "SELECT COUNT(*) FROM crossings");
  EXPECT_EQ(QueryInt(cn_db, "SELECT COUNT(*) FROM audit_log WHERE action = 'announce'"), crossings);
  EXPECT_EQ(QueryInt(cn_db, "SELECT COUNT(*) FROM audit_log WHERE action = 'peer_message'"),
            QueryInt(cn_db,
                     "SELECT COUNT(DISTINCT json_extract(body, '$.id')) FROM audit_log "
                     "WHERE action = 'peer_message'"));
  // Each side has at least what the clients saw acknowledged (a write may commit just before a
  // kill without its response reaching the client), and no more than was declared.
  EXPECT_GE(crossings, static_cast<int64_t>(assessed.size()));
  EXPECT_LE(crossings, QueryInt(vn.db(), "SELECT COUNT(*) FROM crossings"));
  for (NodeProcess* node : {&vn, &cn}) {
    ProcessRun verify = RunBinary({"audit", "verify", "--db", node->db()}, node->dir());
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace borderflow::testing
