// check_io_command (nvme_command_check.h): every command the real builder
// (build_prps + the fields submit_now sets) makes for a valid request passes;
// each single-field slip a faulty driver can make is named. The first case is
// the one bench/campaign found: a Write issued as a Flush (an inverted branch
// in submit_now) that the controller completes with success.
#include "drivers/nvme/nvme_command_check.h"

#include <gtest/gtest.h>

#include "drivers/nvme/fake_nvme_device.h"
#include "drivers/nvme/nvme_prp.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kBufferArea = 64 << 10;
constexpr uint64_t kListIova = 8 << 10;  // a PRP list page in the driver area
constexpr uint16_t kCid = 5;
constexpr uint32_t kNsid = 1;

class NvmeCommandCheckTest : public ::testing::Test {
 protected:
  // As NvmeDriver::submit_now builds it.
  nvme::SubmissionEntry build(const abi::BlockDescriptor& d) {
    nvme::SubmissionEntry e{};
    e.cid = kCid;
    e.nsid = kNsid;
    if (static_cast<abi::BlockOp>(d.op) == abi::BlockOp::kFlush) return e;
    e.opcode =
        static_cast<abi::BlockOp>(d.op) == abi::BlockOp::kRead ? nvme::io::kRead : nvme::io::kWrite;
    PrpPair p = build_prps(dma_, d.iova, d.len, kListIova);
    e.prp1 = p.prp1;
    e.prp2 = p.prp2;
    e.cdw10 = static_cast<uint32_t>(d.lba);
    e.cdw11 = static_cast<uint32_t>(d.lba >> 32);
    e.cdw12 = d.len / abi::kSectorSize - 1;
    return e;
  }
  std::string check(const nvme::SubmissionEntry& e, const abi::BlockDescriptor& d) {
    return check_io_command(e, d, kCid, kNsid, dma_, kListIova);
  }
  static abi::BlockDescriptor request(abi::BlockOp op, uint64_t lba, uint32_t len, uint64_t iova) {
    abi::BlockDescriptor d{};
    d.op = static_cast<uint16_t>(op);
    d.lba = lba;
    d.len = len;
    d.iova = iova;
    d.tag = 77;
    return d;
  }

  testing::FakeDma dma_{kBufferArea + (1 << 20), kBufferArea};
};

TEST_F(NvmeCommandCheckTest, WriteIssuedAsFlushIsCaught) {
  auto d = request(abi::BlockOp::kWrite, 18, 4096, kBufferArea);
  nvme::SubmissionEntry e{};  // the inverted branch: the Flush path, opcode 0
  e.cid = kCid;
  e.nsid = kNsid;
  EXPECT_EQ(check(e, d), "opcode is 0x0, the request needs 0x1");
}

TEST_F(NvmeCommandCheckTest, CommandsTheBuilderMakesPass) {
  const abi::BlockDescriptor cases[] = {
      request(abi::BlockOp::kFlush, 0, 0, 0),
      request(abi::BlockOp::kWrite, 0, 512, kBufferArea),                // one page
      request(abi::BlockOp::kRead, 7, 4096, kBufferArea + 4096),         // one whole page
      request(abi::BlockOp::kWrite, 1u << 20, 8192, kBufferArea + 512),  // two pages
      request(abi::BlockOp::kRead, (uint64_t{3} << 32) | 9, 64 << 10, kBufferArea + 8192),  // list
      request(abi::BlockOp::kWrite, 100, 16384, kBufferArea + 2048),  // list, unaligned
  };
  for (const auto& d : cases)
    EXPECT_EQ(check(build(d), d), "") << "op " << d.op << " len " << d.len;
}

TEST_F(NvmeCommandCheckTest, EachSlipIsNamed) {
  auto d = request(abi::BlockOp::kWrite, 0x1'2345'6789, 16384, kBufferArea + 4096);
  struct Slip {
    const char* expect;
    void (*apply)(nvme::SubmissionEntry&);
  };
  const Slip slips[] = {
      {"opcode is 0x2", [](nvme::SubmissionEntry& e) { e.opcode = nvme::io::kRead; }},
      {"command id is 0x6", [](nvme::SubmissionEntry& e) { e.cid = kCid + 1; }},
      {"namespace id is 0x0", [](nvme::SubmissionEntry& e) { e.nsid = 0; }},
      {"CDW0 flags", [](nvme::SubmissionEntry& e) { e.flags = 0x40; }},
      {"metadata pointer", [](nvme::SubmissionEntry& e) { e.mptr = 4096; }},
      {"PRP1", [](nvme::SubmissionEntry& e) { e.prp1 += 4096; }},
      {"PRP2", [](nvme::SubmissionEntry& e) { e.prp2 = 0; }},
      {"CDW10 (SLBA 31:0)", [](nvme::SubmissionEntry& e) { e.cdw10 ^= 1; }},
      {"CDW11 (SLBA 63:32)", [](nvme::SubmissionEntry& e) { e.cdw11 = 0; }},
      // The skipped instruction of the 10,000-fault run: NLB from the wrong register.
      {"CDW12 (NLB) is 0x11a2b3c4, the request needs 0x1f",
       [](nvme::SubmissionEntry& e) { e.cdw12 = 0x2345'6789 >> 1; }},
      {"reserved or unused dword", [](nvme::SubmissionEntry& e) { e.cdw13 = 1; }},
  };
  for (const Slip& s : slips) {
    nvme::SubmissionEntry e = build(d);
    ASSERT_EQ(check(e, d), "");
    s.apply(e);
    EXPECT_NE(check(e, d).find(s.expect), std::string::npos) << s.expect << ": " << check(e, d);
  }
}

TEST_F(NvmeCommandCheckTest, WrongPrpListEntryIsNamed) {
  auto d = request(abi::BlockOp::kRead, 0, 4 * 4096, kBufferArea);  // list of 3 entries
  nvme::SubmissionEntry e = build(d);
  ASSERT_EQ(check(e, d), "");
  dma_.at<uint64_t>(kListIova)[2] += 4096;  // the list loop skipped an increment
  EXPECT_NE(check(e, d).find("PRP list entry 2"), std::string::npos) << check(e, d);
}

TEST_F(NvmeCommandCheckTest, UnknownOpIsNamed) {
  auto d = request(abi::BlockOp::kWrite, 0, 4096, kBufferArea);
  nvme::SubmissionEntry e = build(d);
  d.op = 9;
  EXPECT_EQ(check(e, d), "request op 9 is not a block op");
}

}  // namespace
}  // namespace uldd::drivers
