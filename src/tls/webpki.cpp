#include "tls/webpki.hpp"

#include <openssl/x509v3.h>

#include <ctime>

#include "core/ip_address.hpp"

namespace mxsec::tls {

const char* to_string(WebPkiVerdict v) {
  switch (v) {
    case WebPkiVerdict::ok: return "ok";
    case WebPkiVerdict::host_mismatch: return "host-mismatch";
    case WebPkiVerdict::expired: return "expired";
    case WebPkiVerdict::not_yet_valid: return "not-yet-valid";
    case WebPkiVerdict::untrusted: return "untrusted";
    case WebPkiVerdict::other: return "other";
  }
  return "other";
}

std::optional<policy::tlsrpt::ResultType> tlsrpt_result_type(WebPkiVerdict v) {
  using policy::tlsrpt::ResultType;
  switch (v) {
    case WebPkiVerdict::ok: return std::nullopt;
    case WebPkiVerdict::host_mismatch: return ResultType::certificate_host_mismatch;
    case WebPkiVerdict::expired: return ResultType::certificate_expired;
    case WebPkiVerdict::untrusted: return ResultType::certificate_not_trusted;
    case WebPkiVerdict::not_yet_valid:
    case WebPkiVerdict::other: return ResultType::validation_failure;
  }
  return ResultType::validation_failure;
}

WebPkiVerdict classify_verify_error(int e) {
  switch (e) {
    case X509_V_OK: return WebPkiVerdict::ok;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return WebPkiVerdict::host_mismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED: return WebPkiVerdict::expired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return WebPkiVerdict::not_yet_valid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED: return WebPkiVerdict::untrusted;
    default: return WebPkiVerdict::other;
  }
}

WebPkiResult check_webpki(X509_STORE* trust, X509* leaf, STACK_OF(X509)* untrusted, std::string_view host,
                          std::optional<std::int64_t> at) {
  WebPkiResult out;
  auto fail_internal = [&out](const std::string& why) {
    out.verdict = WebPkiVerdict::other;
    out.error_code = X509_V_ERR_UNSPECIFIED;
    out.error_text = why;
    return out;
  };
  if (!trust || !leaf) return fail_internal("no trust store or no peer certificate");
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return fail_internal("empty reference host name");

  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust, leaf, untrusted) != 1)
    return fail_internal("X509_STORE_CTX_init failed: " + openssl_error_text());
  // The TLS server purpose and its default parameters (as SSL_connect uses).
  if (X509_STORE_CTX_set_default(ctx.get(), "ssl_server") != 1)
    return fail_internal("X509_STORE_CTX_set_default failed: " + openssl_error_text());
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_hostflags(param,
                                  X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  // An IP literal (a relay host given as "[192.0.2.1]") is matched against
  // the iPAddress subjectAltNames, never as a DNS-ID (RFC 6125 §1.7.2 leaves
  // IP-IDs to RFC 5280 §4.2.1.6, and a DNS-ID "192.0.2.1" is no such thing).
  if (const auto ip = IpAddress::parse(host)) {
    if (X509_VERIFY_PARAM_set1_ip(param, ip->bytes(), ip->size()) != 1)
      return fail_internal("unusable reference IP address: " + openssl_error_text());
  } else if (X509_VERIFY_PARAM_set1_host(param, host.data(), host.size()) != 1) {
    return fail_internal("unusable reference host name: " + openssl_error_text());
  }
  if (at) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*at));

  int rc = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  if (rc == 1 && err == X509_V_OK) {
    out.verdict = WebPkiVerdict::ok;
    return out;
  }
  if (err == X509_V_OK) err = X509_V_ERR_UNSPECIFIED;  // failed without saying why
  openssl_error_text();  // clear the queue
  out.error_code = err;
  out.error_text = X509_verify_cert_error_string(err);
  out.error_depth = X509_STORE_CTX_get_error_depth(ctx.get());
  out.verdict = classify_verify_error(err);
  return out;
}

}  // namespace mxsec::tls
