#pragma once

#include <string_view>

namespace borderflow {

// Whether `code` is a current ISO 4217 currency code that can value goods ("USD", "CNY", "VND";
// not "XXX", "XTS" or the precious metals).
bool IsIsoCurrency(std::string_view code);

// Whether `code` is an ISO 3166-1 alpha-2 country code ("VN", "CN").
bool IsIsoCountry(std::string_view code);

}  // namespace borderflow
