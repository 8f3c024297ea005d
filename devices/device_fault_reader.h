// DeviceFaultReader: a device model's side of the supervisor's device faults
// (abi/device_fault.h). The model calls refresh() once per loop iteration (one
// acquire load per slot while nothing changed), and asks at each point where
// a fault can happen whether it fires there: fire() for the faults that count
// passes (lost-interrupt, delayed-command, failed-command), take_spurious(),
// hung() / end_hang() for device-hang, media_error() / media_written() for
// media-error. It writes what it did to the region's counters. Without a
// region (tests, `uldd-hw` without --fault-fd) nothing ever fires.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "abi/control_block.h"
#include "abi/device_fault.h"

namespace uldd::hw {

// How long an idle model with a fault region sleeps at most, so that an
// arming (a spurious interrupt, a hang) takes effect without a doorbell.
inline constexpr std::chrono::milliseconds kDeviceFaultPollInterval{50};

class DeviceFaultReader {
 public:
  DeviceFaultReader() = default;
  explicit DeviceFaultReader(abi::DeviceFaultRegion* region) : region_(region) {}

  bool attached() const { return region_ != nullptr; }

  // Takes every slot whose generation is new (even, stable, not yet taken).
  void refresh() {
    if (region_ == nullptr) return;
    for (uint32_t i = 0; i < abi::kMaxDeviceFaults; ++i) {
      const abi::DeviceFaultArming& s = region_->slots[i];
      uint32_t g = abi::load_shared(s.generation);
      if ((g & 1) != 0 || g == abi::load_shared(region_->taken[i])) continue;
      abi::DeviceFaultArming copy{
          abi::load_shared(s.fault), abi::load_shared(s.after), g,
          abi::load_shared(s.arg),   abi::load_shared(s.lba),   abi::load_shared(s.count)};
      if (abi::load_shared(s.generation) != g) continue;  // torn: next iteration
      abi::store_shared(region_->taken[i], g);
      take(copy);
    }
  }

  // One pass through the point of `f`: true when its arming fires here
  // (counted); `arg` gets the arming's parameter.
  bool fire(abi::DeviceFault f, uint32_t* arg = nullptr) {
    Armed& a = armed_[static_cast<uint32_t>(f)];
    if (!a.armed) return false;
    if (--a.remaining > 0) return false;
    a.armed = false;
    if (arg != nullptr) *arg = a.arg;
    count(f);
    return true;
  }
  // Armed, not yet fired, with parameter `arg` (for a fault whose parameter
  // picks the point: e1000 failed-command on TX or RX).
  bool armed_with(abi::DeviceFault f, uint32_t arg) const {
    const Armed& a = armed_[static_cast<uint32_t>(f)];
    return a.armed && a.arg == arg;
  }
  // A spurious interrupt was asked for: true once (counted).
  bool take_spurious() { return fire(abi::DeviceFault::kSpuriousInterrupt); }

  bool hung() const { return hung_; }
  // The driver reset the device (NVMe CC.EN 1 -> 0, e1000 CTRL.RST).
  void end_hang() {
    if (!hung_) return;
    hung_ = false;
    abi::store_shared(region_->counters.hung, 0u);
    bump(region_->counters.hang_resets);
  }

  // A read of [slba, slba + blocks): true (counted) when it touches a block
  // under media-error.
  bool media_error(uint64_t slba, uint64_t blocks) {
    for (const auto& [start, end] : media_)
      if (slba < end && start < slba + blocks) {
        count(abi::DeviceFault::kMediaError);
        return true;
      }
    return false;
  }
  // A successful write of [slba, slba + blocks) remaps those blocks: they
  // read again.
  void media_written(uint64_t slba, uint64_t blocks) {
    if (media_.empty()) return;
    const uint64_t wend = slba + blocks;
    std::vector<std::pair<uint64_t, uint64_t>> left;
    for (const auto& [start, end] : media_) {
      if (wend <= start || end <= slba) {
        left.emplace_back(start, end);
        continue;
      }
      if (start < slba) left.emplace_back(start, slba);
      if (wend < end) left.emplace_back(wend, end);
    }
    media_ = std::move(left);
    publish_media();
  }

 private:
  struct Armed {
    bool armed = false;
    uint32_t remaining = 0;
    uint32_t arg = 0;
  };

  void take(const abi::DeviceFaultArming& s) {
    auto f = static_cast<abi::DeviceFault>(s.fault);
    switch (f) {
      case abi::DeviceFault::kLostInterrupt:
      case abi::DeviceFault::kSpuriousInterrupt:
      case abi::DeviceFault::kDelayedCommand:
      case abi::DeviceFault::kFailedCommand:
        armed_[s.fault] = Armed{true, std::max<uint32_t>(s.after, 1), s.arg};
        return;
      case abi::DeviceFault::kMediaError:
        if (s.count > 0 && s.lba + s.count > s.lba) media_.emplace_back(s.lba, s.lba + s.count);
        publish_media();
        return;
      case abi::DeviceFault::kDeviceHang:
        if (hung_) return;
        hung_ = true;
        abi::store_shared(region_->counters.hung, 1u);
        count(f);
        return;
      case abi::DeviceFault::kClearDeviceFaults:
        for (Armed& a : armed_) a = Armed{};
        media_.clear();
        publish_media();
        if (hung_) {
          hung_ = false;
          abi::store_shared(region_->counters.hung, 0u);
        }
        count(f);
        return;
      case abi::DeviceFault::kNone:
        return;  // a cleared slot
    }
  }

  void count(abi::DeviceFault f) {
    if (region_ != nullptr) bump(region_->counters.fired[static_cast<uint32_t>(f)]);
  }
  static void bump(uint64_t& counter) { abi::store_shared(counter, abi::load_shared(counter) + 1); }
  void publish_media() {
    uint64_t blocks = 0;
    for (const auto& [start, end] : media_) blocks += end - start;
    abi::store_shared(region_->counters.media_error_blocks,
                      static_cast<uint32_t>(std::min<uint64_t>(blocks, UINT32_MAX)));
  }

  abi::DeviceFaultRegion* region_ = nullptr;
  Armed armed_[abi::kDeviceFaultIdLimit];
  std::vector<std::pair<uint64_t, uint64_t>> media_;  // [first, end) blocks under URE
  bool hung_ = false;
};

}  // namespace uldd::hw
