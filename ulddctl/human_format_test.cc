#include "ulddctl/human_format.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include "ulddctl/test_fixtures.h"

namespace uldd::ctl {
namespace {

using testing::kFaultTimeUs;

class HumanFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

TEST_F(HumanFormatTest, Durations) {
  EXPECT_EQ(human_duration(0), "0us");
  EXPECT_EQ(human_duration(0, true), "-");
  EXPECT_EQ(human_duration(850), "850us");
  EXPECT_EQ(human_duration(1'500), "1.5ms");
  EXPECT_EQ(human_duration(12'345), "12.3ms");
  EXPECT_EQ(human_duration(999'999), "1s");
  EXPECT_EQ(human_duration(1'250'000), "1.25s");
  EXPECT_EQ(human_duration(123'000'000), "2min 3s");
}

TEST_F(HumanFormatTest, Timestamp) {
  EXPECT_EQ(human_timestamp(kFaultTimeUs), "2024-05-01 12:00:00.123 UTC");
}

TEST_F(HumanFormatTest, DeviceList) {
  EXPECT_EQ(format_device_list(testing::two_rows(), true),
            "DEVICE  KIND  STATE        PID  RESTARTS  FAULTS  LAST-DOWNTIME\n"
            "disk0   disk  serving     4242         3       3           12ms\n"
            "nic0    nic   recovering     -         0       1              -\n"
            "\n"
            "2 devices listed.\n");
  EXPECT_EQ(format_device_list(testing::two_rows(), false),
            "disk0  disk  serving     4242  3  3  12ms\n"
            "nic0   nic   recovering     -  0  1     -\n");
  EXPECT_EQ(format_device_list({}, true),
            "DEVICE  KIND  STATE  PID  RESTARTS  FAULTS  LAST-DOWNTIME\n\n0 devices listed.\n");
}

TEST_F(HumanFormatTest, SupervisorStatus) {
  EXPECT_EQ(format_supervisor_status({"0.1.0", "degraded", "info"}, testing::two_rows(), false),
            "● uldd-supervisor 0.1.0: degraded\n"
            "  Log level: info\n"
            "    Devices: 2 (1 recovering, 1 serving)\n"
            "\n"
            "disk0  disk  serving     4242  3  3  12ms\n"
            "nic0   nic   recovering     -  0  1     -\n");
}

TEST_F(HumanFormatTest, DeviceStatusWithHistogram) {
  auto disk = testing::recovered_disk();
  EXPECT_EQ(
      format_device_status(disk, true, kFaultTimeUs + 65'000'000),
      "● disk0 (disk): serving\n"
      "        Mode: isolated\n"
      "      Driver: /usr/lib/uldd/uldd-nvme-driver (pid 4242)\n"
      "     Standby: none\n"
      "       Model: pid 4200\n"
      "      Policy: default\n"
      "    Restarts: 3 (warm 2, cold 1; warm refused 1; standby promotions 0; requests resent 7)\n"
      "      Faults: 3 (crashed 2, operator 1)\n"
      "  Last fault: crashed: killed by signal 9\n"
      "              at 2024-05-01 12:00:00.123 UTC (1min 5s ago)\n"
      "    Downtime: last 12ms, max 12ms, total 14.3ms in 3 recoveries\n"
      "   Histogram: <=500us 0, <=1ms 1, <=2ms 1, <=5ms 0, <=10ms 0, <=20ms 1, <=50ms 0, <=100ms "
      "0, "
      "<=1s 0, <=10s 0, >10s 0\n"
      "         I/O: reads 120, writes 30\n");
}

TEST_F(HumanFormatTest, FreshDeviceWithoutHistogram) {
  supervisor::DeviceSnapshot nic;
  nic.name = "nic0";
  nic.kind = "nic";
  nic.state = "stopped";
  nic.mode = "colocated";
  nic.driver = "e1000";
  nic.policy = "nic";
  const std::string text = format_device_status(nic, false, kFaultTimeUs);
  EXPECT_NE(text.find("      Driver: e1000 (not running)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      Faults: 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Last fault: none\n"), std::string::npos) << text;
  EXPECT_NE(text.find("in 0 recoveries\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("Histogram"), std::string::npos) << text;
  EXPECT_NE(text.find("         I/O: -\n"), std::string::npos) << text;
}

TEST_F(HumanFormatTest, EventLines) {
  BusEvent changed;
  changed.received_realtime_us = kFaultTimeUs;
  changed.device = "disk0";
  changed.old_state = "serving";
  changed.new_state = "recovering";
  EXPECT_EQ(
      format_event_line(changed),
      "2024-05-01 12:00:00.123 UTC disk0 DeviceStateChanged: serving -> recovering (driver pid -)");

  BusEvent recovered;
  recovered.kind = BusEvent::Kind::kRecovered;
  recovered.received_realtime_us = kFaultTimeUs;
  recovered.device = "disk0";
  recovered.cause = "crashed";
  recovered.mode = "warm";
  recovered.old_pid = 10;
  recovered.new_pid = 11;
  recovered.downtime_us = 1'500;
  recovered.detect_to_serving_us = 900;
  recovered.resent = 4;
  EXPECT_EQ(format_event_line(recovered),
            "2024-05-01 12:00:00.123 UTC disk0 Recovered: warm after crashed, pid 10 -> 11, "
            "downtime 1.5ms, "
            "detect-to-serving 900us, 4 resent");

  BusEvent injected;
  injected.kind = BusEvent::Kind::kFaultInjected;
  injected.received_realtime_us = kFaultTimeUs;
  injected.device = "nic0";
  injected.fault = "sigkill";
  injected.detail = "SIGKILL sent to pid 11";
  EXPECT_EQ(format_event_line(injected),
            "2024-05-01 12:00:00.123 UTC nic0 FaultInjected: sigkill: SIGKILL sent to pid 11");
}

}  // namespace
}  // namespace uldd::ctl
