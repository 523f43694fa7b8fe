#include <atomic>
#include <cstdint>
#include <mutex>

#include <sys/mman.h>

#include <borderflow/core/huge_page_heap.h>

namespace borderflow {

HugePageRange::HugePageRange(size_t bytes)
    : bytes_((bytes + kHugePage - 1) / kHugePage * kHugePage) {}

HugePageRange::~HugePageRange() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

bool HugePageRange::Reserve() {
  if (failed_) return false;
  if (begin_ != nullptr) return true;
  // One huge page more than asked for, so that the range can start on a huge-page boundary.
  mapping_size_ = bytes_ + kHugePage;
  void* p = ::mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    failed_ = true;
    mapping_size_ = 0;
    return false;
  }
  mapping_ = p;
  const uintptr_t aligned =
      (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
  begin_ = reinterpret_cast<char*>(aligned);
  next_ = begin_;
  end_ = begin_ + bytes_;
#ifdef MADV_HUGEPAGE
  // A hint: refused (EINVAL without THP support), the range is used as ordinary pages.
  (void)::madvise(begin_, bytes_, MADV_HUGEPAGE);
#endif
  return true;
}

void* HugePageRange::Take(size_t size, size_t alignment) {
  if (alignment < alignof(void*)) alignment = alignof(void*);
  if ((alignment & (alignment - 1)) != 0 || !Reserve()) return nullptr;
  const uintptr_t at =
      (reinterpret_cast<uintptr_t>(next_) + alignment - 1) & ~uintptr_t{alignment - 1};
  const uintptr_t end = reinterpret_cast<uintptr_t>(end_);
  if (at > end || size > end - at) return nullptr;
  next_ = reinterpret_cast<char*>(at + size);
  return reinterpret_cast<void*>(at);
}

namespace {
std::atomic<HeapHugePagesInstaller> installer{nullptr};
}  // namespace

void SetHeapHugePagesInstaller(HeapHugePagesInstaller fn) { installer.store(fn); }

bool UseHugePagesForHeap() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    HeapHugePagesInstaller fn = installer.load();
    installed = fn != nullptr && fn();
  });
  return installed;
}

}  // namespace borderflow
