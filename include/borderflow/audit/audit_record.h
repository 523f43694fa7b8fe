#pragma once

// The append-only, hash-chained audit trail. Every state change in borderflow (crossing events,
// users, tokens) is one record; each record's hash covers its fields and the previous record's
// hash, so changing, removing or inserting any record breaks the chain from that point.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>

namespace borderflow {

// What the engine appends; the store assigns the sequence number and the hashes.
struct AuditDraft {
  Timestamp at;
  std::string actor_id;      // user id, or "system"
  std::string actor_role;    // role name
  std::string subject_type;  // "crossing", "user", "token"
  std::string subject_id;
  std::string action;  // "declare", "assess", ..., "user_add", "token_issue"
  std::string body;    // JSON text, hashed byte for byte
};

struct AuditRecord : AuditDraft {
  int64_t seq = 0;        // 1, 2, 3, ... without gaps
  std::string prev_hash;  // hash of record seq-1; kGenesisHash for the first
  std::string hash;       // AuditHash(*this)
};

// The prev_hash of record 1: 64 zeros.
extern const std::string kGenesisHash;

// Lower-case hex SHA-256 over a length-prefixed encoding of seq, at, actor, subject, action,
// body and prev_hash (everything but `hash`).
std::string AuditHash(const AuditRecord& record);

// Fills seq, prev_hash and hash of a new record that follows (last_seq, last_hash).
AuditRecord ChainNext(const AuditDraft& draft, int64_t last_seq, const std::string& last_hash);

struct AuditVerification {
  bool ok = true;
  int64_t records = 0;        // records checked
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string reason;         // why the first bad record is bad
  int64_t head_seq = 0;       // last good record
  std::string head_hash;      // its hash: record it elsewhere to detect truncation later
};

// Verifies the chain by reading records in sequence order through `next_page(after_seq)`, which
// returns the records after `after_seq` (an empty page ends the scan). When `expected_head` is
// given ("seq:hash"), a chain that ends before it or differs at it is reported too.
Result<AuditVerification> VerifyAuditChain(
    const std::function<Result<std::vector<AuditRecord>>(int64_t after_seq)>& next_page,
    const std::string& expected_head = {});

}  // namespace borderflow
