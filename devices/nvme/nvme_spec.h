// NVMe register map, queue entry formats and the Identify/Feature fields that
// uldd's NVMe driver and NVMe device model share. Section numbers refer to the
// NVM Express Base Specification, revision 1.4 (2019-06-10). Only what uldd uses
// is spelled out; every layout is pinned with static_asserts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::nvme {

// --- Controller registers, §3.1 (offsets into BAR0) -------------------------
inline constexpr size_t kRegCap = 0x00;    // 64-bit Controller Capabilities
inline constexpr size_t kRegVs = 0x08;     // Version
inline constexpr size_t kRegIntms = 0x0C;  // Interrupt Mask Set
inline constexpr size_t kRegIntmc = 0x10;  // Interrupt Mask Clear
inline constexpr size_t kRegCc = 0x14;     // Controller Configuration
inline constexpr size_t kRegCsts = 0x1C;   // Controller Status
inline constexpr size_t kRegAqa = 0x24;    // Admin Queue Attributes
inline constexpr size_t kRegAsq = 0x28;    // 64-bit Admin SQ Base Address
inline constexpr size_t kRegAcq = 0x30;    // 64-bit Admin CQ Base Address
inline constexpr size_t kDoorbellBase = 0x1000;  // §3.1.24-25

// Doorbell offsets with CAP.DSTRD = `dstrd` (stride 4 << dstrd bytes), §3.1.24.
inline constexpr size_t sq_tail_doorbell(uint32_t qid, uint32_t dstrd = 0) {
  return kDoorbellBase + (2 * qid) * (size_t{4} << dstrd);
}
inline constexpr size_t cq_head_doorbell(uint32_t qid, uint32_t dstrd = 0) {
  return kDoorbellBase + (2 * qid + 1) * (size_t{4} << dstrd);
}

// CAP fields, §3.1.1.
namespace cap {
inline constexpr uint64_t mqes(uint64_t c) { return c & 0xFFFF; }          // max queue entries, 0's based
inline constexpr uint64_t cqr(uint64_t c) { return (c >> 16) & 1; }        // contiguous queues required
inline constexpr uint64_t to(uint64_t c) { return (c >> 24) & 0xFF; }      // ready timeout, 500 ms units
inline constexpr uint64_t dstrd(uint64_t c) { return (c >> 32) & 0xF; }    // doorbell stride
inline constexpr uint64_t css(uint64_t c) { return (c >> 37) & 0xFF; }     // command sets; bit 0 = NVM
inline constexpr uint64_t mpsmin(uint64_t c) { return (c >> 48) & 0xF; }   // 2^(12+x) bytes
inline constexpr uint64_t mpsmax(uint64_t c) { return (c >> 52) & 0xF; }
inline constexpr uint64_t make(uint16_t mqes, bool cqr, uint8_t to, uint8_t dstrd) {
  return uint64_t{mqes} | (uint64_t{cqr} << 16) | (uint64_t{to} << 24) | (uint64_t{dstrd} << 32) |
         (uint64_t{1} << 37);  // CSS bit 0: NVM command set; MPSMIN = MPSMAX = 0 (4 KiB)
}
}  // namespace cap

// CC fields, §3.1.5.
namespace cc {
inline constexpr uint32_t kEnable = 1u << 0;
inline constexpr uint32_t css(uint32_t c) { return (c >> 4) & 0x7; }
inline constexpr uint32_t mps(uint32_t c) { return (c >> 7) & 0xF; }       // page = 2^(12+mps)
inline constexpr uint32_t shn(uint32_t c) { return (c >> 14) & 0x3; }      // shutdown notification
inline constexpr uint32_t iosqes(uint32_t c) { return (c >> 16) & 0xF; }   // log2 SQ entry size (6)
inline constexpr uint32_t iocqes(uint32_t c) { return (c >> 20) & 0xF; }   // log2 CQ entry size (4)
inline constexpr uint32_t make(uint32_t mps, uint32_t iosqes, uint32_t iocqes) {
  return kEnable | (mps << 7) | (iosqes << 16) | (iocqes << 20);
}
}  // namespace cc

// CSTS fields, §3.1.6.
namespace csts {
inline constexpr uint32_t kReady = 1u << 0;
inline constexpr uint32_t kFatal = 1u << 1;  // controller fatal status
inline constexpr uint32_t kShutdownComplete = 2u << 2;  // SHST = 10b
}  // namespace csts

// AQA fields, §3.1.8 (both 0's based).
namespace aqa {
inline constexpr uint32_t asqs(uint32_t a) { return a & 0xFFF; }
inline constexpr uint32_t acqs(uint32_t a) { return (a >> 16) & 0xFFF; }
inline constexpr uint32_t make(uint32_t sq_entries, uint32_t cq_entries) {
  return (sq_entries - 1) | ((cq_entries - 1) << 16);
}
}  // namespace aqa

inline constexpr uint32_t kVersion14 = 0x00010400;  // VS for 1.4.0, §3.1.2

// --- Queue entries, §4.2 and §4.6 -----------------------------------------
struct SubmissionEntry {
  uint8_t opcode;     // CDW0 7:0
  uint8_t flags;      // CDW0 15:8: FUSE 9:8, PSDT 15:14 (0 = PRPs)
  uint16_t cid;       // CDW0 31:16, command identifier
  uint32_t nsid;      // namespace id
  uint32_t cdw2;
  uint32_t cdw3;
  uint64_t mptr;      // metadata pointer
  uint64_t prp1;      // data pointer: PRP entry 1
  uint64_t prp2;      // data pointer: PRP entry 2 or PRP list pointer
  uint32_t cdw10;
  uint32_t cdw11;
  uint32_t cdw12;
  uint32_t cdw13;
  uint32_t cdw14;
  uint32_t cdw15;
};
static_assert(sizeof(SubmissionEntry) == 64);  // §4.2, Figure 105
static_assert(offsetof(SubmissionEntry, cid) == 2);
static_assert(offsetof(SubmissionEntry, nsid) == 4);
static_assert(offsetof(SubmissionEntry, mptr) == 16);
static_assert(offsetof(SubmissionEntry, prp1) == 24);
static_assert(offsetof(SubmissionEntry, prp2) == 32);
static_assert(offsetof(SubmissionEntry, cdw10) == 40);
static_assert(offsetof(SubmissionEntry, cdw15) == 60);

struct CompletionEntry {
  uint32_t dw0;       // command specific
  uint32_t dw1;       // reserved
  uint16_t sq_head;   // SQ head pointer as the controller has consumed it
  uint16_t sq_id;     // SQ the command came from
  uint16_t cid;       // command identifier
  uint16_t status;    // bit 0: phase tag; 15:1 status field (§4.6.1)
};
static_assert(sizeof(CompletionEntry) == 16);  // §4.6, Figure 121
static_assert(offsetof(CompletionEntry, sq_head) == 8);
static_assert(offsetof(CompletionEntry, sq_id) == 10);
static_assert(offsetof(CompletionEntry, cid) == 12);
static_assert(offsetof(CompletionEntry, status) == 14);

// Status field (CQE DW3 31:17, i.e. `status >> 1`), §4.6.1.
namespace status {
inline constexpr uint16_t kPhase = 1;
inline constexpr uint16_t code(uint16_t s) { return (s >> 1) & 0xFF; }       // SC
inline constexpr uint16_t type(uint16_t s) { return (s >> 9) & 0x7; }        // SCT
inline constexpr uint16_t dnr(uint16_t s) { return (s >> 15) & 1; }          // do not retry
// Builds the 15-bit status field (without phase) already shifted into place.
inline constexpr uint16_t make(uint8_t sct, uint8_t sc, bool dnr = false) {
  return static_cast<uint16_t>((uint16_t{sc} << 1) | (uint16_t{sct} << 9) | (uint16_t{dnr} << 15));
}
inline constexpr uint8_t kTypeGeneric = 0;
inline constexpr uint8_t kTypeCommandSpecific = 1;
inline constexpr uint8_t kTypeMedia = 2;
// Generic command status, §4.6.1.2.1
inline constexpr uint8_t kSuccess = 0x00;
inline constexpr uint8_t kInvalidOpcode = 0x01;
inline constexpr uint8_t kInvalidField = 0x02;
inline constexpr uint8_t kDataTransferError = 0x04;
inline constexpr uint8_t kInternalError = 0x06;
inline constexpr uint8_t kInvalidNamespace = 0x0B;
inline constexpr uint8_t kLbaOutOfRange = 0x80;
// Command specific status, §5 per command
inline constexpr uint8_t kCompletionQueueInvalid = 0x00;
inline constexpr uint8_t kInvalidQueueIdentifier = 0x01;
inline constexpr uint8_t kInvalidQueueSize = 0x02;
inline constexpr uint8_t kInvalidQueueDeletion = 0x0C;
// Media and data integrity errors, §4.6.1.2.4
inline constexpr uint8_t kWriteFault = 0x80;
inline constexpr uint8_t kUnrecoveredReadError = 0x81;
}  // namespace status

// --- Opcodes ---------------------------------------------------------------
namespace admin {  // §5, Figure 139
inline constexpr uint8_t kDeleteIoSq = 0x00;
inline constexpr uint8_t kCreateIoSq = 0x01;
inline constexpr uint8_t kGetLogPage = 0x02;
inline constexpr uint8_t kDeleteIoCq = 0x04;
inline constexpr uint8_t kCreateIoCq = 0x05;
inline constexpr uint8_t kIdentify = 0x06;
inline constexpr uint8_t kAbort = 0x08;
inline constexpr uint8_t kSetFeatures = 0x09;
inline constexpr uint8_t kGetFeatures = 0x0A;
}  // namespace admin

namespace io {  // NVM command set, §6, Figure 346
inline constexpr uint8_t kFlush = 0x00;
inline constexpr uint8_t kWrite = 0x01;
inline constexpr uint8_t kRead = 0x02;
inline constexpr uint8_t kDatasetManagement = 0x09;
}  // namespace io

// Identify CNS values, §5.15.1 Figure 244.
inline constexpr uint32_t kCnsNamespace = 0x00;
inline constexpr uint32_t kCnsController = 0x01;
inline constexpr uint32_t kCnsActiveNamespaces = 0x02;

// Feature identifiers, §5.21.1.
inline constexpr uint8_t kFeatureNumberOfQueues = 0x07;       // §5.21.1.7
inline constexpr uint8_t kFeatureInterruptCoalescing = 0x08;  // §5.21.1.8: THR 7:0 (0's based), TIME 15:8 (100 us)
inline constexpr uint8_t kFeatureVolatileWriteCache = 0x06;

// Create I/O CQ CDW11, §5.3: PC bit 0, IEN bit 1, IV 31:16.
// Create I/O SQ CDW11, §5.4: PC bit 0, QPRIO 2:1, CQID 31:16.
// Both: CDW10 QSIZE 31:16 (0's based), QID 15:0.
inline constexpr uint32_t queue_cdw10(uint16_t qid, uint32_t entries) { return qid | ((entries - 1) << 16); }

// --- Identify data structures, §5.15.2 --------------------------------------
struct IdentifyController {
  uint16_t vid;           // 0: PCI vendor id
  uint16_t ssvid;         // 2
  char sn[20];            // 4: serial number, ASCII, space padded
  char mn[40];            // 24: model number
  char fr[8];             // 64: firmware revision
  uint8_t rab;            // 72
  uint8_t ieee[3];        // 73
  uint8_t cmic;           // 76
  uint8_t mdts;           // 77: max data transfer, 2^mdts * min page size; 0 = no limit
  uint16_t cntlid;        // 78
  uint32_t ver;           // 80
  uint8_t reserved84[512 - 84];
  uint8_t sqes;           // 512: 3:0 required, 7:4 max log2 SQ entry size
  uint8_t cqes;           // 513
  uint16_t maxcmd;        // 514
  uint32_t nn;            // 516: number of namespaces
  uint16_t oncs;          // 520: optional NVM commands (bit 2 = DSM)
  uint16_t fuses;         // 522
  uint8_t fna;            // 524
  uint8_t vwc;            // 525: volatile write cache present (bit 0)
  uint8_t reserved526[4096 - 526];
};
static_assert(sizeof(IdentifyController) == 4096);
static_assert(offsetof(IdentifyController, sn) == 4);
static_assert(offsetof(IdentifyController, mn) == 24);
static_assert(offsetof(IdentifyController, mdts) == 77);
static_assert(offsetof(IdentifyController, ver) == 80);
static_assert(offsetof(IdentifyController, sqes) == 512);
static_assert(offsetof(IdentifyController, nn) == 516);
static_assert(offsetof(IdentifyController, oncs) == 520);
static_assert(offsetof(IdentifyController, vwc) == 525);

struct LbaFormat {
  uint16_t ms;     // metadata size
  uint8_t lbads;   // log2 of LBA data size
  uint8_t rp;      // relative performance (bits 1:0)
};
static_assert(sizeof(LbaFormat) == 4);

struct IdentifyNamespace {
  uint64_t nsze;   // 0: size in logical blocks
  uint64_t ncap;   // 8
  uint64_t nuse;   // 16
  uint8_t nsfeat;  // 24
  uint8_t nlbaf;   // 25: number of LBA formats, 0's based
  uint8_t flbas;   // 26: 3:0 index of the format in use
  uint8_t reserved27[128 - 27];
  LbaFormat lbaf[16];  // 128
  uint8_t reserved192[4096 - 192];
};
static_assert(sizeof(IdentifyNamespace) == 4096);
static_assert(offsetof(IdentifyNamespace, nlbaf) == 25);
static_assert(offsetof(IdentifyNamespace, flbas) == 26);
static_assert(offsetof(IdentifyNamespace, lbaf) == 128);

inline constexpr uint32_t kPageSize = 4096;  // CC.MPS = 0, the only page size uldd uses

}  // namespace uldd::nvme
