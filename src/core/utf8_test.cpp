#include <string>

#include <gtest/gtest.h>

#include <borderflow/core/utf8.h>

namespace borderflow {
namespace {

TEST(Utf8Test, ValidUtf8KeepsValidTextAndReplacesEachBadByte) {
  EXPECT_EQ(ValidUtf8(""), "");
  EXPECT_EQ(ValidUtf8("Hữu Nghị 友谊关 🚚"), "Hữu Nghị 友谊关 🚚");
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ValidUtf8("\xc3\x28"), "\xEF\xBF\xBD(");             // truncated sequence
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(ValidUtf8("\xe5\x8f"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // cut at the end
  EXPECT_EQ(ValidUtf8(std::string("x\0y", 3)), std::string("x\0y", 3));          // NUL is valid
}

TEST(Utf8Test, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("CR-01ABC 桂F·12345 Hữu Nghị 🚚"));
  for (const char* bad :
       {"\xff", "a\xc3", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

TEST(Utf8Test, LogQuotedEscapesWhatCouldForgeALogLine) {
  EXPECT_EQ(LogQuoted("VN/crossing:CR-1/3"), "\"VN/crossing:CR-1/3\"");
  EXPECT_EQ(LogQuoted("Hữu Nghị 友谊关"), "\"Hữu Nghị 友谊关\"");
  // A newline and a fake second line; an ANSI escape sequence; quotes and backslashes.
  EXPECT_EQ(LogQuoted("x\n[error] forged\r"), "\"x\\x0A[error] forged\\x0D\"");
  EXPECT_EQ(LogQuoted("\x1B[31mred"), "\"\\x1B[31mred\"");
  EXPECT_EQ(LogQuoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(LogQuoted(std::string("nul\0", 4)), "\"nul\\x00\"");
  // Invalid UTF-8 bytes, C1 controls (U+0085 is a line break to some readers), separators.
  EXPECT_EQ(LogQuoted("\xFF\xC0"), "\"\\xFF\\xC0\"");
  EXPECT_EQ(LogQuoted("\xC2\x85"), "\"\\u{0085}\"");
  EXPECT_EQ(LogQuoted("\xE2\x80\xA8\xE2\x80\xAE"), "\"\\u{2028}\\u{202E}\"");
  // Bounded.
  EXPECT_EQ(LogQuoted(std::string(300, 'a'), 4), "\"aaaa\"...");
  EXPECT_EQ(LogQuoted(""), "\"\"");
}

}  // namespace
}  // namespace borderflow
