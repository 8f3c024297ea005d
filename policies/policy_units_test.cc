// Tests of the unit spellings in policy files: durations, sizes, percentages.
#include "policies/policy_units.h"

#include <gtest/gtest.h>

namespace uldd::policies {
namespace {

using std::chrono::milliseconds;

std::string duration_error(std::string_view text) {
  std::string why;
  auto d = parse_duration(text, &why);
  return d ? "parsed" : why;
}

TEST(PolicyUnitsTest, DurationsInEveryUnit) {
  std::string why;
  EXPECT_EQ(parse_duration("0ms", &why), milliseconds(0));
  EXPECT_EQ(parse_duration("250ms", &why), milliseconds(250));
  EXPECT_EQ(parse_duration("2s", &why), milliseconds(2000));
  EXPECT_EQ(parse_duration("3m", &why), milliseconds(180'000));
  EXPECT_EQ(parse_duration("1h", &why), milliseconds(3'600'000));
}

TEST(PolicyUnitsTest, DurationMistakesSayWhat) {
  EXPECT_NE(duration_error("250").find("has no unit (write \"250ms\""), std::string::npos);
  EXPECT_NE(duration_error("1.5s").find("has a fraction"), std::string::npos);
  EXPECT_NE(duration_error("2d").find("unknown unit 'd'"), std::string::npos);
  EXPECT_NE(duration_error("2 s").find("unknown unit ' s'"), std::string::npos);
  EXPECT_NE(duration_error("ms").find("is not a duration"), std::string::npos);
  EXPECT_NE(duration_error("").find("is not a duration"), std::string::npos);
  EXPECT_NE(duration_error("-5ms").find("is not a duration"), std::string::npos);
  EXPECT_NE(duration_error("99999999999999999999ms").find("too long"), std::string::npos);
  EXPECT_NE(duration_error("9999999999h").find("too long"), std::string::npos);
}

TEST(PolicyUnitsTest, FormatPicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(7'200'000)), "2h");
  // Round trip.
  std::string why;
  for (int64_t ms : {1, 999, 1000, 61'000, 3'600'000, 86'400'000}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms)), &why), milliseconds(ms)) << ms;
  }
}

TEST(PolicyUnitsTest, SizesTakeBinaryUnitsOnly) {
  std::string why;
  EXPECT_EQ(parse_size("4096", &why), 4096u);
  EXPECT_EQ(parse_size("64KiB", &why), 64u << 10);
  EXPECT_EQ(parse_size("256 MiB", &why), 256u << 20);
  EXPECT_EQ(parse_size("2GiB", &why), 2ull << 30);
  EXPECT_FALSE(parse_size("256MB", &why));
  EXPECT_NE(why.find("unknown unit 'MB'"), std::string::npos);
  EXPECT_FALSE(parse_size("99999999TiB", &why));
  EXPECT_NE(why.find("too large"), std::string::npos);
}

TEST(PolicyUnitsTest, Percentages) {
  std::string why;
  EXPECT_EQ(parse_percent("50%", &why), 50u);
  EXPECT_EQ(parse_percent("250%", &why), 250u);
  EXPECT_FALSE(parse_percent("50", &why));
  EXPECT_FALSE(parse_percent("50 %", &why));
  EXPECT_FALSE(parse_percent("%", &why));
  EXPECT_NE(why.find("not a percentage"), std::string::npos);
}

}  // namespace
}  // namespace uldd::policies
