#include "smtp/client/tls_judge.hpp"

#include "core/ip_address.hpp"
#include "core/strings.hpp"
#include "tls/context.hpp"

namespace mxsec::smtp {

using policy::Authentication;
using policy::Verdict;
using policy::tlsrpt::ResultType;

const char* to_string(TlsLabel l) {
  switch (l) {
    case TlsLabel::none: return "none";
    case TlsLabel::opportunistic: return "opportunistic";
    case TlsLabel::mta_sts: return "mta-sts";
    case TlsLabel::dane_ee: return "dane-ee";
    case TlsLabel::dane_ta: return "dane-ta";
  }
  return "none";
}

TlsExpectation expectation_for(const policy::MxDecision& mx) {
  TlsExpectation e;
  e.verdict = mx.verdict;
  e.mx_host = mx.host;
  if (mx.verdict == Verdict::dane) e.tlsa = mx.tlsa.usable;
  e.reference_names = mx.reference_names;
  return e;
}

namespace {

std::vector<std::string> names_of(const TlsExpectation& e) {
  return e.reference_names.empty() ? std::vector<std::string>{e.mx_host} : e.reference_names;
}

bool webpki_policy(Verdict v) { return v == Verdict::mta_sts || v == Verdict::mta_sts_testing || v == Verdict::verify; }

}  // namespace

Result<bool> arm_tls(SSL* ssl, const TlsExpectation& e) {
  if (e.verify_time) X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl), static_cast<time_t>(*e.verify_time));
  const std::vector<std::string> names = names_of(e);
  if (e.verdict == Verdict::dane) {
    // enable_dane() also sets SNI to the first reference name (RFC 7672 §8.1).
    auto armed = tls::dane::enable_dane(ssl, e.tlsa, names);
    if (!armed) return armed.error();
    return true;
  }
  // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in
  // "HostName"": a relay host given as "[192.0.2.1]" gets no SNI at all.
  if (IpAddress::parse(names.front())) return false;
  if (SSL_set_tlsext_host_name(ssl, names.front().c_str()) != 1)
    return make_error(Errc::crypto, "cannot set SNI: " + tls::openssl_error_text());
  return false;
}

TlsJudgement judge_tls(SSL* ssl, const TlsExpectation& e, bool dane_armed) {
  TlsJudgement j;
  j.tls_established = true;
  j.protocol = tls::protocol_name(ssl);
  if (const char* c = SSL_get_cipher_name(ssl)) j.cipher = c;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (auto described = tls::describe_chain(chain)) {
    j.peer_chain = std::move(described->certificates);
    j.chain_truncated = described->truncated;
  }
  j.webpki = tls::check_webpki(SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), SSL_get0_peer_certificate(ssl), chain,
                               e.mx_host, e.verify_time);
  const bool webpki_ok = j.webpki->verdict == tls::WebPkiVerdict::ok;
  const Authentication wanted = policy::requirements(e.verdict).authentication;

  if (dane_armed) {
    j.dane = tls::dane::dane_outcome(ssl);
    if (j.dane.status != tls::dane::DaneStatus::matched) {
      j.tlsrpt_failure = ResultType::validation_failure;
      j.failure_reason = "TLSA mismatch: no TLSA record of " + escape_for_log(names_of(e).front()) +
                         " matches the server's certificate chain (" + j.dane.verify_error_text + ")";
    }
  } else if (e.verdict == Verdict::dane_unusable_tls_required) {
    // RFC 7672 §2.2: TLSA records exist but none is usable: TLS without
    // authentication; RFC 8460 §4.3.2.1 reports that as "tlsa-invalid".
    j.dane.status = tls::dane::DaneStatus::no_match;
    j.dane.verify_error_text = "no usable TLSA records";
    j.tlsrpt_failure = ResultType::tlsa_invalid;
  } else if (webpki_policy(e.verdict) && !webpki_ok) {
    j.tlsrpt_failure = tls::tlsrpt_result_type(j.webpki->verdict);
    j.failure_reason = "certificate verification failed for " + escape_for_log(e.mx_host) + ": " +
                       tls::to_string(j.webpki->verdict) + " (" + j.webpki->error_text + ")";
  }

  const bool dane_matched = j.dane.status == tls::dane::DaneStatus::matched;
  switch (wanted) {
    case Authentication::dane: j.authenticated = dane_matched; break;
    case Authentication::webpki: j.authenticated = webpki_ok; break;
    case Authentication::none: j.authenticated = true; break;
  }
  if (dane_matched && j.dane.matched_record)
    j.label = j.dane.matched_record->usage == 2 ? TlsLabel::dane_ta : TlsLabel::dane_ee;
  else if ((e.verdict == Verdict::mta_sts || e.verdict == Verdict::mta_sts_testing) && webpki_ok)
    j.label = TlsLabel::mta_sts;
  else
    j.label = TlsLabel::opportunistic;
  return j;
}

TlsJudgement judge_clear(const TlsExpectation& e, ResultType why, std::string reason) {
  TlsJudgement j;
  j.label = TlsLabel::none;
  j.failure_reason = std::move(reason);
  const Verdict v = e.verdict;
  if (v == Verdict::dane || v == Verdict::dane_unusable_tls_required || webpki_policy(v)) j.tlsrpt_failure = why;
  return j;
}

}  // namespace mxsec::smtp
