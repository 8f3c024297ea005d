// E1000Driver, warm resume: adopting a running e1000 and the packet buffers a
// dead predecessor left in its descriptor rings, from the checkpoint
// (e1000_checkpoint.h), as NvmeDriver::adopt does for a controller. Nothing
// here writes a register or a descriptor until the adoption is complete and
// consistent: a refusal (exit 6) leaves the device exactly as the predecessor
// did, for the cold start that follows to reset.
//
// What is believed, and why:
//   - the checkpoint is untrusted (the dead driver wrote it, maybe while
//     being corrupted): slot checksum, epoch order and every field are checked
//     against the DriverConfig and the layout this driver computes itself;
//   - the registers must show the device as bring_up() left it: enabled,
//     rings at the layout's addresses and sizes, RDT/TDT inside the
//     checkpoint's posted ranges and the device's heads between the
//     checkpoint's first posted slot and the tail register. The checkpoint
//     is committed before each doorbell, so a tail register behind the
//     checkpoint's tail means the predecessor died in between (a SIGKILL
//     lands there about once in 25 kills under load): those descriptors are
//     written and listed but the device was never told; they are adopted like
//     the others and told with the successor's first doorbell. A tail
//     register anywhere else is not a state this driver can produce: refused;
//   - a posted slot's buffer is only believed once the shim names the same
//     buffer (kNetFlagAdopt) at the address the descriptor in the ring points
//     at. A posted slot whose buffer the shim did not resend means the
//     checkpoint is stale: the device could receive into (or send from) a
//     buffer the shim has reused, so the driver refuses and the device is reset.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "abi/checkpoint_reader.h"
#include "devices/e1000/e1000_spec.h"
#include "drivers/e1000/e1000_driver.h"

namespace uldd::drivers {
namespace {

std::string hex(uint64_t v) {
  return fmt::format("{:#x}", v);
}

// Is `x` in the circular range [from, to] of a ring of `size` slots?
bool in_window(uint32_t x, uint32_t from, uint32_t to, uint32_t size) {
  return (x + size - from) % size <= (to + size - from) % size;
}

}  // namespace

Status E1000Driver::load_checkpoint(E1000Checkpoint* out) const {
  if (ckpt_ == nullptr) return plain_error("warm resume: no checkpoint region");
  // Exactly the prefix this ring geometry uses (e1000_checkpoint.h).
  uint32_t want_size = e1000_checkpoint_size(layout_.rx_descriptors, layout_.tx_descriptors);
  std::memset(out, 0, sizeof *out);  // the slot maps beyond the prefix read as 0
  auto size = abi::read_newest_checkpoint(*ckpt_, abi::kCheckpointClassE1000, want_size,
                                          want_size, out);
  if (!size) return size.error();
  return {};
}

Status E1000Driver::check_checkpoint(const E1000Checkpoint& c) const {
  auto bad = [](const std::string& what) { return plain_error("warm resume: checkpoint " + what); };
  if (c.version != kE1000CheckpointVersion) return bad("version " + std::to_string(c.version));
  if (c.rx_descriptors != layout_.rx_descriptors || c.tx_descriptors != layout_.tx_descriptors)
    return bad("rings " + std::to_string(c.rx_descriptors) + "/" +
               std::to_string(c.tx_descriptors) + " differ from the configured " +
               std::to_string(layout_.rx_descriptors) + "/" +
               std::to_string(layout_.tx_descriptors));
  if (c.buffer_size != kE1000RxBufferBytes)
    return bad("buffer size " + std::to_string(c.buffer_size));
  if (c.rx_next >= c.rx_descriptors || c.rx_tail >= c.rx_descriptors ||
      c.tx_clean >= c.tx_descriptors || c.tx_tail >= c.tx_descriptors)
    return bad("ring index out of range");
  if ((c.mac[0] & 1) != 0) return bad("MAC address is a multicast address");
  return {};
}

Status E1000Driver::check_adoptable_registers(const E1000Checkpoint& c, uint32_t* rdt_out,
                                              uint32_t* tdt_out) const {
  auto bad = [](const std::string& what) { return plain_error("warm resume: " + what); };
  if (dev_.read32(e1000::kRegStatus) == 0xFFFFFFFFu)
    return bad("STATUS reads all ones (device gone)");
  uint32_t ctrl = dev_.read32(e1000::kRegCtrl);
  if ((ctrl & e1000::ctrl::kReset) != 0 || (ctrl & e1000::ctrl::kSetLinkUp) == 0)
    return bad("CTRL is " + hex(ctrl) + " (reset in progress or link not set up)");
  uint32_t rctl = dev_.read32(e1000::kRegRctl);
  if (rctl != kRctl) return bad("RCTL is " + hex(rctl) + ", bring-up programs " + hex(kRctl));
  uint32_t tctl = dev_.read32(e1000::kRegTctl);
  if (tctl != e1000::tctl::kRecommended)
    return bad("TCTL is " + hex(tctl) + ", bring-up programs " + hex(e1000::tctl::kRecommended));
  uint64_t rx_base = dev_.dma().device_address(layout_.rx_ring_offset);
  uint64_t tx_base = dev_.dma().device_address(layout_.tx_ring_offset);
  uint64_t rdba = dev_.read32(e1000::kRegRdbal) | uint64_t{dev_.read32(e1000::kRegRdbah)} << 32;
  uint64_t tdba = dev_.read32(e1000::kRegTdbal) | uint64_t{dev_.read32(e1000::kRegTdbah)} << 32;
  if (rdba != rx_base || tdba != tx_base)
    return bad("RDBA/TDBA (" + hex(rdba) + "/" + hex(tdba) +
               ") are not where the layout puts the descriptor rings");
  if (dev_.read32(e1000::kRegRdlen) != layout_.rx_descriptors * 16 ||
      dev_.read32(e1000::kRegTdlen) != layout_.tx_descriptors * 16)
    return bad("RDLEN/TDLEN differ from the configured ring sizes");
  uint32_t rdh = dev_.read32(e1000::kRegRdh), rdt = dev_.read32(e1000::kRegRdt);
  uint32_t tdh = dev_.read32(e1000::kRegTdh), tdt = dev_.read32(e1000::kRegTdt);
  if (rdh >= c.rx_descriptors || rdt >= c.rx_descriptors || tdh >= c.tx_descriptors ||
      tdt >= c.tx_descriptors)
    return bad("a head or tail register is out of range");
  // The checkpoint is committed before each doorbell: a tail register can
  // only equal the checkpoint's tail or lag it (died in between).
  if (!in_window(rdt, c.rx_next, c.rx_tail, c.rx_descriptors) ||
      !in_window(tdt, c.tx_clean, c.tx_tail, c.tx_descriptors))
    return bad("RDT/TDT " + std::to_string(rdt) + "/" + std::to_string(tdt) +
               " outside the checkpoint's posted ranges (tails " + std::to_string(c.rx_tail) + "/" +
               std::to_string(c.tx_tail) + ")");
  if (!in_window(rdh, c.rx_next, rdt, c.rx_descriptors) ||
      !in_window(tdh, c.tx_clean, tdt, c.tx_descriptors))
    return bad("RDH/TDH " + std::to_string(rdh) + "/" + std::to_string(tdh) +
               " outside the checkpoint's posted ranges");
  *rdt_out = rdt;
  *tdt_out = tdt;
  uint32_t ral = dev_.read32(e1000::kRegRal0), rah = dev_.read32(e1000::kRegRah0);
  uint8_t mac[6];
  for (int i = 0; i < 4; ++i) mac[i] = static_cast<uint8_t>(ral >> (8 * i));
  mac[4] = static_cast<uint8_t>(rah);
  mac[5] = static_cast<uint8_t>(rah >> 8);
  if ((rah & e1000::rah_bits::kAddressValid) == 0 || std::memcmp(mac, c.mac, sizeof mac) != 0)
    return bad("RAL0/RAH0 do not hold the checkpoint's MAC address");
  return {};
}

Status E1000Driver::adopt(uint32_t adopt_count) {
  up_ = false;
  ULDD_TRY(check_contiguous(layout_.rx_ring_offset, uint64_t{layout_.rx_descriptors} * 16,
                            "RX descriptor ring"));
  ULDD_TRY(check_contiguous(layout_.tx_ring_offset, uint64_t{layout_.tx_descriptors} * 16,
                            "TX descriptor ring"));
  ULDD_TRY(load_checkpoint(shadow_.get()));
  const E1000Checkpoint& c = *shadow_;
  ULDD_TRY(check_checkpoint(c));
  uint32_t rdt = 0, tdt = 0;
  ULDD_TRY(check_adoptable_registers(c, &rdt, &tdt));

  // Believed: take the rings over with the checkpoint's indices; every
  // posted slot waits for the shim to name its buffer.
  std::memcpy(mac_, c.mac, sizeof mac_);
  rx_.restore(dev_.dma().at<e1000::RxDescriptor>(layout_.rx_ring_offset), layout_.rx_descriptors,
              kE1000RxBufferBytes, c.rx_next, c.rx_tail, rdt);
  tx_.restore(dev_.dma().at<e1000::TxDescriptor>(layout_.tx_ring_offset), layout_.tx_descriptors,
              c.tx_clean, c.tx_tail, tdt);
  rx_awaiting_.assign(layout_.rx_descriptors, 0);
  tx_awaiting_.assign(layout_.tx_descriptors, 0);
  for (uint32_t s = c.rx_next; s != c.rx_tail; s = (s + 1) % c.rx_descriptors) rx_awaiting_[s] = 1;
  for (uint32_t s = c.tx_clean; s != c.tx_tail; s = (s + 1) % c.tx_descriptors) tx_awaiting_[s] = 1;
  tx_rejected_.clear();
  rx_rejected_.clear();
  tx_rejected_taken_ = rx_rejected_taken_ = 0;
  tx_deferred_.clear();
  rx_deferred_.clear();
  adoption_error_ = {};
  adopt_remaining_ = adopt_count;
  spdlog::info(
      "e1000: warm resume from checkpoint: {} RX / {} TX buffer(s) in the rings{}, {} to adopt",
      rx_.posted(), tx_.in_flight(),
      rdt != c.rx_tail || tdt != c.tx_tail ? " (some not yet told to the device)" : "",
      adopt_count);
  if (adopt_remaining_ == 0) {
    finish_adoption();
    if (!adoption_error_) return adoption_error_;  // nothing resent, yet the rings hold buffers
  }
  return {};
}

bool E1000Driver::adopt_into_ring(const abi::NetDescriptor& d, bool tx) {
  const uint16_t* ids = shadow_->buffer_ids + (tx ? layout_.rx_descriptors : 0);
  std::vector<uint8_t>& awaiting = tx ? tx_awaiting_ : rx_awaiting_;
  for (uint32_t s = 0; s < awaiting.size(); ++s) {
    if (awaiting[s] == 0 || ids[s] != d.buffer_id) continue;
    // The device has a descriptor for this buffer id: it must point at the
    // shim's buffer, which must be one we would have posted ourselves.
    uint64_t at = tx ? tx_.slot_address(s) : rx_.slot_address(s);
    bool valid = tx ? d.len >= abi::kMinFrameBytes &&
                          d.len <= std::min(abi::kMaxFrameBytes, cfg_.max_transfer) &&
                          buffer_ok(d.iova, d.len) && tx_.slot_length(s) == d.len
                    : d.len >= kE1000RxBufferBytes && d.len <= cfg_.max_transfer &&
                          buffer_ok(d.iova, kE1000RxBufferBytes);
    if (!valid || at != dev_.dma().device_address(d.iova)) {
      adoption_error_ =
          plain_error("warm resume: " + std::string(tx ? "TX" : "RX") + " slot " +
                      std::to_string(s) + " holds buffer " + std::to_string(d.buffer_id) + " at " +
                      hex(at) + ", which is not the shim's buffer");
      return true;
    }
    awaiting[s] = 0;
    if (tx)
      tx_.adopt_slot(s, d);
    else
      rx_.adopt_slot(s, d);
    return true;
  }
  return false;
}

void E1000Driver::take_adopted(const abi::NetDescriptor& request, bool tx) {
  if (adopt_remaining_ == 0) return;
  --adopt_remaining_;
  abi::NetDescriptor d = request;
  bool flagged = (d.status & abi::kNetFlagAdopt) != 0;
  d.status = 0;
  if (flagged && adopt_into_ring(d, tx)) {
    ++stats_.adopted;
  } else {
    // The device does not have it (taken from the ring but not yet
    // checkpointed, or reaped but not yet returned): it goes again.
    (tx ? tx_deferred_ : rx_deferred_).push_back(d);
    ++stats_.resubmitted;
  }
  if (adopt_remaining_ == 0) finish_adoption();
}

void E1000Driver::finish_adoption() {
  if (!adoption_error_) return;  // already refused
  for (int dir = 0; dir < 2; ++dir) {
    const std::vector<uint8_t>& awaiting = dir == 0 ? rx_awaiting_ : tx_awaiting_;
    const uint16_t* ids = shadow_->buffer_ids + (dir == 0 ? 0 : layout_.rx_descriptors);
    for (uint32_t s = 0; s < awaiting.size(); ++s) {
      if (awaiting[s] == 0) continue;
      adoption_error_ = plain_error(
          "warm resume: the checkpoint lists " + std::string(dir == 0 ? "RX" : "TX") + " slot " +
          std::to_string(s) + " with buffer " + std::to_string(ids[s]) +
          " but the shim did not resend that buffer (stale checkpoint); the device must be reset");
      return;
    }
  }
  up_ = true;
  spdlog::info("e1000: adoption complete: {} adopted, {} to post again", stats_.adopted,
               stats_.resubmitted);
  publish_stats();
}

void E1000Driver::submit_deferred() {
  if (!up_) return;
  // In the order the shim resent them (oldest first), as ring space allows;
  // tx_free_slots()/rx_free_slots() stay 0 meanwhile, so nothing new overtakes.
  size_t t = 0;
  while (t < tx_deferred_.size() && tx_.free_slots() > 0) transmit(tx_deferred_[t++]);
  tx_deferred_.erase(tx_deferred_.begin(), tx_deferred_.begin() + static_cast<ptrdiff_t>(t));
  size_t r = 0;
  while (r < rx_deferred_.size() && rx_.free_slots() > 0) post_rx(rx_deferred_[r++]);
  rx_deferred_.erase(rx_deferred_.begin(), rx_deferred_.begin() + static_cast<ptrdiff_t>(r));
}

}  // namespace uldd::drivers
