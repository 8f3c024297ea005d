// The NetShim's TX watch (policy request_timeout on a NIC): a TX frame the
// driver keeps past the timeout is reported once, as a stuck driver; frames
// the driver returns in time never are; restart() re-arms the watch with a
// fresh clock for the frames it resends; 0 switches it off. The RX watch: RX
// buffers the device filled (its RX head moved) and the driver does not
// return are reported once after the timeout; a driver that returns them in
// time, or a wire with no traffic (the head still), never is.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shim/net_shim.h"
#include "shim/testing/fake_net_driver_port.h"

namespace uldd::shim {
namespace {

using namespace std::chrono_literals;
using fakes::FakeNetPort;

constexpr uint32_t kBuffers = 32;

class NetShimTxWatchTest : public ::testing::Test {
 protected:
  void start(std::chrono::milliseconds timeout) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    shim_fd_.reset(sv[0]);
    host_fd_.reset(sv[1]);
    ::fcntl(shim_fd_.get(), F_SETFL, O_NONBLOCK);
    area_.assign(uint64_t{kBuffers} * kNetBufferSize, std::byte{0});
    auto port = std::make_unique<FakeNetPort>(64);
    port_ = port.get();
    NetShimOptions o;
    o.device_name = "nic-watch";
    o.buffer_area = area_.data();
    o.buffer_count = kBuffers;
    o.rx_buffers = 8;
    o.frame_fd = shim_fd_.get();
    o.tx_timeout = timeout;
    o.on_driver_fault = [this](const std::string& r) { record("fault: " + r); };
    o.on_tx_timeout = [this](const std::string& r) { record("timeout: " + r); };
    if (rx_watch_) o.rx_device_head = [this] { return rx_head_.load(); };
    shim_ = std::make_unique<NetShim>(o, std::move(port));
    ASSERT_TRUE(shim_->start().ok());
  }
  void TearDown() override { shim_.reset(); }

  void send_frame() {
    std::vector<std::byte> f(100, std::byte{0x5a});
    ASSERT_EQ(::write(host_fd_.get(), f.data(), f.size()), ssize_t(f.size()));
  }
  std::vector<abi::NetDescriptor> wait_tx(size_t n) {
    std::vector<abi::NetDescriptor> got;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      for (auto& d : port_->take_tx_requests()) got.push_back(d);
      std::this_thread::sleep_for(1ms);
    }
    return got;
  }
  void record(const std::string& r) {
    std::lock_guard l(mu_);
    reports_.push_back(r);
  }
  std::vector<std::string> reports() {
    std::lock_guard l(mu_);
    return reports_;
  }
  bool wait_reports(size_t n, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (reports().size() >= n) return true;
      std::this_thread::sleep_for(2ms);
    }
    return reports().size() >= n;
  }

  UniqueFd shim_fd_, host_fd_;
  std::vector<std::byte> area_;
  FakeNetPort* port_ = nullptr;
  std::unique_ptr<NetShim> shim_;
  std::mutex mu_;
  std::vector<std::string> reports_;
  bool rx_watch_ = false;
  std::atomic<uint32_t> rx_head_{0};  // the device's RX head, as the test moves it
};

TEST_F(NetShimTxWatchTest, AFrameKeptPastTheTimeoutIsReportedOnce) {
  start(150ms);
  auto t0 = std::chrono::steady_clock::now();
  send_frame();
  ASSERT_EQ(wait_tx(1).size(), 1u);  // the driver takes it and never returns it
  ASSERT_TRUE(wait_reports(1, 3s));
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 150ms);
  std::string r = reports()[0];
  EXPECT_EQ(r.rfind("timeout: TX frame in buffer", 0), 0u) << r;
  EXPECT_NE(r.find("100 bytes"), std::string::npos) << r;
  EXPECT_NE(r.find("request_timeout 150 ms"), std::string::npos) << r;
  std::this_thread::sleep_for(400ms);  // still stuck: not reported again
  EXPECT_EQ(reports().size(), 1u);
  EXPECT_EQ(shim_->stats().tx_timeouts.load(), 1u);
}

TEST_F(NetShimTxWatchTest, FramesReturnedInTimeAreNeverReported) {
  start(150ms);
  for (int i = 0; i < 20; ++i) {  // 20 frames over ~600 ms, each back within ~30 ms
    send_frame();
    auto d = wait_tx(1);
    ASSERT_EQ(d.size(), 1u);
    std::this_thread::sleep_for(30ms);
    port_->complete_tx(d[0]);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(reports().empty()) << ::testing::PrintToString(reports());
  EXPECT_EQ(shim_->stats().tx_frames.load(), 20u);
}

TEST_F(NetShimTxWatchTest, RestartReArmsTheWatchWithAFreshClock) {
  start(200ms);
  send_frame();
  ASSERT_EQ(wait_tx(1).size(), 1u);
  ASSERT_TRUE(wait_reports(1, 3s));
  // The supervisor kills the driver and restarts it cold: the frame is
  // reissued to the successor, whose clock starts at the reissue.
  shim_->hold();
  auto reissued_at = std::chrono::steady_clock::now();
  auto queued = shim_->restart(TxResendMode::kReissue);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(*queued, 1u);
  ASSERT_EQ(wait_tx(1).size(), 1u);
  ASSERT_TRUE(wait_reports(2, 3s));  // the successor keeps it too: reported again
  EXPECT_GE(std::chrono::steady_clock::now() - reissued_at, 200ms);
}

TEST_F(NetShimTxWatchTest, ZeroSwitchesTheWatchOffAndSetTxTimeoutOn) {
  start(0ms);
  send_frame();
  ASSERT_EQ(wait_tx(1).size(), 1u);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(reports().empty());
  shim_->set_tx_timeout(100ms);  // a reloaded policy
  EXPECT_TRUE(wait_reports(1, 3s));
}

TEST_F(NetShimTxWatchTest, RxBuffersTheDeviceFilledAndTheDriverKeepsAreReportedOnce) {
  rx_watch_ = true;
  start(150ms);
  std::this_thread::sleep_for(300ms);  // no traffic: the head stays, nothing is reported
  EXPECT_TRUE(reports().empty());
  auto t0 = std::chrono::steady_clock::now();
  rx_head_ = 3;  // the device filled three buffers; the driver returns none
  ASSERT_TRUE(wait_reports(1, 3s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  std::string r = reports()[0];
  EXPECT_EQ(r.rfind("timeout: the device filled RX buffers", 0), 0u) << r;
  EXPECT_NE(r.find("RX head now 3"), std::string::npos) << r;
  EXPECT_NE(r.find("driver stuck on its RX path"), std::string::npos) << r;
  rx_head_ = 7;
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(reports().size(), 1u) << "reported once until restart()";
}

TEST_F(NetShimTxWatchTest, RxBuffersReturnedInTimeAreNeverReported) {
  rx_watch_ = true;
  start(150ms);
  for (int i = 0; i < 60 && port_->rx_free().empty(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(port_->rx_free().empty());
  for (uint32_t k = 1; k <= 8; ++k) {  // a frame every ~75 ms, returned ~20 ms after it lands
    rx_head_ = k;
    std::this_thread::sleep_for(20ms);
    abi::NetDescriptor d = port_->take_rx_free();
    d.len = 64;
    d.status = 0;
    port_->complete_rx(d);
    std::this_thread::sleep_for(55ms);
  }
  std::this_thread::sleep_for(300ms);  // then the wire goes quiet
  EXPECT_TRUE(reports().empty()) << ::testing::PrintToString(reports());
}

TEST_F(NetShimTxWatchTest, AColdSuccessorResettingTheRxHeadIsNoFill) {
  rx_watch_ = true;
  start(150ms);
  rx_head_ = 5;  // the device filled; the driver returns nothing: reported
  ASSERT_TRUE(wait_reports(1, 3s));
  shim_->hold();
  ASSERT_TRUE(shim_->restart(TxResendMode::kReissue).ok());
  rx_head_ = 0;  // the successor's reset; then no traffic at all
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(reports().size(), 1u) << ::testing::PrintToString(reports());
  rx_head_ = 1;  // a real fill the successor keeps: reported again
  ASSERT_TRUE(wait_reports(2, 3s));
}

}  // namespace
}  // namespace uldd::shim
