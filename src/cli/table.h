#pragma once

// Aligned text tables for the CLI's listings (queue, capacity, bans, tokens).

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace borderflow::cli {

// Terminal columns taken by UTF-8 text: East Asian wide characters take two, combining marks
// none (plates such as 桂F·12345 and the zh lane names line up).
size_t DisplayWidth(std::string_view s);

class Table {
 public:
  explicit Table(std::vector<std::string> header, std::string indent = "")
      : indent_(std::move(indent)), rows_{std::move(header)} {}
  // Right-aligns column `col` (numbers).
  Table& Right(size_t col) {
    right_.push_back(col);
    return *this;
  }
  // Control characters in a cell (a reason typed into another system, a camera's text, data
  // stored before the API refused them) are shown as '?': a table never moves the terminal's
  // cursor or clears its screen.
  void Row(std::vector<std::string> cells);
  bool empty() const { return rows_.size() <= 1; }
  void Print(std::ostream& out) const;

 private:
  std::string indent_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> right_;
};

}  // namespace borderflow::cli
