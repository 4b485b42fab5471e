// outbound_dkim_samples DIR: messages signed through the server path
// (outbound_dkim_bed.hpp) and delivered to a Maildir, written into DIR for
// outbound_dkim_judge.py to verify with dkimpy:
//   dual.eml       a relay client's message, RSA and Ed25519 signatures
//   subdomain.eml  From in a subdomain, signed with the parent's keys
//   keys.txt       "NAME<TAB>RECORD" for every published key record
// The clock is the real one: dkimpy refuses signatures from the future.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

#include "unit/smtp/outbound_dkim_bed.hpp"

int main(int argc, char** argv) {
  using namespace mxsec::smtp::server::test;
  if (argc != 2) {
    std::fprintf(stderr, "usage: outbound_dkim_samples DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    SigningBed bed(static_cast<std::int64_t>(std::time(nullptr)));
    bed.add_key("example.com", "rsa2026", mxsec::auth::dkim::KeyType::rsa);
    bed.add_key("example.com", "ed2026", mxsec::auth::dkim::KeyType::ed25519);
    const std::string body = "Hello Bob,\r\n\r\nsigned by mxsec, judged by dkimpy.\r\n";
    const auto dual = bed.submit(Client::relay,
                                 "From: Alice <alice@example.com>\r\nTo: bob@example.test\r\nSubject: dual\r\n"
                                 "Date: Thu, 03 Dec 2026 18:00:00 +0000\r\nMessage-ID: <dual@example.com>\r\n\r\n" + body);
    const auto sub = bed.submit(Client::authenticated,
                                "From: alice@lists.example.com\r\nTo: bob@example.test\r\nSubject: subdomain\r\n\r\n" + body);
    for (const auto& [name, s] : {std::pair{"dual.eml", &dual}, std::pair{"subdomain.eml", &sub}}) {
      if (s->delivered.empty()) {
        std::fprintf(stderr, "%s: nothing delivered\n", name);
        return 1;
      }
      std::ofstream(dir + "/" + name, std::ios::binary) << s->delivered;
    }
    std::ofstream keys(dir + "/keys.txt");
    for (const auto& p : bed.published()) keys << p.name << "\t" << p.record << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "outbound_dkim_samples: %s\n", e.what());
    return 1;
  }
  return 0;
}
