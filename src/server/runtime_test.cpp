// LoadGateConfig: what is not a configuration file is refused clearly, and errors in one name
// the file, the line and the key.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <borderflow/server/runtime.h>

namespace borderflow {
namespace {

namespace fs = std::filesystem;

const std::string kConfigDir = std::string(BORDERFLOW_SOURCE_DIR) + "/config";

// A fresh temporary directory for one test, removed at the end.
class LoadGateConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bf_load_gate_config_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  static std::string Shipped(const std::string& name) {
    std::ifstream in(kConfigDir + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(LoadGateConfigTest, ShippedConfigsLoad) {
  for (const char* file : {"huu-nghi.toml", "youyiguan.toml"}) {
    auto config = LoadGateConfig(kConfigDir + "/" + file);
    EXPECT_TRUE(config.has_value()) << config.error().ToString();
  }
}

TEST_F(LoadGateConfigTest, ADirectoryIsRefusedAsSuch) {
  // It used to read as an empty file: "node: section is required".
  auto config = LoadGateConfig(dir_.string());
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, "invalid_config");
  EXPECT_NE(config.error().message.find("is a directory"), std::string::npos)
      << config.error().message;
  EXPECT_EQ(config.error().message.find("section is required"), std::string::npos);
}

TEST_F(LoadGateConfigTest, AFileOverOneMebibyteIsRefusedWithoutReadingItAll) {
  // /dev/zero never ends: it used to be read until memory ran out.
  auto zero = LoadGateConfig("/dev/zero");
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().code, "invalid_config");
  EXPECT_NE(zero.error().message.find("larger than 1 MiB"), std::string::npos)
      << zero.error().message;

  // A valid configuration padded with comments to just over 1 MiB is refused; at the limit it
  // loads.
  std::string text = Shipped("huu-nghi.toml");
  std::string padded = text + "#" + std::string((1 << 20) - text.size() - 2, 'x') + "\n";
  ASSERT_EQ(padded.size(), size_t{1} << 20);
  auto at_limit = LoadGateConfig(Write("at_limit.toml", padded));
  EXPECT_TRUE(at_limit.has_value()) << at_limit.error().ToString();
  auto over = LoadGateConfig(Write("over.toml", padded + "\n"));
  ASSERT_FALSE(over.has_value());
  EXPECT_NE(over.error().message.find("larger than 1 MiB"), std::string::npos)
      << over.error().message;
}

TEST_F(LoadGateConfigTest, ErrorsNameTheFileTheLineAndTheKey) {
  std::string text = Shipped("huu-nghi.toml");
  std::string from = "fresh_produce = 4";
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "fresh_produc = 4");
  int line =
      1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  std::string path = Write("huu-nghi.toml", text);
  auto config = LoadGateConfig(path);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, "invalid_config");
  EXPECT_EQ(config.error().message,
            path + ":" + std::to_string(line) +
                ": directions[0].lanes.fresh_produc: is not a lane class (did you mean "
                "fresh_produce?)");

  auto missing = LoadGateConfig((dir_ / "absent.toml").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, "config_not_found");
}

}  // namespace
}  // namespace borderflow
