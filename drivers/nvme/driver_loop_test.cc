// Unit tests of DriverLoop: a real ring region in memory, real eventfds, the
// loop on its own thread with NvmeDriver over FakeNvmeDevice, and the test
// thread playing the shim.
#include "drivers/nvme/driver_loop.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "drivers/nvme/driver_loop_fixture.h"

namespace uldd::drivers {
namespace {

using abi::BlockDescriptor;
using testing::kDriverArea;
using testing::NvmeDriverLoopTest;
using testing::write_req;

TEST_F(NvmeDriverLoopTest, ServesBatchesAndStopsGracefully) {
  make(16);
  for (uint32_t t = 0; t < 32; ++t)
    std::memset(dev_->dma().at<std::byte>(kDriverArea + t * 4096), int(t + 1), 4096);
  start();
  std::vector<BlockDescriptor> all;
  for (uint32_t batch = 0; batch < 4; ++batch) {
    std::vector<BlockDescriptor> ds;
    for (uint32_t i = 0; i < 8; ++i) ds.push_back(write_req(batch * 8 + i));
    post(ds);
    auto got = collect(8);
    ASSERT_EQ(got.size(), 8u) << "batch " << batch;
    all.insert(all.end(), got.begin(), got.end());
  }
  for (const auto& c : all) EXPECT_EQ(c.status, 0);
  EXPECT_EQ(state(), static_cast<uint32_t>(abi::DriverState::kRunning));
  loop_->request_stop();
  thread_.join();
  EXPECT_TRUE(result_.ok());
  EXPECT_EQ(state(), static_cast<uint32_t>(abi::DriverState::kStopping));
  EXPECT_GT(abi::load_shared(cb_->status.heartbeat), 0u);
  EXPECT_EQ(abi::load_shared(cb_->status.requests_done), 32u);
  EXPECT_EQ(dev_->media()[31 * 8 * 512], 32);
  // The controller is left enabled for the next driver.
  EXPECT_NE(dev_->reg(nvme::kRegCc) & nvme::cc::kEnable, 0u);
  EXPECT_EQ(nvme::cc::shn(dev_->reg(nvme::kRegCc)), 0u);
}

TEST_F(NvmeDriverLoopTest, CompletionsWaitInBacklogWhileTheRingIsFull) {
  make(4);
  start();
  post({write_req(0), write_req(1), write_req(2), write_req(3)});
  // Do not consume: the completion ring fills up (4), then more requests are
  // taken and their completions wait in the driver's backlog.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (completions_.available() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  while (requests_.free_slots() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  post({write_req(4), write_req(5), write_req(6), write_req(7)});
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  auto got = collect(8);
  ASSERT_EQ(got.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(got[i].tag, i);
}

TEST_F(NvmeDriverLoopTest, CorruptRequestTailFailsTheDriver) {
  make(16);
  std::atomic_ref<uint32_t>(view_.request_indices()->producer.tail).store(1000);
  driver_wake_.signal();
  start();
  thread_.join();
  EXPECT_FALSE(result_.ok());
  EXPECT_EQ(state(), static_cast<uint32_t>(abi::DriverState::kFailed));
  EXPECT_NE(std::string(cb_->status.last_error).find("request ring"), std::string::npos)
      << cb_->status.last_error;
}

}  // namespace
}  // namespace uldd::drivers
