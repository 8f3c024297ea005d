// Isolated mode end to end at the process boundary: the real uldd-e1000-driver
// binary, spawned with exactly the fds of abi/driver_fds.h (as the supervisor
// does), drives the real e1000 model, which runs its uldd-hw event loop on a
// thread of this test over a socketpair wire. The test plays the shim on the
// net ring region and the far end of the wire: frames go out through
// tx_request onto the wire, frames from the wire come back on rx_done, byte
// for byte; SIGTERM stops the driver with exit code 0. Also: the refusal exit
// codes for a bad command line and for a disk ring region handed to a NIC
// driver; a warm launch with nothing to adopt refused with exit 6 (the
// restart engine's "warm refused"); a warm restart after SIGKILL that adopts
// the dead driver's RX buffers, frames received meanwhile included; and a
// cold restart after SIGKILL, where the successor's device
// reset must make the device forget the dead driver's RX buffers (the NIC
// shim's quarantine relies on it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/driver_fds.h"
#include "abi/net_ring_region.h"
#include "abi/ring_region.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "devices/e1000/e1000_model.h"
#include "devices/e1000/e1000_model_loop.h"
#include "devices/e1000/fd_wire.h"

namespace uldd::drivers {
namespace {

using abi::NetDescriptor;
using abi::NetRing;
using namespace std::chrono_literals;

constexpr uint64_t kDmaBytes = 1 << 20;
constexpr uint64_t kDriverArea = 64 << 10;
constexpr uint32_t kBufferBytes = 2048;

uint64_t iova(uint16_t id) {
  return kDriverArea + uint64_t{id} * kBufferBytes;
}

// Forks and execs the driver with `fds` as fds 3, 4, ... and nothing else open.
pid_t spawn_driver(const std::vector<int>& fds, const std::vector<std::string>& args) {
  // Move the sources out of the way of the target numbers first.
  std::vector<int> high;
  for (int fd : fds) high.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 100));
  std::vector<std::string> argv_s = {ULDD_E1000_DRIVER_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    for (size_t i = 0; i < high.size(); ++i) ::dup2(high[i], 3 + static_cast<int>(i));
    ::close_range(3 + static_cast<unsigned>(high.size()), ~0u, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  for (int fd : high) ::close(fd);
  return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(2ms);
  }
}

class E1000DriverProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bar_ = std::move(SharedMemory::create("e1000-bar", e1000::kBarSize).value());
    dma_ = std::move(SharedMemory::create("e1000-dma", kDmaBytes).value());
    irq_ = std::move(EventFd::create().value());
    doorbell_ = std::move(EventFd::create().value());
    model_stop_ = std::move(EventFd::create().value());
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    wire_ =
        std::make_unique<e1000::FdWire>(std::move(e1000::FdWire::adopt(UniqueFd(sv[0])).value()));
    peer_ = UniqueFd(sv[1]);
    auto model =
        e1000::E1000Model::create(bar_.bytes(), dma_.bytes(), *wire_, [this] { irq_.signal(); });
    ASSERT_TRUE(model.ok()) << model.error().describe();
    model_ = std::move(model.value());
    model_thread_ = std::thread(
        [this] { (void)e1000::run_e1000_loop(*model_, doorbell_, *wire_, model_stop_.fd(), {}); });

    control_ = std::move(SharedMemory::create("cb", sizeof(abi::ControlBlock)).value());
    auto* cb = control_.as<abi::ControlBlock>();
    cb->magic = abi::kControlBlockMagic;
    cb->version = abi::kAbiVersion;
    abi::DriverConfig& c = cb->config;
    c.heartbeat_interval_us = 20000;
    c.max_transfer = kBufferBytes;
    c.dma_driver_area_size = kDriverArea;
    c.dma_buffer_area_offset = kDriverArea;
    c.nic_rx_descriptors = 64;
    c.nic_tx_descriptors = 64;
    c.nic_itr_interval = 40;  // ~10 us
    header_ = abi::net_ring_region_layout(32, 64);
    rings_ = std::move(SharedMemory::create("rings", header_.region_size).value());
    std::memcpy(rings_.data(), &header_, sizeof header_);
    checkpoint_ = std::move(SharedMemory::create("ckpt", sizeof(abi::CheckpointRegion)).value());
    driver_wake_ = std::move(EventFd::create().value());
    shim_wake_ = std::move(EventFd::create().value());
  }
  void TearDown() override {
    if (pid_ > 0) wait_exit(pid_, 0ms);  // kills a driver a failed test left behind
    model_stop_.signal();
    if (model_thread_.joinable()) model_thread_.join();
  }
  std::vector<int> driver_fds() const {
    return {control_.fd(), rings_.fd(), checkpoint_.fd(), driver_wake_.fd(), shim_wake_.fd(),
            dma_.fd(),     bar_.fd(),   irq_.fd(),        doorbell_.fd()};
  }
  abi::ControlBlock* cb() const { return control_.as<abi::ControlBlock>(); }
  std::vector<std::byte> frame(size_t size, uint8_t seed) {
    std::vector<std::byte> f(size);
    for (size_t i = 0; i < size; ++i) f[i] = std::byte(static_cast<uint8_t>(seed * 7 + i));
    std::memcpy(f.data(), model_->mac().bytes.data(), 6);
    return f;
  }
  std::vector<std::byte> peer_receive(std::chrono::milliseconds timeout) {
    pollfd p{peer_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
    std::vector<std::byte> f(4096);
    ssize_t n = ::read(peer_.get(), f.data(), f.size());
    f.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return f;
  }

  SharedMemory bar_, dma_, control_, rings_, checkpoint_;
  EventFd irq_, doorbell_, model_stop_, driver_wake_, shim_wake_;
  std::unique_ptr<e1000::FdWire> wire_;
  UniqueFd peer_;
  std::unique_ptr<e1000::E1000Model> model_;
  std::thread model_thread_;
  abi::NetRingRegionHeader header_{};
  pid_t pid_ = -1;
};

TEST_F(E1000DriverProcessTest, FramesFlowBothWaysAndSigtermStopsCleanly) {
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  ASSERT_GT(pid_, 0);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (abi::load_shared(cb()->status.state) !=
         static_cast<uint32_t>(abi::DriverState::kRunning)) {
    ASSERT_NE(abi::load_shared(cb()->status.state),
              static_cast<uint32_t>(abi::DriverState::kFailed))
        << cb()->status.last_error;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "driver never reached kRunning";
    std::this_thread::sleep_for(1ms);
  }
  abi::NetRingRegionView view{rings_.data(), header_};
  auto tx_request = view.producer(NetRing::kTxRequest);
  auto rx_free = view.producer(NetRing::kRxFree);
  auto tx_done = view.consumer(NetRing::kTxDone);
  auto rx_done = view.consumer(NetRing::kRxDone);

  for (uint16_t k = 0; k < 32; ++k)
    rx_free.stage(k, NetDescriptor{iova(100 + k), kBufferBytes, static_cast<uint16_t>(100 + k), 0});
  rx_free.publish(32);
  std::vector<std::vector<std::byte>> out;
  for (uint16_t k = 0; k < 20; ++k) {
    out.push_back(frame(60 + 70 * k, static_cast<uint8_t>(k)));
    std::memcpy(dma_.data() + iova(k), out.back().data(), out.back().size());
    tx_request.stage(k, NetDescriptor{iova(k), static_cast<uint32_t>(out.back().size()), k, 0});
  }
  tx_request.publish(20);
  driver_wake_.signal();  // a shim kicks when the driver asked; always kicking is also correct

  for (const auto& f : out) EXPECT_EQ(peer_receive(5s), f);
  std::vector<std::vector<std::byte>> in;
  for (uint8_t k = 0; k < 20; ++k) {
    in.push_back(frame(1514 - 50 * k, static_cast<uint8_t>(100 + k)));
    ASSERT_EQ(::write(peer_.get(), in.back().data(), in.back().size()),
              static_cast<ssize_t>(in.back().size()));
  }
  uint32_t tx_back = 0, rx_back = 0;
  deadline = std::chrono::steady_clock::now() + 10s;
  while ((tx_back < 20 || rx_back < 20) && std::chrono::steady_clock::now() < deadline) {
    uint32_t n = tx_done.available();
    for (uint32_t i = 0; i < n; ++i) {
      NetDescriptor d = tx_done.peek(i);
      EXPECT_EQ(d.buffer_id, tx_back + i);
      EXPECT_EQ(d.status, static_cast<uint16_t>(abi::NetStatus::kOk));
    }
    tx_back += n;
    tx_done.release(n);
    n = rx_done.available();
    for (uint32_t i = 0; i < n; ++i) {
      NetDescriptor d = rx_done.peek(i);
      ASSERT_EQ(d.status, static_cast<uint16_t>(abi::NetStatus::kOk));
      ASSERT_EQ(d.buffer_id, 100 + rx_back + i);
      const auto& want = in[rx_back + i];
      ASSERT_EQ(d.len, want.size());
      EXPECT_EQ(0, std::memcmp(dma_.data() + d.iova, want.data(), want.size()));
    }
    rx_back += n;
    rx_done.release(n);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(tx_back, 20u);
  EXPECT_EQ(rx_back, 20u);
  EXPECT_GE(abi::load_shared(cb()->status.heartbeat), 1u);
  EXPECT_EQ(abi::load_shared(cb()->status.pid), pid_);

  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid_, 5000ms), 0);
  pid_ = -1;
  // The checkpoint was written, for the e1000 device class.
  auto* ck = checkpoint_.as<abi::CheckpointRegion>();
  EXPECT_TRUE(ck->slots[0].epoch != 0 || ck->slots[1].epoch != 0);
  EXPECT_EQ(ck->slots[0].device_class, abi::kCheckpointClassE1000);
}

TEST_F(E1000DriverProcessTest, WarmLaunchWithoutACheckpointIsRefusedWithExitCode6) {
  // Nothing to adopt from (no checkpoint slot validates): refused before the
  // device is touched, the status the engine reads as "warm resume refused".
  abi::store_shared(cb()->launch.resume_mode, static_cast<uint32_t>(abi::ResumeMode::kWarm));
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  EXPECT_EQ(wait_exit(pid_, 5000ms), 6);
  pid_ = -1;
  std::string why(cb()->status.last_error,
                  strnlen(cb()->status.last_error, sizeof cb()->status.last_error));
  EXPECT_NE(why.find("warm resume"), std::string::npos) << why;
  EXPECT_NE(why.find("checkpoint"), std::string::npos) << why;
}

TEST_F(E1000DriverProcessTest, WarmRestartAfterSigkillAdoptsTheDeadDriversRxBuffers) {
  auto wait_running = [&] {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (abi::load_shared(cb()->status.state) !=
           static_cast<uint32_t>(abi::DriverState::kRunning)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  };
  abi::NetRingRegionView view{rings_.data(), header_};
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  ASSERT_TRUE(wait_running());
  auto rx_free = view.producer(NetRing::kRxFree);
  for (uint16_t k = 0; k < 16; ++k)
    rx_free.stage(k, NetDescriptor{iova(100 + k), kBufferBytes, static_cast<uint16_t>(100 + k), 0});
  rx_free.publish(16);
  driver_wake_.signal();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (abi::ring_detail::load(view.indices(NetRing::kRxFree)->consumer.head,
                                std::memory_order_acquire) != 16)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  std::this_thread::sleep_for(20ms);
  ::kill(pid_, SIGKILL);
  EXPECT_EQ(wait_exit(pid_, 5000ms), 128 + SIGKILL);

  // The device keeps receiving into the dead driver's buffers.
  std::vector<std::vector<std::byte>> in;
  auto send_from_wire = [&](int n) {
    for (int i = 0; i < n; ++i) {
      in.push_back(frame(100 + 90 * in.size(), static_cast<uint8_t>(50 + in.size())));
      ASSERT_EQ(::write(peer_.get(), in.back().data(), in.back().size()),
                static_cast<ssize_t>(in.back().size()));
    }
  };
  send_from_wire(3);
  std::this_thread::sleep_for(50ms);

  // What the supervisor does for a warm start: zero the ring indices, resend
  // every buffer the dead driver held flagged, launch warm with their count.
  std::memset(rings_.data() + abi::kNetRingIndicesOffset, 0,
              abi::kNetRingCount * sizeof(abi::RingIndices));
  rx_free = view.producer(NetRing::kRxFree);
  for (uint16_t k = 0; k < 16; ++k)
    rx_free.stage(k, NetDescriptor{iova(100 + k), kBufferBytes, static_cast<uint16_t>(100 + k),
                                   abi::kNetFlagAdopt});
  rx_free.publish(16);
  abi::store_shared(cb()->launch.resume_mode, static_cast<uint32_t>(abi::ResumeMode::kWarm));
  abi::store_shared(cb()->launch.adopt_count, 16u);
  abi::store_shared(cb()->status.state, static_cast<uint32_t>(abi::DriverState::kSpawned));
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  ASSERT_TRUE(wait_running()) << cb()->status.last_error;
  send_from_wire(2);

  auto rx_done = view.consumer(NetRing::kRxDone);
  uint32_t got = 0;
  deadline = std::chrono::steady_clock::now() + 10s;
  while (got < 5 && std::chrono::steady_clock::now() < deadline) {
    uint32_t n = rx_done.available();
    for (uint32_t i = 0; i < n; ++i) {
      NetDescriptor d = rx_done.peek(i);
      ASSERT_EQ(d.buffer_id, 100 + got + i);  // the adopted buffers, in ring order
      ASSERT_EQ(d.status, static_cast<uint16_t>(abi::NetStatus::kOk));
      ASSERT_EQ(d.len, in[got + i].size());
      EXPECT_EQ(0, std::memcmp(dma_.data() + d.iova, in[got + i].data(), d.len));
    }
    got += n;
    rx_done.release(n);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(got, 5u) << "frames received while the driver was dead are delivered";

  // TX works on the adopted ring.
  auto tx_request = view.producer(NetRing::kTxRequest);
  auto out = frame(300, 9);
  std::memcpy(dma_.data() + iova(7), out.data(), out.size());
  tx_request.stage(0, NetDescriptor{iova(7), static_cast<uint32_t>(out.size()), 7, 0});
  tx_request.publish(1);
  driver_wake_.signal();
  EXPECT_EQ(peer_receive(5s), out);
  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid_, 5000ms), 0);
  pid_ = -1;
}

TEST_F(E1000DriverProcessTest, ColdRestartAfterSigkillForgetsTheDeadDriversRxBuffers) {
  auto wait_running = [&] {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (abi::load_shared(cb()->status.state) !=
           static_cast<uint32_t>(abi::DriverState::kRunning)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  };
  abi::NetRingRegionView view{rings_.data(), header_};
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  ASSERT_TRUE(wait_running());
  auto rx_free = view.producer(NetRing::kRxFree);
  for (uint16_t k = 0; k < 16; ++k)
    rx_free.stage(k, NetDescriptor{iova(100 + k), kBufferBytes, static_cast<uint16_t>(100 + k), 0});
  rx_free.publish(16);
  driver_wake_.signal();
  // The driver took them (and rang RDT in the same batch).
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (abi::ring_detail::load(view.indices(NetRing::kRxFree)->consumer.head,
                                std::memory_order_acquire) != 16)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  std::this_thread::sleep_for(20ms);
  ::kill(pid_, SIGKILL);
  EXPECT_EQ(wait_exit(pid_, 5000ms), 128 + SIGKILL);

  // What the supervisor does: the dead driver's buffers get a pattern that
  // must survive, the ring indices are zeroed, the successor starts cold.
  for (uint16_t k = 100; k < 116; ++k) std::memset(dma_.data() + iova(k), 0xab, kBufferBytes);
  std::memset(rings_.data() + abi::kNetRingIndicesOffset, 0,
              abi::kNetRingCount * sizeof(abi::RingIndices));
  abi::store_shared(cb()->status.state, static_cast<uint32_t>(abi::DriverState::kSpawned));
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  ASSERT_TRUE(wait_running()) << cb()->status.last_error;
  rx_free = view.producer(NetRing::kRxFree);
  auto rx_done = view.consumer(NetRing::kRxDone);
  for (uint16_t k = 0; k < 16; ++k)
    rx_free.stage(k, NetDescriptor{iova(200 + k), kBufferBytes, static_cast<uint16_t>(200 + k), 0});
  rx_free.publish(16);
  driver_wake_.signal();
  std::this_thread::sleep_for(20ms);
  std::vector<std::vector<std::byte>> in;
  for (uint8_t k = 0; k < 10; ++k) {
    in.push_back(frame(100 + 90 * k, static_cast<uint8_t>(50 + k)));
    ASSERT_EQ(::write(peer_.get(), in.back().data(), in.back().size()),
              static_cast<ssize_t>(in.back().size()));
  }
  uint32_t got = 0;
  deadline = std::chrono::steady_clock::now() + 10s;
  while (got < 10 && std::chrono::steady_clock::now() < deadline) {
    uint32_t n = rx_done.available();
    for (uint32_t i = 0; i < n; ++i) {
      NetDescriptor d = rx_done.peek(i);
      ASSERT_EQ(d.buffer_id, 200 + got + i);  // only the successor's buffers
      ASSERT_EQ(d.len, in[got + i].size());
      EXPECT_EQ(0, std::memcmp(dma_.data() + d.iova, in[got + i].data(), d.len));
    }
    got += n;
    rx_done.release(n);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(got, 10u);
  for (uint16_t k = 100; k < 116; ++k) {
    const std::byte* b = dma_.data() + iova(k);
    EXPECT_TRUE(std::all_of(b, b + kBufferBytes, [](std::byte x) { return x == std::byte{0xab}; }))
        << "the reset device wrote into dead driver's buffer " << k;
  }
}

TEST_F(E1000DriverProcessTest, RefusesADiskRingRegionWithExitCode3) {
  abi::RingRegionHeader block = abi::ring_region_layout(64);
  std::memset(rings_.data(), 0, sizeof header_);
  std::memcpy(rings_.data(), &block, sizeof block);
  pid_ = spawn_driver(driver_fds(), {"--uio=emulated", "--device", "nic-test"});
  EXPECT_EQ(wait_exit(pid_, 5000ms), 3);
  pid_ = -1;
}

TEST_F(E1000DriverProcessTest, BadCommandLineIsExitCode2AndMissingFdsExitCode3) {
  pid_ = spawn_driver(driver_fds(), {"--uio=bogus", "--device", "x"});
  EXPECT_EQ(wait_exit(pid_, 5000ms), 2);
  pid_ = spawn_driver({}, {"--uio=emulated", "--device", "x"});
  EXPECT_EQ(wait_exit(pid_, 5000ms), 3);
  pid_ = -1;
}

}  // namespace
}  // namespace uldd::drivers
