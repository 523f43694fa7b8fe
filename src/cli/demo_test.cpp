// The demo pair as `borderflow demo --port 0` starts it (both nodes on any free ports, linked
// over HTTPS, seeded), and the demo truck driven across both nodes without pauses: once with the
// operator calling it forward, once with the queue calling it first. Each node's link has
// tried no URL before it knew its counterpart's peer port.

#include <atomic>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/core/clock.h>
#include <borderflow/core/random.h>
#include <borderflow/server/runtime.h>

#include "demo_data.h"
#include "demo_pair.h"

namespace borderflow::cli {
namespace {

namespace fs = std::filesystem;

const std::string kConfigDir = std::string(BORDERFLOW_SOURCE_DIR) + "/config";

class DemoPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bf_demo_pair_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto link = MakeDemoKeys((dir_ / "demo-keys").string(), /*keep=*/false);
    ASSERT_TRUE(link) << link.error().ToString();
    vn_ = Start(*link, /*vn_side=*/true);
    cn_ = Start(*link, /*vn_side=*/false);
    ASSERT_TRUE(vn_ && cn_);
    ConnectDemoPair(*vn_, *cn_);
    auto vn_users = SeedDemo(vn_->engine());
    ASSERT_TRUE(vn_users) << vn_users.error().ToString();
    vn_users_ = std::move(*vn_users);
    auto cn_users = SeedDemo(cn_->engine(), /*crossings=*/false);
    ASSERT_TRUE(cn_users) << cn_users.error().ToString();
    cn_users_ = std::move(*cn_users);
  }
  void TearDown() override {
    if (cn_) cn_->Stop();
    if (vn_) vn_->Stop();
    fs::remove_all(dir_);
  }

  // One side as the demo starts it (cli.cpp: Demo), on port 0 with its peer listener on port 0,
  // but without a queue timer: the tests decide when the queue runs.
  std::unique_ptr<Runtime> Start(const DemoLink& link, bool vn_side) {
    auto config = LoadGateConfig(kConfigDir + (vn_side ? "/huu-nghi.toml" : "/youyiguan.toml"));
    EXPECT_TRUE(config) << config.error().ToString();
    if (!config) return nullptr;
    DemoLinkConfig(link, vn_side, 0, 0)(*config);
    config->OpenAroundTheClock();
    RuntimeOptions options;
    options.config = std::move(*config);
    options.db_path = (dir_ / (vn_side ? "demo.db" : "demo-cn.db")).string();
    options.queue_tick = Duration(0);
    options.hold_link = true;
    options.config_dir = kConfigDir;
    auto rt = Runtime::Start(std::move(options), clock_, random_);
    EXPECT_TRUE(rt) << rt.error().ToString();
    return rt ? std::move(*rt) : nullptr;
  }

  Status Drive(DemoDriveOptions options) {
    options.pause = std::chrono::milliseconds(0);
    options.out = &told_;
    std::atomic<bool> stop{false};
    return DriveDemoCrossing(vn_->port(), vn_users_, cn_->port(), cn_users_, options, stop);
  }

  std::string StateOf(Runtime& rt, const std::string& id) {
    auto c = rt.engine().GetCrossing(Actor::System(), id);
    return c ? std::string(CrossingStateName(c->state)) : "(" + c.error().code + ")";
  }

  // Neither link tried the peer URL of port 0 it was configured with (demo --port 0 used to log
  // "bad port" once): no failure, no error, and both are up.
  void ExpectLinksUpWithoutFailures() {
    for (Runtime* rt : {vn_.get(), cn_.get()}) {
      boost::json::object status = rt->link()->StatusJson();
      EXPECT_EQ(status.at("sent").at("failures").as_uint64(), 0u) << status;
      EXPECT_TRUE(status.at("last_error").is_null()) << status;
      EXPECT_EQ(status.at("state").as_string(), "up") << status;
    }
  }

  fs::path dir_;
  // Both nodes' clock: the real time, moved on only by the queue's test.
  ManualClock clock_{SystemClock().Now()};
  SystemRandom random_;
  std::unique_ptr<Runtime> vn_, cn_;
  std::vector<DemoUser> vn_users_, cn_users_;
  std::ostringstream told_;
};

TEST_F(DemoPairTest, TheTruckCrossesBothNodesCalledForwardByTheOperator) {
  std::string truck;
  Status drove =
      Drive({.before_step = [&](std::string_view, const std::string& id) { truck = id; }});
  ASSERT_TRUE(drove) << drove.error().ToString() << "\n" << told_.str();
  EXPECT_NE(told_.str().find("[truck] called forward to the gate\n"), std::string::npos)
      << told_.str();
  EXPECT_EQ(told_.str().find("by the queue"), std::string::npos) << told_.str();
  EXPECT_NE(told_.str().find("released by Chinese customs: closed on both sides"),
            std::string::npos)
      << told_.str();
  EXPECT_EQ(StateOf(*vn_, truck), "received");
  EXPECT_EQ(StateOf(*cn_, truck), "received");  // closed on the inbound side
  ExpectLinksUpWithoutFailures();
}

TEST_F(DemoPairTest, TheTruckCrossesBothNodesCalledForwardByTheQueueFirst) {
  std::string truck;
  bool queue_called = false;
  Status drove = Drive({.before_step = [&](std::string_view event, const std::string& id) {
    truck = id;
    if (event != "call_forward") return;
    // The queue timer's ticks come between the truck's entering the yard and the operator's
    // call forward (what the demo's timer may do), and call it: the truck is not booked, so
    // it waits for room in a later bucket (the seeded booked trucks go first).
    for (int tick = 0; tick < 48 && StateOf(*vn_, id) != "called"; ++tick) {
      auto ticked = vn_->engine().Execute(Command{Actor::System(), "", "", QueueTick{}});
      ASSERT_TRUE(ticked) << ticked.error().ToString();
      if (StateOf(*vn_, id) != "called") clock_.Advance(std::chrono::minutes(5));
    }
    queue_called = StateOf(*vn_, id) == "called";
  }});
  ASSERT_TRUE(queue_called) << "the queue did not call the truck forward: " << StateOf(*vn_, truck);
  ASSERT_TRUE(drove) << drove.error().ToString() << "\n" << told_.str();
  EXPECT_NE(told_.str().find("[truck] called forward to the gate by the queue\n"),
            std::string::npos)
      << told_.str();
  EXPECT_NE(told_.str().find("released by Chinese customs: closed on both sides"),
            std::string::npos)
      << told_.str();
  EXPECT_EQ(StateOf(*vn_, truck), "received");
  EXPECT_EQ(StateOf(*cn_, truck), "received");  // closed on the inbound side
  ExpectLinksUpWithoutFailures();
}

}  // namespace
}  // namespace borderflow::cli
