// read_downtime_buckets against what the supervisor really exposes
// (supervisor/metrics' render_openmetrics), so that a change of the metric's
// name, unit or labels there shows up here instead of as a missing
// histogram in `ulddctl status`.
#include <gtest/gtest.h>

#include "supervisor/metrics/openmetrics_text.h"
#include "ulddctl/downtime_buckets.h"

namespace uldd::ctl {
namespace {

TEST(DowntimeBucketsOpenMetricsTest, ReadsTheSupervisorsExposition) {
  supervisor::DeviceSnapshot disk;
  disk.name = "disk0";
  disk.kind = "disk";
  for (uint64_t us : {300, 700, 4'000, 4'000, 2'000'000}) disk.downtime.add(us);
  supervisor::DeviceSnapshot nic;
  nic.name = "nic0";
  nic.kind = "nic";
  nic.downtime.add(50);

  const std::string text = supervisor::metrics::render_openmetrics({disk, nic});
  supervisor::DowntimeHistogram read;
  ASSERT_TRUE(read_downtime_buckets(text, "disk0", &read)) << text;
  EXPECT_EQ(read.buckets, disk.downtime.buckets);
  supervisor::DowntimeHistogram read_nic;
  ASSERT_TRUE(read_downtime_buckets(text, "nic0", &read_nic));
  EXPECT_EQ(read_nic.buckets, nic.downtime.buckets);
}

}  // namespace
}  // namespace uldd::ctl
