// check_io_command: see nvme_command_check.h. Deliberately not sharing code
// with NvmeDriver::submit_now / build_prps: the point is a second derivation.
#include "drivers/nvme/nvme_command_check.h"

#include <fmt/format.h>

namespace uldd::drivers {
namespace {

constexpr uint64_t kPage = nvme::kPageSize;

struct ExpectedCommand {
  uint8_t opcode = 0;
  uint64_t prp1 = 0;
  uint64_t prp2 = 0;
  uint32_t cdw10 = 0;
  uint32_t cdw11 = 0;
  uint32_t cdw12 = 0;
  uint64_t list_pages = 0;  // PRP list entries (0: none)
  uint64_t first_list_page_iova = 0;
};

bool expect(const abi::BlockDescriptor& d, const uio::DmaRegion& dma, uint64_t list_iova,
            ExpectedCommand* x) {
  switch (static_cast<abi::BlockOp>(d.op)) {
    case abi::BlockOp::kFlush:
      x->opcode = nvme::io::kFlush;
      return true;
    case abi::BlockOp::kWrite:
      x->opcode = nvme::io::kWrite;
      break;
    case abi::BlockOp::kRead:
      x->opcode = nvme::io::kRead;
      break;
    default:
      return false;
  }
  x->cdw10 = static_cast<uint32_t>(d.lba & 0xffff'ffffu);
  x->cdw11 = static_cast<uint32_t>(d.lba >> 32);
  x->cdw12 = d.len / abi::kSectorSize - 1;  // NLB is 0's based
  x->prp1 = dma.device_address(d.iova);
  uint64_t page_start = d.iova & ~(kPage - 1);
  uint64_t end = d.iova + d.len;
  uint64_t pages = (end - page_start + kPage - 1) / kPage;  // pages the buffer touches
  if (pages == 2) {
    x->prp2 = dma.device_address(page_start + kPage);
  } else if (pages > 2) {
    x->prp2 = dma.device_address(list_iova);
    x->list_pages = pages - 1;
    x->first_list_page_iova = page_start + kPage;
  }
  return true;
}

template <class T>
std::string differs(const char* field, T got, T want) {
  return fmt::format("{} is {:#x}, the request needs {:#x}", field, static_cast<uint64_t>(got),
                     static_cast<uint64_t>(want));
}

}  // namespace

std::string check_io_command(const nvme::SubmissionEntry& e, const abi::BlockDescriptor& d,
                             uint16_t cid, uint32_t nsid, const uio::DmaRegion& dma,
                             uint64_t list_iova) {
  ExpectedCommand x;
  if (!expect(d, dma, list_iova, &x)) return fmt::format("request op {} is not a block op", d.op);
  if (e.opcode != x.opcode) return differs("opcode", e.opcode, x.opcode);
  if (e.cid != cid) return differs("command id", e.cid, cid);
  if (e.nsid != nsid) return differs("namespace id", e.nsid, nsid);
  if (e.flags != 0) return differs("CDW0 flags (fused / PSDT)", e.flags, uint8_t{0});
  if (e.mptr != 0) return differs("metadata pointer", e.mptr, uint64_t{0});
  if (e.prp1 != x.prp1) return differs("PRP1", e.prp1, x.prp1);
  if (e.prp2 != x.prp2) return differs("PRP2", e.prp2, x.prp2);
  if (e.cdw10 != x.cdw10) return differs("CDW10 (SLBA 31:0)", e.cdw10, x.cdw10);
  if (e.cdw11 != x.cdw11) return differs("CDW11 (SLBA 63:32)", e.cdw11, x.cdw11);
  if (e.cdw12 != x.cdw12) return differs("CDW12 (NLB)", e.cdw12, x.cdw12);
  if (e.cdw2 != 0 || e.cdw3 != 0 || e.cdw13 != 0 || e.cdw14 != 0 || e.cdw15 != 0)
    return "a reserved or unused dword (CDW2/3/13/14/15) is not zero";
  const auto* list = dma.at<const uint64_t>(list_iova);
  for (uint64_t k = 0; k < x.list_pages; ++k) {
    uint64_t want = dma.device_address(x.first_list_page_iova + k * kPage);
    if (list[k] != want)
      return fmt::format("PRP list entry {} is {:#x}, the request needs {:#x}", k, list[k], want);
  }
  return {};
}

}  // namespace uldd::drivers
