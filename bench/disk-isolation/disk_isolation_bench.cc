// uldd-bench-disk-isolation: the seed paper's Figure 2 (Leslie et al. 2005,
// §4.1) done our way. Sequential reads of a contiguous range with transfer
// sizes 1..32 sectors, then 40..8192 sectors (the paper's footnote 3), each
// size repeated; throughput (MiB/s) and CPU time of every process of the
// stack per MiB; driver isolated (own process) vs colocated (called directly
// in the shim's process) on the same device model, both up at once and
// measured alternately, size by size, in one run. Measured at the shim's own
// client interface (no FUSE in the way) and, separately, through the FUSE file
// with O_DIRECT, as the paper's benchmark read /dev/hda with O_DIRECT.
//
// Prints one line per point, writes JSON, and ends with
//   SUMMARY throughput_ratio=<min isolated/colocated throughput>
//           cpu_ratio=<max isolated/colocated CPU per MiB>
// over the sweep at the shim interface. Figures, not assertions.
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <spdlog/spdlog.h>

#include "shim/disk_shim.h"
#include "policies/policy_parser.h"
#include "supervisor/disk_device.h"

namespace fs = std::filesystem;
using uldd::supervisor::DiskDevice;
using uldd::supervisor::DiskDeviceConfig;
using uldd::supervisor::DriverMode;
using uldd::supervisor::SupervisorConfig;

namespace {

std::vector<uint32_t> paper_sizes() {
  std::vector<uint32_t> s;
  for (uint32_t i = 1; i <= 32; ++i) s.push_back(i);
  for (uint32_t v : {40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896,
                     1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192})
    s.push_back(v);
  return s;
}

// CPU time of a whole process (all threads), in seconds; 0 if pid < 0.
double process_cpu_seconds(pid_t pid) {
  if (pid < 0) return 0;
  clockid_t clock;
  if (clock_getcpuclockid(pid, &clock) != 0) return 0;
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Sample {
  double mib_per_s;
  double cpu_s_per_mib;                 // all processes of the stack
  std::map<std::string, double> cpu_by_process;  // seconds per MiB
};

struct Stack {
  std::string mode;
  std::unique_ptr<DiskDevice> device;
  fs::path fuse_file;
};

using Reader = std::function<bool(uint64_t offset, std::span<std::byte> buf)>;

Sample measure(Stack& stack, uint32_t sectors, uint64_t total_bytes, uint64_t max_ops, std::byte* buffer,
               const Reader& read) {
  const uint64_t xfer = uint64_t{sectors} * 512;
  uint64_t ops = std::min<uint64_t>(total_bytes / xfer, max_ops);
  if (ops == 0) ops = 1;
  pid_t self = getpid(), driver = stack.device->driver_pid(), model = stack.device->model_pid();
  double c0s = process_cpu_seconds(self), c0d = process_cpu_seconds(driver), c0m = process_cpu_seconds(model);
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < ops; ++i) {
    if (!read(i * xfer, {buffer, xfer})) {
      spdlog::error("{}: read of {} sectors at {} failed", stack.mode, sectors, i * xfer);
      std::exit(1);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double mib = ops * xfer / 1048576.0;
  Sample s;
  s.mib_per_s = mib / secs;
  s.cpu_by_process["supervisor+client"] = (process_cpu_seconds(self) - c0s) / mib;
  if (driver >= 0) s.cpu_by_process["driver"] = (process_cpu_seconds(driver) - c0d) / mib;
  s.cpu_by_process["device-model"] = (process_cpu_seconds(model) - c0m) / mib;
  s.cpu_s_per_mib = 0;
  for (auto& [_, v] : s.cpu_by_process) s.cpu_s_per_mib += v;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-bench-disk-isolation: isolated vs colocated NVMe driver, sequential reads"};
  uint64_t total_mib = 64;
  uint64_t max_ops = 32768;
  int repeats = 3;
  uint32_t latency_us = 0;
  bool through_fuse = true;
  std::string out_json = "bench/results/disk-isolation.json";
  std::string work_dir = "/tmp/uldd-bench-disk";
  std::vector<uint32_t> sizes = paper_sizes();
  app.add_option("--mib", total_mib, "MiB read per point (the paper: 64)")->capture_default_str();
  app.add_option("--max-ops", max_ops, "cap on transfers per point, bounds small sizes' run time")
      ->capture_default_str();
  app.add_option("--repeats", repeats, "repetitions per size and mode (median reported)")->capture_default_str();
  app.add_option("--latency-us", latency_us, "device model latency per command")->capture_default_str();
  app.add_option("--sizes", sizes, "transfer sizes in sectors (default: the paper's sweep)");
  app.add_option("--fuse", through_fuse, "also measure through the FUSE file (true/false)")->capture_default_str();
  app.add_option("--json", out_json, "where to write the JSON results")->capture_default_str();
  app.add_option("--work-dir", work_dir, "scratch directory (backing file, mounts)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const uint64_t device_bytes = (total_mib + 8) << 20;
  fs::create_directories(work_dir + "/run");
  fs::path backing = fs::path(work_dir) / "disk.img";
  {  // Real data, not holes: the model must copy from the page cache.
    std::ofstream f(backing, std::ios::binary | std::ios::trunc);
    std::mt19937_64 rng(42);
    std::vector<uint64_t> chunk(1 << 17);
    for (uint64_t done = 0; done < device_bytes; done += chunk.size() * 8) {
      for (auto& w : chunk) w = rng();
      f.write(reinterpret_cast<const char*>(chunk.data()), chunk.size() * 8);
    }
  }

  SupervisorConfig sup;
  sup.runtime_dir = work_dir + "/run";
  fs::path bin_dir = fs::read_symlink("/proc/self/exe").parent_path();
  std::vector<Stack> stacks;
  for (DriverMode mode : {DriverMode::kIsolated, DriverMode::kColocated}) {
    DiskDeviceConfig d;
    d.name = mode == DriverMode::kIsolated ? "iso" : "colo";
    d.mode = mode;
    d.backing_file = backing;
    d.size_bytes = device_bytes;
    d.model_latency_us = latency_us;
    d.max_transfer = 128 << 10;
    d.buffers = 64;
    if (through_fuse) d.fuse_path = fs::path(work_dir) / "run" / d.name;
    auto dev = DiskDevice::start(d, sup, bin_dir, uldd::policies::default_policy());
    if (!dev) {
      std::cerr << "start " << d.name << ": " << dev.error().describe() << "\n";
      return 1;
    }
    stacks.push_back({mode == DriverMode::kIsolated ? "isolated" : "colocated", std::move(dev.value()),
                      d.fuse_path});
  }

  const size_t max_xfer = size_t{8192} * 512;
  auto* buffer = static_cast<std::byte*>(
      mmap(nullptr, max_xfer, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  nlohmann::json results;
  results["method"] = "Leslie et al. 2005 §4.1 / Fig. 2: sequential reads, queue depth 1";
  results["mib_per_point"] = total_mib;
  results["max_ops_per_point"] = max_ops;
  results["repeats"] = repeats;
  results["device_latency_us"] = latency_us;
  double min_tput_ratio = 1e9, max_cpu_ratio = 0, min_fuse_ratio = 1e9;
  uint32_t worst_tput_size = 0, worst_cpu_size = 0;

  for (const char* path : {"shim", "fuse"}) {
    bool fuse = std::string(path) == "fuse";
    if (fuse && !through_fuse) continue;
    std::map<std::string, int> fds;
    if (fuse)
      for (auto& s : stacks) fds[s.mode] = open(s.fuse_file.c_str(), O_RDONLY | O_DIRECT);
    std::printf("%-5s %7s %12s %12s %14s %14s %8s %8s\n", path, "sectors", "iso MiB/s", "colo MiB/s",
                "iso cpu ms/MiB", "colo cpu ms/MiB", "tput", "cpu");
    for (uint32_t sectors : sizes) {
      std::map<std::string, std::vector<Sample>> samples;
      for (int rep = 0; rep < repeats; ++rep) {
        // Alternate which mode goes first, so drift on a shared machine hits both.
        for (int k = 0; k < 2; ++k) {
          Stack& st = stacks[(k + rep) % 2];
          Reader reader;
          if (fuse) {
            int fd = fds[st.mode];
            reader = [fd](uint64_t off, std::span<std::byte> b) {
              return pread(fd, b.data(), b.size(), static_cast<off_t>(off)) == static_cast<ssize_t>(b.size());
            };
          } else {
            auto& shim = st.device->shim();
            reader = [&shim](uint64_t off, std::span<std::byte> b) {
              return uldd::shim::read_sync(shim, off, b) == uldd::abi::BlockStatus::kOk;
            };
          }
          samples[st.mode].push_back(measure(st, sectors, total_mib << 20, max_ops, buffer, reader));
        }
      }
      nlohmann::json point;
      point["sectors"] = sectors;
      std::map<std::string, double> tput, cpu;
      for (auto& [mode, v] : samples) {
        std::vector<double> t, c;
        for (auto& s : v) {
          t.push_back(s.mib_per_s);
          c.push_back(s.cpu_s_per_mib);
        }
        tput[mode] = median(t);
        cpu[mode] = median(c);
        point[mode]["mib_per_s"] = tput[mode];
        point[mode]["cpu_s_per_mib"] = cpu[mode];
        point[mode]["mib_per_s_all"] = t;
        nlohmann::json by;
        for (auto& [proc, _] : v[0].cpu_by_process) {
          std::vector<double> x;
          for (auto& s : v) x.push_back(s.cpu_by_process.at(proc));
          by[proc] = median(x);
        }
        point[mode]["cpu_s_per_mib_by_process"] = by;
      }
      double tr = tput["isolated"] / tput["colocated"];
      double cr = cpu["isolated"] / cpu["colocated"];
      point["throughput_ratio"] = tr;
      point["cpu_ratio"] = cr;
      results[path].push_back(point);
      if (!fuse) {
        if (tr < min_tput_ratio) min_tput_ratio = tr, worst_tput_size = sectors;
        if (cr > max_cpu_ratio) max_cpu_ratio = cr, worst_cpu_size = sectors;
      } else {
        min_fuse_ratio = std::min(min_fuse_ratio, tr);
      }
      std::printf("%-5s %7u %12.1f %12.1f %14.3f %14.3f %8.3f %8.3f\n", path, sectors, tput["isolated"],
                  tput["colocated"], cpu["isolated"] * 1e3, cpu["colocated"] * 1e3, tr, cr);
      std::fflush(stdout);
    }
    for (auto& [_, fd] : fds) close(fd);
  }
  for (auto& s : stacks) s.device->stop();

  results["summary"] = {{"throughput_ratio", min_tput_ratio},
                        {"throughput_ratio_worst_sectors", worst_tput_size},
                        {"cpu_ratio", max_cpu_ratio},
                        {"cpu_ratio_worst_sectors", worst_cpu_size},
                        {"fuse_throughput_ratio", through_fuse ? min_fuse_ratio : 0}};
  fs::create_directories(fs::path(out_json).parent_path());
  std::ofstream(out_json) << results.dump(2) << "\n";
  std::printf("results: %s\n", out_json.c_str());
  std::printf("SUMMARY throughput_ratio=%.3f cpu_ratio=%.3f\n", min_tput_ratio, max_cpu_ratio);
  return 0;
}
