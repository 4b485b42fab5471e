// app/cli/context.hpp: state shared by all `mxsec` subcommands.
//
// Global options (fixed; others script against them):
//   --resolver ADDR[:PORT]   repeatable; forward to this resolver (answers are
//                            still validated in-process)
//   --trust-anchor FILE      repeatable; extra DS/DNSKEY anchors
//   --private-zone ZONE      repeatable; resolve an RFC 6761 name such as
//                            "test" instead of answering NXDOMAIN locally
//   --stub-zone ZONE=ADDR[:PORT]  repeatable; iterate to this server for ZONE
//   --timeout SECONDS        per DNS query
//   --ca-file FILE           extra trusted roots (PEM) for WebPKI checks
//   --https-timeout SECONDS  total time for one MTA-STS policy fetch
//   --json                   machine-readable output (also accepted per command)
// Exit codes: 0 success, 1 a negative finding the command reports (e.g. check
// errors), 2 the command could not run (bad input, resolver setup failure).
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "dns/resolver.hpp"
#include "runtime/runtime.hpp"

namespace mxsec::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFinding = 1;
inline constexpr int kExitError = 2;

struct Context {
  // The wiring every command shares; the global flags fill it (main.cpp),
  // a command may set its own parts (e.g. the MTA-STS cache file) before it
  // first calls runtime().
  runtime::RuntimeOptions options;
  // Flags given in seconds; converted and range-checked into `options` by
  // runtime(). Their defaults are the options' own.
  double timeout_seconds = runtime::to_seconds(runtime::DnsOptions{}.timeout);
  double https_timeout_seconds = runtime::to_seconds(runtime::MtaStsOptions{}.fetch_timeout);
  bool json = false;
  int exit_code = kExitOk;

  asio::io_context io;

  // Builds the runtime from `options` (once; later calls return the same
  // one). Prints nothing; the caller reports the error.
  Result<runtime::Runtime*> runtime();
  // The runtime's validating resolver.
  Result<dns::Resolver*> resolver();

 private:
  std::unique_ptr<runtime::Runtime> runtime_;
};

// Reads all of standard input, failing past `max_bytes`.
Result<std::string> read_stdin(std::size_t max_bytes);

// A domain name given on the command line, as DNS and the protocols compare
// it: U-labels become A-labels (IDNA 2008, codec/idna.hpp), then the host
// name syntax is checked. `what` names the argument in the error
// ("'bücher..test' (--domain) is not a domain name: ...").
Result<std::string> domain_argument(std::string_view given, std::string_view what);

// Prints "mxsec: <what>: <message>" to stderr and sets exit code 2.
void fail(Context& ctx, std::string_view what, const Error& error);
// Prints pretty JSON (2-space indent) to stdout.
void print_json(const nlohmann::json& j);

}  // namespace mxsec::cli
