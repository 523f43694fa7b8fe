// The queue commands of the borderflow binary (queue, capacity, ban, plate-read, wait-board)
// against a running demo node: they talk HTTP to the node, print tables, and exit 0 on success,
// 1 when the node refuses the request and 2 when they cannot run.

#include <fstream>
#include <map>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_node.h"

extern char** environ;

namespace borderflow::testing {
namespace {

namespace json = boost::json;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return out + err; }
};

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the binary with `args` and the environment of this process without any BORDERFLOW_
// variable, plus `env` ("NAME=value").
CliRun RunCli(const std::vector<std::string>& args, const std::filesystem::path& dir,
              const std::vector<std::string>& env = {}) {
  std::filesystem::path out = dir / "cli.out", err = dir / "cli.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> all = {BorderflowBinary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("BORDERFLOW_")) environment.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  CliRun run;
  if (rc != 0) return run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = Slurp(out);
  run.err = Slurp(err);
  return run;
}

bool Has(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// One demo node (`borderflow demo` on a temporary database) for the whole suite.
class QueueCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("borderflow-queue-cli-" + std::to_string(getpid())));
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_ / "demo");
    std::filesystem::path port_file = *dir_ / "port";
    std::vector<std::string> all = {BorderflowBinary(),
                                    "demo",
                                    "--config",
                                    std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml",
                                    "--db",
                                    (*dir_ / "demo" / "demo.db").string(),
                                    "--port",
                                    "0",
                                    "--port-file",
                                    port_file.string()};
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = (*dir_ / "server.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 600 && !std::filesystem::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int port = 0;
    std::ifstream(port_file) >> port;
    port_ = static_cast<uint16_t>(port);
    if (port_ == 0) return;
    // The port file is written once the server listens; the demo users and crossings follow.
    // The tokens file is written after seeding.
    std::filesystem::path tokens = *dir_ / "demo" / "demo-tokens.txt";
    for (int i = 0; i < 600; ++i) {
      tokens_ = new std::map<std::string, std::string>();
      std::ifstream in(tokens);
      std::string name, role, token;
      while (in >> name >> role >> token) (*tokens_)[name] = token;
      if (tokens_->size() >= 8) break;  // eight users per node (Youyiguan's as "cn:...")
      delete tokens_;
      tokens_ = nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static std::string LogTail() {
    std::string log = Slurp(*dir_ / "server.log");
    return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete tokens_;
  }

  void SetUp() override {
    // The log goes with the suite's directory: its end is told here.
    ASSERT_GT(port_, 0) << "the demo node did not start within 30 s; the end of its log:\n"
                        << LogTail();
    ASSERT_NE(tokens_, nullptr) << "the demo node wrote no tokens";
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Token(const std::string& user) const { return tokens_->at(user); }

  // Runs a command against the node as `user` ("" for no token), the token passed in
  // BORDERFLOW_TOKEN and the URL in --url.
  CliRun As(const std::string& user, std::vector<std::string> args) const {
    args.push_back("--url");
    args.push_back(Url());
    std::vector<std::string> env;
    if (!user.empty()) env.push_back("BORDERFLOW_TOKEN=" + Token(user));
    CliRun run = RunCli(args, *dir_, env);
    if (!user.empty()) {
      EXPECT_FALSE(Has(run.all(), Token(user))) << "the token was printed";
    }
    return run;
  }

  static std::filesystem::path* dir_;
  static pid_t pid_;
  static uint16_t port_;
  static std::map<std::string, std::string>* tokens_;
};

std::filesystem::path* QueueCliTest::dir_ = nullptr;
pid_t QueueCliTest::pid_ = 0;
uint16_t QueueCliTest::port_ = 0;
std::map<std::string, std::string>* QueueCliTest::tokens_ = nullptr;

TEST_F(QueueCliTest, WaitBoardNeedsNoToken) {
  CliRun board = As("", {"wait-board"});
  ASSERT_EQ(board.exit_code, 0) << board.all();
  for (const char* text : {"Huu Nghi", "Youyiguan", "VN-CN", "CN-VN", "Fresh produce",
                           "Trái cây tươi", "鲜果", "Empty return", "WAIT", "TODAY"}) {
    EXPECT_TRUE(Has(board.out, text)) << text << "\n" << board.out;
  }
  EXPECT_TRUE(board.err.empty()) << board.err;

  // The URL from the environment, the node's own JSON with --json.
  CliRun raw = RunCli({"wait-board", "--json"}, *dir_, {"BORDERFLOW_URL=" + Url()});
  ASSERT_EQ(raw.exit_code, 0) << raw.all();
  auto parsed = ParseJson(raw.out);
  ASSERT_TRUE(parsed) << raw.out;
  EXPECT_EQ(parsed->at("lanes").as_array().size(), 6u) << raw.out;

  // A flag wins over the environment: an operator who names a node talks to that node.
  CliRun flagged =
      RunCli({"wait-board", "--url", "http://127.0.0.1:1"}, *dir_, {"BORDERFLOW_URL=" + Url()});
  EXPECT_EQ(flagged.exit_code, 2) << flagged.all();
  EXPECT_TRUE(Has(flagged.err, "127.0.0.1:1")) << flagged.err;
  CliRun token = RunCli({"queue", "show", "--url", Url(), "--token", "bft_NOPE.secret"}, *dir_,
                        {"BORDERFLOW_TOKEN=" + Token("operator")});
  EXPECT_EQ(token.exit_code, 1) << token.all();
  EXPECT_TRUE(Has(token.err, "invalid_token")) << token.err;
}

TEST_F(QueueCliTest, QueueShowWithoutTokenIsRefused) {
  CliRun refused = As("", {"queue", "show"});
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_TRUE(Has(refused.err, "authentication_required")) << refused.err;
  EXPECT_TRUE(Has(refused.err, "BORDERFLOW_TOKEN")) << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;

  // A forwarder may not see the queue: refused too (403).
  CliRun forwarder = As("an.fruitco", {"queue", "show"});
  EXPECT_EQ(forwarder.exit_code, 1) << forwarder.all();
  EXPECT_TRUE(Has(forwarder.err, "role_not_allowed")) << forwarder.err;

  // A bad token.
  CliRun bad = RunCli({"queue", "show", "--url", Url(), "--token", "bft_NOPE.secret"}, *dir_);
  EXPECT_EQ(bad.exit_code, 1) << bad.all();
  EXPECT_TRUE(Has(bad.err, "invalid_token")) << bad.err;
  EXPECT_FALSE(Has(bad.all(), "bft_NOPE.secret"));
}

TEST_F(QueueCliTest, ConnectionAndUsageErrorsExitTwo) {
  // Nobody listens on port 1 (a privileged port no test node can bind).
  CliRun down = RunCli({"wait-board", "--url", "http://127.0.0.1:1"}, *dir_);
  EXPECT_EQ(down.exit_code, 2) << down.all();
  EXPECT_TRUE(Has(down.err, "is a node running at http://127.0.0.1:1")) << down.err;

  CliRun https = RunCli({"wait-board", "--url", "https://example.org"}, *dir_);
  EXPECT_EQ(https.exit_code, 2) << https.all();
  EXPECT_TRUE(Has(https.err, "invalid_url") || Has(https.err, "only http://")) << https.err;

  CliRun missing = As("operator", {"queue", "call-next", "--direction", "VN-CN"});
  EXPECT_EQ(missing.exit_code, 2) << missing.all();
  EXPECT_TRUE(Has(missing.all(), "--lane-class")) << missing.all();

  CliRun bad_policy = As("operator", {"queue", "policy", "random"});
  EXPECT_EQ(bad_policy.exit_code, 2) << bad_policy.all();

  CliRun bad_time = As("operator", {"capacity", "show", "--direction", "VN-CN", "--lane-class",
                                    "fresh_produce", "--from", "tomorrow"});
  EXPECT_EQ(bad_time.exit_code, 2) << bad_time.all();
  EXPECT_TRUE(Has(bad_time.err, "--from")) << bad_time.err;

  CliRun neither = As("operator", {"plate-read", "resolve", "PR-X"});
  EXPECT_EQ(neither.exit_code, 2) << neither.all();
  EXPECT_TRUE(Has(neither.err, "--dismiss")) << neither.err;
}

TEST_F(QueueCliTest, QueueShowListsTheLanes) {
  CliRun show = As("operator", {"queue", "show"});
  ASSERT_EQ(show.exit_code, 0) << show.all();
  EXPECT_TRUE(Has(show.out, "policy ")) << show.out;
  EXPECT_TRUE(Has(show.out, "staging yard")) << show.out;
  // The demo's trucks in the yard or booked: VN-CN fresh produce (24C-111.22 in the yard).
  EXPECT_TRUE(Has(show.out, "VN-CN fresh_produce")) << show.out;
  EXPECT_TRUE(Has(show.out, "24C-111.22") || Has(show.out, "not planned")) << show.out;

  CliRun one = As("operator", {"queue", "show", "--direction", "CN-VN"});
  ASSERT_EQ(one.exit_code, 0) << one.all();
  EXPECT_FALSE(Has(one.out, "VN-CN ")) << one.out;

  CliRun raw = As("operator", {"queue", "show", "--json"});
  ASSERT_EQ(raw.exit_code, 0) << raw.all();
  auto parsed = ParseJson(raw.out);
  ASSERT_TRUE(parsed) << raw.out;
  EXPECT_TRUE(parsed->as_object().contains("lanes"));

  CliRun predictions = As("operator", {"queue", "predictions"});
  EXPECT_EQ(predictions.exit_code, 0) << predictions.all();

  // Calling forward depends on the time of day (the gate's hours) and the plan: either a truck
  // is called or the node explains why not.
  CliRun call = As("operator",
                   {"queue", "call-next", "--direction", "VN-CN", "--lane-class", "fresh_produce"});
  if (call.exit_code == 0) {
    EXPECT_TRUE(Has(call.out, "called CR-")) << call.out;
  } else {
    EXPECT_EQ(call.exit_code, 1) << call.all();
    EXPECT_TRUE(Has(call.err, "no_call_room") || Has(call.err, "nobody_to_call")) << call.err;
  }
  EXPECT_TRUE(Has(call.err, "idempotency key cli-")) << call.err;
}

TEST_F(QueueCliTest, PolicyChangeReplans) {
  CliRun fifo = As("operator", {"queue", "policy", "fifo"});
  ASSERT_EQ(fifo.exit_code, 0) << fifo.all();
  EXPECT_TRUE(Has(fifo.out, "queue policy fifo (was smart)")) << fifo.out;
  EXPECT_TRUE(Has(fifo.out, "replan: ")) << fifo.out;
  CliRun smart = As("operator", {"queue", "policy", "smart"});
  ASSERT_EQ(smart.exit_code, 0) << smart.all();
  EXPECT_TRUE(Has(smart.out, "queue policy smart (was fifo)")) << smart.out;

  // Customs may look but not change the policy.
  CliRun customs = As("customs", {"queue", "policy", "fifo"});
  EXPECT_EQ(customs.exit_code, 1) << customs.all();
  EXPECT_TRUE(Has(customs.err, "role_not_allowed")) << customs.err;
}

TEST_F(QueueCliTest, CapacityAddThenList) {
  CliRun empty = As("operator", {"capacity", "list"});
  ASSERT_EQ(empty.exit_code, 0) << empty.all();

  std::vector<std::string> add = {"capacity",
                                  "add",
                                  "--kind",
                                  "lanes",
                                  "--direction",
                                  "VN-CN",
                                  "--lane-class",
                                  "fresh_produce",
                                  "--lanes",
                                  "2",
                                  "--from",
                                  "+1h",
                                  "--until",
                                  "+3h",
                                  "--reason",
                                  "lane 3 repainted",
                                  "--idempotency-key",
                                  "cli-test-capacity-1"};
  CliRun added = As("operator", add);
  ASSERT_EQ(added.exit_code, 0) << added.all();
  EXPECT_TRUE(Has(added.out, "added lanes CAP-")) << added.out;
  EXPECT_TRUE(Has(added.out, "replan: ")) << added.out;
  EXPECT_TRUE(Has(added.out, "moved")) << added.out;
  EXPECT_TRUE(Has(added.err, "idempotency key cli-test-capacity-1")) << added.err;

  // The same key again: answered from the first time, applied once. "+1h" is another time now,
  // so the command printed the times to repeat with the key.
  size_t from = added.err.find("--from ");
  ASSERT_NE(from, std::string::npos) << added.err;
  size_t until = added.err.find("--until ", from);
  ASSERT_NE(until, std::string::npos) << added.err;
  add[11] = added.err.substr(from + 7, until - 1 - (from + 7));
  add[13] = added.err.substr(until + 8, added.err.find(')', until) - (until + 8));
  ASSERT_TRUE(ParseTimestamp(add[11])) << add[11];
  ASSERT_TRUE(ParseTimestamp(add[13])) << add[13];
  CliRun again = As("operator", add);
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_TRUE(Has(again.err, "replayed")) << again.err;

  CliRun list = As("operator", {"capacity", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.all();
  EXPECT_TRUE(Has(list.out, "lane 3 repainted")) << list.out;
  EXPECT_TRUE(Has(list.out, "CAP-")) << list.out;
  EXPECT_TRUE(Has(list.out, "times in +07:00")) << list.out;
  size_t count = 0;
  for (size_t at = list.out.find("lane 3 repainted"); at != std::string::npos;
       at = list.out.find("lane 3 repainted", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << list.out;

  CliRun show = As("operator", {"capacity", "show", "--direction", "VN-CN", "--lane-class",
                                "fresh_produce", "--from", "now", "--until", "+4h"});
  ASSERT_EQ(show.exit_code, 0) << show.all();
  EXPECT_TRUE(Has(show.out, "VN-CN fresh_produce: capacity per 15-minute bucket")) << show.out;
  EXPECT_TRUE(Has(show.out, "total: ")) << show.out;
  EXPECT_TRUE(Has(show.out, "START")) << show.out;

  // Refusals: a forwarder may not change capacity; an unknown lane class.
  CliRun forwarder = As("an.fruitco", {"capacity", "add", "--kind", "closure", "--from", "+1h",
                                       "--until", "+2h", "--reason", "mine"});
  EXPECT_EQ(forwarder.exit_code, 1) << forwarder.all();
  EXPECT_TRUE(Has(forwarder.err, "role_not_allowed")) << forwarder.err;
  CliRun unknown =
      As("operator", {"capacity", "show", "--direction", "VN-CN", "--lane-class", "bananas"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.all();
  EXPECT_TRUE(Has(unknown.err, "unknown_lane")) << unknown.err;
}

TEST_F(QueueCliTest, BanAddListLift) {
  CliRun added =
      As("operator", {"ban", "add", "29C-888.77", "--days", "3", "--reason", "two no-shows"});
  ASSERT_EQ(added.exit_code, 0) << added.all();
  EXPECT_TRUE(Has(added.out, "banned ")) << added.out;

  CliRun list = As("operator", {"ban", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.all();
  EXPECT_TRUE(Has(list.out, "two no-shows")) << list.out;
  EXPECT_TRUE(Has(list.out, "29C")) << list.out;

  CliRun raw = As("guard", {"ban", "list", "--json"});
  ASSERT_EQ(raw.exit_code, 0) << raw.all();
  auto parsed = ParseJson(raw.out);
  ASSERT_TRUE(parsed) << raw.out;
  EXPECT_EQ(parsed->at("bans").as_array().size(), 1u) << raw.out;

  CliRun lifted = As("operator", {"ban", "lift", "29C-888.77", "--reason", "appeal granted"});
  ASSERT_EQ(lifted.exit_code, 0) << lifted.all();
  EXPECT_TRUE(Has(lifted.out, "lifted the ban")) << lifted.out;

  CliRun after = As("operator", {"ban", "list"});
  ASSERT_EQ(after.exit_code, 0) << after.all();
  EXPECT_TRUE(Has(after.out, "no truck is banned")) << after.out;

  CliRun twice = As("operator", {"ban", "lift", "29C-888.77"});
  EXPECT_EQ(twice.exit_code, 1) << twice.all();
  EXPECT_TRUE(Has(twice.err, "ban_not_found")) << twice.err;
}

TEST_F(QueueCliTest, PlateReadSubmitListResolve) {
  // A plate nobody expects: the read waits for an operator.
  CliRun submitted =
      As("camera-yard", {"plate-read", "submit", "--location", "yard_entrance", "--text",
                         "99Z99999", "--confidence", "0.9", "--camera", "yard-cam-1"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.all();
  EXPECT_TRUE(Has(submitted.out, "waits for an operator")) << submitted.out;
  size_t at = submitted.out.find("PR-");
  ASSERT_NE(at, std::string::npos) << submitted.out;
  std::string id = submitted.out.substr(at, submitted.out.find_first_of(" \n", at) - at);

  CliRun list = As("operator", {"plate-read", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.all();
  EXPECT_TRUE(Has(list.out, id)) << list.out;
  EXPECT_TRUE(Has(list.out, "99Z99999")) << list.out;
  EXPECT_TRUE(Has(list.out, "yard-cam-1")) << list.out;

  CliRun dismissed =
      As("operator", {"plate-read", "resolve", id, "--dismiss", "--note", "a visitor's car"});
  ASSERT_EQ(dismissed.exit_code, 0) << dismissed.all();
  EXPECT_TRUE(Has(dismissed.out, "dismissed " + id)) << dismissed.out;

  CliRun gone = As("operator", {"plate-read", "resolve", id, "--dismiss"});
  EXPECT_EQ(gone.exit_code, 1) << gone.all();
  EXPECT_TRUE(Has(gone.err, "plate_read_not_found")) << gone.err;
}

TEST_F(QueueCliTest, HelpOnEveryQueueCommand) {
  for (std::vector<std::string> args : {std::vector<std::string>{"queue", "--help"},
                                        {"queue", "show", "--help"},
                                        {"queue", "call-next", "--help"},
                                        {"queue", "policy", "--help"},
                                        {"queue", "predictions", "--help"},
                                        {"capacity", "show", "--help"},
                                        {"capacity", "list", "--help"},
                                        {"capacity", "add", "--help"},
                                        {"ban", "list", "--help"},
                                        {"ban", "add", "--help"},
                                        {"ban", "lift", "--help"},
                                        {"plate-read", "submit", "--help"},
                                        {"plate-read", "list", "--help"},
                                        {"plate-read", "resolve", "--help"},
                                        {"wait-board", "--help"}}) {
    CliRun r = RunCli(args, *dir_);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.all();
    EXPECT_TRUE(Has(r.all(), "Usage")) << r.all();
    if (args.size() == 3) {
      EXPECT_TRUE(Has(r.all(), "BORDERFLOW_URL")) << r.all();
    }
  }
}

}  // namespace
}  // namespace borderflow::testing
