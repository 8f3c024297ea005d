// UdpEchoWorkload: see udp_echo_workload.h.
#include "faultinject/campaign/udp_echo_workload.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {

using std::chrono::milliseconds;

UdpEchoWorkload::UdpEchoWorkload(std::string device, UniqueFd socket, const NicWorkload& config,
                                 uint64_t stream, std::chrono::steady_clock::time_point t0,
                                 std::string from, std::string to)
    : device_(std::move(device)),
      socket_(std::move(socket)),
      config_(config),
      t0_(t0),
      from_(std::move(from)),
      to_(std::move(to)),
      tracker_(config.size, stream),
      out_(tracker_.size()),
      in_(2048) {}

uint64_t UdpEchoWorkload::now_us() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0_)
          .count());
}

Status UdpEchoWorkload::wait_until_echoing(milliseconds timeout) {
  // A probe is a datagram of another stream (the tracker's would count it).
  EchoTracker probe(tracker_.size(), ~uint64_t{0});
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    probe.next(out_, 0);
    (void)::send(socket_.get(), out_.data(), out_.size(), 0);
    pollfd p{socket_.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      ssize_t n;
      bool got = false;
      while ((n = ::recv(socket_.get(), in_.data(), in_.size(), MSG_DONTWAIT)) > 0) got = true;
      if (got) {
        // Late probe echoes must not reach the tracker: wait them out.
        std::this_thread::sleep_for(milliseconds(200));
        while (::recv(socket_.get(), in_.data(), in_.size(), MSG_DONTWAIT) > 0) {
        }
        return {};
      }
    }
  }
  return plain_error("udp-echo on " + device_ + ": no echo from " + to_ + " within " +
                     std::to_string(timeout.count()) + " ms (from " + from_ + ")");
}

Status UdpEchoWorkload::start() {
  thread_ = std::thread([this] { run(); });
  return {};
}

void UdpEchoWorkload::receive_all(int32_t after_fault) {
  for (;;) {
    ssize_t n = ::recv(socket_.get(), in_.data(), in_.size(), MSG_DONTWAIT);
    if (n < 0) break;
    if (tracker_.on_echo(std::span<const uint8_t>(in_.data(), static_cast<size_t>(n)), now_us(),
                         after_fault))
      progress_.fetch_add(1, std::memory_order_relaxed);
  }
  tracker_.expire(now_us(), uint64_t{config_.timeout_ms} * 1000, after_fault);
}

void UdpEchoWorkload::drain(int32_t after_fault) {
  while (tracker_.outstanding() > 0) {
    pollfd p{socket_.get(), POLLIN, 0};
    ::poll(&p, 1, 10);
    receive_all(after_fault);
  }
}

void UdpEchoWorkload::run() {
  const uint64_t gap_us = 1'000'000 / std::max<uint32_t>(config_.rate, 1);
  uint64_t next_send_us = now_us();
  for (;;) {
    bool verify = false;
    int32_t after = -1;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      verify = verify_requested_;
      after = verify_after_fault_;
    }
    int32_t fault = last_fault_.load(std::memory_order_relaxed);
    if (verify) {
      drain(fault);
      last_fault_.store(after, std::memory_order_relaxed);
      std::vector<DataProblem> fresh;
      for (const EchoProblem& e : tracker_.take_new_corrupted())
        fresh.push_back(DataProblem{DataProblem::Kind::kCorrupted, e.seq, e.seq, e.seq,
                                    e.first_wrong_offset, e.after_fault, e.at_ms});
      ++verifications_;
      progress_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(mu_);
      verify_result_ = std::move(fresh);
      verify_requested_ = false;
      ++verify_done_count_;
      cv_.notify_all();
      if (stop_after_verify_) return;
      next_send_us = now_us();
      tracker_.resume(next_send_us);
      continue;
    }
    uint64_t now = now_us();
    if (now >= next_send_us && tracker_.outstanding() < config_.window) {
      uint64_t seq = tracker_.next(out_, now);
      ssize_t n = ::send(socket_.get(), out_.data(), out_.size(), 0);
      if (n == static_cast<ssize_t>(out_.size())) {
        next_send_us = std::max(next_send_us + gap_us, now > 10 * gap_us ? now - 10 * gap_us : 0);
      } else {
        tracker_.unsend(seq);  // not sent: the same number goes again
        ++send_errors_;
        next_send_us = now + 1000;
      }
    }
    // Wait for an echo until the next send is due (or 10 ms).
    now = now_us();
    uint64_t wait_us = next_send_us > now ? next_send_us - now : 0;
    if (tracker_.outstanding() >= config_.window) wait_us = 10'000;
    wait_us = std::min<uint64_t>(wait_us, 10'000);
    pollfd p{socket_.get(), POLLIN, 0};
    timespec ts{0, static_cast<long>(wait_us * 1000)};
    if (wait_us > 0) ::ppoll(&p, 1, &ts, nullptr);
    receive_all(fault);
  }
}

std::optional<std::vector<DataProblem>> UdpEchoWorkload::verify(int32_t after_fault,
                                                                milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) {
    lock.unlock();
    drain(after_fault);
    std::vector<DataProblem> out;
    for (const EchoProblem& e : tracker_.take_new_corrupted())
      out.push_back(DataProblem{DataProblem::Kind::kCorrupted, e.seq, e.seq, e.seq,
                                e.first_wrong_offset, e.after_fault, e.at_ms});
    return out;
  }
  uint64_t target = verify_done_count_ + 1;
  verify_requested_ = true;
  verify_after_fault_ = after_fault;
  if (!cv_.wait_for(lock, timeout, [&] { return verify_done_count_ >= target; }))
    return std::nullopt;
  return std::move(verify_result_);
}

std::optional<std::vector<DataProblem>> UdpEchoWorkload::finish(int32_t after_fault,
                                                                milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    stop_after_verify_ = true;
  }
  return verify(after_fault, timeout);
}

void UdpEchoWorkload::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

EchoSummary UdpEchoWorkload::summary() const {
  EchoSummary s;
  s.device = device_;
  s.name = name_;
  s.from = from_;
  s.to = to_;
  s.config = config_;
  s.counts = tracker_.counts();
  s.send_errors = send_errors_;
  s.verifications = verifications_;
  s.rtt_p50_us = tracker_.rtt_percentile_us(50);
  s.rtt_p99_us = tracker_.rtt_percentile_us(99);
  s.rtt_max_us = tracker_.rtt_max_us();
  s.max_stall_us = tracker_.max_gap_us();
  s.stalls = tracker_.stalls();
  s.problems = tracker_.problems();
  s.echoes_per_100ms = tracker_.echoes_per_100ms();
  return s;
}

void UdpEchoWorkload::add_to_report(CampaignReport& r) const {
  r.nic_workloads.push_back(summary());
}

std::vector<InvariantResult> UdpEchoWorkload::check_invariants(const Invariants& inv) const {
  const EchoCounts& c = tracker_.counts();
  auto at_most = [&](const char* what, uint64_t limit, uint64_t actual) {
    return InvariantResult{device_ + "." + what,
                           limit == kNoLimit ? "any" : "<= " + std::to_string(limit),
                           std::to_string(actual), actual <= limit};
  };
  std::vector<InvariantResult> out;
  out.push_back(at_most("lost_datagrams", inv.lost_datagrams, c.lost));
  out.push_back(at_most("corrupted_datagrams", inv.corrupted_datagrams, c.corrupted));
  out.push_back(at_most("duplicated_datagrams", inv.duplicated_datagrams, c.duplicated));
  out.push_back(at_most("reordered_datagrams", inv.reordered_datagrams, c.reordered));
  // The echo must have run at all: a NIC that passed nothing proves nothing.
  out.push_back(InvariantResult{device_ + ".echoes_verified", "> 0", std::to_string(c.verified),
                                c.verified > 0});
  return out;
}

}  // namespace uldd::campaign
