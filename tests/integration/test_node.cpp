#include "test_node.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <borderflow/auth/credentials.h>

#include "../../src/store/postgres/pg_test_support.h"

extern char** environ;

namespace borderflow::testing {

namespace json = boost::json;

std::string ApiReply::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return v;
    }
  }
  return "";
}

std::string ApiReply::Code() const {
  if (!body.is_object()) return "";
  const json::value* c = body.as_object().if_contains("code");
  return c && c->is_string() ? std::string(c->as_string()) : "";
}

std::string BorderflowBinary() {
  return std::string(BORDERFLOW_BINARY_DIR) + "/apps/borderflow/borderflow";
}

namespace {
std::filesystem::path MakeTempDir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("borderflow-test-{}-{}", getpid(), counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool OnPostgres() {
  const char* backend = std::getenv("BORDERFLOW_TEST_BACKEND");
  return backend != nullptr && std::string_view(backend) == "postgres";
}

// The pg.* run without a PostgreSQL database: every test is skipped (a plain `ctest` on a
// machine without one), or fails when BORDERFLOW_REQUIRE_PG=1 (scripts/test.sh, CI).
class PostgresBackendCheck : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!OnPostgres() || pg_test::BaseUrl()) return;
    if (pg_test::Required()) FAIL() << pg_test::kSkipMessage;
    GTEST_SKIP() << pg_test::kSkipMessage;
  }
};
[[maybe_unused]] const ::testing::Environment* const kPostgresBackendCheck =
    ::testing::AddGlobalTestEnvironment(new PostgresBackendCheck);

// The database of a new node: see TestNode::db_path().
std::string NodeDatabase(const std::filesystem::path& dir, std::shared_ptr<void>& schema) {
  if (!OnPostgres()) {
    return (dir / "node.db").string();
  }
  auto base = pg_test::BaseUrl();
  if (!base) {
    ADD_FAILURE() << "BORDERFLOW_TEST_BACKEND=postgres needs " << pg_test::kSkipMessage;
    return (dir / "node.db").string();
  }
  auto created = pg_test::Schema::Create(*base);
  if (!created) {
    ADD_FAILURE() << created.error().ToString();
    return (dir / "node.db").string();
  }
  std::shared_ptr<pg_test::Schema> owned = std::move(*created);
  std::string url = owned->url();
  schema = std::move(owned);
  return url;
}
}  // namespace

TestNode::TestNode(EngineOptions engine, api::ApiOptions api,
                   std::function<void(GateConfig&)> configure)
    : dir_(MakeTempDir()),
      db_(NodeDatabase(dir_, schema_)),
      engine_options_(engine),
      api_options_(api),
      configure_(std::move(configure)),
      clock_(*ParseTimestamp("2026-11-29T01:00:00Z")) {
  Start();
  CreateUsers();
}

TestNode::TestNode(std::string config_file, std::function<void(GateConfig&)> configure,
                   std::function<void(RuntimeOptions&)> tweak)
    : dir_(MakeTempDir()),
      db_(NodeDatabase(dir_, schema_)),
      configure_(std::move(configure)),
      config_file_(std::move(config_file)),
      tweak_(std::move(tweak)),
      clock_(*ParseTimestamp("2026-11-29T01:00:00Z")) {
  Start();
  CreateUsers();
}

void TestNode::AddUserWithToken(const std::string& name, Role role, const std::string& company,
                                const std::string& driver_document) {
  Actor admin{"cli", "test", Role::kAdministrator, ""};
  auto added = runtime_->engine().Execute(
      Command{admin, "", "", AddUser{name, role, company, driver_document}});
  ASSERT_TRUE(added) << added.error().ToString();
  auto token = runtime_->engine().Execute(Command{admin, "", "", IssueApiToken{name, "test", {}}});
  ASSERT_TRUE(token) << token.error().ToString();
  tokens_[name] = std::string(token->body.at("token").as_string());
}

void TestNode::CreateUsers() {
  if (!runtime_) return;
  // One user per role, created through the engine like the CLI does.
  Actor admin{"cli", "test", Role::kAdministrator, ""};
  const std::vector<std::tuple<std::string, Role, std::string>> users = {
      {"admin", Role::kAdministrator, ""},      {"fwd-a", Role::kForwarder, "COMPANY-A"},
      {"fwd-b", Role::kForwarder, "COMPANY-B"}, {"operator", Role::kGateOperator, ""},
      {"customs", Role::kCustomsOfficer, ""},   {"quarantine", Role::kQuarantineOfficer, ""},
      {"guard", Role::kBorderGuard, ""},        {"camera", Role::kSensor, ""},
  };
  for (const auto& [name, role, company] : users) {
    auto added = runtime_->engine().Execute(Command{admin, "", "", AddUser{name, role, company}});
    EXPECT_TRUE(added) << added.error().ToString();
    auto token =
        runtime_->engine().Execute(Command{admin, "", "", IssueApiToken{name, "test", {}}});
    EXPECT_TRUE(token) << token.error().ToString();
    tokens_[name] = std::string(token->body.at("token").as_string());
  }
  // A counterpart user with a token, as a database from before such users were refused holds
  // (the engine no longer adds one): the API must refuse it, the counterpart node acts only
  // through signed link messages.
  Timestamp now = clock_.Now();
  UserRecord counterpart{"UCOUNTERPART0000", "counterpart", Role::kCounterpart, "", now};
  SeededRandom token_random(7);  // its own stream: the node's ids stay as they were
  IssuedToken issued = IssueToken(counterpart, "from an older version", {}, now, token_random);
  Status written = runtime_->store().Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertUser(counterpart));
    return txn.InsertToken(issued.record);
  });
  EXPECT_TRUE(written) << written.error().ToString();
  tokens_["counterpart"] = issued.token;
}

TestNode::~TestNode() {
  Stop();
  schema_.reset();  // drops the PostgreSQL schema, after the node closed its connections
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void TestNode::Start() {
  auto config = LoadGateConfig(std::string(BORDERFLOW_SOURCE_DIR) + "/config/" + config_file_);
  ASSERT_TRUE(config) << config.error().ToString();
  if (configure_) configure_(*config);
  RuntimeOptions options;
  options.config = *config;
  options.db_path = db_path();
  options.http.port = 0;
  options.engine = engine_options_;
  options.api = api_options_;
  options.queue_tick = Duration(0);  // tests run the queue timer themselves (Tick)
  if (tweak_) tweak_(options);
  auto rt = Runtime::Start(std::move(options), clock_, random_);
  ASSERT_TRUE(rt) << rt.error().ToString();
  runtime_ = std::move(*rt);
  client_ = std::make_unique<net::HttpClient>("127.0.0.1", runtime_->port());
}

void TestNode::Stop() {
  client_.reset();
  if (runtime_) runtime_->Stop();
  runtime_.reset();
}

void TestNode::Restart() {
  Stop();
  Start();
}

ApiReply TestNode::Call(std::string_view method, std::string_view target, std::string_view user,
                        std::string_view body, std::string key,
                        std::vector<std::pair<std::string, std::string>> headers) {
  if (!user.empty()) {
    headers.emplace_back("Authorization", "Bearer " + tokens_.at(std::string(user)));
  }
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  if (method == "POST") {
    if (key.empty()) key = fmt::format("test-key-{}", ++key_counter_);
    if (key != "-") headers.emplace_back("Idempotency-Key", key);
  }
  return ToReply(client_->Send(method, target, body, headers));
}

ApiReply ToReply(const Result<net::HttpResponse>& r) {
  EXPECT_TRUE(r) << r.error().ToString();
  ApiReply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.raw = r->body;
  reply.headers = r->headers;
  auto parsed = ParseJson(r->body, JsonLimits{64 << 20, 64});
  if (parsed) reply.body = *parsed;
  return reply;
}

std::string TestNode::DurianDeclaration(std::string_view plate) const {
  return fmt::format(R"({{
    "direction": "VN-CN",
    "lane_class": "fresh_produce",
    "vehicle": {{"plate": "{}", "container_number": "CSQU3054383", "seal_number": "VN123456"}},
    "driver": {{"name": "Nguyen Van An", "document_number": "B1234567", "nationality": "VN"}},
    "lines": [{{"hs_code": "0810.60", "description": "Fresh durian", "packages": 800,
                "gross_weight_kg": 16000, "value": {{"amount": "48000.00", "currency": "USD"}},
                "origin_country": "VN"}}],
    "freshness_deadline": "2026-11-30T20:00:00+07:00",
    "documents": {{"customs_declaration": "30612345678",
                   "phytosanitary_certificate": "VN-PC-2026-001234"}}
  }})",
                     plate);
}

std::string TestNode::Declare(std::string_view user, std::string_view plate) {
  ApiReply r = Call("POST", "/api/v1/crossings", user, DurianDeclaration(plate));
  EXPECT_EQ(r.status, 201) << r.raw;
  if (r.status != 201) return "";
  return std::string(r.body.at("id").as_string());
}

ApiReply TestNode::Event(const std::string& id, std::string_view type, std::string_view user,
                         std::string_view data_json, std::string key) {
  std::string body = fmt::format(R"({{"type": "{}", "data": {}}})", type, data_json);
  return Call("POST", "/api/v1/crossings/" + id + "/events", user, body, std::move(key));
}

int64_t TestNode::AuditCount() {
  auto records = runtime_->store().ReadAudit(0, 1000000);
  EXPECT_TRUE(records);
  return records ? static_cast<int64_t>(records->size()) : -1;
}

boost::json::object TestNode::Tick() {
  auto r = runtime_->engine().Execute(Command{Actor::System(), "", "", QueueTick{}});
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return r ? r->body : boost::json::object();
}

// Runs the binary with `args` to completion and captures stdout and stderr.
ProcessRun RunBinary(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  std::filesystem::path out = dir / "out.txt";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> all = {BorderflowBinary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ProcessRun run;
  if (rc != 0) return run;
  // Bounded: a command that should have refused to start but serves instead is killed after
  // two minutes (exit code -1) rather than hanging the test.
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out);
  run.output.assign(std::istreambuf_iterator<char>(in), {});
  return run;
}

pid_t StartServerProcess(std::vector<std::string> args, const std::filesystem::path& dir,
                         uint16_t& port) {
  std::filesystem::path port_file = dir / "port";
  std::filesystem::remove(port_file);
  std::vector<std::string> all = {BorderflowBinary()};
  all.insert(all.end(), args.begin(), args.end());
  for (std::string extra : {"--port", "0", "--port-file"}) all.push_back(extra);
  all.push_back(port_file.string());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log = (dir / "server.log").string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = 0;
  posix_spawn_file_actions_destroy(&actions);
  for (int i = 0; i < 600 && !std::filesystem::exists(port_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ifstream in(port_file);
  int p = 0;
  in >> p;
  port = static_cast<uint16_t>(p);
  return pid;
}

}  // namespace borderflow::testing
