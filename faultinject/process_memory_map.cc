#include "faultinject/process_memory_map.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include "common/unique_fd.h"

namespace uldd::faultinject {
namespace {

Result<std::string> read_whole_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open(" + path + ")");
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read(" + path + ")");
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

bool parse_hex(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Splits off the next space-separated field.
std::string_view next_field(std::string_view& line) {
  size_t begin = line.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(begin);
  size_t end = line.find(' ');
  std::string_view field = line.substr(0, end);
  line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  return field;
}

std::string hex(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

}  // namespace

std::string_view memory_class_name(MemoryClass c) {
  switch (c) {
    case MemoryClass::kStack:
      return "stack";
    case MemoryClass::kHeap:
      return "heap";
    case MemoryClass::kData:
      return "data";
    case MemoryClass::kText:
      return "text";
  }
  return "?";
}

Result<ProcessMemoryMap> ProcessMemoryMap::read(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  char exe[4096];
  ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1);
  if (n < 0) return errno_error("readlink(" + proc + "/exe)");
  auto text = read_whole_file(proc + "/maps");
  if (!text) return text.error();
  return parse(text.value(), std::string(exe, static_cast<size_t>(n)));
}

Result<ProcessMemoryMap> ProcessMemoryMap::parse(std::string_view maps_text,
                                                 std::string executable) {
  ProcessMemoryMap map;
  map.executable_ = std::move(executable);
  size_t line_number = 0;
  while (!maps_text.empty()) {
    size_t newline = maps_text.find('\n');
    std::string_view line = maps_text.substr(0, newline);
    maps_text.remove_prefix(newline == std::string_view::npos ? maps_text.size() : newline + 1);
    ++line_number;
    if (line.empty()) continue;
    std::string_view rest = line;
    std::string_view range = next_field(rest);
    std::string_view perms = next_field(rest);
    std::string_view offset = next_field(rest);
    next_field(rest);  // device
    next_field(rest);  // inode
    size_t path_begin = rest.find_first_not_of(' ');
    MemoryMapping m;
    size_t dash = range.find('-');
    if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), m.start) ||
        !parse_hex(range.substr(dash + 1), m.end) || m.end <= m.start || perms.size() != 4 ||
        !parse_hex(offset, m.file_offset))
      return Error{EINVAL, "maps line " + std::to_string(line_number) + " is not a mapping: '" +
                               std::string(line) + "'"};
    m.perms = std::string(perms);
    if (path_begin != std::string_view::npos) m.path = std::string(rest.substr(path_begin));
    map.mappings_.push_back(std::move(m));
  }
  std::sort(map.mappings_.begin(), map.mappings_.end(),
            [](const MemoryMapping& a, const MemoryMapping& b) { return a.start < b.start; });
  return map;
}

bool ProcessMemoryMap::in_class(size_t index, MemoryClass c) const {
  const MemoryMapping& m = mappings_[index];
  bool own = !executable_.empty() && m.path == executable_;
  bool anonymous_rw = m.path.empty() && m.readable() && m.writable() && m.is_private();
  // The bss that does not fit the last file page: anonymous, right after the
  // executable's last rw mapping.
  bool bss = anonymous_rw && index > 0 && mappings_[index - 1].path == executable_ &&
             !executable_.empty() && mappings_[index - 1].writable() &&
             mappings_[index - 1].end == m.start;
  switch (c) {
    case MemoryClass::kStack:
      return m.path == "[stack]";
    case MemoryClass::kHeap:
      return (m.path == "[heap]" && m.writable()) || (anonymous_rw && !bss);
    case MemoryClass::kData:
      return (own && m.readable() && m.writable()) || bss;
    case MemoryClass::kText:
      return own && m.executable();
  }
  return false;
}

std::vector<MemoryMapping> ProcessMemoryMap::of_class(MemoryClass c) const {
  std::vector<MemoryMapping> out;
  for (size_t i = 0; i < mappings_.size(); ++i)
    if (in_class(i, c)) out.push_back(mappings_[i]);
  return out;
}

uint64_t ProcessMemoryMap::class_size(MemoryClass c) const {
  uint64_t total = 0;
  for (const MemoryMapping& m : of_class(c)) total += m.size();
  return total;
}

Result<uint64_t> ProcessMemoryMap::address_at(MemoryClass c, uint64_t offset) const {
  uint64_t remaining = offset;
  for (const MemoryMapping& m : of_class(c)) {
    if (remaining < m.size()) return m.start + remaining;
    remaining -= m.size();
  }
  return Error{EINVAL, "offset " + std::to_string(offset) + " is beyond the " +
                           std::to_string(class_size(c)) + " bytes of " +
                           std::string(memory_class_name(c))};
}

std::optional<uint64_t> ProcessMemoryMap::offset_of(MemoryClass c, uint64_t address) const {
  uint64_t before = 0;
  for (const MemoryMapping& m : of_class(c)) {
    if (address >= m.start && address < m.end) return before + (address - m.start);
    before += m.size();
  }
  return std::nullopt;
}

const MemoryMapping* ProcessMemoryMap::containing(uint64_t address) const {
  for (const MemoryMapping& m : mappings_)
    if (address >= m.start && address < m.end) return &m;
  return nullptr;
}

std::string ProcessMemoryMap::describe_address(uint64_t address) const {
  const MemoryMapping* m = containing(address);
  if (m == nullptr) return hex(address) + " (unmapped)";
  std::string name = m->path.empty() ? "anonymous" : m->path;
  size_t slash = name.rfind('/');
  if (slash != std::string::npos && name.front() == '/') name = name.substr(slash + 1);
  uint64_t module_offset = address - m->start + (m->path.empty() ? 0 : m->file_offset);
  return hex(address) + " (" + name + "+" + hex(module_offset) + ")";
}

}  // namespace uldd::faultinject
