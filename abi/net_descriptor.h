// NetDescriptor: one packet buffer travelling between a NIC shim and its
// driver through the four rings of the net ring region (net_ring_region.h),
// in the style of seL4's sDDF net queues. Frames never travel in the rings:
// the shim owns a pool of fixed-size packet buffers in the device's DMA region
// and only hands out {buffer_id, iova, len}; the driver points the device's
// descriptors at the same bytes (no copy) and gives the buffer back on the
// matching "done" ring.
//
// Who writes what, per ring:
//   tx_request (shim -> driver)  shim: iova, len = frame bytes, buffer_id; status 0
//   tx_done    (driver -> shim)  driver: echoes iova, len, buffer_id; sets status
//   rx_free    (shim -> driver)  shim: iova, len = buffer capacity, buffer_id; status 0
//   rx_done    (driver -> shim)  driver: echoes iova, buffer_id; len = received frame
//                                bytes (without CRC); sets status
// Warm resume (docs/recovery.md, "NIC (e1000)"): after a driver crash the shim
// resends every buffer the dead driver held with kNetFlagAdopt set in status,
// first in tx_request / rx_free, exactly DriverLaunch::adopt_count of them in
// the two rings together. A warm successor adopts each one the checkpoint
// shows in the device's ring; it never sets the flag on what it returns.
// The driver echoes buffer_id unchanged: it is how the shim finds the buffer
// again, and the shim checks it (a buffer_id it did not hand out, or one
// returned twice, is a driver fault). Everything the driver writes is
// untrusted for the shim.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::abi {

enum class NetStatus : uint16_t {
  kOk = 0,
  kDropped = 1,  // not sent / nothing received into it: the buffer is returned unused
                 //   (TX refused by the driver as invalid, RX buffer reclaimed on reset)
  kError = 2,    // the device reported an error for this frame (RX errors byte, TX
                 //   underrun); the buffer is returned, its contents are not a frame
};

// Frame sizes on the wire as the shim hands them over: an Ethernet header
// (14 B) at least, a full untagged frame without FCS (1514 B) at most; the
// device appends the FCS (TX IFCS) and strips it on receive (RCTL.SECRC).
inline constexpr uint32_t kMinFrameBytes = 14;
inline constexpr uint32_t kMaxFrameBytes = 1514;

// Set by the shim in NetDescriptor::status of tx_request / rx_free
// descriptors it resends for a warm successor to adopt; 0 otherwise. Above
// every NetStatus value, so a done descriptor can never carry it by accident.
inline constexpr uint16_t kNetFlagAdopt = 0x8000;

struct NetDescriptor {
  uint64_t iova;       // offset of the packet buffer in the DMA region
  uint32_t len;        // bytes: frame length (tx_request, rx_done) or buffer capacity (rx_free)
  uint16_t buffer_id;  // shim's index of the packet buffer; echoed unchanged by the driver
  uint16_t status;     // NetStatus; from the shim 0 or kNetFlagAdopt (warm resend), set by the
                       //   driver on the done rings (never with kNetFlagAdopt)
};

static_assert(sizeof(NetDescriptor) == 16);
static_assert(offsetof(NetDescriptor, iova) == 0);
static_assert(offsetof(NetDescriptor, len) == 8);
static_assert(offsetof(NetDescriptor, buffer_id) == 12);
static_assert(offsetof(NetDescriptor, status) == 14);
static_assert(kNetFlagAdopt > static_cast<uint16_t>(NetStatus::kError));

}  // namespace uldd::abi
