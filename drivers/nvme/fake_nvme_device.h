// FakeNvmeDevice: a tiny NVMe controller behind the UioDevice seam, for the
// driver's unit tests. It reacts synchronously inside write32(): CC enable/
// disable/shutdown, the admin commands the driver sends during bring-up, and
// Read/Write/Flush by copying between the DMA buffers and an in-memory
// "media" array. It records what it saw (register writes, admin commands,
// I/O commands with their PRPs) so tests can check the driver's behaviour.
//
// Device addresses are deliberately not IOVAs: the DMA region maps IOVA to
// kBusBase + IOVA, except that pages of the buffer area are swapped pairwise,
// so a driver that translates a buffer once instead of page by page sends
// the device to the wrong page.
#pragma once

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "common/event_fd.h"
#include "devices/nvme/nvme_spec.h"
#include "uio/uio_device.h"

namespace uldd::drivers::testing {

class FakeDma final : public uio::DmaRegion {
 public:
  static constexpr uint64_t kBusBase = 0x10'0000'0000;
  FakeDma(size_t size, uint64_t scramble_from)
      : mem_(static_cast<std::byte*>(std::aligned_alloc(4096, size))),
        size_(size),
        scramble_from_(scramble_from) {
    std::memset(mem_, 0, size);
  }
  ~FakeDma() override { std::free(mem_); }
  std::byte* base() const override { return mem_; }
  size_t size() const override { return size_; }
  uint64_t device_address(uint64_t iova) const override { return kBusBase + swap(iova); }
  // The inverse, as the device uses it; returns ~0 for addresses outside.
  uint64_t to_iova(uint64_t bus) const {
    if (bus < kBusBase || bus - kBusBase >= size_) return ~uint64_t{0};
    return swap(bus - kBusBase);
  }

 private:
  uint64_t swap(uint64_t a) const { return a < scramble_from_ ? a : a ^ 4096; }
  std::byte* mem_;
  size_t size_;
  uint64_t scramble_from_;  // page index parity must be even here
};

struct FakeIoCommand {
  nvme::SubmissionEntry sqe;
  uint16_t qid;
  std::vector<uint64_t> pages;  // device addresses of the data pages, from the PRPs
};

class FakeNvmeDevice final : public uio::UioDevice {
 public:
  static constexpr size_t kBarSize = 0x2000;

  FakeNvmeDevice(size_t dma_size, uint64_t buffer_area_offset, uint64_t media_bytes)
      : bar_(kBarSize / 4),
        dma_(dma_size, buffer_area_offset),
        media_(media_bytes),
        irq_(EventFd::create().value()) {
    set(nvme::kRegCap, static_cast<uint32_t>(nvme::cap::make(4095, true, 2, 0)));
    set(nvme::kRegCap + 4, static_cast<uint32_t>(nvme::cap::make(4095, true, 2, 0) >> 32));
    set(nvme::kRegVs, nvme::kVersion14);
  }

  // --- UioDevice ---
  std::string_view backend_name() const override { return "fake"; }
  size_t bar_size() const override { return kBarSize; }
  uint32_t read32(size_t off) const override { return bar_[off / 4]; }
  void write32(size_t off, uint32_t v) override {
    writes.emplace_back(off, v);
    bar_[off / 4] = v;
    if (off == nvme::kRegCc) on_cc(v);
    if (off >= nvme::kDoorbellBase) on_doorbell((off - nvme::kDoorbellBase) / 4, v);
  }
  int irq_fd() const override { return irq_.fd(); }
  Result<uint32_t> take_irq() override { return static_cast<uint32_t>(irq_.drain()); }
  Status unmask_irq() override {
    ++unmasks;
    return {};
  }
  uio::DmaRegion& dma() override { return dma_; }
  FakeDma& fake_dma() { return dma_; }

  // --- test controls and observations ---
  void set(size_t off, uint32_t v) { bar_[off / 4] = v; }
  uint32_t reg(size_t off) const { return bar_[off / 4]; }
  uint64_t reg64(size_t off) const { return reg(off) | (uint64_t{reg(off + 4)} << 32); }
  std::vector<uint8_t>& media() { return media_; }
  size_t sq_doorbell_writes(uint16_t qid) const {
    return count_writes(nvme::sq_tail_doorbell(qid));
  }
  size_t cq_doorbell_writes(uint16_t qid) const {
    return count_writes(nvme::cq_head_doorbell(qid));
  }
  size_t count_writes(size_t off) const {
    size_t n = 0;
    for (auto& w : writes) n += w.first == off;
    return n;
  }
  // Posts a completion the driver never asked for.
  void inject_cqe(uint16_t qid, uint16_t cid, uint16_t sq_id) { post(qid, sq_id, cid, 0, 0); }
  // The next I/O command fails with this status.
  void fail_next_io(uint8_t sct, uint8_t sc, bool dnr = false) {
    fail_status_ = nvme::status::make(sct, sc, dnr);
  }

  bool hold_io = false;  // I/O doorbells only record the tail until process_io()
  void process_io() {
    for (auto& [qid, q] : sqs_) drain_sq(qid);
  }

  std::vector<std::pair<size_t, uint32_t>> writes;
  std::vector<nvme::SubmissionEntry> admin_commands;
  std::vector<FakeIoCommand> io_commands;
  size_t unmasks = 0;
  uint64_t nsze = 0;  // namespace size in sectors; 0 = media size
  uint8_t lbads = 9;

 private:
  struct Queue {
    uint64_t iova = 0;
    uint32_t size = 0;
    uint32_t head = 0;  // SQ: next to fetch. CQ: host's head
    uint32_t tail = 0;  // SQ: host's tail. CQ: next to post
    uint16_t phase = 1;
    uint16_t cqid = 0;
    bool ien = false;
  };

  void on_cc(uint32_t cc) {
    if ((cc & nvme::cc::kEnable) == 0) {
      set(nvme::kRegCsts, 0);
      sqs_.clear();
      cqs_.clear();
      return;
    }
    if (nvme::cc::shn(cc) != 0) {
      set(nvme::kRegCsts, reg(nvme::kRegCsts) | nvme::csts::kShutdownComplete);
      return;
    }
    if ((reg(nvme::kRegCsts) & nvme::csts::kReady) != 0) return;
    uint32_t aqa = reg(nvme::kRegAqa);
    sqs_[0] = Queue{iova(reg64(nvme::kRegAsq)), nvme::aqa::asqs(aqa) + 1};
    cqs_[0] = Queue{iova(reg64(nvme::kRegAcq)), nvme::aqa::acqs(aqa) + 1};
    set(nvme::kRegCsts, nvme::csts::kReady);
  }
  uint64_t iova(uint64_t bus) const { return dma_.to_iova(bus); }

  void on_doorbell(size_t index, uint32_t v) {
    auto qid = static_cast<uint16_t>(index / 2);
    if (index % 2 == 1) {
      cqs_[qid].head = v;
      return;
    }
    sqs_[qid].tail = v;
    if (qid == 0 || !hold_io) drain_sq(qid);
  }

  void drain_sq(uint16_t qid) {
    Queue& sq = sqs_[qid];
    while (sq.head != sq.tail) {
      nvme::SubmissionEntry e;
      std::memcpy(&e, dma_.at<nvme::SubmissionEntry>(sq.iova) + sq.head, sizeof e);
      sq.head = (sq.head + 1) % sq.size;
      uint32_t dw0 = 0;
      uint16_t st = qid == 0 ? admin(e, &dw0) : io(qid, e);
      post(qid == 0 ? 0 : sq.cqid, qid, e.cid, st, dw0);
    }
  }

  void post(uint16_t cqid, uint16_t sq_id, uint16_t cid, uint16_t st, uint32_t dw0) {
    Queue& cq = cqs_[cqid];
    nvme::CompletionEntry c{};
    c.dw0 = dw0;
    c.sq_head = static_cast<uint16_t>(sqs_.count(sq_id) ? sqs_[sq_id].head : 0);
    c.sq_id = sq_id;
    c.cid = cid;
    c.status = static_cast<uint16_t>(st | cq.phase);
    std::memcpy(dma_.at<nvme::CompletionEntry>(cq.iova) + cq.tail, &c, sizeof c);
    if (++cq.tail == cq.size) {
      cq.tail = 0;
      cq.phase ^= 1;
    }
    if (cqid != 0 && cq.ien) irq_.signal();
  }

  uint16_t admin(const nvme::SubmissionEntry& e, uint32_t* dw0) {
    admin_commands.push_back(e);
    switch (e.opcode) {
      case nvme::admin::kIdentify: {
        auto* out = dma_.at<std::byte>(iova(e.prp1));
        if (e.cdw10 == nvme::kCnsController) {
          nvme::IdentifyController c{};
          std::memcpy(c.mn, "uldd fake nvme", 14);
          c.mdts = 5;
          c.sqes = 0x66;
          c.cqes = 0x44;
          c.nn = 1;
          std::memcpy(out, &c, sizeof c);
        } else {
          nvme::IdentifyNamespace n{};
          n.nsze = n.ncap = nsze != 0 ? nsze : media_.size() / 512;
          n.lbaf[0].lbads = lbads;
          std::memcpy(out, &n, sizeof n);
        }
        return 0;
      }
      case nvme::admin::kSetFeatures:
        if ((e.cdw10 & 0xFF) == nvme::kFeatureNumberOfQueues) *dw0 = e.cdw11;
        return 0;
      case nvme::admin::kCreateIoCq: {
        Queue q{iova(e.prp1), (e.cdw10 >> 16) + 1};
        q.ien = (e.cdw11 & 2) != 0;
        cqs_[static_cast<uint16_t>(e.cdw10)] = q;
        return 0;
      }
      case nvme::admin::kCreateIoSq: {
        Queue q{iova(e.prp1), (e.cdw10 >> 16) + 1};
        q.cqid = static_cast<uint16_t>(e.cdw11 >> 16);
        sqs_[static_cast<uint16_t>(e.cdw10)] = q;
        return 0;
      }
      default:
        return nvme::status::make(nvme::status::kTypeGeneric, nvme::status::kInvalidOpcode);
    }
  }

  uint16_t io(uint16_t qid, const nvme::SubmissionEntry& e) {
    FakeIoCommand cmd{e, qid, {}};
    if (fail_status_ != 0) {
      io_commands.push_back(cmd);
      return std::exchange(fail_status_, 0);
    }
    if (e.opcode == nvme::io::kFlush) {
      io_commands.push_back(cmd);
      return 0;
    }
    uint64_t lba = e.cdw10 | (uint64_t{e.cdw11} << 32);
    uint64_t len = (uint64_t{e.cdw12 & 0xFFFF} + 1) * 512;
    // Walk the PRPs (§4.3): PRP1 may have an offset; then PRP2 or a list.
    uint64_t first = 4096 - (e.prp1 % 4096);
    cmd.pages.push_back(e.prp1);
    if (len > first) {
      uint64_t rest = (len - first + 4095) / 4096;
      if (rest == 1) {
        cmd.pages.push_back(e.prp2);
      } else {
        auto* list = dma_.at<uint64_t>(iova(e.prp2));
        for (uint64_t k = 0; k < rest; ++k) cmd.pages.push_back(list[k]);
      }
    }
    uint64_t done = 0;
    for (uint64_t bus : cmd.pages) {
      uint64_t chunk = std::min<uint64_t>(len - done, 4096 - bus % 4096);
      std::byte* mem = dma_.at<std::byte>(iova(bus));
      uint8_t* disk = media_.data() + lba * 512 + done;
      if (e.opcode == nvme::io::kWrite) std::memcpy(disk, mem, chunk);
      if (e.opcode == nvme::io::kRead) std::memcpy(mem, disk, chunk);
      done += chunk;
    }
    io_commands.push_back(cmd);
    return 0;
  }

  std::vector<uint32_t> bar_;
  FakeDma dma_;
  std::vector<uint8_t> media_;
  EventFd irq_;
  std::map<uint16_t, Queue> sqs_;
  std::map<uint16_t, Queue> cqs_;
  uint16_t fail_status_ = 0;
};

}  // namespace uldd::drivers::testing
