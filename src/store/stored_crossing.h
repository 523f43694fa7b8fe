#pragma once

// Decoding of stored crossing documents, shared by the relational stores (internal to
// src/store).

#include <string_view>

#include <borderflow/core/error.h>
#include <borderflow/core/hs_code.h>
#include <borderflow/domain/crossing.h>

namespace borderflow::store {

// Decodes the document stored for crossing `id`. Corrupt data is an error (kInternal
// "stored_data_corrupt" naming the crossing), never a crash: exceptions are caught here.
Result<Crossing> DecodeStoredCrossing(std::string_view id, std::string_view doc,
                                      const HsNomenclature& hs);

// kInternal "stored_data_corrupt" with `message`.
Error Corrupt(std::string message);

}  // namespace borderflow::store
