// MetricsFile on a real directory: content replaced by rename (a new inode
// each time, so an open reader keeps a whole old text), 0644 under any
// umask, no temporary file left, failures reported with the old file kept.
#include "supervisor/metrics/metrics_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace uldd::supervisor::metrics {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MetricsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("uldd-metrics-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(MetricsFileTest, ReplacesTheFileWholeWith0644) {
  mode_t old_umask = ::umask(077);
  MetricsFile f(dir_ / "uldd.prom");
  ASSERT_TRUE(f.write("a 1\n# EOF\n"));
  struct stat first {};
  ASSERT_EQ(::stat(f.path().c_str(), &first), 0);
  std::ifstream reader(f.path());  // a reader in the middle of the old text
  ASSERT_TRUE(f.write("a 2\n# EOF\n"));
  ::umask(old_umask);
  struct stat second {};
  ASSERT_EQ(::stat(f.path().c_str(), &second), 0);
  EXPECT_EQ(second.st_mode & 07777, 0644u);
  EXPECT_NE(first.st_ino, second.st_ino) << "not replaced by rename";
  EXPECT_EQ(slurp(f.path()), "a 2\n# EOF\n");
  std::stringstream old_text;
  old_text << reader.rdbuf();
  EXPECT_EQ(old_text.str(), "a 1\n# EOF\n");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u) << "temporary file left behind";
  f.remove();
  EXPECT_FALSE(std::filesystem::exists(f.path()));
}

TEST_F(MetricsFileTest, AFailureIsReportedAndKeepsTheOldFile) {
  MetricsFile missing(dir_ / "no-such-dir" / "uldd.prom");
  auto s = missing.write("x\n");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ENOENT);
  EXPECT_NE(s.error().message.find("no-such-dir"), std::string::npos);

  // The target is a directory: rename fails, the temporary file is removed.
  std::filesystem::create_directories(dir_ / "busy.prom" / "x");
  MetricsFile busy(dir_ / "busy.prom");
  ASSERT_FALSE(busy.write("x\n"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / ".busy.prom.tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "busy.prom"));
}

}  // namespace
}  // namespace uldd::supervisor::metrics
