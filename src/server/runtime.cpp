#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <borderflow/server/runtime.h>

namespace borderflow {

Result<GateConfig> LoadGateConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument("config_not_found",
                           fmt::format("cannot read gate configuration '{}'", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto config = ParseGateConfig(text.str());
  if (!config) {
    Error e = config.error();
    e.message = fmt::format("{}: {}", path, e.message);
    return e;
  }
  return *config;
}

// Submits QueueTick to the engine every `interval` until stopped.
struct Runtime::Ticker {
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;

  Ticker(Engine& engine, Duration interval) {
    thread = std::thread([this, &engine, interval] {
      std::unique_lock lock(mu);
      while (!cv.wait_for(lock, interval, [this] { return stopping; })) {
        lock.unlock();
        engine.Submit(Command{Actor::System(), "", "", QueueTick{}}, [](Result<CommandResult> r) {
          if (!r) spdlog::warn("queue timer: {}", r.error().ToString());
        });
        lock.lock();
      }
    });
  }
  ~Ticker() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    thread.join();
  }
};

Result<std::unique_ptr<Runtime>> Runtime::Start(RuntimeOptions options, const Clock& clock,
                                                Random& random) {
  std::unique_ptr<Runtime> rt(new Runtime());
  auto hs = HsNomenclature::Hs2022();
  BF_ASSIGN_OR_RETURN(rt->store_, OpenStore(options.db_path, hs));
  rt->engine_ = std::make_unique<Engine>(std::move(options.config), hs, *rt->store_, clock, random,
                                         options.engine);
  rt->api_ = std::make_unique<api::Api>(*rt->engine_, *rt->store_, options.api);
  rt->server_ = std::make_unique<net::HttpServer>(options.http, rt->api_->Routes(),
                                                  rt->api_->Errors(), rt->api_->Observer());
  BF_ASSIGN_OR_RETURN(rt->port_, rt->server_->Start());
  if (options.queue_tick.count() > 0) {
    rt->ticker_ = std::make_unique<Ticker>(*rt->engine_, options.queue_tick);
  }
  return rt;
}

Runtime::~Runtime() { Stop(); }

void Runtime::Stop() {
  ticker_.reset();
  if (server_) server_->Stop();
  server_.reset();
  api_.reset();
  engine_.reset();  // drains queued commands
  store_.reset();
}

}  // namespace borderflow
