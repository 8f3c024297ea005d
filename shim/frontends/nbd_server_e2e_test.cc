// e2e-disk: the NBD server with standard clients (libnbd's nbdinfo and
// nbdcopy, qemu-img) over an in-memory BlockClient.
#include <gtest/gtest.h>

#include "shim/frontends/e2e_test_support.h"
#include "shim/frontends/fake_block_client.h"
#include "shim/frontends/nbd_server.h"

namespace uldd::shim {
namespace {

using testing::FakeBlockClient;
using testing::run;
using testing::TempDir;

constexpr uint64_t kDisk = 64ull << 20;

class NbdServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = dir_.path() / "disk0.nbd";
    url_ = "nbd+unix:///disk0?socket=" + socket_.string();
    auto server = NbdServer::start(fake_, socket_, "disk0");
    ASSERT_TRUE(server.ok()) << server.error().describe();
    server_ = std::move(server.value());
  }
  void TearDown() override {
    if (server_) server_->stop();
    EXPECT_FALSE(std::filesystem::exists(socket_));
    EXPECT_EQ(fake_.violations, 0u);
  }

  TempDir dir_;
  FakeBlockClient fake_{kDisk, FakeBlockClient::Completion::kThread};
  std::filesystem::path socket_;
  std::string url_;
  std::unique_ptr<NbdServer> server_;
};

TEST_F(NbdServerE2eTest, NbdinfoReportsTheExport) {
  ULDD_REQUIRE_TOOL("nbdinfo");
  auto info = run("nbdinfo \"" + url_ + "\"");
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("export-size: " + std::to_string(kDisk)), std::string::npos)
      << info.output;
  EXPECT_NE(info.output.find("can_multi_conn: true"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("block_size_minimum: 512"), std::string::npos) << info.output;
  auto list = run("nbdinfo --list \"nbd+unix://?socket=" + socket_.string() + "\"");
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("disk0"), std::string::npos) << list.output;
}

TEST_F(NbdServerE2eTest, NbdcopyInAndOutIsByteExact) {
  ULDD_REQUIRE_TOOL("nbdcopy");
  const auto in = dir_.path() / "in.img";
  const auto out = dir_.path() / "out.img";
  ASSERT_EQ(run("head -c 16777216 /dev/urandom > " + in.string()).status, 0);
  auto copy_in = run("nbdcopy " + in.string() + " \"" + url_ + "\"");
  ASSERT_EQ(copy_in.status, 0) << copy_in.output;
  auto copy_out = run("nbdcopy \"" + url_ + "\" " + out.string());
  ASSERT_EQ(copy_out.status, 0) << copy_out.output;
  EXPECT_EQ(std::filesystem::file_size(out), kDisk);
  auto cmp = run("cmp -n 16777216 " + in.string() + " " + out.string());
  EXPECT_EQ(cmp.status, 0) << cmp.output;
  auto zero = run("cmp -n 16777216 -i 16777216:0 " + out.string() + " /dev/zero");
  EXPECT_EQ(zero.status, 0) << zero.output;
}

TEST_F(NbdServerE2eTest, QemuImgInfo) {
  ULDD_REQUIRE_TOOL("qemu-img");
  auto info = run("qemu-img info --output=json \"" + url_ + "\"");
  ASSERT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("\"virtual-size\": " + std::to_string(kDisk)), std::string::npos)
      << info.output;
}

}  // namespace
}  // namespace uldd::shim
