#include "ulddctl/table.h"

#include <gtest/gtest.h>

namespace uldd::ctl {
namespace {

Table two_columns() {
  Table table({{"NAME", Table::Align::kLeft}, {"COUNT", Table::Align::kRight}});
  table.add_row({"disk0", "7"});
  table.add_row({"nic10", "12345"});
  return table;
}

TEST(TableTest, PadsToWidestCellAndAlignsNumbersRight) {
  EXPECT_EQ(two_columns().render(true),
            "NAME   COUNT\n"
            "disk0      7\n"
            "nic10  12345\n");
}

TEST(TableTest, NoLegendLeavesOutHeaderAndItsWidth) {
  Table table({{"A-LONG-HEADER", Table::Align::kLeft}, {"B", Table::Align::kLeft}});
  table.add_row({"x", "y"});
  EXPECT_EQ(table.render(false), "x  y\n");
}

TEST(TableTest, NoTrailingBlanksAndMissingCellsEmpty) {
  Table table({{"A", Table::Align::kLeft}, {"B", Table::Align::kLeft}, {"C", Table::Align::kLeft}});
  table.add_row({"long-value"});
  table.add_row({"v", "w", ""});
  EXPECT_EQ(table.render(true),
            "A           B  C\n"
            "long-value\n"
            "v           w\n");
}

TEST(TableTest, EmptyWithoutLegendIsEmpty) {
  Table table({{"A", Table::Align::kLeft}});
  EXPECT_EQ(table.render(false), "");
  EXPECT_EQ(table.render(true), "A\n");
}

}  // namespace
}  // namespace uldd::ctl
