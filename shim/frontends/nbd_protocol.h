// The NBD wire protocol as the NBD server speaks it: magics, flag bits, option
// and command numbers, and the fixed-size headers, pinned with static_asserts.
// Source: "The NBD protocol", doc/proto.md of github.com/NetworkBlockDevice/nbd
// (section names cited per block below). Every multi-byte field travels in
// network byte order; the structs hold wire bytes, convert with be()/from_be().
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::shim::nbd {

// Byte order conversion (the protocol is big-endian; this host is not).
template <class T>
constexpr T be(T v) {
  if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
  if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
  if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(v));
}
template <class T>
constexpr T from_be(T v) {
  return be(v);
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);

// "Newstyle negotiation": server greeting magics; "Option haggling": replies.
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943;       // "NBDMAGIC" (INIT_PASSWD)
inline constexpr uint64_t kIHaveOpt = 0x49484156454f5054;       // "IHAVEOPT"
inline constexpr uint64_t kOptReplyMagic = 0x0003e889045565a9;  // option reply
// "Transmission": request and simple reply magics.
inline constexpr uint32_t kRequestMagic = 0x25609513;
inline constexpr uint32_t kSimpleReplyMagic = 0x67446698;
// "Newstyle negotiation": zero padding after NBD_OPT_EXPORT_NAME's reply.
inline constexpr size_t kExportNameZeroPad = 124;

// "Values / Handshake flags" (16 bits, server -> client).
inline constexpr uint16_t kFlagFixedNewstyle = 1 << 0;
inline constexpr uint16_t kFlagNoZeroes = 1 << 1;
// "Values / Client flags" (32 bits, client -> server).
inline constexpr uint32_t kClientFlagFixedNewstyle = 1 << 0;
inline constexpr uint32_t kClientFlagNoZeroes = 1 << 1;

// "Values / Transmission flags" (16 bits).
inline constexpr uint16_t kFlagHasFlags = 1 << 0;
inline constexpr uint16_t kFlagReadOnly = 1 << 1;
inline constexpr uint16_t kFlagSendFlush = 1 << 2;
inline constexpr uint16_t kFlagSendFua = 1 << 3;
inline constexpr uint16_t kFlagRotational = 1 << 4;
inline constexpr uint16_t kFlagSendTrim = 1 << 5;
inline constexpr uint16_t kFlagSendWriteZeroes = 1 << 6;
inline constexpr uint16_t kFlagSendDf = 1 << 7;
inline constexpr uint16_t kFlagCanMultiConn = 1 << 8;

// "Values / Option types".
enum Option : uint32_t {
  kOptExportName = 1,
  kOptAbort = 2,
  kOptList = 3,
  kOptStartTls = 5,
  kOptInfo = 6,
  kOptGo = 7,
  kOptStructuredReply = 8,
  kOptListMetaContext = 9,
  kOptSetMetaContext = 10,
};

// "Values / Option reply types"; errors have bit 31 set.
enum Reply : uint32_t {
  kRepAck = 1,
  kRepServer = 2,
  kRepInfo = 3,
  kRepErrUnsup = (1u << 31) + 1,
  kRepErrPolicy = (1u << 31) + 2,
  kRepErrInvalid = (1u << 31) + 3,
  kRepErrPlatform = (1u << 31) + 4,
  kRepErrTlsReqd = (1u << 31) + 5,
  kRepErrUnknown = (1u << 31) + 6,
  kRepErrShutdown = (1u << 31) + 7,
  kRepErrBlockSizeReqd = (1u << 31) + 8,
  kRepErrTooBig = (1u << 31) + 9,
};

// "Option types / NBD_OPT_INFO and NBD_OPT_GO": information types.
enum Info : uint16_t {
  kInfoExport = 0,
  kInfoName = 1,
  kInfoDescription = 2,
  kInfoBlockSize = 3,
};

// "Values / Request types".
enum Command : uint16_t {
  kCmdRead = 0,
  kCmdWrite = 1,
  kCmdDisc = 2,
  kCmdFlush = 3,
  kCmdTrim = 4,
  kCmdCache = 5,
  kCmdWriteZeroes = 6,
  kCmdBlockStatus = 7,
};
// "Values / Command flags".
inline constexpr uint16_t kCmdFlagFua = 1 << 0;

// "Values / Error values": errno numbers fixed by the protocol, not the host.
enum WireError : uint32_t {
  kOk = 0,
  kEperm = 1,
  kEio = 5,
  kEnomem = 12,
  kEinval = 22,
  kEnospc = 28,
  kEoverflow = 75,
  kEnotsup = 95,
  kEshutdown = 108,
};

// "Block size constraints": what a server should accept at most without
// having advertised it; also our advertised maximum.
inline constexpr uint32_t kMaxPayload = 32u << 20;

#pragma pack(push, 1)

// "Newstyle negotiation": S: 64 bits NBDMAGIC, 64 bits IHAVEOPT, 16 bits
// handshake flags.
struct ServerGreeting {
  uint64_t nbd_magic;
  uint64_t ihaveopt;
  uint16_t handshake_flags;
};
static_assert(sizeof(ServerGreeting) == 18);
static_assert(offsetof(ServerGreeting, handshake_flags) == 16);

// "Option haggling": C: 64 bits IHAVEOPT, 32 bits option, 32 bits length of
// the option data, then the data.
struct OptionHeader {
  uint64_t magic;
  uint32_t option;
  uint32_t length;
};
static_assert(sizeof(OptionHeader) == 16);
static_assert(offsetof(OptionHeader, option) == 8);
static_assert(offsetof(OptionHeader, length) == 12);

// "Option haggling": S: 64 bits 0x3e889045565a9, 32 bits option, 32 bits
// reply type, 32 bits length of the reply data, then the data.
struct OptionReplyHeader {
  uint64_t magic;
  uint32_t option;
  uint32_t reply_type;
  uint32_t length;
};
static_assert(sizeof(OptionReplyHeader) == 20);
static_assert(offsetof(OptionReplyHeader, option) == 8);
static_assert(offsetof(OptionReplyHeader, reply_type) == 12);
static_assert(offsetof(OptionReplyHeader, length) == 16);

// "NBD_REP_INFO / NBD_INFO_EXPORT": 16 bits type, 64 bits size, 16 bits
// transmission flags.
struct InfoExportData {
  uint16_t type;
  uint64_t export_size;
  uint16_t transmission_flags;
};
static_assert(sizeof(InfoExportData) == 12);
static_assert(offsetof(InfoExportData, export_size) == 2);
static_assert(offsetof(InfoExportData, transmission_flags) == 10);

// "NBD_REP_INFO / NBD_INFO_BLOCK_SIZE": 16 bits type, 32 bits minimum,
// preferred and maximum block size.
struct InfoBlockSizeData {
  uint16_t type;
  uint32_t minimum;
  uint32_t preferred;
  uint32_t maximum;
};
static_assert(sizeof(InfoBlockSizeData) == 14);
static_assert(offsetof(InfoBlockSizeData, minimum) == 2);
static_assert(offsetof(InfoBlockSizeData, preferred) == 6);
static_assert(offsetof(InfoBlockSizeData, maximum) == 10);

// "Option types / NBD_OPT_EXPORT_NAME": S: 64 bits size, 16 bits
// transmission flags, then 124 zero bytes unless NO_ZEROES was agreed.
struct ExportNameReply {
  uint64_t export_size;
  uint16_t transmission_flags;
};
static_assert(sizeof(ExportNameReply) == 10);

// "Transmission / Request message": 32 bits magic, 16 bits command flags,
// 16 bits type, 64 bits cookie (handle), 64 bits offset, 32 bits length.
struct Request {
  uint32_t magic;
  uint16_t flags;
  uint16_t type;
  uint64_t cookie;  // opaque: echoed back byte for byte, never byte-swapped
  uint64_t offset;
  uint32_t length;
};
static_assert(sizeof(Request) == 28);
static_assert(offsetof(Request, flags) == 4);
static_assert(offsetof(Request, type) == 6);
static_assert(offsetof(Request, cookie) == 8);
static_assert(offsetof(Request, offset) == 16);
static_assert(offsetof(Request, length) == 24);

// "Transmission / Simple reply message": 32 bits magic, 32 bits error,
// 64 bits cookie; read data follows when error is zero.
struct SimpleReply {
  uint32_t magic;
  uint32_t error;
  uint64_t cookie;
};
static_assert(sizeof(SimpleReply) == 16);
static_assert(offsetof(SimpleReply, error) == 4);
static_assert(offsetof(SimpleReply, cookie) == 8);

#pragma pack(pop)

}  // namespace uldd::shim::nbd
