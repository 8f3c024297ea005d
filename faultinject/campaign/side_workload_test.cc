// The side workloads' plumbing without a device: run_bounded captures
// output and status, ends a command at its bound or when cancelled; their
// report sections are written (null / [] when not asked for) and their
// failures appear in the table with the tool's words.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "faultinject/campaign/bounded_command.h"
#include "faultinject/campaign/campaign_report.h"
#include "faultinject/campaign/repeated_runs.h"

namespace uldd::campaign {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class BoundedCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uldd-bounded-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(BoundedCommand, CapturesOutputAndStatus) {
  auto r = run_bounded({"sh", "-c", "echo first; echo 'it broke' >&2; exit 3"}, dir_ / "a.log",
                       milliseconds(10'000));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->output, "first\nit broke\n");
  EXPECT_EQ(r->describe(), "exit status 3: it broke");
  auto again = run_bounded({"sh", "-c", "echo second"}, dir_ / "a.log", milliseconds(10'000));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->ok());
  EXPECT_EQ(again->output, "second\n");  // the log starts empty each time
}

TEST_F(BoundedCommand, EndsAtItsBoundAndWhenCancelled) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_bounded({"sleep", "30"}, dir_ / "b.log", milliseconds(200));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->status_text(), "timed out");
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel = true;
  });
  auto c = run_bounded({"sleep", "30"}, dir_ / "c.log", milliseconds(30'000), &cancel);
  t.join();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(BoundedCommand, MissingProgramIsAnError) {
  auto r = run_bounded({"no-such-program-uldd"}, dir_ / "d.log", milliseconds(1000));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("no-such-program-uldd: not installed"), std::string::npos);
}

TEST(RepeatedRuns, RunsUntilFinishWhichLetsTheCurrentRunEnd) {
  using std::chrono::milliseconds;
  std::atomic<int> runs{0};
  std::atomic<bool> in_run{false};
  RepeatedRuns r;
  r.start([&]() -> std::optional<milliseconds> {
    in_run = true;
    std::this_thread::sleep_for(milliseconds(30));
    in_run = false;
    ++runs;
    return milliseconds(5);
  });
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_TRUE(r.finish(std::chrono::seconds(2)));
  EXPECT_FALSE(in_run.load()) << "finish() returned while a run was going";
  int after = runs.load();
  EXPECT_GE(after, 2);
  std::this_thread::sleep_for(milliseconds(80));
  EXPECT_EQ(runs.load(), after) << "no run after finish()";
}

TEST(RepeatedRuns, FinishGivesUpOnALongRunAndCancelCutsItShort) {
  using std::chrono::milliseconds;
  RepeatedRuns r;
  std::atomic<bool> saw_cancel{false};
  std::atomic<bool>* flag = r.cancel_flag();
  r.start([&]() -> std::optional<milliseconds> {
    for (int i = 0; i < 500 && !flag->load(); ++i) std::this_thread::sleep_for(milliseconds(10));
    saw_cancel = flag->load();
    return std::nullopt;  // a run that says stop
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(r.finish(milliseconds(50))) << "the run is still going";
  r.cancel();
  EXPECT_TRUE(saw_cancel.load());
  r.cancel();  // idempotent
}

TEST(SideWorkloadReport, AbsentUnlessAskedFor) {
  CampaignReport r;
  r.invariants.push_back(InvariantResult{"lost_writes", "<= 0", "0", true});
  nlohmann::json j = report_to_json(r);
  EXPECT_TRUE(j["fio_verify"].is_null());
  EXPECT_TRUE(j["ext4_fsck"].is_null());
  EXPECT_EQ(j["iperf3"], nlohmann::json::array());
}

TEST(SideWorkloadReport, JsonAndTable) {
  CampaignReport r;
  r.campaign.name = "side";
  FioVerifySummary f;
  f.device = "disk0";
  f.offset = 8 << 20;
  f.size = 8 << 20;
  f.runs = 3;
  f.runs_passed = 2;
  f.runs_failed = 1;
  f.verify_errors = 1;
  f.failures.push_back({1200, "verify", "exit status 1\nverify: bad magic header 0"});
  r.fio_verify = f;
  Ext4FsckSummary e;
  e.device = "disk0";
  e.loop_device = "/dev/loop7";
  e.rounds = 40;
  e.fsck_ran = true;
  e.fsck_clean = false;
  e.failures.push_back({9000, "fsck", "exit status 4"});
  r.ext4_fsck = e;
  Iperf3Summary i;
  i.device = "nic0";
  i.runs = 4;
  i.runs_passed = 3;
  i.broken = 1;
  i.bytes = 3u << 20;
  i.failures.push_back({500, "broken", "exit status 1: control socket has closed unexpectedly"});
  i.failures.push_back({600, "broken", "bytes \xff\xfe not UTF-8"});
  r.iperf3.push_back(i);
  r.invariants.push_back(InvariantResult{"nic0.broken_streams", "<= 0", "1", false});

  nlohmann::json j = report_to_json(r);
  EXPECT_EQ(j["fio_verify"]["runs_failed"], 1);
  EXPECT_EQ(j["fio_verify"]["failures"][0]["kind"], "verify");
  EXPECT_EQ(j["fio_verify"]["offset"], 8 << 20);
  EXPECT_EQ(j["ext4_fsck"]["loop_device"], "/dev/loop7");
  EXPECT_EQ(j["ext4_fsck"]["fsck_clean"], false);
  ASSERT_EQ(j["iperf3"].size(), 1u);
  EXPECT_EQ(j["iperf3"][0]["broken"], 1);
  EXPECT_EQ(j["iperf3"][0]["failures"][1]["message"], "bytes ?? not UTF-8");
  EXPECT_NO_FATAL_FAILURE((void)j.dump());
  EXPECT_EQ(j["result"], "fail");

  std::string table = report_table(r);
  EXPECT_NE(table.find("disk0 fio-verify: 3 runs over 8 MiB at offset 8 MiB"), std::string::npos);
  EXPECT_NE(table.find("      verify: bad magic header 0"), std::string::npos) << table;
  EXPECT_NE(table.find("e2fsck -fn FOUND ERRORS"), std::string::npos);
  EXPECT_NE(table.find("IPERF3 broken at 500 ms: exit status 1: control socket"),
            std::string::npos);
}

}  // namespace
}  // namespace uldd::campaign
