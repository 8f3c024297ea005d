#include "uio/kernel_uio.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <system_error>
#include <vector>

namespace uldd::uio {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kIoresourceIo = 0x100;  // include/linux/ioport.h: an I/O port BAR

// First line of a small sysfs attribute.
Result<std::string> read_line(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return errno_error("open(" + path.string() + ")");
  std::string line;
  std::getline(in, line);
  if (in.bad()) return errno_error("read(" + path.string() + ")");
  return line;
}

// sysfs numbers: "0x8086", "0x0000000000004000", "3" (strtoull base 0).
Result<uint64_t> read_number(const fs::path& path) {
  auto line = read_line(path);
  if (!line) return line.error();
  const char* s = line.value().c_str();
  char* end = nullptr;
  errno = 0;
  uint64_t v = std::strtoull(s, &end, 0);
  if (end == s || errno != 0)
    return plain_error(path.string() + ": not a number: '" + line.value() + "'");
  return v;
}

fs::path pci_devices(const KernelUioOptions& o) {
  return o.sysfs_root / "bus/pci/devices";
}

std::string id_text(uint16_t vendor, uint16_t device) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04x:%04x", vendor, device);
  return buf;
}

// N of the "uioN" entry in <device>/uio/, or an error naming what to do.
Result<unsigned> find_uio_index(const fs::path& device_dir, const std::string& bdf) {
  fs::path dir = device_dir / "uio";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 3 && name.starts_with("uio") &&
        std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return static_cast<unsigned>(std::stoul(name.substr(3)));
  }
  return Error{ec ? ec.value() : ENOENT,
               dir.string() + ": PCI device " + bdf +
                   " is not bound to a UIO driver (bind uio_pci_generic)"};
}

// The PCI address of the device to use.
Result<std::string> find_bdf(const KernelUioOptions& o) {
  if (!o.bdf.empty()) {
    fs::path dir = pci_devices(o) / o.bdf;
    if (!fs::is_directory(dir)) return Error{ENOENT, dir.string() + ": no such PCI device"};
    return o.bdf;
  }
  if (o.vendor_id == 0)
    return plain_error("kernel UIO: neither a PCI address nor a vendor id given");
  std::error_code ec;
  std::vector<std::string> matches;
  for (const auto& e : fs::directory_iterator(pci_devices(o), ec)) {
    auto vendor = read_number(e.path() / "vendor");
    auto device = read_number(e.path() / "device");
    if (vendor && device && vendor.value() == o.vendor_id && device.value() == o.device_id)
      matches.push_back(e.path().filename().string());
  }
  if (ec) return Error{ec.value(), "kernel UIO: listing " + pci_devices(o).string()};
  std::sort(matches.begin(), matches.end());
  std::string id = id_text(o.vendor_id, o.device_id);
  for (const std::string& bdf : matches)
    if (fs::is_directory(pci_devices(o) / bdf / "uio")) return bdf;
  if (matches.empty())
    return Error{ENOENT, pci_devices(o).string() + ": no PCI device with id " + id};
  return Error{ENOENT, pci_devices(o).string() + ": PCI device " + id + " at " + matches.front() +
                           " is not bound to a UIO driver (bind uio_pci_generic)"};
}

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

Result<KernelUioLocation> locate_kernel_uio(const KernelUioOptions& o) {
  KernelUioLocation loc;
  auto bdf = find_bdf(o);
  if (!bdf) return bdf.error();
  loc.bdf = bdf.value();
  fs::path dir = pci_devices(o) / loc.bdf;
  auto index = find_uio_index(dir, loc.bdf);
  if (!index) return index.error();
  loc.uio_index = index.value();
  std::string uio = "uio" + std::to_string(loc.uio_index);
  loc.dev_path = o.dev_root / uio;
  loc.config_path = dir / "config";
  fs::path class_dir = o.sysfs_root / "class/uio" / uio;
  if (auto count = read_number(class_dir / "event"))
    loc.irq_count_at_open = static_cast<uint32_t>(count.value());

  fs::path map0 = class_dir / "maps/map0";
  if (fs::is_directory(map0)) {
    auto size = read_number(map0 / "size");
    if (!size) return size.error();
    auto offset = read_number(map0 / "offset");  // absent before Linux 3.x: page-aligned
    loc.bar_from_uio_map = true;
    loc.bar_path = loc.dev_path;
    loc.bar_size = size.value();
    loc.bar_page_offset = offset ? offset.value() : 0;
    return loc;
  }
  loc.bar_path = dir / "resource0";
  // `resource` line 0 is "start end flags" of BAR0.
  if (auto line = read_line(dir / "resource")) {
    unsigned long long start = 0, end = 0, flags = 0;
    if (std::sscanf(line.value().c_str(), "%llx %llx %llx", &start, &end, &flags) == 3) {
      if ((flags & kIoresourceIo) != 0)
        return plain_error((dir / "resource").string() + ": BAR0 is an I/O port BAR, not memory");
      if (end > start) loc.bar_size = end - start + 1;
    }
  }
  struct stat st {};
  if (::stat(loc.bar_path.c_str(), &st) != 0)
    return errno_error("stat(" + loc.bar_path.string() + ")");
  if (st.st_size > 0) loc.bar_size = static_cast<uint64_t>(st.st_size);
  if (loc.bar_size == 0) return plain_error(loc.bar_path.string() + ": BAR0 has size 0");
  return loc;
}

Result<std::unique_ptr<KernelUio>> KernelUio::open(const KernelUioOptions& o) {
  auto loc = locate_kernel_uio(o);
  if (!loc) return loc.error();
  const KernelUioLocation& l = loc.value();
  KernelUioFiles files;
  files.bar_size = l.bar_size;
  files.bar_page_offset = l.bar_page_offset;
  files.irq_count = l.irq_count_at_open;
  files.bar.reset(::open(l.bar_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!files.bar.valid()) return errno_error("open(" + l.bar_path.string() + ")");
  if (o.irq_fd >= 0) {
    files.irq.reset(::fcntl(o.irq_fd, F_DUPFD_CLOEXEC, 0));
    if (!files.irq.valid()) return errno_error("dup(interrupt fd)");
  } else {
    files.irq.reset(::open(l.dev_path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!files.irq.valid()) return errno_error("open(" + l.dev_path.string() + ")");
  }
  if (o.enable_bus_master) {
    files.config.reset(::open(l.config_path.c_str(), O_RDWR | O_CLOEXEC));
    if (!files.config.valid()) return errno_error("open(" + l.config_path.string() + ")");
  }

  UniqueFd dma_fd;
  if (o.dma_memfd >= 0) {
    dma_fd.reset(::fcntl(o.dma_memfd, F_DUPFD_CLOEXEC, 0));
    if (!dma_fd.valid()) return errno_error("dup(DMA memfd)");
  } else if (o.dma_size > 0) {
    auto created = create_dma_memfd("uldd-dma-" + l.bdf, o.dma_size);
    if (!created) return created.error();
    dma_fd = std::move(created.value().fd);
  } else {
    return plain_error("kernel UIO " + l.bdf + ": no DMA memory (give dma_memfd or dma_size)");
  }
  auto memory = SharedMemory::attach(std::move(dma_fd), 1, "DMA region of " + l.bdf);
  if (!memory) return memory.error();
  std::optional<FilePagemap> pagemap_file;
  const PagemapSource* pagemap = o.pagemap;
  if (pagemap == nullptr) {
    auto f = FilePagemap::open(o.pagemap_path);
    if (!f) return f.error();
    pagemap = &pagemap_file.emplace(std::move(f.value()));
  }
  auto dma = PagemapDmaRegion::attach(std::move(memory.value()), *pagemap);
  if (!dma) return dma.error();
  return adopt(std::move(files), std::move(dma.value()));
}

Result<std::unique_ptr<KernelUio>> KernelUio::adopt(KernelUioFiles files,
                                                    std::unique_ptr<DmaRegion> dma) {
  if (files.bar_size == 0 || files.bar_size % 4 != 0)
    return plain_error("kernel UIO: BAR size " + std::to_string(files.bar_size) + " is unusable");
  if (dma == nullptr) return plain_error("kernel UIO: no DMA region");
  std::unique_ptr<KernelUio> d(new KernelUio());
  size_t page = page_size();
  d->mapping_size_ = (files.bar_page_offset + files.bar_size + page - 1) / page * page;
  // UIO selects map K by mmap offset K * page size; map0 is offset 0, as is
  // resource0, so one call serves both.
  void* p =
      ::mmap(nullptr, d->mapping_size_, PROT_READ | PROT_WRITE, MAP_SHARED, files.bar.get(), 0);
  if (p == MAP_FAILED)
    return errno_error("mmap(BAR0, " + std::to_string(d->mapping_size_) + " bytes)");
  d->mapping_ = p;
  d->bar_ = static_cast<std::byte*>(p) + files.bar_page_offset;
  d->bar_size_ = files.bar_size;

  int flags = ::fcntl(files.irq.get(), F_GETFL);
  if (flags < 0 || ::fcntl(files.irq.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return errno_error("fcntl(interrupt fd, O_NONBLOCK)");
  d->irq_ = std::move(files.irq);
  d->last_count_ = files.irq_count;

  if (files.config.valid()) {
    // Bus master so the device may DMA; memory space so BAR accesses are
    // decoded; INTx enabled so the first interrupt reaches uio_pci_generic.
    uint16_t command = 0;
    if (::pread(files.config.get(), &command, sizeof command, 4) != sizeof command)
      return errno_error("pread(PCI config, COMMAND)");
    command = static_cast<uint16_t>((command | kCommandMemorySpace | kCommandBusMaster) &
                                    ~kCommandIntxDisable);
    if (::pwrite(files.config.get(), &command, sizeof command, 4) != sizeof command)
      return errno_error("pwrite(PCI config, COMMAND)");
    d->config_ = std::move(files.config);
  }
  d->dma_ = std::move(dma);
  return d;
}

KernelUio::~KernelUio() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

Result<uint32_t> KernelUio::take_irq() {
  // /dev/uioN hands out the running count once per change; reading until
  // EAGAIN takes the newest one even if the fd is something that queues.
  bool got = false;
  uint32_t count = 0;
  for (int i = 0; i < 64; ++i) {
    uint32_t v = 0;
    ssize_t n = ::read(irq_.get(), &v, sizeof v);
    if (n == sizeof v) {
      got = true;
      count = v;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return errno_error("read(interrupt fd)");
    if (n > 0) return plain_error("read(interrupt fd): " + std::to_string(n) + " bytes, not 4");
    break;
  }
  if (!got) return uint32_t{0};
  uint32_t delta = count - last_count_;  // the kernel's counter wraps at 2^32 too
  last_count_ = count;
  return delta == 0 ? 1u : delta;
}

Status KernelUio::unmask_irq() {
  if (config_.valid()) {
    // uio_pci_generic has no irqcontrol (a write to /dev/uioN fails): its
    // handler masks INTx with the command register's Interrupt Disable bit,
    // and the driver clears that bit again. The whole 16-bit register is
    // written, not just its high byte as DPDK does: QEMU re-evaluates the
    // INTx line only on a write that covers byte 4 (PCI_COMMAND), and after
    // a high-byte-only write its line level drifts from the status bit,
    // which ends in "irq N: nobody cared" and a disabled IRQ. No interrupt
    // can race the read-modify-write: the line is masked.
    uint16_t command = 0;
    if (::pread(config_.get(), &command, sizeof command, 4) != sizeof command)
      return errno_error("pread(PCI config, COMMAND)");
    if ((command & kCommandIntxDisable) == 0) return {};  // already unmasked
    command = static_cast<uint16_t>(command & ~kCommandIntxDisable);
    if (::pwrite(config_.get(), &command, sizeof command, 4) != sizeof command)
      return errno_error("pwrite(PCI config, COMMAND: unmask INTx)");
    return {};
  }
  // A UIO driver with irqcontrol: a 4-byte 1 re-enables the interrupt.
  uint32_t one = 1;
  ssize_t n;
  do {
    n = ::write(irq_.get(), &one, sizeof one);
  } while (n < 0 && errno == EINTR);
  if (n != sizeof one) return errno_error("write(interrupt fd, unmask)");
  return {};
}

}  // namespace uldd::uio
