// Test host for the e1000 model: the regions the supervisor would create, the
// model on a socketpair wire, and the driver's end as a real EmulatedUio, so
// every register access goes through the same write log and read-to-clear
// path as in production. Time is the test's: `now` only moves when a test
// advances it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "devices/e1000/e1000_model.h"
#include "devices/e1000/fd_wire.h"
#include "uio/emulated_uio.h"

namespace uldd::e1000::testing {

class E1000TestHost {
 public:
  static constexpr size_t kDmaBytes = 1 << 20;
  static constexpr uint64_t kTxRing = 0x1000;    // IOVA of the TX ring
  static constexpr uint64_t kRxRing = 0x3000;    // IOVA of the RX ring
  static constexpr uint64_t kBuffers = 0x10000;  // packet buffers, 2 KiB each

  explicit E1000TestHost(E1000ModelConfig config = {}) {
    bar_ = std::move(SharedMemory::create("e1000-bar", kBarSize).value());
    dma_ = std::move(SharedMemory::create("e1000-dma", kDmaBytes).value());
    irq_ = std::move(EventFd::create().value());
    doorbell_ = std::move(EventFd::create().value());
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    wire_ = std::make_unique<FdWire>(std::move(FdWire::adopt(UniqueFd(sv[0])).value()));
    peer_ = UniqueFd(sv[1]);
    auto model = E1000Model::create(
        bar_.bytes(), dma_.bytes(), *wire_, [this] { irq_.signal(); }, config);
    EXPECT_TRUE(model.ok()) << model.error().describe();
    model_ = std::move(model.value());
    auto dev = uio::EmulatedUio::attach(dup(bar_.fd()), dup(dma_.fd()), dup(irq_.fd()),
                                        dup(doorbell_.fd()));
    EXPECT_TRUE(dev.ok());
    dev_ = std::move(dev.value());
  }

  // A driver write, then the model's wake-up for its kick.
  void write(size_t offset, uint32_t value) {
    dev_->write32(offset, value);
    model_->apply_writes(now_);
  }
  uint32_t read(size_t offset) { return dev_->read32(offset); }
  uint64_t irqs() { return irq_.drain(); }
  void advance(std::chrono::nanoseconds d) {
    now_ += d;
    model_->poll_timers(now_);
  }

  // Bring-up as a driver does it: link up, both rings of `entries`.
  void bring_up(uint32_t entries, uint32_t rctl_extra = rctl::kStripCrc) {
    write(kRegCtrl, ctrl::kSetLinkUp | ctrl::kAutoSpeed);
    write(kRegTdbal, static_cast<uint32_t>(kTxRing));
    write(kRegTdbah, 0);
    write(kRegTdlen, entries * 16);
    write(kRegTdh, 0);
    write(kRegTdt, 0);
    write(kRegTctl, tctl::kRecommended);
    write(kRegRdbal, static_cast<uint32_t>(kRxRing));
    write(kRegRdbah, 0);
    write(kRegRdlen, entries * 16);
    write(kRegRdh, 0);
    for (uint32_t i = 0; i < entries; ++i)
      rx_desc(i) = RxDescriptor{rx_buffer_iova(i), 0, 0, 0, 0, 0};
    write(kRegRctl, rctl::kEnable | rctl::kBroadcastAccept | rctl_extra);
  }

  TxDescriptor& tx_desc(uint32_t i) { return *dma_.as<TxDescriptor>(kTxRing + 16 * i); }
  RxDescriptor& rx_desc(uint32_t i) { return *dma_.as<RxDescriptor>(kRxRing + 16 * i); }
  static uint64_t rx_buffer_iova(uint32_t i) { return kBuffers + 2048 * uint64_t{i}; }
  static uint64_t tx_buffer_iova(uint32_t i) { return kBuffers + 0x40000 + 2048 * uint64_t{i}; }
  std::byte* dma(uint64_t iova) { return dma_.data() + iova; }

  // A frame to our MAC (or `dst`) with `size` bytes, filled with `seed`.
  std::vector<std::byte> frame(size_t size, uint8_t seed, const MacAddress* dst = nullptr) {
    std::vector<std::byte> f(size);
    for (size_t i = 0; i < size; ++i) f[i] = std::byte(static_cast<uint8_t>(seed + i));
    const MacAddress& to = dst != nullptr ? *dst : model_->mac();
    std::memcpy(f.data(), to.bytes.data(), 6);
    return f;
  }
  void peer_send(const std::vector<std::byte>& f) {
    ASSERT_EQ(::write(peer_.get(), f.data(), f.size()), static_cast<ssize_t>(f.size()));
  }
  // The next frame the model put on the wire (empty if none).
  std::vector<std::byte> peer_receive() {
    std::vector<std::byte> f(20000);
    ssize_t n = ::read(peer_.get(), f.data(), f.size());
    f.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return f;
  }

  E1000Model& model() { return *model_; }
  const EventFd& doorbell() const { return doorbell_; }
  Wire& wire() { return *wire_; }
  uio::EmulatedUio& dev() { return *dev_; }
  E1000Model::TimePoint now() const { return now_; }
  std::byte* bar() { return bar_.data(); }

 private:
  static UniqueFd dup(int fd) { return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)); }

  SharedMemory bar_, dma_;
  EventFd irq_, doorbell_;
  std::unique_ptr<FdWire> wire_;
  UniqueFd peer_;
  std::unique_ptr<E1000Model> model_;
  std::unique_ptr<uio::EmulatedUio> dev_;
  E1000Model::TimePoint now_ = E1000Model::Clock::now();
};

}  // namespace uldd::e1000::testing
