#include "ulddctl/exit_code.h"

#include <gtest/gtest.h>

namespace uldd::ctl {
namespace {

TEST(ExitCodeTest, EachDocumentedErrorNameHasItsStatus) {
  EXPECT_EQ(exit_code_for("org.uldd.Supervisor1.Error.NoSuchDevice"), ExitCode::kNoSuchDevice);
  EXPECT_EQ(exit_code_for("org.freedesktop.DBus.Error.UnknownObject"), ExitCode::kNoSuchDevice);
  EXPECT_EQ(exit_code_for("org.uldd.Supervisor1.Error.InvalidState"), ExitCode::kInvalidState);
  EXPECT_EQ(exit_code_for("org.freedesktop.DBus.Error.AccessDenied"), ExitCode::kAccessDenied);
  EXPECT_EQ(exit_code_for("org.freedesktop.DBus.Error.InvalidArgs"), ExitCode::kUsage);
  EXPECT_EQ(exit_code_for("org.freedesktop.DBus.Error.ServiceUnknown"), ExitCode::kNotRunning);
  EXPECT_EQ(exit_code_for("org.freedesktop.DBus.Error.NameHasNoOwner"), ExitCode::kNotRunning);
  EXPECT_EQ(exit_code_for(kErrorNoBus), ExitCode::kNotRunning);
  EXPECT_EQ(exit_code_for("org.uldd.Supervisor1.Error.Failed"), ExitCode::kFailed);
  EXPECT_EQ(exit_code_for("org.uldd.Supervisor1.Error.NotSupported"), ExitCode::kFailed);
  EXPECT_EQ(exit_code_for("org.freedesktop.DBus.Error.NoReply"), ExitCode::kFailed);
  EXPECT_EQ(exit_code_for("some.other.Error"), ExitCode::kFailed);
  EXPECT_EQ(exit_code_for(""), ExitCode::kFailed);
}

TEST(ExitCodeTest, StatusNumbersAreTheDocumentedOnes) {
  EXPECT_EQ(as_int(ExitCode::kSuccess), 0);
  EXPECT_EQ(as_int(ExitCode::kFailed), 1);
  EXPECT_EQ(as_int(ExitCode::kUsage), 2);
  EXPECT_EQ(as_int(ExitCode::kNoSuchDevice), 3);
  EXPECT_EQ(as_int(ExitCode::kAccessDenied), 4);
  EXPECT_EQ(as_int(ExitCode::kNotRunning), 5);
  EXPECT_EQ(as_int(ExitCode::kInvalidState), 6);
}

const FailureContext kSystemRestart{"restart", "disk0", "the system bus"};

TEST(ExitCodeTest, NotRunningMessagesNameTheBus) {
  EXPECT_EQ(
      failure_line({"org.freedesktop.DBus.Error.ServiceUnknown", "The name is not activatable"},
                   {"list", "", "the system bus"}),
      "ulddctl: uldd-supervisor is not running (no owner of org.uldd.Supervisor1 on the system "
      "bus)");
  EXPECT_EQ(
      failure_line({kErrorNoBus, "No such file or directory"},
                   {"list", "", "the bus at unix:path=/x/bus"}),
      "ulddctl: uldd-supervisor is not running (cannot connect to the bus at unix:path=/x/bus: "
      "No such file or directory)");
}

TEST(ExitCodeTest, AccessDeniedNamesTheGroupTheDaemonChecked) {
  EXPECT_EQ(failure_line({"org.freedesktop.DBus.Error.AccessDenied",
                          "restart refused: uid 65534 is neither root nor in group 'wheel'"},
                         kSystemRestart),
            "ulddctl: access denied: restart needs root or membership of group 'wheel'");
  EXPECT_EQ(failure_line({"org.freedesktop.DBus.Error.AccessDenied", "refused"}, kSystemRestart),
            "ulddctl: access denied: restart needs root or membership of group 'uldd'");
  EXPECT_EQ(failure_line({"org.freedesktop.DBus.Error.AccessDenied",
                          "restart refused: uid 65534 is not root"},
                         kSystemRestart),
            "ulddctl: access denied: restart needs root");
}

TEST(ExitCodeTest, DeviceAndStateMessages) {
  EXPECT_EQ(failure_line({"org.uldd.Supervisor1.Error.NoSuchDevice", "no device 'disk9'"},
                         {"stop", "disk9", ""}),
            "ulddctl: no such device 'disk9'");
  EXPECT_EQ(failure_line({"org.uldd.Supervisor1.Error.InvalidState", "disk0 is serving"},
                         {"start", "disk0", ""}),
            "ulddctl: cannot start disk0: disk0 is serving");
  EXPECT_EQ(failure_line({"org.freedesktop.DBus.Error.InvalidArgs", "unknown fault type 'x'"},
                         {"inject", "disk0", ""}),
            "ulddctl: inject disk0: invalid argument: unknown fault type 'x'");
  EXPECT_EQ(failure_line({"org.uldd.Supervisor1.Error.Failed", "spawn failed"}, {"reload", "", ""}),
            "ulddctl: reload failed: spawn failed (org.uldd.Supervisor1.Error.Failed)");
}

TEST(ExitCodeTest, MessageStaysOnOneLine) {
  EXPECT_EQ(
      failure_line({"org.uldd.Supervisor1.Error.Failed", "first\nsecond\n"}, {"stop", "disk0", ""}),
      "ulddctl: stop disk0 failed: first second (org.uldd.Supervisor1.Error.Failed)");
}

}  // namespace
}  // namespace uldd::ctl
