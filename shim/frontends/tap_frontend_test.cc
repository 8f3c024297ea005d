// TapFrontend against the real kernel: a TAP created inside a throwaway
// network namespace is up there (and absent here), the shim side reads the
// ARP request the namespace's stack sends out of it, and a reply written into
// it teaches the stack a neighbour. Carrier off shows as NO-CARRIER. Needs
// root (skipped otherwise); the namespace is removed whatever happens.
#include "shim/frontends/tap_frontend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

namespace uldd::shim {
namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  return out;
}

class TapFrontendTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ns_ = "uldd-taptest-" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("ip netns add " + ns_).c_str()), 0);
  }
  void TearDown() override {
    tap_.reset();
    if (!ns_.empty()) std::system(("ip netns del " + ns_ + " 2>/dev/null").c_str());
  }
  std::string in_ns(const std::string& cmd) { return run("ip netns exec " + ns_ + " " + cmd); }

  std::string ns_;
  std::unique_ptr<TapFrontend> tap_;
};

TEST_F(TapFrontendTest, FramesBothWaysInsideANamespace) {
  auto tap = TapFrontend::open("ulddt0", ns_, "52:54:00:ab:cd:ef");
  ASSERT_TRUE(tap.ok()) << tap.error().describe();
  tap_ = std::move(tap.value());
  EXPECT_NE(in_ns("ip link show ulddt0").find("UP"), std::string::npos)
      << in_ns("ip link show ulddt0");
  EXPECT_NE(run("ip link show ulddt0").find("does not exist"), std::string::npos)
      << "created outside the netns";
  EXPECT_NE(in_ns("ip link show ulddt0").find("52:54:00:ab:cd:ef"), std::string::npos)
      << "MAC not set";

  in_ns("ip addr add 198.18.99.1/24 dev ulddt0");
  // The stack ARPs for the peer; the frame comes out of our fd.
  in_ns("ping -c1 -W1 198.18.99.2 >/dev/null &");
  std::array<uint8_t, 2048> f{};
  ssize_t n = -1;
  for (int i = 0; i < 50 && n < 0; ++i) {
    pollfd p{tap_->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    n = ::read(tap_->fd(), f.data(), f.size());
    if (n > 0 && !(f[12] == 0x08 && f[13] == 0x06)) n = -1;  // skip IPv6 noise, keep ARP
  }
  ASSERT_GE(n, 42) << "no ARP request read from the TAP";
  EXPECT_EQ(f[21], 1) << "ARP opcode request";
  const uint8_t own[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
  EXPECT_EQ(std::memcmp(&f[6], own, 6), 0) << "frames leave with the configured MAC";
  uint8_t target_ip[4] = {198, 18, 99, 2};
  EXPECT_EQ(std::memcmp(&f[38], target_ip, 4), 0);

  // Answer as 198.18.99.2 with MAC 02:00:00:00:99:02.
  std::array<uint8_t, 60> r{};
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0x99, 0x02};
  std::memcpy(&r[0], &f[6], 6);  // to the asker
  std::memcpy(&r[6], mac, 6);
  r[12] = 0x08, r[13] = 0x06;
  r[14] = 0, r[15] = 1, r[16] = 0x08, r[17] = 0, r[18] = 6, r[19] = 4, r[20] = 0, r[21] = 2;
  std::memcpy(&r[22], mac, 6);
  std::memcpy(&r[28], target_ip, 4);
  std::memcpy(&r[32], &f[22], 10);  // asker's MAC and IP
  ASSERT_EQ(::write(tap_->fd(), r.data(), r.size()), 60);
  std::string neigh;
  for (int i = 0; i < 50; ++i) {
    neigh = in_ns("ip neigh show 198.18.99.2");
    if (neigh.find("02:00:00:00:99:02") != std::string::npos) break;
    ::usleep(20000);
  }
  EXPECT_NE(neigh.find("02:00:00:00:99:02"), std::string::npos) << neigh;

  ASSERT_TRUE(tap_->set_carrier(false).ok());
  EXPECT_NE(in_ns("ip link show ulddt0").find("NO-CARRIER"), std::string::npos);
  ASSERT_TRUE(tap_->set_carrier(true).ok());
  EXPECT_EQ(in_ns("ip link show ulddt0").find("NO-CARRIER"), std::string::npos);
}

TEST_F(TapFrontendTest, MissingNamespaceIsAnError) {
  auto tap = TapFrontend::open("ulddt1", "uldd-no-such-ns");
  ASSERT_FALSE(tap.ok());
  EXPECT_NE(tap.error().describe().find("/run/netns/uldd-no-such-ns"), std::string::npos);
}

// After a supervisor crash the TAP fd comes back from the fd store: adopt()
// takes the same netdev (same ifindex, address kept) and refuses an fd that
// is attached to another name.
TEST_F(TapFrontendTest, AdoptKeepsTheNetdevAndChecksItsName) {
  auto tap = TapFrontend::open("ulddt1", ns_, "52:54:00:ab:cd:01");
  ASSERT_TRUE(tap.ok()) << tap.error().describe();
  in_ns("ip addr add 198.18.99.1/24 dev ulddt1");
  const std::string ifindex = in_ns("cat /sys/class/net/ulddt1/ifindex");
  // A copy of the fd, as the store keeps one: the netdev outlives the first.
  int copy = ::dup(tap.value()->fd());
  ASSERT_GE(copy, 0);
  tap.value().reset();

  auto wrong = TapFrontend::adopt(UniqueFd(::dup(copy)), "ulddt9", ns_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().describe().find("ulddt1"), std::string::npos) << wrong.error().describe();

  auto adopted = TapFrontend::adopt(UniqueFd(copy), "ulddt1", ns_);
  ASSERT_TRUE(adopted.ok()) << adopted.error().describe();
  tap_ = std::move(adopted.value());
  EXPECT_EQ(in_ns("cat /sys/class/net/ulddt1/ifindex"), ifindex);
  EXPECT_NE(in_ns("ip addr show ulddt1").find("198.18.99.1/24"), std::string::npos)
      << in_ns("ip addr show ulddt1");
}

TEST(TapFrontendAdoptTest, RefusesAnFdThatIsNoTap) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  auto r = TapFrontend::adopt(UniqueFd(fds[0]), "ulddt0", "");
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace uldd::shim
