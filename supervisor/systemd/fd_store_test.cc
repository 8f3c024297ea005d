// FdStore against a real AF_UNIX datagram socket standing in for the service
// manager (NOTIFY_SOCKET): the message text, the fds attached (same file:
// st_ino), removal; FdInventory by name; the checks on inherited fds; process
// identities.
#include "supervisor/systemd/fd_store.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/shared_memory.h"
#include "supervisor/systemd/fd_checks.h"
#include "supervisor/systemd/fd_inventory.h"
#include "supervisor/systemd/process_identity.h"

namespace uldd::supervisor::systemd {
namespace {

ino_t inode_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

// A datagram socket bound to a fresh path, NOTIFY_SOCKET pointing at it.
class FakeServiceManager {
 public:
  FakeServiceManager() {
    dir_ = std::filesystem::temp_directory_path() / ("fd_store_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "notify").string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeServiceManager() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }

  struct Message {
    std::string text;
    std::vector<int> fds;
  };
  Message receive() {
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    Message m;
    if (n < 0) return m;
    m.text.assign(data, static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
      m.fds.assign(fds, fds + count);
    }
    return m;
  }

 private:
  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
};

TEST(FdNameTest, FollowsSystemdRules) {
  EXPECT_TRUE(fd_name_valid("disk0.dma"));
  EXPECT_TRUE(fd_name_valid(std::string(255, 'a')));
  EXPECT_FALSE(fd_name_valid(""));
  EXPECT_FALSE(fd_name_valid(std::string(256, 'a')));
  EXPECT_FALSE(fd_name_valid("disk0:dma"));
  EXPECT_FALSE(fd_name_valid("disk0\ndma"));
  EXPECT_FALSE(fd_name_valid("disk\x7f"));
}

TEST(FdStoreTest, WithoutNotifySocketNothingHappens) {
  ::unsetenv("NOTIFY_SOCKET");
  auto store = FdStore::from_environment();
  EXPECT_FALSE(store->active());
  const int fds[] = {0};
  EXPECT_TRUE(store->store("disk0.dma", fds).ok());
  EXPECT_TRUE(store->remove("disk0.dma").ok());
}

TEST(FdStoreTest, StoresTheFdUnderItsName) {
  FakeServiceManager manager;
  auto region = SharedMemory::create("fd-store-test", 4096);
  ASSERT_TRUE(region.ok());
  auto store = FdStore::from_environment();
  ASSERT_TRUE(store->active());
  const int fds[] = {region->fd()};
  ASSERT_TRUE(store->store("disk0.dma", fds).ok()) << "sent";
  auto m = manager.receive();
  EXPECT_EQ(m.text, "FDSTORE=1\nFDNAME=disk0.dma");
  ASSERT_EQ(m.fds.size(), 1u);
  EXPECT_NE(m.fds[0], region->fd());                      // a copy of its own ...
  EXPECT_EQ(inode_of(m.fds[0]), inode_of(region->fd()));  // ... of the same file
  ::close(m.fds[0]);
}

TEST(FdStoreTest, RemovesByName) {
  FakeServiceManager manager;
  auto store = FdStore::from_environment();
  ASSERT_TRUE(store->remove("nic0.tap").ok());
  auto m = manager.receive();
  EXPECT_EQ(m.text, "FDSTOREREMOVE=1\nFDNAME=nic0.tap");
  EXPECT_TRUE(m.fds.empty());
}

TEST(FdStoreTest, RefusesAnInvalidName) {
  FakeServiceManager manager;
  auto store = FdStore::from_environment();
  const int fds[] = {0};
  Status s = store->store("disk0:dma", fds);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EINVAL);
  EXPECT_TRUE(manager.receive().text.empty());  // nothing sent
}

TEST(FdStoreEntriesTest, PublishesEachAndWithdrawsOnlyWhatWasPublished) {
  FakeServiceManager manager;
  auto store = FdStore::from_environment();
  int ev = ::eventfd(0, EFD_CLOEXEC);
  FdStoreEntries entries;
  entries.withdraw(*store);  // nothing published yet: nothing sent
  EXPECT_TRUE(manager.receive().text.empty());
  entries.add("disk0.irq", ev);
  entries.add("disk0.doorbell", ev);
  ASSERT_TRUE(entries.publish(*store).ok());
  auto a = manager.receive();
  auto b = manager.receive();
  EXPECT_EQ(a.text, "FDSTORE=1\nFDNAME=disk0.irq");
  EXPECT_EQ(b.text, "FDSTORE=1\nFDNAME=disk0.doorbell");
  for (int fd : a.fds) ::close(fd);
  for (int fd : b.fds) ::close(fd);
  entries.withdraw(*store);
  EXPECT_EQ(manager.receive().text, "FDSTOREREMOVE=1\nFDNAME=disk0.irq");
  EXPECT_EQ(manager.receive().text, "FDSTOREREMOVE=1\nFDNAME=disk0.doorbell");
  ::close(ev);
}

TEST(FdInventoryTest, TakesByNameAndDropsADevice) {
  std::vector<std::pair<std::string, UniqueFd>> fds;
  fds.emplace_back("disk0.dma", UniqueFd(::eventfd(0, EFD_CLOEXEC)));
  fds.emplace_back("disk0.bar", UniqueFd(::eventfd(0, EFD_CLOEXEC)));
  fds.emplace_back("disk1.dma", UniqueFd(::eventfd(0, EFD_CLOEXEC)));
  fds.emplace_back("disk0.dma", UniqueFd(::eventfd(0, EFD_CLOEXEC)));  // twice: second closed
  auto inv = FdInventory::from_fds(std::move(fds));
  EXPECT_EQ(inv.size(), 3u);
  EXPECT_TRUE(inv.has_device("disk0"));
  EXPECT_FALSE(inv.has_device("disk"));  // a prefix of a name is not a device
  auto dma = inv.take("disk0.dma");
  ASSERT_TRUE(dma.has_value());
  EXPECT_TRUE(dma->valid());
  EXPECT_FALSE(inv.take("disk0.dma").has_value());
  EXPECT_EQ(inv.drop_device("disk0"), std::vector<std::string>{"disk0.bar"});
  EXPECT_EQ(inv.names(), std::vector<std::string>{"disk1.dma"});
}

TEST(FdChecksTest, NameTheFdAndWhatWasFound) {
  auto region = SharedMemory::create("fd-checks-test", 8192);
  ASSERT_TRUE(region.ok());
  EXPECT_TRUE(check_memfd(region->fd(), 8192, "disk0.dma").ok());
  Status wrong_size = check_memfd(region->fd(), 4096, "disk0.dma");
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_NE(wrong_size.error().message.find("disk0.dma"), std::string::npos);
  EXPECT_NE(wrong_size.error().message.find("8192"), std::string::npos);
  EXPECT_FALSE(check_eventfd(region->fd(), "disk0.irq").ok());
  UniqueFd ev(::eventfd(0, EFD_CLOEXEC));
  EXPECT_TRUE(check_eventfd(ev.get(), "disk0.irq").ok());
  Status not_memfd = check_memfd(ev.get(), 8, "disk0.bar");
  ASSERT_FALSE(not_memfd.ok());
  EXPECT_NE(not_memfd.error().message.find("eventfd"), std::string::npos);
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  EXPECT_TRUE(check_pipe(ends[1], "disk0.lifeline").ok());
  EXPECT_FALSE(check_listening_unix_socket(ends[1], "disk0.nbd").ok());
  EXPECT_FALSE(check_fuse_device(ends[1], "disk0.fuse").ok());
  ::close(ends[0]);
  ::close(ends[1]);
}

TEST(ProcessIdentityTest, AStartTimeThatDiffersIsAnotherProcess) {
  auto self = ProcessIdentity::of(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(self->start_ticks, 0u);
  EXPECT_TRUE(open_if_same_process(*self).has_value());
  ProcessIdentity other = *self;
  other.start_ticks += 1;
  EXPECT_FALSE(open_if_same_process(other).has_value());
  EXPECT_FALSE(ProcessIdentity::of(-1).has_value());
}

}  // namespace
}  // namespace uldd::supervisor::systemd
