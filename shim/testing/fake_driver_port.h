// FakeDriverPort: the driver's side of a DiskShim, driven by a test, behind
// the DriverPort seam — one fake for every shim test instead of one per file.
// It records every descriptor the shim hands over (`seen_`) and then, as the
// test says:
//   - auto-complete (default): executes it at once against an in-memory disk
//     (when given one; else it only echoes it) and posts the completion;
//   - hold (`hold_`): keeps it in `held_` until complete_held() /
//     complete_one() / release_held() — a lost completion, a hung device, or
//     a test's own out-of-order "device" thread;
//   - complete with a status: fail_next() scripts the status and flags of the
//     next completions (an error once, then success), `fail_status_` fails
//     every one after that, `duplicate_` posts each completion twice,
//     push_raw() posts anything at all (a hostile driver);
//   - crash(): a SIGKILLed driver — part of what it held reached the device,
//     no completion of it is posted, and everything committed until reset()
//     is lost.
// Thread-safe (one mutex, `mu_`, public for tests that inspect the vectors).
// Header-only; for tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <span>
#include <vector>

#include "abi/block_descriptor.h"
#include "common/event_fd.h"
#include "shim/driver_port.h"

namespace uldd::shim::fakes {

using abi::BlockDescriptor;

class FakeDriverPort final : public DriverPort {
 public:
  // `dma` and `disk`: executes reads and writes (the descriptor's IOVA is an
  // offset into `dma`); without them completions only echo the descriptor.
  explicit FakeDriverPort(uint32_t submit_space, std::byte* dma = nullptr,
                          std::vector<std::byte>* disk = nullptr)
      : space_(submit_space), dma_(dma), disk_(disk) {
    wake_ = std::move(EventFd::create().value());
  }

  uint32_t submit_space() override { return space_; }
  void stage(uint32_t, const BlockDescriptor& d) override {
    std::lock_guard l(mu_);
    staged_.push_back(d);
  }
  void commit(uint32_t count) override {
    std::lock_guard l(mu_);
    commits_++;
    EXPECT_EQ(count, staged_.size());
    for (auto& d : staged_) {
      seen_.push_back(d);
      if (dead_) continue;  // a crashed driver loses what it is given
      if (hold_) {
        held_.push_back(d);
      } else {
        serve(d);
      }
    }
    staged_.clear();
    wake_.signal();
  }
  uint32_t reap(std::span<BlockDescriptor> out) override {
    std::lock_guard l(mu_);
    uint32_t n = 0;
    while (n < out.size() && !done_.empty()) {
      out[n++] = done_.front();
      done_.pop_front();
    }
    return n;
  }
  int wake_fd() const override { return wake_.fd(); }
  void on_wake() override { wake_.drain(); }
  bool prepare_sleep(bool) override {
    std::lock_guard l(mu_);
    return !done_.empty();
  }
  void finish_sleep() override {}
  bool protocol_violated() const override { return violated_.load(); }
  // The dead driver's descriptors vanish with it; its posted completions stay.
  void reset() override {
    std::lock_guard l(mu_);
    held_.clear();
    dead_ = false;
    resets_++;
  }

  // The next completions carry these statuses and flags, one each, in order
  // (then `fail_status_`).
  void fail_next(abi::BlockStatus status, uint32_t count = 1, uint32_t flags = 0) {
    std::lock_guard l(mu_);
    for (uint32_t i = 0; i < count; ++i) script_.push_back({static_cast<uint16_t>(status), flags});
  }
  // Completes everything held (executing it) and goes back to auto-complete.
  void release_held() {
    std::lock_guard l(mu_);
    for (auto& d : held_) serve(d);
    held_.clear();
    hold_ = false;
    wake_.signal();
  }
  // Completes everything held; stays in hold mode.
  void complete_held() {
    std::lock_guard l(mu_);
    for (auto& d : held_) serve(d);
    held_.clear();
    wake_.signal();
  }
  // Completes one held descriptor picked by `rng` (out of order, as several
  // NVMe queues would); false if nothing is held.
  bool complete_one(std::mt19937& rng) {
    std::lock_guard l(mu_);
    if (held_.empty()) return false;
    size_t i = rng() % held_.size();
    BlockDescriptor d = held_[i];
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    serve(d);
    wake_.signal();
    return true;
  }
  // SIGKILL: some of what the driver holds was executed by the device (the
  // completion is lost), the rest never will be; until reset() it takes nothing.
  void crash(std::mt19937& rng) {
    std::lock_guard l(mu_);
    for (auto& d : held_)
      if (rng() % 2 == 0) execute(d);
    held_.clear();
    dead_ = true;
  }
  void push_raw(const BlockDescriptor& d) {
    std::lock_guard l(mu_);
    done_.push_back(d);
    wake_.signal();
  }
  size_t held() {
    std::lock_guard l(mu_);
    return held_.size();
  }
  size_t seen() {
    std::lock_guard l(mu_);
    return seen_.size();
  }

  std::mutex mu_;
  std::atomic<bool> violated_{false};
  std::atomic<bool> hold_{false};
  uint16_t fail_status_ = 0;  // status of every completion once the script is used up
  bool duplicate_ = false;
  std::vector<BlockDescriptor> seen_, held_, staged_;
  std::deque<BlockDescriptor> done_;
  int commits_ = 0;
  int resets_ = 0;

 private:
  struct Scripted {
    uint16_t status;
    uint32_t flags;
  };
  void execute(const BlockDescriptor& d) {
    if (dma_ == nullptr || disk_ == nullptr) return;
    std::byte* buf = dma_ + d.iova;
    if (d.op == static_cast<uint16_t>(abi::BlockOp::kWrite))
      std::memcpy(disk_->data() + d.lba * abi::kSectorSize, buf, d.len);
    if (d.op == static_cast<uint16_t>(abi::BlockOp::kRead))
      std::memcpy(buf, disk_->data() + d.lba * abi::kSectorSize, d.len);
  }
  // Executes `d` unless it is scripted to fail (a failed command moves no
  // data) and posts its completion.
  void serve(BlockDescriptor d) {
    d.status = fail_status_;
    d.flags = 0;
    if (!script_.empty()) {
      d.status = script_.front().status;
      d.flags = script_.front().flags;
      script_.pop_front();
    }
    if (d.status == 0) execute(d);
    done_.push_back(d);
    if (duplicate_) done_.push_back(d);
  }

  const uint32_t space_;
  std::byte* dma_;
  std::vector<std::byte>* disk_;
  std::deque<Scripted> script_;
  bool dead_ = false;
  EventFd wake_;
};

}  // namespace uldd::shim::fakes
