// Shared helpers for the DKIM tests: test data access, a fake resolver loaded
// with key records, and a synchronous verify.
#pragma once

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <fstream>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "auth/dkim/dkim.hpp"
#include "codec/message.hpp"
#include "core/clock.hpp"
#include "core/strings.hpp"
#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::auth::dkim {
// Readable verdicts in gtest failure messages.
inline void PrintTo(Verdict v, std::ostream* os) { *os << to_string(v); }
}  // namespace mxsec::auth::dkim

namespace mxsec::auth::dkim::testing {

inline std::string testdata_dir() { return MXSEC_TESTDATA_DIR; }

// Reads a file; a missing file throws, so a missing vector fails the test.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data file: " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string read_testdata(const std::string& rel) { return read_file(testdata_dir() + "/" + rel); }

// Publishes `record` at `name`, split into 255-octet character-strings.
inline void add_key(dns::FakeResolver& dns, std::string_view name, std::string_view record) {
  dns.add_txt(name, split_txt_strings(record));
}

struct Verified {
  VerifyResult result;
  std::size_t dns_queries = 0;
};

// Verifies `bytes` (already CRLF) with `dns` at time `now`.
inline VerifyResult verify_bytes(std::string_view bytes, dns::FakeResolver& dns, std::int64_t now,
                                 const Config& config = {}) {
  auto msg = codec::parse_message(bytes);
  if (!msg) throw std::runtime_error("message does not parse: " + msg.error().message);
  asio::io_context io;
  FixedClock clock(now);
  Verifier verifier(config);
  return run_sync(io, verifier.verify(*msg, dns, clock));
}

inline SignerConfig signer_config(std::string domain, std::string selector, Canon h = Canon::relaxed,
                                  Canon b = Canon::relaxed) {
  SignerConfig c;
  c.domain = std::move(domain);
  c.selector = std::move(selector);
  c.header_canon = h;
  c.body_canon = b;
  return c;
}

// Signs a CRLF message and returns signature field + message.
inline std::string sign_bytes(const Signer& signer, std::string_view bytes, std::int64_t now) {
  auto msg = codec::parse_message(bytes);
  if (!msg) throw std::runtime_error("message does not parse: " + msg.error().message);
  FixedClock clock(now);
  auto field = signer.sign(*msg, clock);
  if (!field) throw std::runtime_error("signing failed: " + field.error().message);
  return *field + std::string(bytes);
}

inline std::string verdicts(const VerifyResult& r) {
  std::string out;
  for (const auto& s : r.signatures) {
    if (!out.empty()) out += ", ";
    out += std::string(to_string(s.result)) + " (" + s.reason + ")";
  }
  return out.empty() ? "none" : out;
}

}  // namespace mxsec::auth::dkim::testing
