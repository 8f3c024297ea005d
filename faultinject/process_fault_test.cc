#include "faultinject/process_fault.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace uldd::faultinject {
namespace {

TEST(ProcessFault, KnownNamesMapToTheirSignals) {
  auto f = parse_process_fault("sigsegv", {});
  ASSERT_TRUE(f) << f.error().describe();
  EXPECT_EQ(f->signal, SIGSEGV);
  EXPECT_EQ(f->effect, "crash");
  auto h = parse_process_fault("sigstop", {});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->effect, "hang");
  EXPECT_EQ(process_fault_types().size(), 5u);
}

TEST(ProcessFault, UnknownNameAndStrayParameterAreRefusedWithReasons) {
  auto u = parse_process_fault("sigfoo", {});
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, ENOENT);
  auto p = parse_process_fault("sigkill", {{"lba", "7"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, EINVAL);
  EXPECT_NE(p.error().message.find("'lba'"), std::string::npos);
}

TEST(ProcessFault, EachFaultFiresOnARealProcess) {
  // The fault is only as good as its effect: deliver each one to a child and
  // look at how it ended (or stopped).
  for (const std::string& name : process_fault_types()) {
    auto f = parse_process_fault(name, {});
    ASSERT_TRUE(f);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Under ASan the runtime's SIGSEGV/SIGBUS handlers would turn the
      // signal into a report and an abort; a driver killed by the fault
      // must die of the fault, so the child takes the default actions.
      for (int sig : {SIGSEGV, SIGBUS}) {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(sig, &dfl, nullptr);
      }
      [[maybe_unused]] ssize_t n = write(ready[1], "r", 1);
      for (;;) pause();
    }
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);  // the child has its default actions
    close(ready[0]);
    ASSERT_EQ(kill(pid, f->signal), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
    if (f->effect == "hang") {
      EXPECT_TRUE(WIFSTOPPED(status)) << name;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    } else {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == f->signal) << name;
    }
  }
}

}  // namespace
}  // namespace uldd::faultinject
