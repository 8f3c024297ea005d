#include "devices/e1000/e1000_model.h"

#include <cstring>

#include "uio/emulated_uio.h"

namespace uldd::e1000 {
namespace {

// The offsets emulated UIO turns into an atomic exchange with 0 on read.
constexpr uio::ReadToClearRange kReadToClear[] = {
    {static_cast<uint32_t>(kRegIcr), static_cast<uint32_t>(kRegIcr)},
    {static_cast<uint32_t>(stats::kFirst), static_cast<uint32_t>(stats::kLast)},
};

// STATUS when the device is powered and reset: full duplex, 1000 Mb/s, link
// not (yet) up. Never zero: it is the supervisor's "powered on" signal.
constexpr uint32_t kStatusPowerOn = status::kFullDuplex | status::kSpeed1000;
static_assert(kStatusPowerOn != 0);
// MDIC.R (ready), SDM §13.4.7: the PHY access completes at once.
constexpr uint32_t kMdicReady = 1u << 28;

}  // namespace

Result<std::unique_ptr<E1000Model>> E1000Model::create(std::span<std::byte> bar,
                                                       std::span<std::byte> dma, Wire& wire,
                                                       InterruptSink irq, E1000ModelConfig config) {
  if (bar.size() < kBarSize)
    return plain_error("e1000 model: BAR of " + std::to_string(bar.size()) + " bytes, needs " +
                       std::to_string(kBarSize));
  if (dma.empty()) return plain_error("e1000 model: empty DMA region");
  if (config.rx_budget == 0) config.rx_budget = 1;
  auto sideband = uio::MmioSidebandHost::publish(bar, kReadToClear);
  if (!sideband) return sideband.error();
  auto model = std::unique_ptr<E1000Model>(
      new E1000Model(bar, dma, std::move(sideband.value()), wire, std::move(irq), config));
  model->device_reset();
  model->stats_.resets = 0;  // the power-on reset is not a driver's CTRL.RST
  return model;
}

E1000Model::E1000Model(std::span<std::byte> bar, std::span<std::byte> dma,
                       uio::MmioSidebandHost sideband, Wire& wire, InterruptSink irq,
                       E1000ModelConfig config)
    : bar_(bar),
      dma_(dma),
      sideband_(std::move(sideband)),
      wire_(wire),
      config_(config),
      irq_(std::move(irq)),
      faults_(config.device_faults),
      eeprom_(make_eeprom(config.mac)),
      interrupts_(bar.data(), [this] { raise_line(); }),
      rx_buffer_(kMaxRxFrameBytes) {
  tx_frame_.reserve(kMaxTxFrameBytes);
}

uint32_t E1000Model::reg(size_t offset) const {
  return uio::load_register(bar_.data(), offset);
}
void E1000Model::set_reg(size_t offset, uint32_t value) {
  uio::store_register(bar_.data(), offset, value);
}

bool E1000Model::link_up() const {
  return (reg(kRegStatus) & status::kLinkUp) != 0;
}

void E1000Model::device_reset() {
  // Every register back to 0 (statistics included), then the power-on values.
  // STATUS goes last: a supervisor polling it sees a complete device.
  set_reg(kRegStatus, 0);
  for (size_t off = 0; off < sideband_.register_bytes(); off += 4) set_reg(off, 0);
  interrupts_.reset();
  ctrl_ = ctrl::kFullDuplex;
  rctl_ = tctl_ = 0;
  rdh_ = rdt_ = tdh_ = tdt_ = 0;
  tx_frame_.clear();
  tx_frame_bad_ = false;
  tx_held_ = false;
  faults_.end_hang();  // device-hang holds until CTRL.RST
  set_reg(kRegCtrl, ctrl_);
  set_reg(kRegEecd, eecd::kPresent);
  set_reg(kRegTipg, tipg::kRecommended);
  // The 82540EM loads receive address 0 from the EEPROM at reset (§5.6.1).
  set_reg(ral(0), config_.mac.ral());
  set_reg(rah(0), config_.mac.rah_low16() | rah_bits::kAddressValid);
  set_reg(kRegStatus, kStatusPowerOn);
  ++stats_.resets;
}

void E1000Model::raise_line() {
  if (faults_.hung()) return;
  // lost-interrupt: the causes are in ICR, the signal for them never comes.
  if (faults_.fire(abi::DeviceFault::kLostInterrupt)) return;
  irq_();
}

void E1000Model::poll_timers(TimePoint now) {
  if (faults_.hung()) return;
  if (tx_held_ && now >= tx_hold_until_) {
    tx_held_ = false;
    run_tx(now);
  }
  interrupts_.poll(now);
}

bool E1000Model::next_deadline(TimePoint* when) const {
  if (faults_.hung()) return false;
  bool any = interrupts_.next_deadline(when);
  if (tx_held_ && (!any || tx_hold_until_ < *when)) {
    *when = tx_hold_until_;
    any = true;
  }
  return any;
}

void E1000Model::apply_writes(TimePoint now) {
  faults_.refresh();
  // spurious-interrupt: the line without a cause in ICR (the driver reads 0).
  if (faults_.take_spurious()) irq_();
  uio::MmioWrite w{};
  uint32_t since_release = 0;
  bool any = false;
  while (sideband_.pop(&w)) {
    if (faults_.hung() && !(w.offset == kRegCtrl && (w.value & ctrl::kReset) != 0)) {
      ++stats_.hung_dropped;  // a hung device ignores everything but CTRL.RST
    } else {
      apply(w.offset, w.value, now);
    }
    any = true;
    // Free log slots as we go, so that a driver waiting on a full log moves on.
    if (++since_release == uio::kWriteLogCapacity / 4) {
      sideband_.mark_applied();
      since_release = 0;
    }
  }
  if (any) sideband_.mark_applied();
  stats_.reg_log_violations = sideband_.index_violations();
  interrupts_.poll(now);
}

void E1000Model::apply(uint32_t offset, uint32_t value, TimePoint now) {
  if (offset % 4 != 0 || offset + 4 > sideband_.register_bytes()) {
    ++stats_.bad_register_writes;
    return;
  }
  ++stats_.writes_applied;
  switch (offset) {
    case kRegCtrl:
      write_ctrl(value, now);
      return;
    case kRegStatus:
      return;       // read only
    case kRegEecd:  // bit-banged EEPROM access is not modelled; grant requests
      set_reg(kRegEecd, eecd::kPresent | (value & eecd::kRequest) |
                            ((value & eecd::kRequest) != 0 ? eecd::kGrant : 0));
      return;
    case kRegEerd:
      write_eerd(value);
      return;
    case kRegMdic:
      set_reg(kRegMdic, (value & 0x03FF0000u) | kMdicReady);
      return;
    case kRegIcr:
      interrupts_.clear(value);
      return;
    case kRegIcs:
      interrupts_.raise(value, now);
      return;
    case kRegIms:
      interrupts_.mask_set(value, now);
      return;
    case kRegImc:
      interrupts_.mask_clear(value);
      return;
    case kRegItr:
      interrupts_.set_itr(value);
      return;
    case kRegRctl:
      rctl_ = value;
      set_reg(offset, value);
      return;
    case kRegTctl:
      tctl_ = value;
      set_reg(offset, value);
      run_tx(now);  // enabling TX starts on whatever TDT already covers
      return;
    case kRegRdh:
      rdh_ = value;
      set_reg(offset, value);
      return;
    case kRegRdt:
      rdt_ = value;
      set_reg(offset, value);
      return;
    case kRegTdh:
      tdh_ = value;
      set_reg(offset, value);
      return;
    case kRegTdt:
      tdt_ = value;
      set_reg(offset, value);
      run_tx(now);
      return;
    default:
      break;
  }
  if (offset >= stats::kFirst && offset <= stats::kLast) return;  // read only (cleared by reads)
  // Everything else (ring bases and lengths, RAL/RAH, MTA, TIPG, delays,
  // RXCSUM, ...) is a plain register: it reads back what was written.
  set_reg(offset, value);
}

void E1000Model::write_ctrl(uint32_t value, TimePoint now) {
  if ((value & ctrl::kReset) != 0) {
    device_reset();  // self-clearing: CTRL reads back without RST
    return;
  }
  ctrl_ = value & ~(ctrl::kPhyReset | ctrl::kLinkReset);
  set_reg(kRegCtrl, ctrl_);
  bool was_up = link_up();
  bool up = (ctrl_ & ctrl::kSetLinkUp) != 0;
  if (up != was_up) {
    set_reg(kRegStatus,
            up ? (reg(kRegStatus) | status::kLinkUp) : (reg(kRegStatus) & ~status::kLinkUp));
    interrupts_.raise(icr::kLinkStatusChange, now);
  }
}

void E1000Model::write_eerd(uint32_t value) {
  if ((value & eerd::kStart) == 0) {
    set_reg(kRegEerd, value);
    return;
  }
  uint32_t word = eerd::address(value);
  uint32_t data = word < eeprom_.size() ? eeprom_[word] : 0;  // beyond the part: DONE, no data
  set_reg(kRegEerd, (data << eerd::kDataShift) | (word << eerd::kAddrShift) | eerd::kDone);
}

void E1000Model::add_stat(size_t offset, uint32_t delta) {
  uio::fetch_add_register(bar_.data(), offset, delta);
}

void E1000Model::add_stat64(size_t low_offset, uint64_t delta) {
  // Low dword first, carrying into the high one; each clears on its own read.
  uint32_t lo = static_cast<uint32_t>(delta);
  uint32_t old = uio::fetch_add_register(bar_.data(), low_offset, lo);
  uint32_t carry = (old + lo) < old ? 1 : 0;
  uint32_t hi = static_cast<uint32_t>(delta >> 32) + carry;
  if (hi != 0) uio::fetch_add_register(bar_.data(), low_offset + 4, hi);
}

bool E1000Model::ring_from_registers(size_t base_lo, size_t base_hi, size_t len, Ring* ring) const {
  uint64_t base = reg(base_lo) | (uint64_t{reg(base_hi)} << 32);
  uint32_t bytes = reg(len);
  if (bytes == 0 || bytes % kRingLengthAlign != 0 || bytes > kMaxRingLength ||
      base % kRingBaseAlign != 0 || base > dma_.size() || bytes > dma_.size() - base)
    return false;
  ring->base = base;
  ring->count = bytes / 16;
  return true;
}

}  // namespace uldd::e1000
