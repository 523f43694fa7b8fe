#pragma once

// A borderflow node for integration tests: a temporary directory with its own database, the
// demo gate configuration, one user (and token) per role, a server on port 0 and an HTTP
// client. Restart() stops the node and starts it again on the same database.

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/net/http_client.h>
#include <borderflow/server/runtime.h>

namespace borderflow::testing {

struct ApiReply {
  int status = 0;
  boost::json::value body;  // null when the body is not JSON
  std::string raw;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(std::string_view name) const;
  // body["code"] for problem details, "" otherwise.
  std::string Code() const;
};

class TestNode {
 public:
  // Users created at first start: name -> token. Names: "admin", "fwd-a" (company A),
  // "fwd-b" (company B), "operator", "customs", "quarantine", "guard", "camera", "counterpart".
  // `configure`, when set, changes the demo gate configuration before every start (e.g. a
  // smaller company booking limit).
  explicit TestNode(EngineOptions engine = {}, api::ApiOptions api = {},
                    std::function<void(GateConfig&)> configure = {});
  // A node of another configuration file in config/ ("youyiguan.toml"), with `tweak` applied
  // to the runtime options before every start (the cross-border link's options, say).
  TestNode(std::string config_file, std::function<void(GateConfig&)> configure,
           std::function<void(RuntimeOptions&)> tweak = {});
  ~TestNode();

  void Restart();
  void Stop();

  // Sends a request as `user` ("" for no token). Adds Content-Type for bodies and, for POST,
  // an Idempotency-Key (a fresh one unless `key` is given).
  ApiReply Call(std::string_view method, std::string_view target, std::string_view user,
                std::string_view body = {}, std::string key = {},
                std::vector<std::pair<std::string, std::string>> headers = {});

  // A valid declaration body for a loaded fresh-produce truck VN->CN.
  std::string DurianDeclaration(std::string_view plate = "12C-123.45") const;
  // Declares as fwd-a and returns the crossing id (asserts success).
  std::string Declare(std::string_view user = "fwd-a", std::string_view plate = "12C-123.45");
  // Posts an event and returns the reply.
  ApiReply Event(const std::string& id, std::string_view type, std::string_view user,
                 std::string_view data_json = "{}", std::string key = {});

  uint16_t port() const { return runtime_->port(); }
  const std::filesystem::path& dir() const { return dir_; }
  // The node's database: an SQLite file in dir(), or, when BORDERFLOW_TEST_BACKEND=postgres
  // (CTest runs the integration tests a second time so, as "pg.*"), a URL of a fresh schema in
  // BORDERFLOW_TEST_PG_URL's database, dropped with the node.
  std::string db_path() const { return db_; }
  bool on_postgres() const { return db_.starts_with("postgres"); }
  Runtime& runtime() { return *runtime_; }
  ManualClock& clock() { return clock_; }
  const std::map<std::string, std::string>& tokens() const { return tokens_; }
  // Adds a user with a token (as `borderflow user add` and `token issue` do) whom Call() then
  // knows by name; not one of the users every node has, so that their ids stay as they are.
  void AddUserWithToken(const std::string& name, Role role, const std::string& company,
                        const std::string& driver_document = {});
  int64_t AuditCount();
  // Runs the queue timer once (the engine's QueueTick as the system) and returns its body.
  boost::json::object Tick();

 private:
  void Start();
  void CreateUsers();

  std::filesystem::path dir_;
  std::shared_ptr<void> schema_;  // the PostgreSQL schema (pg_test::Schema), when on_postgres()
  std::string db_;
  EngineOptions engine_options_;
  api::ApiOptions api_options_;
  std::function<void(GateConfig&)> configure_;
  std::string config_file_ = "huu-nghi.toml";
  std::function<void(RuntimeOptions&)> tweak_;
  ManualClock clock_;
  SeededRandom random_{42};
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<net::HttpClient> client_;
  std::map<std::string, std::string> tokens_;
  int key_counter_ = 0;
};

// The reply to a request sent with a net::HttpClient (expects the exchange to have succeeded).
ApiReply ToReply(const Result<net::HttpResponse>& response);

// The path of the borderflow binary built alongside the tests.
std::string BorderflowBinary();

struct ProcessRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs the borderflow binary with `args` to completion in `dir` (its output goes to a file
// there) and returns its exit code and output.
ProcessRun RunBinary(const std::vector<std::string>& args, const std::filesystem::path& dir);

// Starts the borderflow binary with `args` plus "--port 0 --port-file DIR/port" in the
// background (output appended to DIR/server.log), waits up to 30 s for the port file and sets
// `port` (0 when it never came). Returns the process id (0 when it could not be spawned).
pid_t StartServerProcess(std::vector<std::string> args, const std::filesystem::path& dir,
                         uint16_t& port);

}  // namespace borderflow::testing
