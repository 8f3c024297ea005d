// FakeBlockClient: an in-memory disk behind the BlockClient interface, for the
// frontend tests only (unit and e2e-disk), so FUSE and NBD can be exercised
// with the real kernel and real tools without a driver or a device model.
//
// It checks the BlockClient contract (sector alignment, range) and counts
// violations instead of trusting the frontends. Completions run inline, or on
// a completion thread of its own (like the shim's) with an optional random
// delay, so requests overlap and finish out of order. Tests can hold
// completions and release them in reverse order, and inject an error status.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "shim/block_client.h"

namespace uldd::shim::testing {

class FakeBlockClient : public BlockClient {
 public:
  enum class Completion { kInline, kThread };

  explicit FakeBlockClient(uint64_t size, Completion completion = Completion::kThread,
                           unsigned max_delay_us = 0)
      : data_(size), completion_(completion), max_delay_us_(max_delay_us) {
    if (completion_ == Completion::kThread) worker_ = std::thread([this] { run(); });
  }
  ~FakeBlockClient() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      for (auto it = held_.rbegin(); it != held_.rend(); ++it) queue_.push_back(std::move(*it));
      held_.clear();
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  uint64_t size_bytes() const override { return data_.size(); }

  void read(uint64_t offset, std::span<std::byte> dest, BlockDone done) override {
    ++reads;
    submit([this, offset, dest, done = std::move(done)] {
      abi::BlockStatus s = check(offset, dest.size());
      if (s == abi::BlockStatus::kOk) {
        std::lock_guard lock(data_mutex_);
        std::memcpy(dest.data(), data_.data() + offset, dest.size());
      }
      done(s);
    });
  }

  void write(uint64_t offset, std::span<const std::byte> data, BlockDone done) override {
    ++writes;
    submit([this, offset, data, done = std::move(done)] {
      abi::BlockStatus s = check(offset, data.size());
      if (s == abi::BlockStatus::kOk) {
        std::lock_guard lock(data_mutex_);
        std::memcpy(data_.data() + offset, data.data(), data.size());
      }
      done(s);
    });
  }

  void flush(BlockDone done) override {
    ++flushes;
    submit([this, done = std::move(done)] { done(injected_.load()); });
  }

  // --- test controls ---
  // Every later request completes with `status` (kOk: back to normal).
  void inject(abi::BlockStatus status) { injected_ = status; }
  // While held, requests are queued, not executed.
  void hold() {
    std::lock_guard lock(mutex_);
    holding_ = true;
  }
  size_t held_count() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  // Executes the held requests, last submitted first.
  void release_reversed() {
    {
      std::lock_guard lock(mutex_);
      holding_ = false;
      for (auto it = held_.rbegin(); it != held_.rend(); ++it) queue_.push_back(std::move(*it));
      held_.clear();
    }
    cv_.notify_all();
  }

  std::vector<std::byte> snapshot(uint64_t offset, uint64_t length) {
    std::lock_guard lock(data_mutex_);
    return {data_.begin() + offset, data_.begin() + offset + length};
  }
  void fill(uint64_t offset, std::span<const std::byte> bytes) {
    std::lock_guard lock(data_mutex_);
    std::copy(bytes.begin(), bytes.end(), data_.begin() + offset);
  }

  std::atomic<uint64_t> reads{0}, writes{0}, flushes{0}, violations{0};

 private:
  abi::BlockStatus check(uint64_t offset, uint64_t length) {
    if (offset % sector_size() != 0 || length % sector_size() != 0 || offset > data_.size() ||
        length > data_.size() - offset) {
      ++violations;
      return abi::BlockStatus::kInvalid;
    }
    return injected_.load();
  }

  void submit(std::function<void()> op) {
    {
      std::lock_guard lock(mutex_);
      if (holding_) {
        held_.push_back(std::move(op));
        return;
      }
      if (completion_ == Completion::kThread) {
        queue_.push_back(std::move(op));
        cv_.notify_all();
        return;
      }
    }
    op();
  }

  void run() {
    std::mt19937 rng(42);
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto op = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (max_delay_us_ != 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % max_delay_us_));
      }
      op();
      lock.lock();
    }
  }

  std::mutex data_mutex_;
  std::vector<std::byte> data_;
  const Completion completion_;
  const unsigned max_delay_us_;
  std::atomic<abi::BlockStatus> injected_{abi::BlockStatus::kOk};

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::function<void()>> held_;
  bool holding_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace uldd::shim::testing
