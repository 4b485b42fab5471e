// check/render.cpp: the human-readable `mxsec check` report (report.hpp).
// Everything the domain or its servers chose (record text, certificate
// names, error strings) is escaped before it reaches the terminal.
#include <ctime>
#include <sstream>

#include "check/report.hpp"
#include "core/strings.hpp"

namespace mxsec::check {

namespace {

struct Painter {
  bool color;
  std::string operator()(std::string_view code, std::string_view text) const {
    if (!color) return std::string(text);
    return "\x1b[" + std::string(code) + "m" + std::string(text) + "\x1b[0m";
  }
  std::string red(std::string_view t) const { return (*this)("31;1", t); }
  std::string yellow(std::string_view t) const { return (*this)("33", t); }
  std::string green(std::string_view t) const { return (*this)("32", t); }
  std::string cyan(std::string_view t) const { return (*this)("36", t); }
  std::string bold(std::string_view t) const { return (*this)("1", t); }
};

std::string date(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string security(const Painter& p, dns::Security s) {
  switch (s) {
    case dns::Security::secure: return p.green("secure");
    case dns::Security::insecure: return p.yellow("insecure");
    case dns::Security::bogus: return p.red("bogus");
    case dns::Security::indeterminate: return p.red("indeterminate");
  }
  return "?";
}

void render_probe(std::ostringstream& o, const Painter& p, const policy::MxDecision& m, const IpAddress& address,
                  const smtp::ProbeResult& r, std::int64_t now);

void render_mx(std::ostringstream& o, const Painter& p, const MxHostSection& h, std::int64_t now) {
  const auto& m = h.decision;
  o << "  " << m.preference << " " << m.host << (m.implicit ? " (implicit)" : "") << "  ["
    << (m.verdict == policy::Verdict::defer ? p.red(policy::to_string(m.verdict)) : p.bold(policy::to_string(m.verdict)))
    << "]\n";
  o << "      " << m.reason << "\n";
  if (!m.addresses.empty()) {
    o << "      addresses:";
    for (const auto& a : m.addresses) o << " " << a.to_string();
    o << " (" << security(p, m.address_security) << ")\n";
  }
  if (m.tlsa.looked_up) {
    o << "      TLSA " << m.tlsa.qname << ": " << dns::to_string(m.tlsa.status) << ", "
      << security(p, m.tlsa.security) << "\n";
    for (const auto& r : m.tlsa.usable) o << "        " << escape_for_log(tls::dane::to_text(r), 120) << "  usable\n";
    for (std::size_t i = 0; i < m.tlsa.unusable.size(); ++i)
      o << "        " << escape_for_log(tls::dane::to_text(m.tlsa.unusable[i]), 120) << "  "
        << p.yellow("unusable") << (i < m.tlsa.unusable_reasons.size() ? " (" + m.tlsa.unusable_reasons[i] + ")" : "")
        << "\n";
    if (m.tlsa.secure()) o << "      rollover ready: " << (m.tlsa.rollover_ready ? p.green("yes") : p.yellow("no")) << "\n";
  }
  for (const auto& pr : h.probes) render_probe(o, p, m, pr.address, pr.result, now);
}

void render_probe(std::ostringstream& o, const Painter& p, const policy::MxDecision& m, const IpAddress& address,
                  const smtp::ProbeResult& r, std::int64_t now) {
  o << "      probe " << address.to_string() << ": ";
  if (!r.connected) {
    o << p.red("no connection");
    if (r.failure) o << " (" << escape_for_log(r.failure->error.message, 200) << ")";
    o << "\n";
    return;
  }
  o << "STARTTLS " << (r.starttls_offered ? p.green("offered") : p.red("not offered"));
  if (r.tls_established) o << ", " << r.protocol << " " << r.cipher;
  o << "\n";
  if (r.failure && !r.tls_established)
    o << "      " << p.red(smtp::to_string(r.failure->stage)) << ": " << escape_for_log(r.failure->error.message, 200)
      << "\n";
  if (!r.peer_chain.empty()) {
    const auto& c = r.peer_chain.front();
    o << "      certificate: " << escape_for_log(c.subject, 120) << "\n"
      << "        issuer " << escape_for_log(c.issuer, 120) << "\n"
      << "        valid until " << date(c.not_after) << " ("
      << (c.not_after < now ? p.red("expired") : std::to_string((c.not_after - now) / 86400) + " days") << "), "
      << c.key_type << " " << c.key_bits << " bits\n";
  }
  if (r.webpki)
    o << "      WebPKI for " << m.host << ": "
      << (r.webpki->verdict == tls::WebPkiVerdict::ok
              ? p.green("valid")
              : p.yellow(std::string(tls::to_string(r.webpki->verdict)) + " (" + escape_for_log(r.webpki->error_text) + ")"))
      << "\n";
  if (r.dane.status != tls::dane::DaneStatus::not_requested) {
    o << "      DANE: ";
    if (r.dane.status == tls::dane::DaneStatus::matched)
      o << p.green("match") << " ("
        << (r.dane.matched_record ? escape_for_log(tls::dane::to_text(*r.dane.matched_record), 40) + "..." : "")
        << " at depth " << r.dane.matched_depth << ")\n";
    else
      o << p.red("no match") << " (" << escape_for_log(r.dane.verify_error_text) << ")\n";
  }
}

std::string or_none(const std::optional<std::string>& s) { return s ? escape_for_log(*s, 300) : "(none)"; }

}  // namespace

std::string render_text(const Report& r, bool color) {
  Painter p{color};
  std::ostringstream o;
  const std::string g = r.grade == "F" ? p.red(r.grade) : (r.grade[0] == 'A' ? p.green(r.grade) : p.yellow(r.grade));
  o << p.bold("mxsec check " + r.domain) << "   grade " << g << "\n\n";
  o << p.bold("DNSSEC") << "   " << security(p, r.transport.dnssec.status);
  if (!r.transport.dnssec.why_bogus.empty()) o << " (" << escape_for_log(r.transport.dnssec.why_bogus) << ")";
  o << "\n";
  o << p.bold("MX") << "       " << policy::to_string(r.transport.decision.status) << ", RRset "
    << security(p, r.transport.decision.mx_security);
  if (!r.transport.decision.reason.empty()) o << " - " << r.transport.decision.reason;
  o << "\n";
  for (const auto& h : r.transport.mx) render_mx(o, p, h, r.checked_at);
  o << p.bold("MTA-STS") << "  ";
  if (const auto& l = r.transport.mta_sts.lookup) {
    if (l->policy) {
      o << policy::mtasts::to_string(l->policy->mode) << ", id " << escape_for_log(l->id) << ", max_age "
        << l->policy->max_age << ", mx:";
      for (const auto& mx : l->policy->mx) o << " " << mx;
    } else {
      o << (l->record.empty() ? "not published" : "record " + escape_for_log(l->record, 200) + ", no usable policy");
    }
    o << "\n";
  } else {
    o << "not checked\n";
  }
  o << p.bold("TLS-RPT") << "  " << or_none(r.tls_rpt.record) << "\n";
  o << p.bold("SPF") << "      " << or_none(r.spf.record);
  if (r.spf.record)
    o << "\n         " << r.spf.lookups << " DNS lookups, " << r.spf.void_lookups << " void, ends "
      << (r.spf.all ? *r.spf.all : std::string("without all"));
  o << "\n";
  o << p.bold("DMARC") << "    " << or_none(r.dmarc.record) << "\n";
  if (!r.dkim.selectors.empty()) {
    o << p.bold("DKIM") << "\n";
    for (const auto& s : r.dkim.selectors) {
      o << "  " << s.selector << ": ";
      if (!s.found) {
        o << p.red(s.dns_error.empty() ? "no key record" : escape_for_log(s.dns_error)) << "\n";
        continue;
      }
      o << (s.key_type ? *s.key_type : "?");
      if (s.bits) o << " " << *s.bits << " bits";
      if (s.revoked) o << ", revoked";
      if (s.testing) o << ", testing";
      if (!s.error.empty()) o << ", " << escape_for_log(s.error);
      o << "\n";
    }
  }
  o << "\n" << p.bold("Findings") << "\n";
  if (r.findings.empty()) o << "  none\n";
  for (const auto& f : r.findings) {
    const std::string tag = f.severity == Severity::error     ? p.red("ERROR  ")
                            : f.severity == Severity::warning ? p.yellow("WARNING")
                                                              : p.cyan("INFO   ");
    o << "  " << tag << " " << f.code << ": " << f.message << "\n";
    if (!f.fix.empty()) o << "          fix: " << f.fix << "\n";
  }
  return o.str();
}

}  // namespace mxsec::check
