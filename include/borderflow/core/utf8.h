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

// `text` quoted for a log line: in double quotes, with '"' and '\\' escaped, control
// characters (C0, DEL, C1) and bytes of invalid UTF-8 as \xNN (code points U+0080-U+009F
// and the line and paragraph separators as \u{NNNN}), and cut after `max_bytes` input bytes
// (marked with "..."). Outside text (a peer's message id, a path) logged this way cannot
// forge log lines or send escape sequences to a terminal.
std::string LogQuoted(std::string_view text, size_t max_bytes = 256);

}  // namespace borderflow
