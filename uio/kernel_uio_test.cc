// KernelUio against a fake sysfs/dev tree in a temp dir (this kernel has no
// UIO and no PCI devices): device lookup, BAR access through the mapped
// resource file, bus mastering in the config file, interrupt counting over a
// socketpair standing in for /dev/uioN, maps/ preference, and pagemap
// translation with a fake pagemap file.
#include "uio/kernel_uio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <vector>

namespace uldd::uio {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// `size` bytes where the 32-bit word at byte offset i*4 is `seed + i`.
std::string pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint32_t v = seed + static_cast<uint32_t>(i / 4);
    std::memcpy(&s[i], &v, 4);
  }
  return s;
}

uint32_t word_at(const fs::path& p, off_t offset) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY));
  uint32_t v = 0;
  EXPECT_EQ(::pread(fd.get(), &v, 4, offset), 4);
  return v;
}

// A pagemap that maps virtual page v to frame v ^ 0x5a5a, always present.
class FakePagemap final : public PagemapSource {
 public:
  Result<uint64_t> entry(uintptr_t vaddr) const override {
    return kPagemapPresent | ((vaddr / 4096) ^ 0x5a5a);
  }
};

class KernelUioTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uldd-kuio-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    options_.sysfs_root = root_ / "sys";
    options_.dev_root = root_ / "dev";
    options_.pagemap = &pagemap_;
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    irq_ours_.reset(sv[0]);
    irq_device_.reset(sv[1]);  // the test plays the kernel on this end
    options_.irq_fd = irq_ours_.get();
    auto dma = SharedMemory::create("test-dma", 4 * 4096);
    ASSERT_TRUE(dma.ok());
    dma_ = std::move(dma.value());
    options_.dma_memfd = dma_.fd();
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path device_dir(const std::string& bdf) { return root_ / "sys/bus/pci/devices" / bdf; }

  // A PCI device: 16 KiB BAR0 in resource0, 256-byte config space with
  // COMMAND = 0x0501 (I/O space, SERR#, INTx disabled), bound to uio<index>.
  void add_device(const std::string& bdf, const std::string& vendor, const std::string& device,
                  int uio_index) {
    fs::path dir = device_dir(bdf);
    write_file(dir / "vendor", vendor + "\n");
    write_file(dir / "device", device + "\n");
    write_file(dir / "resource0", pattern(16384, 0x1000));
    write_file(dir / "resource",
               "0x00000000febd0000 0x00000000febd3fff 0x0000000000040200\n"
               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
    std::string config(256, '\0');
    config[4] = 0x01;
    config[5] = 0x05;
    write_file(dir / "config", config);
    if (uio_index < 0) return;
    std::string uio = "uio" + std::to_string(uio_index);
    fs::create_directories(dir / "uio" / uio);
    write_file(root_ / "sys/class/uio" / uio / "event", "3\n");
    write_file(root_ / "dev" / uio, "");
  }

  std::unique_ptr<KernelUio> open_ok() {
    auto d = KernelUio::open(options_);
    EXPECT_TRUE(d.ok()) << d.error().describe();
    return d.ok() ? std::move(d.value()) : nullptr;
  }

  void send_count(uint32_t count) { ASSERT_EQ(::send(irq_device_.get(), &count, 4, 0), 4); }

  fs::path root_;
  KernelUioOptions options_;
  FakePagemap pagemap_;
  UniqueFd irq_ours_, irq_device_;
  SharedMemory dma_;
};

TEST_F(KernelUioTest, FindsDeviceByPciAddress) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  auto loc = locate_kernel_uio(options_);
  ASSERT_TRUE(loc.ok()) << loc.error().describe();
  EXPECT_EQ(loc->bdf, "0000:00:04.0");
  EXPECT_EQ(loc->uio_index, 0u);
  EXPECT_EQ(loc->dev_path, root_ / "dev/uio0");
  EXPECT_EQ(loc->bar_path, device_dir("0000:00:04.0") / "resource0");
  EXPECT_FALSE(loc->bar_from_uio_map);
  EXPECT_EQ(loc->bar_size, 16384u);
  EXPECT_EQ(loc->irq_count_at_open, 3u);
  auto d = open_ok();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->backend_name(), "kernel");
  EXPECT_EQ(d->bar_size(), 16384u);
  EXPECT_EQ(d->dma().size(), 4u * 4096);
}

TEST_F(KernelUioTest, FindsFirstBoundDeviceByVendorAndDeviceId) {
  add_device("0000:00:02.0", "0x8086", "0x100e", -1);  // same id, not bound to UIO
  add_device("0000:00:03.0", "0x1b36", "0x0010", 0);   // other id
  add_device("0000:00:07.0", "0x8086", "0x100e", 2);
  add_device("0000:00:05.0", "0x8086", "0x100e", 1);
  options_.vendor_id = 0x8086;
  options_.device_id = 0x100e;
  auto loc = locate_kernel_uio(options_);
  ASSERT_TRUE(loc.ok()) << loc.error().describe();
  EXPECT_EQ(loc->bdf, "0000:00:05.0");
  EXPECT_EQ(loc->dev_path, root_ / "dev/uio1");
  EXPECT_NE(open_ok(), nullptr);
}

TEST_F(KernelUioTest, MissingDeviceNamesThePath) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:09.0";
  auto d = KernelUio::open(options_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().describe(), (root_ / "sys/bus/pci/devices/0000:00:09.0").string() +
                                      ": no such PCI device: No such file or directory");

  options_.bdf.clear();
  options_.vendor_id = 0x8086;
  options_.device_id = 0x10d3;
  d = KernelUio::open(options_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message,
            (root_ / "sys/bus/pci/devices").string() + ": no PCI device with id 8086:10d3");
}

TEST_F(KernelUioTest, DeviceNotBoundToUioSaysSo) {
  add_device("0000:00:02.0", "0x8086", "0x100e", -1);
  options_.bdf = "0000:00:02.0";
  auto d = KernelUio::open(options_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, (device_dir("0000:00:02.0") / "uio").string() +
                                   ": PCI device 0000:00:02.0 is not bound to a UIO driver "
                                   "(bind uio_pci_generic)");
  options_.bdf.clear();
  options_.vendor_id = 0x8086;
  options_.device_id = 0x100e;
  d = KernelUio::open(options_);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("8086:100e at 0000:00:02.0 is not bound"), std::string::npos)
      << d.error().message;
}

TEST_F(KernelUioTest, BarAccessesHitTheResourceFile) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  auto d = open_ok();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->read32(0), 0x1000u);
  EXPECT_EQ(d->read32(0x10), 0x1004u);
  EXPECT_EQ(d->read32(16380), 0x1000u + 4095);
  d->write32(0x14, 0xdeadbeef);
  d->write64(0x28, 0x0123456789abcdefull);
  fs::path bar = device_dir("0000:00:04.0") / "resource0";
  EXPECT_EQ(word_at(bar, 0x14), 0xdeadbeefu);
  EXPECT_EQ(word_at(bar, 0x28), 0x89abcdefu);  // low dword first, at the lower address
  EXPECT_EQ(word_at(bar, 0x2c), 0x01234567u);
  EXPECT_EQ(d->read64(0x28), 0x0123456789abcdefull);
}

TEST_F(KernelUioTest, EnablesBusMasteringInConfigSpace) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  fs::path config = device_dir("0000:00:04.0") / "config";
  options_.enable_bus_master = false;
  ASSERT_NE(open_ok(), nullptr);
  EXPECT_EQ(word_at(config, 4) & 0xffff, 0x0501u);  // untouched when asked not to

  options_.enable_bus_master = true;
  ASSERT_NE(open_ok(), nullptr);
  // Memory space (bit 1) and bus master (bit 2) set, INTx disable (bit 10)
  // cleared, I/O space and SERR# (bits 0, 8) kept; STATUS (4-7) untouched.
  EXPECT_EQ(word_at(config, 4), 0x0107u);
  EXPECT_EQ(std::filesystem::file_size(config), 256u);
}

TEST_F(KernelUioTest, InterruptCountDeltaAndUnmask) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  auto d = open_ok();
  ASSERT_NE(d, nullptr);
  auto taken = d->take_irq();
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken.value(), 0u);  // nothing pending: no block, no count

  send_count(5);  // the count was 3 when we opened
  pollfd p{d->irq_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  EXPECT_EQ(d->take_irq().value(), 2u);
  EXPECT_EQ(d->take_irq().value(), 0u);

  send_count(7);
  send_count(12);  // two reads queued: the newest count wins
  EXPECT_EQ(d->take_irq().value(), 7u);

  send_count(12);  // a read succeeded, so something happened
  EXPECT_EQ(d->take_irq().value(), 1u);

  send_count(0xfffffffeu);
  EXPECT_EQ(d->take_irq().value(), 0xfffffffeu - 12);
  send_count(1);  // the 32-bit counter wrapped
  EXPECT_EQ(d->take_irq().value(), 3u);

  // uio_pci_generic: the kernel masked INTx in the command register; unmask
  // clears Interrupt Disable there and writes nothing to /dev/uioN (which
  // has no irqcontrol and would fail the write).
  fs::path config = device_dir("0000:00:04.0") / "config";
  {
    UniqueFd c(::open(config.c_str(), O_RDWR | O_CLOEXEC));
    uint8_t masked = 0x05;  // SERR# + Interrupt Disable, as the kernel's handler leaves it
    ASSERT_EQ(::pwrite(c.get(), &masked, 1, 5), 1);
  }
  ASSERT_TRUE(d->unmask_irq().ok());
  EXPECT_EQ(word_at(config, 4), 0x0107u);  // bit 10 cleared, bus master kept
  uint32_t written = 0;
  EXPECT_EQ(::recv(irq_device_.get(), &written, sizeof written, MSG_DONTWAIT), -1);
}

TEST_F(KernelUioTest, UnmaskWithoutConfigWritesOneToTheUioDevice) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  options_.enable_bus_master = false;  // no config file: a UIO driver with irqcontrol
  auto d = open_ok();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->unmask_irq().ok());
  uint32_t written = 0;
  EXPECT_EQ(::recv(irq_device_.get(), &written, sizeof written, MSG_DONTWAIT), 4);
  EXPECT_EQ(written, 1u);
}

TEST_F(KernelUioTest, UioMapsArePreferredOverResource0) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  fs::path map0 = root_ / "sys/class/uio/uio0/maps/map0";
  write_file(map0 / "addr", "0x00000000febd0100\n");
  write_file(map0 / "size", "0x0000000000002000\n");
  write_file(map0 / "offset", "0x100\n");
  write_file(root_ / "dev/uio0", pattern(0x3000, 0x7000));
  auto loc = locate_kernel_uio(options_);
  ASSERT_TRUE(loc.ok()) << loc.error().describe();
  EXPECT_TRUE(loc->bar_from_uio_map);
  EXPECT_EQ(loc->bar_path, root_ / "dev/uio0");
  EXPECT_EQ(loc->bar_page_offset, 0x100u);
  auto d = open_ok();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->bar_size(), 0x2000u);
  EXPECT_EQ(d->read32(0), 0x7000u + 0x100 / 4);  // the map starts 0x100 into its page
  d->write32(8, 42);
  EXPECT_EQ(word_at(root_ / "dev/uio0", 0x108), 42u);
}

TEST_F(KernelUioTest, Bar0SizeFromResourceLineAndIoBarsRefused) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  fs::path dir = device_dir("0000:00:04.0");
  write_file(dir / "resource0", "");  // some sysfs files report st_size 0
  auto loc = locate_kernel_uio(options_);
  ASSERT_TRUE(loc.ok()) << loc.error().describe();
  EXPECT_EQ(loc->bar_size, 0x4000u);
  write_file(dir / "resource", "0x000000000000c000 0x000000000000c03f 0x0000000000040101\n");
  loc = locate_kernel_uio(options_);
  ASSERT_FALSE(loc.ok());
  EXPECT_EQ(loc.error().message,
            (dir / "resource").string() + ": BAR0 is an I/O port BAR, not memory");
}

TEST_F(KernelUioTest, NoDmaMemoryIsAnError) {
  add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
  options_.bdf = "0000:00:04.0";
  options_.dma_memfd = -1;
  auto d = KernelUio::open(options_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message,
            "kernel UIO 0000:00:04.0: no DMA memory (give dma_memfd or dma_size)");
  options_.dma_size = 3 * 4096;  // a fresh memfd, made here
  auto ok = open_ok();
  ASSERT_NE(ok, nullptr);
  EXPECT_GE(ok->dma().size(), 3u * 4096);
}

// A fake pagemap file with `entries` for the 4 KiB pages starting at `base`,
// at the offsets the kernel's file has them (sparse: vaddr / 4096 * 8).
fs::path fake_pagemap(const fs::path& dir, const void* base, const std::vector<uint64_t>& entries) {
  fs::path path = dir / "pagemap";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600));
  auto offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(base) / 4096 * 8);
  auto bytes = static_cast<ssize_t>(entries.size() * 8);
  EXPECT_EQ(::pwrite(fd.get(), entries.data(), static_cast<size_t>(bytes), offset), bytes);
  return path;
}

class PagemapDmaRegionTest : public KernelUioTest {};

TEST_F(PagemapDmaRegionTest, TranslatesThroughAFakePagemapFile) {
  std::byte* base = dma_.data();
  // Frames deliberately not contiguous; bits 55-62 (soft-dirty, exclusive,
  // file/shared) set on one entry must not leak into the address.
  std::vector<uint64_t> entries = {kPagemapPresent | 0x12345, kPagemapPresent | 0x777,
                                   kPagemapPresent | (uint64_t{1} << 61) | 0x50000,
                                   kPagemapPresent | 0x1};
  auto file = FilePagemap::open(fake_pagemap(root_, base, entries));
  ASSERT_TRUE(file.ok()) << file.error().describe();
  EXPECT_EQ(file->entry(reinterpret_cast<uintptr_t>(base) + 4096 + 5).value(), entries[1]);
  auto region = PagemapDmaRegion::attach(std::move(dma_), file.value());
  ASSERT_TRUE(region.ok()) << region.error().describe();
  const PagemapDmaRegion& r = *region.value();
  EXPECT_EQ(r.base(), base);
  EXPECT_EQ(r.page_size(), 4096u);
  EXPECT_FALSE(r.hugetlb());
  EXPECT_EQ(r.device_address(0), 0x12345000u);
  EXPECT_EQ(r.device_address(123), 0x12345000u + 123);
  EXPECT_EQ(r.device_address(4096 + 4095), 0x777000u + 4095);
  EXPECT_EQ(r.device_address(2 * 4096 + 8), 0x50000008u);
  EXPECT_EQ(r.device_address(3 * 4096), 0x1000u);
  EXPECT_EQ(r.device_address(4 * 4096), ~uint64_t{0});  // outside the region
}

TEST_F(PagemapDmaRegionTest, RefusesAbsentPagesAndHiddenFrameNumbers) {
  std::byte* base = dma_.data();
  auto absent = FilePagemap::open(fake_pagemap(
      root_, base, {kPagemapPresent | 9, 0x42, kPagemapPresent | 9, kPagemapPresent | 9}));
  auto r = PagemapDmaRegion::attach(std::move(dma_), absent.value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "DMA region: page at offset 0x1000 is not present in pagemap");

  auto memory = SharedMemory::create("dma2", 2 * 4096);
  ASSERT_TRUE(memory.ok());
  auto hidden =
      FilePagemap::open(fake_pagemap(root_, memory->data(), {kPagemapPresent, kPagemapPresent}));
  r = PagemapDmaRegion::attach(std::move(memory.value()), hidden.value());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("page frame number 0"), std::string::npos);
  EXPECT_NE(r.error().message.find("needs CAP_SYS_ADMIN"), std::string::npos);

  // A pagemap file that ends before the entry asked for.
  write_file(root_ / "short", "x");
  auto short_file = FilePagemap::open(root_ / "short");
  ASSERT_TRUE(short_file.ok());
  auto e = short_file->entry(0x7f0000001000);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message,
            (root_ / "short").string() + ": short read of the entry for 0x7f0000001000");
}

TEST_F(PagemapDmaRegionTest, RealPagemapGivesFramesOrSaysWhyNot) {
  auto pagemap = FilePagemap::open();
  ASSERT_TRUE(pagemap.ok()) << pagemap.error().describe();
  auto r = PagemapDmaRegion::attach(std::move(dma_), pagemap.value());
  if (r.ok()) {  // CAP_SYS_ADMIN: real frames, page-aligned
    EXPECT_NE(r.value()->device_address(0), 0u);
    EXPECT_EQ(r.value()->device_address(0) % 4096, 0u);
    EXPECT_EQ(r.value()->device_address(100) - r.value()->device_address(0), 100u);
  } else {
    EXPECT_NE(r.error().message.find("CAP_SYS_ADMIN"), std::string::npos) << r.error().describe();
  }
}

TEST(CreateDmaMemfdTest, RoundsUpToWholePages) {
  auto m = create_dma_memfd("test-dma", 5000);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_TRUE(m->fd.valid());
  EXPECT_EQ(m->size % m->page_size, 0u);
  EXPECT_GE(m->size, 5000u);
  EXPECT_EQ(m->hugetlb, m->page_size > 4096);
  EXPECT_FALSE(create_dma_memfd("zero", 0).ok());
}

}  // namespace
}  // namespace uldd::uio
