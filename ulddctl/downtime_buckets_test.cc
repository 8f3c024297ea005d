#include "ulddctl/downtime_buckets.h"

#include <gtest/gtest.h>

namespace uldd::ctl {
namespace {

TEST(DowntimeBucketsTest, ReadsSecondsBucketsOfOneDevice) {
  const std::string text =
      "# TYPE uldd_recovery_downtime_seconds histogram\n"
      "uldd_recovery_downtime_seconds_bucket{device=\"disk0\",le=\"0.0005\"} 1\n"
      "uldd_recovery_downtime_seconds_bucket{device=\"disk0\",le=\"0.001\"} 2\n"
      "uldd_recovery_downtime_seconds_bucket{device=\"disk0\",le=\"10\"} 5\n"
      "uldd_recovery_downtime_seconds_bucket{device=\"disk0\",le=\"+Inf\"} 5\n"
      "uldd_recovery_downtime_seconds_bucket{device=\"disk01\",le=\"0.0005\"} 9\n"
      "uldd_recovery_downtime_seconds_count{device=\"disk0\"} 5\n"
      "uldd_io_reads_total{device=\"disk0\"} 100\n"
      "# EOF\n";
  supervisor::DowntimeHistogram h;
  ASSERT_TRUE(read_downtime_buckets(text, "disk0", &h));
  EXPECT_EQ(h.buckets[0], 1u);
  EXPECT_EQ(h.buckets[1], 2u);
  EXPECT_EQ(h.buckets[2], 0u);  // not in the text
  EXPECT_EQ(h.buckets[9], 5u);
}

TEST(DowntimeBucketsTest, ReadsMicrosecondBucketsWithLabelsInAnyOrder) {
  const std::string text = "uldd_downtime_us_bucket{le=\"2000\",kind=\"nic\",device=\"nic0\"} 3\n";
  supervisor::DowntimeHistogram h;
  ASSERT_TRUE(read_downtime_buckets(text, "nic0", &h));
  EXPECT_EQ(h.buckets[2], 3u);
}

TEST(DowntimeBucketsTest, FalseWhenNothingForTheDevice) {
  supervisor::DowntimeHistogram h;
  EXPECT_FALSE(read_downtime_buckets("", "disk0", &h));
  EXPECT_FALSE(read_downtime_buckets("uldd_x_bucket{device=\"disk0\",le=\"1\"} 1\n", "disk0", &h));
  EXPECT_FALSE(read_downtime_buckets(
      "uldd_downtime_us_bucket{device=\"disk1\",le=\"500\"} 1\nbroken{\n", "disk0", &h));
}

}  // namespace
}  // namespace uldd::ctl
