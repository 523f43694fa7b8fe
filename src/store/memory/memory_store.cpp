#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <sys/mman.h>

#include <borderflow/core/assert.h>
#include <borderflow/store/memory_store.h>

#include "../write_function.h"

// MemoryStore: committed data lives in `Committed`, published only under an exclusive lock;
// readers take the lock shared and copy out what they return.
//
// Savepoints without an undo log: a batch never touches the committed data while its functions
// run. Each function writes into its own empty `Layer` (the savepoint); lookups inside the
// transaction read the function's layer, then the batch's layer, then the committed data, so a
// function sees its own writes and those of the earlier successful functions of its batch. When
// the function succeeds its layer is folded into the batch's layer (RELEASE); when it fails or
// throws its layer is dropped (ROLLBACK TO). After the last function the batch's layer is
// published at once (COMMIT), so a reader sees all of a batch or none of it. Everything a
// function can write (crossings, audit records, idempotency records, records, users, tokens)
// goes through the layers, so a failed function leaves no trace of any kind.

namespace borderflow {

namespace {

constexpr int kMaxCrossingPage = 200;  // as SqliteStore
constexpr int kMaxAuditPage = 10000;

template <class V>
using ByName = std::map<std::string, V, std::less<>>;

// Hashed by name, looked up by std::string_view without a temporary string: for the committed
// crossings, which only answer point lookups and grow with every declaration, where a tree's
// string comparisons grow with its depth.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using HashByName = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

// A crossing id in an index. It views the key of its crossing in Committed::crossings (whose
// nodes live as long as the store: crossings are never deleted) and keeps the id's first bytes
// itself, so that a search down the tree compares within its nodes instead of reading each
// crossing's key elsewhere in memory (every id the engine makes, "CR-" and 14 characters, fits).
struct IndexedId {
  static constexpr size_t kHead = 24;

  explicit IndexedId(std::string_view crossing_id) : id(crossing_id) {
    if (!id.empty()) std::memcpy(head.data(), id.data(), std::min(id.size(), kHead));
  }

  // The order of the ids as strings: heads padded with zero bytes order as their ids do, except
  // that an id and the same id followed by zero bytes tie; the whole ids decide ties.
  bool operator<(const IndexedId& other) const {
    const int c = std::memcmp(head.data(), other.head.data(), kHead);
    return c != 0 ? c < 0 : id < other.id;
  }

  std::array<char, kHead> head{};
  std::string_view id;
};

// Crossing ids in ascending order.
using IdSet = std::set<IndexedId>;

template <class Map, class K>
const typename Map::mapped_type* Find(const Map& map, const K& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

template <class Map>
const typename Map::mapped_type::mapped_type* FindIn(const Map& map, std::string_view outer,
                                                     std::string_view inner) {
  auto it = map.find(outer);
  return it == map.end() ? nullptr : Find(it->second, inner);
}

// Writes every entry of `above` over `below` (the newer value wins) and empties `above`.
template <class V>
void Overlay(ByName<V>& below, ByName<V>& above) {
  if (below.empty()) {
    below.swap(above);
    return;
  }
  for (auto& [key, value] : above) below.insert_or_assign(key, std::move(value));
  above.clear();
}

template <class V>
void OverlayNested(ByName<ByName<V>>& below, ByName<ByName<V>>& above) {
  if (below.empty()) {
    below.swap(above);
    return;
  }
  for (auto& [key, inner] : above) Overlay(below[key], inner);
  above.clear();
}

// A crossing as the engine wrote it: the engine's shared version when it gives one
// (InsertSharedCrossing, UpdateSharedCrossing), so that a change is not copied once more here.
// Its JSON document is not kept: nothing reads it back from this store (reads return the
// Crossing itself, see memory_store.h), and a season of the twin would otherwise copy and keep
// one document per command.
struct CommittedCrossing;
struct StoredCrossing {
  SharedCrossing crossing;  // never null
  // Its entry in Committed::crossings when it was committed before this batch (entries never
  // move nor go), so that publishing does not look it up again; null for a new crossing.
  const std::pair<const std::string, CommittedCrossing>* committed = nullptr;
};

// The tables that the write transaction reads, the same shape in a layer and committed.
struct Tables {
  ByName<UserRecord> users;      // by id
  ByName<std::string> user_ids;  // name -> id
  ByName<TokenRecord> tokens;    // by id
};

// Uncommitted changes: of one function (a savepoint) or of the successful functions of a batch.
struct Layer : Tables {
  ByName<StoredCrossing> crossings;               // by id
  ByName<ByName<IdempotencyRecord>> idempotency;  // scope -> key -> record
  // Ascending seq, without gaps; of a store that keeps no trail, only each record's seq and
  // hash (see MemoryWriteTxn::AppendAudit).
  std::vector<AuditRecord> audit;
  ByName<ByName<std::optional<StoredRecord>>> records;  // kind -> id -> record; nullopt: deleted

  // Moves `top` over this layer and leaves `top` empty.
  void Absorb(Layer& top) {
    Overlay(crossings, top.crossings);
    OverlayNested(idempotency, top.idempotency);
    if (audit.empty()) {
      audit.swap(top.audit);
    } else {
      std::move(top.audit.begin(), top.audit.end(), std::back_inserter(audit));
      top.audit.clear();
    }
    Overlay(users, top.users);
    Overlay(user_ids, top.user_ids);
    Overlay(tokens, top.tokens);
    OverlayNested(records, top.records);
  }

  void Clear() { *this = Layer(); }
};

// Memory that only grows for as long as the store lives (the audit trail's text and records)
// comes in blocks of one transparent huge page where the kernel gives them on request (Linux's
// MADV_HUGEPAGE; the default `transparent_hugepage=madvise` gives them only then). Filled a
// little at a time, fresh 4 KiB pages took a page fault every few records: about 5% of the CPU
// time of a 90-day season of the twin, in the kernel, on the development VM.
constexpr size_t kHugeBlockSize = size_t{2} << 20;  // x86-64's huge page; also the alignment

struct FreeHugeBlock {
  void operator()(char* block) const {
    ::operator delete (block, kHugeBlockSize, std::align_val_t{kHugeBlockSize});
  }
};
using HugeBlock = std::unique_ptr<char, FreeHugeBlock>;

HugeBlock NewHugeBlock() {
  HugeBlock block(
      static_cast<char*>(::operator new (kHugeBlockSize, std::align_val_t{kHugeBlockSize})));
#ifdef MADV_HUGEPAGE
  // A hint: refused (EINVAL without THP support), the block is used as ordinary pages.
  (void)::madvise(block.get(), kHugeBlockSize, MADV_HUGEPAGE);
#endif
  return block;
}

// Immutable text kept as long as the store, in large blocks. A season of the twin commits
// millions of audit bodies, hashes and idempotent responses; as separate strings each cost an
// allocation to make and a free to destroy (destroying the store of a 90-day season took
// seconds), and small allocations scatter what one record needs over many cache lines.
class TextArena {
 public:
  TextArena() = default;
  TextArena(const TextArena&) = delete;
  TextArena& operator=(const TextArena&) = delete;

  // A copy of `text` that stays where it is until the arena is destroyed.
  std::string_view Keep(std::string_view text) {
    if (text.empty()) return {};
    if (text.size() > kBlockSize / 8) {  // large: a block of its own, the current one goes on
      large_.push_back(std::make_unique_for_overwrite<char[]>(text.size()));
      std::memcpy(large_.back().get(), text.data(), text.size());
      return {large_.back().get(), text.size()};
    }
    if (left_ < text.size()) {
      blocks_.push_back(NewHugeBlock());
      next_ = blocks_.back().get();
      left_ = kBlockSize;
    }
    std::memcpy(next_, text.data(), text.size());
    std::string_view kept(next_, text.size());
    next_ += text.size();
    left_ -= text.size();
    return kept;
  }

 private:
  static constexpr size_t kBlockSize = kHugeBlockSize;
  std::vector<HugeBlock> blocks_;
  std::vector<std::unique_ptr<char[]>> large_;
  char* next_ = nullptr;
  size_t left_ = 0;
};

// Two names as one hash key (an audit subject's type and id; an idempotency key's scope and
// key). The committed tables key by views of their arena; lookups by any views. The hash is
// computed once, when the pair is made: the tables grow by millions of entries in a season, and
// every rehash would otherwise hash every key again.
struct NamePair {
  NamePair(std::string_view first_name, std::string_view second_name)
      : first(first_name), second(second_name) {
    const size_t h = std::hash<std::string_view>{}(first);
    hash =
        h ^ (std::hash<std::string_view>{}(second) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
  bool operator==(const NamePair& other) const {
    return hash == other.hash && first == other.first && second == other.second;
  }

  std::string_view first;
  std::string_view second;
  size_t hash = 0;
};
struct NamePairHash {
  size_t operator()(const NamePair& p) const noexcept { return p.hash; }
};

// A committed audit record: its text in the arena. Its prev_hash is the hash of the record
// before it (kGenesisHash for the first), as ChainNext made it.
struct KeptAudit {
  static constexpr size_t kNone = SIZE_MAX;
  Timestamp at;
  std::string_view actor_id;
  std::string_view actor_role;
  std::string_view subject_type;
  std::string_view subject_id;
  std::string_view action;
  std::string_view body;
  std::string_view hash;
  // The index of the subject's next record, if any; linked by Committed::FoldAuditSubjects
  // (under its lock) once both records are committed.
  mutable size_t next_of_subject = kNone;
};

static_assert(std::is_trivially_destructible_v<KeptAudit>);

// The committed audit records in order (index i holds seq i + 1), in huge-page blocks that never
// move (a std::deque allocated one 512-byte node per four records).
class KeptAuditTrail {
 public:
  size_t size() const { return size_; }
  const KeptAudit& operator[](size_t i) const { return Chunk(i / kPerBlock)[i % kPerBlock]; }
  KeptAudit& operator[](size_t i) { return Chunk(i / kPerBlock)[i % kPerBlock]; }

  // A new default record at the end.
  KeptAudit& emplace_back() {
    if (size_ == blocks_.size() * kPerBlock) blocks_.push_back(NewHugeBlock());
    KeptAudit* record = new (&Chunk(size_ / kPerBlock)[size_ % kPerBlock]) KeptAudit();
    ++size_;
    return *record;
  }

 private:
  static constexpr size_t kPerBlock = kHugeBlockSize / sizeof(KeptAudit);
  KeptAudit* Chunk(size_t block) const {
    return std::launder(reinterpret_cast<KeptAudit*>(blocks_[block].get()));
  }

  std::vector<HugeBlock> blocks_;
  size_t size_ = 0;
};

// A committed idempotency record: its text in the arena.
struct KeptIdempotency {
  std::string_view fingerprint;
  std::string_view response;
  int status = 0;
  Timestamp created_at;
};

// The indexes of a subject's first and last audit records (the others are linked by
// KeptAudit::next_of_subject).
struct SubjectTrail {
  size_t first = 0;
  size_t last = 0;
};

struct GroupCount {
  CrossingState state;
  int64_t count = 0;
};
// (direction, lane_class, state name): SqliteStore groups and orders by these TEXT columns.
using GroupKey = std::tuple<std::string, std::string, std::string>;
// The same, to look a group up without making its strings (GroupCounts compares transparently).
using GroupName = std::tuple<std::string_view, std::string_view, std::string_view>;
using GroupCounts = std::map<GroupKey, GroupCount, std::less<>>;

GroupName GroupOf(const Crossing& c) {
  return {c.declaration.direction, c.declaration.lane_class, CrossingStateName(c.state)};
}

// A committed crossing, and where the state indexes (Committed::by_state, ::counts) hold it.
// Those two are brought up to date only when read (FoldStateIndexes): nearly every command moves
// a crossing to another state, and the twin, which never reads them, spent 7% of its season
// moving ids between the sets of a tree.
struct CommittedCrossing {
  SharedCrossing crossing;  // never null
  // The group whose count holds the crossing (its state is the by_state set holding its id);
  // null until first folded. Groups are never erased (see Committed::counts), so this stays valid.
  mutable GroupCounts::value_type* indexed = nullptr;
  mutable bool fold_pending = false;  // listed in Committed::state_pending, at pending_index
  mutable size_t pending_index = 0;
};

// A set of names for membership only: the ids of the crossings a store that does not keep
// finished ones has dropped (about 225,000 in a 90-day season of the twin, and every declaration
// looks its new id up). Open addressing in one array, each slot holding the name's hash beside a
// view of it: a lookup reads one slot (and the name itself only when the hashes agree), where a
// std::unordered_set read a bucket and then a node or two scattered over the heap; those misses
// were about 3% of the season. The names are views: what they view must outlive the set.
class NameViewSet {
 public:
  bool contains(std::string_view name) const {
    if (name.empty()) return holds_empty_;
    if (slots_.empty()) return false;
    const size_t hash = std::hash<std::string_view>{}(name);
    for (size_t i = hash & Mask();; i = (i + 1) & Mask()) {
      const Slot& slot = slots_[i];
      if (slot.name.data() == nullptr) return false;
      if (slot.hash == hash && slot.name == name) return true;
    }
  }

  // Adds `name` (a view that must outlive the set) unless it is there.
  void insert(std::string_view name) {
    if (name.empty()) {
      holds_empty_ = true;
      return;
    }
    if ((size_ + 1) * 2 > slots_.size()) Grow();  // at most half full: probes stay short
    const size_t hash = std::hash<std::string_view>{}(name);
    size_t i = hash & Mask();
    for (; slots_[i].name.data() != nullptr; i = (i + 1) & Mask()) {
      if (slots_[i].hash == hash && slots_[i].name == name) return;
    }
    slots_[i] = Slot{hash, name};
    ++size_;
  }

 private:
  struct Slot {
    size_t hash = 0;
    std::string_view name;  // null data: an empty slot
  };

  size_t Mask() const { return slots_.size() - 1; }

  void Place(const Slot& slot) {
    size_t i = slot.hash & Mask();
    while (slots_[i].name.data() != nullptr) i = (i + 1) & Mask();
    slots_[i] = slot;
  }

  void Grow() {
    std::vector<Slot> old = std::exchange(
        slots_, std::vector<Slot>(std::max<size_t>(64, slots_.size() * 2)));  // a power of two
    for (const Slot& slot : old) {
      if (slot.name.data() != nullptr) Place(slot);
    }
  }

  std::vector<Slot> slots_;  // a power of two of them, or none
  size_t size_ = 0;          // of names other than the empty one
  bool holds_empty_ = false;
};

// Crossed, or in a state that takes no further event: what a store that does not keep finished
// crossings drops (MemoryStoreOptions::keep_finished_crossings).
bool IsFinished(CrossingState s) { return s == CrossingState::kCrossed || IsTerminal(s); }

Error CrossingNotKept(std::string_view id) {
  return Error(ErrorKind::kUnavailable, "crossing_not_kept",
               fmt::format("crossing '{}' is finished, and this in-memory store does not keep "
                           "finished crossings (MemoryStoreOptions::keep_finished_crossings)",
                           id.substr(0, 64)));
}

struct Committed : Tables {
  HashByName<CommittedCrossing> crossings;  // by id
  IdSet ids;       // every id of `crossings`, in order (empty unless keep_finished_crossings)
  TextArena text;  // the text of `audit` and `idempotency`
  std::unordered_map<NamePair, KeptIdempotency, NamePairHash> idempotency;  // (scope, key)
  // Ascending seq, without gaps (audit[i].seq == i + 1). Growing never moves the records
  // already there.
  KeptAuditTrail audit;
  // False: `audit` stays empty and only the chain's head is kept (MemoryStoreOptions).
  bool keep_audit_records = true;
  bool chain_audit_records = true;
  int64_t audit_head_seq = 0;                  // the seq of the last record (0: none)
  std::string audit_head_hash = kGenesisHash;  // the hash of the last record
  // Each subject's records (type, id), as of the last FoldAuditSubjects(): the records before
  // `audit_subjects_folded`, linked through KeptAudit::next_of_subject. Read them only after it.
  // Brought up to date when read, as the state indexes are: every command appends a record, and
  // the twin, which never lists a subject's records, spent about 3% of its season inserting
  // into this table.
  mutable std::unordered_map<NamePair, SubjectTrail, NamePairHash> audit_by_subject;
  mutable size_t audit_subjects_folded = 0;
  ByName<ByName<StoredRecord>> records;  // kind -> id

  // Secondary indexes of `crossings` (SqliteStore has the same ones): value -> ids. By company
  // and plate only while keep_finished_crossings.
  HashByName<IdSet> by_company;  // (hashed: only point lookups, never walked in order)
  HashByName<IdSet> by_plate;
  // By state and per group, as of the last FoldStateIndexes(): read them only after it. A
  // group whose count falls to 0 stays (CountCrossings leaves it out, as GROUP BY would).
  mutable std::map<CrossingState, IdSet> by_state;
  mutable GroupCounts counts;
  // Crossings changed since the last fold (views of their keys in `crossings`), each once; an
  // empty view where a crossing was dropped since (see Drop).
  mutable std::vector<std::string_view> state_pending;
  // False: finished crossings are dropped when committed (MemoryStoreOptions), and only their
  // ids are kept, in `dropped` (views of `text`).
  bool keep_finished_crossings = true;
  NameViewSet dropped;
  // Held by a reader that folds (readers share `mu`; only they fold, and the writer, who holds
  // `mu` exclusively to publish, never does).
  mutable std::mutex fold_mu;

  // The audit record at `index` as the store returns it.
  AuditRecord AuditAt(size_t index) const {
    const KeptAudit& kept = audit[index];
    AuditRecord r;
    r.at = kept.at;
    r.actor_id = kept.actor_id;
    r.actor_role = kept.actor_role;
    r.subject_type = kept.subject_type;
    r.subject_id = kept.subject_id;
    r.action = kept.action;
    r.body = kept.body;
    r.seq = static_cast<int64_t>(index) + 1;
    r.prev_hash = index == 0 ? std::string_view(kGenesisHash) : audit[index - 1].hash;
    r.hash = kept.hash;
    return r;
  }

  // Brings by_state and counts up to date with every crossing changed since the last fold. The
  // caller holds `mu` (shared is enough) and `fold_mu`.
  void FoldStateIndexes() const {
    for (std::string_view id : state_pending) {
      if (id.empty()) continue;  // dropped since it changed
      const CommittedCrossing& entry = crossings.find(id)->second;
      entry.fold_pending = false;
      const Crossing& c = *entry.crossing;
      GroupCounts::value_type* old = entry.indexed;
      if (old != nullptr && old->second.state == c.state &&
          std::get<0>(old->first) == c.declaration.direction &&
          std::get<1>(old->first) == c.declaration.lane_class) {
        continue;  // back where it was folded last (or only other fields changed)
      }
      if (old == nullptr || old->second.state != c.state) {
        IdSet::node_type node;  // the id's node, moved from its old set to its new one
        if (old != nullptr) {
          auto set = by_state.find(old->second.state);
          node = set->second.extract(IndexedId(id));
          if (set->second.empty()) by_state.erase(set);
        }
        IdSet& ids_now = by_state[c.state];
        if (node) {
          ids_now.insert(std::move(node));
        } else {
          ids_now.insert(IndexedId(id));
        }
      }
      if (old != nullptr) --old->second.count;
      const GroupName name = GroupOf(c);
      auto group = counts.find(name);
      if (group == counts.end()) {
        group = counts
                    .emplace(GroupKey(std::get<0>(name), std::get<1>(name), std::get<2>(name)),
                             GroupCount{c.state, 0})
                    .first;
      }
      ++group->second.count;
      entry.indexed = &*group;
    }
    state_pending.clear();
  }

  // `id` views the crossing's key in `crossings`. Indexes by company and plate only what
  // differs between `before` and `after` (either may be null: a new crossing has no `before`);
  // the state indexes follow at the next fold.
  void Reindex(std::string_view id, const Crossing* before, const Crossing* after) {
    auto move = [&](auto& index, const auto* old_value, const auto* new_value) {
      if (old_value != nullptr && new_value != nullptr && *old_value == *new_value) return;
      IdSet::node_type node;  // the id's node, moved from its old set to its new one
      if (old_value != nullptr) {
        auto it = index.find(*old_value);
        if (it != index.end()) {
          node = it->second.extract(IndexedId(id));
          if (it->second.empty()) index.erase(it);
        }
      }
      // Ids are mostly time-ordered: a new one usually goes last, where the hint finds it at once.
      if (new_value != nullptr) {
        IdSet& ids = index[*new_value];
        if (node) {
          ids.insert(ids.end(), std::move(node));
        } else {
          ids.insert(ids.end(), IndexedId(id));
        }
      }
    };
    auto company = [](const Crossing* c) { return c ? &c->company_id : nullptr; };
    auto plate = [](const Crossing* c) {
      return c ? &c->declaration.vehicle.plate.canonical : nullptr;
    };
    move(by_company, company(before), company(after));
    move(by_plate, plate(before), plate(after));
  }

  // Links every record appended since the last fold into its subject's list. The caller holds
  // `mu` (shared is enough) and `fold_mu`; only folds write KeptAudit::next_of_subject of records
  // already published (Publish appends records with none), and only readers that hold
  // `fold_mu` read it.
  void FoldAuditSubjects() const {
    for (size_t index = audit_subjects_folded; index < audit.size(); ++index) {
      const KeptAudit& kept = audit[index];
      auto [trail, inserted] = audit_by_subject.try_emplace(
          NamePair{kept.subject_type, kept.subject_id}, SubjectTrail{index, index});
      if (!inserted) {
        audit[trail->second.last].next_of_subject = index;
        trail->second.last = index;
      }
    }
    audit_subjects_folded = audit.size();
  }

  // Appends one record of the chain (its seq is the next one) to the trail; its subject's list
  // follows at the next FoldAuditSubjects().
  void KeepAudit(const AuditRecord& r) {
    BF_ASSERT(r.seq == audit_head_seq + 1, "audit records arrive in seq order");
    audit_head_seq = r.seq;
    audit_head_hash = r.hash;
    if (!keep_audit_records) return;
    KeptAudit& kept = audit.emplace_back();
    kept.at = r.at;
    kept.actor_id = text.Keep(r.actor_id);
    kept.actor_role = text.Keep(r.actor_role);
    kept.subject_type = text.Keep(r.subject_type);
    kept.subject_id = text.Keep(r.subject_id);
    kept.action = text.Keep(r.action);
    kept.body = text.Keep(r.body);
    kept.hash = text.Keep(r.hash);
  }

  // Removes a committed crossing and its entries in the state indexes (the only ones a store
  // that drops crossings keeps); the caller holds the exclusive lock and keeps its id in
  // `dropped`.
  void Drop(std::pair<const std::string, CommittedCrossing>& entry) {
    const std::string_view id = entry.first;  // valid until the erase below
    const CommittedCrossing& c = entry.second;
    if (c.indexed != nullptr) {  // folded once: out of its state's set and its group's count
      auto set = by_state.find(c.indexed->second.state);
      set->second.erase(IndexedId(id));
      if (set->second.empty()) by_state.erase(set);
      --c.indexed->second.count;
    }
    if (c.fold_pending) state_pending[c.pending_index] = {};
    crossings.erase(crossings.find(id));
  }

  // Applies a batch's layer (the caller holds the exclusive lock). Leaves `batch` empty.
  void Publish(Layer& batch) {
    for (auto& [id, entry] : batch.crossings) {
      std::pair<const std::string, CommittedCrossing>* committed = nullptr;
      if (entry.committed != nullptr) {
        // This store's own entry (found by the transaction, which reads it as const).
        committed = const_cast<std::pair<const std::string, CommittedCrossing>*>(entry.committed);
      } else if (auto it = crossings.find(id); it != crossings.end()) {
        committed = &*it;
      }
      if (!keep_finished_crossings && IsFinished(entry.crossing->state)) {
        if (committed != nullptr) Drop(*committed);
        dropped.insert(text.Keep(id));
        continue;
      }
      // A store that drops finished crossings lists only by state (see ListCrossings): it
      // keeps neither `ids` nor the indexes by company and plate.
      if (committed == nullptr) {
        committed = &*crossings.emplace(id, CommittedCrossing{std::move(entry.crossing)}).first;
        if (keep_finished_crossings) {
          ids.insert(ids.end(), IndexedId(committed->first));
          Reindex(committed->first, nullptr, committed->second.crossing.get());
        }
      } else {
        if (keep_finished_crossings) {
          Reindex(committed->first, committed->second.crossing.get(), entry.crossing.get());
        }
        committed->second.crossing = std::move(entry.crossing);
      }
      if (!committed->second.fold_pending) {
        committed->second.fold_pending = true;
        committed->second.pending_index = state_pending.size();
        state_pending.push_back(committed->first);
      }
    }
    batch.crossings.clear();
    for (auto& [scope, keys] : batch.idempotency) {
      for (auto& [key, record] : keys) {
        // PutIdempotency refuses a key that is committed already: each key arrives once.
        idempotency.insert_or_assign(
            NamePair{text.Keep(scope), text.Keep(key)},
            KeptIdempotency{text.Keep(record.fingerprint), text.Keep(record.response),
                            record.status, record.created_at});
      }
    }
    batch.idempotency.clear();
    for (const AuditRecord& r : batch.audit) KeepAudit(r);
    batch.audit.clear();
    for (auto& [kind, changes] : batch.records) {
      auto& table = records[kind];
      for (auto& [id, record] : changes) {
        if (record) {
          table.insert_or_assign(id, std::move(*record));
        } else {
          table.erase(id);
        }
      }
      if (table.empty()) records.erase(kind);
    }
    batch.records.clear();
    Overlay(users, batch.users);
    Overlay(user_ids, batch.user_ids);
    Overlay(tokens, batch.tokens);
  }
};

bool Matches(const CrossingFilter& f, const Crossing& c) {
  return (!f.company_id || c.company_id == *f.company_id) && (!f.state || c.state == *f.state) &&
         (!f.direction || c.declaration.direction == *f.direction) &&
         (!f.lane_class || c.declaration.lane_class == *f.lane_class) &&
         (!f.plate || c.declaration.vehicle.plate.canonical == *f.plate) &&
         (!f.driver_document || c.declaration.driver.document_number == *f.driver_document);
}

// Bound to one batch, inside WriteBatch (so under write_mu). Reads the committed data without
// the shared lock: only the holder of write_mu ever changes it.
class MemoryWriteTxn final : public WriteTxn {
 public:
  MemoryWriteTxn(const Committed& base, Layer& batch, Layer& fn)
      : base_(base), batch_(batch), fn_(fn) {}

  Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view scope,
                                                           std::string_view key) override {
    for (const Layer* layer : {&fn_, &batch_}) {
      if (const IdempotencyRecord* r = FindIn(layer->idempotency, scope, key)) {
        return std::optional<IdempotencyRecord>(*r);
      }
    }
    auto it = base_.idempotency.find(NamePair{scope, key});
    if (it == base_.idempotency.end()) return std::optional<IdempotencyRecord>();
    const KeptIdempotency& kept = it->second;
    return std::optional<IdempotencyRecord>(
        IdempotencyRecord{std::string(scope), std::string(key), std::string(kept.fingerprint),
                          kept.status, std::string(kept.response), kept.created_at});
  }

  Status PutIdempotency(const IdempotencyRecord& r) override {
    if (HasIdempotency(r.scope, r.key)) {
      return Conflict("idempotency_key_exists",
                      fmt::format("idempotency key '{}' is already recorded", r.key));
    }
    fn_.idempotency[r.scope].insert_or_assign(r.key, r);
    return {};
  }

  Result<std::optional<Crossing>> GetCrossing(std::string_view id) override {
    BF_ASSIGN_OR_RETURN(SharedCrossing c, GetSharedCrossing(id));
    if (!c) return std::optional<Crossing>();
    return std::optional<Crossing>(*c);
  }

  Result<SharedCrossing> GetSharedCrossing(std::string_view id) override {
    const SharedCrossing* c = NewestCrossing(id);
    if (!c) {
      if (base_.dropped.contains(id)) return CrossingNotKept(id);
      return SharedCrossing();
    }
    return *c;
  }

  using WriteTxn::InsertCrossing;
  using WriteTxn::UpdateCrossing;

  Status InsertCrossing(const Crossing& c, std::string_view document) override {
    return InsertSharedCrossing(std::make_shared<const Crossing>(c), document);
  }

  Status UpdateCrossing(const Crossing& c, std::string_view document,
                        int64_t expected_version) override {
    return UpdateSharedCrossing(std::make_shared<const Crossing>(c), document, expected_version);
  }

  Status InsertSharedCrossing(const SharedCrossing& shared,
                              std::string_view /*document*/) override {
    const Crossing& c = *shared;
    if (NewestCrossing(c.id) || base_.dropped.contains(c.id)) {
      return Conflict("crossing_exists", fmt::format("crossing '{}' already exists", c.id));
    }
    fn_.crossings.insert_or_assign(c.id, StoredCrossing{shared});
    return {};
  }

  Status UpdateSharedCrossing(const SharedCrossing& shared, std::string_view /*document*/,
                              int64_t expected_version) override {
    const Crossing& c = *shared;
    const std::pair<const std::string, CommittedCrossing>* committed = nullptr;
    const SharedCrossing* stored = NewestCrossing(c.id, &committed);
    if (!stored) {
      if (base_.dropped.contains(c.id)) return CrossingNotKept(c.id);
      return NotFound("crossing_not_found", fmt::format("crossing '{}' does not exist", c.id));
    }
    if ((*stored)->version != expected_version) {
      return Conflict("version_conflict",
                      fmt::format("crossing '{}' was changed concurrently: expected version {}, "
                                  "stored version {}",
                                  c.id, expected_version, (*stored)->version));
    }
    fn_.crossings.insert_or_assign(c.id, StoredCrossing{shared, committed});
    return {};
  }

  // One process only: the store's batch lock is the write lock.
  Result<int64_t> LockAuditHead() override {
    for (const Layer* layer : {&fn_, &batch_}) {
      if (!layer->audit.empty()) return layer->audit.back().seq;
    }
    return base_.audit_head_seq;
  }

  Result<AuditRecord> AppendAudit(const AuditDraft& draft) override {
    const AuditRecord* head = nullptr;
    for (const Layer* layer : {&fn_, &batch_}) {
      if (!layer->audit.empty()) {
        head = &layer->audit.back();
        break;
      }
    }
    AuditRecord record;
    if (!base_.chain_audit_records) {
      // Numbered, not chained (MemoryStoreOptions::chain_audit_records).
      static_cast<AuditDraft&>(record) = draft;
      record.seq = (head != nullptr ? head->seq : base_.audit_head_seq) + 1;
    } else {
      record = head != nullptr ? ChainNext(draft, head->seq, head->hash)
                               : ChainNext(draft, base_.audit_head_seq, base_.audit_head_hash);
    }
    if (base_.keep_audit_records) {
      fn_.audit.push_back(record);
    } else {
      // A trail that is not kept needs of each record only its link in the chain (what the next
      // append and Publish read): copying the rest, its body above all, cost every command.
      AuditRecord& link = fn_.audit.emplace_back();
      link.seq = record.seq;
      link.hash = record.hash;
    }
    return record;
  }

  Status PutRecord(const StoredRecord& r) override {
    fn_.records[r.kind].insert_or_assign(r.id, r);
    return {};
  }

  Status DeleteRecord(std::string_view kind, std::string_view id) override {
    fn_.records[std::string(kind)].insert_or_assign(std::string(id), std::nullopt);
    return {};
  }

  Result<std::optional<StoredRecord>> GetRecord(std::string_view kind,
                                                std::string_view id) override {
    for (const Layer* layer : {&fn_, &batch_}) {
      if (const auto* table = Find(layer->records, kind)) {
        if (const auto* r = Find(*table, id)) return *r;  // a put, or nullopt for a delete
      }
    }
    if (const auto* table = Find(base_.records, kind)) {
      if (const auto* r = Find(*table, id)) return std::optional<StoredRecord>(*r);
    }
    return std::optional<StoredRecord>();
  }

  Status InsertUser(const UserRecord& u) override {
    // Both the id (primary key) and the name (unique) are refused as "user_exists", as SQLite's
    // unique violations are.
    if (Newest([&](const Tables& t) { return Find(t.users, u.id); }) ||
        Newest([&](const Tables& t) { return Find(t.user_ids, u.name); })) {
      return Conflict("user_exists", fmt::format("user '{}' already exists", u.name));
    }
    fn_.users.insert_or_assign(u.id, u);
    fn_.user_ids.insert_or_assign(u.name, u.id);
    return {};
  }

  Result<std::optional<UserRecord>> FindUserByName(std::string_view name) override {
    const std::string* id = Newest([&](const Tables& t) { return Find(t.user_ids, name); });
    if (!id) return std::optional<UserRecord>();
    const UserRecord* u = Newest([&](const Tables& t) { return Find(t.users, *id); });
    if (!u) return Internal(fmt::format("user name '{}' names a missing user '{}'", name, *id));
    return std::optional<UserRecord>(*u);
  }

  Status InsertToken(const TokenRecord& t) override {
    // The primary key before the foreign key, in SQLite's order.
    if (Newest([&](const Tables& s) { return Find(s.tokens, t.id); })) {
      return Conflict("token_exists", fmt::format("token '{}' already exists", t.id));
    }
    if (!Newest([&](const Tables& s) { return Find(s.users, t.user_id); })) {
      return NotFound("user_not_found", fmt::format("user '{}' does not exist", t.user_id));
    }
    fn_.tokens.insert_or_assign(t.id, t);
    return {};
  }

  Status RevokeToken(std::string_view token_id, Timestamp at) override {
    const TokenRecord* stored = Newest([&](const Tables& t) { return Find(t.tokens, token_id); });
    if (!stored) {
      return NotFound("token_not_found", fmt::format("token '{}' does not exist", token_id));
    }
    TokenRecord revoked = *stored;
    if (!revoked.revoked_at) revoked.revoked_at = at;  // a second revocation keeps the first
    fn_.tokens.insert_or_assign(std::string(token_id), std::move(revoked));
    return {};
  }

 private:
  // Newest first: the function's layer, the batch's layer, the committed data.
  std::array<const Tables*, 3> Stack() const { return {&fn_, &batch_, &base_}; }

  // The first entry that `find` returns along the stack, or null.
  template <class FindFn>
  auto Newest(FindFn find) const -> decltype(find(std::declval<const Tables&>())) {
    for (const Tables* t : Stack()) {
      if (auto* found = find(*t)) return found;
    }
    return nullptr;
  }

  // The newest version of crossing `id`, or null; `committed` (if given) gets its committed
  // entry when there is one (see StoredCrossing::committed).
  const SharedCrossing* NewestCrossing(
      std::string_view id,
      const std::pair<const std::string, CommittedCrossing>** committed = nullptr) const {
    for (const Layer* layer : {&fn_, &batch_}) {
      if (const StoredCrossing* c = Find(layer->crossings, id)) {
        if (committed != nullptr) *committed = c->committed;
        return &c->crossing;
      }
    }
    auto it = base_.crossings.find(id);
    if (it == base_.crossings.end()) return nullptr;
    if (committed != nullptr) *committed = &*it;
    return &it->second.crossing;
  }

  bool HasIdempotency(std::string_view scope, std::string_view key) const {
    for (const Layer* layer : {&fn_, &batch_}) {
      if (FindIn(layer->idempotency, scope, key) != nullptr) return true;
    }
    return base_.idempotency.contains(NamePair{scope, key});
  }

  const Committed& base_;
  Layer& batch_;
  Layer& fn_;
};

// A readers-writer lock that lets a waiting writer in before new readers. (std::shared_mutex
// on glibc prefers readers: a few threads reading in a loop keep the writer out for seconds.)
// Usable with std::shared_lock and std::unique_lock.
class WriterFirstMutex {
 public:
  void lock() {
    std::unique_lock lock(mu_);
    ++writers_waiting_;
    cv_.wait(lock, [&] { return !writing_ && readers_ == 0; });
    --writers_waiting_;
    writing_ = true;
  }
  void unlock() {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
    }
    cv_.notify_all();
  }
  void lock_shared() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !writing_ && writers_waiting_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    bool last = false;
    {
      std::lock_guard lock(mu_);
      last = --readers_ == 0;
    }
    if (last) cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int readers_ = 0;
  int writers_waiting_ = 0;
  bool writing_ = false;
};

}  // namespace

// Thread safety: `data` is changed only by the holder of `write_mu`, and then only under `mu`
// held exclusively; readers hold `mu` shared. The writer reads `data` under `write_mu` alone.
struct MemoryStore::Impl {
  std::mutex write_mu;
  WriterFirstMutex mu;
  Committed data;
};

MemoryStore::MemoryStore(MemoryStoreOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->data.keep_audit_records = options.keep_audit_records;
  impl_->data.keep_finished_crossings = options.keep_finished_crossings;
  BF_ASSERT(options.chain_audit_records || !options.keep_audit_records,
            "a kept audit trail is hash-chained");
  impl_->data.chain_audit_records = options.chain_audit_records;
}

namespace {

Error AuditNotKept() {
  return Error(ErrorKind::kUnavailable, "audit_not_kept",
               "this in-memory store keeps only the head of its audit trail's chain "
               "(MemoryStoreOptions::keep_audit_records is false)");
}

Error CrossingsNotKept() {
  return Error(ErrorKind::kUnavailable, "crossings_not_kept",
               "this in-memory store does not keep finished crossings "
               "(MemoryStoreOptions::keep_finished_crossings is false): it lists only by a state "
               "that is not finished, and does not count");
}

}  // namespace

MemoryStore::~MemoryStore() = default;

std::vector<Status> MemoryStore::WriteBatch(std::span<const TxnFn> work) {
  if (work.empty()) return {};
  std::lock_guard write_lock(impl_->write_mu);
  Layer batch;
  Layer fn;
  MemoryWriteTxn txn(impl_->data, batch, fn);
  std::vector<Status> results;
  results.reserve(work.size());
  for (const TxnFn& f : work) {
    Status status = store::RunWriteFunction(f, txn);
    if (status) {
      batch.Absorb(fn);  // RELEASE
    } else {
      fn.Clear();  // ROLLBACK TO
    }
    results.push_back(std::move(status));
  }
  std::unique_lock lock(impl_->mu);  // COMMIT
  impl_->data.Publish(batch);
  return results;
}

Result<std::optional<Crossing>> MemoryStore::GetCrossing(std::string_view id) {
  std::shared_lock lock(impl_->mu);
  const CommittedCrossing* c = Find(impl_->data.crossings, id);
  if (!c) {
    if (impl_->data.dropped.contains(id)) return CrossingNotKept(id);
    return std::optional<Crossing>();
  }
  return std::optional<Crossing>(*c->crossing);
}

Result<CrossingPage> MemoryStore::ListCrossings(const CrossingFilter& filter) {
  // Exact only for a state that no dropped crossing is in (a dropped one never changes again).
  if (!impl_->data.keep_finished_crossings && (!filter.state || IsFinished(*filter.state))) {
    return CrossingsNotKept();
  }
  const size_t limit = static_cast<size_t>(std::clamp(filter.limit, 1, kMaxCrossingPage));
  std::shared_lock lock(impl_->mu);
  const Committed& data = impl_->data;
  // Like SQLite's planner, walk the narrowest index at hand (ids ascend in each), else all.
  const IdSet* ids = &data.ids;
  // Held while a state's set is walked: another reader's fold would change it.
  std::unique_lock state_fold(data.fold_mu, std::defer_lock);
  // (A store that drops finished crossings keeps only the state indexes, and lists only by a
  // state: checked above.)
  if (filter.plate && data.keep_finished_crossings) {
    ids = Find(data.by_plate, *filter.plate);
  } else if (filter.company_id && data.keep_finished_crossings) {
    ids = Find(data.by_company, *filter.company_id);
  } else if (filter.state) {
    state_fold.lock();
    data.FoldStateIndexes();
    auto it = data.by_state.find(*filter.state);
    ids = it == data.by_state.end() ? nullptr : &it->second;
  }

  std::vector<const Crossing*> hits;  // one more than a page tells whether another follows
  if (ids) {
    for (auto it = ids->upper_bound(IndexedId(filter.after)); it != ids->end(); ++it) {
      const Crossing& c = *data.crossings.find(it->id)->second.crossing;
      if (Matches(filter, c)) hits.push_back(&c);
      if (hits.size() > limit) break;
    }
  }

  CrossingPage page;
  const size_t n = std::min(hits.size(), limit);
  page.items.reserve(n);
  for (size_t i = 0; i < n; ++i) page.items.push_back(*hits[i]);
  if (hits.size() > limit) page.next_cursor = page.items.back().id;
  return page;
}

Result<std::vector<CrossingCount>> MemoryStore::CountCrossings() {
  if (!impl_->data.keep_finished_crossings) return CrossingsNotKept();
  std::shared_lock lock(impl_->mu);
  std::vector<CrossingCount> out;
  std::lock_guard fold(impl_->data.fold_mu);
  impl_->data.FoldStateIndexes();
  out.reserve(impl_->data.counts.size());
  for (const auto& [key, group] : impl_->data.counts) {
    if (group.count == 0) continue;  // as GROUP BY
    out.push_back(CrossingCount{std::get<0>(key), std::get<1>(key), group.state, group.count});
  }
  return out;
}

Result<std::vector<AuditRecord>> MemoryStore::ListAuditFor(std::string_view subject_type,
                                                           std::string_view subject_id, int limit) {
  if (!impl_->data.keep_audit_records) return AuditNotKept();
  std::vector<AuditRecord> out;
  if (limit <= 0) return out;
  std::shared_lock lock(impl_->mu);
  const Committed& data = impl_->data;
  // Held while the subject's list is walked: another reader's fold links records into it.
  std::lock_guard fold(data.fold_mu);
  data.FoldAuditSubjects();
  auto trail = data.audit_by_subject.find(NamePair{subject_type, subject_id});
  if (trail == data.audit_by_subject.end()) return out;
  const auto n = static_cast<size_t>(std::min(limit, kMaxAuditPage));
  for (size_t i = trail->second.first; i != KeptAudit::kNone && out.size() < n;
       i = data.audit[i].next_of_subject) {
    out.push_back(data.AuditAt(i));
  }
  return out;
}

Result<int64_t> MemoryStore::AuditHead() {
  std::shared_lock lock(impl_->mu);
  return impl_->data.audit_head_seq;
}

Result<std::vector<AuditRecord>> MemoryStore::ReadAudit(int64_t after_seq, int limit) {
  if (!impl_->data.keep_audit_records) return AuditNotKept();
  std::vector<AuditRecord> out;
  if (limit <= 0) return out;
  std::shared_lock lock(impl_->mu);
  const Committed& data = impl_->data;
  // audit[i].seq == i + 1, so the records after `after_seq` start at index `after_seq`.
  const size_t begin = static_cast<size_t>(
      std::clamp<int64_t>(after_seq, 0, static_cast<int64_t>(data.audit.size())));
  const size_t end =
      std::min(data.audit.size(), begin + static_cast<size_t>(std::min(limit, kMaxAuditPage)));
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) out.push_back(data.AuditAt(i));
  return out;
}

Result<std::vector<StoredRecord>> MemoryStore::ListRecords(std::string_view kind) {
  std::vector<StoredRecord> out;
  std::shared_lock lock(impl_->mu);
  const ByName<StoredRecord>* table = Find(impl_->data.records, kind);
  if (!table) return out;
  out.reserve(table->size());
  for (const auto& [id, record] : *table) out.push_back(record);
  return out;
}

Result<std::optional<UserRecord>> MemoryStore::FindUserById(std::string_view id) {
  std::shared_lock lock(impl_->mu);
  const UserRecord* u = Find(impl_->data.users, id);
  if (!u) return std::optional<UserRecord>();
  return std::optional<UserRecord>(*u);
}

Result<std::vector<UserRecord>> MemoryStore::ListUsers() {
  std::shared_lock lock(impl_->mu);
  std::vector<UserRecord> out;
  out.reserve(impl_->data.users.size());
  for (const auto& [name, id] : impl_->data.user_ids) out.push_back(impl_->data.users.at(id));
  return out;
}

Result<std::optional<TokenRecord>> MemoryStore::FindToken(std::string_view token_id) {
  std::shared_lock lock(impl_->mu);
  const TokenRecord* t = Find(impl_->data.tokens, token_id);
  if (!t) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(*t);
}

Result<std::vector<TokenRecord>> MemoryStore::ListTokens(std::string_view user_id) {
  std::shared_lock lock(impl_->mu);
  std::vector<TokenRecord> out;
  for (const auto& [id, t] : impl_->data.tokens) {
    if (user_id.empty() || t.user_id == user_id) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const TokenRecord& a, const TokenRecord& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

Status MemoryStore::Ping() { return {}; }

}  // namespace borderflow
