#include "demo_pair.h"

#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include <borderflow/core/clock.h>

namespace borderflow::cli {

Result<DemoLink> MakeDemoKeys(const std::string& dir, bool keep) {
  DemoLink link{dir, {}, {}};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Unavailable(
        "store_open_failed",
        fmt::format("cannot create the demo's key directory '{}': {}", dir, ec.message()));
  }
  for (auto [name, key] : {std::pair{"vn.key", &link.vn}, std::pair{"cn.key", &link.cn}}) {
    std::string path = (std::filesystem::path(dir) / name).string();
    auto existing = ReadKeyFile(path);
    if (keep && existing) {
      *key = *existing;
      continue;
    }
    *key = GenerateNodeKey(SystemClock().Now());
    BF_TRY(WriteKeyFile(path, *key, true));
  }
  return link;
}

std::function<void(GateConfig&)> DemoLinkConfig(const DemoLink& link, bool vn_side,
                                                uint16_t own_peer_port, uint16_t peer_port) {
  return [=](GateConfig& c) {
    c.link.enabled = true;
    c.link.key_file =
        (std::filesystem::path(link.keys_dir) / (vn_side ? "vn.key" : "cn.key")).string();
    c.link.listen = fmt::format("127.0.0.1:{}", own_peer_port);
    c.link.tls_certificate_file.clear();  // self-signed, made at start
    c.link.tls_private_key_file.clear();
    const NodeKey& other = vn_side ? link.cn : link.vn;
    c.counterpart.keys = {PinnedPeerKey{other.key_id, Base64Encode(other.public_key), {}, {}}};
    c.counterpart.peer_url = fmt::format("https://127.0.0.1:{}/peer/v1", peer_port);
  };
}

void ConnectDemoPair(Runtime& vn, Runtime& cn) {
  // With any free port, each side learns the other's peer port only now.
  vn.link()->SetPeerUrl(fmt::format("https://127.0.0.1:{}/peer/v1", cn.peer_port()));
  cn.link()->SetPeerUrl(fmt::format("https://127.0.0.1:{}/peer/v1", vn.peer_port()));
  vn.StartLink();
  cn.StartLink();
}

}  // namespace borderflow::cli
