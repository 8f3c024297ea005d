// fill_block/check_block and VerifiedDisk against a plain file: the
// acceptance rule (verified_disk.h) and what a lost or corrupted block reports.
#include "faultinject/campaign/block_pattern.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "faultinject/campaign/verified_disk.h"

namespace uldd::campaign {
namespace {

using Verdict = BlockCheck::Verdict;

std::vector<std::byte> block_of(uint64_t lba, uint64_t gen, size_t size = 4096) {
  std::vector<std::byte> b(size);
  fill_block(b, 5, lba, gen);
  return b;
}

TEST(BlockPattern, AcknowledgedGenerationIsOk) {
  auto b = block_of(3, 10);
  EXPECT_EQ(check_block(b, 5, 3, 10, 0).verdict, Verdict::kOk);
  EXPECT_EQ(check_block(b, 5, 3, 10, 0).found_generation, 10u);
}

TEST(BlockPattern, OlderGenerationIsLost) {
  auto b = block_of(3, 7);
  BlockCheck c = check_block(b, 5, 3, 10, 0);
  EXPECT_EQ(c.verdict, Verdict::kLost);
  EXPECT_EQ(c.found_generation, 7u);
  std::vector<std::byte> zeros(4096);
  EXPECT_EQ(check_block(zeros, 5, 3, 10, 0).verdict, Verdict::kLost);
  EXPECT_EQ(check_block(zeros, 5, 3, 0, 0).verdict, Verdict::kOk);  // never written
}

TEST(BlockPattern, InDoubtWriteIsAccepted) {
  auto b = block_of(3, 12);
  EXPECT_EQ(check_block(b, 5, 3, 10, 12).verdict, Verdict::kOk);
  EXPECT_EQ(check_block(b, 5, 3, 10, 0).verdict, Verdict::kCorrupted);  // never issued
}

TEST(BlockPattern, FlippedByteIsCorruptedAtItsOffset) {
  auto b = block_of(3, 10);
  b[1234] ^= std::byte{0x40};
  BlockCheck c = check_block(b, 5, 3, 10, 0);
  EXPECT_EQ(c.verdict, Verdict::kCorrupted);
  EXPECT_EQ(c.first_wrong_offset, 1234);
}

TEST(BlockPattern, MisdirectedAndForeignBlocksAreCorrupted) {
  auto b = block_of(4, 10);  // meant for lba 4, found at 3
  EXPECT_EQ(check_block(b, 5, 3, 10, 0).verdict, Verdict::kCorrupted);
  EXPECT_EQ(check_block(b, 5, 3, 10, 0).first_wrong_offset, 8);  // the lba field
  std::vector<std::byte> other(4096);
  fill_block(other, 6, 3, 10);  // another run's stream
  EXPECT_EQ(check_block(other, 5, 3, 10, 0).verdict, Verdict::kCorrupted);
}

class VerifiedDiskFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/uldd-verified-disk-test.XXXXXX";
    int fd = mkstemp(templ);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 64 * 4096), 0);
    close(fd);
    path_ = templ;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  // Overwrites block `lba` with `bytes` behind the workload's back.
  void poke(uint64_t lba, const std::vector<std::byte>& bytes) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(lba * 4096));
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  std::vector<std::byte> peek(uint64_t lba) {
    std::vector<std::byte> b(4096);
    std::ifstream f(path_, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(lba * 4096));
    f.read(reinterpret_cast<char*>(b.data()), 4096);
    return b;
  }
  std::filesystem::path path_;
};

TEST_F(VerifiedDiskFile, CleanRunVerifiesAndDamageIsFoundOnce) {
  auto d = VerifiedDisk::open(path_, 64, 4096, 5, std::chrono::steady_clock::now());
  ASSERT_TRUE(d.ok()) << d.error().describe();
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(d->write_one());
  EXPECT_EQ(d->writes_acknowledged(), 500u);
  EXPECT_TRUE(d->verify_all(-1).empty());

  // Find two written blocks: flip a byte in one, roll the other back to zeros.
  std::vector<uint64_t> written;
  for (uint64_t lba = 0; lba < 64 && written.size() < 2; ++lba) {
    auto b = peek(lba);
    if (b[0] != std::byte{0}) written.push_back(lba);
  }
  ASSERT_EQ(written.size(), 2u);
  auto damaged = peek(written[0]);
  damaged[100] ^= std::byte{1};
  poke(written[0], damaged);
  poke(written[1], std::vector<std::byte>(4096));

  auto found = d->verify_all(4);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, DataProblem::Kind::kCorrupted);
  EXPECT_EQ(found[0].lba, written[0]);
  EXPECT_EQ(found[0].first_wrong_offset, 100);
  EXPECT_EQ(found[0].after_fault, 4);
  EXPECT_EQ(found[1].kind, DataProblem::Kind::kLost);
  EXPECT_EQ(found[1].lba, written[1]);
  EXPECT_TRUE(d->verify_all(5).empty());  // counted once
  EXPECT_EQ(d->problems().size(), 2u);
  EXPECT_EQ(d->verifications(), 3u);
}

TEST_F(VerifiedDiskFile, ShortFileGivesAnIoError) {
  auto d = VerifiedDisk::open(path_, 128, 4096, 5, std::chrono::steady_clock::now());
  ASSERT_TRUE(d.ok());
  d->verify_all(-1);  // blocks 64.. are past the end: a short read
  ASSERT_FALSE(d->io_errors().empty());
  EXPECT_EQ(d->io_errors()[0].op, "read");
}

}  // namespace
}  // namespace uldd::campaign
