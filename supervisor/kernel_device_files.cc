#include "supervisor/kernel_device_files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <optional>
#include <vector>

#include "abi/dma_address_table.h"

namespace uldd::supervisor {
namespace {

Result<UniqueFd> open_file(const std::filesystem::path& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open(" + path.string() + ")");
  return fd;
}

// The table memfd: header and entries written with pwrite (a sealed-write
// memfd must have no writable mapping), then sealed.
Result<UniqueFd> write_table(const std::string& name, const abi::DmaAddressTableHeader& h,
                             const std::vector<uint64_t>& addresses) {
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return errno_error("memfd_create(" + name + ")");
  const size_t size = abi::dma_address_table_size(addresses.size());
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return errno_error("ftruncate(" + name + ")");
  if (::pwrite(fd.get(), &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    return errno_error("pwrite(" + name + " header)");
  const size_t bytes = addresses.size() * sizeof(uint64_t);
  if (::pwrite(fd.get(), addresses.data(), bytes, sizeof h) != static_cast<ssize_t>(bytes))
    return errno_error("pwrite(" + name + " entries)");
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return errno_error("F_ADD_SEALS(" + name + ")");
  return fd;
}

}  // namespace

Result<uint16_t> enable_bus_mastering(int config, const std::string& what) {
  uint16_t command = 0;
  if (::pread(config, &command, sizeof command, 4) != sizeof command)
    return errno_error("pread(" + what + ", COMMAND)");
  command = static_cast<uint16_t>(
      (command | uio::KernelUio::kCommandMemorySpace | uio::KernelUio::kCommandBusMaster) &
      ~uio::KernelUio::kCommandIntxDisable);
  if (::pwrite(config, &command, sizeof command, 4) != sizeof command)
    return errno_error("pwrite(" + what + ", COMMAND)");
  return command;
}

Result<std::unique_ptr<KernelDeviceFiles>> KernelDeviceFiles::open(
    const std::string& device, const KernelUioTarget& target, size_t dma_size,
    const KernelDeviceOptions& options) {
  auto fail = [&](const Error& e) {
    return Error{e.code, device + ": " + target.describe() + ": " + e.message};
  };
  uio::KernelUioOptions lo;
  lo.sysfs_root = options.sysfs_root;
  lo.dev_root = options.dev_root;
  lo.bdf = target.bdf;
  lo.vendor_id = target.vendor_id;
  lo.device_id = target.device_id;
  auto loc = uio::locate_kernel_uio(lo);
  if (!loc) return fail(loc.error());
  std::unique_ptr<KernelDeviceFiles> k(new KernelDeviceFiles());
  k->location_ = loc.value();
  const uio::KernelUioLocation& l = k->location_;

  auto bar = open_file(l.bar_path, O_RDWR);
  if (!bar) return fail(bar.error());
  k->bar_ = std::move(bar.value());
  auto irq = open_file(l.dev_path, O_RDWR | O_NONBLOCK);
  if (!irq) return fail(irq.error());
  k->irq_ = std::move(irq.value());
  auto config = open_file(l.config_path, O_RDWR);
  if (!config) return fail(config.error());
  k->config_ = std::move(config.value());
  auto command = enable_bus_mastering(k->config_.get(), l.config_path.string());
  if (!command) return fail(command.error());

  auto memfd = uio::create_dma_memfd("uldd-" + device + "-dma", dma_size);
  if (!memfd) return fail(memfd.error());
  k->dma_fd_ = std::move(memfd.value().fd);
  UniqueFd pinned_fd(::fcntl(k->dma_fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!pinned_fd.valid()) return fail(errno_error("dup(DMA memfd)"));
  auto memory = SharedMemory::attach(std::move(pinned_fd), dma_size, "DMA region of " + device);
  if (!memory) return fail(memory.error());
  std::optional<uio::FilePagemap> pagemap_file;
  const uio::PagemapSource* pagemap = options.pagemap;
  if (pagemap == nullptr) {
    auto f = uio::FilePagemap::open();
    if (!f) return fail(f.error());
    pagemap = &pagemap_file.emplace(std::move(f.value()));
  }
  auto pinned = uio::PagemapDmaRegion::attach(std::move(memory.value()), *pagemap);
  if (!pinned) return fail(pinned.error());
  k->pinned_ = std::move(pinned.value());

  const uio::PagemapDmaRegion& p = *k->pinned_;
  const uint64_t pages = p.size() / p.page_size();
  if (pages > abi::kDmaAddressTableMaxPages)
    return fail(plain_error("DMA region of " + std::to_string(p.size()) + " bytes has " +
                            std::to_string(pages) + " pages, more than the address table holds"));
  abi::DmaAddressTableHeader h{};
  h.magic = abi::kDmaAddressTableMagic;
  h.version = abi::kDmaAddressTableVersion;
  h.page_shift = static_cast<uint32_t>(std::countr_zero(p.page_size()));
  h.page_count = pages;
  h.dma_size = p.size();
  h.bar_size = l.bar_size;
  h.bar_page_offset = l.bar_page_offset;
  h.irq_count = l.irq_count_at_open;
  h.hugetlb = p.hugetlb() ? 1 : 0;
  std::vector<uint64_t> addresses(pages);
  for (uint64_t i = 0; i < pages; ++i) addresses[i] = p.device_address(i * p.page_size());
  auto table = write_table("uldd-" + device + "-dma-table", h, addresses);
  if (!table) return fail(table.error());
  k->table_ = std::move(table.value());
  spdlog::info("{}: kernel UIO device {}", device, k->describe());
  return k;
}

Result<std::unique_ptr<KernelDeviceFiles>> KernelDeviceFiles::open_replacing_dma(
    const std::string& device, const KernelUioTarget& target, SharedMemory& dma,
    const KernelDeviceOptions& options) {
  auto k = open(device, target, dma.size(), options);
  if (!k) return k.error();
  auto view = k.value()->map_dma();
  if (!view) return Error{view.error().code, device + ": " + view.error().message};
  dma = std::move(view.value());
  return k;
}

KernelDeviceFiles::~KernelDeviceFiles() {
  if (!config_.valid()) return;
  uint16_t command = 0;
  if (::pread(config_.get(), &command, sizeof command, 4) != sizeof command) return;
  command = static_cast<uint16_t>(command & ~uio::KernelUio::kCommandBusMaster);
  if (::pwrite(config_.get(), &command, sizeof command, 4) != sizeof command)
    spdlog::warn("{}: could not switch bus mastering off", location_.bdf);
}

Result<SharedMemory> KernelDeviceFiles::map_dma() const {
  UniqueFd fd(::fcntl(dma_fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("dup(DMA memfd)");
  return SharedMemory::attach(std::move(fd), pinned_->size(), "DMA region");
}

std::string KernelDeviceFiles::describe() const {
  const uio::KernelUioLocation& l = location_;
  return l.bdf + " (uio" + std::to_string(l.uio_index) + ", BAR0 " +
         std::to_string(l.bar_size / 1024) + " KiB from " +
         (l.bar_from_uio_map ? l.dev_path.string() + " map0" : l.bar_path.filename().string()) +
         ", DMA " + std::to_string(pinned_->size() >> 20) + " MiB in " +
         std::to_string(pinned_->page_size() >> 10) + " KiB " +
         (pinned_->hugetlb() ? "huge pages" : "locked pages") + ")";
}

}  // namespace uldd::supervisor
