#include "app/cli/context.hpp"

#include "codec/idna.hpp"
#include "core/strings.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "app/cli/command.hpp"
#include "core/strings.hpp"

namespace mxsec::cli {

std::vector<CommandAdder>& command_registry() {
  static std::vector<CommandAdder> registry;
  return registry;
}

Result<runtime::Runtime*> Context::runtime() {
  if (runtime_) return runtime_.get();
  auto dns_timeout = runtime::seconds_option(timeout_seconds, "--timeout");
  if (!dns_timeout) return dns_timeout.error();
  auto fetch_timeout = runtime::seconds_option(https_timeout_seconds, "--https-timeout");
  if (!fetch_timeout) return fetch_timeout.error();
  options.dns.timeout = *dns_timeout;
  options.mta_sts.fetch_timeout = *fetch_timeout;
  auto rt = runtime::Runtime::create(io, options);
  if (!rt) return rt.error();
  runtime_ = std::move(*rt);
  return runtime_.get();
}

Result<dns::Resolver*> Context::resolver() {
  auto rt = runtime();
  if (!rt) return rt.error();
  return &(*rt)->resolver();
}

Result<std::string> read_stdin(std::size_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, "cannot read standard input");
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes)
      return make_error(Errc::limit, "input exceeds " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> domain_argument(std::string_view given, std::string_view what) {
  auto ascii = codec::to_a_label_domain(given);
  if (ascii && is_valid_domain_name(*ascii)) return ascii;
  return make_error(Errc::invalid_argument, "'" + escape_for_log(given) + "' (" + std::string(what) +
                                                ") is not a domain name" +
                                                (ascii ? std::string() : ": " + ascii.error().message));
}

void fail(Context& ctx, std::string_view what, const Error& error) {
  std::fprintf(stderr, "mxsec: %.*s: %s\n", static_cast<int>(what.size()), what.data(), error.message.c_str());
  ctx.exit_code = kExitError;
}

void print_json(const nlohmann::json& j) {
  // DNS and message text may hold any byte; the output must stay valid UTF-8.
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace mxsec::cli
