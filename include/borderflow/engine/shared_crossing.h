#pragma once

#include <memory>

#include <borderflow/domain/crossing.h>

namespace borderflow {

// One version of a crossing, shared and never changed once made. A change of a crossing makes
// one such object; the command's result, the batch, the committed cache, the queue book and a
// store that keeps crossings decoded (MemoryStore) all hold the same one, where each used to
// keep its own copy (about a fifth of the twin's season went to copying crossings).
using SharedCrossing = std::shared_ptr<const Crossing>;

}  // namespace borderflow
