#include <fstream>
#include <sstream>

#include <fmt/format.h>

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

Result<std::unique_ptr<Runtime>> Runtime::Start(RuntimeOptions options, const Clock& clock,
                                                Random& random) {
  std::unique_ptr<Runtime> rt(new Runtime());
  auto hs = HsNomenclature::Hs2022();
  BF_ASSIGN_OR_RETURN(rt->store_, SqliteStore::Open(SqliteOptions{options.db_path}, hs));
  rt->engine_ = std::make_unique<Engine>(std::move(options.config), hs, *rt->store_, clock, random,
                                         options.engine);
  rt->api_ = std::make_unique<api::Api>(*rt->engine_, *rt->store_, options.api);
  rt->server_ = std::make_unique<net::HttpServer>(options.http, rt->api_->Routes(),
                                                  rt->api_->Errors(), rt->api_->Observer());
  BF_ASSIGN_OR_RETURN(rt->port_, rt->server_->Start());
  return rt;
}

Runtime::~Runtime() { Stop(); }

void Runtime::Stop() {
  if (server_) server_->Stop();
  server_.reset();
  api_.reset();
  engine_.reset();  // drains queued commands
  store_.reset();
}

}  // namespace borderflow
