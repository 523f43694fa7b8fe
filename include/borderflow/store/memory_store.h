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

struct MemoryStoreOptions {
  // Whether the audit trail's records are kept (readable through ReadAudit and ListAuditFor).
  // When false, every record is still chained as usual (its seq, previous hash and hash are
  // computed and returned to the engine, and AuditHead counts them), but only the chain's head
  // is kept: ReadAudit and ListAuditFor answer 503 `audit_not_kept`. For the digital twin, whose
  // store lives only as long as one run and whose audit trail nobody reads: a 90-day season
  // writes about 1.7 million records (about 900 MB).
  bool keep_audit_records = true;
  // Whether the records are hash-chained (only false with keep_audit_records false: a kept trail
  // is always chained). When false, each record still gets its seq, and AuditHead counts it, but
  // its hash and previous hash are left empty. For the digital twin: a chain exists to prove that
  // a kept trail was not changed, and the twin keeps none; hashing a 90-day season's 1.7 million
  // records that are dropped at once was about a tenth of its run (docs/benchmarks.md).
  bool chain_audit_records = true;
  // Whether finished crossings (crossed, or in a state that takes no further event: received,
  // refused, cancelled) stay readable. When false, such a crossing is dropped when its batch
  // commits; only its id is kept, so ids stay unique (inserting it again answers
  // `crossing_exists`, as before), and every read or change of it answers 503
  // `crossing_not_kept` — GetCrossing (of the store and of a write transaction) and
  // UpdateCrossing — never "not found". Lists answer only what they can answer exactly:
  // ListCrossings with a `state` that is not finished (a dropped crossing never changes again,
  // so no such list ever held one); other lists and CountCrossings answer 503
  // `crossings_not_kept`. For the digital twin, which never reads or changes a truck's crossing
  // after it crossed or left: a 90-day season would otherwise keep all 225,000 (about 400 MB,
  // and every table 50 times the live working set).
  bool keep_finished_crossings = true;
};

class MemoryStore final : public Store {
 public:
  // An empty store.
  explicit MemoryStore(MemoryStoreOptions options = {});
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
