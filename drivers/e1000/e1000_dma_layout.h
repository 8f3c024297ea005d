// E1000DmaLayout: where the e1000 driver keeps its own device-visible memory
// (the two legacy descriptor rings) inside the driver area
// [0, DriverConfig::dma_driver_area_size) of the DMA region. The shim never
// touches this area; the device reads and writes it; a restarted driver
// recomputes the same layout from the same config, so it finds the rings
// where the device still has them (RDBAL/TDBAL).
//
// Layout, each ring 4 KiB aligned (P = 4096, R = nic_rx_descriptors,
// T = nic_tx_descriptors, 16 bytes per descriptor, 8254x SDM 3.2.6 / 3.4):
//   0                 RX descriptor ring  roundup(16 R, P)
//   roundup(16 R, P)  TX descriptor ring  roundup(16 T, P)
//
// The device needs each ring contiguous in device-address space; E1000Driver
// checks that page by page at bring-up (kernel UIO: use huge pages).
#pragma once

#include <cstdint>
#include <string>

#include "abi/control_block.h"

namespace uldd::drivers {

// RCTL.BSIZE = 2048 (BSEX = 0): the device may write up to this many bytes
// into every RX buffer, so every buffer posted must be at least this large.
inline constexpr uint32_t kE1000RxBufferBytes = 2048;
inline constexpr uint32_t kE1000MinDescriptors = 8;  // RDLEN/TDLEN: multiples of 128 bytes

struct E1000DmaLayout {
  uint32_t rx_descriptors = 0;
  uint32_t tx_descriptors = 0;
  uint64_t rx_ring_offset = 0;
  uint64_t tx_ring_offset = 0;
  uint64_t total_size = 0;  // bytes of the driver area the layout needs

  // For a config whose ring sizes are in range (check_e1000_config first).
  static E1000DmaLayout compute(const abi::DriverConfig& cfg);
};

// Sanity of a DriverConfig for the e1000 driver against the ABI's ranges and
// the DMA region size: "" if good, otherwise what is wrong.
std::string check_e1000_config(const abi::DriverConfig& cfg, uint64_t dma_size);

}  // namespace uldd::drivers
