#pragma once

// The demo gate pair's link: fresh node keys for both sides, each pinning the other's, and the
// order in which the two nodes are connected once both have started.

#include <cstdint>
#include <functional>
#include <string>

#include <borderflow/core/error.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/link/node_key.h>
#include <borderflow/server/runtime.h>

namespace borderflow::cli {

// Both nodes' keys, kept in `keys_dir` (vn.key, cn.key).
struct DemoLink {
  std::string keys_dir;
  NodeKey vn, cn;
};

// Makes both nodes' keys in `dir` (created when missing); with `keep`, reuses the keys found
// there.
Result<DemoLink> MakeDemoKeys(const std::string& dir, bool keep);

// The change to one side's configuration (VN with `vn_side`): the link enabled with this side's
// key, its peer listener on 127.0.0.1:`own_peer_port` (self-signed), the other side's key
// pinned and its peer URL on `peer_port`. With port 0 for either (any free port), the nodes
// learn each other's peer port only once both have started: ConnectDemoPair.
std::function<void(GateConfig&)> DemoLinkConfig(const DemoLink& link, bool vn_side,
                                                uint16_t own_peer_port, uint16_t peer_port);

// Points each node's link at the other's peer listener as bound (any free port), then starts
// both links' senders: the nodes must have been started with RuntimeOptions::hold_link, so that
// no sender tries a peer URL that is not known yet.
void ConnectDemoPair(Runtime& vn, Runtime& cn);

}  // namespace borderflow::cli
