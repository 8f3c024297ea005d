// Ext4FsckWorkload: see ext4_fsck_workload.h.
#include "faultinject/campaign/ext4_fsck_workload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "faultinject/campaign/bounded_command.h"
#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {

namespace {

constexpr std::chrono::seconds kToolBound{60};
constexpr std::chrono::milliseconds kPause{100};
constexpr uint64_t kFiles = 8;
constexpr uint64_t kMinFile = 64 * 1024, kMaxFile = 1024 * 1024;

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The bytes of the file round `round` wrote.
std::vector<uint8_t> contents(uint64_t seed, uint64_t round, uint64_t size) {
  std::vector<uint8_t> b(size);
  uint64_t base = mix(seed ^ mix(round));
  for (uint64_t i = 0; i < size; i += 8) {
    uint64_t v = mix(base + i);
    std::memcpy(b.data() + i, &v, std::min<uint64_t>(8, size - i));
  }
  return b;
}

uint64_t size_of_round(uint64_t seed, uint64_t round) {
  uint64_t blocks = (kMaxFile - kMinFile) / 4096 + 1;
  return kMinFile + (mix(seed + round * 7919) % blocks) * 4096 + (round % 3) * 100;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

nlohmann::json to_json(const Ext4FsckSummary& s) {
  return {{"device", s.device},
          {"path", s.path},
          {"loop_device", s.loop_device},
          {"offset", s.offset},
          {"size", s.size},
          {"direct_io", s.direct_io},
          {"rounds", s.rounds},
          {"bytes_written", s.bytes_written},
          {"final_files_checked", s.final_files_checked},
          {"mismatches", s.mismatches},
          {"io_errors", s.io_errors},
          {"fsck_ran", s.fsck_ran},
          {"fsck_clean", s.fsck_clean},
          {"failures", failures_json(s.failures)}};
}

std::string describe(const Ext4FsckSummary& s) {
  std::string out = fmt::format(
      "{} ext4-fsck: {} rounds ({} MiB) on {} over {} MiB at offset {} MiB; {} files read back "
      "at the end; mismatches {}, I/O errors {}; e2fsck -fn {}\n",
      s.device, s.rounds, s.bytes_written >> 20, s.loop_device, s.size >> 20, s.offset >> 20,
      s.final_files_checked, s.mismatches, s.io_errors,
      !s.fsck_ran    ? "not run"
      : s.fsck_clean ? "clean"
                     : "FOUND ERRORS");
  for (const WorkloadFailure& f : s.failures)
    out += fmt::format("  EXT4 {} at {} ms: {}\n", f.kind, f.at_ms, indented(f.message));
  return out;
}

Ext4FsckWorkload::Ext4FsckWorkload(std::string device, std::filesystem::path file, uint64_t offset,
                                   uint64_t size, std::filesystem::path work, uint64_t seed,
                                   std::chrono::steady_clock::time_point t0)
    : work_(std::move(work)), seed_(seed), t0_(t0) {
  summary_.device = std::move(device);
  summary_.path = file.string();
  summary_.offset = offset;
  summary_.size = size;
  mount_point_ = work_ / ("ext4-" + summary_.device);
}

Status Ext4FsckWorkload::run_tool(const std::vector<std::string>& argv, const std::string& log_name,
                                  std::string* output) {
  auto r = run_bounded(argv, work_ / log_name, kToolBound);
  if (!r) return r.error();
  if (output != nullptr) *output = r->output;
  if (!r->ok())
    return plain_error(argv[0] + " for " + summary_.device + "'s ext4: " + r->describe());
  return {};
}

Status Ext4FsckWorkload::start() {
  int fd = ::open(summary_.path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  summary_.direct_io = fd >= 0;
  if (fd >= 0) ::close(fd);
  std::string out;
  Status s = run_tool({"losetup", "--find", "--show", "--offset", std::to_string(summary_.offset),
                       "--sizelimit", std::to_string(summary_.size),
                       summary_.direct_io ? "--direct-io=on" : "--direct-io=off", summary_.path},
                      "losetup.log", &out);
  if (!s) return s;
  std::string loop = out.substr(0, out.find('\n'));
  if (loop.rfind("/dev/loop", 0) != 0)
    return plain_error("losetup for " + summary_.device + "'s ext4 said '" + loop +
                       "', not a loop device");
  summary_.loop_device = loop;
  s = run_tool({"mkfs.ext4", "-q", "-F", "-E", "nodiscard", loop}, "mkfs.log");
  std::error_code ec;
  if (s) std::filesystem::create_directories(mount_point_, ec);
  if (s && ec) s = plain_error("cannot create " + mount_point_.string() + ": " + ec.message());
  if (s && ::mount(loop.c_str(), mount_point_.c_str(), "ext4", 0, nullptr) != 0)
    s = plain_error(errno_text("mount " + loop + " on " + mount_point_.string()));
  if (!s) {
    teardown();
    return s;
  }
  mounted_ = true;
  runs_.start([this, round = uint64_t{0}]() mutable -> std::optional<std::chrono::milliseconds> {
    write_and_check(++round);
    return kPause;
  });
  return {};
}

void Ext4FsckWorkload::fail(const std::string& kind, const std::string& message) {
  std::lock_guard lock(mu_);
  (kind == "mismatch" ? summary_.mismatches : summary_.io_errors)++;
  WorkloadFailure f;
  f.at_ms = ms_since(t0_);
  f.kind = kind;
  f.message = message;
  if (summary_.failures.size() < kMaxFailuresKept) summary_.failures.push_back(std::move(f));
}

std::string Ext4FsckWorkload::check_file(const std::string& name, const FileState& f) const {
  std::filesystem::path p = mount_point_ / name;
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_text("open " + name);
  // Clean after fsync: dropped, so the read goes to the device.
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  std::vector<uint8_t> want = contents(seed_, f.round, f.size), got(f.size + 1);
  size_t have = 0;
  while (have < got.size()) {
    ssize_t n = ::read(fd.get(), got.data() + have, got.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_text("read " + name);
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  if (have != f.size)
    return fmt::format("mismatch: {} (round {}) has {} bytes, {} were written", name, f.round, have,
                       f.size);
  auto [a, b] = std::mismatch(want.begin(), want.end(), got.begin());
  if (a != want.end())
    return fmt::format("mismatch: {} (round {}, {} bytes): first wrong byte at offset {}", name,
                       f.round, f.size, a - want.begin());
  return "";
}

void Ext4FsckWorkload::write_and_check(uint64_t round) {
  std::string name = "f" + std::to_string(round % kFiles);
  FileState f{round, size_of_round(seed_, round)};
  std::vector<uint8_t> data = contents(seed_, round, f.size);
  std::filesystem::path p = mount_point_ / name;
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return fail("io", errno_text("create " + name));
  files_.erase(name);  // truncated: the older round's contents are gone on purpose
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("io", errno_text("write " + name));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("io", errno_text("fsync " + name));
  fd.reset();
  UniqueFd dir(::open(mount_point_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid() && ::fsync(dir.get()) != 0) return fail("io", errno_text("fsync the directory"));
  files_[name] = f;
  std::string wrong = check_file(name, f);
  if (!wrong.empty()) return fail(wrong.rfind("mismatch", 0) == 0 ? "mismatch" : "io", wrong);
  std::lock_guard lock(mu_);
  ++summary_.rounds;
  summary_.bytes_written += f.size;
  progress_.fetch_add(1, std::memory_order_relaxed);
}

std::optional<std::vector<DataProblem>> Ext4FsckWorkload::verify(int32_t after_fault,
                                                                 std::chrono::milliseconds) {
  std::lock_guard lock(mu_);
  return corruptions_since(&mismatches_reported_, summary_.mismatches, after_fault);
}

std::optional<std::vector<DataProblem>> Ext4FsckWorkload::finish(
    int32_t after_fault, std::chrono::milliseconds timeout) {
  if (!runs_.finish(timeout)) return std::nullopt;
  if (!mounted_ || torn_down_) return verify(after_fault, timeout);
  for (const auto& [name, f] : files_) {
    std::string wrong = check_file(name, f);
    if (!wrong.empty()) fail(wrong.rfind("mismatch", 0) == 0 ? "mismatch" : "io", wrong);
    std::lock_guard lock(mu_);
    ++summary_.final_files_checked;
  }
  if (::umount2(mount_point_.c_str(), 0) != 0) {
    fail("umount", errno_text("umount " + mount_point_.string()));
  } else {
    mounted_ = false;
    std::string out;
    Status s = run_tool({"e2fsck", "-fn", summary_.loop_device}, "e2fsck.log", &out);
    std::lock_guard lock(mu_);
    summary_.fsck_ran = true;
    summary_.fsck_clean = s.ok();
    if (!s.ok()) {
      WorkloadFailure f{ms_since(t0_), "fsck", s.error().describe() + "\n" + out.substr(0, 4000)};
      summary_.failures.push_back(std::move(f));
    }
  }
  teardown();
  return verify(after_fault, timeout);
}

void Ext4FsckWorkload::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  if (mounted_ && ::umount2(mount_point_.c_str(), 0) != 0)
    ::umount2(mount_point_.c_str(), MNT_DETACH);  // the supervisor gone: do not wait
  mounted_ = false;
  if (!summary_.loop_device.empty())
    (void)run_tool({"losetup", "-d", summary_.loop_device}, "losetup-d.log");
  std::error_code ec;
  std::filesystem::remove(mount_point_, ec);
}

void Ext4FsckWorkload::stop() {
  runs_.cancel();
  teardown();
}

Ext4FsckSummary Ext4FsckWorkload::summary() const {
  std::lock_guard lock(mu_);
  return summary_;
}

void Ext4FsckWorkload::add_to_report(CampaignReport& r) const {
  r.ext4_fsck = summary();
}

std::vector<InvariantResult> Ext4FsckWorkload::check_invariants(const Invariants&) const {
  Ext4FsckSummary s = summary();
  uint64_t problems = s.mismatches + s.io_errors;
  return {{s.device + ".ext4_problems", "<= 0", std::to_string(problems), problems == 0},
          {s.device + ".ext4_fsck_clean", "true",
           !s.fsck_ran    ? "not run"
           : s.fsck_clean ? "true"
                          : "false",
           s.fsck_ran && s.fsck_clean}};
}

}  // namespace uldd::campaign
