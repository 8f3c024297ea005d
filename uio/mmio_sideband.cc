#include "uio/mmio_sideband.h"

#include <cstring>
#include <string>

namespace uldd::uio {

Result<MmioSidebandHost> MmioSidebandHost::publish(
    std::span<std::byte> bar, std::span<const ReadToClearRange> read_to_clear) {
  if (bar.size() < kMinBarWithSideband)
    return plain_error("MMIO side band: BAR of " + std::to_string(bar.size()) +
                       " bytes is smaller than " + std::to_string(kMinBarWithSideband));
  if (read_to_clear.size() > kMaxReadToClearRanges)
    return plain_error("MMIO side band: more than " + std::to_string(kMaxReadToClearRanges) +
                       " read-to-clear ranges");
  const size_t register_bytes = sideband_offset(bar.size());
  for (const auto& r : read_to_clear) {
    if (r.first > r.last || r.last + 4 > register_bytes || (r.first % 4) != 0 || (r.last % 4) != 0)
      return plain_error("MMIO side band: bad read-to-clear range");
  }
  auto* layout = reinterpret_cast<SidebandLayout*>(bar.data() + register_bytes);
  // Unpublish first, so a driver attaching meanwhile does not use a half-made header.
  std::atomic_ref<uint64_t>(layout->magic).store(0, std::memory_order_release);
  std::memset(static_cast<void*>(layout), 0, sizeof(SidebandLayout));
  layout->version = kSidebandVersion;
  layout->log_capacity = kWriteLogCapacity;
  layout->read_to_clear_count = static_cast<uint32_t>(read_to_clear.size());
  for (size_t i = 0; i < read_to_clear.size(); ++i) layout->read_to_clear[i] = read_to_clear[i];
  std::atomic_ref<uint64_t>(layout->magic).store(kSidebandMagic, std::memory_order_release);
  return MmioSidebandHost(layout, register_bytes);
}

uint32_t MmioSidebandHost::pending() const {
  uint32_t tail = std::atomic_ref<uint32_t>(layout_->log_tail).load(std::memory_order_acquire);
  uint32_t n = tail - head_;
  return n > kWriteLogCapacity ? 0 : n;
}

bool MmioSidebandHost::pop(MmioWrite* out) {
  uint32_t tail = std::atomic_ref<uint32_t>(layout_->log_tail).load(std::memory_order_acquire);
  if (tail == head_) return false;
  if (tail - head_ > kWriteLogCapacity) {
    // Impossible for an honest producer: drop everything and start afresh from
    // the driver's tail rather than replaying entries twice.
    ++index_violations_;
    head_ = tail;
    std::atomic_ref<uint32_t>(layout_->log_head).store(head_, std::memory_order_release);
    return false;
  }
  // Copy once: the driver may rewrite the slot after it sees log_head move.
  MmioWrite w = layout_->log[head_ % kWriteLogCapacity];
  ++head_;
  *out = w;
  return true;
}

void MmioSidebandHost::mark_applied() {
  std::atomic_ref<uint32_t>(layout_->log_head).store(head_, std::memory_order_release);
}

}  // namespace uldd::uio
