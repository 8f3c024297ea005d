// Tests of the policy store: a reload reads a directory of files all or
// nothing, a failed reload keeps the last good set and reports every bad file
// with its position, and lookups fall back to the built-in default.
#include "policies/policy_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "policies/policy_parser.h"

namespace uldd::policies {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "uldd-policy-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  fs::path dir_;
};

TEST_F(PolicyStoreTest, BeforeAnyReloadOnlyTheBuiltInDefault) {
  PolicyStore store(dir_);
  EXPECT_EQ(store.generation(), 0u);
  EXPECT_EQ(store.names(), std::vector<std::string>{"default"});
  EXPECT_EQ(*store.find_or_default("nvme"), default_policy());
  EXPECT_EQ(store.find("nvme"), nullptr);
}

TEST_F(PolicyStoreTest, ReloadReadsEveryTomlFile) {
  write("nvme.toml", "[restart]\nintensity = 3\n");
  write("e1000.toml", "name = \"nic\"\n[recovery]\nnic_tx_inflight = \"drop\"\n");
  write("README.md", "not a policy");
  write(".#nvme.toml", "editor lock file, not a policy = = =");
  fs::create_directory(dir_ / "old.toml");  // a directory, not a file
  PolicyStore store(dir_);
  auto r = store.reload();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->files, 2u);
  EXPECT_EQ(r->policies, 3u);
  EXPECT_EQ(r->generation, 1u);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"default", "nic", "nvme"}));
  EXPECT_EQ(store.find("nvme")->intensity, 3u);
  EXPECT_EQ(store.find("nic")->nic_tx_inflight, TxInflightAction::kDrop);
  EXPECT_EQ(store.find_or_default("nothing")->name, "default");
  EXPECT_TRUE(store.last_errors().empty());
}

TEST_F(PolicyStoreTest, FailedReloadKeepsTheLastGoodSet) {
  write("a.toml", "[restart]\nintensity = 3\n");
  write("b.toml", "[restart]\nintensity = 4\n");
  PolicyStore store(dir_);
  ASSERT_TRUE(store.reload().ok());
  std::shared_ptr<const RestartPolicy> held = store.find("a");

  // One file gets better, two get broken: nothing of the new set is taken.
  write("a.toml", "[restart]\nintensity = 30\n");
  write("b.toml", "[restart]\nintensity = -4\n");
  write("c.toml", "[heartbeat]\ninterval = \"1s\"\ntimeout = \"1s\"\n");
  auto r = store.reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().describe(),
            (dir_ / "b.toml").string() + ":2:13: 'intensity' = -4 is out of range 0..10000\n" +
                (dir_ / "c.toml").string() +
                ":3:11: heartbeat 'timeout' (1s) must be greater than 'interval' (1s)");
  EXPECT_EQ(store.last_errors().size(), 2u);
  EXPECT_EQ(store.generation(), 1u);
  EXPECT_EQ(store.find("a")->intensity, 3u);
  EXPECT_EQ(store.find("b")->intensity, 4u);
  EXPECT_EQ(store.find("c"), nullptr);
  EXPECT_EQ(held->intensity, 3u);

  // Fixed: the whole new set comes in.
  write("b.toml", "[restart]\nintensity = 40\n");
  write("c.toml", "");
  auto fixed = store.reload();
  ASSERT_TRUE(fixed.ok()) << fixed.error().describe();
  EXPECT_EQ(fixed->generation, 2u);
  EXPECT_EQ(store.find("a")->intensity, 30u);
  EXPECT_EQ(store.find("b")->intensity, 40u);
  EXPECT_NE(store.find("c"), nullptr);
  EXPECT_TRUE(store.last_errors().empty());
  EXPECT_EQ(held->intensity, 3u);  // a policy handed out earlier is not changed under its holder
}

TEST_F(PolicyStoreTest, DuplicateNamesAreRefusedWithBothPlaces) {
  write("a.toml", "name = \"disk\"\n");
  write("b.toml", "\n\nname = \"disk\"\n");
  PolicyStore store(dir_);
  auto r = store.reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().describe(), (dir_ / "b.toml").string() +
                                      ":3:8: policy name 'disk' is already defined by " +
                                      (dir_ / "a.toml").string() + ":1:8");
  // A file named like another file's `name =`.
  write("b.toml", "");
  write("disk.toml", "");
  r = store.reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().describe(), (dir_ / "disk.toml").string() +
                                      ":1:1: policy name 'disk' is already defined by " +
                                      (dir_ / "a.toml").string() + ":1:8");
}

TEST_F(PolicyStoreTest, AFileCanReplaceTheBuiltInDefault) {
  write("default.toml", "[restart]\nmode = \"never\"\nintensity = 0\n");
  PolicyStore store(dir_);
  ASSERT_TRUE(store.reload().ok());
  EXPECT_EQ(store.find_or_default("anything")->restart, RestartMode::kNever);
  EXPECT_EQ(store.names(), std::vector<std::string>{"default"});
}

TEST_F(PolicyStoreTest, MissingDirectoryIsAnErrorAndKeepsTheSet) {
  PolicyStore store(dir_ / "nope");
  auto r = store.reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().describe(),
            (dir_ / "nope").string() + ": cannot list policy directory: No such file or directory");
  EXPECT_EQ(store.find_or_default("x")->name, "default");
}

TEST_F(PolicyStoreTest, ShippedExamplesLoadAsAStore) {
  PolicyStore store(fs::path(ULDD_SOURCE_DIR) / "policies/examples");
  auto r = store.reload();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->files, 6u);
  EXPECT_EQ(store.names(), (std::vector<std::string>{
                               "aggressive-fast-restart", "cautious-production", "default",
                               "never-restart", "run-hook", "stop-supervisor-on-exhaustion"}));
}

}  // namespace
}  // namespace uldd::policies
