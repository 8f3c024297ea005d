// KernelDeviceFiles (the supervisor's side of a real device) and
// TableDmaRegion / open_kernel_uio (the driver's side) against a fake sysfs
// tree: the device found by vendor:device, bus mastering switched on, the
// DMA memory pinned and its bus addresses published in a sealed table that
// the driver translates through; INTx unmasked in the command register; the
// fd list a driver is spawned with.
#include "supervisor/kernel_device_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "abi/dma_address_table.h"
#include "supervisor/device_fd_set.h"
#include "supervisor/kernel_uio_target.h"
#include "uio/table_dma_region.h"

namespace uldd::supervisor {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

uint32_t word_at(const fs::path& p, off_t offset) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  uint32_t v = 0;
  EXPECT_EQ(::pread(fd.get(), &v, 4, offset), 4);
  return v;
}

// Virtual page v is frame 2^40 - v: frames run backwards, so no page is
// followed by its physical neighbour.
uint64_t frame_of(uintptr_t vaddr) {
  return (uint64_t{1} << 40) - vaddr / 4096;
}
class FakePagemap final : public uio::PagemapSource {
 public:
  Result<uint64_t> entry(uintptr_t vaddr) const override {
    return uio::kPagemapPresent | frame_of(vaddr);
  }
};

UniqueFd dup_of(int fd) {
  return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

class KernelDeviceFilesTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uldd-kdev-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    options_.sysfs_root = root_ / "sys";
    options_.dev_root = root_ / "dev";
    options_.pagemap = &pagemap_;
    // QEMU's nvme at 00:04.0 (uio0) and e1000 at 00:03.0 (uio1).
    add_device("0000:00:04.0", "0x1b36", "0x0010", 0);
    add_device("0000:00:03.0", "0x8086", "0x100e", 1);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path device_dir(const std::string& bdf) { return root_ / "sys/bus/pci/devices" / bdf; }

  // 16 KiB BAR0 whose word i is 0x1000 + i; COMMAND = 0x0501 (I/O space,
  // SERR#, INTx disabled); interrupt count 3.
  void add_device(const std::string& bdf, const std::string& vendor, const std::string& device,
                  int uio_index) {
    fs::path dir = device_dir(bdf);
    write_file(dir / "vendor", vendor + "\n");
    write_file(dir / "device", device + "\n");
    std::string bar(16384, '\0');
    for (uint32_t i = 0; i < 4096; ++i) {
      uint32_t v = 0x1000 + i;
      std::memcpy(&bar[i * 4], &v, 4);
    }
    write_file(dir / "resource0", bar);
    write_file(dir / "resource", "0x00000000febd0000 0x00000000febd3fff 0x0000000000040200\n");
    std::string config(256, '\0');
    config[4] = 0x01;
    config[5] = 0x05;
    write_file(dir / "config", config);
    std::string uio = "uio" + std::to_string(uio_index);
    fs::create_directories(dir / "uio" / uio);
    write_file(root_ / "sys/class/uio" / uio / "event", "3\n");
    write_file(root_ / "dev" / uio, "");
  }

  std::unique_ptr<KernelDeviceFiles> open_e1000(size_t dma_size) {
    auto target = parse_kernel_uio("kernel:8086:100e");
    EXPECT_TRUE(target.has_value());
    auto k = KernelDeviceFiles::open("nic0", *target, dma_size, options_);
    EXPECT_TRUE(k.ok()) << k.error().describe();
    return k.ok() ? std::move(k.value()) : nullptr;
  }

  fs::path root_;
  KernelDeviceOptions options_;
  FakePagemap pagemap_;
};

TEST(KernelUioTargetTest, ParsesAddressesAndIds) {
  auto bdf = parse_kernel_uio("kernel:0000:00:04.0");
  ASSERT_TRUE(bdf.has_value());
  EXPECT_EQ(bdf->bdf, "0000:00:04.0");
  EXPECT_EQ(bdf->describe(), "PCI device 0000:00:04.0");
  auto id = parse_kernel_uio("kernel:1b36:0010");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->bdf, "");
  EXPECT_EQ(id->vendor_id, 0x1b36);
  EXPECT_EQ(id->device_id, 0x0010);
  EXPECT_EQ(id->describe(), "PCI device 1b36:0010");
  for (const char* bad :
       {"emulated", "kernel:", "kernel:8086", "kernel:8086:100E", "kernel:0000:100e",
        "kernel:ffff:100e", "kernel:00:04.0", "kernel:0000:00:04.8", "kernel 8086:100e"})
    EXPECT_FALSE(parse_kernel_uio(bad).has_value()) << bad;
}

TEST_F(KernelDeviceFilesTest, FindsByIdEnablesBusMasteringAndPublishesASealedTable) {
  auto k = open_e1000(40 * 1024);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->location().bdf, "0000:00:03.0");
  EXPECT_EQ(k->location().uio_index, 1u);
  // Memory space + bus master set, INTx disable cleared, SERR# and I/O kept.
  EXPECT_EQ(word_at(device_dir("0000:00:03.0") / "config", 4), 0x0107u);
  EXPECT_EQ(word_at(device_dir("0000:00:04.0") / "config", 4), 0x0501u);  // the other one: no

  const uio::PagemapDmaRegion& pinned = k->pinned_dma();
  EXPECT_GE(pinned.size(), 40u * 1024);
  EXPECT_EQ(pinned.size() % pinned.page_size(), 0u);

  // Sealed: no writable mapping, no write, no resize.
  int seals = ::fcntl(k->table_fd(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_EQ(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, k->table_fd(), 0),
            MAP_FAILED);
  uint64_t junk = 0;
  EXPECT_EQ(::pwrite(k->table_fd(), &junk, sizeof junk, 80), -1);

  abi::DmaAddressTableHeader h{};
  ASSERT_EQ(::pread(k->table_fd(), &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  EXPECT_EQ(h.magic, abi::kDmaAddressTableMagic);
  EXPECT_EQ(h.version, abi::kDmaAddressTableVersion);
  EXPECT_EQ(uint64_t{1} << h.page_shift, pinned.page_size());
  EXPECT_EQ(h.page_count << h.page_shift, pinned.size());
  EXPECT_EQ(h.dma_size, pinned.size());
  EXPECT_EQ(h.bar_size, 16384u);
  EXPECT_EQ(h.irq_count, 3u);
  EXPECT_EQ(h.hugetlb, pinned.hugetlb() ? 1u : 0u);
  // Every entry is the frame the (fake) pagemap gave the supervisor's mapping.
  std::vector<uint64_t> entries(h.page_count);
  ASSERT_EQ(::pread(k->table_fd(), entries.data(), entries.size() * 8, sizeof h),
            static_cast<ssize_t>(entries.size() * 8));
  for (uint64_t i = 0; i < h.page_count; ++i) {
    auto vaddr = reinterpret_cast<uintptr_t>(pinned.base() + i * pinned.page_size());
    EXPECT_EQ(entries[i], frame_of(vaddr) * 4096) << "page " << i;
  }
}

TEST_F(KernelDeviceFilesTest, DriverTranslatesThroughTheTableAndSharesTheMemory) {
  auto k = open_e1000(64 * 1024);
  ASSERT_NE(k, nullptr);
  auto shim_view = k->map_dma();
  ASSERT_TRUE(shim_view.ok()) << shim_view.error().describe();
  auto region = uio::TableDmaRegion::attach(dup_of(k->dma_fd()), dup_of(k->table_fd()));
  ASSERT_TRUE(region.ok()) << region.error().describe();
  uio::TableDmaRegion& r = *region.value();
  const uio::PagemapDmaRegion& pinned = k->pinned_dma();
  ASSERT_EQ(r.size(), pinned.size());
  EXPECT_EQ(r.page_size(), pinned.page_size());
  for (uint64_t iova : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{4096},
                        uint64_t{2048 + 4096 * 3}, r.size() - 8})
    EXPECT_EQ(r.device_address(iova), pinned.device_address(iova)) << "iova " << iova;
  EXPECT_EQ(r.device_address(r.size()), ~uint64_t{0});
  if (r.page_size() == 4096) {  // the fake frames are never adjacent
    EXPECT_NE(r.device_address(4096), r.device_address(4095) + 1);
  }
  // One memory: what the shim writes, the driver (and the device) see.
  std::memcpy(shim_view.value().data() + 8192, "frame", 5);
  EXPECT_EQ(std::memcmp(r.base() + 8192, "frame", 5), 0);
}

TEST_F(KernelDeviceFilesTest, DriverRefusesAnUnsealedOrMismatchedTable) {
  auto k = open_e1000(16 * 1024);
  ASSERT_NE(k, nullptr);
  // A copy of the table that is not sealed: refused.
  abi::DmaAddressTableHeader h{};
  ASSERT_EQ(::pread(k->table_fd(), &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  UniqueFd copy(::memfd_create("copy", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_EQ(::ftruncate(copy.get(), abi::dma_address_table_size(h.page_count)), 0);
  std::vector<char> bytes(abi::dma_address_table_size(h.page_count));
  ASSERT_EQ(::pread(k->table_fd(), bytes.data(), bytes.size(), 0),
            static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::pwrite(copy.get(), bytes.data(), bytes.size(), 0),
            static_cast<ssize_t>(bytes.size()));
  auto unsealed = uio::TableDmaRegion::attach(dup_of(k->dma_fd()), dup_of(copy.get()));
  ASSERT_FALSE(unsealed.ok());
  EXPECT_EQ(unsealed.error().message, "DMA address table: not sealed against writes and shrinking");
  // Sealed, but describing a region of another size than the DMA memfd.
  h.page_count += 1;
  h.dma_size = h.page_count << h.page_shift;
  ASSERT_EQ(::pwrite(copy.get(), &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  ASSERT_EQ(::ftruncate(copy.get(), abi::dma_address_table_size(h.page_count)), 0);
  uint64_t extra = 0x40000000;
  ASSERT_EQ(::pwrite(copy.get(), &extra, 8, sizeof h + (h.page_count - 1) * 8), 8);
  ASSERT_EQ(::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), 0);
  auto mismatched = uio::TableDmaRegion::attach(dup_of(k->dma_fd()), dup_of(copy.get()));
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find("DMA region"), std::string::npos)
      << mismatched.error().message;
}

TEST_F(KernelDeviceFilesTest, DriverBackendMapsBarAndUnmasksIntxInTheCommandRegister) {
  auto k = open_e1000(16 * 1024);
  ASSERT_NE(k, nullptr);
  fs::path config = device_dir("0000:00:03.0") / "config";
  // uio_pci_generic's handler masked the line (Interrupt Disable, bit 10).
  {
    UniqueFd c(::open(config.c_str(), O_RDWR | O_CLOEXEC));
    uint8_t high = 0x05;
    ASSERT_EQ(::pwrite(c.get(), &high, 1, 5), 1);
  }
  auto dev = uio::open_kernel_uio(dup_of(k->bar_fd()), dup_of(k->irq_fd()), dup_of(k->config_fd()),
                                  dup_of(k->dma_fd()), dup_of(k->table_fd()));
  ASSERT_TRUE(dev.ok()) << dev.error().describe();
  EXPECT_EQ(dev.value()->backend_name(), "kernel");
  EXPECT_EQ(dev.value()->bar_size(), 16384u);
  EXPECT_EQ(dev.value()->read32(0), 0x1000u);
  EXPECT_EQ(dev.value()->read32(0x3ffc), 0x1000u + 0xfff);
  // A new driver unmasks once at start.
  EXPECT_EQ(word_at(config, 4), 0x0107u);
  // And after every interrupt.
  {
    UniqueFd c(::open(config.c_str(), O_RDWR | O_CLOEXEC));
    uint8_t high = 0x05;
    ASSERT_EQ(::pwrite(c.get(), &high, 1, 5), 1);
  }
  EXPECT_EQ(word_at(config, 4), 0x0507u);
  ASSERT_TRUE(dev.value()->unmask_irq().ok());
  EXPECT_EQ(word_at(config, 4), 0x0107u);
  EXPECT_EQ(dev.value()->dma().device_address(100), k->pinned_dma().device_address(100));
}

TEST_F(KernelDeviceFilesTest, BusMasteringIsSwitchedOffWhenTheDeviceGoes) {
  auto k = open_e1000(16 * 1024);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(word_at(device_dir("0000:00:03.0") / "config", 4), 0x0107u);
  k.reset();
  EXPECT_EQ(word_at(device_dir("0000:00:03.0") / "config", 4), 0x0103u);
}

TEST_F(KernelDeviceFilesTest, ErrorsNameTheDeviceAndWhatIsWrong) {
  KernelUioTarget t;
  t.vendor_id = 0x8086;
  t.device_id = 0x10d3;
  auto none = KernelDeviceFiles::open("nic0", t, 4096, options_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message,
            "nic0: PCI device 8086:10d3: " + (root_ / "sys/bus/pci/devices").string() +
                ": no PCI device with id 8086:10d3");
  fs::remove_all(device_dir("0000:00:04.0") / "uio");
  auto unbound =
      KernelDeviceFiles::open("disk0", *parse_kernel_uio("kernel:0000:00:04.0"), 4096, options_);
  ASSERT_FALSE(unbound.ok());
  EXPECT_NE(unbound.error().message.find("disk0: PCI device 0000:00:04.0: "), std::string::npos);
  EXPECT_NE(unbound.error().message.find("not bound to a UIO driver (bind uio_pci_generic)"),
            std::string::npos);
}

// The fds a driver is spawned with (abi/driver_fds.h), both backends.
struct FakeFd {
  int v;
  int fd() const { return v; }
};
struct FakeResources {
  FakeFd control{30}, rings{31}, checkpoint{32}, driver_wake{33}, shim_wake{34}, dma{35}, bar{36},
      irq{37}, doorbell{38};
};

TEST_F(KernelDeviceFilesTest, DriverSpawnFdsPerBackend) {
  FakeResources r;
  using Fds = std::vector<std::pair<int, int>>;
  EXPECT_EQ(
      driver_spawn_fds(r, nullptr, false, -1),
      (Fds{{3, 30}, {4, 31}, {5, 32}, {6, 33}, {7, 34}, {8, 35}, {9, 36}, {10, 37}, {11, 38}}));
  EXPECT_EQ(driver_spawn_fds(r, nullptr, true, 50).back(), (std::pair<int, int>{12, 50}));
  auto k = open_e1000(16 * 1024);
  ASSERT_NE(k, nullptr);
  Fds kernel = driver_spawn_fds(r, k.get(), true, 50);
  EXPECT_EQ(kernel, (Fds{{3, 30},
                         {4, 31},
                         {5, 32},
                         {6, 33},
                         {7, 34},
                         {8, 35},
                         {9, k->bar_fd()},
                         {10, k->irq_fd()},
                         {11, k->config_fd()},
                         {13, k->table_fd()},
                         {12, 50}}));
}

}  // namespace
}  // namespace uldd::supervisor
