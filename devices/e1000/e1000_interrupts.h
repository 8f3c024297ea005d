// E1000Interrupts: the interrupt logic of the emulated 82540EM (SDM §13.4.17-21
// and §13.4.18 ITR): cause bits in ICR, the IMS mask, and interrupt hold-off.
//
// ICR lives in the BAR and is read to clear through emulated UIO's side band,
// so the driver's read is an atomic exchange with 0 and the model sets causes
// with fetch_or: neither side can lose the other's update. The interrupt line
// is an eventfd, i.e. edge-like: the model signals it when an enabled cause
// is *new* since the last signal (or a pending cause gets unmasked), and only
// if ICR & IMS is still non-zero when it comes to signal (a driver that polls
// ICR meanwhile gets no spurious interrupt). ITR: at most one interrupt per
// ITR.INTERVAL x 256 ns; a cause that arrives sooner is held and signalled
// when the interval has passed, merged with whatever else arrived (the
// coalescing a driver configures ITR for). ITR = 0: no throttling.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace uldd::e1000 {

struct InterruptStats {
  uint64_t signalled = 0;  // eventfd signals
  uint64_t held_off = 0;   // causes that had to wait for the ITR interval
  // Shortest time between two signals so far, and the ITR interval in force
  // then (`uldd-hw e1000 --itr-check` prints both; the gap is never shorter).
  int64_t min_gap_ns = -1;
  int64_t min_gap_interval_ns = 0;
};

class E1000Interrupts {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // `bar`: the BAR mapping (ICR and IMS live there); `signal`: raises the line.
  E1000Interrupts(std::byte* bar, std::function<void()> signal)
      : bar_(bar), signal_(std::move(signal)) {}

  // Sets cause bits in ICR (hardware events and ICS writes).
  void raise(uint32_t causes, TimePoint now);
  // IMS / IMC writes (the mask is mirrored in the BAR's IMS for reads).
  void mask_set(uint32_t bits, TimePoint now);
  void mask_clear(uint32_t bits);
  // ICR write: write 1 to clear (SDM §13.4.17).
  void clear(uint32_t bits);
  void set_itr(uint32_t itr);
  uint32_t itr() const { return itr_; }
  uint32_t mask() const { return mask_; }

  // Signals a held interrupt whose interval has passed.
  void poll(TimePoint now);
  // When poll() must run next for a held interrupt.
  bool next_deadline(TimePoint* when) const;

  // CTRL.RST: causes, mask, ITR and hold-off state back to power-on values.
  void reset();

  const InterruptStats& stats() const { return stats_; }

 private:
  uint32_t pending_enabled() const;
  void try_signal(TimePoint now);

  std::byte* bar_;
  std::function<void()> signal_;
  uint32_t mask_ = 0;
  uint32_t itr_ = 0;
  bool want_signal_ = false;  // an enabled cause arrived since the last signal
  bool ever_signalled_ = false;
  TimePoint last_signal_{};
  InterruptStats stats_;
};

}  // namespace uldd::e1000
