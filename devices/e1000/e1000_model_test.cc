// e1000 model register semantics: power-on state, EERD, CTRL.RST, ICR read to
// clear, IMS/IMC masking, ICS, ITR hold-off (model clock and real time),
// refused writes.
#include <thread>

#include "devices/e1000/e1000_model_loop.h"
#include "devices/e1000/e1000_test_host.h"

namespace uldd::e1000 {
namespace {

using testing::E1000TestHost;
using namespace std::chrono_literals;

TEST(E1000Model, PowerOnStateIsVisibleBeforeAnyDriver) {
  E1000TestHost host;
  EXPECT_TRUE(host.dev().write_log_enabled());
  uint32_t status = host.read(kRegStatus);
  EXPECT_NE(status, 0u);  // the supervisor's power-on signal
  EXPECT_EQ(status & status::kLinkUp, 0u);
  EXPECT_NE(host.read(kRegEecd) & eecd::kPresent, 0u);
  EXPECT_EQ(host.read(ral(0)), host.model().mac().ral());
  EXPECT_EQ(host.read(rah(0)), host.model().mac().rah_low16() | rah_bits::kAddressValid);
}

TEST(E1000Model, EerdReadsTheMacAndAValidChecksum) {
  E1000TestHost host;
  uint16_t words[eeprom::kWords];
  for (uint32_t w = 0; w < eeprom::kWords; ++w) {
    host.write(kRegEerd, eerd::read_request(w));
    uint32_t v = host.read(kRegEerd);
    ASSERT_NE(v & eerd::kDone, 0u) << "word " << w;
    EXPECT_EQ(eerd::address(v), w);
    words[w] = eerd::data(v);
  }
  const auto& mac = host.model().mac().bytes;
  EXPECT_EQ(words[0], mac[0] | (mac[1] << 8));
  EXPECT_EQ(words[2], mac[4] | (mac[5] << 8));
  uint16_t sum = 0;
  for (uint16_t w : words) sum = static_cast<uint16_t>(sum + w);
  EXPECT_EQ(sum, eeprom::kChecksumSum);
}

TEST(E1000Model, SetLinkUpRaisesLinkAndLsc) {
  E1000TestHost host;
  host.write(kRegIms, icr::kLinkStatusChange);
  host.write(kRegCtrl, ctrl::kSetLinkUp);
  EXPECT_NE(host.read(kRegStatus) & status::kLinkUp, 0u);
  EXPECT_EQ(host.irqs(), 1u);
  EXPECT_EQ(host.read(kRegIcr), icr::kLinkStatusChange);
}

TEST(E1000Model, CtrlResetSelfClearsAndRestoresPowerOnState) {
  E1000TestHost host;
  host.bring_up(8);
  host.write(kRegIms, icr::kRxTimer | icr::kTxDescWritten);
  host.write(kRegItr, 100);
  host.write(kRegRdt, 5);
  host.write(ral(0), 0x11223344);  // a driver may rewrite the address...
  host.write(kRegIcs, icr::kTxQueueEmpty);
  host.write(kRegCtrl, ctrl::kReset | ctrl::kSetLinkUp);
  EXPECT_EQ(host.read(kRegCtrl) & ctrl::kReset, 0u);
  EXPECT_EQ(host.read(kRegIms), 0u);
  EXPECT_EQ(host.read(kRegItr), 0u);
  EXPECT_EQ(host.read(kRegIcr), 0u);
  EXPECT_EQ(host.read(kRegRctl), 0u);
  EXPECT_EQ(host.read(kRegTctl), 0u);
  EXPECT_EQ(host.read(kRegRdt), 0u);
  EXPECT_EQ(host.read(kRegRdlen), 0u);
  EXPECT_EQ(host.read(kRegStatus) & status::kLinkUp, 0u);
  EXPECT_EQ(host.read(ral(0)), host.model().mac().ral());  // ...reset reloads it from EEPROM
  EXPECT_EQ(host.model().stats().resets, 1u);
}

TEST(E1000Model, IcrIsReadToClearAndImsMasksTheLine) {
  E1000TestHost host;
  host.write(kRegIcs, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 0u);  // masked: cause recorded, no interrupt
  EXPECT_EQ(host.read(kRegIcr), icr::kRxTimer);
  EXPECT_EQ(host.read(kRegIcr), 0u);  // cleared by the read

  host.write(kRegIms, icr::kRxTimer | icr::kTxDescWritten);
  EXPECT_EQ(host.read(kRegIms), icr::kRxTimer | icr::kTxDescWritten);
  host.write(kRegIcs, icr::kTxQueueEmpty);  // not enabled
  EXPECT_EQ(host.irqs(), 0u);
  host.write(kRegIcs, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 1u);
  EXPECT_EQ(host.read(kRegIcr), icr::kRxTimer | icr::kTxQueueEmpty);

  host.write(kRegImc, icr::kRxTimer);
  EXPECT_EQ(host.read(kRegIms), icr::kTxDescWritten);
  host.write(kRegIcs, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 0u);
  // Unmasking a pending cause asserts the line at once.
  host.write(kRegIms, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 1u);
  // Writing 1s to ICR clears those causes only.
  host.write(kRegIcs, icr::kTxDescWritten);
  host.irqs();
  host.write(kRegIcr, icr::kRxTimer);
  EXPECT_EQ(host.read(kRegIcr), icr::kTxDescWritten);
}

TEST(E1000Model, NoInterruptWhenTheDriverAlreadyTookTheCause) {
  E1000TestHost host;
  host.write(kRegItr, 1000);
  host.write(kRegIms, icr::kRxTimer);
  host.write(kRegIcs, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 1u);
  host.write(kRegIcs, icr::kRxTimer);  // held off by ITR
  EXPECT_EQ(host.irqs(), 0u);
  EXPECT_EQ(host.read(kRegIcr), icr::kRxTimer);  // polled meanwhile
  host.advance(1ms);
  EXPECT_EQ(host.irqs(), 0u);  // nothing left to report
}

TEST(E1000Model, ItrHoldsInterruptsToOnePerInterval) {
  E1000TestHost host;
  const uint32_t units = 390;  // 99.84 us
  const auto interval = std::chrono::nanoseconds(itr::interval_ns(units));
  host.write(kRegItr, units);
  EXPECT_EQ(host.read(kRegItr), units);
  host.write(kRegIms, icr::kRxTimer | icr::kTxDescWritten);
  host.write(kRegIcs, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 1u);
  host.read(kRegIcr);
  for (int i = 0; i < 10; ++i) host.write(kRegIcs, i % 2 ? icr::kRxTimer : icr::kTxDescWritten);
  EXPECT_EQ(host.irqs(), 0u);
  E1000Model::TimePoint deadline;
  ASSERT_TRUE(host.model().next_deadline(&deadline));
  EXPECT_EQ(deadline - host.now(), interval);
  host.advance(interval - 1ns);
  EXPECT_EQ(host.irqs(), 0u);
  host.advance(1ns);
  EXPECT_EQ(host.irqs(), 1u);  // the held causes, merged into one interrupt
  EXPECT_EQ(host.read(kRegIcr), icr::kRxTimer | icr::kTxDescWritten);
  // ITR = 0: every new cause interrupts.
  host.write(kRegItr, 0);
  host.write(kRegIcs, icr::kRxTimer);
  host.read(kRegIcr);
  host.write(kRegIcs, icr::kRxTimer);
  EXPECT_EQ(host.irqs(), 2u);
}

// The model in its real event loop on its own thread, the driver kicking
// causes as fast as it can for a while: the interrupt rate stays near 1 per
// ITR interval. Generous bounds: this checks the hold-off, not the scheduler.
TEST(E1000Model, ItrHoldOffInRealTime) {
  E1000TestHost host;
  const uint32_t units = 3906;  // ~1 ms
  host.write(kRegItr, units);
  host.write(kRegIms, icr::kRxTimer);
  auto stop = std::move(EventFd::create().value());
  std::thread loop([&] {
    Status s = run_e1000_loop(host.model(), host.doorbell(), host.wire(), stop.fd(), {});
    EXPECT_TRUE(s.ok());
  });
  const auto start = std::chrono::steady_clock::now();
  uint64_t kicks = 0;
  while (std::chrono::steady_clock::now() - start < 200ms) {
    host.dev().write32(kRegIcs, icr::kRxTimer);
    ++kicks;
    if (kicks % 16 == 0) std::this_thread::sleep_for(20us);
  }
  (void)host.dev().read32(kRegStatus);  // flush: every ICS applied
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::this_thread::sleep_for(5ms);  // let a last held interrupt out
  stop.signal();
  loop.join();
  const uint64_t irqs = host.irqs();
  const auto max_irqs =
      static_cast<uint64_t>((elapsed + 5ms) / std::chrono::nanoseconds(itr::interval_ns(units))) +
      2;
  std::printf("ITR real time: %llu kicks, %llu interrupts in %lld us (at most %llu allowed)\n",
              static_cast<unsigned long long>(kicks), static_cast<unsigned long long>(irqs),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()),
              static_cast<unsigned long long>(max_irqs));
  EXPECT_GT(kicks, irqs * 2);  // many causes, far fewer interrupts
  EXPECT_LE(irqs, max_irqs);
  EXPECT_GE(irqs, 10u);  // but the line does fire while causes keep coming
  EXPECT_GE(host.model().interrupt_stats().min_gap_ns,
            static_cast<int64_t>(itr::interval_ns(units)));
}

TEST(E1000Model, RefusesWritesOutsideTheRegisters) {
  E1000TestHost host;
  host.dev().write32(kBarSize - uio::kSidebandBytes, 1);  // first side-band byte
  host.dev().write32(0x102, 1);                           // unaligned
  host.model().apply_writes(host.now());
  EXPECT_EQ(host.model().stats().bad_register_writes, 2u);
  host.write(stats::kGprc, 55);  // statistics are read only
  EXPECT_EQ(host.read(stats::kGprc), 0u);
}

}  // namespace
}  // namespace uldd::e1000
