#pragma once

// UTF-8 helpers for the parsers of outside text (plates, camera reads).

#include <cstddef>
#include <string>
#include <string_view>

namespace borderflow {

// Decodes one UTF-8 code point starting at `pos` (< s.size()). Rejects overlong forms,
// surrogates, truncated sequences and code points above U+10FFFF. On success sets `cp` and
// `len` (1 to 4 bytes).
bool DecodeUtf8(std::string_view s, size_t pos, char32_t& cp, size_t& len);

// Appends the UTF-8 encoding of `cp` (a valid code point).
void AppendUtf8(std::string& out, char32_t cp);

// Whether all of `text` is valid UTF-8 (no overlong forms, surrogates or truncated sequences).
bool IsValidUtf8(std::string_view text);

// `text` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD, for
// outside text echoed into JSON (a path or a query value in an error): JSON must be UTF-8.
std::string ValidUtf8(std::string_view text);

}  // namespace borderflow
