// E1000Driver, device side: reset, MAC address, link, descriptor rings and
// receive/transmit/interrupt configuration, in the order of the 8254x SDM
// 14.3 ("General Configuration"), 14.4 (receive) and 14.5 (transmit)
// initialization sections. The data path is in e1000_driver.cc.
#include <spdlog/spdlog.h>

#include <string>
#include <thread>

#include "devices/e1000/e1000_spec.h"
#include "drivers/e1000/e1000_driver.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kPage = 4096;
// The receive configuration of every bring-up (E1000Driver::kRctl): enabled,
// broadcasts accepted (ARP), 2048-byte buffers, the CRC stripped so rx_done
// lengths are frame lengths the TAP can take as they are.
// Frames delivered, TX descriptors written back, frames dropped for lack of
// descriptors (counted), link changes.
constexpr uint32_t kInterruptCauses = e1000::icr::kRxTimer | e1000::icr::kTxDescWritten |
                                      e1000::icr::kRxOverrun | e1000::icr::kLinkStatusChange;

}  // namespace

Status E1000Driver::check_contiguous(uint64_t iova, uint64_t len, const char* what) const {
  uint64_t base = dev_.dma().device_address(iova);
  for (uint64_t off = kPage; off < len; off += kPage) {
    if (dev_.dma().device_address(iova + off) != base + off)
      return plain_error(std::string(what) + " at DMA offset " + std::to_string(iova) +
                         " is not contiguous in device-address space (use huge pages for the "
                         "DMA region)");
  }
  if (base % e1000::kRingLengthAlign != 0)
    return plain_error(std::string(what) + ": device address not 128-byte aligned");
  return {};
}

Status E1000Driver::reset() {
  // Mask everything first so the reset cannot leave a stale interrupt pending
  // (14.3: "mask all interrupts before a global reset").
  dev_.write32(e1000::kRegImc, 0xFFFFFFFFu);
  uint32_t ctrl = dev_.read32(e1000::kRegCtrl);
  if (ctrl == 0xFFFFFFFFu) return plain_error("bring-up: CTRL reads all ones (device gone)");
  dev_.write32(e1000::kRegCtrl, ctrl | e1000::ctrl::kReset);
  // RST self-clears when the reset is done (13.4.1); real parts need about
  // 1 us, and software must not touch registers before that.
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto pause = std::chrono::microseconds(1);
  for (;;) {
    std::this_thread::sleep_for(pause);
    ctrl = dev_.read32(e1000::kRegCtrl);
    if (ctrl == 0xFFFFFFFFu) return plain_error("bring-up: CTRL reads all ones after reset");
    if ((ctrl & e1000::ctrl::kReset) == 0) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return plain_error("bring-up: CTRL.RST did not self-clear within " +
                         std::to_string(timeout_.count()) + " ms");
    if (pause < std::chrono::microseconds(1000)) pause *= 2;
  }
  // The reset restored IMS to 0, but mask again and clear causes in case the
  // device raised any on the way.
  dev_.write32(e1000::kRegImc, 0xFFFFFFFFu);
  (void)dev_.read32(e1000::kRegIcr);
  return {};
}

Result<uint16_t> E1000Driver::read_eeprom(uint32_t word) {
  dev_.write32(e1000::kRegEerd, e1000::eerd::read_request(word));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  for (;;) {
    uint32_t v = dev_.read32(e1000::kRegEerd);
    if ((v & e1000::eerd::kDone) != 0 && e1000::eerd::address(v) == word)
      return e1000::eerd::data(v);
    if (std::chrono::steady_clock::now() >= deadline)
      return plain_error("EERD: word " + std::to_string(word) + " not read within 10 ms");
    std::this_thread::sleep_for(std::chrono::microseconds(5));
  }
}

Status E1000Driver::read_mac() {
  // The EEPROM holds the station address in words 0..2, little endian (5.6).
  bool from_eeprom = true;
  for (uint32_t w = 0; w < 3 && from_eeprom; ++w) {
    auto v = read_eeprom(e1000::eeprom::kMacWord0 + w);
    if (!v) {
      spdlog::warn("e1000: {}; using RAL0/RAH0 instead", v.error().describe());
      from_eeprom = false;
      break;
    }
    mac_[2 * w] = static_cast<uint8_t>(v.value());
    mac_[2 * w + 1] = static_cast<uint8_t>(v.value() >> 8);
  }
  if (!from_eeprom) {
    // After reset the device loads RAL0/RAH0 from the EEPROM itself.
    uint32_t lo = dev_.read32(e1000::kRegRal0);
    uint32_t hi = dev_.read32(e1000::kRegRah0);
    if ((hi & e1000::rah_bits::kAddressValid) == 0)
      return plain_error("bring-up: no MAC address: EERD failed and RAH0.AV is clear");
    for (int i = 0; i < 4; ++i) mac_[i] = static_cast<uint8_t>(lo >> (8 * i));
    mac_[4] = static_cast<uint8_t>(hi);
    mac_[5] = static_cast<uint8_t>(hi >> 8);
  }
  if ((mac_[0] & 1) != 0) return plain_error("bring-up: MAC address is a multicast address");
  return {};
}

Status E1000Driver::bring_up() {
  up_ = false;
  ULDD_TRY(check_contiguous(layout_.rx_ring_offset, uint64_t{layout_.rx_descriptors} * 16,
                            "RX descriptor ring"));
  ULDD_TRY(check_contiguous(layout_.tx_ring_offset, uint64_t{layout_.tx_descriptors} * 16,
                            "TX descriptor ring"));
  ULDD_TRY(reset());
  ULDD_TRY(read_mac());

  // Link: set link up and let the MAC follow the PHY's speed (14.3); clear
  // the reset and loss-of-signal inversions a previous owner may have left.
  uint32_t ctrl = dev_.read32(e1000::kRegCtrl);
  ctrl |= e1000::ctrl::kSetLinkUp | e1000::ctrl::kAutoSpeed;
  ctrl &= ~(e1000::ctrl::kLinkReset | e1000::ctrl::kPhyReset | e1000::ctrl::kInvertLos |
            e1000::ctrl::kVlanMode);
  dev_.write32(e1000::kRegCtrl, ctrl);

  // Receive address filter: our MAC in entry 0, no multicast (14.4). The
  // model takes these at its next wake-up; nothing needs to happen at once.
  uint32_t ral = uint32_t{mac_[0]} | uint32_t{mac_[1]} << 8 | uint32_t{mac_[2]} << 16 |
                 uint32_t{mac_[3]} << 24;
  uint32_t rah = uint32_t{mac_[4]} | uint32_t{mac_[5]} << 8 | e1000::rah_bits::kAddressValid;
  dev_.write32_lazy(e1000::kRegRal0, ral);
  dev_.write32_lazy(e1000::kRegRah0, rah);
  for (size_t i = 0; i < e1000::kMtaEntries; ++i) dev_.write32_lazy(e1000::kRegMta + 4 * i, 0);

  // Rings, empty: head = tail = 0 (14.4, 14.5).
  auto* rx_descs = dev_.dma().at<e1000::RxDescriptor>(layout_.rx_ring_offset);
  auto* tx_descs = dev_.dma().at<e1000::TxDescriptor>(layout_.tx_ring_offset);
  rx_.attach(rx_descs, layout_.rx_descriptors, kE1000RxBufferBytes);
  tx_.attach(tx_descs, layout_.tx_descriptors);
  uint64_t rx_base = dev_.dma().device_address(layout_.rx_ring_offset);
  uint64_t tx_base = dev_.dma().device_address(layout_.tx_ring_offset);
  dev_.write32(e1000::kRegRdbal, static_cast<uint32_t>(rx_base));
  dev_.write32(e1000::kRegRdbah, static_cast<uint32_t>(rx_base >> 32));
  dev_.write32(e1000::kRegRdlen, layout_.rx_descriptors * 16);
  dev_.write32(e1000::kRegRdh, 0);
  dev_.write32(e1000::kRegRdt, 0);
  dev_.write32(e1000::kRegTdbal, static_cast<uint32_t>(tx_base));
  dev_.write32(e1000::kRegTdbah, static_cast<uint32_t>(tx_base >> 32));
  dev_.write32(e1000::kRegTdlen, layout_.tx_descriptors * 16);
  dev_.write32(e1000::kRegTdh, 0);
  dev_.write32(e1000::kRegTdt, 0);

  // Interrupt moderation lives in ITR alone (hold-off between interrupts);
  // the per-packet delay timers stay 0 so they add no latency of their own.
  dev_.write32(e1000::kRegRdtr, 0);
  dev_.write32(e1000::kRegTidv, 0);
  dev_.write32(e1000::kRegItr, cfg_.nic_itr_interval);

  dev_.write32(e1000::kRegTipg, e1000::tipg::kRecommended);
  dev_.write32(e1000::kRegTctl, e1000::tctl::kRecommended);
  dev_.write32(e1000::kRegRctl, kRctl);
  dev_.write32(e1000::kRegIms, kInterruptCauses);

  tx_rejected_.clear();
  rx_rejected_.clear();
  tx_rejected_taken_ = rx_rejected_taken_ = 0;
  up_ = true;
  commit_checkpoint();  // a cold start: the device owns nothing yet
  publish_stats();
  spdlog::info(
      "e1000 up: MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, link {}, {} RX / {} TX "
      "descriptors, ITR {} x 256 ns",
      mac_[0], mac_[1], mac_[2], mac_[3], mac_[4], mac_[5], link_up() ? "up" : "down",
      layout_.rx_descriptors, layout_.tx_descriptors, cfg_.nic_itr_interval);
  return {};
}

}  // namespace uldd::drivers
