// NetShim against a fake driver behind the NetDriverPort seam and a datagram
// socketpair standing in for the TAP (one read = one frame, as with
// IFF_NO_PI): the one-copy TX and RX paths, free-buffer accounting, every
// kind of hostile return (bad id, double return, wrong direction, wrong IOVA,
// impossible length, impossible ring index) and back-pressure.
#include "shim/net_shim.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "abi/net_ring_region.h"
#include "shim/ring_net_driver_port.h"
#include "shim/testing/fake_net_driver_port.h"

namespace uldd::shim {
namespace {

using abi::NetDescriptor;
using abi::NetStatus;
using namespace std::chrono_literals;
using fakes::FakeNetPort;

constexpr uint32_t kBuffers = 32;
constexpr uint32_t kRxBuffers = 8;
constexpr uint64_t kAreaIova = 0x10000;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

std::vector<std::byte> frame(size_t len, uint8_t seed) {
  std::vector<std::byte> f(len);
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<std::byte>(seed + i * 7);
  return f;
}

class NetShimTest : public testing::Test {
 protected:
  void SetUp() override { start(/*tx_capacity=*/64); }

  void start(uint32_t tx_capacity) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    shim_fd_.reset(sv[0]);
    host_fd_.reset(sv[1]);
    ::fcntl(shim_fd_.get(), F_SETFL, O_NONBLOCK);
    area_.assign(uint64_t{kBuffers} * kNetBufferSize, std::byte{0});
    auto port = std::make_unique<FakeNetPort>(tx_capacity);
    port_ = port.get();
    NetShimOptions o;
    o.device_name = "nic-test";
    o.buffer_area = area_.data();
    o.buffer_area_iova = kAreaIova;
    o.buffer_count = kBuffers;
    o.rx_buffers = kRxBuffers;
    o.frame_fd = shim_fd_.get();
    o.on_driver_fault = [this](const std::string& reason) {
      std::lock_guard l(fault_mu_);
      faults_.push_back(reason);
    };
    shim_ = std::make_unique<NetShim>(o, std::move(port));
    ASSERT_TRUE(shim_->start().ok());
    ASSERT_TRUE(eventually([&] { return port_->rx_free().size() == kRxBuffers; }));
  }

  void TearDown() override { shim_.reset(); }

  void host_send(const std::vector<std::byte>& f) {
    ASSERT_EQ(::write(host_fd_.get(), f.data(), f.size()), ssize_t(f.size()));
  }
  std::byte* buffer_at(uint64_t iova) { return area_.data() + (iova - kAreaIova); }
  size_t fault_count() {
    std::lock_guard l(fault_mu_);
    return faults_.size();
  }
  std::string first_fault() {
    std::lock_guard l(fault_mu_);
    return faults_.empty() ? "" : faults_[0];
  }

  UniqueFd shim_fd_, host_fd_;
  std::vector<std::byte> area_;
  FakeNetPort* port_ = nullptr;
  std::unique_ptr<NetShim> shim_;
  std::mutex fault_mu_;
  std::vector<std::string> faults_;
};

TEST_F(NetShimTest, TxFrameLandsInItsBufferAndTheBufferComesBack) {
  auto a = frame(60, 1), b = frame(1514, 2), c = frame(14, 3);
  host_send(a);
  host_send(b);
  host_send(c);
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 3; }));
  auto reqs = port_->take_tx_requests();
  std::set<uint16_t> ids;
  const std::vector<std::byte>* sent[] = {&a, &b, &c};
  for (size_t i = 0; i < 3; ++i) {
    const NetDescriptor& d = reqs[i];
    ids.insert(d.buffer_id);
    EXPECT_EQ(d.len, sent[i]->size());
    EXPECT_EQ(d.iova, kAreaIova + uint64_t{d.buffer_id} * kNetBufferSize);
    EXPECT_EQ(std::memcmp(buffer_at(d.iova), sent[i]->data(), d.len), 0) << i;
    EXPECT_EQ(shim_->stats().tx_posted.load() >= 1, true);
  }
  EXPECT_EQ(ids.size(), 3u);
  for (auto d : reqs) port_->complete_tx(d);
  ASSERT_TRUE(eventually([&] { return shim_->stats().tx_frames.load() == 3; }));
  EXPECT_EQ(shim_->stats().tx_bytes.load(), 60u + 1514u + 14u);
  EXPECT_TRUE(eventually([&] { return shim_->stats().tx_posted.load() == 0; }));
  EXPECT_EQ(shim_->stats().violations.load(), 0u);
  shim_->stop();
  const NetBufferPool& pool = shim_->buffer_pool();
  EXPECT_EQ(pool.count_in(BufferOwner::kTxPosted), 0u);
  EXPECT_EQ(pool.count_in(BufferOwner::kRxPosted), kRxBuffers);
  EXPECT_EQ(pool.count_in(BufferOwner::kFree), kBuffers - kRxBuffers);
}

TEST_F(NetShimTest, TxErrorStatusReturnsTheBufferAndCountsIt) {
  host_send(frame(100, 9));
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 1; }));
  NetDescriptor d = port_->take_tx_requests()[0];
  d.status = static_cast<uint16_t>(NetStatus::kError);
  port_->complete_tx(d);
  ASSERT_TRUE(eventually([&] { return shim_->stats().tx_errors.load() == 1; }));
  EXPECT_EQ(shim_->stats().tx_frames.load(), 0u);
  EXPECT_EQ(fault_count(), 0u);
}

TEST_F(NetShimTest, RxFrameIsDeliveredAndItsBufferReposted) {
  std::vector<NetDescriptor> posted = port_->rx_free();
  ASSERT_EQ(posted.size(), kRxBuffers);
  for (const auto& d : posted) EXPECT_EQ(d.len, kNetBufferSize);
  NetDescriptor d = port_->take_rx_free();
  auto f = frame(1514, 42);
  std::memcpy(buffer_at(d.iova), f.data(), f.size());
  d.len = 1514;
  port_->complete_rx(d);
  std::vector<std::byte> got(4096);
  ssize_t n = -1;
  ASSERT_TRUE(eventually([&] {
    n = ::recv(host_fd_.get(), got.data(), got.size(), MSG_DONTWAIT);
    return n > 0;
  }));
  ASSERT_EQ(n, 1514);
  EXPECT_EQ(std::memcmp(got.data(), f.data(), 1514), 0);
  EXPECT_EQ(shim_->stats().rx_frames.load(), 1u);
  EXPECT_EQ(shim_->stats().rx_bytes.load(), 1514u);
  // The fake holds kRxBuffers - 1; the shim tops it up to kRxBuffers again.
  EXPECT_TRUE(eventually([&] { return port_->rx_free().size() == kRxBuffers; }));
  EXPECT_EQ(shim_->stats().rx_posted.load(), kRxBuffers);
}

TEST_F(NetShimTest, RxStatusDroppedIsNotDelivered) {
  NetDescriptor d = port_->take_rx_free();
  d.len = 0;
  d.status = static_cast<uint16_t>(NetStatus::kDropped);
  port_->complete_rx(d);
  ASSERT_TRUE(eventually([&] { return shim_->stats().rx_errors.load() == 1; }));
  char b[64];
  EXPECT_LT(::recv(host_fd_.get(), b, sizeof b, MSG_DONTWAIT), 0);
  EXPECT_EQ(fault_count(), 0u);
}

// Each hostile return: counted, reported once, and the named buffer is not
// taken back (its owner does not change).
struct Hostile {
  const char* what;
  std::string_view expect_in_reason;
};

TEST_F(NetShimTest, HostileReturnsAreViolationsAndLeaveBuffersAlone) {
  // A buffer the driver really holds for RX, and one for TX.
  NetDescriptor rx = port_->take_rx_free();
  host_send(frame(64, 5));
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 1; }));
  NetDescriptor tx = port_->take_tx_requests()[0];

  // 1. buffer id out of range
  NetDescriptor bad = tx;
  bad.buffer_id = kBuffers;
  port_->complete_tx(bad);
  // The counter moves before the fault callback has stored its reason.
  ASSERT_TRUE(
      eventually([&] { return shim_->stats().violations.load() == 1 && !first_fault().empty(); }));
  EXPECT_NE(first_fault().find("buffer not held by the driver for TX"), std::string::npos)
      << first_fault();
  // 2. an RX buffer returned on tx_done (wrong direction)
  bad = rx;
  port_->complete_tx(bad);
  ASSERT_TRUE(eventually([&] { return shim_->stats().violations.load() == 2; }));
  // 3. a free buffer on rx_done (never posted)
  bad = rx;
  bad.buffer_id = tx.buffer_id == 31 ? 30 : 31;
  bad.iova = kAreaIova + uint64_t{bad.buffer_id} * kNetBufferSize;
  bad.len = 60;
  port_->complete_rx(bad);
  ASSERT_TRUE(eventually([&] { return shim_->stats().violations.load() == 3; }));
  // 4. right buffer, IOVA altered (would point the TAP write elsewhere)
  bad = rx;
  bad.iova += 64;
  bad.len = 60;
  port_->complete_rx(bad);
  ASSERT_TRUE(eventually([&] { return shim_->stats().violations.load() == 4; }));
  // 5. received length past the buffer, and 6. shorter than a header
  bad = rx;
  bad.len = kNetBufferSize + 1;
  port_->complete_rx(bad);
  bad.len = 0;
  port_->complete_rx(bad);
  ASSERT_TRUE(eventually([&] { return shim_->stats().violations.load() == 6; }));
  EXPECT_EQ(shim_->stats().rx_frames.load(), 0u);
  EXPECT_EQ(shim_->stats().tx_frames.load(), 0u);

  // 7. a correct TX return, then the same buffer again (double return)
  port_->complete_tx(tx);
  ASSERT_TRUE(eventually([&] { return shim_->stats().tx_frames.load() == 1; }));
  port_->complete_tx(tx);
  ASSERT_TRUE(eventually([&] { return shim_->stats().violations.load() == 7; }));
  EXPECT_EQ(shim_->stats().tx_frames.load(), 1u);

  EXPECT_EQ(fault_count(), 1u) << "the fault is reported once";
  shim_->stop();
  const NetBufferPool& pool = shim_->buffer_pool();
  EXPECT_EQ(pool.owner(rx.buffer_id), BufferOwner::kRxPosted);  // still the driver's
  EXPECT_EQ(pool.owner(tx.buffer_id), BufferOwner::kFree);
  EXPECT_EQ(pool.count_in(BufferOwner::kRxPosted), kRxBuffers);
  EXPECT_EQ(pool.count_in(BufferOwner::kTxPosted), 0u);
  EXPECT_EQ(pool.count_in(BufferOwner::kShim), 0u);
}

TEST_F(NetShimTest, FullTxRingStopsReadingTheTap) {
  shim_.reset();
  start(/*tx_capacity=*/4);
  for (int i = 0; i < 10; ++i) host_send(frame(100, static_cast<uint8_t>(i)));
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 4; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(port_->tx_request_count(), 4u) << "read past a full ring";
  EXPECT_GE(shim_->stats().backpressure.load(), 1u);
  // The 6 frames the shim left are still queued on the "TAP", in order.
  auto first = port_->take_tx_requests();
  EXPECT_EQ(std::to_integer<int>(buffer_at(first[0].iova)[0]), 0);
  for (auto d : first) port_->complete_tx(d);
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 4; }));
  auto second = port_->take_tx_requests();
  EXPECT_EQ(std::to_integer<int>(buffer_at(second[0].iova)[0]), 4);
  for (auto d : second) port_->complete_tx(d);
  ASSERT_TRUE(eventually([&] { return shim_->stats().tx_frames.load() == 8; }));
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 2; }));
}

TEST_F(NetShimTest, NoFreeTxBufferStopsReadingTheTap) {
  // 32 buffers, 8 posted for RX: 24 can carry TX; the ring (64) is not the limit.
  for (int i = 0; i < 30; ++i) host_send(frame(80, static_cast<uint8_t>(i)));
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == kBuffers - kRxBuffers; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(port_->tx_request_count(), kBuffers - kRxBuffers);
  EXPECT_EQ(shim_->stats().tx_posted.load(), kBuffers - kRxBuffers);
  for (auto d : port_->take_tx_requests()) port_->complete_tx(d);
  ASSERT_TRUE(eventually([&] { return port_->tx_request_count() == 6; }));
  EXPECT_EQ(fault_count(), 0u);
}

TEST(NetBufferPoolTest, AccountsForEveryBuffer) {
  std::vector<std::byte> area(4 * 2048);
  NetBufferPool pool(area.data(), 0x1000, 4, 2048);
  EXPECT_EQ(pool.count_in(BufferOwner::kFree), 4u);
  auto a = pool.take(), b = pool.take();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, 0);
  EXPECT_EQ(*b, 1);
  EXPECT_EQ(pool.iova(*b), 0x1000u + 2048);
  EXPECT_EQ(pool.data(*b), area.data() + 2048);
  pool.post(*a, BufferOwner::kTxPosted);
  pool.post(*b, BufferOwner::kRxPosted);
  EXPECT_FALSE(pool.reclaim(*a, BufferOwner::kRxPosted));  // wrong direction
  EXPECT_FALSE(pool.reclaim(4, BufferOwner::kTxPosted));   // out of range
  EXPECT_FALSE(pool.reclaim(2, BufferOwner::kTxPosted));   // free, never posted
  EXPECT_TRUE(pool.reclaim(*a, BufferOwner::kTxPosted));
  EXPECT_FALSE(pool.reclaim(*a, BufferOwner::kTxPosted));  // twice
  pool.give_back(*a);
  EXPECT_EQ(pool.count_in(BufferOwner::kFree), 3u);
  EXPECT_EQ(pool.count_in(BufferOwner::kRxPosted), 1u);
  EXPECT_EQ(pool.owners()[*b], BufferOwner::kRxPosted);
  EXPECT_TRUE(pool.take() && pool.take() && pool.take());
  EXPECT_FALSE(pool.take());
}

// The isolated-mode port over a real net ring region: a driver that moves its
// consumer index past what was published is caught as a violation.
TEST(RingNetDriverPortTest, ImpossibleIndexIsAViolation) {
  abi::NetRingRegionHeader h = abi::net_ring_region_layout(8, 8);
  std::vector<std::byte> region(h.region_size);
  std::memcpy(region.data(), &h, sizeof h);
  abi::NetRingRegionView view{region.data(), h};
  EventFd driver_wake = std::move(EventFd::create().value());
  EventFd shim_wake = std::move(EventFd::create().value());
  RingNetDriverPort port(view, driver_wake, shim_wake);
  EXPECT_EQ(port.tx_space(), 8u);
  port.stage_tx(0, NetDescriptor{0, 60, 0, 0});
  port.commit_tx(1);
  auto consumer = view.consumer(abi::NetRing::kTxRequest);
  ASSERT_EQ(consumer.available(), 1u);
  EXPECT_EQ(consumer.peek(0).len, 60u);
  // Driver returns it on tx_done.
  auto producer = view.producer(abi::NetRing::kTxDone);
  producer.stage(0, NetDescriptor{0, 60, 0, 0});
  producer.publish(1);
  NetDescriptor out[4];
  EXPECT_EQ(port.reap_tx_done(out), 1u);
  EXPECT_FALSE(port.protocol_violated());
  // A hostile tail on rx_done, far past anything possible.
  view.indices(abi::NetRing::kRxDone)->producer.tail = 1000;
  EXPECT_EQ(port.reap_rx_done(out), 0u);
  EXPECT_TRUE(port.protocol_violated());
}

}  // namespace
}  // namespace uldd::shim
