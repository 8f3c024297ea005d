// Intel 8254x (82540EM, PCI 8086:100E: what QEMU's `-device e1000` emulates)
// register map, bit definitions, EEPROM words and legacy descriptor formats
// that uldd's e1000 driver and e1000 device model share, so both sides agree
// with the real part by construction. Section numbers refer to the "PCI/PCI-X
// Family of Gigabit Ethernet Controllers Software Developer's Manual" (8254x
// SDM, 317453006, rev 4.0); offsets and bit values were cross-checked against
// QEMU's hw/net/e1000_regs.h and Linux's e1000_hw.h. Only what uldd uses is
// spelled out; every layout is pinned with static_asserts.
//
// The one 82540EM-specific detail a driver must not generalise: EERD has its
// DONE bit at 4 and the word address at 15:8 (82541/82547 use bit 1 and 15:2).
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::e1000 {

// --- PCI identity and BAR ---------------------------------------------------
inline constexpr uint16_t kPciVendorIntel = 0x8086;
inline constexpr uint16_t kPciDevice82540EM = 0x100E;
// BAR0 is 128 KiB of memory-mapped registers (§4.1, memory BAR size).
inline constexpr size_t kBarSize = 128 * 1024;

// --- Registers (offsets into BAR0), §13.4 and Table 13-2 ---------------------
inline constexpr size_t kRegCtrl = 0x0000;     // §13.4.1 Device Control
inline constexpr size_t kRegStatus = 0x0008;   // §13.4.2 Device Status (read only)
inline constexpr size_t kRegEecd = 0x0010;     // §13.4.3 EEPROM/Flash Control/Data
inline constexpr size_t kRegEerd = 0x0014;     // §13.4.4 EEPROM Read
inline constexpr size_t kRegCtrlExt = 0x0018;  // §13.4.6 Extended Device Control
inline constexpr size_t kRegMdic = 0x0020;     // §13.4.7 MDI Control (PHY access)
inline constexpr size_t kRegIcr = 0x00C0;      // §13.4.17 Interrupt Cause Read (read to clear)
inline constexpr size_t kRegItr = 0x00C4;      // §13.4.18 Interrupt Throttling
inline constexpr size_t kRegIcs = 0x00C8;      // §13.4.19 Interrupt Cause Set (write only)
inline constexpr size_t kRegIms = 0x00D0;      // §13.4.20 Interrupt Mask Set/Read
inline constexpr size_t kRegImc = 0x00D8;      // §13.4.21 Interrupt Mask Clear (write only)
inline constexpr size_t kRegRctl = 0x0100;     // §13.4.22 Receive Control
inline constexpr size_t kRegTctl = 0x0400;     // §13.4.33 Transmit Control
inline constexpr size_t kRegTipg = 0x0410;     // §13.4.34 Transmit IPG
inline constexpr size_t kRegRdbal = 0x2800;    // §13.4.27 RX Descriptor Base Low
inline constexpr size_t kRegRdbah = 0x2804;    // §13.4.28 RX Descriptor Base High
inline constexpr size_t kRegRdlen = 0x2808;    // §13.4.29 RX Descriptor Length (bytes)
inline constexpr size_t kRegRdh = 0x2810;      // §13.4.30 RX Descriptor Head (device writes)
inline constexpr size_t kRegRdt = 0x2818;      // §13.4.31 RX Descriptor Tail (driver writes)
inline constexpr size_t kRegRdtr = 0x2820;     // §13.4.32 RX Delay Timer (1.024 us units)
inline constexpr size_t kRegRadv = 0x282C;     // RX Absolute Interrupt Delay
inline constexpr size_t kRegTdbal = 0x3800;    // §13.4.38 TX Descriptor Base Low
inline constexpr size_t kRegTdbah = 0x3804;    // §13.4.39 TX Descriptor Base High
inline constexpr size_t kRegTdlen = 0x3808;    // §13.4.40 TX Descriptor Length (bytes)
inline constexpr size_t kRegTdh = 0x3810;      // §13.4.41 TX Descriptor Head (device writes)
inline constexpr size_t kRegTdt = 0x3818;      // §13.4.42 TX Descriptor Tail (driver writes)
inline constexpr size_t kRegTidv = 0x3820;     // §13.4.43 TX Interrupt Delay Value (1.024 us)
inline constexpr size_t kRegTadv = 0x382C;     // TX Absolute Interrupt Delay
inline constexpr size_t kRegRxcsum = 0x5000;   // RX Checksum Control
inline constexpr size_t kRegMta = 0x5200;      // Multicast Table Array, 128 dwords
inline constexpr size_t kMtaEntries = 128;
inline constexpr size_t kRegRal0 = 0x5400;       // §13.4.62 Receive Address Low, entry 0
inline constexpr size_t kRegRah0 = 0x5404;       // §13.4.63 Receive Address High, entry 0
inline constexpr size_t kReceiveAddresses = 16;  // RAL/RAH pairs 0..15, 8 bytes apart
inline constexpr size_t ral(size_t n) {
  return kRegRal0 + 8 * n;
}
inline constexpr size_t rah(size_t n) {
  return kRegRah0 + 8 * n;
}

// --- Statistics, §13.7: 32-bit counters, cleared when read -------------------
namespace stats {
inline constexpr size_t kCrcerrs = 0x4000;  // CRC errors
inline constexpr size_t kMpc = 0x4010;      // missed packets: no RX descriptor (ring full)
inline constexpr size_t kEcol = 0x4018;     // excessive collisions (frames not sent)
inline constexpr size_t kColc = 0x4028;     // collisions (always 0 on full duplex)
inline constexpr size_t kRnbc = 0x40A0;     // receive no buffers
inline constexpr size_t kRoc = 0x40AC;      // receive oversize
inline constexpr size_t kGprc = 0x4074;     // good packets received
inline constexpr size_t kBprc = 0x4078;     // broadcast packets received
inline constexpr size_t kMprc = 0x407C;     // multicast packets received
inline constexpr size_t kGptc = 0x4080;     // good packets transmitted
inline constexpr size_t kGorcl = 0x4088;    // good octets received, low dword
inline constexpr size_t kGorch = 0x408C;    // good octets received, high dword
inline constexpr size_t kGotcl = 0x4090;    // good octets transmitted, low dword
inline constexpr size_t kGotch = 0x4094;    // good octets transmitted, high dword
inline constexpr size_t kTorl = 0x40C0;     // total octets received, low
inline constexpr size_t kTorh = 0x40C4;     // total octets received, high
inline constexpr size_t kTotl = 0x40C8;     // total octets transmitted, low
inline constexpr size_t kToth = 0x40CC;     // total octets transmitted, high
inline constexpr size_t kTpr = 0x40D0;      // total packets received
inline constexpr size_t kTpt = 0x40D4;      // total packets transmitted
inline constexpr size_t kMptc = 0x40F0;     // multicast packets transmitted
inline constexpr size_t kBptc = 0x40F4;     // broadcast packets transmitted
// The whole statistics block: every dword in [kFirst, kLast] is a counter.
inline constexpr size_t kFirst = 0x4000;
inline constexpr size_t kLast = 0x40FC;
}  // namespace stats

// --- CTRL bits, §13.4.1 -------------------------------------------------------
namespace ctrl {
inline constexpr uint32_t kFullDuplex = 1u << 0;  // FD
inline constexpr uint32_t kLinkReset = 1u << 3;   // LRST
inline constexpr uint32_t kAutoSpeed = 1u << 5;   // ASDE: auto-speed detection enable
inline constexpr uint32_t kSetLinkUp = 1u << 6;   // SLU
inline constexpr uint32_t kInvertLos = 1u << 7;   // ILOS
inline constexpr uint32_t kSpeedMask = 3u << 8;   // SPEED (forced): 00 10, 01 100, 10 1000 Mb/s
inline constexpr uint32_t kSpeed1000 = 2u << 8;
inline constexpr uint32_t kForceSpeed = 1u << 11;     // FRCSPD
inline constexpr uint32_t kForceDuplex = 1u << 12;    // FRCDPLX
inline constexpr uint32_t kReset = 1u << 26;          // RST: self-clearing device reset
inline constexpr uint32_t kRxFlowControl = 1u << 27;  // RFCE
inline constexpr uint32_t kTxFlowControl = 1u << 28;  // TFCE
inline constexpr uint32_t kVlanMode = 1u << 30;       // VME
inline constexpr uint32_t kPhyReset = 1u << 31;       // PHY_RST
}  // namespace ctrl

// --- STATUS bits, §13.4.2 -----------------------------------------------------
namespace status {
inline constexpr uint32_t kFullDuplex = 1u << 0;  // FD
inline constexpr uint32_t kLinkUp = 1u << 1;      // LU
inline constexpr uint32_t kTxOff = 1u << 4;       // TXOFF: paused by flow control
inline constexpr uint32_t kSpeedMask = 3u << 6;   // SPEED: 00 10, 01 100, 1x 1000 Mb/s
inline constexpr uint32_t kSpeed1000 = 2u << 6;
inline constexpr uint32_t kPci66 = 1u << 11;  // PCI66
inline constexpr uint32_t kBus64 = 1u << 12;  // BUS64
}  // namespace status

// --- EECD bits, §13.4.3 (bit-banged EEPROM access; uldd uses EERD instead) ---
namespace eecd {
inline constexpr uint32_t kRequest = 1u << 6;  // EE_REQ
inline constexpr uint32_t kGrant = 1u << 7;    // EE_GNT
inline constexpr uint32_t kPresent = 1u << 8;  // EE_PRES: an EEPROM is attached
}  // namespace eecd

// --- EERD fields, §13.4.4 (82540EM layout) ------------------------------------
namespace eerd {
inline constexpr uint32_t kStart = 1u << 0;  // START: software sets it, device reads the word
inline constexpr uint32_t kDone = 1u << 4;   // DONE: device sets it with DATA valid
inline constexpr uint32_t kAddrShift = 8;    // ADDR 15:8: word address
inline constexpr uint32_t kDataShift = 16;   // DATA 31:16
inline constexpr uint32_t read_request(uint32_t word) {
  return kStart | (word << kAddrShift);
}
inline constexpr uint32_t address(uint32_t eerd) {
  return (eerd >> kAddrShift) & 0xFF;
}
inline constexpr uint16_t data(uint32_t eerd) {
  return static_cast<uint16_t>(eerd >> kDataShift);
}
}  // namespace eerd

// --- EEPROM image, §5.6 (Table 5-2, EEPROM address map) -----------------------
namespace eeprom {
inline constexpr uint32_t kWords = 64;           // 82540EM: 64 x 16-bit words (Microwire)
inline constexpr uint32_t kMacWord0 = 0x00;      // words 0..2: Ethernet address, little endian
inline constexpr uint32_t kChecksumWord = 0x3F;  // words 0x00..0x3F sum (mod 2^16) to kChecksumSum
inline constexpr uint16_t kChecksumSum = 0xBABA;
}  // namespace eeprom

// --- Interrupt causes: ICR/ICS/IMS/IMC share these bits, §13.4.17-21 ---------
namespace icr {
inline constexpr uint32_t kTxDescWritten = 1u << 0;  // TXDW: a descriptor with RS was written back
inline constexpr uint32_t kTxQueueEmpty = 1u << 1;   // TXQE: TDH reached TDT
inline constexpr uint32_t kLinkStatusChange = 1u << 2;  // LSC
inline constexpr uint32_t kRxSequence = 1u << 3;        // RXSEQ
inline constexpr uint32_t kRxDescMinThreshold = 1u
                                                << 4;  // RXDMT0: free descriptors below RCTL.RDMTS
inline constexpr uint32_t kRxOverrun = 1u << 6;        // RXO: frame dropped, no descriptor
inline constexpr uint32_t kRxTimer = 1u << 7;          // RXT0: receive timer (frame delivered)
inline constexpr uint32_t kMdioAccessComplete = 1u << 9;  // MDAC
inline constexpr uint32_t kTxDescLow = 1u << 15;          // TXD_LOW
// INT_ASSERTED: defined for 8257x parts only; bit 31 is reserved on the
// 82540EM, so uldd's model (like QEMU's for this device id) never sets it and
// a driver must not require it.
inline constexpr uint32_t kIntAsserted = 1u << 31;
// Every cause bit the 82540EM defines (bits 0..16 except 5 and 8).
inline constexpr uint32_t kAllCauses = 0x0001FEDF;
}  // namespace icr

// --- ITR, §13.4.18: minimum inter-interrupt interval ---------------------------
namespace itr {
inline constexpr uint32_t kIntervalMask = 0xFFFF;  // INTERVAL 15:0, 0 = no throttling
inline constexpr uint32_t kUnitNs = 256;           // one INTERVAL unit = 256 ns
inline constexpr uint64_t interval_ns(uint32_t itr) {
  return uint64_t{itr & kIntervalMask} * kUnitNs;
}
}  // namespace itr

// --- RCTL bits, §13.4.22 --------------------------------------------------------
namespace rctl {
inline constexpr uint32_t kEnable = 1u << 1;            // EN
inline constexpr uint32_t kStoreBadPackets = 1u << 2;   // SBP
inline constexpr uint32_t kUnicastPromisc = 1u << 3;    // UPE
inline constexpr uint32_t kMulticastPromisc = 1u << 4;  // MPE
inline constexpr uint32_t kLongPackets = 1u << 5;       // LPE
inline constexpr uint32_t kLoopbackMask = 3u << 6;      // LBM (00 = normal)
inline constexpr uint32_t kRdmtsMask = 3u << 8;         // RDMTS: 00 1/2, 01 1/4, 10 1/8 of ring
inline constexpr uint32_t kRdmtsShift = 8;
inline constexpr uint32_t kBroadcastAccept = 1u << 15;  // BAM
inline constexpr uint32_t kBsizeMask = 3u << 16;        // BSIZE
inline constexpr uint32_t kBsizeShift = 16;
inline constexpr uint32_t kBsize2048 = 0u << 16;  // with BSEX = 0
inline constexpr uint32_t kBsize1024 = 1u << 16;
inline constexpr uint32_t kBsize512 = 2u << 16;
inline constexpr uint32_t kBsize256 = 3u << 16;
inline constexpr uint32_t kBsize16384 = 1u << 16;  // with BSEX = 1
inline constexpr uint32_t kBsize8192 = 2u << 16;
inline constexpr uint32_t kBsize4096 = 3u << 16;
inline constexpr uint32_t kVlanFilter = 1u << 18;      // VFE
inline constexpr uint32_t kDiscardPause = 1u << 22;    // DPF
inline constexpr uint32_t kBsizeExtension = 1u << 25;  // BSEX: BSIZE x 16
inline constexpr uint32_t kStripCrc = 1u << 26;        // SECRC
// Receive buffer size in bytes selected by RCTL.BSIZE/BSEX (BSEX with BSIZE 00
// is reserved; uldd treats it as 2048).
inline constexpr uint32_t buffer_bytes(uint32_t r) {
  uint32_t code = (r & kBsizeMask) >> kBsizeShift;
  if ((r & kBsizeExtension) != 0 && code != 0) return 65536u >> (code + 1);  // 16384/8192/4096
  return 2048u >> code;
}
static_assert(buffer_bytes(kBsize2048) == 2048 && buffer_bytes(kBsize256) == 256);
static_assert(buffer_bytes(kBsizeExtension | kBsize16384) == 16384);
static_assert(buffer_bytes(kBsizeExtension | kBsize4096) == 4096);
}  // namespace rctl

// --- TCTL bits, §13.4.33, and TIPG, §13.4.34 ---------------------------------------
namespace tctl {
inline constexpr uint32_t kEnable = 1u << 1;           // EN
inline constexpr uint32_t kPadShortPackets = 1u << 3;  // PSP: pad to 64 bytes
inline constexpr uint32_t kCtShift = 4;                // CT 11:4 collision threshold (0x0F)
inline constexpr uint32_t kColdShift = 12;             // COLD 21:12 collision distance (0x40 FD)
inline constexpr uint32_t kRetransmitLateCollision = 1u << 24;  // RTLC
// The values §14.5 recommends for full duplex.
inline constexpr uint32_t kRecommended =
    kEnable | kPadShortPackets | (0x0Fu << kCtShift) | (0x40u << kColdShift);
}  // namespace tctl
namespace tipg {
// IPGT 9:0 = 10, IPGR1 19:10 = 8, IPGR2 29:20 = 6: §13.4.34 for 82540EM copper.
inline constexpr uint32_t kRecommended = 10u | (8u << 10) | (6u << 20);
}  // namespace tipg

// --- RAH fields, §13.4.63 --------------------------------------------------------
namespace rah_bits {
inline constexpr uint32_t kAddressValid = 1u << 31;  // AV
inline constexpr uint32_t kHighMask = 0xFFFF;        // address bytes 4..5
}  // namespace rah_bits

// --- Descriptor rings, §3.2.6 and §3.4 ----------------------------------------------
// RDLEN/TDLEN are byte lengths, multiples of 128 (8 descriptors); base
// addresses 16-byte aligned; head and tail are descriptor indices.
inline constexpr uint32_t kRingLengthAlign = 128;
inline constexpr uint32_t kRingBaseAlign = 16;
inline constexpr uint32_t kMaxRingLength = 0x100000 - kRingLengthAlign;  // RDLEN 19:7
inline constexpr uint32_t kMaxFrameBytes = 1522;  // without LPE: 1518 + 802.1Q tag, CRC included
inline constexpr uint32_t kMinFrameBytes = 60;    // without CRC; PSP pads short frames to it

// Legacy receive descriptor, §3.2.3 (Figure 3-1). The driver writes
// buffer_addr (and clears status before handing the descriptor back); the
// device writes length, csum, status, errors and special on write-back.
struct RxDescriptor {
  uint64_t buffer_addr;  // driver: device address of the receive buffer
  uint16_t length;       // device: bytes stored in the buffer
  uint16_t csum;         // device: packet checksum (RXCSUM)
  uint8_t status;        // device: rx_status bits
  uint8_t errors;        // device: rx_errors bits (valid with EOP)
  uint16_t special;      // device: VLAN tag when status.VP
};
static_assert(sizeof(RxDescriptor) == 16);  // §3.2.3
static_assert(offsetof(RxDescriptor, buffer_addr) == 0);
static_assert(offsetof(RxDescriptor, length) == 8);
static_assert(offsetof(RxDescriptor, csum) == 10);
static_assert(offsetof(RxDescriptor, status) == 12);
static_assert(offsetof(RxDescriptor, errors) == 13);
static_assert(offsetof(RxDescriptor, special) == 14);

namespace rx_status {                                // §3.2.3.1
inline constexpr uint8_t kDone = 1u << 0;            // DD: descriptor done
inline constexpr uint8_t kEndOfPacket = 1u << 1;     // EOP: last descriptor of the frame
inline constexpr uint8_t kIgnoreChecksum = 1u << 2;  // IXSM
inline constexpr uint8_t kVlan = 1u << 3;            // VP
}  // namespace rx_status
namespace rx_errors {                        // §3.2.3.2
inline constexpr uint8_t kCrc = 1u << 0;     // CE
inline constexpr uint8_t kRxData = 1u << 7;  // RXE
}  // namespace rx_errors

// Legacy transmit descriptor, §3.3.3 (Figure 3-8). The driver writes every
// field but status; the device writes status (DD) back when cmd.RS is set.
struct TxDescriptor {
  uint64_t buffer_addr;  // driver: device address of the data
  uint16_t length;       // driver: bytes in this buffer (frame = buffers up to EOP)
  uint8_t cso;           // driver: checksum offset (with cmd.IC)
  uint8_t cmd;           // driver: tx_cmd bits
  uint8_t status;        // device: tx_status bits 3:0; 7:4 reserved
  uint8_t css;           // driver: checksum start
  uint16_t special;      // driver: VLAN tag (with cmd.VLE)
};
static_assert(sizeof(TxDescriptor) == 16);  // §3.3.3
static_assert(offsetof(TxDescriptor, buffer_addr) == 0);
static_assert(offsetof(TxDescriptor, length) == 8);
static_assert(offsetof(TxDescriptor, cso) == 10);
static_assert(offsetof(TxDescriptor, cmd) == 11);
static_assert(offsetof(TxDescriptor, status) == 12);
static_assert(offsetof(TxDescriptor, css) == 13);
static_assert(offsetof(TxDescriptor, special) == 14);

namespace tx_cmd {                                   // §3.3.3.1
inline constexpr uint8_t kEndOfPacket = 1u << 0;     // EOP
inline constexpr uint8_t kInsertFcs = 1u << 1;       // IFCS: append the Ethernet CRC
inline constexpr uint8_t kInsertChecksum = 1u << 2;  // IC
inline constexpr uint8_t kReportStatus = 1u << 3;    // RS: write DD back
inline constexpr uint8_t kExtension = 1u << 5;       // DEXT: 0 = legacy descriptor
inline constexpr uint8_t kVlanEnable = 1u << 6;      // VLE
inline constexpr uint8_t kDelayInterrupt = 1u << 7;  // IDE: delay TXDW by TIDV
}  // namespace tx_cmd
namespace tx_status {                                  // §3.3.3.2
inline constexpr uint8_t kDone = 1u << 0;              // DD
inline constexpr uint8_t kExcessCollisions = 1u << 1;  // EC: not transmitted
}  // namespace tx_status

}  // namespace uldd::e1000
