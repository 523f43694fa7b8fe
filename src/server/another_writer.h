#pragma once

// How the queue timer (runtime.cpp) tells another writer's commits from its own engine's.

#include <cstdint>
#include <functional>

#include <borderflow/core/error.h>
#include <borderflow/engine/engine.h>

namespace borderflow::server_internal {

// Whether the store's audit head, read by `read_head`, is beyond what this engine has read
// because another process wrote (a second server on the same database, a CLI command on the
// same file). This engine's own commit is in the store a moment before the engine notes its new
// head (EngineStats::known_head), so a head beyond it counts only if no batch of this engine was
// under way meanwhile: the batch counters are read around the head and known_head, in the order
// ended, head, known, begun (begun never falls below ended, and a batch stores known_head before
// it counts itself ended). While a batch is under way the answer is false: that batch catches
// up itself, and the next look decides. A head that cannot be read is false too.
bool AnotherWriterIsAhead(const EngineStats& stats,
                          const std::function<Result<int64_t>()>& read_head);

}  // namespace borderflow::server_internal
