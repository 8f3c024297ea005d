// NetShim recovery (hold/restart/release_quarantine) against a fake driver
// that dies mid-way: it has taken TX frames and RX buffers, sent some, posted
// a few done descriptors nobody harvested yet, and then stops answering. The
// TAP is a datagram socketpair (one read = one frame, as with IFF_NO_PI).
// Checked: the dead driver's done descriptors are harvested, the rings are
// reset, held TX frames are reissued in original order (or dropped and
// counted), the TAP is not read while held, RX buffers the device held stay
// quarantined until the device was reset, and no buffer is ever returned or
// handed out twice. Warm (kAdopt): every held buffer is resent flagged, first
// in its ring, nothing is quarantined, and a cold restart after a refusal
// still quarantines and reissues.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "shim/net_shim.h"

namespace uldd::shim {
namespace {

using abi::NetDescriptor;
using abi::NetStatus;
using namespace std::chrono_literals;

constexpr uint32_t kBuffers = 32;
constexpr uint32_t kRxBuffers = 8;
constexpr uint64_t kAreaIova = 0x20000;

// Plays the driver: keeps what the shim posts, returns what the test says.
// reset() is what the supervisor's ring reset does to the real rings.
class DyingDriverPort final : public NetDriverPort {
 public:
  DyingDriverPort() { wake_ = std::move(EventFd::create().value()); }

  uint32_t tx_space() override {
    std::lock_guard l(mu_);
    return 64 - static_cast<uint32_t>(tx_requests_.size());
  }
  void stage_tx(uint32_t, const NetDescriptor& d) override {
    std::lock_guard l(mu_);
    tx_requests_.push_back(d);
  }
  void commit_tx(uint32_t) override {}
  uint32_t rx_free_space() override {
    std::lock_guard l(mu_);
    return 64 - static_cast<uint32_t>(rx_free_.size());
  }
  void stage_rx_free(uint32_t, const NetDescriptor& d) override {
    std::lock_guard l(mu_);
    rx_free_.push_back(d);
  }
  void commit_rx_free(uint32_t) override {}
  uint32_t reap_tx_done(std::span<NetDescriptor> out) override { return pop(tx_done_, out); }
  uint32_t reap_rx_done(std::span<NetDescriptor> out) override { return pop(rx_done_, out); }
  int wake_fd() const override { return wake_.fd(); }
  void on_wake() override { wake_.drain(); }
  bool prepare_sleep(bool) override {
    std::lock_guard l(mu_);
    return !tx_done_.empty() || !rx_done_.empty();
  }
  void finish_sleep() override {}
  bool protocol_violated() const override { return false; }
  void reset() override {
    std::lock_guard l(mu_);
    tx_requests_.clear();
    rx_free_.clear();
    tx_done_.clear();
    rx_done_.clear();
    ++resets_;
  }

  // Test side. Posting to a done ring without waking the shim models a
  // driver that wrote the descriptor and died before kicking.
  void post_tx_done(const NetDescriptor& d, bool kick = true) { push(tx_done_, d, kick); }
  void post_rx_done(const NetDescriptor& d, bool kick = true) { push(rx_done_, d, kick); }
  std::vector<NetDescriptor> tx_requests() {
    std::lock_guard l(mu_);
    return {tx_requests_.begin(), tx_requests_.end()};
  }
  std::vector<NetDescriptor> rx_free() {
    std::lock_guard l(mu_);
    return {rx_free_.begin(), rx_free_.end()};
  }
  int resets() {
    std::lock_guard l(mu_);
    return resets_;
  }

 private:
  uint32_t pop(std::deque<NetDescriptor>& q, std::span<NetDescriptor> out) {
    std::lock_guard l(mu_);
    uint32_t n = 0;
    while (n < out.size() && !q.empty()) {
      out[n++] = q.front();
      q.pop_front();
    }
    return n;
  }
  void push(std::deque<NetDescriptor>& q, const NetDescriptor& d, bool kick) {
    {
      std::lock_guard l(mu_);
      q.push_back(d);
    }
    if (kick) wake_.signal();
  }

  std::mutex mu_;
  std::deque<NetDescriptor> tx_requests_, rx_free_, tx_done_, rx_done_;
  int resets_ = 0;
  EventFd wake_;
};

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
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<std::byte>(seed * 31 + i);
  return f;
}

class NetShimRestartTest : public testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    shim_fd_.reset(sv[0]);
    host_fd_.reset(sv[1]);
    ::fcntl(shim_fd_.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(host_fd_.get(), F_SETFL, O_NONBLOCK);
    area_.assign(uint64_t{kBuffers} * kNetBufferSize, std::byte{0});
    auto port = std::make_unique<DyingDriverPort>();
    port_ = port.get();
    NetShimOptions o;
    o.device_name = "nic-restart-test";
    o.buffer_area = area_.data();
    o.buffer_area_iova = kAreaIova;
    o.buffer_count = kBuffers;
    o.rx_buffers = kRxBuffers;
    o.frame_fd = shim_fd_.get();
    o.on_driver_fault = [this](const std::string&) { faults_.fetch_add(1); };
    shim_ = std::make_unique<NetShim>(o, std::move(port));
    ASSERT_TRUE(shim_->start().ok());
    ASSERT_TRUE(eventually([&] { return port_->rx_free().size() == kRxBuffers; }));
  }
  void TearDown() override { shim_.reset(); }

  void host_send(const std::vector<std::byte>& f) {
    ASSERT_EQ(::write(host_fd_.get(), f.data(), f.size()), ssize_t(f.size()));
  }
  std::vector<std::byte> host_recv() {
    std::vector<std::byte> buf(4096);
    ssize_t n = -1;
    eventually([&] { return (n = ::read(host_fd_.get(), buf.data(), buf.size())) >= 0; });
    buf.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return buf;
  }
  std::vector<std::byte> contents(const NetDescriptor& d) {
    const std::byte* p = area_.data() + (d.iova - kAreaIova);
    return {p, p + d.len};
  }
  // The driver took n frames and "dies": returns what it holds.
  std::vector<NetDescriptor> send_frames_to_driver(uint8_t first_seed, size_t n) {
    for (size_t i = 0; i < n; ++i) host_send(frame(60 + i * 100, first_seed + i));
    EXPECT_TRUE(eventually([&] { return port_->tx_requests().size() == n; }));
    return port_->tx_requests();
  }
  static std::set<uint16_t> ids(const std::vector<NetDescriptor>& v) {
    std::set<uint16_t> s;
    for (auto& d : v) s.insert(d.buffer_id);
    return s;
  }

  UniqueFd shim_fd_, host_fd_;
  std::vector<std::byte> area_;
  DyingDriverPort* port_ = nullptr;
  std::unique_ptr<NetShim> shim_;
  std::atomic<int> faults_{0};
};

TEST_F(NetShimRestartTest, ReissuesHeldTxInOrderAndQuarantinesRxUntilReset) {
  std::vector<NetDescriptor> tx = send_frames_to_driver(1, 5);
  std::vector<NetDescriptor> rx_before = port_->rx_free();
  // The dead driver's last words: frame #1 was sent, one RX buffer got a
  // frame. Posted, never kicked: restart() must harvest them itself.
  NetDescriptor sent = tx[1];
  port_->post_tx_done(sent, /*kick=*/false);
  NetDescriptor got = rx_before[0];
  auto wire = frame(200, 77);
  std::memcpy(area_.data() + (got.iova - kAreaIova), wire.data(), wire.size());
  got.len = static_cast<uint32_t>(wire.size());
  port_->post_rx_done(got, /*kick=*/false);

  shim_->hold();
  EXPECT_TRUE(shim_->held());
  // Held: frames the host sends now stay in the TAP, nothing is posted.
  host_send(frame(900, 40));
  host_send(frame(901, 41));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(port_->tx_requests().size(), 5u);

  auto queued = shim_->restart(TxResendMode::kReissue);
  ASSERT_TRUE(queued.ok()) << queued.error().describe();
  EXPECT_EQ(*queued, 4u);
  EXPECT_FALSE(shim_->held());
  EXPECT_EQ(port_->resets(), 1);
  EXPECT_EQ(host_recv(), wire);  // the harvested RX frame reached the host
  const auto& st = shim_->stats();
  EXPECT_EQ(st.tx_frames.load(), 1u);
  EXPECT_EQ(st.tx_reissued.load(), 4u);
  EXPECT_EQ(st.rx_reclaimed_on_restart.load(), kRxBuffers - 1);

  // The successor sees the four held frames first, in original order, same
  // buffers and bytes, then the two the TAP kept.
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 6; }));
  auto after = port_->tx_requests();
  std::vector<NetDescriptor> expect = {tx[0], tx[2], tx[3], tx[4]};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(after[i].buffer_id, expect[i].buffer_id) << i;
    EXPECT_EQ(after[i].len, expect[i].len) << i;
    EXPECT_EQ(contents(after[i]), frame(60 + (i == 0 ? 0 : i + 1) * 100, 1 + (i == 0 ? 0 : i + 1)));
  }
  EXPECT_EQ(contents(after[4]), frame(900, 40));
  EXPECT_EQ(contents(after[5]), frame(901, 41));

  // RX: fresh buffers posted, none of them one the old device may still hold.
  std::set<uint16_t> old_rx = ids(rx_before);
  old_rx.erase(got.buffer_id);  // delivered, so free again
  ASSERT_TRUE(eventually([&] { return port_->rx_free().size() == kRxBuffers; }));
  for (uint16_t id : ids(port_->rx_free())) EXPECT_FALSE(old_rx.count(id)) << id;
  EXPECT_EQ(st.quarantined.load(), kRxBuffers - 1);
  for (uint16_t id : old_rx) EXPECT_EQ(shim_->buffer_pool().owner(id), BufferOwner::kQuarantined);

  // A stale return of a quarantined buffer is not the successor's to make.
  NetDescriptor stale = rx_before[1];
  stale.len = 60;
  port_->post_rx_done(stale);
  ASSERT_TRUE(eventually([&] { return st.violations.load() == 1 && faults_.load() == 1; }));

  shim_->release_quarantine();
  ASSERT_TRUE(eventually([&] { return st.quarantined.load() == 0; }));
  EXPECT_EQ(st.restarts.load(), 1u);
}

TEST_F(NetShimRestartTest, DropModeCountsAndKeepsBuffersUntilReset) {
  std::vector<NetDescriptor> tx = send_frames_to_driver(9, 3);
  shim_->hold();
  auto queued = shim_->restart(TxResendMode::kDrop);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(*queued, 0u);
  const auto& st = shim_->stats();
  EXPECT_EQ(st.tx_dropped_on_restart.load(), 3u);
  EXPECT_EQ(st.quarantined.load(), 3u + kRxBuffers);
  for (auto& d : tx) EXPECT_EQ(shim_->buffer_pool().owner(d.buffer_id), BufferOwner::kQuarantined);
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(port_->tx_requests().empty());  // nothing reissued

  // A dropped frame's late tx_done is refused; the buffer stays quarantined.
  port_->post_tx_done(tx[0]);
  ASSERT_TRUE(eventually([&] { return st.violations.load() == 1; }));
  EXPECT_EQ(st.tx_frames.load(), 0u);
  shim_->release_quarantine();
  ASSERT_TRUE(eventually([&] { return st.quarantined.load() == 0; }));
  // Every buffer accounted for: free or posted for RX, none lost.
  ASSERT_TRUE(eventually([&] { return st.rx_posted.load() == kRxBuffers; }));
  host_send(frame(64, 3));  // and TX works again
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 1; }));
  EXPECT_EQ(contents(port_->tx_requests()[0]), frame(64, 3));
}

TEST_F(NetShimRestartTest, SecondRestartAfterRefusedWarmKeepsOrderAndBuffersOnce) {
  // As the engine does when a warm start is refused: restart, the successor
  // exits without touching the rings, restart again for cold.
  std::vector<NetDescriptor> tx = send_frames_to_driver(20, 4);
  shim_->hold();
  ASSERT_EQ(shim_->restart(TxResendMode::kReissue).value(), 4u);
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 4; }));
  host_send(frame(300, 99));
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 5; }));
  shim_->hold();
  ASSERT_EQ(shim_->restart(TxResendMode::kReissue).value(), 5u);
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 5; }));
  auto after = port_->tx_requests();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(after[i].buffer_id, tx[i].buffer_id) << i;
  EXPECT_EQ(contents(after[4]), frame(300, 99));
  EXPECT_EQ(ids(after).size(), 5u);  // no buffer twice

  // The successor completes everything exactly once; a second return of the
  // same buffer is a violation.
  const auto& st = shim_->stats();
  EXPECT_EQ(st.first_completion_after_restart_ns.load(), 0);
  for (auto& d : after) port_->post_tx_done(d);
  ASSERT_TRUE(eventually([&] { return st.tx_frames.load() == 5; }));
  EXPECT_NE(st.first_completion_after_restart_ns.load(), 0);
  port_->post_tx_done(after[0]);
  ASSERT_TRUE(eventually([&] { return st.violations.load() == 1; }));
  EXPECT_EQ(st.tx_frames.load(), 5u);
  EXPECT_EQ(st.tx_posted.load(), 0u);
}

TEST_F(NetShimRestartTest, WarmRestartResendsEveryHeldBufferFlaggedThenColdAfterRefusal) {
  std::vector<NetDescriptor> tx = send_frames_to_driver(50, 3);
  std::vector<NetDescriptor> rx_before = port_->rx_free();
  ASSERT_EQ(rx_before.size(), kRxBuffers);
  // The dead driver's last words: frame #1 sent, RX buffer #0 filled.
  port_->post_tx_done(tx[1], /*kick=*/false);
  NetDescriptor got = rx_before[0];
  got.len = 60;
  port_->post_rx_done(got, /*kick=*/false);

  shim_->hold();
  auto adopt = shim_->restart(TxResendMode::kAdopt);
  ASSERT_TRUE(adopt.ok());
  EXPECT_EQ(*adopt, 2u + (kRxBuffers - 1));  // the launch's adopt_count
  const auto& st = shim_->stats();
  EXPECT_EQ(st.quarantined.load(), 0u);
  EXPECT_EQ(st.resent_for_adoption.load(), *adopt);
  EXPECT_EQ(st.tx_frames.load(), 1u);
  // Staged before restart() returned: the flagged descriptors lead both rings.
  auto txr = port_->tx_requests();
  ASSERT_EQ(txr.size(), 2u);
  EXPECT_EQ(txr[0].buffer_id, tx[0].buffer_id);
  EXPECT_EQ(txr[1].buffer_id, tx[2].buffer_id);
  EXPECT_EQ(txr[1].len, tx[2].len);
  for (auto& d : txr) EXPECT_EQ(d.status, abi::kNetFlagAdopt);
  ASSERT_TRUE(eventually([&] { return port_->rx_free().size() == kRxBuffers; }));
  auto rxf = port_->rx_free();
  for (uint32_t i = 0; i + 1 < kRxBuffers; ++i) {
    EXPECT_EQ(rxf[i].buffer_id, rx_before[i + 1].buffer_id) << i;  // oldest first
    EXPECT_EQ(rxf[i].status, abi::kNetFlagAdopt) << i;
  }
  EXPECT_EQ(rxf.back().status, 0u);  // the delivered buffer's replacement is fresh
  host_send(frame(400, 7));  // new TX goes after the adopted frames, unflagged
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 3; }));
  EXPECT_EQ(port_->tx_requests()[2].status, 0u);

  // The warm successor refuses (exit 6): the engine prepares a cold start.
  // Every buffer the refused driver was offered goes back as after a crash:
  // TX reissued in order, unflagged; RX quarantined until the reset.
  shim_->hold();
  auto cold = shim_->restart(TxResendMode::kReissue);
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ(*cold, 3u);
  // (Cold reissues are staged by the shim's loop, not by restart().)
  ASSERT_TRUE(eventually([&] { return port_->tx_requests().size() == 3; }));
  txr = port_->tx_requests();
  EXPECT_EQ(txr[0].buffer_id, tx[0].buffer_id);
  EXPECT_EQ(txr[1].buffer_id, tx[2].buffer_id);
  EXPECT_EQ(contents(txr[2]), frame(400, 7));
  for (auto& d : txr) EXPECT_EQ(d.status, 0u);
  EXPECT_EQ(st.quarantined.load(), kRxBuffers);
  ASSERT_TRUE(eventually([&] { return port_->rx_free().size() == kRxBuffers; }));
  std::set<uint16_t> held = ids(rxf);
  for (auto& d : port_->rx_free()) {
    EXPECT_EQ(d.status, 0u);
    EXPECT_FALSE(held.count(d.buffer_id)) << d.buffer_id;
  }
  shim_->release_quarantine();
  ASSERT_TRUE(eventually([&] { return st.quarantined.load() == 0; }));
}

TEST_F(NetShimRestartTest, RestartOfAStoppedShimIsAnError) {
  shim_->stop();
  auto r = shim_->restart(TxResendMode::kReissue);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace uldd::shim
