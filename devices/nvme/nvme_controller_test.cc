// NvmeController unit tests, part 1: registers, the CC/CSTS state machine,
// reset, Identify, queue creation/deletion checks and features.
#include "devices/nvme/nvme_controller.h"

#include <gtest/gtest.h>

#include "devices/nvme/identify_data.h"
#include "devices/nvme/nvme_test_host.h"

namespace uldd::nvme::testing {
namespace {

TEST(NvmeControllerRegisters, PowerOnValues) {
  NvmeTestHost h;
  uint64_t c = uint64_t{h.reg(kRegCap)} | (uint64_t{h.reg(kRegCap + 4)} << 32);
  EXPECT_EQ(cap::mqes(c), 4095u);
  EXPECT_EQ(cap::dstrd(c), 0u);
  EXPECT_EQ(cap::cqr(c), 1u);
  EXPECT_GT(cap::to(c), 0u);
  EXPECT_EQ(cap::css(c) & 1, 1u);
  EXPECT_EQ(cap::mpsmin(c), 0u);
  EXPECT_EQ(cap::mpsmax(c), 0u);
  EXPECT_EQ(h.reg(kRegVs), kVersion14);
  EXPECT_EQ(h.reg(kRegCsts), 0u);
}

TEST(NvmeControllerRegisters, RejectsTooSmallBar) {
  MemoryBackingStore store(kMediaSize);
  std::byte bar[0x1000];
  std::byte dma[4096];
  auto c = NvmeController::create(bar, dma, store, [](uint32_t) {});
  EXPECT_FALSE(c.ok());
}

TEST(NvmeControllerRegisters, EnableSetsReady) {
  NvmeTestHost h;
  EXPECT_EQ(h.enable(), csts::kReady);
  EXPECT_TRUE(h.ctrl->ready());
}

TEST(NvmeControllerRegisters, AdminQueueOutsideDmaIsFatalUntilReset) {
  NvmeTestHost h;
  h.set_reg(kRegAqa, aqa::make(16, 16));
  h.set_reg64(kRegAsq, kDmaSize - 0x200);  // 16 * 64 bytes do not fit
  h.set_reg64(kRegAcq, kAdminCq);
  h.set_reg(kRegCc, cc::make(0, 6, 4));
  h.poll();
  EXPECT_EQ(h.reg(kRegCsts) & (csts::kReady | csts::kFatal), csts::kFatal);
  h.disable();
  EXPECT_EQ(h.reg(kRegCsts), 0u);
  EXPECT_EQ(h.enable(), csts::kReady);
}

TEST(NvmeControllerRegisters, ShutdownFlushesAndReportsComplete) {
  NvmeTestHost h;
  h.enable();
  uint64_t flushes = h.store.flush_count();
  h.set_reg(kRegCc, cc::make(0, 6, 4) | (1u << 14));  // SHN = normal
  h.poll();
  EXPECT_EQ(h.reg(kRegCsts) & (3u << 2), csts::kShutdownComplete);
  EXPECT_EQ(h.store.flush_count(), flushes + 1);
}

TEST(NvmeControllerRegisters, ResetThroughCcEnDropsQueues) {
  NvmeTestHost h;
  h.enable();
  h.create_pair(1);
  SubmissionEntry flush{};
  flush.opcode = io::kFlush;
  flush.nsid = 1;
  EXPECT_EQ(h.run_status(1, flush), 0);

  h.disable();
  EXPECT_EQ(h.reg(kRegCsts), 0u);
  EXPECT_EQ(h.reg(sq_tail_doorbell(1)), 0u);
  EXPECT_EQ(h.reg(cq_head_doorbell(1)), 0u);
  std::memset(h.at(0), 0, 0x20000);  // fresh queue memory, as a restarted driver has
  ASSERT_EQ(h.enable(), csts::kReady);

  // I/O queue 1 is gone: its doorbell is ignored ...
  h.q[1] = HostQueue{io_sq(1), io_cq(1), 16, 16, 0, 0, true};
  EXPECT_EQ(h.run_status(1, flush), 0xFFFF);
  EXPECT_EQ(h.reg(kRegCsts), csts::kReady);
  // ... and can be created again (it would be "invalid queue id" if it existed).
  h.create_pair(1);  // the model zeroes the stale tail doorbell
  EXPECT_EQ(h.run_status(1, flush), 0);
}

TEST(NvmeControllerAdmin, IdentifyController) {
  NvmeControllerConfig cfg;
  cfg.serial = "SN-TEST-42";
  NvmeTestHost h(cfg);
  h.enable();
  SubmissionEntry id{};
  id.opcode = admin::kIdentify;
  id.prp1 = kData + 0x800;  // straddles a page: PRP2 carries the rest
  id.prp2 = kData + 0x2000;
  id.cdw10 = kCnsController;
  ASSERT_EQ(h.run_status(0, id), 0);
  IdentifyController c;
  std::memcpy(&c, h.at(kData + 0x800), 0x800);
  std::memcpy(reinterpret_cast<std::byte*>(&c) + 0x800, h.at(kData + 0x2000), 0x800);
  EXPECT_EQ(std::string(c.sn, 20), "SN-TEST-42          ");
  EXPECT_EQ(std::string(c.mn, 12), "uldd-hw NVMe");
  EXPECT_EQ(c.mdts, 5);
  EXPECT_EQ(c.ver, kVersion14);
  EXPECT_EQ(c.sqes, 0x66);
  EXPECT_EQ(c.cqes, 0x44);
  EXPECT_EQ(c.nn, 1u);
  EXPECT_EQ(c.vwc & 1, 1);
  EXPECT_EQ(c.oncs & 4, 4);
}

TEST(NvmeControllerAdmin, IdentifyNamespaceAndList) {
  NvmeTestHost h;
  h.enable();
  SubmissionEntry id{};
  id.opcode = admin::kIdentify;
  id.prp1 = kData;
  id.nsid = 1;
  id.cdw10 = kCnsNamespace;
  ASSERT_EQ(h.run_status(0, id), 0);
  IdentifyNamespace ns;
  std::memcpy(&ns, h.at(kData), sizeof ns);
  EXPECT_EQ(ns.nsze, kMediaSize / 512);
  EXPECT_EQ(ns.ncap, kMediaSize / 512);
  EXPECT_EQ(ns.flbas & 0xF, 0);
  EXPECT_EQ(ns.lbaf[0].lbads, 9);

  id.nsid = 2;
  EXPECT_EQ(h.run_status(0, id), generic_status(status::kInvalidNamespace));

  id.nsid = 0;
  id.cdw10 = kCnsActiveNamespaces;
  std::memset(h.at(kData), 0xAB, 8);
  ASSERT_EQ(h.run_status(0, id), 0);
  uint32_t list[2];
  std::memcpy(list, h.at(kData), sizeof list);
  EXPECT_EQ(list[0], 1u);
  EXPECT_EQ(list[1], 0u);

  id.cdw10 = 0x55;  // unknown CNS
  EXPECT_EQ(h.run_status(0, id), generic_status(status::kInvalidField));
}

TEST(NvmeControllerAdmin, CreateQueueErrors) {
  NvmeTestHost h;
  h.enable();
  using T = NvmeTestHost;
  const uint16_t bad_qid = specific_status(status::kInvalidQueueIdentifier);
  const uint16_t bad_size = specific_status(status::kInvalidQueueSize);
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(0, 16, io_cq(1))), bad_qid);
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(9, 16, io_cq(1))), bad_qid);
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 1, io_cq(1))), bad_size);
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 4097, io_cq(1))), bad_size);
  auto not_contiguous = T::create_cq_cmd(1, 16, io_cq(1));
  not_contiguous.cdw11 &= ~1u;
  EXPECT_EQ(h.run_status(0, not_contiguous), generic_status(status::kInvalidField));
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 16, io_cq(1) + 8)),
            generic_status(status::kInvalidField));  // unaligned base
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 4096, kDmaSize - 0x1000)),
            generic_status(status::kInvalidField));  // runs past the DMA region
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 16, uint64_t{1} << 62)),
            generic_status(status::kInvalidField));
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 16, io_cq(1), true, 31)),
            specific_status(0x08));  // invalid interrupt vector

  EXPECT_EQ(h.run_status(0, T::create_sq_cmd(1, 16, io_sq(1), 1)),
            specific_status(status::kCompletionQueueInvalid));
  ASSERT_EQ(h.run_status(0, T::create_cq_cmd(1, 16, io_cq(1))), 0);
  EXPECT_EQ(h.run_status(0, T::create_cq_cmd(1, 16, io_cq(2))), bad_qid);  // exists
  EXPECT_EQ(h.run_status(0, T::create_sq_cmd(0, 16, io_sq(1), 1)), bad_qid);
  EXPECT_EQ(h.run_status(0, T::create_sq_cmd(1, 1, io_sq(1), 1)), bad_size);
  ASSERT_EQ(h.run_status(0, T::create_sq_cmd(1, 16, io_sq(1), 1)), 0);
  EXPECT_EQ(h.run_status(0, T::create_sq_cmd(1, 16, io_sq(2), 1)), bad_qid);  // exists
}

TEST(NvmeControllerAdmin, DeleteQueueErrors) {
  NvmeTestHost h;
  h.enable();
  h.create_pair(1);
  SubmissionEntry del_cq{};
  del_cq.opcode = admin::kDeleteIoCq;
  del_cq.cdw10 = 1;
  EXPECT_EQ(h.run_status(0, del_cq), specific_status(status::kInvalidQueueDeletion));
  SubmissionEntry del_sq{};
  del_sq.opcode = admin::kDeleteIoSq;
  del_sq.cdw10 = 1;
  EXPECT_EQ(h.run_status(0, del_sq), 0);
  EXPECT_EQ(h.run_status(0, del_sq), specific_status(status::kInvalidQueueIdentifier));
  EXPECT_EQ(h.run_status(0, del_cq), 0);
  EXPECT_EQ(h.run_status(0, del_cq), specific_status(status::kInvalidQueueIdentifier));
  del_cq.cdw10 = 0;  // the admin CQ cannot be deleted
  EXPECT_EQ(h.run_status(0, del_cq), specific_status(status::kInvalidQueueIdentifier));
}

TEST(NvmeControllerAdmin, NumberOfQueuesFeature) {
  NvmeTestHost h;
  h.enable();
  SubmissionEntry set{};
  set.opcode = admin::kSetFeatures;
  set.cdw10 = kFeatureNumberOfQueues;
  set.cdw11 = 15 | (15u << 16);  // ask for 16 pairs: 8 granted
  auto e = h.run(0, set);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status & ~1, 0);
  EXPECT_EQ(e->dw0, 7u | (7u << 16));
  set.cdw11 = 1 | (1u << 16);  // 2 pairs
  e = h.run(0, set);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->dw0, 1u | (1u << 16));
  EXPECT_EQ(h.run_status(0, NvmeTestHost::create_cq_cmd(3, 16, io_cq(3))),
            specific_status(status::kInvalidQueueIdentifier));
  SubmissionEntry get{};
  get.opcode = admin::kGetFeatures;
  get.cdw10 = kFeatureNumberOfQueues;
  e = h.run(0, get);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->dw0, 1u | (1u << 16));
  h.create_pair(1);
  EXPECT_EQ(h.run_status(0, set), generic_status(0x0C));  // command sequence error
  set.cdw11 = 0xFFFF;
  EXPECT_EQ(h.run_status(0, set), generic_status(status::kInvalidField));
}

TEST(NvmeControllerAdmin, CoalescingAndWriteCacheFeatures) {
  NvmeTestHost h;
  h.enable();
  SubmissionEntry set{};
  set.opcode = admin::kSetFeatures;
  set.cdw10 = kFeatureInterruptCoalescing;
  set.cdw11 = 0x0A03;
  EXPECT_EQ(h.run_status(0, set), 0);
  SubmissionEntry get{};
  get.opcode = admin::kGetFeatures;
  get.cdw10 = kFeatureInterruptCoalescing;
  EXPECT_EQ(h.run(0, get)->dw0, 0x0A03u);
  get.cdw10 = kFeatureInterruptCoalescing | (1u << 8);  // SEL = default
  EXPECT_EQ(h.run(0, get)->dw0, 0u);
  get.cdw10 = kFeatureVolatileWriteCache;
  EXPECT_EQ(h.run(0, get)->dw0, 1u);
  set.cdw10 = kFeatureVolatileWriteCache;
  set.cdw11 = 0;
  EXPECT_EQ(h.run_status(0, set), 0);
  EXPECT_EQ(h.run(0, get)->dw0, 0u);
  set.cdw10 = 0x7F;  // unknown feature
  EXPECT_EQ(h.run_status(0, set), generic_status(status::kInvalidField));
}

TEST(NvmeControllerAdmin, UnsupportedCommands) {
  NvmeTestHost h;
  h.enable();
  SubmissionEntry c{};
  c.opcode = 0x7E;
  EXPECT_EQ(h.run_status(0, c), generic_status(status::kInvalidOpcode));
  c.opcode = admin::kGetLogPage;
  EXPECT_EQ(h.run_status(0, c), generic_status(status::kInvalidField));
  c.opcode = admin::kIdentify;
  c.cdw10 = kCnsController;
  c.prp1 = kData;
  c.flags = 0x40;  // PSDT = SGL
  EXPECT_EQ(h.run_status(0, c), generic_status(status::kInvalidField));
}

}  // namespace
}  // namespace uldd::nvme::testing
