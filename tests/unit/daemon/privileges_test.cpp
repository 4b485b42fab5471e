#include "daemon/privileges.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mxsec::daemon {
namespace {

// Runs `body` in a child process (a privilege drop cannot be undone) and
// returns its exit status.
template <class F>
int in_child(F body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST(DropPrivileges, SwitchesToTheUserAndCannotGoBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const int rc = in_child([] {
    if (!drop_privileges("nobody")) return 1;
    if (::geteuid() == 0 || ::getuid() == 0 || ::getegid() == 0) return 2;
    if (::setuid(0) == 0) return 3;
    if (::getgroups(0, nullptr) != 0) return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(DropPrivileges, RefusesRootAndUnknownUsers) {
  EXPECT_FALSE(drop_privileges("root"));
  auto unknown = drop_privileges("mxsec-no-such-user");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

}  // namespace
}  // namespace mxsec::daemon
