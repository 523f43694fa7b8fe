// `borderflow node keygen|show` (issue 5), run as the built binary: the key file is written with
// mode 0600 and never replaced without --force, and `show` prints only the public half with the
// snippet the counterpart pastes into its configuration.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <borderflow/link/node_key.h>

extern char** environ;

namespace borderflow {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

CliRun RunBorderflow(std::vector<std::string> args, const std::filesystem::path& dir) {
  std::filesystem::path out = dir / "cli.out", err = dir / "cli.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  args.insert(args.begin(), std::string(BORDERFLOW_BINARY_DIR) + "/apps/borderflow/borderflow");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
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

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class NodeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("borderflow-node-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    key_path_ = (dir_ / "node.key").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string key_path_;
};

TEST_F(NodeCliTest, KeygenWritesAPrivateKeyFileAndRefusesToReplaceIt) {
  CliRun run = RunBorderflow({"node", "keygen", "--out", key_path_}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  struct stat st;
  ASSERT_EQ(stat(key_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = ReadKeyFile(key_path_);
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_TRUE(Has(run.out, "key id      " + key->key_id + "\n")) << run.out;
  EXPECT_TRUE(Has(run.out, "public key  " + Base64Encode(key->public_key) + "\n")) << run.out;

  const std::string original = Slurp(key_path_);
  CliRun again = RunBorderflow({"node", "keygen", "--out", key_path_}, dir_);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(Has(again.err, "key_file_exists")) << again.err;
  EXPECT_EQ(Slurp(key_path_), original);

  CliRun forced = RunBorderflow({"node", "keygen", "--out", key_path_, "--force"}, dir_);
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  auto replaced = ReadKeyFile(key_path_);
  ASSERT_TRUE(replaced);
  EXPECT_NE(replaced->key_id, key->key_id);
  ASSERT_EQ(stat(key_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_EQ(RunBorderflow({"node", "keygen"}, dir_).exit_code, 2);  // --out is required
}

TEST_F(NodeCliTest, ShowPrintsThePublicHalfAndTheCounterpartSnippet) {
  ASSERT_EQ(RunBorderflow({"node", "keygen", "--out", key_path_}, dir_).exit_code, 0);
  auto key = ReadKeyFile(key_path_);
  ASSERT_TRUE(key);
  CliRun run = RunBorderflow({"node", "show", "--key", key_path_}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string public_key = Base64Encode(key->public_key);
  EXPECT_TRUE(Has(run.out, "key id      " + key->key_id)) << run.out;
  EXPECT_TRUE(Has(run.out, "public key  " + public_key)) << run.out;
  EXPECT_TRUE(Has(run.out, "created at  " + FormatUtc(key->created_at))) << run.out;
  EXPECT_TRUE(Has(run.out, "[[counterpart.keys]]\nid = \"" + key->key_id + "\"\npublic_key = \"" +
                               public_key + "\"\n"))
      << run.out;
  // The secret seed never leaves the key file.
  std::string seed = Base64Encode(std::span<const uint8_t>(key->secret_key.data(), 32));
  EXPECT_FALSE(Has(run.out + run.err, seed));
}

TEST_F(NodeCliTest, ShowRefusesMissingCorruptAndOpenKeyFiles) {
  CliRun missing = RunBorderflow({"node", "show", "--key", key_path_}, dir_);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Has(missing.err, "key_file_not_found")) << missing.err;

  ASSERT_EQ(RunBorderflow({"node", "keygen", "--out", key_path_}, dir_).exit_code, 0);
  std::filesystem::permissions(key_path_, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  CliRun open = RunBorderflow({"node", "show", "--key", key_path_}, dir_);
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_TRUE(Has(open.err, "key_file_permissions")) << open.err;

  std::filesystem::permissions(key_path_, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::remove);
  std::string text = Slurp(key_path_);
  // Another key id than the key's: the file was edited or mixed up with another node's.
  size_t pos = text.find("key_id = \"ed25519:") + 18;
  text[pos] = text[pos] == '0' ? '1' : '0';
  std::ofstream(key_path_, std::ios::trunc) << text;
  CliRun corrupt = RunBorderflow({"node", "show", "--key", key_path_}, dir_);
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_TRUE(Has(corrupt.err, "key_mismatch")) << corrupt.err;
}

}  // namespace
}  // namespace borderflow
