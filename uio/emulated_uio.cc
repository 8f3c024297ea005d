#include "uio/emulated_uio.h"

namespace uldd::uio {

Result<std::unique_ptr<EmulatedUio>> EmulatedUio::attach(UniqueFd bar, UniqueFd dma, UniqueFd irq,
                                                         UniqueFd doorbell) {
  auto bar_mem = SharedMemory::attach(std::move(bar), 4096, "emulated BAR0");
  if (!bar_mem) return bar_mem.error();
  auto dma_mem = SharedMemory::attach(std::move(dma), 4096, "DMA region");
  if (!dma_mem) return dma_mem.error();
  return std::unique_ptr<EmulatedUio>(new EmulatedUio(std::move(bar_mem.value()), std::move(dma_mem.value()),
                                                      EventFd::adopt(std::move(irq)),
                                                      EventFd::adopt(std::move(doorbell))));
}

}  // namespace uldd::uio
