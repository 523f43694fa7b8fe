#pragma once

// Running one write function of a batch, the same way in every store (internal to src/store).

#include <exception>
#include <string>

#include <borderflow/engine/store.h>

namespace borderflow::store {

// Runs `fn` on `txn`. A function that throws counts as one that failed (the store rolls back its
// part and keeps the others), so that an exception never leaves a writer in an open transaction.
inline Status RunWriteFunction(const TxnFn& fn, WriteTxn& txn) {
  if (!fn) return Internal("empty write function");
  try {
    return fn(txn);
  } catch (const std::exception& e) {
    return Internal(std::string("write function threw: ") + e.what());
  } catch (...) {
    return Internal("write function threw");
  }
}

}  // namespace borderflow::store
