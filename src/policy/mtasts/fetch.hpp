// policy/mtasts/fetch.hpp: fetching the MTA-STS policy file over HTTPS
// (RFC 8461 §3.3).
//
// Contract
// - PolicyFetcher::fetch(policy_domain) GETs
//   "https://mta-sts.<policy_domain>/.well-known/mta-sts.txt" and always
//   completes with a FetchResult; every network, TLS and HTTP problem is a
//   FetchFailure value with a human `detail`, never an exception.
// - CurlPolicyFetcher applies RFC 8461 §3.3:
//   - "the HTTPS endpoint MUST present an X.509 certificate that is valid for
//     the "mta-sts" DNS-ID": peer and host name are verified against the
//     system trust store plus FetcherConfig::ca_file; TLS 1.2 or newer.
//   - "Policies fetched via HTTPS are only valid if the HTTP response code is
//     200 (OK). HTTP 3xx redirects MUST NOT be followed, and HTTP caching (as
//     specified in [RFC7234]) MUST NOT be used." A 3xx is FetchFailure::redirect;
//     there is no HTTP cache in mxsec.
//   - "Senders MAY impose a timeout on the HTTPS GET and/or a limit on the
//     maximum size of the response body": FetcherConfig::timeout (total) and
//     a low-speed limit cut a slow server off; FetcherConfig::max_body_bytes
//     is enforced while receiving, so no more than that plus one network
//     read is ever buffered.
//   - §3.2: "senders SHOULD validate that the media type is "text/plain"";
//     parameters (charset) are allowed.
// - The host name is resolved through mxsec's own validating dns::Resolver
//   (a bogus or failed answer is FetchFailure::dns) and pinned for libcurl,
//   so the system resolver is never consulted. No proxy from the
//   environment, no .netrc, no cookies, https only.
// - The blocking transfer runs on a private pool of FetcherConfig::threads
//   threads; the calling coroutine resumes on its own executor.
// - Cancellation: CurlPolicyFetcher::fetch() honours Asio per-operation
//   cancellation of the awaiting coroutine (co_spawn with a bound
//   cancellation slot, or awaitable_operators `||`), whatever the type
//   (terminal, partial, total): a GET has no effect mxsec would have to undo.
//   During DNS the question is dropped by the resolver; during the transfer
//   libcurl's progress callback aborts it, which libcurl checks at least once
//   a second (XXX: so the abort takes up to about a second, not an instant;
//   the multi interface with curl_multi_wakeup() would make it immediate).
//   Either way fetch() completes with FetchFailure::cancelled and the pool
//   thread is free for the next fetch. A coroutine already cancelled before
//   fetch() is awaited gets Asio's operation_aborted exception, as for any
//   awaitable.
// - The body is returned as received; parsing it is parse_policy()'s job.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "dns/resolver.hpp"

namespace mxsec::policy::mtasts {

enum class FetchFailure {
  dns,           // mta-sts.<domain> did not resolve (failed, bogus or no address)
  connect,       // no TCP connection to any address
  tls,           // the TLS handshake failed (protocol, cipher, local set-up)
  certificate,   // the certificate did not verify for mta-sts.<domain> (WebPKI)
  http_status,   // a status other than 200 (and not a 3xx)
  redirect,      // a 3xx: not followed (§3.3)
  content_type,  // not text/plain (§3.2)
  too_large,     // body over FetcherConfig::max_body_bytes
  timeout,       // total timeout or low-speed limit
  cancelled,     // the caller cancelled the fetch (Asio per-operation cancellation);
                 // says nothing about the domain, so it is not a failure to remember
  other,         // anything else (bad domain, libcurl setup, ...)
};
const char* to_string(FetchFailure f);

struct FetchResult {
  std::optional<FetchFailure> failure;  // nullopt: success, `body` holds the policy file
  std::string body;
  std::string detail;              // what went wrong, for logs and TLS-RPT; "" on success
  long http_status = 0;            // 0 if no response was received
  std::size_t bytes_received = 0;  // body bytes handed over by the transport, kept or not
  bool ok() const { return !failure.has_value(); }
};

struct FetcherConfig {
  // PEM file of extra trust anchors, used in addition to the system store
  // (for private PKIs and tests). "" = system store only.
  std::string ca_file;
  std::chrono::milliseconds timeout = limits::kStsFetchTimeout;
  std::uint16_t https_port = 443;  // tests use other ports
  std::size_t max_body_bytes = limits::kStsPolicyBytes;
  // A transfer slower than low_speed_bytes per second for low_speed_time is
  // abandoned (on top of the total timeout).
  long low_speed_bytes = 64;
  std::chrono::seconds low_speed_time{20};
  std::size_t threads = 2;  // worker threads doing blocking transfers
};

class PolicyFetcher {
 public:
  virtual ~PolicyFetcher() = default;
  virtual asio::awaitable<FetchResult> fetch(std::string policy_domain) = 0;
};

class CurlPolicyFetcher final : public PolicyFetcher {
 public:
  CurlPolicyFetcher(dns::Resolver& resolver, FetcherConfig config = {});
  ~CurlPolicyFetcher() override;
  CurlPolicyFetcher(const CurlPolicyFetcher&) = delete;
  CurlPolicyFetcher& operator=(const CurlPolicyFetcher&) = delete;

  asio::awaitable<FetchResult> fetch(std::string policy_domain) override;

  // The blocking transfer to `host` pinned to `addresses` (exposed for tests).
  // If `abort` is given, the transfer stops with FetchFailure::cancelled
  // once it reads true (checked before connecting and by libcurl's progress
  // callback); it must outlive the call.
  FetchResult fetch_blocking(const std::string& host, const std::vector<IpAddress>& addresses,
                             const std::atomic<bool>* abort = nullptr) const;

 private:
  dns::Resolver& resolver_;
  FetcherConfig config_;
  asio::thread_pool pool_;
};

}  // namespace mxsec::policy::mtasts
