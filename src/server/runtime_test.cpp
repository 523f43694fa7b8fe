// LoadGateConfig: what is not a configuration file is refused clearly, and errors in one name
// the file, the line and the key. The queue timer held by RuntimeOptions::hold_queue_timer
// runs only once StartQueueTimer() is called.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/server/runtime.h>

#include "another_writer.h"

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

// Two nodes on temporary databases with a fast queue timer: one held (hold_queue_timer), one
// not, as a witness that the timer had time to run.
class HeldQueueTimerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bf_held_queue_timer_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Runtime> StartNode(const std::string& name, bool hold) {
    auto config = LoadGateConfig(kConfigDir + "/huu-nghi.toml");
    EXPECT_TRUE(config.has_value()) << config.error().ToString();
    if (!config) return nullptr;
    config->OpenAroundTheClock();  // a closed gate calls nobody forward
    config->link.enabled = false;
    RuntimeOptions options;
    options.config = std::move(*config);
    options.db_path = (dir_ / (name + ".db")).string();
    options.queue_tick = std::chrono::milliseconds(20);
    options.follow = Duration(0);
    options.hold_queue_timer = hold;
    auto rt = Runtime::Start(std::move(options), clock_, random_);
    EXPECT_TRUE(rt.has_value()) << rt.error().ToString();
    return rt ? std::move(*rt) : nullptr;
  }

  // Waits up to 20 s for `done`.
  template <typename F>
  static bool Eventually(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  fs::path dir_;
  SystemClock clock_;
  SeededRandom random_{11};
};

TEST_F(HeldQueueTimerTest, AHeldTimerCallsNobodyForwardUntilStarted) {
  std::unique_ptr<Runtime> held = StartNode("held", /*hold=*/true);
  std::unique_ptr<Runtime> witness = StartNode("witness", /*hold=*/false);
  ASSERT_TRUE(held && witness);
  Engine& engine = held->engine();

  // A truck in the staging yard, assessed and booked: what the next tick calls forward (the
  // demo's seeder was between these steps and its own call_forward when a tick came first).
  const Actor forwarder{"U-FWD", "fwd", Role::kForwarder, "FRUITCO"};
  const Actor customs{"U-CUSTOMS", "customs", Role::kCustomsOfficer, ""};
  const Actor camera{"U-CAMERA", "camera", Role::kSensor, ""};
  auto body = ParseJson(R"({"direction": "VN-CN", "lane_class": "general_cargo",
    "vehicle": {"plate": "12C-345.67"},
    "driver": {"name": "Vu Van Phuc", "document_number": "B0004717", "nationality": "VN"},
    "lines": [{"hs_code": "030617", "description": "Frozen shrimp", "packages": 1500,
               "gross_weight_kg": 20000, "value": {"amount": "90000", "currency": "USD"},
               "origin_country": "VN"}],
    "documents": {"customs_declaration": "30612345678"}})");
  ASSERT_TRUE(body) << body.error().ToString();
  auto declaration = DecodeDeclaration(*body, engine.hs());
  ASSERT_TRUE(declaration) << declaration.error().ToString();
  auto declared =
      engine.Execute(Command{forwarder, "k-declare", "r-declare", DeclareCrossing{*declaration}});
  ASSERT_TRUE(declared) << declared.error().ToString();
  const std::string id = declared->crossing->id;
  int key = 0;
  auto event = [&](const Actor& actor, CrossingEventType type, boost::json::object data = {}) {
    std::string k = "k-" + std::to_string(++key);
    auto r = engine.Execute(
        Command{actor, k, k, RecordCrossingEvent{id, CrossingEvent{type, std::move(data)}, {}}});
    EXPECT_TRUE(r) << r.error().ToString();
  };
  event(customs, CrossingEventType::kAssess, {{"channel", "green"}});
  event(forwarder, CrossingEventType::kBook);
  event(camera, CrossingEventType::kEnterYard);
  auto state = [&] {
    auto c = engine.GetCrossing(Actor::System(), id);
    EXPECT_TRUE(c) << c.error().ToString();
    return c ? std::string(CrossingStateName(c->state)) : std::string("(none)");
  };
  ASSERT_EQ(state(), "in_yard");
  const uint64_t commands = engine.stats().commands.load();

  // The witness's timer, started at the same time with the same interval, ticks several
  // times; the held one meanwhile submits nothing, and the truck stays in the yard.
  ASSERT_TRUE(Eventually([&] { return witness->engine().stats().commands.load() >= 5; }));
  EXPECT_EQ(engine.stats().commands.load(), commands);
  EXPECT_EQ(state(), "in_yard");

  // Started, the timer ticks and calls the truck forward.
  held->StartQueueTimer();
  EXPECT_TRUE(Eventually([&] { return state() == "called"; }));
  EXPECT_GT(engine.stats().commands.load(), commands);
}

// The queue timer's look (AnotherWriterIsAhead) with the engine's counters driven by hand, the
// engine's own batch stepping where a real one could be when the look reads the store's head.
TEST(AnotherWriterIsAhead, CountsOnlyCommitsThatAreNotThisEnginesOwn) {
  using server_internal::AnotherWriterIsAhead;
  EngineStats stats;
  stats.known_head = 10;
  auto head_is = [](int64_t head) { return [head]() -> Result<int64_t> { return head; }; };

  // Idle engine: a head at what it read is nobody's; beyond it, another writer's.
  EXPECT_FALSE(AnotherWriterIsAhead(stats, head_is(10)));
  EXPECT_TRUE(AnotherWriterIsAhead(stats, head_is(13)));
  // A head that cannot be read is not a reason to tick.
  EXPECT_FALSE(AnotherWriterIsAhead(
      stats, [] { return Result<int64_t>(Unavailable("store_unavailable", "injected")); }));

  // This engine's batch begins and commits while the head is read, and has not noted its new
  // head yet: its own records are not another writer's.
  EXPECT_FALSE(AnotherWriterIsAhead(stats, [&]() -> Result<int64_t> {
    stats.batches_begun.fetch_add(1);
    return 15;  // committed, known_head still 10
  }));
  // The same batch ends (known_head first, then ended) before the next look.
  stats.known_head = 15;
  stats.batches_ended.fetch_add(1);
  EXPECT_FALSE(AnotherWriterIsAhead(stats, head_is(15)));

  // A whole batch of this engine runs between the look's first read and the head: it noted its
  // head before counting itself ended, so the look sees the new known head.
  EXPECT_FALSE(AnotherWriterIsAhead(stats, [&]() -> Result<int64_t> {
    stats.batches_begun.fetch_add(1);
    stats.known_head = 20;
    stats.batches_ended.fetch_add(1);
    return 20;
  }));
  // A batch that begins after the head was read, before the look reads begun: it may be
  // catching up with the records just seen, and the next look decides.
  EXPECT_FALSE(AnotherWriterIsAhead(stats, [&]() -> Result<int64_t> {
    struct BeginAfterReturn {
      EngineStats& stats;
      ~BeginAfterReturn() { stats.batches_begun.fetch_add(1); }
    } begin_after{stats};
    return 25;
  }));
  stats.known_head = 25;
  stats.batches_ended.fetch_add(1);
  // Idle again, and another writer commits.
  EXPECT_TRUE(AnotherWriterIsAhead(stats, head_is(26)));
}

}  // namespace
}  // namespace borderflow
