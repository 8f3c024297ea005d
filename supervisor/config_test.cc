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
  EXPECT_EQ(d.policy, "default");
  EXPECT_TRUE(d.driver.empty());
  EXPECT_EQ(d.fuse_path, "/run/uldd/disk0");
  EXPECT_EQ(d.nbd_socket, "/run/uldd/disk0.nbd");
  ASSERT_EQ(c->nics.size(), 1u);
  const NicDeviceConfig& n = c->nics[0];
  EXPECT_EQ(n.name, "nic0");
  EXPECT_EQ(n.mode, DriverMode::kIsolated);
  EXPECT_EQ(n.uio, "emulated");
  EXPECT_EQ(n.tap, "uldd0");
  EXPECT_EQ(n.tap_netns, "");
  EXPECT_EQ(n.wire_tap, "uldd0w");
  EXPECT_EQ(n.wire_netns, "");
  EXPECT_EQ(n.mac, "52:54:00:12:34:56");
  EXPECT_EQ(n.tx_descriptors, 256u);
  EXPECT_EQ(n.rx_descriptors, 256u);
  EXPECT_EQ(n.ring_capacity, 256u);
  EXPECT_EQ(n.buffers, 1024u);
  EXPECT_EQ(n.itr_us, 50u);
  EXPECT_EQ(n.heartbeat_interval_ms, 100u);
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
  EXPECT_EQ(c->nics.at(0).name, "nic0");
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
        BadCase{"queue_depth = -4", "t.toml:7:15: 'queue_depth' = -4 is out of range 2..4096"},
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
        BadCase{"policy = \"Bad Name\"",
                "t.toml:7:10: 'policy' = \"Bad Name\" is not a policy name ([a-z0-9_-]{1,64})"},
        BadCase{"driver = \"relative/driver\"",
                "t.toml:7:10: 'driver' must be an absolute path (or \"\" for the bundled driver)"},
        BadCase{"model_latency_us = 2000000",
                "t.toml:7:20: 'model_latency_us' = 2000000 is out of range 0..1000000"},
        BadCase{"model_max_iops = 20000000",
                "t.toml:7:18: 'model_max_iops' = 20000000 is out of range 0..10000000"},
        BadCase{"mode = \"shared\"",
                "t.toml:7:8: 'mode' = \"shared\" is not \"isolated\" or \"colocated\""},
        BadCase{"uio = \"kernel:00:04.0\"",
                "t.toml:7:7: 'uio' = \"kernel:00:04.0\" is not \"emulated\", "
                "\"kernel:dddd:bb:dd.f\" or \"kernel:vvvv:dddd\""},
        BadCase{"uio = \"kernel:8086:100E\"",
                "t.toml:7:7: 'uio' = \"kernel:8086:100E\" is not \"emulated\", "
                "\"kernel:dddd:bb:dd.f\" or \"kernel:vvvv:dddd\""},
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
  EXPECT_EQ(error_of("[[disk]]\nname = \"a\"\nuio = \"kernel:1b36:0010\"\n"), "");
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
            "t.toml:1:1: no [[disk]] or [[nic]] configured; at least one device is required");
  EXPECT_EQ(error_of(""),
            "t.toml:1:1: no [[disk]] or [[nic]] configured; at least one device is required");
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

// ---- [[nic]] -----------------------------------------------------------------

// Lines 1-3; a line given to with_nic_line() is line 4.
std::string with_nic_line(std::string_view line) {
  return "[[nic]]\nname = \"n0\"\nwire_tap = \"n0w\"\n" + std::string(line) + "\n";
}

TEST(ConfigTest, NicOnlyConfigGetsDefaults) {
  auto c = parse_config(with_nic_line("mode = \"colocated\"\ntap_netns = \"ns-a\""), "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_TRUE(c->disks.empty());
  ASSERT_EQ(c->nics.size(), 1u);
  EXPECT_EQ(c->nics[0].name, "n0");
  EXPECT_EQ(c->nics[0].mode, DriverMode::kColocated);
  EXPECT_EQ(c->nics[0].tap, "uldd0");
  EXPECT_EQ(c->nics[0].tap_netns, "ns-a");
  EXPECT_EQ(c->nics[0].wire_tap, "n0w");
  EXPECT_EQ(c->nics[0].buffers, 1024u);
  EXPECT_EQ(c->nics[0].policy, "default");
  EXPECT_TRUE(c->nics[0].driver.empty());
  auto p = parse_config(with_nic_line("policy = \"nic-drop\"\ndriver = \"/opt/e1000d\""), "t.toml");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->nics[0].policy, "nic-drop");
  EXPECT_EQ(p->nics[0].driver, "/opt/e1000d");
}

class NicRuleTest : public testing::TestWithParam<BadCase> {};

TEST_P(NicRuleTest, RefusedWithExactPosition) {
  EXPECT_EQ(error_of(with_nic_line(GetParam().line)), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, NicRuleTest,
    testing::Values(
        BadCase{"itr = 5", "t.toml:4:1: unknown key 'itr' in [[nic]] (did you mean 'itr_us'?)"},
        BadCase{"wire_tapp = \"x\"",
                "t.toml:4:1: unknown key 'wire_tapp' in [[nic]] (did you mean 'wire_tap'?)"},
        BadCase{"mode = \"shared\"",
                "t.toml:4:8: 'mode' = \"shared\" is not \"isolated\" or \"colocated\""},
        BadCase{"uio = \"kernel:0000:00:3.0\"",
                "t.toml:4:7: 'uio' = \"kernel:0000:00:3.0\" is not \"emulated\", "
                "\"kernel:dddd:bb:dd.f\" or \"kernel:vvvv:dddd\""},
        BadCase{"uio = \"kernel:0000:100e\"",
                "t.toml:4:7: 'uio' = \"kernel:0000:100e\" is not \"emulated\", "
                "\"kernel:dddd:bb:dd.f\" or \"kernel:vvvv:dddd\""},
        BadCase{"tap = \"a-very-long-ifname\"",
                "t.toml:4:7: 'tap' = \"a-very-long-ifname\" is not an interface name "
                "([A-Za-z0-9_.-]{1,15})"},
        BadCase{"tap = \"a b\"",
                "t.toml:4:7: 'tap' = \"a b\" is not an interface name ([A-Za-z0-9_.-]{1,15})"},
        BadCase{"tap = 5", "t.toml:4:7: 'tap' must be a string, not an integer"},
        BadCase{"wire_netns = \"../etc\"",
                "t.toml:4:14: 'wire_netns' = \"../etc\" is not a netns name ([A-Za-z0-9_.-]{1,64}, "
                "\"\" = none)"},
        BadCase{"mac = \"52:54:00:12:34\"",
                "t.toml:4:7: 'mac' = \"52:54:00:12:34\" is not six hex pairs separated by ':'"},
        BadCase{"mac = \"52-54-00-12-34-56\"",
                "t.toml:4:7: 'mac' = \"52-54-00-12-34-56\" is not six hex pairs separated by ':'"},
        BadCase{"mac = \"01:00:5e:00:00:01\"",
                "t.toml:4:7: 'mac' = \"01:00:5e:00:00:01\" is a multicast address"},
        BadCase{"mac = \"00:00:00:00:00:00\"",
                "t.toml:4:7: 'mac' = \"00:00:00:00:00:00\" is all zero"},
        BadCase{"tx_descriptors = 100",
                "t.toml:4:18: 'tx_descriptors' = 100 is not a power of two"},
        BadCase{"rx_descriptors = 4", "t.toml:4:18: 'rx_descriptors' = 4 is out of range 8..4096"},
        BadCase{"rx_descriptors = \"256\"",
                "t.toml:4:18: 'rx_descriptors' must be an integer, not a string"},
        BadCase{"ring_capacity = 131072",
                "t.toml:4:17: 'ring_capacity' = 131072 is out of range 2..65536"},
        BadCase{"buffers = 65537", "t.toml:4:11: 'buffers' = 65537 is out of range 16..65536"},
        BadCase{"buffers = -1", "t.toml:4:11: 'buffers' = -1 is out of range 16..65536"},
        BadCase{"itr_us = 20000", "t.toml:4:10: 'itr_us' = 20000 is out of range 0..16000"},
        BadCase{"heartbeat_interval_ms = 0",
                "t.toml:4:25: 'heartbeat_interval_ms' = 0 is out of range 1..60000"},
        BadCase{"policy = \"Fast!\"",
                "t.toml:4:10: 'policy' = \"Fast!\" is not a policy name ([a-z0-9_-]{1,64})"},
        BadCase{"policy = 3", "t.toml:4:10: 'policy' must be a string, not an integer"},
        BadCase{"polcy = \"x\"",
                "t.toml:4:1: unknown key 'polcy' in [[nic]] (did you mean 'policy'?)"},
        BadCase{
            "driver = \"bin/drv\"",
            "t.toml:4:10: 'driver' must be an absolute path (or \"\" for the bundled driver)"}));

TEST(ConfigTest, NicOnARealDevice) {
  EXPECT_EQ(error_of("[[nic]]\nname = \"n\"\nuio = \"kernel:8086:100e\"\n"), "");
  EXPECT_EQ(error_of("[[nic]]\nname = \"n\"\nuio = \"kernel:0000:00:02.0\"\n"), "");
}

TEST(ConfigTest, NicNamesAndTapsAreUnique) {
  const std::string a = "[[nic]]\nname = \"a\"\ntap = \"t0\"\nwire_tap = \"w0\"\n";
  EXPECT_EQ(error_of("\n[[nic]]\nmode = \"isolated\"\n"), "t.toml:2:1: [[nic]] has no 'name'");
  EXPECT_EQ(error_of(a + "[[nic]]\nname = \"a\"\ntap = \"t1\"\nwire_tap = \"w1\"\n"),
            "t.toml:6:8: duplicate device name 'a' (first: [[nic]] at 2:8)");
  EXPECT_EQ(error_of("[[disk]]\nname = \"a\"\nbacking_file = \"/a\"\n" + a),
            "t.toml:5:8: duplicate device name 'a' (first: a [[disk]])");
  EXPECT_EQ(error_of(a + "[[nic]]\nname = \"b\"\ntap = \"t0\"\nwire_tap = \"w1\"\n"),
            "t.toml:7:7: 'tap' = \"t0\" is already used by a.tap at 3:7");
  EXPECT_EQ(error_of(a + "[[nic]]\nname = \"b\"\ntap = \"w0\"\nwire_tap = \"w1\"\n"),
            "t.toml:7:7: 'tap' = \"w0\" is already used by a.wire_tap at 4:12");
  // The default wire_tap equals nothing else, but two NICs both left at the default clash.
  EXPECT_EQ(error_of("[[nic]]\nname = \"a\"\n[[nic]]\nname = \"b\"\ntap = \"t1\"\n"),
            "t.toml:3:1: 'wire_tap' = \"uldd0w\" is already used by a.wire_tap at 1:1");
  // The same name in different namespaces is two different interfaces.
  EXPECT_EQ(
      error_of(a + "[[nic]]\nname = \"b\"\ntap = \"t0\"\ntap_netns = \"x\"\nwire_tap = \"w1\"\n"),
      "");
  EXPECT_EQ(error_of("[nic]\nname = \"a\"\n"),
            "t.toml:1:1: 'nic' must be an array of tables ([[nic]])");
  EXPECT_EQ(error_of(a + "[[nics]]\n"), "t.toml:5:3: unknown table [[nics]] (did you mean 'nic'?)");
}

}  // namespace
}  // namespace uldd::supervisor
