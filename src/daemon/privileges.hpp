// daemon/privileges.hpp: giving up root after the listeners are bound.
//
// Contract: drop_privileges(user) switches the whole process (every
// thread: glibc applies set*id to all of them) to `user`'s uid and primary
// gid with no supplementary groups, in the order setgroups, setresgid,
// setresuid, and then checks that none of the real, effective or saved ids
// is still 0 and that setuid(0) fails. Any failure is an error and the
// caller must exit: fail closed, never serve as root by accident.
#pragma once

#include <string>

#include "core/result.hpp"

namespace mxsec::daemon {

Result<void> drop_privileges(const std::string& user);

}  // namespace mxsec::daemon
