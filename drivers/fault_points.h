// FaultPoints: a driver's read-only view of the fault points the supervisor
// armed in ControlBlock::faults[] (catalogue: abi/fault_point.h). The driver
// cannot write the control block, so "fire once" is kept here: each slot
// fires at most once per generation the supervisor wrote.
//
// Cost when disarmed: refresh() (once per loop iteration, i.e. per batch)
// does one acquire load of each slot's generation — two cache lines the
// supervisor rarely writes — and every check on the data path is a test of
// a local bit mask (armed()/fire() inline fast path).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "abi/control_block.h"
#include "abi/fault_point.h"

namespace uldd::drivers {

class FaultPoints {
 public:
  // `cb` may be null: nothing is ever armed.
  explicit FaultPoints(const abi::ControlBlock* cb) : cb_(cb) {}

  // Re-reads every slot whose generation moved (seqlock: a slot caught
  // mid-write is left for the next refresh). Once per batch.
  void refresh();

  bool armed() const { return armed_mask_ != 0; }
  // One pass through point `p`: true when an arming of `p` fires now (then
  // `*arg` is its parameter). Per descriptor is fine: disarmed it is one
  // mask test.
  bool fire(abi::FaultPoint p, uint32_t* arg = nullptr) {
    if ((armed_mask_ & bit(p)) == 0) return false;
    return fire_slow(p, arg);
  }

  // The loop-level points, at the top of an event-loop iteration: stall
  // (sleeps, no heartbeat) and leak-memory (allocates and touches MiB).
  void on_loop_pass();

  // Fault-point firings so far (any thread may read: tests observe it).
  uint64_t fired() const { return fired_.load(std::memory_order_relaxed); }
  uint64_t leaked_bytes() const { return leaked_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    uint32_t generation = 0;  // last stable generation read
    uint32_t point = 0;
    uint32_t after = 0;
    uint32_t arg = 0;
    uint32_t passes = 0;
    bool fired = false;
  };
  static uint32_t bit(abi::FaultPoint p) { return 1u << static_cast<uint32_t>(p); }
  bool fire_slow(abi::FaultPoint p, uint32_t* arg);
  void leak(uint32_t mib);
  void recompute_mask();

  const abi::ControlBlock* cb_;
  Slot slots_[abi::kMaxArmedFaults];
  uint32_t armed_mask_ = 0;
  std::atomic<uint64_t> fired_{0};
  // The "leak" is held, never freed while the driver lives (a real leak to
  // the memory limit, but not to LeakSanitizer in the in-process tests).
  std::vector<std::unique_ptr<char[]>> leaked_;
  std::atomic<uint64_t> leaked_bytes_{0};
};

// The completion-side points over a batch of reaped completions about to go
// to the shim (BlockDescriptor or NetDescriptor: both have `len`): drops,
// duplicates or lengthens one entry when lost-completion, double-completion
// or wrong-length fires. Each entry is one pass of each of the three points.
template <class Descriptor>
void apply_completion_faults(FaultPoints& faults, std::vector<Descriptor>& batch) {
  if (!faults.armed()) return;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (faults.fire(abi::FaultPoint::kLostCompletion)) {
      batch.erase(batch.begin() + static_cast<ptrdiff_t>(i--));
      continue;
    }
    if (faults.fire(abi::FaultPoint::kWrongLength)) batch[i].len += abi::kWrongLengthDelta;
    if (faults.fire(abi::FaultPoint::kDoubleCompletion)) {
      Descriptor copy = batch[i];
      batch.insert(batch.begin() + static_cast<ptrdiff_t>(++i), copy);
    }
  }
}

}  // namespace uldd::drivers
