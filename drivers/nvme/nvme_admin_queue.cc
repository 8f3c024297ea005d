#include "drivers/nvme/nvme_admin_queue.h"

#include <atomic>
#include <cstring>
#include <thread>

#include "drivers/nvme/nvme_completion.h"

namespace uldd::drivers {

NvmeAdminQueue::NvmeAdminQueue(uio::UioDevice* dev, uint64_t sq_iova, uint64_t cq_iova,
                               uint32_t depth, uint32_t dstrd)
    : dev_(dev),
      sq_(dev->dma().at<nvme::SubmissionEntry>(sq_iova)),
      cq_(dev->dma().at<nvme::CompletionEntry>(cq_iova)),
      depth_(depth),
      dstrd_(dstrd) {}

Result<nvme::CompletionEntry> NvmeAdminQueue::execute(nvme::SubmissionEntry sqe,
                                                      std::chrono::milliseconds timeout,
                                                      const std::string& what) {
  sqe.cid = next_cid_++;
  std::memcpy(&sq_[sq_tail_], &sqe, sizeof sqe);
  sq_tail_ = (sq_tail_ + 1) % depth_;
  // The SQE must be visible in DMA memory before the doorbell is.
  std::atomic_thread_fence(std::memory_order_release);
  dev_->write32(nvme::sq_tail_doorbell(0, dstrd_), sq_tail_);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(1);
  for (;;) {
    nvme::CompletionEntry c;
    if (take_completion(&cq_[cq_head_], phase_, &c)) {
      if (++cq_head_ == depth_) {
        cq_head_ = 0;
        phase_ ^= 1;
      }
      dev_->write32(nvme::cq_head_doorbell(0, dstrd_), cq_head_);
      if (c.cid != sqe.cid || c.sq_id != 0) {
        ++stray_;
        continue;
      }
      uint16_t st = c.status;
      if (nvme::status::code(st) != nvme::status::kSuccess ||
          nvme::status::type(st) != nvme::status::kTypeGeneric)
        return plain_error(what + ": controller returned status type " +
                           std::to_string(nvme::status::type(st)) + " code 0x" +
                           to_hex(nvme::status::code(st)));
      return c;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return plain_error(what + ": no completion within " + std::to_string(timeout.count()) +
                         " ms");
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::microseconds(1000)) pause *= 2;
  }
}

}  // namespace uldd::drivers
