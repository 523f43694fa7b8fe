#pragma once

// Names the calling thread for `top -H`, `ps -L`, perf and debuggers ("bf-writer", "bf-http-0").

#include <string_view>

namespace borderflow {

// Linux keeps at most 15 bytes of a thread name; longer names are cut.
void NameThisThread(std::string_view name);

}  // namespace borderflow
