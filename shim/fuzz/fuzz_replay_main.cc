// A main() for the fuzz targets when they are built without libFuzzer (the
// g++ builds of the test suite): runs every input file named on the command
// line (files, or directories of files: a saved corpus or a crash), then
// `--random N` pseudo-random inputs from `--seed S`. The same target code runs
// under libFuzzer in the clang build (ULDD_FUZZ=ON), which searches instead
// of sampling. Exit status 0 when every input ran; an input that breaks an
// invariant aborts, as under libFuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int run_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "fuzz replay: cannot read %s\n", path.c_str());
    return 1;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t random_inputs = 0;
  uint64_t seed = 1;
  size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--random" || arg == "--seed") && i + 1 < argc) {
      (arg == "--random" ? random_inputs : seed) = std::strtoull(argv[++i], nullptr, 10);
      continue;
    }
    std::filesystem::path p(arg);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (!e.is_regular_file()) continue;
        if (run_file(e.path()) != 0) return 1;
        ++files;
      }
    } else {
      if (run_file(p) != 0) return 1;
      ++files;
    }
  }
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> input;
  for (uint64_t n = 0; n < random_inputs; ++n) {
    input.resize(rng() % 512);
    for (auto& b : input) b = static_cast<uint8_t>(rng());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("fuzz replay: %zu files, %llu random inputs (seed %llu): no invariant broken\n",
              files, static_cast<unsigned long long>(random_inputs),
              static_cast<unsigned long long>(seed));
  return 0;
}
