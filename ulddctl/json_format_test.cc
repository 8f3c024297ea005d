#include "ulddctl/json_format.h"

#include <gtest/gtest.h>

#include "ulddctl/test_fixtures.h"

namespace uldd::ctl {
namespace {

using json = nlohmann::ordered_json;

TEST(JsonFormatTest, Iso8601) {
  EXPECT_EQ(iso8601_utc(testing::kFaultTimeUs), "2024-05-01T12:00:00.123456Z");
}

TEST(JsonFormatTest, ListIsAnArrayOfRows) {
  const json list = device_list_json(testing::two_rows());
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0],
            json::parse(R"({"device":"disk0","kind":"disk","state":"serving","driver_pid":4242,
      "restarts":3,"faults":3,"last_fault":"crashed: killed by signal 9","last_downtime_us":12000})"));
  EXPECT_EQ(list[1]["driver_pid"], 0);
  EXPECT_EQ(device_list_json({}), json::array());
}

TEST(JsonFormatTest, DeviceWithHistogram) {
  const json d = device_json(testing::recovered_disk(), true);
  EXPECT_EQ(d["device"], "disk0");
  EXPECT_EQ(d["driver_pid"], 4242);
  EXPECT_EQ(d["standby_pid"], 0);
  EXPECT_EQ(d["model_pid"], 4200);
  EXPECT_EQ(d["restarts_warm"], 2);
  EXPECT_EQ(d["faults"], 3);
  EXPECT_EQ(d["faults_by_cause"], json::parse(R"({"crashed":2,"hung":0,"operator":1})"));
  EXPECT_EQ(d["last_fault_timestamp_us"], testing::kFaultTimeUs);
  EXPECT_EQ(d["downtime"]["last_us"], 12000);
  EXPECT_EQ(d["downtime"]["max_us"], 12000);
  EXPECT_EQ(d["downtime"]["total_us"], 14300);
  EXPECT_EQ(d["downtime"]["recoveries"], 3);
  const json& histogram = d["downtime"]["histogram"];
  ASSERT_EQ(histogram.size(), supervisor::kDowntimeBucketsUs.size() + 1);
  EXPECT_EQ(histogram[1],
            json::parse(R"({"le_us":1000,"count":1})"));  // cumulative, as OpenMetrics
  EXPECT_EQ(histogram[2], json::parse(R"({"le_us":2000,"count":2})"));
  EXPECT_EQ(histogram.back(), json::parse(R"({"le_us":"+Inf","count":3})"));
  EXPECT_EQ(d["io"], json::parse(R"({"reads":120,"writes":30})"));
}

TEST(JsonFormatTest, HistogramNullWhenUnknown) {
  EXPECT_TRUE(device_json(testing::recovered_disk(), false)["downtime"]["histogram"].is_null());
}

TEST(JsonFormatTest, EventsCarryTheirSignalsFields) {
  BusEvent recovered;
  recovered.kind = BusEvent::Kind::kRecovered;
  recovered.received_realtime_us = testing::kFaultTimeUs;
  recovered.device = "disk0";
  recovered.cause = "crashed";
  recovered.mode = "cold";
  recovered.standby = true;
  recovered.old_pid = 10;
  recovered.new_pid = 11;
  recovered.downtime_us = 1500;
  recovered.detect_to_serving_us = 900;
  recovered.resent = 4;
  EXPECT_EQ(event_json(recovered),
            json::parse(R"({"time":"2024-05-01T12:00:00.123456Z","time_us":1714564800123456,
      "signal":"Recovered","device":"disk0","cause":"crashed","mode":"cold","standby":true,"old_pid":10,
      "new_pid":11,"detect_to_serving_us":900,"downtime_us":1500,"resent":4})"));

  BusEvent changed;
  changed.device = "nic0";
  changed.old_state = "serving";
  changed.new_state = "stopped";
  const json c = event_json(changed);
  EXPECT_EQ(c["signal"], "DeviceStateChanged");
  EXPECT_EQ(c["new_state"], "stopped");
  EXPECT_FALSE(c.contains("cause"));
}

TEST(JsonFormatTest, DumpReplacesInvalidUtf8AndCanBeOneLine) {
  BusEvent injected;
  injected.kind = BusEvent::Kind::kFaultInjected;
  injected.device = "disk0";
  injected.detail = "bad \xff byte";
  const std::string line = dump_json(event_json(injected), -1);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("bad \xEF\xBF\xBD byte"), std::string::npos) << line;
}

TEST(JsonFormatTest, SupervisorObject) {
  EXPECT_EQ(supervisor_json({"0.1.0", "running", "debug"}),
            json::parse(R"({"version":"0.1.0","state":"running","log_level":"debug"})"));
}

}  // namespace
}  // namespace uldd::ctl
