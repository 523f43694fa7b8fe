#pragma once

// Internal to bf_core: the bytes of data/hs/hs2022.csv, compiled into the binary by hs_data.cpp.

#include <string_view>

namespace borderflow::internal {

// The embedded HS 2022 CSV (UTF-8, header `section,hscode,description,parent,level`).
std::string_view EmbeddedHs2022Csv();
// The embedded everyday names (data/hs/names.csv, header `hscode,vi,zh,en`).
std::string_view EmbeddedHsNamesCsv();

}  // namespace borderflow::internal
