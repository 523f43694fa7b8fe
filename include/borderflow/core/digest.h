#pragma once

#include <string>
#include <string_view>

namespace borderflow {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

}  // namespace borderflow
