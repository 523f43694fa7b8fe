// The engine over a real SqliteStore in a temporary directory and over a MemoryStore, run both
// inline (EngineOptions::writer_thread = false) and with the writer thread: commands and events,
// idempotent replay, group commit under concurrency, failure isolation inside a batch, the commit
// listener, company-scoped queries, the gate status, administration roles, and draining on
// destruction.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/store/memory_store.h>
#include <borderflow/store/sqlite_store.h>

#include "test_fixtures.h"

namespace borderflow {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const Actor kFwdA{"U-FWD-A", "fwd-a", Role::kForwarder, "COMPANY-A"};
const Actor kFwdB{"U-FWD-B", "fwd-b", Role::kForwarder, "COMPANY-B"};
const Actor kOperator{"U-OPERATOR", "operator", Role::kGateOperator, ""};
const Actor kCustoms{"U-CUSTOMS", "customs", Role::kCustomsOfficer, ""};
const Actor kCamera{"U-CAMERA", "camera", Role::kSensor, ""};
const Actor kAdmin{"U-ADMIN", "admin", Role::kAdministrator, ""};
const Actor kPublic{"public", "public", Role::kPublic, ""};

using testing::DeclarationJson;
using testing::MakeDeclaration;

Command Declare(const Actor& actor, std::string key, std::string_view plate = "12C-123.45",
                std::string_view lane_class = "fresh_produce") {
  return Command{actor, std::move(key), fmt::format("declare {} {}", plate, lane_class),
                 DeclareCrossing{MakeDeclaration(plate, lane_class)}};
}

Command Event(const Actor& actor, std::string key, const std::string& id, CrossingEventType type,
              std::string_view data = "{}", std::optional<int64_t> expected_version = {}) {
  auto parsed = ParseJson(data);
  EXPECT_TRUE(parsed);
  auto decoded = DecodeEventData(type, parsed ? *parsed : json::value());
  EXPECT_TRUE(decoded) << decoded.error().ToString();
  std::string fingerprint = fmt::format("event {} {} {} {}", id, CrossingEventName(type), data,
                                        expected_version.value_or(0));
  return Command{actor, std::move(key), std::move(fingerprint),
                 RecordCrossingEvent{id, CrossingEvent{type, decoded ? *decoded : json::object()},
                                     expected_version}};
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Collects the results of submitted commands by index.
class Collector {
 public:
  explicit Collector(size_t n) : results_(n), calls_(n, 0) {}

  Engine::Callback For(size_t i) {
    return [this, i](Result<CommandResult> r) {
      std::lock_guard lock(mu_);
      ++calls_[i];
      results_[i].emplace(std::move(r));
      ++done_;
      cv_.notify_all();
    };
  }
  bool WaitAll() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return done_ >= results_.size(); });
  }
  int calls(size_t i) {
    std::lock_guard lock(mu_);
    return calls_[i];
  }
  const Result<CommandResult>& result(size_t i) {
    std::lock_guard lock(mu_);
    return *results_[i];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<Result<CommandResult>>> results_;
  std::vector<int> calls_;
  size_t done_ = 0;
};

// Delegates to the store's transaction, but refuses to store the idempotent response of the
// command whose key is `fail_key` (as a failing write would): the command has written its other
// records by then, so the engine must roll back what it remembers of them.
class ResponseFailingTxn final : public WriteTxn {
 public:
  ResponseFailingTxn(WriteTxn& inner, std::string fail_key)
      : inner_(inner), fail_key_(std::move(fail_key)) {}

  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view scope,
                                                           std::string_view key) override {
    return inner_.FindIdempotency(scope, key);
  }
  Status PutIdempotency(const IdempotencyRecord& record) override {
    if (!fail_key_.empty() && record.key == fail_key_) {
      return Unavailable("store_write_failed", "injected: the response could not be stored");
    }
    return inner_.PutIdempotency(record);
  }
  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override {
    return inner_.GetCrossing(id);
  }
  Result<SharedCrossing> GetSharedCrossing(std::string_view id) override {
    return inner_.GetSharedCrossing(id);
  }
  Status InsertCrossing(const Crossing& crossing, std::string_view document) override {
    return inner_.InsertCrossing(crossing, document);
  }
  Status UpdateCrossing(const Crossing& crossing, std::string_view document,
                        int64_t expected_version) override {
    return inner_.UpdateCrossing(crossing, document, expected_version);
  }
  Status InsertSharedCrossing(const SharedCrossing& crossing, std::string_view document) override {
    return inner_.InsertSharedCrossing(crossing, document);
  }
  Status UpdateSharedCrossing(const SharedCrossing& crossing, std::string_view document,
                              int64_t expected_version) override {
    return inner_.UpdateSharedCrossing(crossing, document, expected_version);
  }
  Result<AuditRecord> AppendAudit(const AuditDraft& draft) override {
    return inner_.AppendAudit(draft);
  }
  Result<int64_t> LockAuditHead() override { return inner_.LockAuditHead(); }
  Status PutRecord(const StoredRecord& record) override { return inner_.PutRecord(record); }
  Status DeleteRecord(std::string_view kind, std::string_view id) override {
    return inner_.DeleteRecord(kind, id);
  }
  Result<std::optional<StoredRecord>> GetRecord(std::string_view kind,
                                                std::string_view id) override {
    return inner_.GetRecord(kind, id);
  }
  Status InsertUser(const UserRecord& user) override { return inner_.InsertUser(user); }
  Result<std::optional<UserRecord>> FindUserByName(std::string_view name) override {
    return inner_.FindUserByName(name);
  }
  Status InsertToken(const TokenRecord& token) override { return inner_.InsertToken(token); }
  Status RevokeToken(std::string_view token_id, Timestamp at) override {
    return inner_.RevokeToken(token_id, at);
  }

 private:
  WriteTxn& inner_;
  const std::string fail_key_;
};

// Delegates to a real store. Tests use it to fail the next transaction as a whole (as on a full
// disk: every command of the batch gets the commit's error and nothing is kept), to fail the
// response of one command inside its transaction (`FailResponseOf`), or to hold the writer
// thread inside its next commit until released.
class ControlledStore final : public Store {
 public:
  explicit ControlledStore(Store& inner) : inner_(inner) {}

  std::atomic<bool> fail_next{false};

  // From now on, storing the idempotent response of the command with this key fails.
  void FailResponseOf(std::string key) {
    std::lock_guard lock(mu_);
    fail_response_key_ = std::move(key);
  }

  // The next commit waits, with the writer thread inside it, until Release().
  void HoldNextCommit() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  // Waits until a commit is held.
  void AwaitHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }

  std::vector<Status> WriteBatch(std::span<const TxnFn> work) override {
    if (Enter()) return Failed(work);
    return inner_.WriteBatch(work);
  }
  std::vector<Status> WriteBatchThen(std::span<const TxnFn> work,
                                     std::function<void(Status)> durable) override {
    if (Enter()) {
      durable({});
      return Failed(work);
    }
    std::string fail_key;
    {
      std::lock_guard lock(mu_);
      fail_key = fail_response_key_;
    }
    if (fail_key.empty()) return inner_.WriteBatchThen(work, std::move(durable));
    std::vector<TxnFn> wrapped;
    for (const TxnFn& fn : work) {
      wrapped.push_back([&fn, fail_key](WriteTxn& txn) {
        ResponseFailingTxn failing(txn, fail_key);
        return fn(failing);
      });
    }
    return inner_.WriteBatchThen(wrapped, std::move(durable));
  }
  Status WaitDurable() override { return inner_.WaitDurable(); }
  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override {
    return inner_.GetCrossing(id);
  }
  Result<CrossingPage> ListCrossings(const CrossingFilter& filter) override {
    return inner_.ListCrossings(filter);
  }
  Result<std::vector<CrossingCount>> CountCrossings() override { return inner_.CountCrossings(); }
  Result<std::vector<AuditRecord>> ListAuditFor(std::string_view type, std::string_view id,
                                                int limit) override {
    return inner_.ListAuditFor(type, id, limit);
  }
  Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) override {
    return inner_.ReadAudit(after_seq, limit);
  }
  Result<std::vector<StoredRecord>> ListRecords(std::string_view kind) override {
    return inner_.ListRecords(kind);
  }
  Result<std::optional<UserRecord>> FindUserById(std::string_view id) override {
    return inner_.FindUserById(id);
  }
  Result<std::vector<UserRecord>> ListUsers() override { return inner_.ListUsers(); }
  Result<std::optional<TokenRecord>> FindToken(std::string_view id) override {
    return inner_.FindToken(id);
  }
  Result<std::vector<TokenRecord>> ListTokens(std::string_view user_id) override {
    return inner_.ListTokens(user_id);
  }
  Status Ping() override { return inner_.Ping(); }

 private:
  // Whether this commit is to fail (decided on entry, before any hold); then waits while held.
  bool Enter() {
    const bool fail = fail_next.exchange(false);
    std::unique_lock lock(mu_);
    if (hold_) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
      held_ = false;
    }
    return fail;
  }
  static std::vector<Status> Failed(std::span<const TxnFn> work) {
    return std::vector<Status>(
        work.size(), Status(Unavailable("store_write_failed", "injected: the disk is full")));
  }

  Store& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool held_ = false;
  std::string fail_response_key_;
};

// Holds the writer thread inside the commit of one command until Release(), so that commands
// submitted meanwhile queue up and are committed together in the next batch.
class WriterBlock {
 public:
  WriterBlock(Engine& engine, ControlledStore& store, Command command) : store_(store) {
    store_.HoldNextCommit();
    // The result may come after this object is gone: the callback owns the promise.
    auto result = std::make_shared<std::promise<bool>>();
    ok_ = result->get_future().share();
    engine.Submit(std::move(command),
                  [result](Result<CommandResult> r) { result->set_value(r.has_value()); });
    store_.AwaitHeld();
  }
  ~WriterBlock() { Release(); }
  void Release() { store_.Release(); }
  // Whether the blocking command succeeded (waits for it: call after Release()).
  bool ok() { return ok_.get(); }

 private:
  ControlledStore& store_;
  std::shared_future<bool> ok_;
};

// How the engine under test runs: inline or with its writer thread, over SQLite or in memory.
struct EngineMode {
  bool threaded = false;
  bool memory_store = false;
  // "Inline", "WriterThread", "InlineMemory", "WriterThreadMemory".
  std::string Name() const {
    return fmt::format("{}{}", threaded ? "WriterThread" : "Inline", memory_store ? "Memory" : "");
  }
};

void PrintTo(const EngineMode& mode, std::ostream* os) { *os << mode.Name(); }

class EngineTest : public ::testing::TestWithParam<EngineMode> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           fmt::format("borderflow-engine-test-{}-{}", getpid(), counter++);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto config =
        ParseGateConfig(ReadFile(fs::path(BORDERFLOW_SOURCE_DIR) / "config" / "huu-nghi.toml"));
    ASSERT_TRUE(config) << config.error().ToString();
    config_ = *config;
    if (GetParam().memory_store) {
      store_ = std::make_unique<MemoryStore>();
    } else {
      auto store = SqliteStore::Open(SqliteOptions{(dir_ / "engine.db").string()}, hs_);
      ASSERT_TRUE(store) << store.error().ToString();
      store_ = std::move(*store);
    }
    controlled_ = std::make_unique<ControlledStore>(*store_);
    engine_ = MakeEngine();
  }

  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  bool threaded() const { return GetParam().threaded; }
  // Inline, every command is its own durable commit (one fsync each): fewer keep the suite fast.
  size_t Scaled(size_t n) const { return threaded() ? n : n / 5; }

  std::unique_ptr<Engine> MakeEngine(EngineOptions options = {}, Store* store = nullptr) {
    options.writer_thread = threaded();
    return std::make_unique<Engine>(config_, hs_, store ? *store : *controlled_, clock_, random_,
                                    options);
  }

  CommandResult MustRun(Command command) {
    auto r = engine_->Execute(std::move(command));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? std::move(*r) : CommandResult{};
  }
  std::string MustDeclare(const Actor& actor, std::string_view plate = "12C-123.45",
                          std::string_view lane_class = "fresh_produce") {
    CommandResult r = MustRun(Declare(actor, NextKey(), plate, lane_class));
    return r.Json().contains("id") ? std::string(r.Json().at("id").as_string()) : "";
  }
  std::string NextKey() { return fmt::format("key-{}", ++keys_); }

  std::vector<AuditRecord> Audit() {
    auto records = store_->ReadAudit(0, 100000);
    EXPECT_TRUE(records) << records.error().ToString();
    return records ? *records : std::vector<AuditRecord>{};
  }
  int64_t AuditCount() { return static_cast<int64_t>(Audit().size()); }

  // Verifies the hash chain and that sequence numbers run 1..n without gaps.
  void ExpectChainIntact(int64_t expected_records) {
    auto verification =
        VerifyAuditChain([&](int64_t after_seq) { return store_->ReadAudit(after_seq, 100); });
    ASSERT_TRUE(verification) << verification.error().ToString();
    EXPECT_TRUE(verification->ok) << verification->reason;
    EXPECT_EQ(verification->records, expected_records);
    std::vector<AuditRecord> records = Audit();
    ASSERT_EQ(static_cast<int64_t>(records.size()), expected_records);
    for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].seq, int64_t(i) + 1);
  }

  Crossing Stored(const std::string& id) {
    auto c = store_->GetCrossing(id);
    EXPECT_TRUE(c && *c) << id;
    return c && *c ? **c : Crossing{};
  }

  fs::path dir_;
  GateConfig config_;
  std::shared_ptr<const HsNomenclature> hs_ = HsNomenclature::Hs2022();
  ManualClock clock_{*ParseTimestamp("2026-11-29T01:00:00Z")};
  SeededRandom random_{7};
  std::unique_ptr<Store> store_;
  std::unique_ptr<ControlledStore> controlled_;  // what the engine writes through
  std::unique_ptr<Engine> engine_;
  int keys_ = 0;
};

void ExpectError(const Result<CommandResult>& r, ErrorKind kind, std::string_view code) {
  ASSERT_FALSE(r) << "unexpected success: " << ToJsonText(r->Json());
  EXPECT_EQ(r.error().kind, kind) << r.error().ToString();
  EXPECT_EQ(r.error().code, code) << r.error().ToString();
}

// --- commands ---------------------------------------------------------------------------------

TEST_P(EngineTest, DeclareAndEvents) {
  auto declared = engine_->Execute(Declare(kFwdA, "k1"));
  ASSERT_TRUE(declared) << declared.error().ToString();
  EXPECT_EQ(declared->status, 201);
  EXPECT_FALSE(declared->replayed);
  const std::string id(declared->Json().at("id").as_string());
  EXPECT_TRUE(id.starts_with("CR-")) << id;
  EXPECT_EQ(declared->Json().at("state").as_string(), "declared");
  EXPECT_EQ(declared->Json().at("version").as_int64(), 1);
  EXPECT_EQ(declared->Json().at("company_id").as_string(), "COMPANY-A");
  ASSERT_EQ(declared->records.size(), 1u);
  EXPECT_EQ(declared->records[0].seq, 1);
  EXPECT_EQ(declared->records[0].action, "declare");
  EXPECT_EQ(declared->records[0].subject_id, id);
  EXPECT_EQ(declared->records[0].actor_id, kFwdA.user_id);
  EXPECT_EQ(Stored(id).state, CrossingState::kDeclared);

  clock_.Advance(std::chrono::minutes(3));
  auto assessed = engine_->Execute(
      Event(kCustoms, "k2", id, CrossingEventType::kAssess, R"({"channel": "yellow"})"));
  ASSERT_TRUE(assessed) << assessed.error().ToString();
  EXPECT_EQ(assessed->status, 200);
  EXPECT_EQ(assessed->Json().at("crossing").at("state").as_string(), "assessed");
  EXPECT_EQ(assessed->Json().at("crossing").at("version").as_int64(), 2);
  EXPECT_EQ(assessed->Json().at("event").at("seq").as_int64(), 2);
  EXPECT_EQ(assessed->Json().at("event").at("at").as_string(), "2026-11-29T01:03:00.000Z");
  ASSERT_EQ(assessed->records.size(), 1u);
  EXPECT_EQ(assessed->records[0].action, "assess");
  Crossing c = Stored(id);
  EXPECT_EQ(c.state, CrossingState::kAssessed);
  EXPECT_EQ(c.channel, Channel::kYellow);
  EXPECT_EQ(c.version, 2);

  // Refusals change nothing.
  ExpectError(engine_->Execute(
                  Event(kFwdA, "k3", id, CrossingEventType::kAssess, R"({"channel": "green"})")),
              ErrorKind::kPermissionDenied, "role_not_allowed");
  auto release = engine_->Execute(Event(kCustoms, "k4", id, CrossingEventType::kRelease));
  ExpectError(release, ErrorKind::kConflict, "invalid_transition");
  EXPECT_NE(release.error().message.find("state assessed"), std::string::npos);
  ExpectError(engine_->Execute(Event(kFwdA, "k5", id, CrossingEventType::kBook, "{}", 1)),
              ErrorKind::kConflict, "version_conflict");
  ExpectError(engine_->Execute(Event(kFwdA, "k6", "CR-NOSUCHCROSS", CrossingEventType::kBook)),
              ErrorKind::kNotFound, "crossing_not_found");
  ExpectError(engine_->Execute(Declare(kCamera, "k7")), ErrorKind::kPermissionDenied,
              "role_not_allowed");
  EXPECT_EQ(Stored(id).version, 2);
  EXPECT_EQ(AuditCount(), 2);

  // The matching expected version applies.
  auto booked = engine_->Execute(Event(kFwdA, "k8", id, CrossingEventType::kBook, "{}", 2));
  ASSERT_TRUE(booked) << booked.error().ToString();
  EXPECT_EQ(Stored(id).state, CrossingState::kBooked);
  EXPECT_EQ(engine_->stats().commands_failed.load(), 5u);
  ExpectChainIntact(3);
}

// A change makes one shared version of the crossing (engine/shared_crossing.h): the result's
// crossing is the last of its changed crossings, the very same object, and no later change
// alters it (each change makes a new version; the store, the caches and earlier results keep
// theirs).
TEST_P(EngineTest, AChangeIsOneSharedVersionThatLaterChangesLeaveAlone) {
  CommandResult declared = MustRun(Declare(kFwdA, NextKey()));
  ASSERT_NE(declared.crossing, nullptr);
  ASSERT_EQ(declared.changed.size(), 1u);
  EXPECT_EQ(declared.crossing.get(), declared.changed.back().get());
  const std::string id = declared.crossing->id;
  CommandResult assessed = MustRun(
      Event(kCustoms, NextKey(), id, CrossingEventType::kAssess, R"({"channel": "green"})"));
  ASSERT_NE(assessed.crossing, nullptr);
  ASSERT_EQ(assessed.changed.size(), 1u);
  EXPECT_EQ(assessed.crossing.get(), assessed.changed.back().get());
  CommandResult booked = MustRun(Event(kFwdA, NextKey(), id, CrossingEventType::kBook));
  ASSERT_NE(booked.crossing, nullptr);
  EXPECT_EQ(declared.crossing->version, 1);
  EXPECT_EQ(declared.crossing->state, CrossingState::kDeclared);
  EXPECT_EQ(assessed.crossing->version, 2);
  EXPECT_EQ(assessed.crossing->state, CrossingState::kAssessed);
  EXPECT_EQ(booked.crossing->version, 3);
  EXPECT_EQ(booked.crossing->state, CrossingState::kBooked);
  Crossing stored = Stored(id);
  EXPECT_EQ(stored.version, 3);
  EXPECT_EQ(stored.state, CrossingState::kBooked);
  EXPECT_EQ(stored.queue, booked.crossing->queue);
}

// The writer's crossing cache is bounded (least recently used out): with room for two crossings
// and five in play, events keep evicting and reloading them, and every decision still starts
// from the latest committed version.
TEST_P(EngineTest, CacheSmallerThanTheCrossingsInPlayStillDecidesFromTheLatestVersion) {
  engine_.reset();
  engine_ = MakeEngine(EngineOptions{.crossing_cache_size = 2});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(MustDeclare(kFwdA, fmt::format("12C-123.{:02d}", i)));
  for (const std::string& id : ids) {
    MustRun(Event(kCustoms, NextKey(), id, CrossingEventType::kAssess, R"({"channel": "green"})",
                  /*expected_version=*/1));
  }
  for (const std::string& id : ids) {
    // A stale expected version is still refused after the crossing left the cache.
    ExpectError(engine_->Execute(Event(kCamera, NextKey(), id, CrossingEventType::kEnterYard, "{}",
                                       /*expected_version=*/1)),
                ErrorKind::kConflict, "version_conflict");
    MustRun(Event(kCamera, NextKey(), id, CrossingEventType::kEnterYard, "{}",
                  /*expected_version=*/2));
  }
  // Events in a row on one crossing find it in the cache at its newest version.
  const std::string again = MustDeclare(kFwdA, "12C-123.99");
  MustRun(Event(kCustoms, NextKey(), again, CrossingEventType::kAssess, R"({"channel": "green"})",
                /*expected_version=*/1));
  MustRun(Event(kCamera, NextKey(), again, CrossingEventType::kEnterYard, "{}",
                /*expected_version=*/2));
  ids.push_back(again);
  for (const std::string& id : ids) {
    Crossing c = Stored(id);
    EXPECT_EQ(c.version, 3) << id;
    EXPECT_EQ(c.state, CrossingState::kInYard) << id;
  }
  ExpectChainIntact(18);
}

TEST_P(EngineTest, IdempotencyKeyIsRequiredAndBounded) {
  ExpectError(engine_->Execute(Declare(kFwdA, "")), ErrorKind::kInvalidArgument,
              "idempotency_key_required");
  ExpectError(engine_->Execute(Declare(kFwdA, std::string(129, 'k'))), ErrorKind::kInvalidArgument,
              "invalid_idempotency_key");
  EXPECT_EQ(AuditCount(), 0);
  MustRun(Declare(kFwdA, std::string(128, 'k')));
  EXPECT_EQ(AuditCount(), 1);
}

// A driver that never retries (the simulator) may send writes without keys: each applies, and
// nothing is kept to replay; a key that is given is still honoured.
TEST_P(EngineTest, KeysCanBeOptionalForADriverThatNeverRetries) {
  engine_.reset();
  engine_ = MakeEngine(EngineOptions{.require_idempotency_keys = false});
  CommandResult first = MustRun(Declare(kFwdA, ""));
  CommandResult second = MustRun(Declare(kFwdA, ""));
  EXPECT_FALSE(second.replayed);
  EXPECT_NE(first.Json().at("id"), second.Json().at("id"));
  EXPECT_EQ(AuditCount(), 2);
  CommandResult keyed = MustRun(Declare(kFwdA, "k1"));
  CommandResult again = MustRun(Declare(kFwdA, "k1"));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.Json().at("id"), keyed.Json().at("id"));
  EXPECT_EQ(AuditCount(), 3);
}

TEST_P(EngineTest, IdempotentReplay) {
  CommandResult first = MustRun(Declare(kFwdA, "same"));
  const std::string id(first.Json().at("id").as_string());
  clock_.Advance(std::chrono::minutes(1));

  auto replay = engine_->Execute(Declare(kFwdA, "same"));
  ASSERT_TRUE(replay) << replay.error().ToString();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->status, 201);
  EXPECT_EQ(ToJsonText(replay->Json()), ToJsonText(first.Json()));
  EXPECT_TRUE(replay->records.empty());
  EXPECT_EQ(AuditCount(), 1);
  EXPECT_EQ(engine_->stats().replays.load(), 1u);

  // The same key for another command is refused; for another user it is a new key.
  ExpectError(engine_->Execute(Declare(kFwdA, "same", "29C-456.78")), ErrorKind::kUnprocessable,
              "idempotency_key_reused");
  EXPECT_EQ(AuditCount(), 1);
  CommandResult other = MustRun(Declare(kFwdB, "same"));
  EXPECT_FALSE(other.replayed);
  EXPECT_NE(other.Json().at("id"), first.Json().at("id"));
  EXPECT_EQ(AuditCount(), 2);

  // An event retried after the crossing moved on returns its first result.
  CommandResult assessed = MustRun(
      Event(kCustoms, "assess-1", id, CrossingEventType::kAssess, R"({"channel": "green"})"));
  MustRun(Event(kCamera, "yard-1", id, CrossingEventType::kEnterYard));
  auto again = engine_->Execute(
      Event(kCustoms, "assess-1", id, CrossingEventType::kAssess, R"({"channel": "green"})"));
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(ToJsonText(again->Json()), ToJsonText(assessed.Json()));
  EXPECT_EQ(again->Json().at("crossing").at("state").as_string(), "assessed");
  EXPECT_EQ(Stored(id).state, CrossingState::kInYard);
  EXPECT_EQ(Stored(id).version, 3);
  ExpectChainIntact(4);

  // Replays survive a new engine on the same store.
  engine_ = MakeEngine();
  auto after = engine_->Execute(Declare(kFwdA, "same"));
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->replayed);
  EXPECT_EQ(ToJsonText(after->Json()), ToJsonText(first.Json()));
  EXPECT_EQ(AuditCount(), 4);
}

// --- group commit -----------------------------------------------------------------------------

TEST_P(EngineTest, ConcurrentSubmitsAllCommitOnce) {
  const int kThreads = 5;
  const int kPerThread = int(Scaled(100));
  const size_t kTotal = size_t(kThreads) * kPerThread;
  Collector collector(kTotal);
  const uint64_t transactions_before = engine_->stats().transactions.load();

  std::optional<WriterBlock> block;
  if (threaded()) block.emplace(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const size_t n = size_t(t) * kPerThread + i;
        const Actor& actor = n % 2 == 0 ? kFwdA : kFwdB;
        engine_->Submit(Declare(actor, fmt::format("c-{}", n),
                                fmt::format("12C-{:03d}.{:02d}", n / 100 + 100, n % 100)),
                        collector.For(n));
      }
    });
  }
  for (auto& t : threads) t.join();
  if (block) {
    block->Release();
    ASSERT_TRUE(block->ok());
  }
  ASSERT_TRUE(collector.WaitAll());

  std::set<std::string> ids;
  std::set<int64_t> seqs;
  for (size_t n = 0; n < kTotal; ++n) {
    EXPECT_EQ(collector.calls(n), 1) << n;
    const auto& r = collector.result(n);
    ASSERT_TRUE(r) << n << ": " << r.error().ToString();
    EXPECT_EQ(r->status, 201);
    ids.insert(std::string(r->Json().at("id").as_string()));
    ASSERT_EQ(r->records.size(), 1u);
    seqs.insert(r->records[0].seq);
  }
  EXPECT_EQ(ids.size(), kTotal);
  EXPECT_EQ(seqs.size(), kTotal);
  const int64_t expected = int64_t(kTotal) + (threaded() ? 1 : 0);
  ExpectChainIntact(expected);
  EXPECT_EQ(engine_->stats().commands_failed.load(), 0u);

  const uint64_t transactions = engine_->stats().transactions.load() - transactions_before;
  if (threaded()) {
    // The blocker alone, then everything queued meanwhile in batches of at most 256.
    EXPECT_EQ(transactions, 1u + (kTotal + 255) / 256);
  } else {
    EXPECT_EQ(transactions, kTotal);
  }
  // Every crossing is stored, each company sees its own half.
  CrossingFilter all;
  all.limit = 200;
  size_t listed = 0;
  for (const Actor& actor : {kFwdA, kFwdB}) {
    CrossingFilter filter = all;
    size_t own = 0;
    do {
      auto page = engine_->ListCrossings(actor, filter);
      ASSERT_TRUE(page);
      for (const Crossing& c : page->items) EXPECT_EQ(c.company_id, actor.company_id);
      own += page->items.size();
      filter.after = page->next_cursor;
    } while (!filter.after.empty());
    listed += own;
  }
  EXPECT_EQ(int64_t(listed), expected);
}

// In one batch, a refused command rolls back alone: the commands around it commit, and a later
// command in the batch sees what an earlier one wrote.
// Batches and the queue exist only with the writer thread.
class WriterEngineTest : public EngineTest {};

TEST_P(WriterEngineTest, FailingCommandInBatchDoesNotAffectOthers) {
  const std::string existing = MustDeclare(kFwdA, "14C-111.11");
  const uint64_t transactions_before = engine_->stats().transactions.load();
  std::vector<Command> commands;
  commands.push_back(Declare(kFwdA, "b-0", "12C-100.01"));
  commands.push_back(Event(kFwdA, "b-1", existing, CrossingEventType::kAssess,
                           R"({"channel": "green"})"));  // role_not_allowed
  commands.push_back(
      Event(kCustoms, "b-2", existing, CrossingEventType::kAssess, R"({"channel": "green"})"));
  commands.push_back(Event(kCustoms, "b-3", existing, CrossingEventType::kAssess,
                           R"({"channel": "red"})"));       // invalid_transition: already assessed
  commands.push_back(Declare(kFwdA, "b-0", "12C-999.99"));  // idempotency_key_reused
  commands.push_back(Declare(kFwdA, "b-0", "12C-100.01"));  // replay of b-0
  commands.push_back(Event(kFwdA, "b-6", "CR-NOSUCHCROSS", CrossingEventType::kBook));
  commands.push_back(Event(kFwdA, "b-7", existing, CrossingEventType::kBook, "{}", 2));
  commands.push_back(Declare(kFwdB, "b-8", "12C-100.02"));
  Collector collector(commands.size());
  {
    WriterBlock block(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
    for (size_t i = 0; i < commands.size(); ++i) {
      engine_->Submit(std::move(commands[i]), collector.For(i));
    }
  }
  ASSERT_TRUE(collector.WaitAll());
  EXPECT_EQ(engine_->stats().transactions.load() - transactions_before, 2u);

  auto ok = [&](size_t i) {
    EXPECT_TRUE(collector.result(i)) << i << ": " << collector.result(i).error().ToString();
  };
  ok(0);
  ExpectError(collector.result(1), ErrorKind::kPermissionDenied, "role_not_allowed");
  ok(2);
  ExpectError(collector.result(3), ErrorKind::kConflict, "invalid_transition");
  ExpectError(collector.result(4), ErrorKind::kUnprocessable, "idempotency_key_reused");
  ok(5);
  ASSERT_TRUE(collector.result(5));
  EXPECT_TRUE(collector.result(5)->replayed);
  EXPECT_EQ(ToJsonText(collector.result(5)->Json()), ToJsonText(collector.result(0)->Json()));
  ExpectError(collector.result(6), ErrorKind::kNotFound, "crossing_not_found");
  ok(7);
  ok(8);

  Crossing c = Stored(existing);
  EXPECT_EQ(c.state, CrossingState::kBooked);
  EXPECT_EQ(c.channel, Channel::kGreen);
  EXPECT_EQ(c.version, 3);
  // existing + blocker + b-0 + b-2 + b-7 + b-8.
  ExpectChainIntact(6);
  std::vector<AuditRecord> records = Audit();
  std::vector<std::string> actions;
  for (const auto& r : records) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"declare", "declare", "declare", "assess", "book",
                                               "declare"}));
}

// A command that fails after it wrote a crossing (here: its response cannot be stored) is rolled
// back with its savepoint, and the batch's later commands see the version an earlier command of
// the batch wrote, not the failed one's and not the committed one.
TEST_P(WriterEngineTest, CommandFailingAfterItsWriteLeavesTheBatchsEarlierVersion) {
  const std::string id = MustDeclare(kFwdA, "14C-111.11");
  controlled_->FailResponseOf("u-1");
  std::vector<Command> commands;
  commands.push_back(
      Event(kCustoms, "u-0", id, CrossingEventType::kAssess, R"({"channel": "green"})"));
  commands.push_back(Event(kFwdA, "u-1", id, CrossingEventType::kBook));  // fails after writing
  commands.push_back(Event(kFwdA, "u-2", id, CrossingEventType::kBook, "{}", 2));
  Collector collector(commands.size());
  {
    WriterBlock block(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
    for (size_t i = 0; i < commands.size(); ++i) {
      engine_->Submit(std::move(commands[i]), collector.For(i));
    }
  }
  ASSERT_TRUE(collector.WaitAll());
  ASSERT_TRUE(collector.result(0)) << collector.result(0).error().ToString();
  ExpectError(collector.result(1), ErrorKind::kUnavailable, "store_write_failed");
  // Booked from the assessed version 2 that u-0 wrote: u-1's version 3 was undone.
  ASSERT_TRUE(collector.result(2)) << collector.result(2).error().ToString();
  EXPECT_EQ(collector.result(2)->Json().at("crossing").at("version").as_int64(), 3);

  Crossing c = Stored(id);
  EXPECT_EQ(c.state, CrossingState::kBooked);
  EXPECT_EQ(c.version, 3);
  std::vector<std::string> actions;
  for (const auto& r : Audit()) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"declare", "declare", "assess", "book"}));
  ExpectChainIntact(4);

  // The engine's cache holds what was committed: version 3 is current (a booked crossing may
  // be booked again, to change its slot), not version 2.
  controlled_->FailResponseOf("");
  ExpectError(engine_->Execute(Event(kFwdA, "u-3", id, CrossingEventType::kBook, "{}", 2)),
              ErrorKind::kConflict, "version_conflict");
  auto rebooked = engine_->Execute(Event(kFwdA, "u-4", id, CrossingEventType::kBook, "{}", 3));
  ASSERT_TRUE(rebooked) << rebooked.error().ToString();
  EXPECT_EQ(rebooked->Json().at("crossing").at("version").as_int64(), 4);
}

TEST_P(EngineTest, CommitListenerReceivesRecordsInOrder) {
  std::mutex mu;
  std::vector<AuditRecord> seen;
  int calls = 0;
  engine_->SetCommitListener([&](const std::vector<AuditRecord>& records) {
    std::lock_guard lock(mu);
    ++calls;
    EXPECT_FALSE(records.empty());
    seen.insert(seen.end(), records.begin(), records.end());
  });
  const std::string id = MustDeclare(kFwdA);
  MustRun(Event(kCustoms, "l-1", id, CrossingEventType::kAssess, R"({"channel": "green"})"));
  // Refusals and replays append nothing, so the listener hears nothing of them.
  EXPECT_FALSE(engine_->Execute(Event(kCustoms, "l-2", id, CrossingEventType::kRelease)));
  EXPECT_TRUE(engine_->Execute(
      Event(kCustoms, "l-1", id, CrossingEventType::kAssess, R"({"channel": "green"})")));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(seen.size(), 2u);
  }

  // Many commands at once (grouped with the writer thread): the listener still hears every
  // record once, in sequence order.
  const size_t kMany = Scaled(120);
  Collector collector(kMany);
  {
    std::optional<WriterBlock> block;
    if (threaded()) block.emplace(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
    for (size_t i = 0; i < kMany; ++i) {
      engine_->Submit(Declare(kFwdA, fmt::format("m-{}", i),
                              fmt::format("12C-{:03d}.{:02d}", 100 + i / 100, i % 100)),
                      collector.For(i));
    }
  }
  ASSERT_TRUE(collector.WaitAll());
  std::vector<AuditRecord> stored = Audit();
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(seen[i].seq, int64_t(i) + 1);
    EXPECT_EQ(seen[i].hash, stored[i].hash);
    EXPECT_EQ(seen[i].action, stored[i].action);
  }
  if (threaded()) {
    EXPECT_LT(calls, int(kMany));  // grouped: fewer calls than commands
  }
}

// A failed commit fails every command of its batch, records nothing, tells the listener
// nothing, counts one failed transaction, and leaves the keys free for a retry.
TEST_P(EngineTest, FailedCommitFailsTheWholeBatch) {
  std::atomic<int> listener_calls{0};
  engine_->SetCommitListener([&](const std::vector<AuditRecord>&) { ++listener_calls; });
  const std::string id = MustDeclare(kFwdA, "14C-111.11");
  ASSERT_EQ(listener_calls, 1);

  auto commands = [&] {
    std::vector<Command> out;
    out.push_back(Declare(kFwdA, "f-0", "12C-100.01"));
    out.push_back(
        Event(kCustoms, "f-1", id, CrossingEventType::kAssess, R"({"channel": "green"})"));
    out.push_back(Declare(kFwdB, "f-2", "12C-100.02"));
    return out;
  };
  std::vector<Command> batch = commands();
  Collector collector(batch.size());
  {
    std::optional<WriterBlock> block;
    if (threaded()) block.emplace(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
    controlled_->fail_next = true;
    // With the writer thread the three share one (failing) transaction; inline, only the first
    // command's transaction fails.
    for (size_t i = 0; i < batch.size(); ++i) {
      engine_->Submit(std::move(batch[i]), collector.For(i));
    }
    if (block) {
      // The blocker is answered (and its commit heard) once durable, which over SQLite can be
      // after the failed batch is answered.
      block->Release();
      EXPECT_TRUE(block->ok());
    }
  }
  ASSERT_TRUE(collector.WaitAll());
  const size_t failed = threaded() ? 3 : 1;
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(collector.calls(i), 1);
    if (i < failed) {
      ExpectError(collector.result(i), ErrorKind::kUnavailable, "store_write_failed");
    } else {
      EXPECT_TRUE(collector.result(i));
    }
  }
  EXPECT_EQ(engine_->stats().transaction_failures.load(), 1u);
  EXPECT_EQ(engine_->stats().commands_failed.load(), failed);
  const int64_t kept = threaded() ? 2 : 3;  // the first declaration (+ blocker), or + f-1, f-2
  EXPECT_EQ(AuditCount(), kept);
  EXPECT_EQ(listener_calls, int(kept));
  EXPECT_EQ(Stored(id).state, threaded() ? CrossingState::kDeclared : CrossingState::kAssessed);

  // Nothing of the failed commands was kept: retried with the same keys, they apply now.
  std::vector<Command> retry = commands();
  for (size_t i = 0; i < failed; ++i) {
    auto r = engine_->Execute(std::move(retry[i]));
    ASSERT_TRUE(r) << i << ": " << r.error().ToString();
    EXPECT_FALSE(r->replayed) << i;
  }
  EXPECT_EQ(Stored(id).state, CrossingState::kAssessed);
  ExpectChainIntact(threaded() ? 5 : 4);
}

// Over SQLite the writer goes on to the next batch while the last one syncs: a command's result
// (and the commit listener) waits for its commit's sync; a failed sync fails its commands.
TEST_P(EngineTest, ResultsWaitUntilTheCommitIsDurable) {
  auto* sqlite = dynamic_cast<SqliteStore*>(store_.get());
  if (sqlite == nullptr) GTEST_SKIP() << "the in-memory store is durable on return";
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int syncs = 0;
  Status sync_result;
  sqlite->SetSyncFaultForTesting([&]() -> Status {
    std::unique_lock lock(mu);
    ++syncs;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    return sync_result;
  });
  std::atomic<int> heard{0};
  engine_->SetCommitListener([&](const std::vector<AuditRecord>&) { ++heard; });
  Collector collector(1);
  engine_->Submit(Declare(kFwdA, "d-1"), collector.For(0));
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return syncs == 1; });
  }
  // Committed (the audit record is readable) but not yet durable: nobody has been told.
  EXPECT_EQ(AuditCount(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(collector.calls(0), 0);
  EXPECT_EQ(heard.load(), 0);
  {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  ASSERT_TRUE(collector.WaitAll());
  EXPECT_TRUE(collector.result(0)) << collector.result(0).error().ToString();
  EXPECT_EQ(heard.load(), 1);

  // A sync that fails: the commands of its batch are refused, not acknowledged, and the store
  // takes no more writes.
  {
    std::lock_guard lock(mu);
    sync_result = Unavailable("store_sync_failed", "injected: fdatasync failed");
  }
  ExpectError(engine_->Execute(Declare(kFwdA, "d-2", "12C-100.02")), ErrorKind::kUnavailable,
              "store_sync_failed");
  ExpectError(engine_->Execute(Declare(kFwdA, "d-3", "12C-100.03")), ErrorKind::kUnavailable,
              "store_sync_failed");
  EXPECT_EQ(heard.load(), 1);
}

// --- queries ----------------------------------------------------------------------------------

TEST_P(EngineTest, QueriesAreScopedToTheActorsCompany) {
  const std::string a1 = MustDeclare(kFwdA, "12C-111.11");
  const std::string a2 = MustDeclare(kFwdA, "12C-222.22");
  const std::string b1 = MustDeclare(kFwdB, "24C-333.33");

  // GetCrossing: the own company's and, for officers, all; anything else is not found.
  EXPECT_TRUE(engine_->GetCrossing(kFwdA, a1));
  EXPECT_TRUE(engine_->GetCrossing(kFwdB, b1));
  EXPECT_TRUE(engine_->GetCrossing(kOperator, a1));
  EXPECT_TRUE(engine_->GetCrossing(kCustoms, b1));
  for (const auto& [actor, id] : std::vector<std::pair<Actor, std::string>>{
           {kFwdB, a1}, {kFwdA, b1}, {kPublic, a1}, {kFwdA, "CR-NOSUCHCROSS"}}) {
    SCOPED_TRACE(actor.user_name + " " + id);
    auto r = engine_->GetCrossing(actor, id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "crossing_not_found");
    EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
    auto h = engine_->CrossingHistory(actor, id);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, "crossing_not_found");
  }
  // The message for another company's crossing reads like the one for an unknown id.
  {
    const std::string unknown = "CR-NOSUCHCROSS";
    std::string theirs = engine_->GetCrossing(kFwdB, a1).error().message;
    std::string missing = engine_->GetCrossing(kFwdB, unknown).error().message;
    ASSERT_NE(missing.find(unknown), std::string::npos) << missing;
    missing.replace(missing.find(unknown), unknown.size(), a1);
    EXPECT_EQ(theirs, missing);
  }

  // ListCrossings: forwarders only ever see their own company, whatever they ask for.
  auto ids = [&](const Actor& actor, CrossingFilter filter) {
    std::set<std::string> out;
    auto page = engine_->ListCrossings(actor, filter);
    EXPECT_TRUE(page) << page.error().ToString();
    if (page) {
      for (const Crossing& c : page->items) out.insert(c.id);
    }
    return out;
  };
  EXPECT_EQ(ids(kFwdA, {}), (std::set<std::string>{a1, a2}));
  EXPECT_EQ(ids(kFwdB, {}), (std::set<std::string>{b1}));
  CrossingFilter other_company;
  other_company.company_id = "COMPANY-A";
  EXPECT_EQ(ids(kFwdB, other_company), (std::set<std::string>{b1}));
  EXPECT_EQ(ids(kOperator, {}), (std::set<std::string>{a1, a2, b1}));
  EXPECT_EQ(ids(kOperator, other_company), (std::set<std::string>{a1, a2}));
  auto public_list = engine_->ListCrossings(kPublic, {});
  ASSERT_FALSE(public_list);
  EXPECT_EQ(public_list.error().code, "role_not_allowed");

  // CrossingHistory: the crossing's records, oldest first.
  MustRun(Event(kCustoms, "h-1", a1, CrossingEventType::kAssess, R"({"channel": "green"})"));
  auto history = engine_->CrossingHistory(kFwdA, a1);
  ASSERT_TRUE(history) << history.error().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].action, "declare");
  EXPECT_EQ((*history)[1].action, "assess");
  EXPECT_LT((*history)[0].seq, (*history)[1].seq);
  auto operator_history = engine_->CrossingHistory(kOperator, a1);
  ASSERT_TRUE(operator_history);
  EXPECT_EQ(operator_history->size(), 2u);

  // Events are scoped the same way: another company's crossing is not found.
  ExpectError(engine_->Execute(
                  Event(kFwdB, "h-2", a1, CrossingEventType::kCancel, R"({"reason": "not mine"})")),
              ErrorKind::kNotFound, "crossing_not_found");
  EXPECT_EQ(Stored(a1).state, CrossingState::kAssessed);
  EXPECT_EQ(AuditCount(), 4);
}

TEST_P(EngineTest, GateStatusCounts) {
  auto empty = engine_->GetGateStatus();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->counts.empty());

  const std::string a = MustDeclare(kFwdA, "12C-111.11");
  MustDeclare(kFwdA, "12C-222.22");
  MustDeclare(kFwdB, "24C-333.33", "general_cargo");
  MustRun(Event(kCustoms, "g-1", a, CrossingEventType::kAssess, R"({"channel": "green"})"));

  auto status = engine_->GetGateStatus();
  ASSERT_TRUE(status);
  std::map<std::tuple<std::string, std::string, CrossingState>, int64_t> counts;
  for (const CrossingCount& c : status->counts) {
    counts[{c.direction, c.lane_class, c.state}] += c.count;
  }
  using Key = std::tuple<std::string, std::string, CrossingState>;
  EXPECT_EQ(counts, (std::map<Key, int64_t>{
                        {{"VN-CN", "fresh_produce", CrossingState::kDeclared}, 1},
                        {{"VN-CN", "fresh_produce", CrossingState::kAssessed}, 1},
                        {{"VN-CN", "general_cargo", CrossingState::kDeclared}, 1},
                    }));
  // 01:00Z: 08:00 in Vietnam (open 07:00-23:00), 09:00 in China (open 08:00-23:59).
  EXPECT_EQ(status->at, clock_.Now());
  EXPECT_TRUE(status->self_open);
  EXPECT_TRUE(status->counterpart_open);
  // 16:30Z: 23:30 in Vietnam and 00:30 in China, both closed.
  clock_.Set(*ParseTimestamp("2026-11-29T16:30:00Z"));
  auto night = engine_->GetGateStatus();
  ASSERT_TRUE(night);
  EXPECT_FALSE(night->self_open);
  EXPECT_FALSE(night->counterpart_open);
  EXPECT_EQ(night->at, clock_.Now());
}

// --- administration ---------------------------------------------------------------------------

TEST_P(EngineTest, UsersAndTokensRequireTheAdministrator) {
  for (const Actor& actor : {kOperator, kFwdA, kCustoms, kCamera, kPublic}) {
    SCOPED_TRACE(actor.user_name);
    ExpectError(
        engine_->Execute(Command{actor, "", "", AddUser{"new.user", Role::kCustomsOfficer, ""}}),
        ErrorKind::kPermissionDenied, "role_not_allowed");
    ExpectError(engine_->Execute(Command{actor, "", "", IssueApiToken{"new.user", "x", {}}}),
                ErrorKind::kPermissionDenied, "role_not_allowed");
    ExpectError(engine_->Execute(Command{actor, "", "", RevokeApiToken{"T-whatever", ""}}),
                ErrorKind::kPermissionDenied, "role_not_allowed");
  }
  EXPECT_EQ(AuditCount(), 0);
  auto users = store_->ListUsers();
  ASSERT_TRUE(users);
  EXPECT_TRUE(users->empty());

  CommandResult added =
      MustRun(Command{kAdmin, "", "", AddUser{"new.user", Role::kCustomsOfficer, ""}});
  EXPECT_EQ(added.status, 201);
  EXPECT_EQ(added.Json().at("role").as_string(), "customs_officer");
  CommandResult issued = MustRun(Command{kAdmin, "", "", IssueApiToken{"new.user", "desk", {}}});
  EXPECT_EQ(issued.status, 201);
  auto parts = ParseToken(issued.Json().at("token").as_string());
  ASSERT_TRUE(parts);
  auto token = store_->FindToken(parts->id);
  ASSERT_TRUE(token && *token);
  EXPECT_TRUE(TokenMatches(**token, parts->secret, clock_.Now()));

  // Still only the administrator revokes it.
  ExpectError(engine_->Execute(Command{kOperator, "", "", RevokeApiToken{parts->id, ""}}),
              ErrorKind::kPermissionDenied, "role_not_allowed");
  MustRun(Command{kAdmin, "", "", RevokeApiToken{parts->id, ""}});
  token = store_->FindToken(parts->id);
  ASSERT_TRUE(token && *token);
  EXPECT_FALSE(TokenMatches(**token, parts->secret, clock_.Now()));

  // Errors of administration commands.
  ExpectError(engine_->Execute(Command{kAdmin, "", "", IssueApiToken{"nobody.here", "x", {}}}),
              ErrorKind::kNotFound, "user_not_found");
  ExpectError(engine_->Execute(Command{kAdmin, "", "", RevokeApiToken{"NOSUCHTOKEN", ""}}),
              ErrorKind::kNotFound, "token_not_found");
  std::vector<std::string> actions;
  for (const auto& r : Audit()) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"user_add", "token_issue", "token_revoke"}));
  ExpectChainIntact(3);
}

TEST_P(EngineTest, RevokingEveryTokenOfAUserAndRevokingTwice) {
  MustRun(Command{kAdmin, "", "", AddUser{"camera.lane3", Role::kSensor, ""}});
  MustRun(Command{kAdmin, "", "", AddUser{"other.desk", Role::kCustomsOfficer, ""}});
  std::vector<std::string> camera_tokens;
  for (const char* label : {"first", "second", "third"}) {
    clock_.Advance(std::chrono::seconds(1));
    CommandResult issued =
        MustRun(Command{kAdmin, "", "", IssueApiToken{"camera.lane3", label, {}}});
    camera_tokens.push_back(std::string(issued.Json().at("token").as_string()));
  }
  CommandResult other = MustRun(Command{kAdmin, "", "", IssueApiToken{"other.desk", "desk", {}}});
  auto first = ParseToken(camera_tokens[0]);
  ASSERT_TRUE(first);
  MustRun(Command{kAdmin, "", "", RevokeApiToken{first->id, ""}});
  const int64_t before = AuditCount();

  // Revoking the first again changes nothing and records nothing.
  CommandResult again = MustRun(Command{kAdmin, "", "", RevokeApiToken{first->id, ""}});
  EXPECT_TRUE(again.Json().at("already_revoked").as_bool());
  EXPECT_EQ(AuditCount(), before);

  // The camera was stolen: every live token of its user at once, one record each.
  CommandResult all = MustRun(Command{kAdmin, "", "", RevokeApiToken{"", "camera.lane3"}});
  EXPECT_EQ(all.Json().at("revoked").as_array().size(), 2u) << ToJsonText(all.Json());
  EXPECT_EQ(AuditCount(), before + 2);
  for (const std::string& text : camera_tokens) {
    auto parts = ParseToken(text);
    ASSERT_TRUE(parts);
    auto token = store_->FindToken(parts->id);
    ASSERT_TRUE(token && *token);
    EXPECT_FALSE(TokenMatches(**token, parts->secret, clock_.Now())) << parts->id;
  }
  auto other_parts = ParseToken(other.Json().at("token").as_string());
  ASSERT_TRUE(other_parts);
  auto other_token = store_->FindToken(other_parts->id);
  ASSERT_TRUE(other_token && *other_token);
  EXPECT_TRUE(TokenMatches(**other_token, other_parts->secret, clock_.Now()));

  // Listed per user, oldest first, the revoked ones included.
  auto camera = store_->FindUserById(std::string(all.Json().at("user_id").as_string()));
  ASSERT_TRUE(camera && *camera);
  auto listed = store_->ListTokens((*camera)->id);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].label, "first");
  EXPECT_EQ((*listed)[2].label, "third");
  for (const TokenRecord& t : *listed) EXPECT_TRUE(t.revoked_at.has_value());
  auto everyone = store_->ListTokens("");
  ASSERT_TRUE(everyone);
  EXPECT_EQ(everyone->size(), 4u);

  ExpectError(engine_->Execute(Command{kAdmin, "", "", RevokeApiToken{"", "nobody.here"}}),
              ErrorKind::kNotFound, "user_not_found");
  ExpectError(engine_->Execute(Command{kAdmin, "", "", RevokeApiToken{first->id, "camera.lane3"}}),
              ErrorKind::kInvalidArgument, "missing_field");
  // A user without live tokens: nothing to do, nothing recorded.
  CommandResult none = MustRun(Command{kAdmin, "", "", RevokeApiToken{"", "camera.lane3"}});
  EXPECT_TRUE(none.Json().at("revoked").as_array().empty());
  EXPECT_EQ(AuditCount(), before + 2);
}

// --- lifetime ---------------------------------------------------------------------------------

TEST_P(EngineTest, DestructorDrainsQueuedCommands) {
  const size_t kQueued = Scaled(100);
  Collector collector(kQueued);
  std::optional<WriterBlock> block;
  if (threaded()) block.emplace(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
  for (size_t i = 0; i < kQueued; ++i) {
    engine_->Submit(Declare(kFwdA, fmt::format("d-{}", i),
                            fmt::format("12C-{:03d}.{:02d}", 100 + i / 100, i % 100)),
                    collector.For(i));
  }
  std::thread releaser;
  if (block) {
    // Let the destructor start while the writer is still held, then let the writer go.
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      block->Release();
    });
  }
  engine_.reset();
  if (releaser.joinable()) releaser.join();
  for (size_t i = 0; i < kQueued; ++i) {
    ASSERT_EQ(collector.calls(i), 1) << i;
    EXPECT_TRUE(collector.result(i)) << i << ": " << collector.result(i).error().ToString();
  }
  ExpectChainIntact(int64_t(kQueued) + (threaded() ? 1 : 0));
}

TEST_P(WriterEngineTest, FullQueueRefusesWithOverloaded) {
  engine_ = MakeEngine(EngineOptions{.max_queue = 5});
  constexpr size_t kSubmitted = 8;
  Collector collector(kSubmitted);
  {
    WriterBlock block(*engine_, *controlled_, Declare(kFwdB, "blocker", "29C-000.01"));
    for (size_t i = 0; i < kSubmitted; ++i) {
      engine_->Submit(Declare(kFwdA, fmt::format("q-{}", i), fmt::format("12C-100.{:02d}", i)),
                      collector.For(i));
    }
    // The refusals are immediate, while the writer is still held.
    for (size_t i = 5; i < kSubmitted; ++i) {
      ASSERT_EQ(collector.calls(i), 1) << i;
      ExpectError(collector.result(i), ErrorKind::kUnavailable, "overloaded");
    }
  }
  ASSERT_TRUE(collector.WaitAll());
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(collector.result(i)) << i;
  ExpectChainIntact(6);
}

std::string ModeName(const ::testing::TestParamInfo<EngineMode>& info) { return info.param.Name(); }

INSTANTIATE_TEST_SUITE_P(Modes, EngineTest,
                         ::testing::Values(EngineMode{false, false}, EngineMode{true, false},
                                           EngineMode{false, true}, EngineMode{true, true}),
                         ModeName);
INSTANTIATE_TEST_SUITE_P(Modes, WriterEngineTest,
                         ::testing::Values(EngineMode{true, false}, EngineMode{true, true}),
                         ModeName);

// Returns 0 for the first `zeros` draws, then 1, 2, 3...: two declarations in the same
// millisecond draw the same crossing id.
class RepeatingRandom final : public Random {
 public:
  explicit RepeatingRandom(int zeros) : zeros_(zeros) {}
  uint64_t Next64() override { return zeros_-- > 0 ? 0 : ++next_; }

 private:
  int zeros_;
  uint64_t next_ = 0;
};

// A crossing id drawn twice is drawn again (deterministically, from the engine's generator),
// not refused as crossing_exists.
TEST(EngineDeclare, ACollidingCrossingIdIsDrawnAgain) {
  auto config =
      ParseGateConfig(ReadFile(fs::path(BORDERFLOW_SOURCE_DIR) / "config" / "huu-nghi.toml"));
  ASSERT_TRUE(config) << config.error().ToString();
  fs::path dir = fs::temp_directory_path() / fmt::format("borderflow-id-retry-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (bool memory : {true, false}) {
    std::shared_ptr<const HsNomenclature> hs = HsNomenclature::Hs2022();
    std::unique_ptr<Store> store;
    if (memory) {
      store = std::make_unique<MemoryStore>();
    } else {
      auto opened = SqliteStore::Open(SqliteOptions{(dir / "ids.db").string()}, hs);
      ASSERT_TRUE(opened) << opened.error().ToString();
      store = std::move(*opened);
    }
    ManualClock clock{*ParseTimestamp("2026-11-29T01:00:00Z")};
    RepeatingRandom random(2);  // one draw per id: the first two ids are the same
    Engine engine(*config, hs, *store, clock, random, EngineOptions{.writer_thread = false});
    auto first = engine.Execute(Declare(kFwdA, "d1", "12C-123.45"));
    auto second = engine.Execute(Declare(kFwdA, "d2", "12C-123.46"));
    ASSERT_TRUE(first) << first.error().ToString();
    ASSERT_TRUE(second) << second.error().ToString();
    EXPECT_NE(first->crossing->id, second->crossing->id);
    // The response, the stored crossing and the audit record carry the new id.
    std::string id(second->Json().at("id").as_string());
    EXPECT_EQ(id, second->crossing->id);
    auto stored = store->GetCrossing(id);
    ASSERT_TRUE(stored && *stored) << memory;
    EXPECT_EQ((*stored)->declaration.vehicle.plate.canonical, "12C12346");
    auto audit = store->ReadAudit(0, 100);
    ASSERT_TRUE(audit);
    ASSERT_EQ(audit->size(), 2u);
    EXPECT_EQ(audit->back().subject_id, id);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace borderflow
