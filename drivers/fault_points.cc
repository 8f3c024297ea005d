#include "drivers/fault_points.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <new>

namespace uldd::drivers {
namespace {

uint32_t load_acquire(const uint32_t& field) {
  return abi::load_shared(field);
}

}  // namespace

void FaultPoints::refresh() {
  if (cb_ == nullptr) return;
  bool changed = false;
  for (uint32_t i = 0; i < abi::kMaxArmedFaults; ++i) {
    const abi::FaultPointArming& a = cb_->faults[i];
    uint32_t g1 = load_acquire(a.generation);
    if (g1 == slots_[i].generation || (g1 & 1) != 0) continue;
    // Acquire loads: the second generation load cannot move before them.
    uint32_t point = load_acquire(a.point);
    uint32_t after = load_acquire(a.after);
    uint32_t arg = load_acquire(a.arg);
    if (load_acquire(a.generation) != g1) continue;  // torn: try at the next batch
    Slot& s = slots_[i];
    s = Slot{g1, point < abi::kFaultPointIdLimit ? point : 0, after, arg, 0, false};
    changed = true;
    if (s.point != 0)
      spdlog::warn("fault point {} armed (slot {}, after {}, arg {})",
                   abi::fault_point_name(static_cast<abi::FaultPoint>(s.point)), i, after, arg);
  }
  if (changed) recompute_mask();
}

void FaultPoints::recompute_mask() {
  armed_mask_ = 0;
  for (const Slot& s : slots_)
    if (s.point != 0 &&
        (!s.fired || s.point == static_cast<uint32_t>(abi::FaultPoint::kLeakMemory)))
      armed_mask_ |= 1u << s.point;
}

bool FaultPoints::fire_slow(abi::FaultPoint p, uint32_t* arg) {
  auto id = static_cast<uint32_t>(p);
  for (Slot& s : slots_) {
    if (s.point != id) continue;
    // Leak keeps firing once it started (until the slot changes).
    if (s.fired && p != abi::FaultPoint::kLeakMemory) continue;
    if (!s.fired && ++s.passes < std::max<uint32_t>(s.after, 1)) continue;
    bool first = !s.fired;
    s.fired = true;
    if (arg != nullptr) *arg = s.arg;
    if (first) {
      fired_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("fault point {} fires", abi::fault_point_name(p));
      recompute_mask();
    }
    return true;
  }
  return false;
}

void FaultPoints::leak(uint32_t mib) {
  size_t bytes = size_t{mib} << 20;
  if (bytes == 0) return;
  std::unique_ptr<char[]> block(new (std::nothrow) char[bytes]);
  if (!block) return;  // the limit is near: the next pass tries again
  // Touch every page so the memory is resident, not just reserved.
  for (size_t off = 0; off < bytes; off += 4096) block[off] = 1;
  leaked_.push_back(std::move(block));
  leaked_bytes_.fetch_add(bytes, std::memory_order_relaxed);
}

void FaultPoints::on_loop_pass() {
  refresh();
  if (!armed()) return;
  uint32_t arg = 0;
  if (fire(abi::FaultPoint::kStall, &arg)) {
    timespec ts{static_cast<time_t>(arg / 1000), static_cast<long>(arg % 1000) * 1000000};
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (fire(abi::FaultPoint::kLeakMemory, &arg)) leak(arg);
}

}  // namespace uldd::drivers
