#include "ulddctl/table.h"

#include <algorithm>

namespace uldd::ctl {

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render(bool legend) const {
  std::vector<size_t> widths(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (legend) widths[c] = columns_[c].header.size();
    for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = widths[c] - cells[c].size();
      const bool last = c + 1 == cells.size();
      if (c > 0) out += "  ";
      if (columns_[c].align == Align::kRight) out.append(pad, ' ');
      out += cells[c];
      if (columns_[c].align == Align::kLeft && !last) out.append(pad, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out;
  if (legend) {
    std::vector<std::string> headers;
    for (const auto& column : columns_) headers.push_back(column.header);
    out += line(headers);
  }
  for (const auto& row : rows_) out += line(row);
  return out;
}

}  // namespace uldd::ctl
