// borderflow simulate's progress bar: fits the terminal, changes only with the percentage.

#include "sim_cli.h"

#include <set>

#include <gtest/gtest.h>

namespace borderflow::cli {
namespace {

TEST(SimProgress, TheLineFitsTheTerminal) {
  const std::string label = "smart · VN-CN/fresh_produce 12 · CN-VN/empty_return 3";
  for (int columns : {10, 20, 30, 45, 80, 200}) {
    for (double f : {0.0, 0.37, 1.0}) {
      std::string line = SimProgressLine(f, 2, 6, label, columns);
      EXPECT_LT(line.size(), static_cast<size_t>(columns)) << columns << ": " << line;
    }
  }
  std::string wide = SimProgressLine(0.5, 1, 3, "fifo · 2 lanes", 120);
  EXPECT_NE(wide.find("[####################....................]"), std::string::npos) << wide;
  EXPECT_NE(wide.find(" 50%  run 1/3 fifo · 2 lanes"), std::string::npos) << wide;
  std::string narrow = SimProgressLine(0.5, 1, 3, "fifo · 2 lanes", 30);
  EXPECT_NE(narrow.find(" 50%  run 1/3"), std::string::npos) << narrow;
}

// The twin reports progress every half percent; each percentage used to be drawn twice.
TEST(SimProgress, OneLinePerPercent) {
  std::set<std::string> lines;
  size_t draws = 0;
  std::string drawn;
  for (int i = 0; i <= 200; ++i) {
    std::string line = SimProgressLine(i / 200.0, 1, 1, "smart", 80);
    if (line == drawn) continue;
    drawn = line;
    ++draws;
    lines.insert(line);
  }
  EXPECT_EQ(draws, lines.size());
  EXPECT_EQ(draws, 101u);
}

}  // namespace
}  // namespace borderflow::cli
