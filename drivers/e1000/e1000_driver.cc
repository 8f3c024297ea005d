// E1000Driver, data path: descriptor validation, TX/RX staging, one doorbell
// per ring per batch, reclaim and harvest, interrupts, checkpoint commits and
// status counters. Reset and bring-up are in e1000_driver_bring_up.cc.
#include "drivers/e1000/e1000_driver.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "common/crc32c.h"
#include "devices/e1000/e1000_spec.h"

namespace uldd::drivers {
namespace {

template <class T>
void store_relaxed(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

abi::NetDescriptor dropped(const abi::NetDescriptor& d) {
  abi::NetDescriptor r = d;
  r.status = static_cast<uint16_t>(abi::NetStatus::kDropped);
  return r;
}

}  // namespace

Result<std::unique_ptr<E1000Driver>> E1000Driver::create(uio::UioDevice& dev,
                                                         const abi::DriverConfig& cfg,
                                                         abi::ControlBlock* cb,
                                                         abi::CheckpointRegion* ckpt) {
  std::string bad = check_e1000_config(cfg, dev.dma().size());
  if (!bad.empty()) return plain_error(bad);
  if (dev.bar_size() < e1000::kRegRah0 + 4)
    return plain_error("e1000: BAR0 of " + std::to_string(dev.bar_size()) +
                       " bytes is too small for the register map");
  return std::unique_ptr<E1000Driver>(new E1000Driver(dev, cfg, cb, ckpt));
}

E1000Driver::E1000Driver(uio::UioDevice& dev, const abi::DriverConfig& cfg, abi::ControlBlock* cb,
                         abi::CheckpointRegion* ckpt)
    : dev_(dev),
      cfg_(cfg),
      cb_(cb),
      ckpt_(ckpt),
      layout_(E1000DmaLayout::compute(cfg)),
      shadow_(std::make_unique<E1000Checkpoint>()),
      faults_(cb) {
  tx_rejected_.reserve(64);
  rx_rejected_.reserve(64);
  if (ckpt_ != nullptr) {
    // Continue the epoch sequence of whoever wrote the region before us and
    // overwrite the older slot first, so the newest checkpoint survives until
    // ours is complete.
    uint64_t e0 = abi::load_shared(ckpt_->slots[0].epoch);
    uint64_t e1 = abi::load_shared(ckpt_->slots[1].epoch);
    epoch_ = std::max(e0, e1);
    if (epoch_ > (uint64_t{1} << 62)) epoch_ = 0;  // garbage: start over
    next_slot_ = e0 <= e1 ? 0 : 1;
  }
}

bool E1000Driver::buffer_ok(uint64_t iova, uint32_t len) const {
  // Inside the shim's buffer area: no descriptor may point the device at the
  // descriptor rings (a received frame would overwrite them).
  uint64_t dma_size = dev_.dma().size();
  if (iova < cfg_.dma_buffer_area_offset || iova > dma_size || len > dma_size - iova) return false;
  // One descriptor covers one device-address range: with kernel UIO a buffer
  // that crosses into a non-adjacent physical page cannot be described.
  uint64_t first = dev_.dma().device_address(iova);
  return dev_.dma().device_address(iova + len - 1) == first + len - 1;
}

void E1000Driver::transmit(const abi::NetDescriptor& d) {
  uint32_t max_len = std::min(abi::kMaxFrameBytes, cfg_.max_transfer);
  bool valid = d.len >= abi::kMinFrameBytes && d.len <= max_len && buffer_ok(d.iova, d.len);
  if (!up_ || !valid || tx_.free_slots() == 0) {
    tx_rejected_.push_back(dropped(d));
    ++stats_.rejected;
    return;
  }
  uint64_t address = dev_.dma().device_address(d.iova);
  // Fault point: the frame's buffer just past the end of the DMA region.
  if (faults_.fire(abi::FaultPoint::kWrongIova))
    address = dev_.dma().device_address(dev_.dma().size() - 4096) + 4096;
  tx_.push(d, address);
  ++stats_.tx_frames;
}

void E1000Driver::post_rx(const abi::NetDescriptor& d) {
  // The device may fill a buffer up to RCTL.BSIZE whatever the frame, so the
  // posted range is BSIZE bytes, and the shim's buffer must be that large.
  bool valid = d.len >= kE1000RxBufferBytes && d.len <= cfg_.max_transfer &&
               buffer_ok(d.iova, kE1000RxBufferBytes);
  if (!up_ || !valid || rx_.free_slots() == 0) {
    abi::NetDescriptor r = dropped(d);
    r.len = 0;
    rx_rejected_.push_back(r);
    ++stats_.rejected;
    return;
  }
  rx_.post(d, dev_.dma().device_address(d.iova));
  ++stats_.rx_posted;
}

void E1000Driver::ring_doorbells() {
  if (!tx_deferred_.empty() || !rx_deferred_.empty()) submit_deferred();
  // A held-back TDT (skip-doorbell) waits for the next batch with new frames,
  // as the NVMe SQ tail does, not merely for the next loop iteration.
  bool tx =
      tx_.doorbell_pending() && !(tx_doorbell_held_ && stats_.tx_frames == tx_frames_when_held_);
  if (tx && faults_.fire(abi::FaultPoint::kSkipDoorbell)) {
    tx_doorbell_held_ = true;
    tx_frames_when_held_ = stats_.tx_frames;
    tx = false;
  } else if (tx) {
    tx_doorbell_held_ = false;
  }
  bool rx = rx_.doorbell_pending();
  if (!tx && !rx && !checkpoint_dirty_) return;
  // Checkpoint first: after a crash it must list every descriptor the device
  // may have been told about, and no longer list the ones reaped since.
  commit_checkpoint();
  if (rx) {
    dev_.write32(e1000::kRegRdt, rx_.take_doorbell());
    ++stats_.doorbells;
  }
  if (tx) {
    dev_.write32(e1000::kRegTdt, tx_.take_doorbell());
    ++stats_.doorbells;
  }
  if (tx || rx) ++stats_.batches;
  publish_stats();
}

size_t E1000Driver::take_pending(std::vector<abi::NetDescriptor>& pending, size_t& taken,
                                 std::span<abi::NetDescriptor> out) {
  size_t n = 0;
  while (n < out.size() && taken < pending.size()) out[n++] = pending[taken++];
  if (taken == pending.size()) {
    pending.clear();
    taken = 0;
  }
  return n;
}

size_t E1000Driver::reap_tx(std::span<abi::NetDescriptor> out) {
  if (adopt_remaining_ > 0) return 0;  // a slot's buffer is not known yet
  size_t n = take_pending(tx_rejected_, tx_rejected_taken_, out);
  size_t got = tx_.reclaim(out.subspan(n));
  if (got != 0) {
    stats_.tx_completed += got;
    // Before the caller hands them to the shim: a checkpoint must not list
    // a buffer the shim already has back (a warm successor would take it
    // for stale, e1000_driver_adopt.cc).
    commit_checkpoint();
    publish_stats();
  }
  return n + got;
}

size_t E1000Driver::reap_rx(std::span<abi::NetDescriptor> out) {
  if (adopt_remaining_ > 0) return 0;
  size_t n = take_pending(rx_rejected_, rx_rejected_taken_, out);
  size_t got = rx_.harvest(out.subspan(n), &stats_.rx);
  if (got != 0) {
    commit_checkpoint();  // as in reap_tx()
    publish_stats();
  }
  return n + got;
}

Status E1000Driver::on_interrupt() {
  auto taken = dev_.take_irq();
  if (!taken) return taken.error();
  stats_.interrupts += taken.value();
  // Reading ICR clears every cause and deasserts the interrupt (8254x SDM
  // 13.4.17), so the line can be re-enabled right after; the rings themselves
  // (DD bits) say what to do, the causes are only counted.
  uint32_t icr = dev_.read32(e1000::kRegIcr);
  if (icr != 0xFFFFFFFFu) {
    if ((icr & e1000::icr::kRxOverrun) != 0) ++stats_.rx_overruns;
    if ((icr & e1000::icr::kLinkStatusChange) != 0) ++stats_.link_changes;
  }
  ULDD_TRY(dev_.unmask_irq());
  if (cb_ != nullptr) store_relaxed(cb_->status.interrupts, stats_.interrupts);
  return {};
}

Status E1000Driver::check_device() const {
  if (dev_.read32(e1000::kRegStatus) == 0xFFFFFFFFu)
    return plain_error("e1000: STATUS reads all ones (device gone)");
  return {};
}

bool E1000Driver::link_up() const {
  return (dev_.read32(e1000::kRegStatus) & e1000::status::kLinkUp) != 0;
}

uint32_t E1000Driver::tx_outstanding() const {
  return tx_.in_flight() + static_cast<uint32_t>(tx_rejected_.size() - tx_rejected_taken_);
}

void E1000Driver::commit_checkpoint() {
  checkpoint_dirty_ = false;
  if (ckpt_ == nullptr) return;
  E1000Checkpoint& c = *shadow_;
  c.version = kE1000CheckpointVersion;
  c.rx_descriptors = layout_.rx_descriptors;
  c.tx_descriptors = layout_.tx_descriptors;
  c.buffer_size = kE1000RxBufferBytes;
  c.rx_next = rx_.next_to_check();
  c.rx_tail = rx_.tail();
  c.tx_clean = tx_.clean();
  c.tx_tail = tx_.tail();
  std::memcpy(c.mac, mac_, sizeof c.mac);
  rx_.copy_buffer_ids(c.buffer_ids);
  tx_.copy_buffer_ids(c.buffer_ids + layout_.rx_descriptors);
  uint32_t size = e1000_checkpoint_size(layout_.rx_descriptors, layout_.tx_descriptors);
  abi::CheckpointSlot& slot = ckpt_->slots[next_slot_];
  // Epoch 0 marks the slot unwritten while it is torn; the real epoch is
  // stored last, with release, after the checksum that covers the payload.
  abi::store_shared(slot.epoch, uint64_t{0});
  std::memcpy(slot.payload, &c, size);
  slot.magic = abi::kCheckpointMagic;
  slot.version = abi::kAbiVersion;
  slot.payload_size = size;
  slot.device_class = abi::kCheckpointClassE1000;
  slot.checksum = crc32c(&c, size);
  abi::store_shared(slot.epoch, ++epoch_);
  next_slot_ ^= 1;
}

void E1000Driver::publish_stats() {
  if (cb_ == nullptr) return;
  abi::DriverStatus& s = cb_->status;
  store_relaxed(s.interrupts, stats_.interrupts);
  store_relaxed(s.doorbells, stats_.doorbells);
  store_relaxed(s.batches, stats_.batches);
  store_relaxed(s.device_errors, stats_.device_errors());
  store_relaxed(s.rejected, stats_.rejected);
}

}  // namespace uldd::drivers
