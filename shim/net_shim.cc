#include "shim/net_shim.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>

namespace uldd::shim {

using abi::NetDescriptor;
using abi::NetStatus;

NetShim::NetShim(NetShimOptions options, std::unique_ptr<NetDriverPort> port)
    : options_(std::move(options)),
      port_(std::move(port)),
      pool_(options_.buffer_area, options_.buffer_area_iova, options_.buffer_count, kNetBufferSize),
      tx_len_(options_.buffer_count, 0),
      tx_seq_(options_.buffer_count, 0),
      tx_given_at_(options_.buffer_count),
      rx_seq_(options_.buffer_count, 0),
      reap_batch_(256) {
  set_tx_timeout(options_.tx_timeout);
}

NetShim::~NetShim() {
  stop();
}

Status NetShim::start() {
  if (options_.rx_buffers == 0 || options_.rx_buffers >= options_.buffer_count)
    return plain_error(options_.device_name + ": rx_buffers must be in 1..buffer_count-1");
  auto wake = EventFd::create();
  if (!wake) return wake.error();
  wake_ = std::move(wake.value());
  thread_ = std::thread([this] { run(); });
  std::lock_guard lock(command_mutex_);
  commands_closed_ = false;
  return {};
}

void NetShim::stop() {
  {
    std::lock_guard lock(command_mutex_);
    commands_closed_ = true;
  }
  stop_requested_.store(true, std::memory_order_release);
  if (wake_.valid()) wake_.signal();
  if (thread_.joinable()) thread_.join();
  // Commands posted before the door closed and not yet run: the thread is
  // gone, so run them here (a restart() caller is waiting for its answer).
  run_commands();
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
  stats_.quarantined.store(pool_.count_in(BufferOwner::kQuarantined), std::memory_order_relaxed);
}

void NetShim::note_returned() {
  if (!awaiting_first_completion_) return;
  awaiting_first_completion_ = false;
  stats_.first_completion_after_restart_ns.store(
      std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_release);
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
    note_returned();
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
  rx_returned_ += n;
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
    note_returned();
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
    rx_seq_[*id] = next_rx_seq_++;
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
  // One clock read per batch for the TX watch (it is coarse: a tenth of the
  // timeout), not one per frame.
  const auto now = std::chrono::steady_clock::now();
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
    tx_seq_[*id] = next_tx_seq_++;
    tx_given_at_[*id] = now;
    pool_.post(*id, BufferOwner::kTxPosted);
    port_->stage_tx(n++, NetDescriptor{pool_.iova(*id), static_cast<uint32_t>(got), *id, 0});
  }
  port_->commit_tx(n);
  return progress;
}

// Frames taken back from a dead driver go first, oldest first: a TCP peer
// sees them as (at worst) reordered by nothing and duplicated by the device.
bool NetShim::issue_resend() {
  const auto now = std::chrono::steady_clock::now();
  uint32_t space = port_->tx_space();
  uint32_t n = 0;
  while (n < space && !tx_resend_.empty()) {
    uint16_t id = tx_resend_.front();
    tx_resend_.pop_front();
    tx_given_at_[id] = now;  // a fresh clock for the successor
    pool_.post(id, BufferOwner::kTxPosted);
    uint16_t flag = resend_adopt_ ? abi::kNetFlagAdopt : 0;
    port_->stage_tx(n++, NetDescriptor{pool_.iova(id), tx_len_[id], id, flag});
  }
  port_->commit_tx(n);
  return n > 0;
}

// RX buffers a warm successor is to adopt go before any fresh one (the
// driver takes flagged descriptors only until it has adopt_count of them).
bool NetShim::issue_rx_adopt() {
  uint32_t space = port_->rx_free_space();
  uint32_t n = 0;
  while (n < space && !rx_adopt_.empty()) {
    uint16_t id = rx_adopt_.front();
    rx_adopt_.pop_front();
    pool_.post(id, BufferOwner::kRxPosted);
    port_->stage_rx_free(n++,
                         NetDescriptor{pool_.iova(id), kNetBufferSize, id, abi::kNetFlagAdopt});
  }
  port_->commit_rx_free(n);
  return n > 0;
}

void NetShim::hold() {
  held_.store(true, std::memory_order_release);
}

Status NetShim::post_command(std::function<void()> command) {
  {
    std::lock_guard lock(command_mutex_);
    if (commands_closed_) return plain_error(options_.device_name + ": shim is stopped");
    commands_.push_back(std::move(command));
  }
  wake_.signal();
  return {};
}

void NetShim::run_commands() {
  std::deque<std::function<void()>> commands;
  {
    std::lock_guard lock(command_mutex_);
    commands.swap(commands_);
  }
  for (auto& c : commands) c();
}

Result<uint32_t> NetShim::restart(TxResendMode mode) {
  auto done = std::make_shared<std::promise<uint32_t>>();
  std::future<uint32_t> result = done->get_future();
  ULDD_TRY(post_command([this, mode, done] { done->set_value(prepare_restart(mode)); }));
  return result.get();
}

void NetShim::release_quarantine() {
  Status s = post_command([this] {
    uint32_t n = pool_.release_quarantined();
    publish_gauges();
    if (n > 0) spdlog::debug("{}: {} buffer(s) out of quarantine", options_.device_name, n);
  });
  (void)s;  // stopped: the buffers stay quarantined, nothing will use them
}

uint32_t NetShim::prepare_restart(TxResendMode mode) {
  // 1. Whatever the dead driver posted on the done rings is real: sent frames
  //    are freed, received frames go to the TAP. Its violations are counted
  //    but not reported: the engine must not blame (kill) the successor.
  fault_reported_ = true;
  while (harvest_tx_done() || harvest_rx_done()) {
  }
  // 2. All four rings empty for the successor.
  port_->reset();
  // 3. By owner. Buffers still queued by an earlier restart() (a refused
  //    warm start, or one not yet staged) keep their place; the sort is by
  //    first read (TX) / first post (RX).
  std::vector<uint16_t> tx(tx_resend_.begin(), tx_resend_.end());
  std::vector<uint16_t> rx(rx_adopt_.begin(), rx_adopt_.end());
  tx_resend_.clear();
  rx_adopt_.clear();
  for (uint32_t id = 0; id < pool_.size(); ++id) {
    BufferOwner o = pool_.owner(id);
    if (o == BufferOwner::kTxPosted) {
      pool_.reclaim(id, o);
      tx.push_back(static_cast<uint16_t>(id));
    } else if (o == BufferOwner::kRxPosted) {
      pool_.reclaim(id, o);
      rx.push_back(static_cast<uint16_t>(id));
    }
  }
  std::sort(tx.begin(), tx.end(),
            [this](uint16_t a, uint16_t b) { return tx_seq_[a] < tx_seq_[b]; });
  std::sort(rx.begin(), rx.end(),
            [this](uint16_t a, uint16_t b) { return rx_seq_[a] < rx_seq_[b]; });
  uint32_t queued = 0;
  resend_adopt_ = mode == TxResendMode::kAdopt;
  if (resend_adopt_) {
    // Warm: the device keeps its descriptors, so every buffer goes back to
    // the successor as it was, flagged, and is staged now so the flagged
    // descriptors are first in both rings (what does not fit follows).
    tx_resend_.assign(tx.begin(), tx.end());
    rx_adopt_.assign(rx.begin(), rx.end());
    queued = static_cast<uint32_t>(tx.size() + rx.size());
    stats_.resent_for_adoption.fetch_add(queued, std::memory_order_relaxed);
    issue_rx_adopt();
    issue_resend();
  } else {
    // Cold: the device may still receive into any RX buffer until the
    // successor resets it.
    for (uint16_t id : rx) pool_.quarantine(id);
    stats_.rx_reclaimed_on_restart.fetch_add(rx.size(), std::memory_order_relaxed);
  }
  if (mode == TxResendMode::kReissue) {
    tx_resend_.assign(tx.begin(), tx.end());
    queued = static_cast<uint32_t>(tx.size());
    stats_.tx_reissued.fetch_add(queued, std::memory_order_relaxed);
  } else if (mode == TxResendMode::kDrop) {
    for (uint16_t id : tx) pool_.quarantine(id);  // the old device may still be reading it
    stats_.tx_dropped_on_restart.fetch_add(tx.size(), std::memory_order_relaxed);
  }
  stats_.restarts.fetch_add(1, std::memory_order_relaxed);
  stats_.first_completion_after_restart_ns.store(0, std::memory_order_relaxed);
  rx_filled_since_.reset();  // the RX watch starts over with the successor:
  rx_rebaseline_ = true;     // a cold one resets RDH to 0, which is no fill
  awaiting_first_completion_ = true;
  fault_reported_ = false;
  publish_gauges();
  held_.store(false, std::memory_order_release);
  return queued;
}

void NetShim::run() {
  while (!stop_requested_.load(std::memory_order_acquire)) {
    run_commands();
    check_tx_timeout();
    bool progress = harvest_tx_done();
    progress |= harvest_rx_done();
    bool held = held_.load(std::memory_order_acquire);
    if (!held) {
      progress |= issue_rx_adopt();
      if (rx_adopt_.empty()) progress |= replenish_rx();
      progress |= issue_resend();
    }
    // While held, or while reissued frames wait for ring space, the TAP is not
    // read: that is the hold and the original order.
    bool can_tx = !held && tx_resend_.empty() && tx_possible();
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
    pollfd fds[3] = {
        {port_->wake_fd(), POLLIN, 0}, {wake_.fd(), POLLIN, 0}, {options_.frame_fd, POLLIN, 0}};
    ::poll(fds, can_tx ? 3 : 2, 100);
    port_->finish_sleep();
    if (fds[0].revents & POLLIN) port_->on_wake();
    if (fds[1].revents & POLLIN) wake_.drain();
  }
  publish_gauges();
}

}  // namespace uldd::shim
