// ProcessMemoryMap: a process's /proc/PID/maps, sorted into the memory
// classes SWIFI faults target (stack, heap, data, text), so that a memory
// fault can name "byte N of the heap" as a pure function of a seed and the
// layout, and report the mapping and module offset of what it hit.
//
// Classes (x86_64 Linux):
//   stack: the [stack] mapping of the main thread;
//   heap:  [heap] plus every anonymous private rw mapping (malloc arenas,
//          large allocations, thread stacks), except the executable's bss;
//   data:  the executable's own rw mappings and the anonymous bss mapping
//          that directly follows them;
//   text:  the executable's own r-x mappings.
// Shared and file-backed mappings of other files (the ring and DMA memfds,
// libraries) belong to no class.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace uldd::faultinject {

enum class MemoryClass { kStack, kHeap, kData, kText };

std::string_view memory_class_name(MemoryClass c);  // "stack", "heap", "data", "text"

struct MemoryMapping {
  uint64_t start = 0;  // first byte
  uint64_t end = 0;    // one past the last byte
  std::string perms;   // "rw-p"
  uint64_t file_offset = 0;
  std::string path;  // "" for anonymous, "[stack]", "/usr/bin/x"
  uint64_t size() const { return end - start; }
  bool readable() const { return perms.size() == 4 && perms[0] == 'r'; }
  bool writable() const { return perms.size() == 4 && perms[1] == 'w'; }
  bool executable() const { return perms.size() == 4 && perms[2] == 'x'; }
  bool is_private() const { return perms.size() == 4 && perms[3] == 'p'; }
};

class ProcessMemoryMap {
 public:
  // Reads /proc/PID/maps and the executable's path (/proc/PID/exe).
  static Result<ProcessMemoryMap> read(pid_t pid);
  // Parses maps text; `executable` is the path the executable's mappings show.
  // EINVAL names the line that is not a maps line.
  static Result<ProcessMemoryMap> parse(std::string_view maps_text, std::string executable);

  const std::vector<MemoryMapping>& mappings() const { return mappings_; }
  const std::string& executable() const { return executable_; }

  // The mappings of one class, in address order.
  std::vector<MemoryMapping> of_class(MemoryClass c) const;
  // Total bytes of a class (its mappings laid end to end).
  uint64_t class_size(MemoryClass c) const;
  // The address of byte `offset` of a class (its mappings laid end to end in
  // address order); EINVAL when offset >= class_size.
  Result<uint64_t> address_at(MemoryClass c, uint64_t offset) const;
  // The inverse: the class offset of `address`, if it lies in that class.
  std::optional<uint64_t> offset_of(MemoryClass c, uint64_t address) const;

  const MemoryMapping* containing(uint64_t address) const;
  // "0x55d0c0001a2b (uldd-swifi-target+0x1a2b)", "0x7ffd1234 ([stack]+0x1f0)"
  std::string describe_address(uint64_t address) const;

 private:
  bool in_class(size_t index, MemoryClass c) const;

  std::vector<MemoryMapping> mappings_;
  std::string executable_;
};

}  // namespace uldd::faultinject
