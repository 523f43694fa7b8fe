#pragma once

// The heap of a program in transparent huge pages, for programs that only grow it (the digital
// twin's in-memory store keeps every crossing and audit record of a season).
//
// On the development VM every fresh 4 KiB page the heap touches costs a page fault of several
// microseconds (a paravirtualised guest); a 90-day season of the twin grows the heap by more than
// a gigabyte. Linux's default `transparent_hugepage=madvise` gives 2 MiB pages only to memory
// advised with MADV_HUGEPAGE, which the allocator never asks for.

#include <cstddef>

namespace borderflow {

// An address range reserved once (not committed: MAP_NORESERVE, touched pages only) and advised
// MADV_HUGEPAGE, handed out from its start and never given back. Not thread-safe: the caller
// locks (tcmalloc calls its system allocator under its page heap lock).
class HugePageRange {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;  // x86-64's; also the range's alignment

  // Reserves `bytes` of address space (rounded up to huge pages) on first use.
  explicit HugePageRange(size_t bytes);
  ~HugePageRange();
  HugePageRange(const HugePageRange&) = delete;
  HugePageRange& operator=(const HugePageRange&) = delete;

  // `size` bytes aligned to `alignment` (a power of two; at least pointer-aligned), or null when
  // the range is used up or could not be reserved. Memory stays until the range is destroyed.
  void* Take(size_t size, size_t alignment);

  // Bytes handed out so far (with alignment padding).
  size_t used() const { return static_cast<size_t>(next_ - begin_); }

 private:
  bool Reserve();

  size_t bytes_;
  void* mapping_ = nullptr;  // as mmap returned it
  size_t mapping_size_ = 0;
  char* begin_ = nullptr;  // the first huge-page boundary in the mapping
  char* next_ = nullptr;
  char* end_ = nullptr;
  bool failed_ = false;
};

// Makes the program's allocator take the memory it grows by from a HugePageRange from now on,
// when the program was linked with an allocator that allows it (tcmalloc: see
// src/core/tcmalloc_huge_pages.cpp, added to each program by `borderflow_program()` in
// CMakeLists.txt). Returns whether it did; false in programs on another allocator and in the test
// binaries. Memory already taken stays as it is. Call it early, before other threads allocate;
// calls after the first return the first's answer.
bool UseHugePagesForHeap();

// For the program's allocator glue: what UseHugePagesForHeap() calls (once). Set during static
// initialisation.
using HeapHugePagesInstaller = bool (*)();
void SetHeapHugePagesInstaller(HeapHugePagesInstaller installer);

}  // namespace borderflow
