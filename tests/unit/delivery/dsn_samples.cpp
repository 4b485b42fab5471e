// dsn_samples DIR: writes DSNs built by delivery/dsn.hpp into DIR, one file
// per case, for dsn_judge.py to parse with Python's email package. The
// cases and what the judge expects of each are listed there too.
#include <cstdio>
#include <fstream>
#include <string>

#include "delivery/dsn.hpp"
#include "unit/delivery/dsn_sample.hpp"

namespace {

using namespace mxsec;
using namespace mxsec::delivery;

const std::string& kOriginal = test::kSampleOriginal;

// The shared sample with an ENVID, an ORCPT, and a second, expired recipient.
DsnReport base() {
  DsnReport r = test::sample_failed_report();
  r.envid = "QQ314159";
  r.retry_until = r.arrival + 5 * 86400;
  r.recipients[0].orcpt = "rfc822;Bob@Example.Test";
  DsnRecipient carol;
  carol.address = "carol@example.test";
  carol.diagnostic = "452 4.2.2 mailbox full";
  carol.status = "4.4.7";
  r.recipients.push_back(carol);
  return r;
}

bool write(const std::string& dir, const std::string& name, const DsnMessage& m) {
  std::ofstream out(dir + "/" + name + ".eml", std::ios::binary);
  out.write(m.text.data(), static_cast<std::streamsize>(m.text.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dsn_samples DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  DsnReport r = base();
  r.ret = smtp::DsnRet::full;
  ok &= write(dir, "failed_full", build_dsn(r, kOriginal));
  r.ret = smtp::DsnRet::hdrs;
  ok &= write(dir, "failed_hdrs", build_dsn(r, kOriginal));

  r = base();
  r.action = DsnAction::delayed;
  r.recipients[0].diagnostic = "451 4.3.0 try again later";
  r.recipients[1].status = "";
  ok &= write(dir, "delayed", build_dsn(r, kOriginal));

  r = base();
  r.action = DsnAction::delivered;
  r.recipients.resize(1);
  r.recipients[0].diagnostic = "";
  r.recipients[0].remote_mta = "";
  ok &= write(dir, "delivered", build_dsn(r, kOriginal));

  r = base();
  r.action = DsnAction::relayed;
  r.recipients.resize(1);
  r.recipients[0].status = "";
  r.recipients[0].diagnostic = "250 2.0.0 Ok: queued as 4711";
  r.recipients[0].remote_mta = "mx.example.net";
  ok &= write(dir, "relayed", build_dsn(r, kOriginal));

  r = base();
  r.smtputf8 = true;
  r.sender = "j\xc3\xb6rg@b\xc3\xbc\x63her.example";
  r.recipients.resize(1);
  r.recipients[0].address = "\xc3\xa9lise@example.test";
  r.recipients[0].orcpt = "utf-8;\xc3\xa9lise@example.test";
  r.recipients[0].diagnostic = "550 5.1.1 \xc3\xa9lise inconnue";
  ok &= write(dir, "utf8", build_dsn(r, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n"));

  r = base();
  r.recipients.resize(1);
  r.recipients[0].diagnostic = "550 5.1.1 no\r\nFrom: evil@attacker.example\r\nBcc: victim@example.net\r\n\r\n--=_mxsec_" +
                               r.message_id + "_0\r\nContent-Type: text/html\r\n\r\n<b>" + std::string(5000, 'x');
  r.recipients[0].remote_mta = "mx\r\nAction: delivered";
  r.envid = "id\r\nReporting-MTA: dns; evil";
  ok &= write(dir, "hostile", build_dsn(r, kOriginal));
  return ok ? 0 : 1;
}
