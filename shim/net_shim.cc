#include "shim/net_shim.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace uldd::shim {

using abi::NetDescriptor;
using abi::NetStatus;

NetShim::NetShim(NetShimOptions options, std::unique_ptr<NetDriverPort> port)
    : options_(std::move(options)),
      port_(std::move(port)),
      pool_(options_.buffer_area, options_.buffer_area_iova, options_.buffer_count, kNetBufferSize),
      tx_len_(options_.buffer_count, 0),
      reap_batch_(256) {}

NetShim::~NetShim() {
  stop();
}

Status NetShim::start() {
  if (options_.rx_buffers == 0 || options_.rx_buffers >= options_.buffer_count)
    return plain_error(options_.device_name + ": rx_buffers must be in 1..buffer_count-1");
  auto wake = EventFd::create();
  if (!wake) return wake.error();
  stop_wake_ = std::move(wake.value());
  thread_ = std::thread([this] { run(); });
  return {};
}

void NetShim::stop() {
  stop_requested_.store(true, std::memory_order_release);
  if (stop_wake_.valid()) stop_wake_.signal();
  if (thread_.joinable()) thread_.join();
}

void NetShim::violation(const std::string& reason) {
  uint64_t n = stats_.violations.fetch_add(1, std::memory_order_relaxed);
  if (n < 10) spdlog::warn("{}: driver protocol violation: {}", options_.device_name, reason);
  if (fault_reported_) return;
  fault_reported_ = true;
  spdlog::error("{}: driver fault: {}", options_.device_name, reason);
  if (options_.on_driver_fault) options_.on_driver_fault(reason);
}

void NetShim::publish_gauges() {
  stats_.tx_posted.store(pool_.count_in(BufferOwner::kTxPosted), std::memory_order_relaxed);
  stats_.rx_posted.store(pool_.count_in(BufferOwner::kRxPosted), std::memory_order_relaxed);
}

// A returned descriptor is believed only if it names a buffer the driver holds
// in this direction, at that buffer's IOVA. Anything else is dropped untouched:
// the buffer may still be in the device's hands.
static std::string describe(const NetDescriptor& d) {
  return fmt::format("buffer_id={} iova={:#x} len={} status={}", d.buffer_id, d.iova, d.len,
                     d.status);
}

bool NetShim::harvest_tx_done() {
  uint32_t n = port_->reap_tx_done(reap_batch_);
  for (uint32_t i = 0; i < n; ++i) {
    const NetDescriptor d = reap_batch_[i];
    if (d.buffer_id >= pool_.size() || pool_.owner(d.buffer_id) != BufferOwner::kTxPosted) {
      violation("tx_done " + describe(d) + ": buffer not held by the driver for TX");
      continue;
    }
    if (d.iova != pool_.iova(d.buffer_id)) {
      violation("tx_done " + describe(d) + ": IOVA is not the buffer's");
      continue;
    }
    pool_.reclaim(d.buffer_id, BufferOwner::kTxPosted);
    if (d.status == static_cast<uint16_t>(NetStatus::kOk)) {
      stats_.tx_frames.fetch_add(1, std::memory_order_relaxed);
      stats_.tx_bytes.fetch_add(tx_len_[d.buffer_id], std::memory_order_relaxed);
    } else {
      stats_.tx_errors.fetch_add(1, std::memory_order_relaxed);
    }
    pool_.give_back(d.buffer_id);
  }
  return n > 0;
}

bool NetShim::harvest_rx_done() {
  uint32_t n = port_->reap_rx_done(reap_batch_);
  for (uint32_t i = 0; i < n; ++i) {
    const NetDescriptor d = reap_batch_[i];
    if (d.buffer_id >= pool_.size() || pool_.owner(d.buffer_id) != BufferOwner::kRxPosted) {
      violation("rx_done " + describe(d) + ": buffer not held by the driver for RX");
      continue;
    }
    if (d.iova != pool_.iova(d.buffer_id)) {
      violation("rx_done " + describe(d) + ": IOVA is not the buffer's");
      continue;
    }
    bool ok = d.status == static_cast<uint16_t>(NetStatus::kOk);
    if (ok && (d.len < abi::kMinFrameBytes || d.len > kNetBufferSize)) {
      // The length is where the TAP write would read from: never past the buffer.
      violation("rx_done " + describe(d) + ": frame length outside " +
                std::to_string(abi::kMinFrameBytes) + ".." + std::to_string(kNetBufferSize));
      continue;
    }
    pool_.reclaim(d.buffer_id, BufferOwner::kRxPosted);
    if (!ok) {
      stats_.rx_errors.fetch_add(1, std::memory_order_relaxed);
    } else if (::write(options_.frame_fd, pool_.data(d.buffer_id), d.len) ==
               static_cast<ssize_t>(d.len)) {
      stats_.rx_frames.fetch_add(1, std::memory_order_relaxed);
      stats_.rx_bytes.fetch_add(d.len, std::memory_order_relaxed);
    } else {
      // The TAP is down or its queue is full: the frame is lost here, as a
      // NIC loses what the host does not take.
      stats_.rx_dropped.fetch_add(1, std::memory_order_relaxed);
    }
    pool_.give_back(d.buffer_id);
  }
  return n > 0;
}

bool NetShim::replenish_rx() {
  uint32_t want =
      options_.rx_buffers - std::min(options_.rx_buffers, pool_.count_in(BufferOwner::kRxPosted));
  uint32_t space = port_->rx_free_space();
  uint32_t n = 0;
  while (n < want && n < space) {
    auto id = pool_.take();
    if (!id) break;
    pool_.post(*id, BufferOwner::kRxPosted);
    port_->stage_rx_free(n++, NetDescriptor{pool_.iova(*id), kNetBufferSize, *id, 0});
  }
  port_->commit_rx_free(n);
  return n > 0;
}

// TX may go on while the ring has room and a buffer is free beyond what RX is
// still owed (RX gets its share back as frames are delivered).
bool NetShim::tx_possible() {
  return port_->tx_space() > 0 && pool_.count_in(BufferOwner::kFree) > 0;
}

bool NetShim::pump_tap() {
  uint32_t space = std::min(port_->tx_space(), options_.batch);
  uint32_t n = 0;
  bool progress = false;
  while (n < space) {
    auto id = pool_.take();
    if (!id) break;
    ssize_t got = ::read(options_.frame_fd, pool_.data(*id), kNetBufferSize);
    if (got < 0) {
      pool_.give_back(*id);
      if (errno != EAGAIN && errno != EINTR)
        spdlog::warn("{}: TAP read: {}", options_.device_name, std::strerror(errno));
      break;
    }
    progress = true;
    if (got < static_cast<ssize_t>(abi::kMinFrameBytes)) {
      stats_.tx_runts.fetch_add(1, std::memory_order_relaxed);
      pool_.give_back(*id);
      continue;
    }
    tx_len_[*id] = static_cast<uint32_t>(got);
    pool_.post(*id, BufferOwner::kTxPosted);
    port_->stage_tx(n++, NetDescriptor{pool_.iova(*id), static_cast<uint32_t>(got), *id, 0});
  }
  port_->commit_tx(n);
  return progress;
}

void NetShim::run() {
  while (!stop_requested_.load(std::memory_order_acquire)) {
    bool progress = harvest_tx_done();
    progress |= harvest_rx_done();
    progress |= replenish_rx();
    bool can_tx = tx_possible();
    if (can_tx) progress |= pump_tap();
    if (port_->protocol_violated())
      violation("impossible ring index (the driver claims more than was published or released)");
    publish_gauges();
    if (!can_tx && !tap_blocked_) stats_.backpressure.fetch_add(1, std::memory_order_relaxed);
    tap_blocked_ = !can_tx;
    if (progress) continue;

    // Nothing moved: announce the sleep (and whether we wait for tx_request
    // space) and re-check, then block. The TAP is polled only when a frame
    // read from it could go somewhere: that is the back-pressure.
    bool waiting_for_space = port_->tx_space() == 0;
    if (port_->prepare_sleep(waiting_for_space)) continue;
    pollfd fds[3] = {{port_->wake_fd(), POLLIN, 0},
                     {stop_wake_.fd(), POLLIN, 0},
                     {options_.frame_fd, POLLIN, 0}};
    ::poll(fds, can_tx ? 3 : 2, 100);
    port_->finish_sleep();
    if (fds[0].revents & POLLIN) port_->on_wake();
  }
  publish_gauges();
}

}  // namespace uldd::shim
