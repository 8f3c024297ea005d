#include "faultinject/swifi_fault.h"

#include <gtest/gtest.h>

#include <set>

namespace uldd::faultinject {
namespace {

TEST(SwifiFault, EveryTypeParsesWithoutParams) {
  std::vector<std::string> types = swifi_fault_types();
  ASSERT_EQ(types.size(), 8u);
  for (const std::string& type : types) {
    auto f = parse_swifi_fault(type, {});
    ASSERT_TRUE(f) << type << ": " << f.error().describe();
    EXPECT_EQ(f->name, type);
    EXPECT_FALSE(f->seed.has_value());
    EXPECT_FALSE(f->at.has_value());
  }
}

TEST(SwifiFault, ParamsAreParsed) {
  auto r = parse_swifi_fault("swifi-register",
                             {{"reg", "r12"}, {"bit", "17"}, {"seed", "42"}, {"at", "317"}});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->kind, SwifiKind::kRegister);
  EXPECT_EQ(*r->reg, "r12");
  EXPECT_EQ(*r->bit, 17u);
  EXPECT_EQ(*r->seed, 42u);
  EXPECT_EQ(*r->at, 317u);
  auto rip = parse_swifi_fault("swifi-register", {{"reg", "rip"}});
  ASSERT_TRUE(rip);
  auto m = parse_swifi_fault("swifi-heap", {{"offset", "0x1000"}, {"bit", "7"}});
  ASSERT_TRUE(m) << m.error().describe();
  EXPECT_EQ(*m->offset, 0x1000u);
  EXPECT_EQ(*m->bit, 7u);
  auto b = parse_swifi_fault("busy-loop", {{"seed", "18446744073709551615"}, {"at", "0"}});
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_EQ(*b->seed, 18446744073709551615ull);
  EXPECT_EQ(*b->at, 0u);
}

TEST(SwifiFault, UnknownTypeIsEnoentAndBadParamsAreEinvalNamingThem) {
  auto unknown = parse_swifi_fault("swifi-bogus", {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ENOENT);
  EXPECT_FALSE(parse_swifi_fault("sigkill", {}));

  struct Case {
    std::string type, key, value, mention;
  };
  for (const Case& c : {
           Case{"swifi-register", "bit", "64", "'bit'"},
           Case{"swifi-register", "reg", "cr3", "'reg'"},
           Case{"swifi-register", "reg", "eflags", "rip"},
           Case{"swifi-register", "offset", "3", "'offset'"},
           Case{"swifi-stack", "bit", "8", "0..7"},
           Case{"swifi-stack", "reg", "rax", "'reg'"},
           Case{"swifi-text", "offset", "-1", "'offset'"},
           Case{"swifi-heap", "seed", "x", "'seed'"},
           Case{"swifi-data", "at", "100001", "0..100000"},
           Case{"swifi-skip-instruction", "bit", "1", "takes 'seed', 'at'"},
           Case{"busy-loop", "lba", "1", "'lba'"},
       }) {
    auto r = parse_swifi_fault(c.type, {{c.key, c.value}});
    ASSERT_FALSE(r) << c.type << " " << c.key << "=" << c.value;
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().message.find(c.mention), std::string::npos) << r.error().message;
  }
}

TEST(SwifiFault, ChoiceIsAPureFunctionOfSeedParamsAndClassSize) {
  auto heap = parse_swifi_fault("swifi-heap", {});
  ASSERT_TRUE(heap);
  auto a = choose_swifi_target(heap.value(), 42, 135168);
  auto b = choose_swifi_target(heap.value(), 42, 135168);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->at, b->at);
  EXPECT_EQ(a->offset, b->offset);
  EXPECT_EQ(a->bit, b->bit);
  EXPECT_LE(a->at, kDefaultSwifiAtMax);
  EXPECT_LT(a->offset, 135168u);
  EXPECT_LT(a->bit, 8u);
  // Pinned values: the sequence is SplitMix64 and must not change between
  // builds, or a reported seed would no longer replay.
  auto reg = parse_swifi_fault("swifi-register", {});
  auto r = choose_swifi_target(reg.value(), 42, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at, 152u);
  EXPECT_EQ(r->reg, "rdx");
  EXPECT_EQ(r->bit, 18u);
  EXPECT_EQ(a->at, 152u);
  EXPECT_EQ(a->offset, 21396u);
  EXPECT_EQ(a->bit, 2u);

  // Seeds spread: over 64 seeds, several registers, bits and offsets occur.
  std::set<std::string> regs;
  std::set<uint32_t> bits, ats;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    auto c = choose_swifi_target(reg.value(), seed, 0);
    regs.insert(c->reg);
    bits.insert(c->bit);
    ats.insert(c->at);
  }
  EXPECT_GE(regs.size(), 8u);
  EXPECT_GE(bits.size(), 20u);
  EXPECT_GE(ats.size(), 40u);
}

TEST(SwifiFault, NamedValuesWinAndDoNotShiftTheOthers) {
  auto free_choice = parse_swifi_fault("swifi-stack", {});
  auto fixed_bit = parse_swifi_fault("swifi-stack", {{"bit", "5"}});
  auto a = choose_swifi_target(free_choice.value(), 7, 4096);
  auto b = choose_swifi_target(fixed_bit.value(), 7, 4096);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->bit, 5u);
  EXPECT_EQ(a->offset, b->offset);
  EXPECT_EQ(a->at, b->at);

  auto beyond = parse_swifi_fault("swifi-stack", {{"offset", "4096"}});
  auto e = choose_swifi_target(beyond.value(), 7, 4096);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, EINVAL);
  auto empty = choose_swifi_target(free_choice.value(), 7, 0);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ENXIO);
}

}  // namespace
}  // namespace uldd::faultinject
