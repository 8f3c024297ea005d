#include "drivers/e1000/e1000_dma_layout.h"

#include "devices/e1000/e1000_spec.h"
#include "drivers/e1000/e1000_checkpoint.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t round_up(uint64_t v, uint64_t to) {
  return (v + to - 1) / to * to;
}

bool valid_ring_size(uint32_t n) {
  return n >= kE1000MinDescriptors && n <= kE1000MaxDescriptors &&
         (uint64_t{n} * sizeof(e1000::RxDescriptor)) % e1000::kRingLengthAlign == 0;
}

}  // namespace

E1000DmaLayout E1000DmaLayout::compute(const abi::DriverConfig& cfg) {
  E1000DmaLayout l;
  l.rx_descriptors = cfg.nic_rx_descriptors;
  l.tx_descriptors = cfg.nic_tx_descriptors;
  l.rx_ring_offset = 0;
  l.tx_ring_offset = round_up(uint64_t{l.rx_descriptors} * sizeof(e1000::RxDescriptor), kPage);
  l.total_size =
      l.tx_ring_offset + round_up(uint64_t{l.tx_descriptors} * sizeof(e1000::TxDescriptor), kPage);
  return l;
}

std::string check_e1000_config(const abi::DriverConfig& cfg, uint64_t dma_size) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  const std::string range = " is not a multiple of 8 in [8, " + n(kE1000MaxDescriptors) + "]";
  if (!valid_ring_size(cfg.nic_rx_descriptors))
    return "config: nic_rx_descriptors " + n(cfg.nic_rx_descriptors) + range;
  if (!valid_ring_size(cfg.nic_tx_descriptors))
    return "config: nic_tx_descriptors " + n(cfg.nic_tx_descriptors) + range;
  if (cfg.nic_itr_interval > e1000::itr::kIntervalMask)
    return "config: nic_itr_interval " + n(cfg.nic_itr_interval) +
           " does not fit ITR.INTERVAL (16 bits of 256 ns)";
  if (cfg.heartbeat_interval_us == 0) return "config: heartbeat_interval_us is 0";
  if (cfg.max_transfer < kE1000RxBufferBytes || cfg.max_transfer > 65535)
    return "config: max_transfer (packet buffer size) " + n(cfg.max_transfer) +
           " not in [2048, 65535]: RCTL.BSIZE 2048 needs buffers of at least 2048 bytes";
  if (cfg.dma_driver_area_size > cfg.dma_buffer_area_offset)
    return "config: driver area [0, " + n(cfg.dma_driver_area_size) +
           ") overlaps the buffer area at " + n(cfg.dma_buffer_area_offset);
  if (cfg.dma_buffer_area_offset >= dma_size)
    return "config: buffer area offset " + n(cfg.dma_buffer_area_offset) +
           " is not inside the DMA region of " + n(dma_size) + " bytes";
  E1000DmaLayout l = E1000DmaLayout::compute(cfg);
  if (l.total_size > cfg.dma_driver_area_size)
    return "config: the driver area needs " + n(l.total_size) + " bytes for " +
           n(cfg.nic_rx_descriptors) + " RX and " + n(cfg.nic_tx_descriptors) +
           " TX descriptors, dma_driver_area_size is " + n(cfg.dma_driver_area_size);
  return "";
}

}  // namespace uldd::drivers
