// Table: the column-aligned text tables ulddctl prints (`list`, `status`),
// in the manner of systemctl: a header row (the "legend", left out with
// --no-legend so that scripts can read rows with `read`), columns padded to
// their widest cell, numbers aligned right, and no trailing blanks.
#pragma once

#include <string>
#include <vector>

namespace uldd::ctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Missing cells print empty; extra cells are dropped.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Every line ends in '\n'; nothing at all when there are no rows and no legend.
  std::string render(bool legend) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace uldd::ctl
