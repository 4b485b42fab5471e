// `mxsec passwd --users-file FILE USER`: adds USER to the users file of SMTP
// AUTH (smtp/server/users.hpp), or replaces USER's password, hashed with
// yescrypt. The file is replaced atomically and never left world-readable.
//
// The password comes from standard input. On a terminal it is asked for
// twice with echo off (termios; nothing is run through a shell); otherwise
// standard input must hold exactly one line (LF or CRLF, or no line end at
// all), so `printf '%s\n' "$pw" | mxsec passwd ...` works and a stray second
// line is refused rather than ignored.
//
// Exit codes: 0 the entry was added or replaced; 2 it was not (bad user
// name, empty or mismatched password, unreadable or invalid users file), with
// the reason on stderr.
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>

#include "app/cli/command.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "smtp/server/users.hpp"

namespace mxsec::cli {
namespace {

struct PasswdOptions {
  std::string users_file;
  std::string user;
  bool json = false;
};

// Terminal echo off (the line end still echoes) for the life of the object.
// XXX a signal that kills the process while a prompt waits leaves echo off
// (`stty sane` restores it); `passwd` catches signals for that, we do not.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

Error too_long() {
  return make_error(Errc::limit,
                    "password longer than " + std::to_string(limits::kSmtpAuthPasswordBytes) + " octets");
}

// One line typed at the terminal, without its line end.
Result<void> prompt(const char* text, SecretString& out) {
  // Echo goes off (flushing type-ahead) before the prompt shows, so nothing
  // typed in answer to the prompt is discarded.
  const EchoOff echo_off(STDIN_FILENO);
  if (!echo_off.active()) return make_error(Errc::io, "cannot turn off terminal echo");
  std::fputs(text, stderr);
  std::fflush(stderr);
  out.text.reserve(limits::kSmtpAuthPasswordBytes);  // no reallocation leaves copies behind
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(Errc::io, "cannot read the terminal");
    if (n == 0) return make_error(Errc::io, "no password given (end of input)");
    if (c == '\n') break;
    if (out.text.size() >= limits::kSmtpAuthPasswordBytes) return too_long();
    out.text += c;
  }
  if (!out.text.empty() && out.text.back() == '\r') out.text.pop_back();
  return {};
}

// Standard input that is not a terminal: exactly one line.
Result<void> read_one_line(SecretString& out) {
  auto input = read_stdin(limits::kSmtpAuthPasswordBytes + 2);  // room for CRLF
  if (!input) {
    if (input.error().code == Errc::limit) return too_long();
    return input.error();
  }
  out.text = std::move(*input);
  wipe_secret(*input);  // what a move leaves of a short string
  if (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
  if (!out.text.empty() && out.text.back() == '\r') out.text.pop_back();
  if (out.text.find('\n') != std::string::npos)
    return make_error(Errc::invalid_argument, "standard input holds more than one line; give the password alone");
  if (out.text.size() > limits::kSmtpAuthPasswordBytes) return too_long();
  return {};
}

Result<void> read_password(SecretString& out) {
  if (::isatty(STDIN_FILENO) == 0) return read_one_line(out);
  if (auto ok = prompt("New password: ", out); !ok) return ok;
  SecretString again;
  if (auto ok = prompt("Retype new password: ", again); !ok) return ok;
  if (out.text != again.text) return make_error(Errc::invalid_argument, "the passwords do not match");
  return {};
}

void run_passwd(Context& ctx, const PasswdOptions& opts) {
  // Everything that can be checked before the password is asked for.
  if (auto ok = smtp::check_user_name(opts.user); !ok) return fail(ctx, "passwd", ok.error());
  if (::access(opts.users_file.c_str(), F_OK) == 0) {
    if (auto db = smtp::UserDb::load(opts.users_file); !db) return fail(ctx, "passwd", db.error());
  }
  SecretString password;
  if (auto ok = read_password(password); !ok) return fail(ctx, "passwd", ok.error());
  auto hash = smtp::UserDb::hash_password(password.text);
  if (!hash) return fail(ctx, "passwd", hash.error());
  auto change = smtp::UserDb::set_user(opts.users_file, opts.user, *hash);
  if (!change) return fail(ctx, "passwd", change.error());
  const bool added = *change == smtp::UserChange::added;
  if (opts.json || ctx.json) {
    print_json({{"user", opts.user}, {"users_file", opts.users_file}, {"change", added ? "added" : "replaced"}});
  } else if (added) {
    std::printf("added user '%s' to %s\n", escape_for_log(opts.user).c_str(), opts.users_file.c_str());
  } else {
    std::printf("replaced the password of user '%s' in %s\n", escape_for_log(opts.user).c_str(),
                opts.users_file.c_str());
  }
  ctx.exit_code = kExitOk;
}

void add_passwd(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<PasswdOptions>();
  CLI::App* cmd = app.add_subcommand("passwd", "Add a user to the SMTP AUTH users file, or change a user's password");
  cmd->add_option("--users-file", opts->users_file, "Users file (\"user:hash\" lines), created if missing")
      ->type_name("FILE")
      ->required();
  cmd->add_option("user", opts->user, "User name (as clients send it in AUTH)")->required();
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run_passwd(ctx, *opts); });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_passwd);

}  // namespace mxsec::cli
