// Level names (config, --log-level, D-Bus SetLogLevel), run-time level
// changes, and the choice of journal or text by JOURNAL_STREAM against the
// real fds 1 and 2.
#include "supervisor/logging/configure_logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "supervisor/logging/journal_stream.h"

namespace uldd::supervisor::logging {
namespace {

std::string dev_ino(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(ConfigureLoggingTest, LevelNames) {
  EXPECT_EQ(parse_log_level("trace").value(), spdlog::level::trace);
  EXPECT_EQ(parse_log_level("warn").value(), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("warning").value(), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error").value(), spdlog::level::err);
  EXPECT_EQ(parse_log_level("off").value(), spdlog::level::off);
  auto bad = parse_log_level("verbose");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, EINVAL);
  EXPECT_NE(bad.error().message.find("verbose"), std::string::npos);
}

TEST(ConfigureLoggingTest, LevelChangesAtRunTimeAndABadNameChangesNothing) {
  ASSERT_TRUE(configure_logging("info"));
  EXPECT_EQ(log_level_name(), "info");
  ASSERT_TRUE(set_log_level("debug"));
  EXPECT_EQ(log_level_name(), "debug");
  EXPECT_TRUE(spdlog::default_logger()->should_log(spdlog::level::debug));
  ASSERT_TRUE(set_log_level("warning"));
  EXPECT_EQ(log_level_name(), "warn");
  EXPECT_FALSE(set_log_level("loud"));
  EXPECT_EQ(log_level_name(), "warn");
  EXPECT_FALSE(configure_logging("loud"));
  ASSERT_TRUE(configure_logging("error"));  // twice is fine
  EXPECT_EQ(log_level_name(), "error");
}

TEST(ConfigureLoggingTest, StreamIsJournalComparesDeviceAndInode) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  int fd = ::fileno(f);
  std::string id = dev_ino(fd);
  EXPECT_TRUE(stream_is_journal(id, fd));
  std::string other =
      id.substr(0, id.find(':') + 1) + std::to_string(std::stoull(id.substr(id.find(':') + 1)) + 1);
  EXPECT_FALSE(stream_is_journal(other, fd));
  EXPECT_FALSE(stream_is_journal("", fd));
  EXPECT_FALSE(stream_is_journal(":" + id.substr(id.find(':') + 1), fd));
  EXPECT_FALSE(stream_is_journal(id + "x", fd));
  EXPECT_FALSE(stream_is_journal(id, -1));
  std::fclose(f);
}

TEST(ConfigureLoggingTest, TheJournalOnlyWhenFd2Or1IsTheNamedStream) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  std::string id = dev_ino(::fileno(f));
  EXPECT_EQ(choose_log_target(nullptr), LogTarget::kStderrText);
  EXPECT_EQ(choose_log_target(id.c_str()), LogTarget::kStderrText);  // our stderr is not that file
  for (int target : {2, 1}) {
    int saved = ::dup(target);
    ASSERT_GE(saved, 0);
    ASSERT_EQ(::dup2(::fileno(f), target), target);
    LogTarget chosen = choose_log_target(id.c_str());
    ::dup2(saved, target);
    ::close(saved);
    EXPECT_EQ(chosen, LogTarget::kJournal) << "fd " << target;
  }
  std::fclose(f);
}

}  // namespace
}  // namespace uldd::supervisor::logging
