// NetShim's TX and RX watches: see NetShimOptions::tx_timeout and
// rx_device_head. Kept apart from the frame paths in net_shim.cc; they run
// on the shim's thread.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "shim/net_shim.h"

namespace uldd::shim {

void NetShim::check_tx_timeout() {
  const std::chrono::milliseconds timeout(tx_timeout_ms_.load(std::memory_order_relaxed));
  if (timeout.count() <= 0 || fault_reported_ || held_.load(std::memory_order_acquire)) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_tx_check_) return;
  // A scan costs O(buffers); a tenth of the timeout (at least 10 ms) between
  // scans keeps it off the frame path and late by at most 10%.
  next_tx_check_ = now + std::max(timeout / 10, std::chrono::milliseconds(10));
  if (std::string rx = check_rx_stall(now, timeout); !rx.empty()) {
    report_stuck(rx);
    return;
  }
  int64_t oldest = -1;
  for (uint32_t id = 0; id < pool_.size(); ++id) {
    if (pool_.owner(id) != BufferOwner::kTxPosted) continue;
    if (oldest < 0 || tx_given_at_[id] < tx_given_at_[static_cast<uint32_t>(oldest)]) oldest = id;
  }
  if (oldest < 0) return;
  const auto id = static_cast<uint32_t>(oldest);
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - tx_given_at_[id]);
  if (age < timeout) return;
  std::string reason = fmt::format(
      "TX frame in buffer {} ({} bytes) given to the driver {} ms ago is not returned "
      "(request_timeout {} ms): lost TX completion or hung device",
      id, tx_len_[id], age.count(), timeout.count());
  report_stuck(reason);
}

std::string NetShim::check_rx_stall(std::chrono::steady_clock::time_point now,
                                    std::chrono::milliseconds timeout) {
  if (!options_.rx_device_head) return {};
  const uint32_t head = options_.rx_device_head();
  if (rx_filled_since_ && rx_returned_ != rx_returned_at_fill_) rx_filled_since_.reset();
  if (head != rx_head_seen_) {
    rx_head_seen_ = head;
    if (rx_rebaseline_) {
      rx_rebaseline_ = false;  // a successor's reset (RDH = 0), not the device filling
    } else if (!rx_filled_since_) {
      rx_filled_since_ = now;
      rx_returned_at_fill_ = rx_returned_;
    }
  }
  if (!rx_filled_since_ || now - *rx_filled_since_ < timeout) return {};
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - *rx_filled_since_);
  return fmt::format(
      "the device filled RX buffers {} ms ago (RX head now {}) and the driver has returned none "
      "since (request_timeout {} ms): driver stuck on its RX path",
      age.count(), head, timeout.count());
}

void NetShim::report_stuck(const std::string& reason) {
  fault_reported_ = true;
  stats_.tx_timeouts.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("{}: {}", options_.device_name, reason);
  if (options_.on_tx_timeout) {
    options_.on_tx_timeout(reason);
  } else if (options_.on_driver_fault) {
    options_.on_driver_fault(reason);
  }
}

}  // namespace uldd::shim
