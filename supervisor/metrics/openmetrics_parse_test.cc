// The exposition read back by a real OpenMetrics parser: prometheus_client's
// (Debian python3-prometheus-client) through parse_openmetrics.py, which
// rejects anything the format does not allow (a family split in two, a
// histogram without +Inf or with unsorted buckets, a counter sample without
// _total, a missing # EOF, a non-canonical le label, ...). The test then
// checks the values the parser understood.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "supervisor/metrics/openmetrics_text.h"

namespace uldd::supervisor::metrics {
namespace {

struct Parsed {
  int status = -1;
  std::string output;
};

Parsed parse(const std::string& text) {
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("uldd-openmetrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << text;
  std::string cmd = std::string("/usr/bin/python3 ") + ULDD_PARSE_SCRIPT + " " + file.string();
  Parsed p;
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return p;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) p.output.append(buf, n);
  int st = ::pclose(pipe);
  p.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::filesystem::remove(file);
  return p;
}

std::vector<DeviceSnapshot> devices() {
  DeviceSnapshot disk;
  disk.name = "disk0";
  disk.kind = "disk";
  disk.state = "serving";
  disk.driver_pid = 77;
  disk.restarts_warm = 4;
  disk.faults_by_cause = {{"crashed", 3}, {"hung", 1}};
  for (uint64_t us : {300, 700, 4'000, 4'000, 2'000'000}) disk.downtime.add(us);
  disk.io = {{"reads", 100},       {"writes", 50}, {"read_bytes", 409600}, {"write_bytes", 204800},
             {"requests_open", 3}, {"errors", 0},  {"violations", 1},      {"flushes", 2}};
  DeviceSnapshot nic;
  nic.name = "nic0";
  nic.kind = "nic";
  nic.state = "failed";
  nic.io = {{"tx_frames", 9},
            {"rx_frames", 8},
            {"tx_bytes", 900},
            {"rx_bytes", 800},
            {"rx_buffers_posted", 256}};
  return {disk, nic};
}

const nlohmann::json* family(const nlohmann::json& all, const std::string& name) {
  for (const auto& f : all)
    if (f["name"] == name) return &f;
  return nullptr;
}

double sample(const nlohmann::json& fam, const std::string& name,
              const std::map<std::string, std::string>& labels) {
  for (const auto& s : fam["samples"]) {
    if (s["name"] != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && s["labels"].contains(k) && s["labels"][k] == v;
    if (match) return s["value"].get<double>();
  }
  ADD_FAILURE() << "no sample " << name;
  return -1;
}

TEST(OpenMetricsParseTest, TheReferenceParserAcceptsAndUnderstandsIt) {
  Parsed p = parse(render_openmetrics(devices()));
  ASSERT_NE(p.status, 2) << "python3-prometheus-client is missing: run scripts/bootstrap.sh";
  ASSERT_EQ(p.status, 0) << "the parser rejected the text";
  auto all = nlohmann::json::parse(p.output);

  const auto* h = family(all, "uldd_recovery_downtime_seconds");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ((*h)["type"], "histogram");
  EXPECT_EQ((*h)["unit"], "seconds");
  const std::map<std::string, std::string> disk0{{"device", "disk0"}, {"kind", "disk"}};
  auto with = [&](std::string k, std::string v) {
    auto l = disk0;
    l[k] = v;
    return l;
  };
  EXPECT_EQ(sample(*h, "uldd_recovery_downtime_seconds_bucket", with("le", "0.0005")), 1);
  EXPECT_EQ(sample(*h, "uldd_recovery_downtime_seconds_bucket", with("le", "0.001")), 2);
  EXPECT_EQ(sample(*h, "uldd_recovery_downtime_seconds_bucket", with("le", "0.005")), 4);
  EXPECT_EQ(sample(*h, "uldd_recovery_downtime_seconds_bucket", with("le", "1.0")), 4);
  EXPECT_EQ(sample(*h, "uldd_recovery_downtime_seconds_bucket", with("le", "+Inf")), 5);
  EXPECT_DOUBLE_EQ(sample(*h, "uldd_recovery_downtime_seconds_sum", disk0), 2.009);

  const auto* faults = family(all, "uldd_faults");
  ASSERT_NE(faults, nullptr);
  EXPECT_EQ((*faults)["type"], "counter");
  EXPECT_EQ(sample(*faults, "uldd_faults_total", with("cause", "crashed")), 3);
  EXPECT_EQ(sample(*faults, "uldd_faults_total", with("cause", "protocol-violation")), 0);

  const auto* reads = family(all, "uldd_io_reads");
  ASSERT_NE(reads, nullptr);
  EXPECT_EQ((*reads)["type"], "counter");
  EXPECT_EQ(sample(*reads, "uldd_io_reads_total", disk0), 100);
  const auto* bytes = family(all, "uldd_io_read_bytes");
  ASSERT_NE(bytes, nullptr);
  EXPECT_EQ((*bytes)["unit"], "bytes");
  const auto* open = family(all, "uldd_io_requests_open");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ((*open)["type"], "gauge");
  EXPECT_EQ(sample(*open, "uldd_io_requests_open", disk0), 3);
  const auto* posted = family(all, "uldd_io_rx_buffers_posted");
  ASSERT_NE(posted, nullptr);
  EXPECT_EQ((*posted)["type"], "gauge");

  const auto* state = family(all, "uldd_device_state");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ((*state)["type"], "stateset");
  EXPECT_EQ(
      sample(*state, "uldd_device_state", {{"device", "nic0"}, {"uldd_device_state", "failed"}}),
      1);
  EXPECT_EQ(
      sample(*state, "uldd_device_state", {{"device", "nic0"}, {"uldd_device_state", "serving"}}),
      0);
  const auto* up = family(all, "uldd_driver_up");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(sample(*up, "uldd_driver_up", disk0), 1);
  EXPECT_EQ(sample(*up, "uldd_driver_up", {{"device", "nic0"}}), 0);
}

// The check can fail: a text the format forbids is rejected by the same path.
TEST(OpenMetricsParseTest, TheParserRejectsABrokenText) {
  std::string t = render_openmetrics(devices());
  std::string without_eof = t.substr(0, t.size() - 6);
  EXPECT_EQ(parse(without_eof).status, 1);
  std::string no_inf = t;
  size_t inf = no_inf.find("le=\"+Inf\"");
  ASSERT_NE(inf, std::string::npos);
  no_inf.erase(no_inf.rfind('\n', inf) + 1, no_inf.find('\n', inf) - no_inf.rfind('\n', inf));
  EXPECT_EQ(parse(no_inf).status, 1);
}

}  // namespace
}  // namespace uldd::supervisor::metrics
