// NvmeController unit tests, part 2: the I/O path — PRPs, hostile addresses,
// phase tags, CQ back-pressure, interrupts and coalescing, doorbell errors,
// Flush, range checks, latency, and the file store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <numeric>
#include <set>
#include <vector>

#include "devices/nvme/file_backing_store.h"
#include "devices/nvme/nvme_test_host.h"

namespace uldd::nvme::testing {
namespace {

using T = NvmeTestHost;
using std::chrono::microseconds;

void fill(std::byte* p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; ++i) p[i] = std::byte(static_cast<uint8_t>(seed + i * 7 + (i >> 9)));
}

class NvmeControllerIo : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(h.enable(), csts::kReady);
    h.create_pair(1);
  }
  NvmeTestHost h;
};

TEST_F(NvmeControllerIo, ReadWriteRoundTripPrp1Only) {
  fill(h.at(kData + 0x100), 1024, 1);  // two blocks inside one page, at an offset
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 10, 2, kData + 0x100)), 0);
  EXPECT_EQ(std::memcmp(h.store.bytes().data() + 10 * 512, h.at(kData + 0x100), 1024), 0);
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 10, 2, kData + 0x8000)), 0);
  EXPECT_EQ(std::memcmp(h.at(kData + 0x8000), h.at(kData + 0x100), 1024), 0);
}

TEST_F(NvmeControllerIo, ReadWritePrp1AndPrp2) {
  // 8 KiB from a page-aligned PRP1 and a second page that is not adjacent.
  fill(h.at(kData), 4096, 2);
  fill(h.at(kData + 0x5000), 4096, 3);
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 100, 16, kData, kData + 0x5000)), 0);
  EXPECT_EQ(std::memcmp(h.store.bytes().data() + 100 * 512, h.at(kData), 4096), 0);
  EXPECT_EQ(std::memcmp(h.store.bytes().data() + 100 * 512 + 4096, h.at(kData + 0x5000), 4096), 0);
  // Read 5 KiB back with PRP1 at offset 0xC00: 1 KiB there, 4 KiB in PRP2.
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 100, 10, kData + 0x10C00, kData + 0x13000)), 0);
  EXPECT_EQ(std::memcmp(h.at(kData + 0x10C00), h.at(kData), 1024), 0);
  EXPECT_EQ(std::memcmp(h.at(kData + 0x13000), h.at(kData + 1024), 3072), 0);
  EXPECT_EQ(std::memcmp(h.at(kData + 0x13000 + 3072), h.at(kData + 0x5000), 1024), 0);
}

TEST_F(NvmeControllerIo, ReadWritePrpListAndChainedList) {
  // 64 KiB = 16 pages, scattered in reverse order, listed in a PRP list.
  std::vector<uint64_t> pages;
  for (int i = 0; i < 16; ++i) pages.push_back(kData + 0x40000 - 0x1000 * i);
  for (int i = 0; i < 16; ++i) fill(h.at(pages[i]), 4096, static_cast<uint8_t>(i));
  const uint64_t list = kData + 0x60000;
  std::memcpy(h.at(list), &pages[1], 15 * 8);
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 256, 128, pages[0], list)), 0);
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(std::memcmp(h.store.bytes().data() + 256 * 512 + i * 4096, h.at(pages[i]), 4096), 0)
        << "page " << i;

  // Read it back through a list that starts 16 bytes before the end of its
  // page: one data entry, then a pointer to the next list page.
  std::vector<uint64_t> dst;
  for (int i = 0; i < 16; ++i) dst.push_back(kData + 0x70000 + 0x1000 * i);
  const uint64_t list1 = kData + 0x61000 - 16;
  const uint64_t list2 = kData + 0x62000;
  std::memcpy(h.at(list1), &dst[1], 8);
  std::memcpy(h.at(list1 + 8), &list2, 8);
  std::memcpy(h.at(list2), &dst[2], 14 * 8);
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 256, 128, dst[0], list1)), 0);
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(std::memcmp(h.at(dst[i]), h.at(pages[i]), 4096), 0) << "page " << i;
}

TEST_F(NvmeControllerIo, HostilePrpsFailWithoutTouchingMemory) {
  const uint16_t dte = generic_status(status::kDataTransferError);
  const uint16_t bad_field = generic_status(status::kInvalidField);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 1, kDmaSize)), dte);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 8, kDmaSize - 512, kDmaSize)), dte);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 1, ~uint64_t{0} - 3)), dte);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 1, kData + 2)),
            bad_field);  // not dword aligned
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 16, kData, kData + 0x800)), bad_field);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 16, kData, uint64_t{1} << 40)), dte);
  // PRP list pointer outside, and a list entry outside.
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 24, kData, kDmaSize + 0x1000)), dte);
  uint64_t entries[2] = {kData + 0x1000, uint64_t{1} << 45};
  std::memcpy(h.at(kData + 0x9000), entries, sizeof entries);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 24, kData, kData + 0x9000)), dte);
  // A list entry with an offset; a chain pointer that points at itself.
  entries[1] = kData + 0x2010;
  std::memcpy(h.at(kData + 0x9000), entries, sizeof entries);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 24, kData, kData + 0x9000)), bad_field);
  const uint64_t self = kData + 0xA000 + 4088;  // last slot of its page: a chain pointer
  std::memcpy(h.at(self), &self, 8);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 256, kData, self)), bad_field);
  EXPECT_TRUE(h.ctrl->ready());
  EXPECT_FALSE(h.ctrl->fatal());
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 1, kData)), 0);  // still serving
}

TEST_F(NvmeControllerIo, RangeAndNamespaceChecks) {
  const uint64_t blocks = kMediaSize / 512;
  const uint16_t range = generic_status(status::kLbaOutOfRange);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, blocks - 1, 1, kData)), 0);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, blocks - 1, 2, kData)), range);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, blocks, 1, kData)), range);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, ~uint64_t{0}, 1, kData)), range);
  // 129 KiB > MDTS (128 KiB).
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 258, kData, kData + 0x9000)),
            generic_status(status::kInvalidField));
  auto cmd = T::rw_cmd(io::kRead, 0, 1, kData);
  cmd.nsid = 2;
  EXPECT_EQ(h.run_status(1, cmd), generic_status(status::kInvalidNamespace));
  cmd.opcode = 0x7F;
  cmd.nsid = 1;
  EXPECT_EQ(h.run_status(1, cmd), generic_status(status::kInvalidOpcode));
}

TEST_F(NvmeControllerIo, FlushFuaAndWriteCacheReachTheStore) {
  SubmissionEntry flush{};
  flush.opcode = io::kFlush;
  flush.nsid = 1;
  uint64_t before = h.store.flush_count();
  EXPECT_EQ(h.run_status(1, flush), 0);
  EXPECT_EQ(h.store.flush_count(), before + 1);
  flush.nsid = 0xFFFFFFFF;
  EXPECT_EQ(h.run_status(1, flush), 0);
  EXPECT_EQ(h.store.flush_count(), before + 2);
  // A plain write with the write cache on does not flush; FUA does.
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 0, 1, kData)), 0);
  EXPECT_EQ(h.store.flush_count(), before + 2);
  auto fua = T::rw_cmd(io::kWrite, 0, 1, kData);
  fua.cdw12 |= 1u << 30;
  EXPECT_EQ(h.run_status(1, fua), 0);
  EXPECT_EQ(h.store.flush_count(), before + 3);
  SubmissionEntry vwc{};
  vwc.opcode = admin::kSetFeatures;
  vwc.cdw10 = kFeatureVolatileWriteCache;  // WCE = 0
  ASSERT_EQ(h.run_status(0, vwc), 0);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 0, 1, kData)), 0);
  EXPECT_EQ(h.store.flush_count(), before + 4);
}

TEST_F(NvmeControllerIo, MediaErrorsBecomeStatus) {
  h.store.set_fail_io(true);
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kRead, 0, 1, kData)),
            status::make(status::kTypeMedia, status::kUnrecoveredReadError));
  EXPECT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 0, 1, kData)),
            status::make(status::kTypeMedia, status::kWriteFault));
}

TEST_F(NvmeControllerIo, DatasetManagementDeallocates) {
  fill(h.at(kData), 4096, 9);
  ASSERT_EQ(h.run_status(1, T::rw_cmd(io::kWrite, 40, 8, kData)), 0);
  struct {
    uint32_t attr, nlb;
    uint64_t slba;
  } range{0, 4, 42};
  std::memcpy(h.at(kData + 0x3000), &range, sizeof range);
  SubmissionEntry dsm{};
  dsm.opcode = io::kDatasetManagement;
  dsm.nsid = 1;
  dsm.prp1 = kData + 0x3000;
  dsm.cdw10 = 0;        // one range
  dsm.cdw11 = 1u << 2;  // AD
  ASSERT_EQ(h.run_status(1, dsm), 0);
  const std::byte* media = h.store.bytes().data();
  EXPECT_EQ(std::memcmp(media + 40 * 512, h.at(kData), 1024), 0);  // untouched
  for (size_t i = 42 * 512; i < 46 * 512; ++i) ASSERT_EQ(media[i], std::byte{0});
  EXPECT_EQ(std::memcmp(media + 46 * 512, h.at(kData + 3072), 1024), 0);
  range.slba = kMediaSize / 512 - 1;
  std::memcpy(h.at(kData + 0x3000), &range, sizeof range);
  EXPECT_EQ(h.run_status(1, dsm), generic_status(status::kLbaOutOfRange));
}

TEST_F(NvmeControllerIo, PhaseTagTogglesAcrossCqWraps) {
  // A 4-entry CQ wrapped 5 times: each pass flips the expected phase.
  ASSERT_EQ(h.run_status(0, T::create_cq_cmd(2, 4, io_cq(2))), 0);
  ASSERT_EQ(h.run_status(0, T::create_sq_cmd(2, 4, io_sq(2), 2)), 0);
  h.q[2] = HostQueue{io_sq(2), io_cq(2), 4, 4, 0, 0, true};
  for (int i = 0; i < 20; ++i) {
    auto cmd = T::rw_cmd(io::kRead, i, 1, kData);
    cmd.cid = static_cast<uint16_t>(1000 + i);
    h.submit(2, cmd);
    h.ring_sq(2);
    h.poll();
    CompletionEntry raw;
    std::memcpy(&raw, h.at(io_cq(2) + (i % 4) * 16), sizeof raw);
    EXPECT_EQ(raw.status & 1, ((i / 4) % 2 == 0) ? 1 : 0) << "entry " << i;
    auto e = h.reap(2);
    ASSERT_TRUE(e) << "entry " << i;
    EXPECT_EQ(e->cid, 1000 + i);
    EXPECT_EQ(e->sq_id, 2);
    EXPECT_EQ(e->sq_head, (i + 1) % 4);
    EXPECT_EQ(e->status >> 1, 0);
    EXPECT_FALSE(h.reap(2));
    h.ring_cq(2);
  }
}

TEST_F(NvmeControllerIo, FullCqStallsWithoutOverwriting) {
  ASSERT_EQ(h.run_status(0, T::create_cq_cmd(2, 4, io_cq(2))), 0);
  ASSERT_EQ(h.run_status(0, T::create_sq_cmd(2, 16, io_sq(2), 2)), 0);
  h.q[2] = HostQueue{io_sq(2), io_cq(2), 16, 4, 0, 0, true};
  for (int i = 0; i < 10; ++i) {
    auto cmd = T::rw_cmd(io::kRead, 0, 1, kData);
    cmd.cid = static_cast<uint16_t>(i);
    h.submit(2, cmd);
  }
  h.ring_sq(2);
  h.poll();
  h.poll();
  // Three entries fit (one slot always stays empty); the fourth is untouched.
  std::set<uint16_t> seen;
  for (int i = 0; i < 3; ++i) {
    auto e = h.reap(2);
    ASSERT_TRUE(e);
    seen.insert(e->cid);
  }
  EXPECT_FALSE(h.reap(2));
  CompletionEntry slot3;
  std::memcpy(&slot3, h.at(io_cq(2) + 3 * 16), sizeof slot3);
  EXPECT_EQ(slot3.status, 0);
  EXPECT_EQ(slot3.cid, 0);
  // Releasing the CQ lets the rest through, in order, each exactly once.
  for (int round = 0; round < 5 && seen.size() < 10; ++round) {
    h.ring_cq(2);
    h.poll();
    while (auto e = h.reap(2)) EXPECT_TRUE(seen.insert(e->cid).second) << e->cid;
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_FALSE(h.ctrl->fatal());
}

// A driver may move a CQ head without a kick (emulated UIO's write32_lazy, or
// a plain store to the BAR), so a controller stalled on a full CQ re-reads the
// heads on a short timer, and only while it is stalled.
TEST_F(NvmeControllerIo, StalledCqRereadsHeadOnATimer) {
  ASSERT_EQ(h.run_status(0, T::create_cq_cmd(2, 4, io_cq(2))), 0);
  ASSERT_EQ(h.run_status(0, T::create_sq_cmd(2, 16, io_sq(2), 2)), 0);
  h.q[2] = HostQueue{io_sq(2), io_cq(2), 16, 4, 0, 0, true};
  NvmeController::TimePoint deadline;
  EXPECT_FALSE(h.ctrl->next_deadline(&deadline));  // idle: no timer
  for (int i = 0; i < 5; ++i) {
    auto cmd = T::rw_cmd(io::kRead, 0, 1, kData);
    cmd.cid = static_cast<uint16_t>(i);
    h.submit(2, cmd);
  }
  h.ring_sq(2);
  h.poll();
  auto stalled_at = h.now;
  ASSERT_TRUE(h.ctrl->next_deadline(&deadline));
  EXPECT_EQ(deadline, stalled_at + NvmeController::kStalledCqRecheck);
  int seen = 0;
  while (h.reap(2)) ++seen;
  EXPECT_EQ(seen, 3);
  h.ring_cq(2);  // the head moves, and nothing tells the controller
  h.advance(NvmeController::kStalledCqRecheck);
  h.poll();  // the timer's poll: the head is read, the rest is posted
  while (h.reap(2)) ++seen;
  EXPECT_EQ(seen, 5);
  // Posted and not yet consumed, but nothing waits for CQ space: no timer.
  EXPECT_FALSE(h.ctrl->next_deadline(&deadline));
  h.ring_cq(2);
  h.poll();
  EXPECT_FALSE(h.ctrl->next_deadline(&deadline));
  EXPECT_FALSE(h.ctrl->fatal());
}

TEST_F(NvmeControllerIo, OneInterruptPerPollAndNoneWithoutIen) {
  int before = h.irqs;
  h.submit(1, T::rw_cmd(io::kRead, 0, 1, kData));
  h.submit(1, T::rw_cmd(io::kRead, 1, 1, kData));
  h.ring_sq(1);
  h.poll();
  EXPECT_EQ(h.irqs, before + 1);
  EXPECT_EQ(h.last_vectors, 1u);
  ASSERT_EQ(h.run_status(0, T::create_cq_cmd(2, 16, io_cq(2), /*ien=*/false)), 0);
  ASSERT_EQ(h.run_status(0, T::create_sq_cmd(2, 16, io_sq(2), 2)), 0);
  h.q[2] = HostQueue{io_sq(2), io_cq(2), 16, 16, 0, 0, true};
  before = h.irqs;
  h.submit(2, T::rw_cmd(io::kRead, 0, 1, kData));
  h.ring_sq(2);
  h.poll();
  EXPECT_TRUE(h.reap(2));
  EXPECT_EQ(h.irqs, before);
}

TEST_F(NvmeControllerIo, IntmsHoldsInterruptUntilIntmc) {
  h.set_reg(kRegIntms, 1);
  int before = h.irqs;
  h.submit(1, T::rw_cmd(io::kRead, 0, 1, kData));
  h.ring_sq(1);
  h.poll();
  EXPECT_EQ(h.irqs, before);
  EXPECT_TRUE(h.reap(1));
  h.set_reg(kRegIntmc, 1);
  h.poll();
  EXPECT_EQ(h.irqs, before + 1);
}

void set_coalescing(NvmeTestHost& h, uint8_t thr, uint8_t time) {
  SubmissionEntry set{};
  set.opcode = admin::kSetFeatures;
  set.cdw10 = kFeatureInterruptCoalescing;
  set.cdw11 = thr | (uint32_t{time} << 8);
  ASSERT_EQ(h.run_status(0, set), 0);
}

TEST_F(NvmeControllerIo, CoalescingThresholdCountsEntries) {
  set_coalescing(h, 3, 255);  // 4 entries, or 25.5 ms
  int before = h.irqs;
  for (int i = 0; i < 3; ++i) {
    h.submit(1, T::rw_cmd(io::kRead, i, 1, kData));
    h.ring_sq(1);
    h.poll();
  }
  EXPECT_EQ(h.irqs, before);
  h.submit(1, T::rw_cmd(io::kRead, 3, 1, kData));
  h.ring_sq(1);
  h.poll();
  EXPECT_EQ(h.irqs, before + 1);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(h.reap(1));
}

TEST_F(NvmeControllerIo, CoalescingTimeFiresAfterTheTime) {
  set_coalescing(h, 100, 2);  // 101 entries, or 200 us
  int before = h.irqs;
  auto posted = h.now;
  h.submit(1, T::rw_cmd(io::kRead, 0, 1, kData));
  h.ring_sq(1);
  h.poll();
  EXPECT_EQ(h.irqs, before);
  NvmeController::TimePoint deadline;
  ASSERT_TRUE(h.ctrl->next_deadline(&deadline));
  EXPECT_EQ(deadline, posted + microseconds(200));
  h.advance(microseconds(150));
  h.poll();
  EXPECT_EQ(h.irqs, before);
  h.advance(microseconds(50));
  h.poll();
  EXPECT_EQ(h.irqs, before + 1);
  EXPECT_FALSE(h.ctrl->next_deadline(&deadline));
}

TEST_F(NvmeControllerIo, BadDoorbellsSetFatalStatus) {
  h.set_reg(sq_tail_doorbell(1), 16);  // SQ has 16 entries: 0..15
  h.poll();
  EXPECT_TRUE(h.ctrl->fatal());
  EXPECT_NE(h.reg(kRegCsts) & csts::kFatal, 0u);
  EXPECT_NE(h.ctrl->fatal_reason(), nullptr);
  h.disable();
  std::memset(h.at(0), 0, 0x20000);
  ASSERT_EQ(h.enable(), csts::kReady);
  h.create_pair(1);
  // Consuming CQ entries that were never posted is just as bad.
  h.set_reg(cq_head_doorbell(1), 3);
  h.poll();
  EXPECT_TRUE(h.ctrl->fatal());
}

TEST(NvmeControllerLatency, CompletionWaitsForTheLatency) {
  NvmeControllerConfig cfg;
  cfg.io_latency = microseconds(50);
  NvmeTestHost h(cfg);
  ASSERT_EQ(h.enable(), csts::kReady);
  h.create_pair(1);  // admin commands are not delayed
  fill(h.at(kData), 512, 4);
  auto submitted = h.now;
  h.submit(1, T::rw_cmd(io::kWrite, 0, 1, kData));
  h.submit(1, T::rw_cmd(io::kRead, 0, 1, kData + 0x1000));
  h.ring_sq(1);
  h.poll();
  EXPECT_FALSE(h.reap(1));
  // Commands execute at fetch, in order; only the completion is held back.
  EXPECT_EQ(std::memcmp(h.at(kData + 0x1000), h.at(kData), 512), 0);
  NvmeController::TimePoint deadline;
  ASSERT_TRUE(h.ctrl->next_deadline(&deadline));
  EXPECT_EQ(deadline, submitted + microseconds(50));
  h.advance(microseconds(49));
  h.poll();
  EXPECT_FALSE(h.reap(1));
  h.advance(microseconds(1));
  h.poll();
  EXPECT_TRUE(h.reap(1));
  EXPECT_TRUE(h.reap(1));
}

TEST(NvmeControllerLatency, IopsLimitSpacesCompletions) {
  NvmeControllerConfig cfg;
  cfg.max_iops = 10000;  // one completion per 100 us
  NvmeTestHost h(cfg);
  ASSERT_EQ(h.enable(), csts::kReady);
  h.create_pair(1);
  auto submitted = h.now;
  for (uint64_t i = 0; i < 3; ++i) h.submit(1, T::rw_cmd(io::kRead, i, 1, kData + 0x1000 * i));
  h.ring_sq(1);
  h.poll();
  // The first completes at once, each next one 100 us after the previous.
  EXPECT_TRUE(h.reap(1));
  EXPECT_FALSE(h.reap(1));
  NvmeController::TimePoint deadline;
  ASSERT_TRUE(h.ctrl->next_deadline(&deadline));
  EXPECT_EQ(deadline, submitted + microseconds(100));
  h.advance(microseconds(99));
  h.poll();
  EXPECT_FALSE(h.reap(1));
  h.advance(microseconds(1));
  h.poll();
  EXPECT_TRUE(h.reap(1));
  EXPECT_FALSE(h.reap(1));
  h.advance(microseconds(100));
  h.poll();
  EXPECT_TRUE(h.reap(1));
}

TEST(NvmeFileBackingStore, SparseReadWriteFlushPunch) {
  char dir_template[] = "/tmp/uldd-nvme-store-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/disk.img";
  {
    auto store = FileBackingStore::open(path, 64 << 20);
    ASSERT_TRUE(store.ok()) << store.error().describe();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 64 << 20);
    EXPECT_LT(st.st_blocks * 512, 1 << 20);  // sparse
    std::vector<char> a(4096, 'a'), b(8192, 'b'), out(12288);
    iovec w[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    ASSERT_TRUE((*store)->write(1 << 20, w).ok());
    iovec r[1] = {{out.data(), out.size()}};
    ASSERT_TRUE((*store)->read(1 << 20, r).ok());
    EXPECT_EQ(out[0], 'a');
    EXPECT_EQ(out[4096], 'b');
    EXPECT_EQ(out[12287], 'b');
    ASSERT_TRUE((*store)->flush().ok());
    ASSERT_TRUE((*store)->deallocate(1 << 20, 4096).ok());
    ASSERT_TRUE((*store)->read(1 << 20, r).ok());
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[4096], 'b');
  }
  auto again = FileBackingStore::open(path, 64 << 20);  // existing file is kept
  ASSERT_TRUE(again.ok());
  char c = 0;
  iovec r[1] = {{&c, 1}};
  ASSERT_TRUE((*again)->read((1 << 20) + 4096, r).ok());
  EXPECT_EQ(c, 'b');
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

}  // namespace
}  // namespace uldd::nvme::testing
