// e2e-disk: the FUSE file with the real kernel and real tools, over an
// in-memory BlockClient.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>

#include "common/unique_fd.h"
#include "shim/frontends/e2e_test_support.h"
#include "shim/frontends/fake_block_client.h"
#include "shim/frontends/fuse_frontend.h"

namespace uldd::shim {
namespace {

using testing::FakeBlockClient;
using testing::LoopGuard;
using testing::MountGuard;
using testing::run;
using testing::TempDir;

constexpr uint64_t kDisk = 128ull << 20;

bool mounted(const std::filesystem::path& p) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + p.string() + " ") != std::string::npos) return true;
  }
  return false;
}

class FuseFrontendE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ULDD_REQUIRE_ROOT_AND_FUSE();
    file_ = dir_.path() / "run" / "disk0";  // neither the dir nor the file exist yet
    auto fe = FuseFrontend::start(fake_, file_, "disk0");
    ASSERT_TRUE(fe.ok()) << fe.error().describe();
    fe_ = std::move(fe.value());
  }
  void TearDown() override {
    if (fe_) fe_->stop();
    if (!file_.empty()) {
      EXPECT_FALSE(mounted(file_)) << "mount left behind";
    }
    EXPECT_EQ(fake_.violations, 0u) << "the frontend broke the BlockClient contract";
  }

  TempDir dir_;
  FakeBlockClient fake_{kDisk, FakeBlockClient::Completion::kThread};
  std::filesystem::path file_;
  MountGuard guard_{dir_.path() / "run" / "disk0"};
  std::unique_ptr<FuseFrontend> fe_;
};

TEST_F(FuseFrontendE2eTest, FileMountpointBehavesLikeADisk) {
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kDisk);
  EXPECT_TRUE(mounted(file_));

  // Shell redirection opens with O_TRUNC, which a disk ignores; the 3-byte
  // write goes through read-modify-write.
  fake_.fill(3, std::vector<std::byte>(5, std::byte{'x'}));
  auto echo = run("echo hi > " + file_.string());
  ASSERT_EQ(echo.status, 0) << echo.output;
  auto head = fake_.snapshot(0, 8);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(head.data()), 8), "hi\nxxxxx");

  // dd in (buffered and O_DIRECT) and out.
  const auto src = dir_.path() / "src.bin";
  ASSERT_EQ(run("head -c 3000000 /dev/urandom > " + src.string()).status, 0);
  auto dd = run("dd if=" + src.string() + " of=" + file_.string() +
                " bs=1M seek=5 conv=notrunc,fsync status=none");
  ASSERT_EQ(dd.status, 0) << dd.output;
  const uint64_t writes_before = fake_.writes;
  auto dd_direct = run("dd if=" + src.string() + " of=" + file_.string() +
                       " bs=1M seek=20 oflag=direct iflag=fullblock conv=notrunc status=none");
  ASSERT_EQ(dd_direct.status, 0) << dd_direct.output;
  // 1 MiB FUSE requests (max_pages): 2 full writes + the partial last one
  // (aligned part + read-modify-write of its tail), not 128 KiB pieces.
  EXPECT_LE(fake_.writes - writes_before, 4u);
  auto cmp1 = run("cmp -n 3000000 " + src.string() + " " + file_.string() + " -i 0:5242880");
  EXPECT_EQ(cmp1.status, 0) << cmp1.output;
  auto cmp2 =
      run("dd if=" + file_.string() +
          " bs=1M skip=20 count=3 iflag=direct status=none | cmp -n 3000000 - " + src.string());
  EXPECT_EQ(cmp2.status, 0) << cmp2.output;
  EXPECT_GE(fake_.flushes, 1u);  // conv=fsync reached the device

  // Reads at the end are short; writes past it fail; the size is fixed.
  UniqueFd fd(::open(file_.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::vector<char> buf(4096);
  EXPECT_EQ(::pread(fd.get(), buf.data(), buf.size(), kDisk - 100), 100);
  EXPECT_EQ(::pread(fd.get(), buf.data(), buf.size(), kDisk), 0);
  EXPECT_EQ(fe_->error_replies(), 0u);
  EXPECT_EQ(::pwrite(fd.get(), buf.data(), 10, kDisk), -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(fe_->error_replies(), 1u);  // every error reply is counted (and logged)
  EXPECT_EQ(::ftruncate(fd.get(), 4096), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(::ftruncate(fd.get(), kDisk), 0);
  EXPECT_EQ(::fsync(fd.get()), 0);

  // Device errors surface as EIO.
  fake_.inject(abi::BlockStatus::kMediaError);
  EXPECT_EQ(::pwrite(fd.get(), buf.data(), 512, 0), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::pread(fd.get(), buf.data(), 512, 0), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::fsync(fd.get()), -1);
  EXPECT_EQ(fe_->error_replies(), 4u);
  fake_.inject(abi::BlockStatus::kOk);
}

TEST_F(FuseFrontendE2eTest, FioDirectRandwriteVerifies) {
  ULDD_REQUIRE_TOOL("fio");
  for (const char* bs : {"4k", "64k"}) {
    auto fio = run(std::string("fio --name=verify --filename=") + file_.string() +
                   " --direct=1 --rw=randwrite --bs=" + bs +
                   " --size=32M --ioengine=libaio --iodepth=16 --verify=crc32c"
                   " --verify_fatal=1 --do_verify=1 --runtime=120 --output-format=terse");
    EXPECT_EQ(fio.status, 0) << "bs=" << bs << "\n" << fio.output;
  }
}

TEST_F(FuseFrontendE2eTest, Ext4OnLoopIsCleanAfterCopy) {
  ULDD_REQUIRE_TOOL("mkfs.ext4");
  ULDD_REQUIRE_TOOL("losetup");
  auto attach = run("losetup -f --show " + file_.string());
  ASSERT_EQ(attach.status, 0) << attach.output;
  std::string dev = attach.output;
  while (!dev.empty() && (dev.back() == '\n' || dev.back() == ' ')) dev.pop_back();
  LoopGuard loop(dev);

  auto mkfs = run("mkfs.ext4 -q -F " + dev);
  ASSERT_EQ(mkfs.status, 0) << mkfs.output;
  const auto mnt = dir_.path() / "mnt";
  std::filesystem::create_directories(mnt);
  ASSERT_EQ(run("mount " + dev + " " + mnt.string()).status, 0);
  {
    MountGuard ext4(mnt);
    const auto src = dir_.path() / "tree";
    std::filesystem::create_directories(src);
    ASSERT_EQ(run("for i in 1 2 3 4 5 6 7 8; do head -c $((i * 123457)) /dev/urandom > " +
                  src.string() + "/f$i; done; cp -a /usr/include/linux " + src.string() + "/")
                  .status,
              0);
    ASSERT_EQ(run("cp -a " + src.string() + " " + mnt.string() + "/").status, 0);
    ASSERT_EQ(run("sync").status, 0);
    auto diff = run("diff -r " + src.string() + " " + mnt.string() + "/tree");
    EXPECT_EQ(diff.status, 0) << diff.output.substr(0, 2000);
    auto umount = run("umount " + mnt.string());
    ASSERT_EQ(umount.status, 0) << umount.output;
    ext4.release();
  }
  auto fsck = run("fsck.ext4 -fn " + dev);
  EXPECT_EQ(fsck.status, 0) << fsck.output;
}

TEST_F(FuseFrontendE2eTest, StopWhileAnApplicationHoldsTheFileOpen) {
  UniqueFd fd(::open(file_.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  char c = 0;
  ASSERT_EQ(::pread(fd.get(), &c, 1, 0), 1);
  const auto t0 = std::chrono::steady_clock::now();
  fe_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_FALSE(mounted(file_));
  EXPECT_EQ(::pread(fd.get(), &c, 1, 0), -1);  // the connection is gone
  fe_->stop();                                 // idempotent
}

TEST_F(FuseFrontendE2eTest, SecondMountOnALiveMountIsRefused) {
  auto second = FuseFrontend::start(fake_, file_, "disk0");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, EBUSY);
}

// A daemon that died with the file mounted leaves a dead FUSE mount whose
// stat() fails with ENOTCONN; start() must detach it and mount afresh.
TEST_F(FuseFrontendE2eTest, StaleMountFromACrashedRunIsReplaced) {
  fe_->stop();
  fe_.reset();
  {
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(dev.valid());
    const std::string opts =
        "fd=" + std::to_string(dev.get()) + ",rootmode=100000,user_id=0,group_id=0";
    ASSERT_EQ(::mount("uldd-crashed", file_.c_str(), "fuse", MS_NOSUID | MS_NODEV, opts.c_str()), 0)
        << std::strerror(errno);
  }  // closing the device fd is what a crash does
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), -1);
  ASSERT_TRUE(errno == ENOTCONN || errno == ECONNABORTED) << std::strerror(errno);

  auto fe = FuseFrontend::start(fake_, file_, "disk0");
  ASSERT_TRUE(fe.ok()) << fe.error().describe();
  fe_ = std::move(fe.value());
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kDisk);
}

}  // namespace
}  // namespace uldd::shim
