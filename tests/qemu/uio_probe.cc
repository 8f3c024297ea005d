// uldd-uio-probe: proves, inside the qemu guest, that a PCI device bound to
// uio_pci_generic is reachable the way uldd's drivers reach it: found through
// uio/kernel_uio.h (sysfs), BAR0 mapped from resource0, registers read, and a
// DMA region (hugetlb memfd) pinned with bus addresses from /proc/self/pagemap.
// It only reads registers and leaves bus mastering as it was, so a test can
// run it before the real driver without disturbing the device.
//
//   uldd-uio-probe --id 1b36:0010 [--read 0x0 --read 0x8 ...] [--dma-bytes N]
//   uldd-uio-probe --bdf 0000:00:03.0 ...
//
// Prints, one line each (for a shell test to check):
//   device bdf=<bdf> uio=/dev/uioN bar_size=<bytes> irq_count=<n>
//   reg 0x<offset>=0x<value>
//   dma bytes=<n> first=0x<bus address> last=0x<bus address of the last 4 KiB page>
// Exit status 0 if everything could be done, 1 otherwise (message on stderr).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "uio/kernel_uio.h"

namespace {

bool parse_id(const std::string& text, uint16_t& vendor, uint16_t& device) {
  unsigned v = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%x:%x%c", &v, &d, &tail) != 2 || v > 0xffff || d > 0xffff) {
    return false;
  }
  vendor = static_cast<uint16_t>(v);
  device = static_cast<uint16_t>(d);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-uio-probe: read a UIO-bound PCI device's registers through KernelUio"};
  std::string id, bdf, sysfs = "/sys", dev = "/dev";
  std::vector<std::string> reads;
  size_t dma_bytes = 2u << 20;
  app.add_option("--id", id, "vendor:device in hex (first such device bound to UIO)");
  app.add_option("--bdf", bdf, "PCI address, e.g. 0000:00:03.0");
  app.add_option("--read", reads, "BAR0 offset of a 32-bit register to read (hex or decimal)");
  app.add_option("--dma-bytes", dma_bytes, "size of the DMA region to pin (0: none)");
  app.add_option("--sysfs", sysfs, "sysfs root");
  app.add_option("--dev", dev, "/dev root");
  CLI11_PARSE(app, argc, argv);

  uldd::uio::KernelUioOptions options;
  options.sysfs_root = sysfs;
  options.dev_root = dev;
  options.bdf = bdf;
  options.enable_bus_master = false;
  options.dma_size = dma_bytes;
  if (bdf.empty() && !parse_id(id, options.vendor_id, options.device_id)) {
    std::cerr << "uldd-uio-probe: give --bdf or --id VENDOR:DEVICE (hex), got '" << id << "'\n";
    return 1;
  }
  auto location = uldd::uio::locate_kernel_uio(options);
  if (!location) {
    std::cerr << "uldd-uio-probe: " << location.error().describe() << "\n";
    return 1;
  }
  std::printf("device bdf=%s uio=%s bar_size=%llu irq_count=%u\n", location->bdf.c_str(),
              location->dev_path.c_str(), static_cast<unsigned long long>(location->bar_size),
              location->irq_count_at_open);
  if (dma_bytes == 0) options.dma_size = 4096;  // KernelUio::open always wants DMA memory
  auto device = uldd::uio::KernelUio::open(options);
  if (!device) {
    std::cerr << "uldd-uio-probe: " << device.error().describe() << "\n";
    return 1;
  }
  uldd::uio::KernelUio& uio = *device.value();
  for (const std::string& text : reads) {
    char* end = nullptr;
    const size_t offset = std::strtoul(text.c_str(), &end, 0);
    if (text.empty() || *end != 0) {
      std::cerr << "uldd-uio-probe: bad register offset '" << text << "'\n";
      return 1;
    }
    if (offset % 4 != 0 || offset + 4 > uio.bar_size()) {
      std::cerr << "uldd-uio-probe: offset " << text << " outside BAR0 of " << uio.bar_size()
                << " bytes or unaligned\n";
      return 1;
    }
    std::printf("reg 0x%04zx=0x%08x\n", offset, uio.read32(offset));
  }
  if (dma_bytes > 0) {
    uldd::uio::DmaRegion& dma = uio.dma();
    std::printf("dma bytes=%zu first=0x%llx last=0x%llx\n", dma.size(),
                static_cast<unsigned long long>(dma.device_address(0)),
                static_cast<unsigned long long>(dma.device_address(dma.size() - 4096)));
  }
  return 0;
}
