#pragma once

// The JSON form of declarations and crossings: the API body, the stored document and the audit
// record all use it, so there is one codec.

#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <borderflow/core/hs_code.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing.h>

namespace borderflow {

// Limits on declared content (bounded input).
inline constexpr size_t kMaxLinesPerCrossing = 200;

// Decodes and validates a declaration body: plates (Vietnamese or Chinese), container number
// (ISO 6346), HS codes (HS 2022), quantities and weights in range, ISO country and currency
// codes, timestamps with zones, string lengths. Unknown fields are refused. Every error names
// the field path ("lines[1].hs_code").
Result<Declaration> DecodeDeclaration(const boost::json::value& body, const HsNomenclature& hs);

// The declaration as a body that DecodeDeclaration accepts (the pre-arrival notice to the
// counterpart carries it): DecodeDeclaration(EncodeDeclaration(d)) == d.
boost::json::object EncodeDeclaration(const Declaration& d);

// Decodes and validates a driver object {name, document_number, nationality, phone?}.
Result<Driver> DecodeDriver(const JsonObjectReader& driver);

// The full crossing document. When `local` is given, timestamps also appear in that local time
// ("created_at_local": "2026-11-29T08:00:00+07:00").
boost::json::object EncodeCrossing(const Crossing& c,
                                   std::optional<UtcOffset> local = std::nullopt);
// The same document as compact JSON text (what ToJsonText(EncodeCrossing(c, local)) gives),
// written directly: the engine stores and audits this on every change of a crossing.
std::string EncodeCrossingText(const Crossing& c, std::optional<UtcOffset> local = std::nullopt);

// Reads a document written by EncodeCrossing (the stored form).
Result<Crossing> DecodeCrossing(const boost::json::value& doc, const HsNomenclature& hs);

}  // namespace borderflow
