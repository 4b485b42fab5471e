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

namespace mxsec::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFinding = 1;
inline constexpr int kExitError = 2;

struct Context {
  std::vector<std::string> resolvers;
  std::vector<std::string> trust_anchors;
  std::vector<std::string> private_zones;
  // "ZONE=ADDR[:PORT]": iterate to this server for ZONE (--stub-zone).
  std::vector<std::string> stub_zones;
  double timeout_seconds = 5.0;
  std::string ca_file;  // --ca-file: extra WebPKI roots
  double https_timeout_seconds = 60.0;
  bool json = false;
  int exit_code = kExitOk;

  asio::io_context io;

  // Builds the validating resolver from the global options (once; later calls
  // return the same one). Prints nothing; the caller reports the error.
  Result<dns::Resolver*> resolver();

 private:
  std::unique_ptr<dns::Resolver> resolver_;
};

// Reads all of standard input, failing past `max_bytes`.
Result<std::string> read_stdin(std::size_t max_bytes);
// Reads a file, failing past `max_bytes`.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes);

// Prints "mxsec: <what>: <message>" to stderr and sets exit code 2.
void fail(Context& ctx, std::string_view what, const Error& error);
// Prints pretty JSON (2-space indent) to stdout.
void print_json(const nlohmann::json& j);

}  // namespace mxsec::cli
