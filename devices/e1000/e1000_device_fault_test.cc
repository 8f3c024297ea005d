// e1000 model and the supervisor's device faults (abi/device_fault.h), armed
// with faultinject::arm_device_fault against the real model, each with the
// effect a driver sees: causes in ICR without an interrupt, an interrupt with
// ICR 0, a TX frame sent late, a TX frame written back DD|EC and not sent, an
// RX frame with CE, and a device that does nothing until CTRL.RST.
#include <cstring>
#include <memory>

#include "devices/e1000/e1000_test_host.h"
#include "faultinject/device_fault_request.h"

namespace uldd::e1000 {
namespace {

using abi::DeviceFault;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::E1000TestHost;

constexpr uint32_t kEntries = 8;

class E1000DeviceFault : public ::testing::Test {
 protected:
  E1000DeviceFault() {
    faultinject::init_device_fault_region(*region_, abi::kDeviceModelE1000);
    E1000ModelConfig config;
    config.device_faults = region_.get();
    host_ = std::make_unique<E1000TestHost>(config);
  }
  void SetUp() override {
    host().bring_up(kEntries);
    host().read(kRegIcr);  // LSC from the bring-up
    host().write(kRegIms, icr::kTxDescWritten | icr::kRxTimer);
    host().write(kRegRdt, kEntries - 1);
  }
  E1000TestHost& host() { return *host_; }
  void arm(std::string_view type, const std::map<std::string, std::string>& params = {}) {
    auto r = faultinject::parse_device_fault_request(type, params);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_TRUE(faultinject::arm_device_fault(*region_, *r).ok());
    host().model().apply_writes(host().now());  // the model's next loop iteration
  }
  uint64_t fired(DeviceFault f) const { return region_->counters.fired[static_cast<uint32_t>(f)]; }
  // One frame in TX descriptor `slot`, RS|EOP; returns the frame.
  std::vector<std::byte> post_tx(uint32_t slot, uint8_t seed) {
    auto frame = host().frame(100, seed);
    uint64_t iova = E1000TestHost::tx_buffer_iova(slot);
    std::memcpy(host().dma(iova), frame.data(), frame.size());
    host().tx_desc(slot) =
        TxDescriptor{iova, static_cast<uint16_t>(frame.size()),
                     0,    static_cast<uint8_t>(tx_cmd::kEndOfPacket | tx_cmd::kReportStatus),
                     0,    0,
                     0};
    return frame;
  }

  std::unique_ptr<abi::DeviceFaultRegion> region_ = std::make_unique<abi::DeviceFaultRegion>();
  std::unique_ptr<E1000TestHost> host_;
};

TEST_F(E1000DeviceFault, LostInterruptLeavesTheCauseWithoutTheSignal) {
  arm("lost-interrupt");
  auto frame = post_tx(0, 1);
  host().write(kRegTdt, 1);
  EXPECT_EQ(host().peer_receive(), frame);
  EXPECT_EQ(host().tx_desc(0).status & tx_status::kDone, tx_status::kDone);
  EXPECT_EQ(host().irqs(), 0u);                               // lost...
  EXPECT_NE(host().read(kRegIcr) & icr::kTxDescWritten, 0u);  // ...with its cause in ICR
  EXPECT_EQ(fired(DeviceFault::kLostInterrupt), 1u);
  post_tx(1, 2);
  host().write(kRegTdt, 2);
  EXPECT_EQ(host().irqs(), 1u);  // once
}

TEST_F(E1000DeviceFault, DisarmedModelSignalsEveryFrame) {
  for (uint32_t i = 0; i < 3; ++i) {
    post_tx(i, static_cast<uint8_t>(i));
    host().write(kRegTdt, i + 1);
    EXPECT_FALSE(host().peer_receive().empty());
    EXPECT_EQ(host().irqs(), 1u);
    host().read(kRegIcr);
  }
  for (uint32_t f = 1; f < abi::kDeviceFaultIdLimit; ++f) EXPECT_EQ(region_->counters.fired[f], 0u);
}

TEST_F(E1000DeviceFault, SpuriousInterruptHasNoCause) {
  arm("spurious-interrupt");
  EXPECT_EQ(host().irqs(), 1u);
  EXPECT_EQ(host().read(kRegIcr), 0u);
  host().model().apply_writes(host().now());
  EXPECT_EQ(host().irqs(), 0u);
  EXPECT_EQ(fired(DeviceFault::kSpuriousInterrupt), 1u);
}

TEST_F(E1000DeviceFault, DelayedCommandSendsTheFrameLate) {
  arm("delayed-command", {{"ms", "5"}});
  auto frame = post_tx(0, 3);
  host().write(kRegTdt, 1);
  EXPECT_TRUE(host().peer_receive().empty());
  EXPECT_EQ(host().tx_desc(0).status, 0);
  E1000Model::TimePoint due;
  ASSERT_TRUE(host().model().next_deadline(&due));
  EXPECT_EQ(due, host().now() + milliseconds(5));
  host().advance(microseconds(4900));
  EXPECT_TRUE(host().peer_receive().empty());
  host().advance(microseconds(100));
  EXPECT_EQ(host().peer_receive(), frame);
  EXPECT_EQ(host().tx_desc(0).status & tx_status::kDone, tx_status::kDone);
  EXPECT_EQ(host().read(kRegTdh), 1u);
  EXPECT_EQ(host().irqs(), 1u);
  EXPECT_EQ(fired(DeviceFault::kDelayedCommand), 1u);
}

TEST_F(E1000DeviceFault, FailedTxFrameIsWrittenBackWithExcessCollisions) {
  arm("failed-command");  // frame=tx is the default on an e1000
  post_tx(0, 4);
  host().write(kRegTdt, 1);
  EXPECT_TRUE(host().peer_receive().empty());  // not transmitted
  EXPECT_EQ(host().tx_desc(0).status, tx_status::kDone | tx_status::kExcessCollisions);
  EXPECT_EQ(host().read(stats::kEcol), 1u);
  EXPECT_EQ(host().model().stats().tx_failed, 1u);
  auto next = post_tx(1, 5);
  host().write(kRegTdt, 2);
  EXPECT_EQ(host().peer_receive(), next);
  EXPECT_EQ(host().tx_desc(1).status, tx_status::kDone);
  EXPECT_EQ(fired(DeviceFault::kFailedCommand), 1u);
}

TEST_F(E1000DeviceFault, FailedRxFrameCarriesACrcError) {
  arm("failed-command", {{"frame", "rx"}});
  post_tx(0, 6);  // a TX frame in between is not the one that fails
  host().write(kRegTdt, 1);
  EXPECT_EQ(host().tx_desc(0).status, tx_status::kDone);
  for (uint32_t i = 0; i < 2; ++i) {
    host().peer_send(host().frame(80, static_cast<uint8_t>(i)));
    ASSERT_EQ(host().model().on_wire_readable(host().now()), 1u);
    const RxDescriptor& d = host().rx_desc(i);
    EXPECT_NE(d.status & rx_status::kDone, 0);
    EXPECT_EQ(d.errors, i == 0 ? rx_errors::kCrc : 0) << "frame " << i;
  }
  EXPECT_EQ(host().read(stats::kCrcerrs), 1u);
  EXPECT_EQ(fired(DeviceFault::kFailedCommand), 1u);
}

TEST_F(E1000DeviceFault, DeviceHangHoldsUntilCtrlRst) {
  arm("device-hang");
  EXPECT_TRUE(host().model().hung());
  post_tx(0, 7);
  host().write(kRegTdt, 1);
  host().peer_send(host().frame(80, 8));
  host().model().on_wire_readable(host().now());
  host().advance(milliseconds(100));
  EXPECT_TRUE(host().peer_receive().empty());
  EXPECT_EQ(host().tx_desc(0).status, 0);
  EXPECT_EQ(host().rx_desc(0).status, 0);
  EXPECT_EQ(host().read(kRegTdh), 0u);
  EXPECT_EQ(host().irqs(), 0u);
  EXPECT_EQ(region_->counters.hung, 1u);
  EXPECT_GE(host().model().stats().hung_dropped, 2u);
  // The driver's reset ends it; after a new bring-up the device works.
  host().write(kRegCtrl, ctrl::kReset);
  EXPECT_FALSE(host().model().hung());
  EXPECT_EQ(region_->counters.hung, 0u);
  EXPECT_EQ(region_->counters.hang_resets, 1u);
  host().bring_up(kEntries);
  auto frame = post_tx(0, 9);
  host().write(kRegTdt, 1);
  EXPECT_EQ(host().peer_receive(), frame);
  EXPECT_EQ(fired(DeviceFault::kDeviceHang), 1u);
}

}  // namespace
}  // namespace uldd::e1000
