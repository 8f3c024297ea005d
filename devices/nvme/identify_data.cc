#include "devices/nvme/identify_data.h"

#include <algorithm>
#include <cstring>

namespace uldd::nvme {
namespace {

// Identify strings are ASCII, left-justified and padded with spaces (§1.5).
template <size_t N>
void put_string(char (&field)[N], std::string_view s) {
  std::memset(field, ' ', N);
  std::memcpy(field, s.data(), std::min(N, s.size()));
}

constexpr size_t kCntrltypeOffset = 111;  // §5.15.2.2 Figure 247: CNTRLTYPE, 1 = I/O controller

}  // namespace

IdentifyController make_identify_controller(const IdentifyInputs& in) {
  IdentifyController id{};
  put_string(id.sn, in.serial);
  put_string(id.mn, in.model);
  put_string(id.fr, "0.1");
  id.mdts = kModelMdts;
  id.cntlid = 1;
  id.ver = kVersion14;
  id.reserved84[kCntrltypeOffset - 84] = 1;
  id.sqes = 0x66;  // required and maximum SQ entry size: 64 bytes
  id.cqes = 0x44;  // required and maximum CQ entry size: 16 bytes
  id.nn = 1;
  id.oncs = 1u << 2;  // Dataset Management
  id.vwc = 1;         // a volatile write cache (the host page cache) is present
  return id;
}

IdentifyNamespace make_identify_namespace(const IdentifyInputs& in) {
  IdentifyNamespace ns{};
  ns.nsze = in.blocks;
  ns.ncap = in.blocks;
  ns.nuse = in.blocks;
  ns.nlbaf = 0;  // one LBA format
  ns.flbas = 0;  // ... and it is in use
  ns.lbaf[0].lbads = static_cast<uint8_t>(in.lba_shift);
  return ns;
}

}  // namespace uldd::nvme
