#include "faultinject/swifi_fault.h"

#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "faultinject/x86_registers.h"

namespace uldd::faultinject {
namespace {

struct Entry {
  std::string_view name;
  SwifiKind kind;
};

constexpr std::array<Entry, 8> kSwifiFaults{{
    {"swifi-register", SwifiKind::kRegister},
    {"swifi-stack", SwifiKind::kStack},
    {"swifi-heap", SwifiKind::kHeap},
    {"swifi-data", SwifiKind::kData},
    {"swifi-text", SwifiKind::kText},
    {"swifi-skip-instruction", SwifiKind::kSkipInstruction},
    {"swifi-invert-branch", SwifiKind::kInvertBranch},
    {"busy-loop", SwifiKind::kBusyLoop},
}};

// SplitMix64 (Steele, Lea, Flood 2014): a fixed, portable sequence, unlike
// the standard distributions whose results differ between libraries.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

Error bad_param(std::string_view type, const std::string& key, const std::string& value,
                const std::string& expected) {
  return Error{EINVAL, "fault '" + std::string(type) + "': parameter '" + key + "' must be " +
                           expected + "; got '" + value + "'"};
}

// Decimal, or hexadecimal with 0x.
std::optional<uint64_t> parse_u64(const std::string& text) {
  std::string_view digits = text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return v;
}

std::string takes(SwifiKind kind) {
  std::string out = "'seed', 'at'";
  if (kind == SwifiKind::kRegister) out += ", 'reg', 'bit'";
  if (swifi_memory_class(kind)) out += ", 'offset', 'bit'";
  return out;
}

}  // namespace

std::optional<MemoryClass> swifi_memory_class(SwifiKind kind) {
  switch (kind) {
    case SwifiKind::kStack:
      return MemoryClass::kStack;
    case SwifiKind::kHeap:
      return MemoryClass::kHeap;
    case SwifiKind::kData:
      return MemoryClass::kData;
    case SwifiKind::kText:
      return MemoryClass::kText;
    default:
      return std::nullopt;
  }
}

std::vector<std::string> swifi_fault_types() {
  std::vector<std::string> out;
  for (const Entry& e : kSwifiFaults) out.emplace_back(e.name);
  return out;
}

Result<SwifiFault> parse_swifi_fault(std::string_view type,
                                     const std::map<std::string, std::string>& params) {
  SwifiFault fault;
  bool known = false;
  for (const Entry& e : kSwifiFaults)
    if (e.name == type) {
      fault.kind = e.kind;
      fault.name = std::string(e.name);
      known = true;
    }
  if (!known) return Error{ENOENT, "'" + std::string(type) + "' is not a SWIFI fault"};
  bool is_register = fault.kind == SwifiKind::kRegister;
  bool is_memory = swifi_memory_class(fault.kind).has_value();
  for (const auto& [key, value] : params) {
    if (key == "seed") {
      fault.seed = parse_u64(value);
      if (!fault.seed) return bad_param(type, key, value, "an unsigned 64-bit number");
    } else if (key == "at") {
      auto v = parse_u64(value);
      if (!v || *v > kMaxSwifiAt)
        return bad_param(type, key, value, "a number in 0.." + std::to_string(kMaxSwifiAt));
      fault.at = static_cast<uint32_t>(*v);
    } else if (key == "reg" && is_register) {
      if (!is_injectable_register(value))
        return bad_param(type, key, value, "one of rax rbx rcx rdx rsi rdi rbp rsp r8..r15 rip");
      fault.reg = value;
    } else if (key == "bit" && (is_register || is_memory)) {
      uint64_t max = is_register ? 63 : 7;
      auto v = parse_u64(value);
      if (!v || *v > max)
        return bad_param(type, key, value, "a number in 0.." + std::to_string(max));
      fault.bit = static_cast<uint32_t>(*v);
    } else if (key == "offset" && is_memory) {
      fault.offset = parse_u64(value);
      if (!fault.offset) return bad_param(type, key, value, "a byte offset into the class");
    } else {
      return Error{EINVAL, "fault '" + std::string(type) + "' has no parameter '" + key +
                               "'; it takes " + takes(fault.kind)};
    }
  }
  return fault;
}

Result<SwifiChoice> choose_swifi_target(const SwifiFault& fault, uint64_t seed,
                                        uint64_t class_size_bytes) {
  SplitMix64 rng(seed);
  // Drawn in this order whatever is used, so that naming one value does not
  // change the others.
  uint64_t draw_at = rng.next();
  uint64_t draw_reg = rng.next();
  uint64_t draw_bit = rng.next();
  uint64_t draw_offset = rng.next();

  SwifiChoice c;
  c.seed = seed;
  c.at = fault.at.value_or(static_cast<uint32_t>(draw_at % (kDefaultSwifiAtMax + 1)));
  if (fault.kind == SwifiKind::kRegister) {
    c.reg = fault.reg.value_or(
        std::string(kGeneralPurposeRegisters[draw_reg % kGeneralPurposeRegisters.size()]));
    c.bit = fault.bit.value_or(static_cast<uint32_t>(draw_bit % 64));
  }
  if (auto memory = swifi_memory_class(fault.kind)) {
    if (class_size_bytes == 0)
      return Error{ENXIO, "fault '" + fault.name + "': the target has no " +
                              std::string(memory_class_name(*memory)) + " mapping"};
    c.bit = fault.bit.value_or(static_cast<uint32_t>(draw_bit % 8));
    c.offset = fault.offset.value_or(draw_offset % class_size_bytes);
    if (c.offset >= class_size_bytes)
      return Error{EINVAL, "fault '" + fault.name + "': offset " + std::to_string(c.offset) +
                               " is beyond the " + std::to_string(class_size_bytes) + " bytes of " +
                               std::string(memory_class_name(*memory))};
  }
  return c;
}

uint64_t fresh_swifi_seed() {
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  SplitMix64 mix(static_cast<uint64_t>(now.tv_sec) * 1000000000ULL +
                 static_cast<uint64_t>(now.tv_nsec) + (static_cast<uint64_t>(::getpid()) << 40));
  return mix.next();
}

}  // namespace uldd::faultinject
