// TomlTableReader: positions, did-you-mean, ranges, wrong types, size strings.
#include "common/toml_table_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace uldd {
namespace {

// One parsed document and a reader over [t] (or the top level when there is
// no [t]); toml++ throws only from parse, which these fixed texts pass.
struct Doc {
  explicit Doc(std::string_view text,
               TomlTableReader::TypeErrorNaming naming = TomlTableReader::TypeErrorNaming::kKeyOnly)
      : root(toml::parse(text, source)),
        reader(source, root.get("t") != nullptr ? *root.get("t")->as_table() : root,
               root.get("t") != nullptr ? "[t]" : "", naming) {}
  std::string source = "f.toml";
  toml::table root;
  TomlTableReader reader;
};

std::string message(const Status& s) {
  return s.ok() ? "ok" : s.error().describe();
}

constexpr std::array<std::string_view, 4> kKnown = {"queue_depth", "itr_us", "memory", "name"};

TEST(TomlTableReaderTest, ErrorsPointAtTheValueElseAtTheTable) {
  Doc d("[t]\nname =   \"x\"\n");
  EXPECT_EQ(d.reader.error("name", "bad").describe(), "f.toml:2:10: bad");
  EXPECT_EQ(d.reader.error("absent", "bad").describe(), "f.toml:1:1: bad");
  EXPECT_EQ(d.reader.position("name"), "2:10");
  // A table toml++ never saw in the text has no position: 1:1.
  toml::table empty;
  std::string source = "g.toml";
  TomlTableReader r(source, empty, "[x]");
  EXPECT_EQ(r.error("k", "why").describe(), "g.toml:1:1: why");
  EXPECT_EQ(r.position("k"), "1:1");
  EXPECT_EQ(located_error(source, {}, "no place").describe(), "g.toml:1:1: no place");
}

TEST(TomlTableReaderTest, UnknownKeysSuggestTheNearestKnownKey) {
  EXPECT_EQ(message(Doc("[t]\nqueue_dept = 1\n").reader.check_keys(kKnown)),
            "f.toml:2:1: unknown key 'queue_dept' in [t] (did you mean 'queue_depth'?)");
  // A known key extended with "_...".
  EXPECT_EQ(message(Doc("[t]\nname = \"a\"\nmemory_bytes = 1\n").reader.check_keys(kKnown)),
            "f.toml:3:1: unknown key 'memory_bytes' in [t] (did you mean 'memory'?)");
  // A known key missing its "_suffix".
  EXPECT_EQ(message(Doc("itr = 5\n").reader.check_keys(kKnown)),
            "f.toml:1:1: unknown key 'itr' in the top level (did you mean 'itr_us'?)");
  // Nothing near: no suggestion.
  EXPECT_EQ(message(Doc("[t]\nfrobnicate = 1\n").reader.check_keys(kKnown)),
            "f.toml:2:1: unknown key 'frobnicate' in [t]");
  EXPECT_EQ(message(Doc("[t]\nname = \"a\"\nitr_us = 3\n").reader.check_keys(kKnown)), "ok");

  EXPECT_EQ(nearest_key("nmae", kKnown), "name");
  EXPECT_EQ(nearest_key("x", kKnown), "");
  // "_" must follow the shorter key: "namespace" is not "name" + suffix.
  EXPECT_EQ(nearest_key("namespace", kKnown), "");
  EXPECT_EQ(did_you_mean("memory_limit", kKnown), " (did you mean 'memory'?)");
  EXPECT_EQ(did_you_mean("zzz", kKnown), "");
}

TEST(TomlTableReaderTest, IntegersAreCheckedAgainstTheirRange) {
  Doc d("[t]\nlow = 1\nhigh = 9\nneg = -4\nok = 5\nbig = 5000000000\n");
  uint32_t v = 7;
  struct Case {
    std::string_view key;
    uint32_t lo, hi;
    std::string_view want;
  };
  for (const Case& c : {Case{"low", 2, 8, "f.toml:2:7: 'low' = 1 is out of range 2..8"},
                        Case{"high", 2, 8, "f.toml:3:8: 'high' = 9 is out of range 2..8"},
                        Case{"neg", 0, 8, "f.toml:4:7: 'neg' = -4 is out of range 0..8"},
                        Case{"big", 0, UINT32_MAX,
                             "f.toml:6:7: 'big' = 5000000000 is out of range 0..4294967295"}}) {
    EXPECT_EQ(message(d.reader.read_uint(c.key, c.lo, c.hi, v)), c.want);
  }
  EXPECT_EQ(v, 7u);  // failed reads leave the default
  EXPECT_EQ(message(d.reader.read_uint("absent", 2, 8, v)), "ok");
  EXPECT_EQ(v, 7u);
  EXPECT_EQ(message(d.reader.read_uint("ok", 2, 8, v)), "ok");
  EXPECT_EQ(v, 5u);
  uint64_t w = 0;
  EXPECT_EQ(message(d.reader.read_uint64("big", 0, UINT64_MAX, w, false)), "ok");
  EXPECT_EQ(w, 5'000'000'000u);
}

TEST(TomlTableReaderTest, DoublesAreCheckedAgainstTheirRange) {
  Doc d("[t]\nj = 1.5\ni = 1\nn = nan\n");
  double v = 0.25;
  EXPECT_EQ(message(d.reader.read_double("j", 0, 1, v)),
            "f.toml:2:5: 'j' = 1.5 is out of range 0..1");
  EXPECT_EQ(message(d.reader.read_double("n", 0, 1, v)),
            "f.toml:4:5: 'n' = nan is out of range 0..1");
  EXPECT_EQ(v, 0.25);
  EXPECT_EQ(message(d.reader.read_double("i", 0, 1, v)), "ok");
  EXPECT_EQ(v, 1.0);
}

TEST(TomlTableReaderTest, WrongTypesNameWhatWasExpectedAndWhatWasFound) {
  const char* text = "[t]\ns = 1\nb = \"yes\"\nu = 1.5\nd = [1]\nz = 2024-01-01\n";
  Doc d(text);
  std::string s;
  bool b = false;
  uint32_t u = 0;
  uint64_t u64 = 0;
  double x = 0;
  EXPECT_EQ(message(d.reader.read_string("s", s)),
            "f.toml:2:5: 's' must be a string, not an integer");
  EXPECT_EQ(message(d.reader.read_bool("b", b)),
            "f.toml:3:5: 'b' must be a boolean (true or false), not a string");
  EXPECT_EQ(message(d.reader.read_uint("u", 0, 9, u)),
            "f.toml:4:5: 'u' must be an integer, not a float");
  EXPECT_EQ(message(d.reader.read_uint64("u", 0, 9, u64, true)),
            "f.toml:4:5: 'u' must be an integer or a size string, not a float");
  EXPECT_EQ(message(d.reader.read_double("d", 0, 9, x)),
            "f.toml:5:5: 'd' must be a number, not an array");
  EXPECT_EQ(message(d.reader.read_string("z", s)), "f.toml:6:5: 'z' must be a string, not a date");
  // The policy-file wording names the table too.
  Doc p(text, TomlTableReader::TypeErrorNaming::kKeyAndTable);
  EXPECT_EQ(message(p.reader.read_string("s", s)),
            "f.toml:2:5: 's' in [t] must be a string, not an integer");
}

TEST(TomlTableReaderTest, SizesTakeBinaryUnitsOnly) {
  Doc d(
      "[t]\na = \"256MiB\"\nb = \"4 KiB\"\nc = \"10MB\"\nd = \"big\"\ne = \"4MiB\"\n"
      "f = \"99999999999TiB\"\ng = 4096\n");
  uint64_t v = 0;
  EXPECT_EQ(message(d.reader.read_uint64("a", 0, UINT64_MAX, v, true)), "ok");
  EXPECT_EQ(v, 256u << 20);
  EXPECT_EQ(message(d.reader.read_uint64("b", 0, UINT64_MAX, v, true)), "ok");
  EXPECT_EQ(v, 4096u);
  EXPECT_EQ(message(d.reader.read_uint64("c", 0, UINT64_MAX, v, true)),
            "f.toml:4:5: 'c' = \"10MB\" has unknown unit 'MB' (use B, KiB, MiB, GiB or TiB)");
  EXPECT_EQ(message(d.reader.read_uint64("d", 0, UINT64_MAX, v, true)),
            "f.toml:5:5: 'd' = \"big\" is not a size (expected e.g. \"256MiB\")");
  EXPECT_EQ(message(d.reader.read_uint64("e", 4096, 2u << 20, v, true)),
            "f.toml:6:5: 'e' = \"4MiB\" is out of range 4096..2097152");
  EXPECT_EQ(message(d.reader.read_uint64("f", 0, UINT64_MAX, v, true)),
            "f.toml:7:5: 'f' = \"99999999999TiB\" is too large");
  // Without `sizes` a string is a wrong type.
  EXPECT_EQ(message(d.reader.read_uint64("a", 0, UINT64_MAX, v, false)),
            "f.toml:2:5: 'a' must be an integer, not a string");
  EXPECT_EQ(message(d.reader.read_uint64("g", 0, UINT64_MAX, v, true)), "ok");
  EXPECT_EQ(v, 4096u);

  std::string why;
  EXPECT_EQ(parse_size_string("1GiB", &why), std::optional<uint64_t>(1ull << 30));
  EXPECT_EQ(parse_size_string("7B", &why), std::optional<uint64_t>(7));
  EXPECT_EQ(parse_size_string("99999999999999999999", &why), std::nullopt);
  EXPECT_EQ(why, "is too large");
}

TEST(TomlTableReaderTest, PathsAreRelativeToTheBase) {
  Doc d("[t]\nrel = \"a/../b.img\"\nabs = \"/x/y\"\noff = \"\"\nbad = 3\n");
  std::filesystem::path p = "/keep";
  EXPECT_EQ(message(d.reader.read_path("rel", "/run/uldd", p)), "ok");
  EXPECT_EQ(p, "/run/uldd/b.img");
  EXPECT_EQ(message(d.reader.read_path("abs", "/run/uldd", p)), "ok");
  EXPECT_EQ(p, "/x/y");
  EXPECT_EQ(message(d.reader.read_path("off", "/run/uldd", p)), "ok");
  EXPECT_EQ(p, "");
  p = "/keep";
  EXPECT_EQ(message(d.reader.read_path("absent", "/run/uldd", p)), "ok");
  EXPECT_EQ(p, "/keep");
  EXPECT_EQ(message(d.reader.read_path("bad", "/run/uldd", p)),
            "f.toml:5:7: 'bad' must be a string, not an integer");
}

TEST(TomlTableReaderTest, ShownIsTheValueAsWritten) {
  Doc d("[t]\ns = \"2x\"\ni = -3\nf = 1.5\nb = true\n");
  EXPECT_EQ(d.reader.shown("s"), "\"2x\"");
  EXPECT_EQ(d.reader.shown("i"), "-3");
  EXPECT_EQ(d.reader.shown("f"), "1.5");
  EXPECT_EQ(d.reader.shown("b"), "true");
  EXPECT_EQ(d.reader.shown("absent"), "(default)");
  EXPECT_EQ(d.reader.invalid("i", "is odd").describe(), "f.toml:3:5: 'i' = -3 is odd");
}

TEST(TomlTableReaderTest, ParseTomlReportsSyntaxErrorsAndExceptionsAsErrors) {
  auto count = [](const toml::table& root) -> Result<size_t> { return root.size(); };
  Result<size_t> ok = parse_toml("a = 1\nb = 2\n", "f.toml", count);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2u);
  Result<size_t> bad = parse_toml("a = 1\nb = = 2\n", "f.toml", count);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().describe().rfind("f.toml:2:", 0), 0u) << bad.error().describe();
  auto throws = [](const toml::table&) -> Result<size_t> { throw std::runtime_error("boom"); };
  Result<size_t> thrown = parse_toml("a = 1\n", "f.toml", throws);
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error().describe(), "f.toml: boom");
}

TEST(TomlTableReaderTest, ReadTomlTextReadsSmallFilesOnly) {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("toml_table_reader_test." + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "a = 1\n";
  Result<std::string> small = read_toml_text(path, 1);
  ASSERT_TRUE(small.ok()) << small.error().describe();
  EXPECT_EQ(*small, "a = 1\n");
  std::ofstream(path) << std::string((1u << 20) + 1, '#');
  Result<std::string> large = read_toml_text(path, 1);
  std::filesystem::remove(path);
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.error().describe(), path.string() + ": larger than 1 MiB");
  Result<std::string> missing = read_toml_text("/nonexistent/x.toml", 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().describe(),
            "/nonexistent/x.toml: cannot read: No such file or directory");
}

}  // namespace
}  // namespace uldd
