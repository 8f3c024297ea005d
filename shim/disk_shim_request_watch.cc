// DiskShim's request-timeout watch: see DiskShimOptions::request_timeout.
// Kept apart from the request paths in disk_shim.cc; it runs on the shim's
// thread.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "shim/disk_shim.h"

namespace uldd::shim {

void DiskShim::check_request_timeouts() {
  const std::chrono::milliseconds timeout(request_timeout_ms_.load(std::memory_order_relaxed));
  if (timeout.count() <= 0 || fault_reported_ || held_.load(std::memory_order_acquire)) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_timeout_check_) return;
  // A scan of the table costs O(buffers); a tenth of the timeout (at least
  // 10 ms) between scans keeps it off the I/O path and late by at most 10%.
  next_timeout_check_ = now + std::max(timeout / 10, std::chrono::milliseconds(10));
  const InFlightEntry* oldest = nullptr;
  for (uint32_t slot = 0; slot < table_.capacity(); ++slot) {
    const InFlightEntry& e = table_.entry_for_tag(slot);
    if (e.request == nullptr || e.handed_at == std::chrono::steady_clock::time_point{}) continue;
    if (oldest == nullptr || e.handed_at < oldest->handed_at) oldest = &e;
  }
  if (oldest == nullptr || now - oldest->handed_at < timeout) return;
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - oldest->handed_at);
  std::string reason = fmt::format(
      "request tag={:#x} op={} lba={} len={} given to the driver {} ms ago is not completed "
      "(request_timeout {} ms): lost completion or hung device",
      oldest->sent.tag, oldest->sent.op, oldest->sent.lba, oldest->sent.len, age.count(),
      timeout.count());
  fault_reported_ = true;
  stats_.request_timeouts.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("{}: {}", options_.device_name, reason);
  if (options_.on_request_timeout) {
    options_.on_request_timeout(reason);
  } else if (options_.on_driver_fault) {
    options_.on_driver_fault(reason);
  }
}

}  // namespace uldd::shim
