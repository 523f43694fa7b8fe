#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/core/digest.h>

namespace borderflow {

const std::string kGenesisHash(64, '0');

namespace {

// Length-prefixed so that no two different records encode to the same bytes.
void Put(Sha256Stream& hash, std::string_view field) {
  char length[24];
  auto [end, ec] = std::to_chars(length, length + sizeof length, field.size());
  hash.Update(std::string_view(length, end - length)).Update(":").Update(field).Update(";");
}

void Put(Sha256Stream& hash, int64_t number) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, number);
  Put(hash, std::string_view(text, end - text));
}

}  // namespace

std::string AuditHash(const AuditRecord& r) {
  // SHA-256 of "borderflow-audit-v1;" and each field as "<length>:<bytes>;", streamed.
  Sha256Stream hash;
  hash.Update("borderflow-audit-v1;");
  Put(hash, r.seq);
  Put(hash, ToUnixMillis(r.at));
  Put(hash, r.actor_id);
  Put(hash, r.actor_role);
  Put(hash, r.subject_type);
  Put(hash, r.subject_id);
  Put(hash, r.action);
  Put(hash, r.body);
  Put(hash, r.prev_hash);
  return hash.HexDigest();
}

AuditRecord ChainNext(const AuditDraft& draft, int64_t last_seq, const std::string& last_hash) {
  AuditRecord r;
  static_cast<AuditDraft&>(r) = draft;
  r.seq = last_seq + 1;
  r.prev_hash = last_seq == 0 ? kGenesisHash : last_hash;
  r.hash = AuditHash(r);
  return r;
}

Result<AuditVerification> VerifyAuditChain(
    const std::function<Result<std::vector<AuditRecord>>(int64_t after_seq)>& next_page,
    const std::string& expected_head) {
  int64_t expected_seq = -1;
  std::string expected_hash;
  if (!expected_head.empty()) {
    // Strict: "SEQ:HASH" with SEQ a positive decimal and HASH 64 lower-case hex digits (atoll
    // would take "3x", " 3" or an overflowing number for something it is not).
    auto colon = expected_head.find(':');
    std::string_view seq_text = std::string_view(expected_head).substr(0, colon);
    expected_hash = colon == std::string::npos ? "" : expected_head.substr(colon + 1);
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    auto is_hex = [&](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); };
    bool ok = !seq_text.empty() && std::all_of(seq_text.begin(), seq_text.end(), is_digit) &&
              expected_hash.size() == 64 &&
              std::all_of(expected_hash.begin(), expected_hash.end(), is_hex);
    if (ok) {
      auto [end, ec] =
          std::from_chars(seq_text.data(), seq_text.data() + seq_text.size(), expected_seq);
      ok = ec == std::errc() && end == seq_text.data() + seq_text.size() && expected_seq > 0;
    }
    if (!ok) {
      return InvalidArgument("invalid_expected_head",
                             "expected head must be SEQ:HASH (a positive record number and the "
                             "record's 64-digit lower-case hex hash)");
    }
  }
  AuditVerification v;
  std::string last_hash = kGenesisHash;
  int64_t last_seq = 0;
  auto fail = [&](int64_t seq, std::string reason) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.reason = std::move(reason);
    v.head_seq = last_seq;
    v.head_hash = last_seq == 0 ? "" : last_hash;
    return v;
  };
  // The first page is read from the lowest possible number: a record numbered 0 or below would
  // otherwise sit before the chain's start unseen, while a crossing's history still shows it.
  bool first_page = true;
  while (true) {
    BF_ASSIGN_OR_RETURN(std::vector<AuditRecord> page,
                        next_page(first_page ? std::numeric_limits<int64_t>::min() : last_seq));
    first_page = false;
    if (page.empty()) break;
    for (const AuditRecord& r : page) {
      ++v.records;
      if (r.seq < 1) {
        return fail(r.seq, fmt::format("record {} is numbered below 1: the trail starts at 1, so "
                                       "it was inserted",
                                       r.seq));
      }
      if (r.seq != last_seq + 1) {
        return fail(
            last_seq + 1,
            r.seq > last_seq + 1
                ? fmt::format("record {} is missing (next record is {})", last_seq + 1, r.seq)
                : fmt::format("record {} appears out of order after {}", r.seq, last_seq));
      }
      if (r.prev_hash != last_hash) {
        return fail(r.seq, fmt::format("record {} does not link to the hash of record {} (one "
                                       "of the two was changed, or record {} was inserted)",
                                       r.seq, last_seq, r.seq));
      }
      if (AuditHash(r) != r.hash) {
        return fail(r.seq, fmt::format("record {} was changed: its content does not match its "
                                       "hash",
                                       r.seq));
      }
      if (r.seq == expected_seq && r.hash != expected_hash) {
        return fail(r.seq,
                    fmt::format("record {} differs from the head hash recorded earlier", r.seq));
      }
      last_seq = r.seq;
      last_hash = r.hash;
    }
  }
  v.head_seq = last_seq;
  v.head_hash = last_seq == 0 ? "" : last_hash;
  if (expected_seq > last_seq) {
    return fail(last_seq + 1, fmt::format("the trail ends at record {} but record {} was recorded "
                                          "earlier: records were removed",
                                          last_seq, expected_seq));
  }
  return v;
}

}  // namespace borderflow
