#include "crossing_cache.h"

#include <utility>

namespace borderflow {

SharedCrossing CrossingCache::Find(std::string_view id) {
  auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  entries_.splice(entries_.begin(), entries_, it->second);
  return *it->second;
}

void CrossingCache::Put(SharedCrossing crossing) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(crossing->id); it != index_.end()) {
    // The new version's id has the same characters but its own buffer: key the entry again,
    // in the same node (no allocation).
    auto node = index_.extract(it);
    Entries::iterator entry = node.mapped();
    *entry = std::move(crossing);
    entries_.splice(entries_.begin(), entries_, entry);
    node.key() = (*entry)->id;
    index_.insert(std::move(node));
    return;
  }
  if (index_.size() >= capacity_) {
    index_.erase(entries_.back()->id);
    entries_.pop_back();
  }
  entries_.push_front(std::move(crossing));
  index_.emplace(entries_.front()->id, entries_.begin());
}

void CrossingCache::Erase(std::string_view id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  Entries::iterator entry = it->second;
  index_.erase(it);  // before the entry its key views
  entries_.erase(entry);
}

void CrossingCache::Clear() {
  index_.clear();
  entries_.clear();
}

}  // namespace borderflow
