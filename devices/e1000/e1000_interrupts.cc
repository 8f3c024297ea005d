#include "devices/e1000/e1000_interrupts.h"

#include "devices/e1000/e1000_spec.h"
#include "uio/emulated_uio.h"
#include "uio/mmio_sideband.h"

namespace uldd::e1000 {

uint32_t E1000Interrupts::pending_enabled() const {
  return uio::load_register(bar_, kRegIcr) & mask_;
}

void E1000Interrupts::raise(uint32_t causes, TimePoint now) {
  causes &= icr::kAllCauses;
  if (causes == 0) return;
  uio::fetch_or_register(bar_, kRegIcr, causes);
  if ((causes & mask_) != 0) want_signal_ = true;
  try_signal(now);
}

void E1000Interrupts::mask_set(uint32_t bits, TimePoint now) {
  uint32_t newly = bits & ~mask_ & icr::kAllCauses;
  mask_ |= bits & icr::kAllCauses;
  uio::store_register(bar_, kRegIms, mask_);
  // Unmasking a pending cause asserts the line, as on the real part.
  if ((uio::load_register(bar_, kRegIcr) & newly) != 0) want_signal_ = true;
  try_signal(now);
}

void E1000Interrupts::mask_clear(uint32_t bits) {
  mask_ &= ~bits;
  uio::store_register(bar_, kRegIms, mask_);
}

void E1000Interrupts::clear(uint32_t bits) {
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(bar_ + kRegIcr))
      .fetch_and(~bits, std::memory_order_acq_rel);
}

void E1000Interrupts::set_itr(uint32_t itr) {
  itr_ = itr & itr::kIntervalMask;
  uio::store_register(bar_, kRegItr, itr_);
}

void E1000Interrupts::try_signal(TimePoint now) {
  if (!want_signal_) return;
  if (pending_enabled() == 0) {
    want_signal_ = false;  // the driver took the causes already (polling)
    return;
  }
  const auto interval = std::chrono::nanoseconds(itr::interval_ns(itr_));
  if (ever_signalled_ && now < last_signal_ + interval) {
    ++stats_.held_off;
    return;  // poll() signals at last_signal_ + interval
  }
  if (ever_signalled_) {
    int64_t gap = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_signal_).count();
    if (stats_.min_gap_ns < 0 || gap < stats_.min_gap_ns) {
      stats_.min_gap_ns = gap;
      stats_.min_gap_interval_ns = interval.count();
    }
  }
  want_signal_ = false;
  ever_signalled_ = true;
  last_signal_ = now;
  ++stats_.signalled;
  signal_();
}

void E1000Interrupts::poll(TimePoint now) {
  try_signal(now);
}

bool E1000Interrupts::next_deadline(TimePoint* when) const {
  if (!want_signal_ || !ever_signalled_ || itr_ == 0) return false;
  *when = last_signal_ + std::chrono::nanoseconds(itr::interval_ns(itr_));
  return true;
}

void E1000Interrupts::reset() {
  mask_ = 0;
  itr_ = 0;
  want_signal_ = false;
  ever_signalled_ = false;
  uio::store_register(bar_, kRegIcr, 0);
  uio::store_register(bar_, kRegIms, 0);
  uio::store_register(bar_, kRegItr, 0);
}

}  // namespace uldd::e1000
