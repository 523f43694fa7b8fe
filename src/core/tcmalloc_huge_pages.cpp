// tcmalloc's memory in transparent huge pages on request (UseHugePagesForHeap, see
// include/borderflow/core/huge_page_heap.h). Compiled into each program linked with tcmalloc
// (`borderflow_program()` in CMakeLists.txt), not into the libraries or the test binaries.

#include <cstddef>

#include <gperftools/malloc_extension.h>

#include <borderflow/core/huge_page_heap.h>

namespace borderflow {
namespace {

// tcmalloc asks its system allocator for the spans it grows its page heap by, under its page
// heap lock, and never gives them back (it only advises unused ones away). Taken from one
// reserved range in huge pages, falling back to tcmalloc's own allocator when the range is used
// up or could not be reserved.
class HugePageSysAllocator final : public SysAllocator {
 public:
  explicit HugePageSysAllocator(SysAllocator* fallback) : fallback_(fallback) {}

  void* Alloc(size_t size, size_t* actual_size, size_t alignment) override {
    if (void* p = range_.Take(size, alignment)) {
      if (actual_size != nullptr) *actual_size = size;
      return p;
    }
    return fallback_ != nullptr ? fallback_->Alloc(size, actual_size, alignment) : nullptr;
  }

 private:
  // Address space only: pages are committed as they are touched.
  static constexpr size_t kReserve = size_t{64} << 30;
  HugePageRange range_{kReserve};
  SysAllocator* fallback_;
};

bool Install() {
  MallocExtension* tcmalloc = MallocExtension::instance();
  // Never destroyed: tcmalloc may call it until the process ends.
  static auto* allocator = new HugePageSysAllocator(tcmalloc->GetSystemAllocator());
  tcmalloc->SetSystemAllocator(allocator);
  return true;
}

[[maybe_unused]] const bool registered = [] {
  SetHeapHugePagesInstaller(&Install);
  return true;
}();

}  // namespace
}  // namespace borderflow
