#include "app/cli/context.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/cli/command.hpp"
#include "core/strings.hpp"
#include "dns/unbound_resolver.hpp"

namespace mxsec::cli {

std::vector<CommandAdder>& command_registry() {
  static std::vector<CommandAdder> registry;
  return registry;
}

Result<dns::Resolver*> Context::resolver() {
  if (resolver_) return resolver_.get();
  dns::ResolverConfig config;
  config.forwarders = resolvers;
  config.trust_anchor_files = trust_anchors;
  config.private_zones = private_zones;
  for (const auto& stub : stub_zones) {
    const auto eq = stub.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(Errc::invalid_argument, "stub zone '" + escape_for_log(stub, 80) + "': expected ZONE=ADDR[:PORT]");
    config.stub_zones.emplace_back(stub.substr(0, eq), stub.substr(eq + 1));
  }
  if (timeout_seconds <= 0 || timeout_seconds > 600)
    return make_error(Errc::invalid_argument, "--timeout must be between 0 and 600 seconds");
  config.timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  auto r = dns::UnboundResolver::create(io, config);
  if (!r) return r.error();
  resolver_ = std::move(*r);
  return resolver_.get();
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

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io, "cannot open " + path);
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_bytes) return make_error(Errc::limit, path + " exceeds " + std::to_string(max_bytes) + " bytes");
  }
  return out;
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
