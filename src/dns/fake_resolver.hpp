// dns/fake_resolver.hpp: an in-memory Resolver for unit tests and benchmarks.
//
// Contract
// - Preloaded with records or with a forced outcome per (name, type).
// - A name with no entry at all answers NXDOMAIN; a name that has entries of
//   other types answers NODATA. Lookups are case-insensitive.
// - Counts every question, so tests can assert that work is bounded.
// - Completes synchronously (no I/O); it is not thread-safe.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "dns/resolver.hpp"

namespace mxsec::dns {

class FakeResolver final : public Resolver {
 public:
  asio::awaitable<RawAnswer> resolve(std::string name, RrType type) override;
  RawAnswer lookup(std::string_view name, RrType type);  // the same, synchronously

  // Security reported for records added without an explicit one.
  void set_default_security(Security s) { default_security_ = s; }

  void add_txt(std::string_view name, std::vector<std::string> strings);
  void add_a(std::string_view name, std::string_view address);     // v4 or v6 text, picks A/AAAA
  void add_mx(std::string_view name, std::uint16_t preference, std::string_view exchange);
  void add_ptr(std::string_view name, std::string_view target);
  void add_cname(std::string_view name, std::string_view target);
  void add_tlsa(std::string_view name, const TlsaRecord& tlsa);
  void add_raw(std::string_view name, RrType type, std::string rdata);
  // Loads records from zone-file-like text, one record per line:
  //   name [ttl] [IN] TYPE rdata        ; comment
  // TYPE is A, AAAA, MX, TXT (quoted strings), PTR, CNAME or TLSA (hex data).
  // An outcome instead of rdata forces a failure: `name TXT !servfail`,
  // `!timeout`, `!bogus`. `$SECURITY secure|insecure|bogus` sets the security
  // of the lines that follow. Errors name the line.
  Result<void> load_zone_text(std::string_view text);

  // Forces the outcome of one question (servfail, timeout, bogus, ...).
  void set_outcome(std::string_view name, RrType type, Status status, Security security,
                   std::string why_bogus = {});
  // Sets the security of an existing (name, type) entry.
  void set_security(std::string_view name, RrType type, Security security, std::string why_bogus = {});

  std::size_t query_count() const { return queries_; }
  std::size_t query_count(std::string_view name, RrType type) const;
  void reset_counts();

 private:
  struct Entry {
    std::vector<std::string> rdata;
    Status status = Status::ok;
    Security security = Security::insecure;
    std::string why_bogus;
  };
  Entry& entry(std::string_view name, RrType type);

  std::map<std::pair<std::string, RrType>, Entry> entries_;
  std::map<std::pair<std::string, RrType>, std::size_t> counts_;
  Security default_security_ = Security::insecure;
  std::size_t queries_ = 0;
};

}  // namespace mxsec::dns
