// NvmeAdminQueue: the admin submission/completion queue pair (qid 0), used
// only during bring-up, one command at a time. Admin commands are synchronous:
// the driver polls the admin CQ with a deadline instead of waiting for an
// interrupt, so bring-up neither depends on interrupt routing nor races with
// the I/O interrupt handling of the event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "devices/nvme/nvme_spec.h"
#include "uio/uio_device.h"

namespace uldd::drivers {

class NvmeAdminQueue {
 public:
  NvmeAdminQueue() = default;
  // The queues live at sq_iova/cq_iova of `dev`'s DMA region (depth entries
  // each, zeroed by the caller before the controller is enabled).
  NvmeAdminQueue(uio::UioDevice* dev, uint64_t sq_iova, uint64_t cq_iova, uint32_t depth,
                 uint32_t dstrd);

  // Submits `sqe` (its cid is assigned here), rings the doorbell and waits up
  // to `timeout` for its completion. A completion with an error status is an
  // Error naming `what` and the status; so is the timeout.
  Result<nvme::CompletionEntry> execute(nvme::SubmissionEntry sqe,
                                        std::chrono::milliseconds timeout, const std::string& what);

  // Completions for other cids seen while waiting (a misbehaving device).
  uint64_t stray_completions() const { return stray_; }

 private:
  uio::UioDevice* dev_ = nullptr;
  nvme::SubmissionEntry* sq_ = nullptr;
  nvme::CompletionEntry* cq_ = nullptr;
  uint32_t depth_ = 0;
  uint32_t dstrd_ = 0;
  uint32_t sq_tail_ = 0;
  uint32_t cq_head_ = 0;
  uint16_t phase_ = 1;
  uint16_t next_cid_ = 0;
  uint64_t stray_ = 0;
};

}  // namespace uldd::drivers
