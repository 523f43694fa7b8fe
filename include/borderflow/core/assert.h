#pragma once

// BF_ASSERT guards invariants whose violation means a bug: it crashes loudly in every build,
// naming the condition and the reason. Never use it for input from outside the process.

namespace borderflow::internal {
[[noreturn]] void AssertFailed(const char* condition, const char* why, const char* file, int line);
}  // namespace borderflow::internal

#define BF_ASSERT(cond, why)                                                           \
  do {                                                                                 \
    if (!(cond)) ::borderflow::internal::AssertFailed(#cond, why, __FILE__, __LINE__); \
  } while (0)
