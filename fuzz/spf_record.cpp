// Fuzz target: SPF record parsing (RFC 7208 §4.5, §4.6). Every parsed
// domain-spec is also expanded and turned into a query name, so the whole
// path from published text to DNS question is covered.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/spf/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxsec::auth::spf;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)is_spf_record(text);
  auto rec = parse_record(text);
  if (!rec) {
    if (rec.error().message.empty()) std::abort();  // every rejection must say why
    return 0;
  }
  MacroVars v;
  v.sender = "strong-bad@email.example.com";
  v.local_part = "strong-bad";
  v.sender_domain = "email.example.com";
  v.domain = "email.example.com";
  v.ip = *mxsec::IpAddress::parse("2001:db8::cb01");
  v.helo = "mx.example.org";
  auto check = [&](const MacroString& ms) {
    std::string out;
    if (expand(ms, v, out, 1024) && out.size() > 1024) std::abort();
    (void)to_target_name(out);
  };
  for (const auto& m : rec->mechanisms) {
    if (m.cidr4 > 32 || m.cidr6 > 128) std::abort();
    if (m.has_domain_spec) check(m.domain_spec);
  }
  if (rec->redirect) check(*rec->redirect);
  if (rec->exp) check(*rec->exp);
  return 0;
}
