#pragma once

// An in-memory Store for the digital-twin simulator and for fast tests: the engine runs
// unchanged against it. Nothing survives the process: there is no file, no log and no
// durability; a WriteBatch "commits" when it returns, to memory only.
//
// Semantics match SqliteStore wherever the engine can observe them: one savepoint per function
// of a batch (a failed or throwing function leaves no trace, the others commit together), the
// same hash-chained audit trail (ChainNext), the same error codes, orderings, page limits and
// cursors. Reads see committed data only, from any thread, concurrently with the writer.
//
// One difference that the engine cannot observe: crossings are kept decoded, as the Crossing
// the engine wrote, and returned as such; SqliteStore returns DecodeCrossing(document). The two
// agree because the engine's document is always EncodeCrossing(crossing).

#include <memory>

#include <borderflow/engine/store.h>

namespace borderflow {

class MemoryStore final : public Store {
 public:
  // An empty store.
  MemoryStore();
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // Runs the functions against private layers (see memory_store.cpp) and publishes the
  // successful ones together. Never fails as a whole. Callers are serialised; a TxnFn must not
  // call WriteBatch itself, and the store's read methods inside a TxnFn see only what was
  // committed before the batch (as with SqliteStore).
  std::vector<Status> WriteBatch(std::span<const TxnFn> work) override;

  // Thread-safe; each call sees one committed state.
  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override;
  Result<CrossingPage> ListCrossings(const CrossingFilter& filter) override;
  Result<std::vector<CrossingCount>> CountCrossings() override;
  Result<std::vector<AuditRecord>> ListAuditFor(std::string_view subject_type,
                                                std::string_view subject_id, int limit) override;
  Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) override;
  Result<int64_t> AuditHead() override;
  Result<std::vector<StoredRecord>> ListRecords(std::string_view kind) override;
  Result<std::optional<UserRecord>> FindUserById(std::string_view id) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Result<std::optional<TokenRecord>> FindToken(std::string_view token_id) override;
  Result<std::vector<TokenRecord>> ListTokens(std::string_view user_id) override;
  // Always ready.
  Status Ping() override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace borderflow
