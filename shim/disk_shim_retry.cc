// DiskShim's retry of error completions (policy [errors]; docs/recovery.md,
// "Errors a driver reports"). The shim cannot tell a device error from one a
// faulty driver made up — in fault campaigns an inverted branch in the
// driver's own descriptor check refused valid requests — so an error part is
// sent again, on the same slot and buffer (write data is still there, a read
// is simply read again) under a new tag, up to `retries` times before its
// error goes to the frontend. Only the shim's thread runs this.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "shim/disk_shim.h"

namespace uldd::shim {

using abi::BlockDescriptor;
using abi::BlockStatus;

namespace {

const char* op_name(uint16_t op) {
  static constexpr const char* kOps[] = {"op?", "read", "write", "flush"};
  return op < std::size(kOps) ? kOps[op] : "op?";
}

}  // namespace

bool DiskShim::retry_after_error(InFlightEntry& e, const BlockDescriptor& c, const char** why) {
  const uint32_t max = retry_max_.load(std::memory_order_relaxed);
  const bool permanent = (c.flags & abi::kBlockFlagDoNotRetry) != 0 ||
                         c.status == static_cast<uint16_t>(BlockStatus::kMediaError);
  if (max == 0) {
    *why = "the driver completed a part with an error (policy [errors] retries = 0)";
    return false;
  }
  if (permanent && !retry_permanent_.load(std::memory_order_relaxed)) {
    *why =
        "the driver completed a part with an error the device calls permanent (do-not-retry or "
        "media error; policy [errors] retry_permanent = false)";
    return false;
  }
  const uint32_t old_tag = c.tag;
  if (e.error_retries >= max) {
    // A transient error that outlived every retry: the device, or a driver
    // that broke and keeps failing everything while it beats (a campaign's
    // skipped instruction left NvmeDriver's queue cursor past its queues:
    // every request after it was refused with kIoError). Restart the driver
    // once and give the part its retries again on the successor; only if
    // that fails too does the error go up. At most one such restart until a
    // part succeeds again, so a failing device costs one restart, not one
    // per request — and at most one per kErrorRestartSpacing, so a device
    // whose bad region fails some requests while others succeed cannot
    // exhaust the restart policy (10 a minute by default).
    // While a restart is already coming (this one's or a driver fault's),
    // every part whose retries run out waits for it the same way.
    const auto now = std::chrono::steady_clock::now();
    const bool restart_pending = fault_reported_ && options_.on_driver_fault;
    const bool may_ask = error_restart_armed_ && !fault_reported_ && options_.on_driver_fault &&
                         (last_error_restart_ == std::chrono::steady_clock::time_point{} ||
                          now - last_error_restart_ >= kErrorRestartSpacing);
    if (permanent || e.restarted_for_errors || !(restart_pending || may_ask)) {
      *why =
          "the driver completed a part with an error, again after every retry of policy [errors]";
      return false;
    }
    e.restarted_for_errors = true;
    e.error_retries = 0;
    table_.renew(old_tag);
    e.handed_at = {};  // restart() collects it and resends it to the successor
    if (restart_pending) return true;
    error_restart_armed_ = false;
    last_error_restart_ = now;
    stats_.error_restarts.fetch_add(1, std::memory_order_relaxed);
    report_driver_fault(fmt::format(
        "{} lba={} len={} failed with status {} on every one of {} retries: the driver may be "
        "broken; restarting it before the error goes up",
        op_name(c.op), c.lba, c.len, c.status, max));
    return true;
  }
  ++e.error_retries;
  const uint32_t tag = table_.renew(old_tag);
  e.handed_at = {};  // with no driver until it is sent again
  const auto delay = std::chrono::milliseconds(retry_delay_ms_.load(std::memory_order_relaxed));
  retry_.push_back({tag, std::chrono::steady_clock::now() + delay});
  const uint64_t n = stats_.error_retries.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n <= 20 || n % 1000 == 0)
    spdlog::warn("{}: {} lba={} len={} completed with status {}{} (tag {:#x}); retry {} of {}{}",
                 options_.device_name, op_name(c.op), c.lba, c.len, c.status,
                 permanent ? " (permanent)" : "", old_tag, e.error_retries, max,
                 n > 20 ? " (1 in 1000 retries logged)" : "");
  return true;
}

uint32_t DiskShim::issue_retries(uint32_t n, uint32_t space) {
  if (retry_.empty()) return n;
  const auto now = std::chrono::steady_clock::now();
  while (n < space && !retry_.empty() && retry_.front().due <= now) {
    InFlightEntry& e = table_.entry_for_tag(retry_.front().tag);
    retry_.pop_front();
    e.handed_at = now;
    BlockDescriptor d = e.sent;
    d.flags = 0;
    port_->stage(n++, d);
  }
  return n;
}

int DiskShim::retry_sleep_ms(int cap) const {
  if (retry_.empty() || held_.load(std::memory_order_relaxed)) return cap;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(retry_.front().due -
                                                                 std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, cap));
}

}  // namespace uldd::shim
