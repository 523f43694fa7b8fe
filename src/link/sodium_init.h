#pragma once

#include <sodium.h>

#include <borderflow/core/assert.h>

namespace borderflow::link_internal {

// libsodium must be initialised before its random generator is used; sodium_init is thread-safe
// and idempotent, and fails only when the system has no source of randomness.
inline void EnsureSodium() {
  static const int kInit = sodium_init();
  BF_ASSERT(kInit >= 0, "libsodium could not be initialised");
}

}  // namespace borderflow::link_internal
