// JournalSink with a recording JournalWriter: the exact fields of an entry,
// scoped fields (nesting, hiding, bad names, other threads), priorities, and
// the text fallback when the journal refuses an entry.
#include "supervisor/logging/journal_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "supervisor/logging/log_fields.h"

namespace uldd::supervisor::logging {
namespace {

struct Recorded {
  std::vector<std::vector<std::string>> entries;
  bool fail = false;
};

class RecordingWriter final : public JournalWriter {
 public:
  explicit RecordingWriter(Recorded& r) : r_(r) {}
  Status send(const std::vector<std::string>& fields) override {
    if (r_.fail) return Error{ENOENT, "sd_journal_sendv"};
    r_.entries.push_back(fields);
    return {};
  }

 private:
  Recorded& r_;
};

class JournalSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK), 0);
    auto sink = std::make_shared<JournalSink>(std::make_unique<RecordingWriter>(rec_),
                                              "uldd-supervisor", pipe_[1]);
    logger_ = std::make_shared<spdlog::logger>("test", sink);
    logger_->set_level(spdlog::level::trace);
  }
  void TearDown() override {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  std::string fallback_text() {
    char buf[4096];
    ssize_t n = ::read(pipe_[0], buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  const std::vector<std::string>& last() { return rec_.entries.back(); }
  bool has(const std::string& field) { return std::ranges::count(last(), field) == 1; }
  size_t count_named(const std::string& name) {
    return static_cast<size_t>(std::ranges::count_if(
        last(), [&](const std::string& f) { return f.starts_with(name + "="); }));
  }

  Recorded rec_;
  int pipe_[2]{-1, -1};
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(JournalSinkTest, AMessageWithoutScopedFields) {
  logger_->info("disk0: up: {} requests", 3);
  ASSERT_EQ(rec_.entries.size(), 1u);
  EXPECT_EQ(last(), (std::vector<std::string>{"MESSAGE=disk0: up: 3 requests", "PRIORITY=6",
                                              "SYSLOG_IDENTIFIER=uldd-supervisor"}));
}

TEST_F(JournalSinkTest, ScopedFieldsNestAndTheInnerOneHidesTheOuter) {
  {
    ScopedLogFields device{{"DEVICE", "disk0"}, {"DRIVER_PID", "1234"}};
    logger_->warn("outer");
    EXPECT_TRUE(has("MESSAGE=outer"));
    EXPECT_TRUE(has("PRIORITY=4"));
    EXPECT_TRUE(has("DEVICE=disk0"));
    EXPECT_TRUE(has("DRIVER_PID=1234"));
    {
      ScopedLogFields event{{"EVENT", "recovered"}, {"DOWNTIME_US", "812"}, {"DRIVER_PID", "1240"}};
      logger_->info("inner");
      EXPECT_TRUE(has("DEVICE=disk0"));
      EXPECT_TRUE(has("EVENT=recovered"));
      EXPECT_TRUE(has("DOWNTIME_US=812"));
      EXPECT_TRUE(has("DRIVER_PID=1240"));
      EXPECT_EQ(count_named("DRIVER_PID"), 1u);
    }
    logger_->info("outer again");
    EXPECT_TRUE(has("DRIVER_PID=1234"));
    EXPECT_EQ(count_named("EVENT"), 0u);
  }
  logger_->info("none");
  EXPECT_EQ(last().size(), 3u);
  EXPECT_TRUE(current_log_fields().empty());
}

TEST_F(JournalSinkTest, BadOrReservedNamesAreDropped) {
  ScopedLogFields f{
      {"device", "x"}, {"_PID", "1"}, {"MESSAGE", "forged"}, {"PRIORITY", "0"}, {"OK_2", "y"}};
  logger_->error("real");
  EXPECT_EQ(last(), (std::vector<std::string>{"MESSAGE=real", "PRIORITY=3",
                                              "SYSLOG_IDENTIFIER=uldd-supervisor", "OK_2=y"}));
}

TEST_F(JournalSinkTest, FieldsAreThisThreadsOnly) {
  ScopedLogFields mine{{"DEVICE", "disk0"}};
  std::thread other([&] { logger_->info("from another thread"); });
  other.join();
  EXPECT_EQ(count_named("DEVICE"), 0u);
  logger_->info("from mine");
  EXPECT_TRUE(has("DEVICE=disk0"));
}

TEST_F(JournalSinkTest, CallSiteFieldsWhenKnown) {
  SPDLOG_LOGGER_CALL(logger_, spdlog::level::critical, "with a source location");
  EXPECT_TRUE(has("PRIORITY=2"));
  EXPECT_EQ(count_named("CODE_FILE"), 1u);
  EXPECT_EQ(count_named("CODE_LINE"), 1u);
}

TEST_F(JournalSinkTest, PrioritiesFollowSyslog) {
  EXPECT_EQ(JournalSink::priority(spdlog::level::trace), 7);
  EXPECT_EQ(JournalSink::priority(spdlog::level::debug), 7);
  EXPECT_EQ(JournalSink::priority(spdlog::level::info), 6);
  EXPECT_EQ(JournalSink::priority(spdlog::level::warn), 4);
  EXPECT_EQ(JournalSink::priority(spdlog::level::err), 3);
  EXPECT_EQ(JournalSink::priority(spdlog::level::critical), 2);
}

TEST_F(JournalSinkTest, ARefusedEntryIsWrittenAsTextOnce) {
  rec_.fail = true;
  logger_->error("first");
  logger_->info("second");
  std::string text = fallback_text();
  EXPECT_NE(text.find("journal: sd_journal_sendv"), std::string::npos) << text;
  EXPECT_NE(text.find("<3>first\n"), std::string::npos) << text;
  EXPECT_NE(text.find("<6>second\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("journal:", text.find("first")), std::string::npos)
      << "the warning is repeated: " << text;
  EXPECT_TRUE(rec_.entries.empty());
}

}  // namespace
}  // namespace uldd::supervisor::logging
