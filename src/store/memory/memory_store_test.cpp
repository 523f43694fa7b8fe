// MemoryStore's state indexes (by state, and the counts per direction, lane class and state)
// are brought up to date only when read. Crossings moving between states, and back, between and
// across reads must still list and count exactly as the crossings stand. Its audit trail is kept
// in large blocks, and must read back across them as it was written. A store that drops
// finished crossings lists what it lists exactly as one that keeps them, and refuses the rest.

#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/store/memory_store.h>

#include "../store_test_support.h"

namespace borderflow {
namespace {

using store_test::CrossingSpec;
using store_test::MakeCrossing;

constexpr CrossingState kStates[] = {CrossingState::kDeclared, CrossingState::kAssessed,
                                     CrossingState::kBooked, CrossingState::kInYard};

TEST(MemoryStoreStateIndexTest, ListsAndCountsFollowEveryChangeBetweenReads) {
  MemoryStore store;
  std::map<std::string, Crossing> expected;  // by id, as written
  std::mt19937 random(6);
  auto write = [&](Crossing c, bool insert) {
    Status written = store.Write([&](WriteTxn& txn) -> Status {
      return insert ? txn.InsertCrossing(c, "") : txn.UpdateCrossing(c, "", c.version - 1);
    });
    ASSERT_TRUE(written) << written.error().ToString();
    expected[c.id] = std::move(c);
  };
  for (int i = 0; i < 40; ++i) {
    CrossingSpec spec;
    spec.id = fmt::format("CR-{:03d}", i);
    spec.direction = i % 3 == 0 ? "cn_to_vn" : "vn_to_cn";
    Crossing c = MakeCrossing(spec);
    c.version = 1;
    write(std::move(c), true);
  }
  for (int round = 0; round < 30; ++round) {
    // Some crossings change once or several times (some back to the state they had at the
    // last read), in one batch or several, before the store is read again.
    const int changes = static_cast<int>(random() % 25);
    for (int k = 0; k < changes; ++k) {
      Crossing c = expected[fmt::format("CR-{:03d}", random() % 40)];
      c.state = kStates[random() % 4];
      ++c.version;
      write(std::move(c), false);
    }
    for (CrossingState state : kStates) {
      CrossingFilter filter;
      filter.state = state;
      filter.limit = 200;
      auto page = store.ListCrossings(filter);
      ASSERT_TRUE(page) << page.error().ToString();
      std::vector<std::string> got, want;
      for (const Crossing& c : page->items) got.push_back(c.id);
      for (const auto& [id, c] : expected) {
        if (c.state == state) want.push_back(id);
      }
      EXPECT_EQ(got, want) << "round " << round << ", state " << CrossingStateName(state);
    }
    if (round % 2 == 0) {  // counts read alone too: a fold for one reader serves the other
      auto counts = store.CountCrossings();
      ASSERT_TRUE(counts) << counts.error().ToString();
      std::map<std::tuple<std::string, std::string, CrossingState>, int64_t> got, want;
      for (const CrossingCount& n : *counts) {
        EXPECT_GT(n.count, 0) << "a group with no crossing is not listed";
        got[{n.direction, n.lane_class, n.state}] = n.count;
      }
      for (const auto& [id, c] : expected) {
        ++want[{c.declaration.direction, c.declaration.lane_class, c.state}];
      }
      EXPECT_EQ(got, want) << "round " << round;
    }
  }
}

// The committed audit trail and its text are kept in blocks of 2 MiB (16,384 records a block);
// records on both sides of several block boundaries, and text longer than a block's eighth, read
// back as written and verify.
TEST(MemoryStoreAuditTrailTest, RecordsReadBackAcrossBlocks) {
  MemoryStore store;
  constexpr int kRecords = 40000;
  constexpr int kPerBatch = 1000;
  std::vector<std::string> hashes;
  for (int first = 0; first < kRecords; first += kPerBatch) {
    Status written = store.Write([&](WriteTxn& txn) -> Status {
      for (int i = first; i < first + kPerBatch; ++i) {
        AuditDraft draft;
        draft.actor_id = "U-1";
        draft.actor_role = "customs_officer";
        draft.subject_type = "crossing";
        draft.subject_id = fmt::format("CR-{}", i % 7);
        draft.action = "assess";
        // Mostly short bodies; now and then one of 300 KiB (more than a block's eighth).
        draft.body = i % 9973 == 5 ? std::string(300 << 10, 'x') : fmt::format("{{\"n\":{}}}", i);
        auto r = txn.AppendAudit(draft);
        if (!r) return r.error();
        hashes.push_back(r->hash);
      }
      return {};
    });
    ASSERT_TRUE(written) << written.error().ToString();
  }
  auto head = store.AuditHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, kRecords);

  int64_t seen = 0;
  auto verified = VerifyAuditChain([&](int64_t after) -> Result<std::vector<AuditRecord>> {
    auto page = store.ReadAudit(after, 10000);
    if (page) {
      for (const AuditRecord& r : *page) {
        if (r.seq < 1 || r.seq > kRecords) continue;
        const int i = static_cast<int>(r.seq - 1);
        EXPECT_EQ(r.hash, hashes[static_cast<size_t>(i)]) << "record " << r.seq;
        EXPECT_EQ(r.subject_id, fmt::format("CR-{}", i % 7));
        EXPECT_EQ(r.body.size(),
                  i % 9973 == 5 ? size_t{300 << 10} : fmt::format("{{\"n\":{}}}", i).size());
        ++seen;
      }
    }
    return page;
  });
  ASSERT_TRUE(verified) << verified.error().ToString();
  EXPECT_TRUE(verified->ok) << verified->reason;
  EXPECT_EQ(verified->records, kRecords);
  EXPECT_EQ(seen, kRecords);
  EXPECT_EQ(verified->head_hash, hashes.back());

  // A subject's records are chained through the trail, across the blocks.
  auto subject = store.ListAuditFor("crossing", "CR-3", kRecords);
  ASSERT_TRUE(subject) << subject.error().ToString();
  ASSERT_EQ(subject->size(), size_t{kRecords / 7});
  for (size_t k = 0; k < subject->size(); ++k) {
    EXPECT_EQ((*subject)[k].seq, static_cast<int64_t>(3 + 7 * k + 1));
    EXPECT_EQ((*subject)[k].hash, hashes[3 + 7 * k]);
  }
}

// A subject's records are linked when a reader lists them (not as they are committed): lists
// read between commits, over subjects seen before and after the last read, with a failed
// function's records left out, must be every committed record of the subject in order.
TEST(MemoryStoreAuditTrailTest, SubjectListsFollowEveryCommitBetweenReads) {
  MemoryStore store;
  std::map<std::string, std::vector<int64_t>> expected;  // subject id -> seqs
  std::mt19937 random(11);
  int64_t seq = 0;
  for (int round = 0; round < 40; ++round) {
    const int batches = static_cast<int>(random() % 4);
    for (int b = 0; b < batches; ++b) {
      const int records = 1 + static_cast<int>(random() % 6);
      const bool fail = random() % 5 == 0;  // rolled back: its records are not committed
      std::vector<std::string> subjects;
      for (int i = 0; i < records; ++i) {
        subjects.push_back(fmt::format("CR-{}", random() % 9));
      }
      std::vector<Status> statuses =
          store.WriteBatch(std::vector<TxnFn>{[&](WriteTxn& txn) -> Status {
            for (const std::string& id : subjects) {
              AuditDraft draft;
              draft.actor_id = "U-1";
              draft.actor_role = "customs_officer";
              draft.subject_type = "crossing";
              draft.subject_id = id;
              draft.action = "assess";
              draft.body = "{}";
              auto r = txn.AppendAudit(draft);
              if (!r) return r.error();
            }
            if (fail) return Conflict("test_failure", "rolled back");
            return {};
          }});
      ASSERT_EQ(statuses.size(), 1u);
      ASSERT_EQ(static_cast<bool>(statuses[0]), !fail);
      if (fail) continue;
      for (const std::string& id : subjects) expected[id].push_back(++seq);
    }
    // Read a few subjects (one never written), some twice.
    for (int r = 0; r < 3; ++r) {
      const std::string id = fmt::format("CR-{}", random() % 10);
      const int limit = random() % 3 == 0 ? 2 : 1000;
      auto listed = store.ListAuditFor("crossing", id, limit);
      ASSERT_TRUE(listed) << listed.error().ToString();
      const std::vector<int64_t>& want = expected[id];
      ASSERT_EQ(listed->size(), std::min(want.size(), static_cast<size_t>(limit)))
          << id << " in round " << round;
      for (size_t k = 0; k < listed->size(); ++k) {
        EXPECT_EQ((*listed)[k].seq, want[k]) << id << " in round " << round;
        EXPECT_EQ((*listed)[k].subject_id, id);
      }
    }
  }
  auto head = store.AuditHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(*head, seq);
  EXPECT_TRUE(store.ListAuditFor("lane", "CR-1", 1000)->empty());  // another subject type
}

// Without its records, the chain is the same: the same seqs and hashes as a store that keeps
// them, across batches and a rolled-back function, and the next record links to the kept head.
// Reading the records is refused with a clear error rather than answered empty. Without the
// chain either (the twin's store), the records get the same seqs and no hashes.
TEST(MemoryStoreAuditTrailTest, ChainOnlyStoreChainsAsAStoreThatKeepsTheRecords) {
  MemoryStore kept;
  MemoryStore chain_only(MemoryStoreOptions{.keep_audit_records = false});
  MemoryStore numbered_only(
      MemoryStoreOptions{.keep_audit_records = false, .chain_audit_records = false});
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<std::string> hashes[3];
    std::vector<int64_t> seqs[3];
    int store_index = 0;
    for (MemoryStore* store : {&kept, &chain_only, &numbered_only}) {
      std::vector<Status> statuses = store->WriteBatch(
          std::vector<TxnFn>{[&](WriteTxn& txn) -> Status {
                               for (int i = 0; i < 3; ++i) {
                                 AuditDraft draft;
                                 draft.actor_id = "U-1";
                                 draft.actor_role = "customs_officer";
                                 draft.subject_type = "crossing";
                                 draft.subject_id = fmt::format("CR-{}", i);
                                 draft.action = "assess";
                                 draft.body = fmt::format("{{\"batch\":{},\"i\":{}}}", batch, i);
                                 auto r = txn.AppendAudit(draft);
                                 if (!r) return r.error();
                                 hashes[store_index].push_back(r->hash + r->prev_hash);
                                 seqs[store_index].push_back(r->seq);
                               }
                               return {};
                             },
                             [&](WriteTxn& txn) -> Status {  // rolled back: takes no seq
                               AuditDraft draft;
                               draft.action = "assess";
                               auto r = txn.AppendAudit(draft);
                               if (!r) return r.error();
                               return Conflict("test_failure", "rolled back");
                             }});
      ASSERT_EQ(statuses.size(), 2u);
      EXPECT_TRUE(statuses[0]);
      EXPECT_FALSE(statuses[1]);
      ++store_index;
    }
    EXPECT_EQ(hashes[0], hashes[1]) << "batch " << batch;
    EXPECT_EQ(hashes[2], std::vector<std::string>(3)) << "batch " << batch;
    EXPECT_EQ(seqs[0], seqs[1]) << "batch " << batch;
    EXPECT_EQ(seqs[0], seqs[2]) << "batch " << batch;
    EXPECT_EQ(*chain_only.AuditHead(), *kept.AuditHead());
    EXPECT_EQ(*numbered_only.AuditHead(), *kept.AuditHead());
  }
  EXPECT_EQ(*chain_only.AuditHead(), 15);
  EXPECT_EQ(*numbered_only.AuditHead(), 15);

  auto read = chain_only.ReadAudit(0, 100);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, "audit_not_kept");
  EXPECT_EQ(read.error().kind, ErrorKind::kUnavailable);
  auto listed = chain_only.ListAuditFor("crossing", "CR-1", 100);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, "audit_not_kept");
  EXPECT_EQ(numbered_only.ReadAudit(0, 100).error().code, "audit_not_kept");
  // The store that keeps its records verifies, and its head is the chain-only store's head.
  auto verified = VerifyAuditChain([&](int64_t after) { return kept.ReadAudit(after, 100); });
  ASSERT_TRUE(verified) << verified.error().ToString();
  EXPECT_TRUE(verified->ok) << verified->reason;
}

// A store that drops finished crossings (the twin's) against one that keeps them, after the same
// random changes: every list by a state that is not finished is the same, across folds of the
// state indexes (crossings dropped after being folded, and while a change waits for the next
// fold); every read or change of a dropped crossing answers `crossing_not_kept`, its id stays
// taken, and lists that would have held dropped crossings, and counts, are refused.
TEST(MemoryStoreFinishedCrossingsTest, DroppedCrossingsAreRefusedAndListsStayExact) {
  MemoryStore kept;
  MemoryStore dropping(MemoryStoreOptions{.keep_finished_crossings = false});
  constexpr CrossingState kLive[] = {CrossingState::kDeclared, CrossingState::kAssessed,
                                     CrossingState::kInYard, CrossingState::kCalled};
  constexpr CrossingState kFinished[] = {CrossingState::kCrossed, CrossingState::kCancelled,
                                         CrossingState::kRefused, CrossingState::kReceived};
  std::map<std::string, Crossing> expected;  // by id, as written
  std::mt19937 random(11);
  int next_id = 0;
  // One batch of `n` changes: new crossings (some finished in the same batch), live ones moved
  // on (some to a finished state), written alike to both stores.
  auto batch = [&](int n) {
    std::vector<Crossing> writes;
    std::map<std::string, Crossing> in_batch;
    for (int k = 0; k < n; ++k) {
      const bool add = expected.empty() || random() % 3 == 0;
      Crossing c;
      if (add) {
        CrossingSpec spec;
        spec.id = fmt::format("CR-{:04d}", next_id);
        spec.plate = fmt::format("12C-{:03d}.{:02d}", next_id / 100, next_id % 100);
        spec.company = fmt::format("CO-{}", next_id % 3);
        spec.direction = next_id % 2 == 0 ? "cn_to_vn" : "vn_to_cn";
        ++next_id;
        c = MakeCrossing(spec);
        c.version = 1;
      } else {
        auto it = std::next(expected.begin(), static_cast<long>(random() % expected.size()));
        auto newer = in_batch.find(it->first);
        c = newer != in_batch.end() ? newer->second : it->second;
        bool finished = false;
        for (CrossingState f : kFinished) finished = finished || c.state == f;
        if (finished) continue;  // never changed again
        ++c.version;
      }
      c.state = random() % 4 == 0 ? kFinished[random() % 4] : kLive[random() % 4];
      in_batch[c.id] = c;
      writes.push_back(std::move(c));
    }
    for (MemoryStore* store : {&kept, &dropping}) {
      Status written = store->Write([&](WriteTxn& txn) -> Status {
        for (const Crossing& c : writes) {
          Status s =
              c.version == 1 ? txn.InsertCrossing(c, "") : txn.UpdateCrossing(c, "", c.version - 1);
          if (!s) return s;
        }
        return {};
      });
      ASSERT_TRUE(written) << written.error().ToString();
    }
    for (auto& [id, c] : in_batch) expected[id] = std::move(c);
  };
  auto list_ids = [](MemoryStore& store, CrossingFilter filter) {
    std::vector<std::string> ids;
    filter.limit = 7;  // several pages
    while (true) {
      auto page = store.ListCrossings(filter);
      EXPECT_TRUE(page) << page.error().ToString();
      if (!page) return ids;
      for (const Crossing& c : page->items) ids.push_back(c.id);
      if (page->next_cursor.empty()) return ids;
      filter.after = page->next_cursor;
    }
  };
  for (int round = 0; round < 40; ++round) {
    batch(static_cast<int>(random() % 12));
    if (round % 3 == 2) continue;  // some changes wait for the next fold across batches
    for (CrossingState state : kLive) {
      CrossingFilter filter;
      filter.state = state;
      EXPECT_EQ(list_ids(dropping, filter), list_ids(kept, filter))
          << "round " << round << ", state " << CrossingStateName(state);
      filter.company_id = "CO-1";
      EXPECT_EQ(list_ids(dropping, filter), list_ids(kept, filter))
          << "round " << round << ", state " << CrossingStateName(state) << ", company";
    }
  }

  int dropped = 0;
  for (const auto& [id, c] : expected) {
    bool finished = false;
    for (CrossingState f : kFinished) finished = finished || c.state == f;
    auto got = dropping.GetCrossing(id);
    if (!finished) {
      ASSERT_TRUE(got && *got) << id;
      EXPECT_EQ((*got)->version, c.version);
      continue;
    }
    ++dropped;
    ASSERT_FALSE(got) << id;
    EXPECT_EQ(got.error().code, "crossing_not_kept");
    EXPECT_EQ(got.error().kind, ErrorKind::kUnavailable);
    Status in_txn = dropping.Write([&](WriteTxn& txn) -> Status {
      auto read = txn.GetCrossing(id);
      EXPECT_FALSE(read);
      if (!read) {
        EXPECT_EQ(read.error().code, "crossing_not_kept");
      }
      Crossing next = c;
      ++next.version;
      Status updated = txn.UpdateCrossing(next, "", c.version);
      EXPECT_FALSE(updated);
      if (!updated) {
        EXPECT_EQ(updated.error().code, "crossing_not_kept");
      }
      Status inserted = txn.InsertCrossing(c, "");
      EXPECT_FALSE(inserted);
      if (!inserted) {
        EXPECT_EQ(inserted.error().code, "crossing_exists");
      }
      return {};
    });
    EXPECT_TRUE(in_txn);
  }
  EXPECT_GT(dropped, 10);
  auto unknown = dropping.GetCrossing("CR-9999");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown) << "an id never written is still simply not found";

  for (std::optional<CrossingState> state :
       {std::optional<CrossingState>(), std::optional(CrossingState::kCrossed),
        std::optional(CrossingState::kCancelled)}) {
    CrossingFilter filter;
    filter.state = state;
    auto page = dropping.ListCrossings(filter);
    ASSERT_FALSE(page);
    EXPECT_EQ(page.error().code, "crossings_not_kept");
  }
  auto counts = dropping.CountCrossings();
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().code, "crossings_not_kept");
}

// Thousands of dropped ids (the set that keeps them grows many times over): each one is still
// refused as "crossing_exists" and read as "crossing_not_kept", and ids never written are simply
// not found.
TEST(MemoryStoreFinishedCrossingsTest, EveryDroppedIdStaysTakenAsTheirSetGrows) {
  MemoryStore dropping(MemoryStoreOptions{.keep_finished_crossings = false});
  constexpr int kCrossings = 5000;
  constexpr int kPerBatch = 250;
  for (int first = 0; first < kCrossings; first += kPerBatch) {
    Status written = dropping.Write([&](WriteTxn& txn) -> Status {
      for (int i = first; i < first + kPerBatch; ++i) {
        Crossing c = MakeCrossing(fmt::format("CR-DROP-{:05d}", i));
        c.version = 1;
        c.state = i % 2 == 0 ? CrossingState::kCrossed : CrossingState::kCancelled;
        BF_TRY(txn.InsertCrossing(c, ""));
      }
      return {};
    });
    ASSERT_TRUE(written) << written.error().ToString();
  }
  Status checked = dropping.Write([&](WriteTxn& txn) -> Status {
    for (int i = 0; i < kCrossings; ++i) {
      const std::string id = fmt::format("CR-DROP-{:05d}", i);
      Crossing again = MakeCrossing(id);
      again.version = 1;
      Status inserted = txn.InsertCrossing(again, "");
      EXPECT_FALSE(inserted) << id;
      if (!inserted) {
        EXPECT_EQ(inserted.error().code, "crossing_exists") << id;
      }
      auto shared = txn.GetSharedCrossing(id);
      EXPECT_FALSE(shared) << id;
      if (!shared) {
        EXPECT_EQ(shared.error().code, "crossing_not_kept") << id;
      }
      auto never = txn.GetSharedCrossing(fmt::format("CR-LIVE-{:05d}", i));
      EXPECT_TRUE(never && *never == nullptr) << "never written: " << i;
    }
    return {};
  });
  EXPECT_TRUE(checked);
  auto read = dropping.GetCrossing("CR-DROP-04999");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, "crossing_not_kept");
}

// A write transaction hands out the very version it holds (the engine's shared version), not a
// copy: the one inserted, later in its batch and after it committed.
TEST(MemoryStoreSharedCrossingTest, TheTransactionHandsOutTheVersionItHolds) {
  MemoryStore store;
  auto inserted = std::make_shared<const Crossing>([] {
    Crossing c = MakeCrossing("CR-SHARED-1");
    c.version = 1;
    return c;
  }());
  Status written = store.Write([&](WriteTxn& txn) -> Status {
    BF_TRY(txn.InsertSharedCrossing(inserted, ""));
    BF_ASSIGN_OR_RETURN(SharedCrossing same, txn.GetSharedCrossing("CR-SHARED-1"));
    EXPECT_EQ(same, inserted);
    return {};
  });
  ASSERT_TRUE(written) << written.error().ToString();
  Status read = store.Write([&](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(SharedCrossing committed, txn.GetSharedCrossing("CR-SHARED-1"));
    EXPECT_EQ(committed, inserted);
    BF_ASSIGN_OR_RETURN(SharedCrossing none, txn.GetSharedCrossing("CR-NONE"));
    EXPECT_EQ(none, nullptr);
    return {};
  });
  EXPECT_TRUE(read) << read.error().ToString();
}

}  // namespace
}  // namespace borderflow
