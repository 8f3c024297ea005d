// The OpenMetrics text itself: exact lines for one device, label escaping,
// canonical floats, family order and "# EOF" last.
#include "supervisor/metrics/openmetrics_text.h"

#include <gtest/gtest.h>

namespace uldd::supervisor::metrics {
namespace {

DeviceSnapshot disk() {
  DeviceSnapshot d;
  d.name = "disk0";
  d.kind = "disk";
  d.state = "serving";
  d.driver_pid = 1234;
  d.restarts = 3;
  d.restarts_warm = 2;
  d.restarts_cold = 1;
  d.faults_by_cause = {{"crashed", 2}, {"hung", 1}};
  d.downtime.add(400);
  d.downtime.add(1500);
  d.downtime.add(30'000);
  d.io = {{"reads", 10}, {"read_bytes", 40960}, {"requests_open", 2}};
  return d;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(OpenMetricsTextTest, OneDevice) {
  std::string t = render_openmetrics({disk()});
  const std::string l = "device=\"disk0\",kind=\"disk\"";
  EXPECT_TRUE(has_line(t, "# TYPE uldd_device_state stateset"));
  EXPECT_TRUE(has_line(t, "uldd_device_state{" + l + ",uldd_device_state=\"serving\"} 1"));
  EXPECT_TRUE(has_line(t, "uldd_device_state{" + l + ",uldd_device_state=\"failed\"} 0"));
  EXPECT_TRUE(has_line(t, "uldd_driver_up{" + l + "} 1"));
  EXPECT_TRUE(has_line(t, "uldd_restarts_total{" + l + ",mode=\"warm\"} 2"));
  EXPECT_TRUE(has_line(t, "uldd_restarts_total{" + l + ",mode=\"cold\"} 1"));
  EXPECT_TRUE(has_line(t, "uldd_faults_total{" + l + ",cause=\"crashed\"} 2"));
  EXPECT_TRUE(has_line(t, "uldd_faults_total{" + l + ",cause=\"operator\"} 0"));
  EXPECT_TRUE(has_line(t, "# TYPE uldd_recovery_downtime_seconds histogram"));
  EXPECT_TRUE(has_line(t, "# UNIT uldd_recovery_downtime_seconds seconds"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_bucket{" + l + ",le=\"0.0005\"} 1"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_bucket{" + l + ",le=\"0.002\"} 2"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_bucket{" + l + ",le=\"0.05\"} 3"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_bucket{" + l + ",le=\"10.0\"} 3"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_bucket{" + l + ",le=\"+Inf\"} 3"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_count{" + l + "} 3"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_seconds_sum{" + l + "} 0.0319"));
  EXPECT_TRUE(has_line(t, "uldd_recovery_downtime_max_seconds{" + l + "} 0.03"));
  EXPECT_TRUE(has_line(t, "# TYPE uldd_io_reads counter"));
  EXPECT_TRUE(has_line(t, "uldd_io_reads_total{" + l + "} 10"));
  EXPECT_TRUE(has_line(t, "# UNIT uldd_io_read_bytes bytes"));
  EXPECT_TRUE(has_line(t, "uldd_io_read_bytes_total{" + l + "} 40960"));
  EXPECT_TRUE(has_line(t, "# TYPE uldd_io_requests_open gauge"));
  EXPECT_TRUE(has_line(t, "uldd_io_requests_open{" + l + "} 2"));
  EXPECT_TRUE(t.ends_with("\n# EOF\n"));
  EXPECT_EQ(t.find("# EOF"), t.size() - 6);
}

TEST(OpenMetricsTextTest, FamiliesAreContiguousAcrossDevices) {
  DeviceSnapshot nic;
  nic.name = "nic0";
  nic.kind = "nic";
  nic.state = "recovering";
  nic.io = {{"rx_frames", 5}, {"rx_buffers_posted", 256}};
  std::string t = render_openmetrics({disk(), nic});
  // Both devices' driver_up samples right after the one TYPE line.
  size_t type = t.find("# TYPE uldd_driver_up gauge\n");
  ASSERT_NE(type, std::string::npos);
  EXPECT_EQ(t.find("# TYPE uldd_driver_up", type + 1), std::string::npos);
  size_t a = t.find("uldd_driver_up{device=\"disk0\"");
  size_t b = t.find("uldd_driver_up{device=\"nic0\",kind=\"nic\"} 0");
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(b, t.find("\n# ", a));  // in the same block as disk0's
  EXPECT_TRUE(has_line(t, "# TYPE uldd_io_rx_buffers_posted gauge"));
  EXPECT_TRUE(has_line(
      t, "uldd_device_state{device=\"nic0\",kind=\"nic\",uldd_device_state=\"recovering\"} 1"));
}

TEST(OpenMetricsTextTest, LabelValuesAreEscaped) {
  DeviceSnapshot d;
  d.name = "we\"ird\\na\nme";
  d.kind = "disk";
  d.state = "serving";
  std::string t = render_openmetrics({d});
  EXPECT_NE(t.find("uldd_driver_up{device=\"we\\\"ird\\\\na\\nme\",kind=\"disk\"} 0"),
            std::string::npos)
      << t;
}

TEST(OpenMetricsTextTest, CanonicalFloats) {
  EXPECT_EQ(openmetrics_float(0.0005), "0.0005");
  EXPECT_EQ(openmetrics_float(1.0), "1.0");
  EXPECT_EQ(openmetrics_float(10.0), "10.0");
  EXPECT_EQ(openmetrics_float(0.0), "0.0");
  EXPECT_EQ(openmetrics_float(0.0319), "0.0319");
}

TEST(OpenMetricsTextTest, NoDevicesIsJustEof) {
  EXPECT_EQ(render_openmetrics({}), "# EOF\n");
}

}  // namespace
}  // namespace uldd::supervisor::metrics
