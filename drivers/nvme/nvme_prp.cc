#include "drivers/nvme/nvme_prp.h"

#include "devices/nvme/nvme_spec.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kPage = nvme::kPageSize;

}  // namespace

uint32_t prp_list_entries(uint64_t iova, uint32_t len) {
  uint64_t first = kPage - (iova % kPage);  // bytes PRP1 covers
  if (len <= first) return 0;
  uint64_t rest_pages = (len - first + kPage - 1) / kPage;
  return rest_pages <= 1 ? 0 : static_cast<uint32_t>(rest_pages);
}

PrpPair build_prps(uio::DmaRegion& dma, uint64_t iova, uint32_t len, uint64_t list_iova) {
  PrpPair p;
  p.prp1 = dma.device_address(iova);
  uint64_t first = kPage - (iova % kPage);
  if (len <= first) return p;
  uint64_t next_page = iova - (iova % kPage) + kPage;
  uint64_t rest_pages = (len - first + kPage - 1) / kPage;
  if (rest_pages == 1) {
    p.prp2 = dma.device_address(next_page);
    return p;
  }
  // §4.3: entries of a PRP list have a zero page offset; PRP2 points at the
  // list, which lies within one page.
  auto* list = dma.at<uint64_t>(list_iova);
  for (uint64_t k = 0; k < rest_pages; ++k) list[k] = dma.device_address(next_page + k * kPage);
  p.prp2 = dma.device_address(list_iova);
  return p;
}

}  // namespace uldd::drivers
