#include "faultinject/process_memory_map.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace uldd::faultinject {
namespace {

constexpr const char* kExe = "/usr/lib/uldd/uldd-nvme-driver";
constexpr const char* kMaps =
    "5600000000-5600001000 r--p 00000000 08:01 100 /usr/lib/uldd/uldd-nvme-driver\n"
    "5600001000-5600005000 r-xp 00001000 08:01 100 /usr/lib/uldd/uldd-nvme-driver\n"
    "5600005000-5600006000 r--p 00005000 08:01 100 /usr/lib/uldd/uldd-nvme-driver\n"
    "5600006000-5600007000 rw-p 00006000 08:01 100 /usr/lib/uldd/uldd-nvme-driver\n"
    "5600007000-5600009000 rw-p 00000000 00:00 0 \n"
    "5600100000-5600121000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000010000 rw-s 00000000 00:01 7 /memfd:ring disk0 (deleted)\n"
    "7f0000010000-7f0000014000 rw-p 00000000 00:00 0 \n"
    "7f0000014000-7f0000015000 ---p 00000000 00:00 0 \n"
    "7f0000100000-7f0000200000 r-xp 00028000 08:01 200 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f0000200000-7f0000202000 rw-p 001d0000 08:01 200 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                      [stack]\n"
    "7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0                      [vdso]\n";

TEST(ProcessMemoryMap, ClassesFollowTheExecutableAndTheKernelNames) {
  auto map = ProcessMemoryMap::parse(kMaps, kExe);
  ASSERT_TRUE(map) << map.error().describe();
  EXPECT_EQ(map->mappings().size(), 13u);

  auto text = map->of_class(MemoryClass::kText);
  ASSERT_EQ(text.size(), 1u);  // libc's and the vdso's text are not the driver's
  EXPECT_EQ(text[0].start, 0x5600001000u);

  auto data = map->of_class(MemoryClass::kData);
  ASSERT_EQ(data.size(), 2u);  // .data and the bss right after it
  EXPECT_EQ(data[0].start, 0x5600006000u);
  EXPECT_EQ(data[1].start, 0x5600007000u);
  EXPECT_EQ(map->class_size(MemoryClass::kData), 0x3000u);

  auto heap = map->of_class(MemoryClass::kHeap);
  ASSERT_EQ(heap.size(), 2u);  // [heap] and the anonymous rw mapping; not the memfd, not the guard
  EXPECT_EQ(heap[0].path, "[heap]");
  EXPECT_EQ(heap[1].start, 0x7f0000010000u);
  EXPECT_EQ(map->class_size(MemoryClass::kHeap), 0x21000u + 0x4000u);

  EXPECT_EQ(map->class_size(MemoryClass::kStack), 0x21000u);
}

TEST(ProcessMemoryMap, OffsetsRunThroughTheClassMappingsEndToEnd) {
  auto map = ProcessMemoryMap::parse(kMaps, kExe);
  ASSERT_TRUE(map);
  EXPECT_EQ(map->address_at(MemoryClass::kHeap, 0).value(), 0x5600100000u);
  EXPECT_EQ(map->address_at(MemoryClass::kHeap, 0x21000).value(), 0x7f0000010000u);
  EXPECT_EQ(map->address_at(MemoryClass::kHeap, 0x21003).value(), 0x7f0000010003u);
  auto beyond = map->address_at(MemoryClass::kHeap, 0x25000);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code, EINVAL);
  EXPECT_EQ(map->offset_of(MemoryClass::kHeap, 0x7f0000010003u).value(), 0x21003u);
  EXPECT_FALSE(map->offset_of(MemoryClass::kHeap, 0x7f0000000000u).has_value());
  EXPECT_EQ(map->describe_address(0x5600001a2b), "0x5600001a2b (uldd-nvme-driver+0x1a2b)");
  EXPECT_EQ(map->describe_address(0x7ffc00000010), "0x7ffc00000010 ([stack]+0x10)");
  EXPECT_EQ(map->describe_address(0x10), "0x10 (unmapped)");
}

TEST(ProcessMemoryMap, ABadLineIsNamed) {
  auto map = ProcessMemoryMap::parse("5600000000-5600001000 r--p 0 08:01 1 /x\nnonsense\n", "/x");
  ASSERT_FALSE(map);
  EXPECT_EQ(map.error().code, EINVAL);
  EXPECT_NE(map.error().message.find("line 2"), std::string::npos);
}

TEST(ProcessMemoryMap, OwnProcessHasEveryClass) {
  auto map = ProcessMemoryMap::read(::getpid());
  ASSERT_TRUE(map) << map.error().describe();
  for (MemoryClass c :
       {MemoryClass::kStack, MemoryClass::kHeap, MemoryClass::kData, MemoryClass::kText})
    EXPECT_GT(map->class_size(c), 0u) << memory_class_name(c);
  static int in_data = 1;
  EXPECT_TRUE(map->offset_of(MemoryClass::kData, reinterpret_cast<uint64_t>(&in_data)));
  EXPECT_TRUE(
      map->offset_of(MemoryClass::kText, reinterpret_cast<uint64_t>(&ProcessMemoryMap::parse)));
  int on_stack = 0;
  EXPECT_TRUE(map->offset_of(MemoryClass::kStack, reinterpret_cast<uint64_t>(&on_stack)) ||
              map->offset_of(MemoryClass::kHeap, reinterpret_cast<uint64_t>(&on_stack)))
      << "ASan's fake stack lives in anonymous mappings";
  auto gone = ProcessMemoryMap::read(0x3fffffff);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENOENT);
}

}  // namespace
}  // namespace uldd::faultinject
