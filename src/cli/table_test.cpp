#include "table.h"

#include <sstream>

#include <gtest/gtest.h>

namespace borderflow::cli {
namespace {

std::string Printed(const Table& table) {
  std::ostringstream out;
  table.Print(out);
  return out.str();
}

TEST(Table, ControlCharactersInCellsArePrintedAsQuestionMarks) {
  // Text stored before the API refused control characters, or from the other node: an
  // escape sequence that would clear the screen, a carriage return that would overwrite the
  // line, a bell. None reaches the terminal.
  Table table({"PLATE", "REASON"});
  table.Row({"29C12345", "late\x1b[2J\rcleared\x07"});
  table.Row({"tab\there", "del\x7f"});
  std::string text = Printed(table);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\n' || (u >= 0x20 && u != 0x7F)) << "byte " << int(u) << " in " << text;
  }
  EXPECT_NE(text.find("late?[2J?cleared?"), std::string::npos) << text;
  EXPECT_NE(text.find("tab?here"), std::string::npos) << text;
  EXPECT_NE(text.find("del?"), std::string::npos) << text;
}

TEST(Table, ColumnsLineUpWithWideCharactersAndRightAlignedNumbers) {
  Table table({"PLATE", "TRUCKS"});
  table.Right(1);
  table.Row({"桂F12345", "7"});
  table.Row({"29C12345", "120"});
  EXPECT_EQ(Printed(table),
            "PLATE     TRUCKS\n"
            "桂F12345       7\n"
            "29C12345     120\n");
  EXPECT_EQ(DisplayWidth("桂F12345"), 8u);
  EXPECT_EQ(DisplayWidth("e\xcc\x81"), 1u);  // e + combining acute accent
}

}  // namespace
}  // namespace borderflow::cli
