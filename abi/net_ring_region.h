// NetRingRegion: the per-NIC-driver memfd holding the four SPSC rings of
// NetDescriptors through which a NIC shim and its driver trade packet
// buffers, sDDF style (buffers go round, frames stay in the DMA region):
//
//   ring         producer -> consumer   carries
//   tx_request   shim   -> driver       filled buffers to send
//   tx_done      driver -> shim         those buffers back once the device sent them
//   rx_free      shim   -> driver       empty buffers to post to the device
//   rx_done      driver -> shim         received frames (len = frame bytes)
//
// Each ring is an SpscRing<NetDescriptor> (spsc_ring.h): free-running 32-bit
// indices, power-of-two capacity, producer and consumer lines on their own
// cache lines, need-wakeup flags so a busy peer is not kicked. The two TX rings
// have tx_capacity slots, the two RX rings rx_capacity, so a done ring can
// always take back every buffer of its request ring.
//
// Layout (offsets from the start of the memfd, fixed by net_ring_region_layout):
//   0      NetRingRegionHeader (128 B), written by the supervisor before the
//          driver is spawned and never again; the driver copies it once and checks it
//   128    RingIndices of tx_request, tx_done, rx_free, rx_done (128 B each)
//   4096   slots of tx_request [tx_capacity], tx_done [tx_capacity],
//          rx_free [rx_capacity], rx_done [rx_capacity]
//   region_size = end of the last slot array rounded up to 4 KiB
//
// The magic differs from the block ring region's ("ULDN" vs "ULDR"), so a NIC
// driver handed a disk ring region (or the reverse) refuses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "abi/abi_version.h"
#include "abi/net_descriptor.h"
#include "abi/ring_region.h"
#include "abi/spsc_ring.h"

namespace uldd::abi {

inline constexpr uint32_t kNetRingRegionMagic = 0x4e444c55;  // "ULDN" little-endian

enum class NetRing : uint32_t {
  kTxRequest = 0,
  kTxDone = 1,
  kRxFree = 2,
  kRxDone = 3,
};
inline constexpr uint32_t kNetRingCount = 4;

// Where one ring lives in the region.
struct NetRingPlacement {
  uint64_t indices_offset;  // RingIndices, cache-line aligned
  uint64_t slots_offset;    // NetDescriptor[capacity]
};
static_assert(sizeof(NetRingPlacement) == 16);

// Written by the supervisor only, before spawn. Readers copy it once and run
// check_net_ring_region_header on the copy.
struct NetRingRegionHeader {
  uint32_t magic;                         // kNetRingRegionMagic
  uint32_t version;                       // kAbiVersion
  uint32_t tx_capacity;                   // slots of tx_request and tx_done; power of two, 2..65536
  uint32_t rx_capacity;                   // slots of rx_free and rx_done; power of two, 2..65536
  uint32_t descriptor_size;               // sizeof(NetDescriptor)
  uint32_t ring_count;                    // kNetRingCount
  uint64_t region_size;                   // bytes of the whole memfd the layout needs
  NetRingPlacement rings[kNetRingCount];  // indexed by NetRing
  uint8_t reserved[32];
};
static_assert(sizeof(NetRingRegionHeader) == 128);
static_assert(offsetof(NetRingRegionHeader, magic) == 0);
static_assert(offsetof(NetRingRegionHeader, version) == 4);
static_assert(offsetof(NetRingRegionHeader, tx_capacity) == 8);
static_assert(offsetof(NetRingRegionHeader, rx_capacity) == 12);
static_assert(offsetof(NetRingRegionHeader, descriptor_size) == 16);
static_assert(offsetof(NetRingRegionHeader, ring_count) == 20);
static_assert(offsetof(NetRingRegionHeader, region_size) == 24);
static_assert(offsetof(NetRingRegionHeader, rings) == 32);
static_assert(offsetof(NetRingRegionHeader, reserved) == 96);

inline constexpr uint64_t kNetRingIndicesOffset = sizeof(NetRingRegionHeader);
inline constexpr uint64_t kNetRingSlotsOffset = 4096;
static_assert(kNetRingIndicesOffset % kCacheLine == 0);
static_assert(kNetRingIndicesOffset + kNetRingCount * sizeof(RingIndices) <= kNetRingSlotsOffset);

inline constexpr uint32_t net_ring_capacity(const NetRingRegionHeader& h, NetRing ring) {
  return ring == NetRing::kTxRequest || ring == NetRing::kTxDone ? h.tx_capacity : h.rx_capacity;
}

// The one layout for given capacities; both sides compute it and compare.
inline NetRingRegionHeader net_ring_region_layout(uint32_t tx_capacity, uint32_t rx_capacity) {
  NetRingRegionHeader h{};
  h.magic = kNetRingRegionMagic;
  h.version = kAbiVersion;
  h.tx_capacity = tx_capacity;
  h.rx_capacity = rx_capacity;
  h.descriptor_size = sizeof(NetDescriptor);
  h.ring_count = kNetRingCount;
  uint64_t slots = kNetRingSlotsOffset;
  for (uint32_t i = 0; i < kNetRingCount; ++i) {
    h.rings[i].indices_offset = kNetRingIndicesOffset + i * sizeof(RingIndices);
    h.rings[i].slots_offset = slots;
    slots += uint64_t{net_ring_capacity(h, static_cast<NetRing>(i))} * sizeof(NetDescriptor);
  }
  h.region_size = (slots + 4095) & ~uint64_t{4095};
  return h;
}

// Checks a header copied out of shared memory against the layout it must
// have and the size of the memfd it came from. Returns "" if it is good,
// otherwise what is wrong.
inline std::string check_net_ring_region_header(const NetRingRegionHeader& h, size_t memfd_size) {
  if (h.magic != kNetRingRegionMagic) return "net ring region: bad magic";
  if (h.version != kAbiVersion)
    return "net ring region: ABI version " + std::to_string(h.version) + ", expected " +
           std::to_string(kAbiVersion);
  if (!valid_ring_capacity(h.tx_capacity))
    return "net ring region: tx capacity " + std::to_string(h.tx_capacity) +
           " is not a power of two in [2, 65536]";
  if (!valid_ring_capacity(h.rx_capacity))
    return "net ring region: rx capacity " + std::to_string(h.rx_capacity) +
           " is not a power of two in [2, 65536]";
  NetRingRegionHeader want = net_ring_region_layout(h.tx_capacity, h.rx_capacity);
  bool same = h.descriptor_size == want.descriptor_size && h.ring_count == want.ring_count &&
              h.region_size == want.region_size;
  for (uint32_t i = 0; i < kNetRingCount; ++i)
    same = same && h.rings[i].indices_offset == want.rings[i].indices_offset &&
           h.rings[i].slots_offset == want.rings[i].slots_offset;
  if (!same)
    return "net ring region: layout fields do not match capacities tx " +
           std::to_string(h.tx_capacity) + " rx " + std::to_string(h.rx_capacity);
  if (h.region_size > memfd_size)
    return "net ring region: header says " + std::to_string(h.region_size) + " bytes, memfd has " +
           std::to_string(memfd_size);
  return "";
}

// Typed access to a mapped net ring region whose header has been checked.
// producer()/consumer() build the ring ends at index 0 (a fresh region) or at
// the index a trusted party recorded when a ring is re-attached.
struct NetRingRegionView {
  std::byte* base;
  NetRingRegionHeader header;  // private copy, taken once

  RingIndices* indices(NetRing ring) const {
    return reinterpret_cast<RingIndices*>(base +
                                          header.rings[static_cast<uint32_t>(ring)].indices_offset);
  }
  NetDescriptor* slots(NetRing ring) const {
    return reinterpret_cast<NetDescriptor*>(base +
                                            header.rings[static_cast<uint32_t>(ring)].slots_offset);
  }
  uint32_t capacity(NetRing ring) const { return net_ring_capacity(header, ring); }

  SpscProducer<NetDescriptor> producer(NetRing ring, uint32_t tail = 0) const {
    return SpscProducer<NetDescriptor>(indices(ring), slots(ring), capacity(ring), tail);
  }
  SpscConsumer<NetDescriptor> consumer(NetRing ring, uint32_t head = 0) const {
    return SpscConsumer<NetDescriptor>(indices(ring), slots(ring), capacity(ring), head);
  }
};

}  // namespace uldd::abi
