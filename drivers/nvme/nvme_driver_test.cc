// Unit tests of NvmeDriver against FakeNvmeDevice (fake_nvme_device.h): the
// bring-up sequence, PRP construction, phase wrap, doorbell batching, descriptor
// validation, stray completions, status mapping and checkpoint commits.
#include "drivers/nvme/nvme_driver.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "common/crc32c.h"
#include "drivers/nvme/fake_nvme_device.h"

namespace uldd::drivers {
namespace {

using abi::BlockDescriptor;
using abi::BlockOp;
using abi::BlockStatus;
using testing::FakeDma;
using testing::FakeNvmeDevice;

constexpr uint64_t kDriverArea = 64 << 10;
constexpr uint64_t kDmaSize = kDriverArea + (512 << 10);
constexpr uint64_t kMedia = 1 << 20;

abi::DriverConfig test_config(uint32_t queues = 2, uint32_t depth = 8) {
  abi::DriverConfig c{};
  c.io_queue_count = queues;
  c.io_queue_depth = depth;
  c.irq_coalesce_threshold = 4;
  c.irq_coalesce_time_us = 200;
  c.heartbeat_interval_us = 10000;
  c.max_transfer = 64 << 10;
  c.dma_driver_area_size = kDriverArea;
  c.dma_buffer_area_offset = kDriverArea;
  c.device_bytes = kMedia;
  return c;
}

BlockDescriptor request(uint32_t tag, BlockOp op, uint64_t iova, uint32_t len, uint64_t lba) {
  return BlockDescriptor{tag, static_cast<uint16_t>(op), 0, len, 0, iova, lba};
}

class NvmeDriverTest : public ::testing::Test {
 protected:
  void start(const abi::DriverConfig& cfg = test_config()) {
    cfg_ = cfg;
    dev_ = std::make_unique<FakeNvmeDevice>(kDmaSize, kDriverArea, kMedia);
    cb_ = std::make_unique<abi::ControlBlock>();
    ckpt_ = std::make_unique<abi::CheckpointRegion>();
    auto d = NvmeDriver::create(*dev_, cfg_, cb_.get(), ckpt_.get());
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
    Status s = driver_->bring_up();
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }
  std::byte* buf(uint64_t iova) { return dev_->dma().at<std::byte>(iova); }
  std::vector<BlockDescriptor> reap_all() {
    std::vector<BlockDescriptor> all;
    std::array<BlockDescriptor, 16> out;
    size_t n;
    while ((n = driver_->reap(out)) != 0) all.insert(all.end(), out.begin(), out.begin() + n);
    return all;
  }
  // Submits one request as its own batch and returns its completion.
  BlockDescriptor run_one(const BlockDescriptor& d) {
    driver_->submit(d);
    driver_->ring_doorbells();
    auto all = reap_all();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? BlockDescriptor{} : all[0];
  }

  abi::DriverConfig cfg_;
  std::unique_ptr<FakeNvmeDevice> dev_;
  std::unique_ptr<abi::ControlBlock> cb_;
  std::unique_ptr<abi::CheckpointRegion> ckpt_;
  std::unique_ptr<NvmeDriver> driver_;
};

TEST_F(NvmeDriverTest, BringUpSequence) {
  start();
  EXPECT_EQ(dev_->reg(nvme::kRegAqa), nvme::aqa::make(kAdminQueueDepth, kAdminQueueDepth));
  EXPECT_EQ(dev_->reg(nvme::kRegCc), nvme::cc::make(0, 6, 4));
  EXPECT_EQ(dev_->reg64(nvme::kRegAsq), FakeDma::kBusBase + driver_->layout().admin_sq_offset);
  const auto& a = dev_->admin_commands;
  ASSERT_EQ(a.size(), 8u);
  EXPECT_EQ(a[0].opcode, nvme::admin::kIdentify);
  EXPECT_EQ(a[0].cdw10, nvme::kCnsController);
  EXPECT_EQ(a[1].opcode, nvme::admin::kIdentify);
  EXPECT_EQ(a[1].cdw10, nvme::kCnsNamespace);
  EXPECT_EQ(a[1].nsid, 1u);
  EXPECT_EQ(a[2].opcode, nvme::admin::kSetFeatures);
  EXPECT_EQ(a[2].cdw10, nvme::kFeatureNumberOfQueues);
  EXPECT_EQ(a[2].cdw11, 0x00010001u);  // 2 SQs, 2 CQs, 0's based
  EXPECT_EQ(a[3].cdw10, nvme::kFeatureInterruptCoalescing);
  EXPECT_EQ(a[3].cdw11, 3u | (2u << 8));  // threshold 4 (0's based), 200 us
  for (uint16_t q = 1; q <= 2; ++q) {
    const auto& cq = a[2 + 2 * q];
    const auto& sq = a[3 + 2 * q];
    EXPECT_EQ(cq.opcode, nvme::admin::kCreateIoCq);
    EXPECT_EQ(cq.cdw10, nvme::queue_cdw10(q, 8));
    EXPECT_EQ(cq.cdw11, 3u);  // PC, IEN, IV 0
    EXPECT_EQ(cq.prp1, FakeDma::kBusBase + driver_->layout().io_cq_offset[q - 1]);
    EXPECT_EQ(sq.opcode, nvme::admin::kCreateIoSq);
    EXPECT_EQ(sq.cdw10, nvme::queue_cdw10(q, 8));
    EXPECT_EQ(sq.cdw11, 1u | (uint32_t{q} << 16));
  }
  EXPECT_EQ(driver_->namespace_bytes(), kMedia);
  EXPECT_EQ(driver_->free_slots(), 2u * 7u);  // depth - 1 per queue
}

TEST_F(NvmeDriverTest, BringUpDisablesAnEnabledControllerFirst) {
  dev_ = nullptr;
  cfg_ = test_config();
  dev_ = std::make_unique<FakeNvmeDevice>(kDmaSize, kDriverArea, kMedia);
  dev_->set(nvme::kRegCc, nvme::cc::make(0, 6, 4));
  dev_->set(nvme::kRegCsts, nvme::csts::kReady);
  auto d = NvmeDriver::create(*dev_, cfg_, nullptr, nullptr);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d.value()->bring_up().ok());
  ASSERT_GE(dev_->writes.size(), 1u);
  EXPECT_EQ(dev_->writes[0].first, nvme::kRegCc);
  EXPECT_EQ(dev_->writes[0].second & nvme::cc::kEnable, 0u);
}

TEST_F(NvmeDriverTest, CreateRefusesADriverAreaThatIsTooSmall) {
  abi::DriverConfig c = test_config(8, 4096);
  FakeNvmeDevice dev(kDmaSize, kDriverArea, kMedia);
  auto d = NvmeDriver::create(dev, c, nullptr, nullptr);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("driver area needs"), std::string::npos) << d.error().message;
}

TEST_F(NvmeDriverTest, BringUpRefusesSmallNamespaceAnd4KLbas) {
  for (int variant = 0; variant < 2; ++variant) {
    FakeNvmeDevice dev(kDmaSize, kDriverArea, kMedia);
    if (variant == 0) dev.nsze = 100;  // 51200 bytes < device_bytes
    if (variant == 1) dev.lbads = 12;
    auto d = NvmeDriver::create(dev, test_config(), nullptr, nullptr);
    ASSERT_TRUE(d.ok());
    Status s = d.value()->bring_up();
    EXPECT_FALSE(s.ok()) << "variant " << variant;
  }
}

TEST_F(NvmeDriverTest, PrpOnePage) {
  start();
  uint64_t iova = kDriverArea + 2 * 4096;
  std::memset(buf(iova), 0xAB, 4096);
  BlockDescriptor c = run_one(request(7, BlockOp::kWrite, iova, 4096, 8));
  EXPECT_EQ(c.tag, 7u);
  EXPECT_EQ(c.status, static_cast<uint16_t>(BlockStatus::kOk));
  ASSERT_EQ(dev_->io_commands.size(), 1u);
  const auto& cmd = dev_->io_commands[0];
  EXPECT_EQ(cmd.sqe.opcode, nvme::io::kWrite);
  EXPECT_EQ(cmd.sqe.prp1, dev_->dma().device_address(iova));
  EXPECT_EQ(cmd.sqe.prp2, 0u);
  EXPECT_EQ(cmd.sqe.cdw10, 8u);
  EXPECT_EQ(cmd.sqe.cdw12, 7u);  // 8 sectors, 0's based
  EXPECT_EQ(dev_->media()[8 * 512], 0xAB);
  EXPECT_EQ(dev_->media()[8 * 512 + 4095], 0xAB);
}

TEST_F(NvmeDriverTest, PrpTwoPagesTranslatesEachPage) {
  start();
  uint64_t iova = kDriverArea + 4 * 4096;
  run_one(request(1, BlockOp::kRead, iova, 8192, 0));
  // Unaligned: 4 KiB starting 512 bytes into a page also spans two pages.
  run_one(request(2, BlockOp::kRead, iova + 512, 4096, 0));
  ASSERT_EQ(dev_->io_commands.size(), 2u);
  for (const auto& cmd : dev_->io_commands) {
    EXPECT_EQ(cmd.sqe.prp2, dev_->dma().device_address(iova + 4096));
    // The fake swaps buffer pages: the second page is not prp1's page + 4 KiB.
    EXPECT_NE(cmd.sqe.prp2, (cmd.sqe.prp1 & ~uint64_t{4095}) + 4096);
  }
  EXPECT_EQ(dev_->io_commands[1].sqe.prp1, dev_->dma().device_address(iova + 512));
}

TEST_F(NvmeDriverTest, PrpListRoundTrip) {
  start();
  uint64_t src = kDriverArea + 512;        // unaligned: 64 KiB spans 17 pages
  uint64_t dst = kDriverArea + 40 * 4096;  // aligned: 16 pages
  for (uint32_t i = 0; i < 65536; ++i) buf(src)[i] = static_cast<std::byte>(i * 7 + i / 4096);
  EXPECT_EQ(run_one(request(1, BlockOp::kWrite, src, 65536, 100)).status, 0);
  EXPECT_EQ(run_one(request(2, BlockOp::kRead, dst, 65536, 100)).status, 0);
  EXPECT_EQ(std::memcmp(buf(src), buf(dst), 65536), 0);
  ASSERT_EQ(dev_->io_commands.size(), 2u);
  const auto& w = dev_->io_commands[0];
  ASSERT_EQ(w.pages.size(), 17u);
  for (uint32_t k = 1; k < 17; ++k)
    EXPECT_EQ(w.pages[k], dev_->dma().device_address(kDriverArea + k * 4096));
  // The list lives in the driver area's PRP pool.
  uint64_t list_iova = dev_->fake_dma().to_iova(w.sqe.prp2);
  EXPECT_GE(list_iova, driver_->layout().prp_pool_offset);
  EXPECT_LT(list_iova, driver_->layout().total_size);
  EXPECT_EQ(dev_->io_commands[1].pages.size(), 16u);
}

TEST_F(NvmeDriverTest, PhaseWrapsOverManyCqPasses) {
  start(test_config(1, 4));  // 3 commands per queue, CQ of 4 entries
  uint64_t iova = kDriverArea;
  uint32_t tag = 0;
  for (int round = 0; round < 40; ++round) {
    uint32_t n = driver_->free_slots();
    ASSERT_EQ(n, 3u);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t t = tag++;
      std::memset(buf(iova + i * 4096), static_cast<int>(t & 0xFF), 512);
      driver_->submit(request(t, BlockOp::kWrite, iova + i * 4096, 512, t % 2048));
    }
    driver_->ring_doorbells();
    auto done = reap_all();
    ASSERT_EQ(done.size(), n) << "round " << round;
    for (uint32_t i = 0; i < n; ++i) {
      EXPECT_EQ(done[i].tag, tag - n + i);
      EXPECT_EQ(done[i].status, 0);
    }
  }
  EXPECT_EQ(dev_->media()[(119 % 2048) * 512], 119);
  EXPECT_EQ(driver_->stats().stray_completions, 0u);  // 30 CQ wraps, phases never confused
}

TEST_F(NvmeDriverTest, OneDoorbellPerBatch) {
  start();
  size_t sq1 = dev_->sq_doorbell_writes(1), sq2 = dev_->sq_doorbell_writes(2);
  for (uint32_t i = 0; i < 5; ++i)
    driver_->submit(request(i, BlockOp::kRead, kDriverArea + i * 4096, 4096, i));
  EXPECT_EQ(dev_->sq_doorbell_writes(1), sq1);  // nothing before ring_doorbells()
  driver_->ring_doorbells();
  EXPECT_EQ(dev_->sq_doorbell_writes(1), sq1 + 1);
  EXPECT_EQ(dev_->sq_doorbell_writes(2), sq2);
  EXPECT_EQ(reap_all().size(), 5u);
  EXPECT_EQ(dev_->cq_doorbell_writes(1), 1u);  // one CQ head write for 5 CQEs
  // The next batch goes to the next queue; an empty batch rings nothing.
  for (uint32_t i = 0; i < 3; ++i) driver_->submit(request(10 + i, BlockOp::kFlush, 0, 0, 0));
  driver_->ring_doorbells();
  driver_->ring_doorbells();
  EXPECT_EQ(dev_->sq_doorbell_writes(2), sq2 + 1);
  EXPECT_EQ(dev_->sq_doorbell_writes(1), sq1 + 1);
  EXPECT_EQ(reap_all().size(), 3u);
  EXPECT_EQ(driver_->stats().batches, 2u);
  EXPECT_EQ(abi::load_shared(cb_->status.batches), 2u);
  EXPECT_EQ(abi::load_shared(cb_->status.doorbells), 4u);
}

TEST_F(NvmeDriverTest, InvalidDescriptorsNeverReachTheDevice) {
  start();
  uint32_t before = driver_->free_slots();
  std::vector<BlockDescriptor> bad = {
      request(1, BlockOp::kRead, kDriverArea - 4096, 4096, 0),          // IOVA in the driver area
      request(2, BlockOp::kRead, kDmaSize - 2048, 4096, 0),             // runs off the DMA region
      request(3, BlockOp::kWrite, kDriverArea, 1000, 0),                // not a multiple of 512
      request(4, BlockOp::kWrite, kDriverArea, 128 << 10, 0),           // > max_transfer
      request(5, BlockOp::kRead, kDriverArea, 4096, kMedia / 512 - 4),  // past the namespace end
      request(6, static_cast<BlockOp>(9), kDriverArea, 4096, 0),        // unknown op
      request(7, BlockOp::kRead, kDriverArea, 0, 0),                    // empty read
      request(8, BlockOp::kRead, kDriverArea + 2, 512, 0),              // not dword aligned
      request(9, BlockOp::kRead, kDriverArea, 4096, ~uint64_t{0}),      // lba overflow
  };
  for (const auto& d : bad) driver_->submit(d);
  driver_->ring_doorbells();
  EXPECT_EQ(driver_->free_slots(), before);
  auto done = reap_all();
  ASSERT_EQ(done.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(done[i].tag, bad[i].tag);
    EXPECT_EQ(done[i].iova, bad[i].iova);
    EXPECT_EQ(done[i].status, static_cast<uint16_t>(BlockStatus::kInvalid)) << "tag " << bad[i].tag;
  }
  EXPECT_TRUE(dev_->io_commands.empty());
  EXPECT_EQ(dev_->sq_doorbell_writes(1) + dev_->sq_doorbell_writes(2), 0u);
  EXPECT_EQ(abi::load_shared(cb_->status.rejected), bad.size());
  // The last sector of the namespace is fine.
  EXPECT_EQ(run_one(request(10, BlockOp::kRead, kDriverArea, 512, kMedia / 512 - 1)).status, 0);
}

TEST_F(NvmeDriverTest, StrayCompletionIsDroppedAndCounted) {
  start();
  dev_->inject_cqe(1, 5, 1);    // cid 5 is idle
  dev_->inject_cqe(1, 200, 1);  // cid out of range
  dev_->inject_cqe(2, 0, 1);    // wrong SQ for CQ 2
  EXPECT_TRUE(reap_all().empty());
  EXPECT_EQ(driver_->stats().stray_completions, 3u);
  EXPECT_GE(abi::load_shared(cb_->status.device_errors), 3u);
  EXPECT_EQ(driver_->free_slots(), 14u);
  BlockDescriptor c = run_one(request(42, BlockOp::kRead, kDriverArea, 512, 0));
  EXPECT_EQ(c.tag, 42u);
  EXPECT_EQ(c.status, 0);
}

TEST_F(NvmeDriverTest, StatusMapping) {
  start();
  dev_->fail_next_io(nvme::status::kTypeMedia, nvme::status::kUnrecoveredReadError);
  EXPECT_EQ(run_one(request(1, BlockOp::kRead, kDriverArea, 512, 0)).status,
            static_cast<uint16_t>(BlockStatus::kMediaError));
  dev_->fail_next_io(nvme::status::kTypeGeneric, nvme::status::kInternalError);
  BlockDescriptor c = run_one(request(2, BlockOp::kWrite, kDriverArea, 512, 0));
  EXPECT_EQ(c.status, static_cast<uint16_t>(BlockStatus::kIoError));
  EXPECT_EQ(c.flags, 0u) << "DNR clear: the shim may retry";
  // Do Not Retry (§4.6.1) travels to the shim as kBlockFlagDoNotRetry.
  dev_->fail_next_io(nvme::status::kTypeGeneric, nvme::status::kInvalidField, true);
  c = run_one(request(3, BlockOp::kWrite, kDriverArea, 512, 0));
  EXPECT_EQ(c.status, static_cast<uint16_t>(BlockStatus::kIoError));
  EXPECT_EQ(c.flags, abi::kBlockFlagDoNotRetry);
  EXPECT_EQ(run_one(request(4, BlockOp::kWrite, kDriverArea, 512, 0)).flags, 0u);
  EXPECT_EQ(driver_->stats().device_errors, 3u);
}

const abi::CheckpointSlot& newest(const abi::CheckpointRegion& r) {
  return r.slots[0].epoch > r.slots[1].epoch ? r.slots[0] : r.slots[1];
}

TEST_F(NvmeDriverTest, CheckpointCommitsAlternateWithValidCrc) {
  start();
  uint64_t e0 = newest(*ckpt_).epoch;
  EXPECT_GE(e0, 1u);
  dev_->hold_io = true;
  driver_->submit(request(0xBEEF, BlockOp::kRead, kDriverArea, 512, 0));
  driver_->ring_doorbells();
  const abi::CheckpointSlot& s = newest(*ckpt_);
  EXPECT_EQ(s.epoch, e0 + 1);
  EXPECT_EQ(s.magic, abi::kCheckpointMagic);
  EXPECT_EQ(s.device_class, abi::kCheckpointClassNvme);
  EXPECT_EQ(s.checksum, crc32c(s.payload, s.payload_size));
  NvmeCheckpoint cp;
  std::memcpy(&cp, s.payload, s.payload_size);
  EXPECT_EQ(s.payload_size, nvme_checkpoint_size(2 * 7));
  EXPECT_EQ(cp.queue_count, 2u);
  EXPECT_EQ(cp.queues[0].sq_tail, 1u);
  EXPECT_EQ(cp.queues[0].inflight, 1u);
  EXPECT_EQ(cp.busy[0] & 1u, 1u);
  EXPECT_EQ(cp.tags[0], 0xBEEFu);
  // The other slot still holds the previous epoch, intact.
  const abi::CheckpointSlot& other = &s == &ckpt_->slots[0] ? ckpt_->slots[1] : ckpt_->slots[0];
  EXPECT_EQ(other.epoch, e0);
  EXPECT_EQ(other.checksum, crc32c(other.payload, other.payload_size));

  dev_->process_io();
  EXPECT_EQ(reap_all().size(), 1u);
  const abi::CheckpointSlot& s2 = newest(*ckpt_);
  EXPECT_EQ(s2.epoch, e0 + 2);
  EXPECT_EQ(s2.checksum, crc32c(s2.payload, s2.payload_size));
  std::memcpy(&cp, s2.payload, s2.payload_size);
  EXPECT_EQ(cp.queues[0].inflight, 0u);
  EXPECT_EQ(cp.queues[0].cq_head, 1u);
  EXPECT_EQ(cp.busy[0] & 1u, 0u);
}

TEST_F(NvmeDriverTest, InterruptAndShutdown) {
  start();
  run_one(request(1, BlockOp::kRead, kDriverArea, 512, 0));
  ASSERT_TRUE(driver_->on_interrupt().ok());
  EXPECT_EQ(driver_->stats().interrupts, 1u);
  EXPECT_EQ(dev_->unmasks, 1u);
  EXPECT_EQ(abi::load_shared(cb_->status.interrupts), 1u);
  ASSERT_TRUE(driver_->shutdown().ok());
  EXPECT_EQ(nvme::cc::shn(dev_->reg(nvme::kRegCc)), 1u);
}

}  // namespace
}  // namespace uldd::drivers
