// Tests of the TOML configuration: the default, every validation rule (with the
// exact line:column it is reported at), size units and path resolution.
#include "supervisor/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace uldd::supervisor {
namespace {

// Lines 1-6; an extra disk line given to with_disk_line() is line 7, so a
// value on it is at column len("key = ") + 1.
constexpr std::string_view kHead =
    "[supervisor]\n"
    "runtime_dir = \"/srv/u\"\n"
    "\n"
    "[[disk]]\n"
    "name = \"d0\"\n"
    "backing_file = \"d0.img\"\n";

std::string with_disk_line(std::string_view line) {
  return std::string(kHead) + std::string(line) + "\n";
}

// The error message parse_config gives for `text` ("" if it parsed).
std::string error_of(const std::string& text) {
  auto c = parse_config(text, "t.toml");
  return c.ok() ? "" : c.error().describe();
}

TEST(ConfigTest, DefaultParsesToDocumentedValues) {
  auto c = parse_config(kDefaultConfigToml, "<embedded default>");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->runtime_dir, "/run/uldd");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->status_interval_ms, 2000u);
  EXPECT_EQ(c->driver_user, "nobody");
  ASSERT_EQ(c->disks.size(), 1u);
  const DiskDeviceConfig& d = c->disks[0];
  EXPECT_EQ(d.name, "disk0");
  EXPECT_EQ(d.mode, DriverMode::kIsolated);
  EXPECT_EQ(d.uio, "emulated");
  EXPECT_EQ(d.backing_file, "/var/lib/uldd/disk0.img");
  EXPECT_EQ(d.size_bytes, 256ull << 20);
  EXPECT_EQ(d.model_latency_us, 0u);
  EXPECT_EQ(d.model_max_iops, 0u);
  EXPECT_EQ(d.io_queues, 1u);
  EXPECT_EQ(d.queue_depth, 128u);
  EXPECT_EQ(d.ring_capacity, 256u);
  EXPECT_EQ(d.max_transfer, 128u << 10);
  EXPECT_EQ(d.buffers, 256u);
  EXPECT_EQ(d.irq_coalesce_threshold, 1u);
  EXPECT_EQ(d.irq_coalesce_time_us, 0u);
  EXPECT_EQ(d.heartbeat_interval_ms, 100u);
  EXPECT_EQ(d.fuse_path, "/run/uldd/disk0");
  EXPECT_EQ(d.nbd_socket, "/run/uldd/disk0.nbd");
}

TEST(ConfigTest, PackagedFileIsTheEmbeddedDefault) {
  std::string path = std::string(ULDD_SOURCE_DIR) + "/packaging/uldd.toml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), kDefaultConfigToml);
  auto c = load_config_file(path);
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->disks.at(0).name, "disk0");
}

TEST(ConfigTest, MinimalDiskGetsHeaderDefaults) {
  auto c = parse_config(with_disk_line(""), "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  const DiskDeviceConfig& d = c->disks.at(0);
  EXPECT_EQ(d.backing_file, "/srv/u/d0.img");
  EXPECT_EQ(d.size_bytes, 256ull << 20);
  EXPECT_EQ(d.queue_depth, 128u);
  EXPECT_TRUE(d.fuse_path.empty());
  EXPECT_TRUE(d.nbd_socket.empty());
}

TEST(ConfigTest, MissingFileNamesPathAndReason) {
  auto c = load_config_file("/nonexistent/uldd.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().describe(), "/nonexistent/uldd.toml: cannot read: No such file or directory");
}

TEST(ConfigTest, SyntaxErrorHasPosition) {
  std::string e = error_of(with_disk_line("queue_depth = = 4"));
  EXPECT_EQ(e.rfind("t.toml:7:15: ", 0), 0u) << e;
  e = error_of("[supervisor]\nlog_level = \"info\nname = 1\n");
  EXPECT_EQ(e.rfind("t.toml:2:", 0), 0u) << e;
}

TEST(ConfigTest, DuplicateTomlKeyIsASyntaxError) {
  std::string e = error_of(with_disk_line("name = \"d1\""));
  EXPECT_EQ(e.rfind("t.toml:7:", 0), 0u) << e;
}

struct BadCase {
  std::string_view line;      // line 7 of the file, inside the [[disk]] table
  std::string_view expected;  // the whole message
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.line;
}

class DiskRuleTest : public testing::TestWithParam<BadCase> {};

TEST_P(DiskRuleTest, RefusedWithExactPosition) {
  EXPECT_EQ(error_of(with_disk_line(GetParam().line)), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, DiskRuleTest,
    testing::Values(
        BadCase{"queue_dept = 4",
                "t.toml:7:1: unknown key 'queue_dept' in [[disk]] (did you mean 'queue_depth'?)"},
        BadCase{"size_bytes = 4096",
                "t.toml:7:1: unknown key 'size_bytes' in [[disk]] (did you mean 'size'?)"},
        BadCase{"frobnicate = 1", "t.toml:7:1: unknown key 'frobnicate' in [[disk]]"},
        BadCase{"queue_depth = \"128\"",
                "t.toml:7:15: 'queue_depth' must be an integer, not a string"},
        BadCase{"size = 1.5",
                "t.toml:7:8: 'size' must be an integer or a size string, not a float"},
        BadCase{"mode = true", "t.toml:7:8: 'mode' must be a string, not a boolean"},
        BadCase{"fuse_path = [\"a\"]", "t.toml:7:13: 'fuse_path' must be a string, not an array"},
        BadCase{"queue_depth = -4", "t.toml:7:15: 'queue_depth' must not be negative"},
        BadCase{"queue_depth = 100", "t.toml:7:15: 'queue_depth' = 100 is not a power of two"},
        BadCase{"queue_depth = 8192", "t.toml:7:15: 'queue_depth' = 8192 is out of range 2..4096"},
        BadCase{"queue_depth = 1", "t.toml:7:15: 'queue_depth' = 1 is out of range 2..4096"},
        BadCase{"io_queues = 0", "t.toml:7:13: 'io_queues' = 0 is out of range 1..8"},
        BadCase{"io_queues = 9", "t.toml:7:13: 'io_queues' = 9 is out of range 1..8"},
        BadCase{"ring_capacity = 3", "t.toml:7:17: 'ring_capacity' = 3 is not a power of two"},
        BadCase{"ring_capacity = 131072",
                "t.toml:7:17: 'ring_capacity' = 131072 is out of range 2..65536"},
        BadCase{"max_transfer = \"6KiB\"",
                "t.toml:7:16: 'max_transfer' = 6144 is not a multiple of 4096"},
        BadCase{"max_transfer = \"4MiB\"",
                "t.toml:7:16: 'max_transfer' = \"4MiB\" is out of range 4096..2097152"},
        BadCase{"max_transfer = 512",
                "t.toml:7:16: 'max_transfer' = 512 is out of range 4096..2097152"},
        BadCase{"size = 0", "t.toml:7:8: 'size' must be greater than 0"},
        BadCase{"size = 5000", "t.toml:7:8: 'size' = 5000 is not a multiple of 4096"},
        BadCase{"size = \"1MB\"",
                "t.toml:7:8: 'size' = \"1MB\" has unknown unit 'MB' (use B, KiB, MiB, GiB or TiB)"},
        BadCase{"size = \"big\"",
                "t.toml:7:8: 'size' = \"big\" is not a size (expected e.g. \"256MiB\")"},
        BadCase{"size = \"99999999999TiB\"",
                "t.toml:7:8: 'size' = \"99999999999TiB\" is too large"},
        BadCase{"buffers = 8193",
                "t.toml:7:11: 'buffers' * 'max_transfer' = 1073872896 bytes exceeds 1GiB of DMA "
                "buffers"},
        BadCase{"buffers = 0", "t.toml:7:11: 'buffers' = 0 is out of range 1..4294967295"},
        BadCase{"irq_coalesce_threshold = 0",
                "t.toml:7:26: 'irq_coalesce_threshold' = 0 is out of range 1..256"},
        BadCase{"irq_coalesce_threshold = 257",
                "t.toml:7:26: 'irq_coalesce_threshold' = 257 is out of range 1..256"},
        BadCase{"irq_coalesce_time_us = 150",
                "t.toml:7:24: 'irq_coalesce_time_us' = 150 is not a multiple of 100"},
        BadCase{"irq_coalesce_time_us = 25600",
                "t.toml:7:24: 'irq_coalesce_time_us' = 25600 is out of range 0..25500"},
        BadCase{"heartbeat_interval_ms = 0",
                "t.toml:7:25: 'heartbeat_interval_ms' = 0 is out of range 1..60000"},
        BadCase{"model_latency_us = 2000000",
                "t.toml:7:20: 'model_latency_us' = 2000000 is out of range 0..1000000"},
        BadCase{"model_max_iops = 20000000",
                "t.toml:7:18: 'model_max_iops' = 20000000 is out of range 0..10000000"},
        BadCase{"mode = \"shared\"",
                "t.toml:7:8: 'mode' = \"shared\" is not \"isolated\" or \"colocated\""},
        BadCase{"uio = \"kernel:00:04.0\"",
                "t.toml:7:7: 'uio' = \"kernel:00:04.0\" is not \"emulated\" or "
                "\"kernel:dddd:bb:dd.f\""},
        BadCase{"[disk.extra]", "t.toml:7:7: unknown key 'extra' in [[disk]]"}));

TEST(ConfigTest, DiskNamePattern) {
  const std::string prefix = "[[disk]]\nbacking_file = \"/x\"\nname = ";
  EXPECT_EQ(error_of(prefix + "\"Disk0\"\n"),
            "t.toml:3:8: disk name 'Disk0' does not match [a-z0-9_-]{1,15}");
  EXPECT_EQ(error_of(prefix + "\"abcdefghijklmnop\"\n"),
            "t.toml:3:8: disk name 'abcdefghijklmnop' does not match [a-z0-9_-]{1,15}");
  EXPECT_EQ(error_of(prefix + "\"\"\n"),
            "t.toml:3:8: disk name '' does not match [a-z0-9_-]{1,15}");
  EXPECT_EQ(error_of(prefix + "\"a.b\"\n"),
            "t.toml:3:8: disk name 'a.b' does not match [a-z0-9_-]{1,15}");
  EXPECT_EQ(error_of(prefix + "\"abcdefghijklmno\"\n"), "");  // 15 is fine
  EXPECT_EQ(error_of(prefix + "\"a_0-z\"\n"), "");
}

TEST(ConfigTest, DiskWithoutNameOrBackingFile) {
  EXPECT_EQ(error_of("\n[[disk]]\nsize = 4096\n"), "t.toml:2:1: [[disk]] has no 'name'");
  EXPECT_EQ(error_of("[[disk]]\nname = \"a\"\n"),
            "t.toml:1:1: disk 'a' needs a 'backing_file' (uio = \"emulated\")");
  // A real device brings its own media.
  EXPECT_EQ(error_of("[[disk]]\nname = \"a\"\nuio = \"kernel:0000:00:04.0\"\n"), "");
}

TEST(ConfigTest, SupervisorTableRules) {
  const std::string disk = "\n[[disk]]\nname = \"a\"\nbacking_file = \"/a\"\n";
  EXPECT_EQ(error_of("[supervisor]\nruntim_dir = \"/x\"\n" + disk),
            "t.toml:2:1: unknown key 'runtim_dir' in [supervisor] (did you mean 'runtime_dir'?)");
  EXPECT_EQ(error_of("[supervisor]\nruntime_dir = \"run/uldd\"\n" + disk),
            "t.toml:2:15: 'runtime_dir' must be an absolute path");
  EXPECT_EQ(error_of("[supervisor]\nlog_level = \"verbose\"\n" + disk),
            "t.toml:2:13: 'log_level' = \"verbose\" is not one of trace, debug, info, warn, error");
  EXPECT_EQ(error_of("[supervisor]\nstatus_interval_ms = \"2s\"\n" + disk),
            "t.toml:2:22: 'status_interval_ms' must be an integer, not a string");
  EXPECT_EQ(error_of("[supervisor]\ndriver_user = \"a b\"\n" + disk),
            "t.toml:2:15: 'driver_user' is not a valid user name");
  EXPECT_EQ(error_of("[supervisor]\ndriver_user = \"uldd-drv\"\nstatus_interval_ms = 0\n" + disk),
            "");
}

TEST(ConfigTest, TopLevelShapeRules) {
  const std::string disk = "[[disk]]\nname = \"a\"\nbacking_file = \"/a\"\n";
  EXPECT_EQ(error_of(disk + "[superviser]\n"),
            "t.toml:4:2: unknown table [superviser] (did you mean 'supervisor'?)");
  EXPECT_EQ(error_of(disk + "[[disks]]\nname = \"b\"\n"),
            "t.toml:4:3: unknown table [[disks]] (did you mean 'disk'?)");
  EXPECT_EQ(error_of("log_level = \"info\"\n" + disk),
            "t.toml:1:1: unknown key 'log_level' at the top level");
  EXPECT_EQ(error_of("[[supervisor]]\n" + disk),
            "t.toml:1:1: 'supervisor' must be a table ([supervisor])");
  EXPECT_EQ(error_of("[disk]\nname = \"a\"\n"),
            "t.toml:1:1: 'disk' must be an array of tables ([[disk]])");
  EXPECT_EQ(error_of("disk = [1, 2]\n"),
            "t.toml:1:8: 'disk' must be an array of tables ([[disk]])");
  EXPECT_EQ(error_of("[supervisor]\n"),
            "t.toml:1:1: no [[disk]] configured; at least one is required");
  EXPECT_EQ(error_of(""), "t.toml:1:1: no [[disk]] configured; at least one is required");
}

TEST(ConfigTest, DuplicateNamesAndPaths) {
  const std::string a = "[[disk]]\nname = \"a\"\nbacking_file = \"/a.img\"\nfuse_path = \"a\"\n";
  EXPECT_EQ(error_of(a + "[[disk]]\nname = \"a\"\nbacking_file = \"/b.img\"\n"),
            "t.toml:6:8: duplicate disk name 'a' (first at 2:8)");
  EXPECT_EQ(error_of(a + "[[disk]]\nname = \"b\"\nbacking_file = \"/a.img\"\n"),
            "t.toml:7:16: 'backing_file' = /a.img is already used by a.backing_file at 3:16");
  // Different keys and spellings, same file once resolved.
  EXPECT_EQ(error_of(a + "[[disk]]\nname = \"b\"\nbacking_file = \"/b.img\"\n"
                         "nbd_socket = \"/run/uldd/x/../a\"\n"),
            "t.toml:8:14: 'nbd_socket' = /run/uldd/a is already used by a.fuse_path at 4:13");
  EXPECT_EQ(error_of(a + "[[disk]]\nname = \"b\"\nbacking_file = \"/b.img\"\nfuse_path = \"b\"\n"),
            "");
}

TEST(ConfigTest, SizeUnits) {
  struct {
    std::string_view text;
    uint64_t bytes;
  } cases[] = {{"1073741824", 1ull << 30},   {"\"1GiB\"", 1ull << 30},
               {"\"128KiB\"", 128ull << 10}, {"\"256MiB\"", 256ull << 20},
               {"\"64 MiB\"", 64ull << 20},  {"\"8192\"", 8192},
               {"\"8192B\"", 8192},          {"\"2TiB\"", 2ull << 40}};
  for (const auto& c : cases) {
    auto r = parse_config(with_disk_line("size = " + std::string(c.text)), "t.toml");
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().describe();
    EXPECT_EQ(r->disks[0].size_bytes, c.bytes) << c.text;
  }
  auto r = parse_config(with_disk_line("max_transfer = \"2MiB\"\nbuffers = 512"), "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->disks[0].max_transfer, 2u << 20);
  EXPECT_EQ(r->disks[0].buffers, 512u);  // exactly 1 GiB of buffers is allowed
  r = parse_config(with_disk_line("max_transfer = 8192"), "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->disks[0].max_transfer, 8192u);
}

TEST(ConfigTest, RelativePathsResolveAgainstRuntimeDir) {
  // [supervisor] after the disks still decides where relative paths go.
  auto c = parse_config(
      "[[disk]]\nname = \"a\"\nbacking_file = \"img/a.img\"\nfuse_path = \"sub/../a\"\n"
      "nbd_socket = \"/abs/a.sock\"\nmode = \"colocated\"\n"
      "[supervisor]\nruntime_dir = \"/var/run//uldd/\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->runtime_dir, "/var/run/uldd/");
  const DiskDeviceConfig& d = c->disks.at(0);
  EXPECT_EQ(d.backing_file, "/var/run/uldd/img/a.img");
  EXPECT_EQ(d.fuse_path, "/var/run/uldd/a");
  EXPECT_EQ(d.nbd_socket, "/abs/a.sock");
  EXPECT_EQ(d.mode, DriverMode::kColocated);
}

TEST(ConfigTest, LoadsFromFile) {
  char dir[] = "/tmp/uldd-config-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/u.toml";
  std::ofstream(path) << with_disk_line("io_queues = 12");
  auto c = load_config_file(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().describe(), path + ":7:13: 'io_queues' = 12 is out of range 1..8");
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace uldd::supervisor
