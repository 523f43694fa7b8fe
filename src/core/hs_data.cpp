// Embeds data/hs/hs2022.csv into the object file with the assembler's .incbin directive, so the
// server needs no data path at run time. CMake passes the absolute path as BORDERFLOW_HS2022_CSV
// and lists the CSV in OBJECT_DEPENDS so that this file is rebuilt when the data changes (ccache
// does not cache translation units that contain .incbin).

#include "hs_data.h"

#include <cstdint>

#ifndef BORDERFLOW_HS2022_CSV
#error "BORDERFLOW_HS2022_CSV must be defined to the absolute path of data/hs/hs2022.csv"
#endif
#ifndef BORDERFLOW_HS_NAMES_CSV
#error "BORDERFLOW_HS_NAMES_CSV must be defined to the absolute path of data/hs/names.csv"
#endif

// clang-format off
asm(".pushsection .rodata.borderflow_hs2022, \"a\"\n"
    ".balign 8\n"
    ".globl borderflow_hs2022_csv_size\n"
    ".hidden borderflow_hs2022_csv_size\n"
    "borderflow_hs2022_csv_size:\n"
    ".quad borderflow_hs2022_csv_end - borderflow_hs2022_csv_begin\n"
    ".globl borderflow_hs2022_csv_begin\n"
    ".hidden borderflow_hs2022_csv_begin\n"
    "borderflow_hs2022_csv_begin:\n"
    ".incbin \"" BORDERFLOW_HS2022_CSV "\"\n"
    "borderflow_hs2022_csv_end:\n"
    ".byte 0\n"
    ".balign 8\n"
    ".globl borderflow_hs_names_csv_size\n"
    ".hidden borderflow_hs_names_csv_size\n"
    "borderflow_hs_names_csv_size:\n"
    ".quad borderflow_hs_names_csv_end - borderflow_hs_names_csv_begin\n"
    ".globl borderflow_hs_names_csv_begin\n"
    ".hidden borderflow_hs_names_csv_begin\n"
    "borderflow_hs_names_csv_begin:\n"
    ".incbin \"" BORDERFLOW_HS_NAMES_CSV "\"\n"
    "borderflow_hs_names_csv_end:\n"
    ".byte 0\n"
    ".popsection\n");
// clang-format on

extern "C" {
extern const char borderflow_hs2022_csv_begin[];
extern const uint64_t borderflow_hs2022_csv_size;
extern const char borderflow_hs_names_csv_begin[];
extern const uint64_t borderflow_hs_names_csv_size;
}

namespace borderflow::internal {

std::string_view EmbeddedHs2022Csv() {
  return std::string_view(borderflow_hs2022_csv_begin,
                          static_cast<size_t>(borderflow_hs2022_csv_size));
}

std::string_view EmbeddedHsNamesCsv() {
  return std::string_view(borderflow_hs_names_csv_begin,
                          static_cast<size_t>(borderflow_hs_names_csv_size));
}

}  // namespace borderflow::internal
