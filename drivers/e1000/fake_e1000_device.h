// FakeE1000Device: a tiny 8254x behind the UioDevice seam, for the e1000
// driver's unit tests. It reacts synchronously inside write32()/read32():
// CTRL.RST (self-clears after a few reads), EERD (answers from an EEPROM
// image), ICR read-to-clear, TDT (sends every descriptor up to the new tail:
// the frame is recorded, DD written back), RDT (records the tail), and
// inject_rx() plays a frame arriving from the wire. It records every register
// write so tests can check the driver's sequence and its doorbell batching,
// and lets a test write hostile descriptor write-backs.
//
// Device addresses are not IOVAs: IOVA x is at bus kBusBase + x, except that
// pages of the buffer area are swapped pairwise, so a driver that hands the
// device an IOVA instead of device_address(iova) sends it to the wrong place.
#pragma once

#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "common/event_fd.h"
#include "devices/e1000/e1000_spec.h"
#include "uio/uio_device.h"

namespace uldd::drivers::testing {

class FakeE1000Dma final : public uio::DmaRegion {
 public:
  static constexpr uint64_t kBusBase = 0x20'0000'0000;
  FakeE1000Dma(size_t size, uint64_t scramble_from)
      : mem_(static_cast<std::byte*>(std::aligned_alloc(4096, size))),
        size_(size),
        scramble_from_(scramble_from) {
    std::memset(mem_, 0, size);
  }
  ~FakeE1000Dma() override { std::free(mem_); }
  std::byte* base() const override { return mem_; }
  size_t size() const override { return size_; }
  uint64_t device_address(uint64_t iova) const override { return kBusBase + swap(iova); }
  uint64_t to_iova(uint64_t bus) const { return swap(bus - kBusBase); }

 private:
  uint64_t swap(uint64_t a) const { return a < scramble_from_ ? a : a ^ 4096; }
  std::byte* mem_;
  size_t size_;
  uint64_t scramble_from_;
};

class FakeE1000Device final : public uio::UioDevice {
 public:
  static constexpr uint8_t kMac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x31};

  FakeE1000Device(size_t dma_size, uint64_t buffer_area_offset)
      : bar_(e1000::kBarSize / 4),
        dma_(dma_size, buffer_area_offset),
        irq_(EventFd::create().value()) {
    for (int i = 0; i < 3; ++i)
      eeprom[i] = static_cast<uint16_t>(kMac[2 * i] | kMac[2 * i + 1] << 8);
    set(e1000::kRegStatus, e1000::status::kLinkUp | e1000::status::kFullDuplex);
  }

  // --- UioDevice ---
  std::string_view backend_name() const override { return "fake"; }
  size_t bar_size() const override { return e1000::kBarSize; }
  uint32_t read32(size_t off) const override {
    uint32_t v = bar_[off / 4];
    if (off == e1000::kRegCtrl && (v & e1000::ctrl::kReset) != 0 && reset_reads_left_ != ~0u &&
        reset_reads_left_-- == 0)
      bar_[off / 4] = v & ~e1000::ctrl::kReset;    // reset done: RST self-clears
    if (off == e1000::kRegIcr) bar_[off / 4] = 0;  // read to clear
    return v;
  }
  void write32(size_t off, uint32_t v) override {
    writes.emplace_back(off, v);
    if (on_write) on_write(off, v);
    if (off == e1000::kRegImc) {
      bar_[e1000::kRegIms / 4] &= ~v;
      return;
    }
    if (off == e1000::kRegIms) v |= bar_[off / 4];
    bar_[off / 4] = v;
    if (off == e1000::kRegCtrl && (v & e1000::ctrl::kReset) != 0) do_reset();
    if (off == e1000::kRegEerd && (v & e1000::eerd::kStart) != 0 && eerd_works) {
      uint32_t w = e1000::eerd::address(v);
      bar_[off / 4] = (v & 0xFF00) | e1000::eerd::kDone |
                      (uint32_t{w < 64 ? eeprom[w] : uint16_t{0xFFFF}} << e1000::eerd::kDataShift);
    }
    if (off == e1000::kRegTdt && !hold_tx) process_tx();
  }
  int irq_fd() const override { return irq_.fd(); }
  Result<uint32_t> take_irq() override { return static_cast<uint32_t>(irq_.drain()); }
  Status unmask_irq() override {
    ++unmasks;
    return {};
  }
  uio::DmaRegion& dma() override { return dma_; }
  FakeE1000Dma& fake_dma() { return dma_; }

  // --- test controls and observations ---
  void set(size_t off, uint32_t v) { bar_[off / 4] = v; }
  uint32_t reg(size_t off) const { return bar_[off / 4]; }
  size_t count_writes(size_t off) const {
    size_t n = 0;
    for (auto& w : writes) n += w.first == off;
    return n;
  }
  std::vector<uint32_t> values_written(size_t off) const {
    std::vector<uint32_t> r;
    for (auto& w : writes)
      if (w.first == off) r.push_back(w.second);
    return r;
  }
  e1000::TxDescriptor* tx_ring() const { return ring<e1000::TxDescriptor>(e1000::kRegTdbal); }
  e1000::RxDescriptor* rx_ring() const { return ring<e1000::RxDescriptor>(e1000::kRegRdbal); }

  // Sends TX descriptors [TDH, TDT): records each frame, writes DD back.
  void process_tx() {
    uint32_t n = reg(e1000::kRegTdlen) / 16;
    uint32_t head = reg(e1000::kRegTdh);
    while (n != 0 && head != reg(e1000::kRegTdt)) {
      e1000::TxDescriptor& d = tx_ring()[head];
      tx_descriptors.push_back(d);
      auto* bytes = dma_.at<uint8_t>(dma_.to_iova(d.buffer_addr));
      sent.emplace_back(bytes, bytes + d.length);
      if (d.cmd & e1000::tx_cmd::kReportStatus) d.status |= e1000::tx_status::kDone;
      head = (head + 1) % n;
    }
    set(e1000::kRegTdh, head);
    raise(e1000::icr::kTxDescWritten);
    if (loopback) {
      auto frames = std::move(sent);
      sent.clear();
      for (auto& f : frames) inject_rx(f);
    }
  }
  // A frame from the wire into the descriptor at RDH; false (and ICR.RXO,
  // MPC) when the driver has posted none. `length` overrides the write-back
  // length (a hostile device), `status`/`errors` the write-back bits.
  bool inject_rx(const std::vector<uint8_t>& frame, int length = -1,
                 uint8_t status = e1000::rx_status::kDone | e1000::rx_status::kEndOfPacket,
                 uint8_t errors = 0) {
    uint32_t n = reg(e1000::kRegRdlen) / 16;
    uint32_t head = reg(e1000::kRegRdh);
    if (n == 0 || head == reg(e1000::kRegRdt)) {
      ++missed;
      raise(e1000::icr::kRxOverrun);
      return false;
    }
    e1000::RxDescriptor& d = rx_ring()[head];
    std::memcpy(dma_.at<uint8_t>(dma_.to_iova(d.buffer_addr)), frame.data(),
                std::min<size_t>(frame.size(), 2048));
    d.length = static_cast<uint16_t>(length < 0 ? frame.size() : length);
    d.errors = errors;
    d.status = status;
    set(e1000::kRegRdh, (head + 1) % n);
    raise(e1000::icr::kRxTimer);
    return true;
  }
  void raise(uint32_t cause) {
    set(e1000::kRegIcr, reg(e1000::kRegIcr) | cause);
    if ((reg(e1000::kRegIms) & cause) != 0) irq_.signal();
  }

  std::vector<std::pair<size_t, uint32_t>> writes;
  std::function<void(size_t, uint32_t)> on_write;  // called before each write takes effect
  std::vector<e1000::TxDescriptor> tx_descriptors;
  std::vector<std::vector<uint8_t>> sent;
  uint16_t eeprom[64] = {};
  bool eerd_works = true;
  bool hold_tx = false;            // TDT writes only record the tail until process_tx()
  bool loopback = false;           // every sent frame is received again at once
  uint32_t reset_delay_reads = 3;  // CTRL reads before RST clears; ~0u = never
  size_t unmasks = 0;
  size_t missed = 0;

 private:
  template <class T>
  T* ring(size_t base_reg) const {
    uint64_t bus = reg(base_reg) | uint64_t{reg(base_reg + 4)} << 32;
    return dma_.at<T>(dma_.to_iova(bus));
  }
  void do_reset() {
    uint32_t ctrl = reg(e1000::kRegCtrl);
    std::fill(bar_.begin(), bar_.end(), 0);
    set(e1000::kRegCtrl, ctrl);  // RST stays set for reset_delay_reads reads
    set(e1000::kRegStatus, e1000::status::kLinkUp | e1000::status::kFullDuplex);
    set(e1000::kRegRal0,
        uint32_t{kMac[0]} | kMac[1] << 8 | kMac[2] << 16 | uint32_t{kMac[3]} << 24);
    set(e1000::kRegRah0, uint32_t{kMac[4]} | kMac[5] << 8 | e1000::rah_bits::kAddressValid);
    reset_reads_left_ = reset_delay_reads;
  }

  mutable std::vector<uint32_t> bar_;
  FakeE1000Dma dma_;
  EventFd irq_;
  mutable uint32_t reset_reads_left_ = 0;
};

}  // namespace uldd::drivers::testing
