// NvmeTestHost: a minimal NVMe "driver" for the controller's unit tests. It
// owns real memfds for BAR0 and DMA memory (as the supervisor would), an
// in-memory store, and a fake clock, and drives NvmeController::poll()
// directly, so every test is deterministic and single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>

#include "common/shared_memory.h"
#include "devices/nvme/memory_backing_store.h"
#include "devices/nvme/nvme_controller.h"
#include "uio/emulated_uio.h"

namespace uldd::nvme::testing {

// DMA layout used by the tests (IOVA = offset).
inline constexpr uint64_t kAdminSq = 0x0000;
inline constexpr uint64_t kAdminCq = 0x1000;
inline constexpr uint64_t kIoQueues = 0x10000;  // 0x2000 per SQ/CQ pair: SQ, then CQ
inline constexpr uint64_t kData = 0x40000;      // scratch buffers from here on
inline constexpr size_t kDmaSize = 1 << 20;
inline constexpr uint64_t kMediaSize = 1 << 20;  // 2048 blocks of 512 bytes

inline uint64_t io_sq(uint16_t qid) {
  return kIoQueues + (qid - 1) * 0x4000;
}
inline uint64_t io_cq(uint16_t qid) {
  return kIoQueues + (qid - 1) * 0x4000 + 0x2000;
}

struct HostQueue {
  uint64_t sq_iova = 0, cq_iova = 0;
  uint32_t sq_size = 0, cq_size = 0;
  uint32_t sq_tail = 0, cq_head = 0;
  bool phase = true;
};

class NvmeTestHost {
 public:
  using TimePoint = NvmeController::TimePoint;

  explicit NvmeTestHost(NvmeControllerConfig config = {}, uint64_t media = kMediaSize)
      : store(media) {
    auto b = SharedMemory::create("test-bar", 0x2000);
    auto d = SharedMemory::create("test-dma", kDmaSize);
    EXPECT_TRUE(b.ok() && d.ok());
    bar = std::move(b.value());
    dma = std::move(d.value());
    auto c = NvmeController::create(
        bar.bytes(), dma.bytes(), store, [this](uint32_t v) { ++irqs, last_vectors = v; }, config);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().describe());
    ctrl = std::move(c.value());
  }

  uint32_t reg(size_t off) const { return uio::load_register(bar.data(), off); }
  void set_reg(size_t off, uint32_t v) { uio::store_register(bar.data(), off, v); }
  void set_reg64(size_t off, uint64_t v) {
    set_reg(off, static_cast<uint32_t>(v));
    set_reg(off + 4, static_cast<uint32_t>(v >> 32));
  }
  void poll() { ctrl->poll(now); }
  void advance(std::chrono::microseconds us) { now += us; }
  std::byte* at(uint64_t iova) { return dma.data() + iova; }

  // Programs the admin queue and sets CC.EN; returns CSTS after one poll.
  uint32_t enable(uint32_t sq_entries = 16, uint32_t cq_entries = 16) {
    set_reg(kRegAqa, aqa::make(sq_entries, cq_entries));
    set_reg64(kRegAsq, kAdminSq);
    set_reg64(kRegAcq, kAdminCq);
    set_reg(kRegCc, cc::make(0, 6, 4));
    poll();
    q[0] = HostQueue{kAdminSq, kAdminCq, sq_entries, cq_entries, 0, 0, true};
    return reg(kRegCsts);
  }
  void disable() {
    set_reg(kRegCc, 0);
    poll();
  }

  void submit(uint16_t qid, SubmissionEntry cmd) {
    HostQueue& h = q[qid];
    std::memcpy(at(h.sq_iova + h.sq_tail * 64ull), &cmd, sizeof cmd);
    h.sq_tail = (h.sq_tail + 1) % h.sq_size;
  }
  void ring_sq(uint16_t qid) { set_reg(sq_tail_doorbell(qid), q[qid].sq_tail); }
  std::optional<CompletionEntry> reap(uint16_t qid) {
    HostQueue& h = q[qid];
    CompletionEntry e;
    std::memcpy(&e, at(h.cq_iova + h.cq_head * 16ull), sizeof e);
    if ((e.status & status::kPhase) != (h.phase ? 1 : 0)) return std::nullopt;
    if (++h.cq_head == h.cq_size) h.cq_head = 0, h.phase = !h.phase;
    return e;
  }
  void ring_cq(uint16_t qid) { set_reg(cq_head_doorbell(qid), q[qid].cq_head); }

  // Submits one command, polls, and returns its completion (or nothing).
  std::optional<CompletionEntry> run(uint16_t qid, SubmissionEntry cmd) {
    cmd.cid = next_cid++;
    submit(qid, cmd);
    ring_sq(qid);
    poll();
    auto e = reap(qid);
    if (e) {
      EXPECT_EQ(e->cid, cmd.cid);
      EXPECT_EQ(e->sq_id, qid);
      ring_cq(qid);
      poll();
    }
    return e;
  }
  // Status field without the phase bit; 0xFFFF when nothing completed.
  uint16_t run_status(uint16_t qid, SubmissionEntry cmd) {
    auto e = run(qid, cmd);
    return e ? static_cast<uint16_t>(e->status & ~status::kPhase) : 0xFFFF;
  }

  static SubmissionEntry create_cq_cmd(uint16_t qid, uint32_t entries, uint64_t iova,
                                       bool ien = true, uint16_t iv = 0) {
    SubmissionEntry c{};
    c.opcode = admin::kCreateIoCq;
    c.prp1 = iova;
    c.cdw10 = queue_cdw10(qid, entries);
    c.cdw11 = 1u | (ien ? 2u : 0u) | (uint32_t{iv} << 16);
    return c;
  }
  static SubmissionEntry create_sq_cmd(uint16_t qid, uint32_t entries, uint64_t iova,
                                       uint16_t cqid) {
    SubmissionEntry c{};
    c.opcode = admin::kCreateIoSq;
    c.prp1 = iova;
    c.cdw10 = queue_cdw10(qid, entries);
    c.cdw11 = 1u | (uint32_t{cqid} << 16);
    return c;
  }
  // Creates I/O CQ and SQ `qid` (CQ id = SQ id).
  void create_pair(uint16_t qid, uint32_t sq_entries = 16, uint32_t cq_entries = 16,
                   bool ien = true) {
    ASSERT_EQ(run_status(0, create_cq_cmd(qid, cq_entries, io_cq(qid), ien)), 0);
    ASSERT_EQ(run_status(0, create_sq_cmd(qid, sq_entries, io_sq(qid), qid)), 0);
    q[qid] = HostQueue{io_sq(qid), io_cq(qid), sq_entries, cq_entries, 0, 0, true};
  }
  static SubmissionEntry rw_cmd(uint8_t opcode, uint64_t slba, uint32_t blocks, uint64_t prp1,
                                uint64_t prp2 = 0) {
    SubmissionEntry c{};
    c.opcode = opcode;
    c.nsid = 1;
    c.prp1 = prp1;
    c.prp2 = prp2;
    c.cdw10 = static_cast<uint32_t>(slba);
    c.cdw11 = static_cast<uint32_t>(slba >> 32);
    c.cdw12 = blocks - 1;
    return c;
  }

  MemoryBackingStore store;
  SharedMemory bar;
  SharedMemory dma;
  std::unique_ptr<NvmeController> ctrl;
  TimePoint now = TimePoint{} + std::chrono::seconds(1000);
  int irqs = 0;
  uint32_t last_vectors = 0;
  uint16_t next_cid = 1;
  HostQueue q[NvmeController::kMaxIoQueuePairs + 1];
};

inline uint16_t generic_status(uint8_t sc, bool dnr = true) {
  return status::make(status::kTypeGeneric, sc, dnr);
}
inline uint16_t specific_status(uint8_t sc) {
  return status::make(status::kTypeCommandSpecific, sc, true);
}

}  // namespace uldd::nvme::testing
