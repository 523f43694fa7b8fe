#pragma once

// The engine writer's cache of committed crossings: a bounded map from crossing id to its last
// committed version, least recently used out first. A miss is never wrong (the writer reads the
// crossing from the store); the bound keeps a season's crossings from filling memory.
//
// Not thread-safe: used only inside Engine::CommitBatch.

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include <borderflow/engine/shared_crossing.h>

namespace borderflow {

class CrossingCache {
 public:
  // At most `capacity` crossings; 0 keeps none.
  explicit CrossingCache(size_t capacity) : capacity_(capacity) {}

  // The cached crossing, or null; a hit makes it the most recently used.
  SharedCrossing Find(std::string_view id);
  // Caches `crossing` (replacing an older version) as the most recently used, evicting the
  // least recently used one when full.
  void Put(SharedCrossing crossing);
  void Put(Crossing crossing) { Put(std::make_shared<const Crossing>(std::move(crossing))); }
  void Erase(std::string_view id);
  void Clear();

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  using Entries = std::list<SharedCrossing>;  // most recently used first, never null

  size_t capacity_;
  Entries entries_;
  // Keyed by views of the ids of the crossings in `entries_` (which never change).
  std::unordered_map<std::string_view, Entries::iterator> index_;
};

}  // namespace borderflow
