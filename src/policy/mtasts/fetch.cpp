#include "policy/mtasts/fetch.hpp"

#include <openssl/x509.h>

#include <curl/curl.h>

#include <algorithm>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <mutex>
#include <utility>

#include "core/strings.hpp"

namespace mxsec::policy::mtasts {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// curl_global_init is not thread-safe and must run once per process.
bool curl_ready() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return rc == CURLE_OK;
}

FetchResult fail(FetchFailure kind, std::string detail) {
  FetchResult r;
  r.failure = kind;
  r.detail = std::move(detail);
  return r;
}

// State shared with the write callback of one transfer.
struct Transfer {
  CURL* curl = nullptr;
  std::size_t cap = 0;
  std::string body;
  std::size_t received = 0;
  bool checked_headers = false;
  bool rejected_headers = false;  // stopped because of the status or the media type
  bool too_large = false;
};

long response_code(CURL* curl) {
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

// RFC 8461 §3.2: "senders SHOULD validate that the media type is
// "text/plain""; media types compare case-insensitively and parameters such
// as charset are allowed (RFC 9110 §8.3.1).
bool is_text_plain(const char* content_type) {
  if (content_type == nullptr) return false;
  std::string_view v = content_type;
  v = v.substr(0, v.find(';'));
  return iequals(trim(v), "text/plain");
}

// Judges status and media type once the headers are in. Returns a failure or
// nullopt if the body may be accepted.
std::optional<FetchResult> judge_headers(CURL* curl, const std::string& url) {
  const long code = response_code(curl);
  if (code >= 300 && code < 400) {
    char* location = nullptr;
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
    std::string target = location != nullptr ? escape_for_log(location, 200) : "(no Location)";
    auto r = fail(FetchFailure::redirect, "HTTP " + std::to_string(code) + " redirect to " + target +
                                              " not followed (RFC 8461 §3.3)");
    r.http_status = code;
    return r;
  }
  if (code != 200) {
    auto r = fail(FetchFailure::http_status,
                  "HTTP " + std::to_string(code) + " from " + url + "; only 200 is a policy (RFC 8461 §3.3)");
    r.http_status = code;
    return r;
  }
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (!is_text_plain(type)) {
    auto r = fail(FetchFailure::content_type,
                  "Content-Type " + (type != nullptr ? "\"" + escape_for_log(type, 100) + "\"" : std::string("missing")) +
                      ", not text/plain (RFC 8461 §3.2)");
    r.http_status = code;
    return r;
  }
  return std::nullopt;
}

std::size_t on_body(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * nmemb;
  t->received += n;
  if (!t->checked_headers) {
    t->checked_headers = true;
    // Do not read the body of a response that cannot be a policy.
    if (judge_headers(t->curl, "")) {
      t->rejected_headers = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
  }
  // The cap is checked against the remaining room, so nothing past it is
  // ever buffered.
  if (n > t->cap - t->body.size()) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, n);
  return n;
}

FetchFailure classify(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return FetchFailure::dns;
    case CURLE_COULDNT_CONNECT:
      return FetchFailure::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return FetchFailure::timeout;
    // The server's certificate did not verify for "mta-sts.<domain>":
    // RFC 8460 §4.3.2.2 "sts-webpki-invalid".
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return FetchFailure::certificate;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return FetchFailure::tls;
    case CURLE_FILESIZE_EXCEEDED:
      return FetchFailure::too_large;
    default:
      return FetchFailure::other;
  }
}

std::string resolve_entry(const std::string& host, std::uint16_t port, const std::vector<IpAddress>& addresses) {
  std::string entry = host + ":" + std::to_string(port) + ":";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) entry += ",";
    if (addresses[i].is_v6()) entry += "[" + addresses[i].to_string() + "]";
    else entry += addresses[i].to_string();
  }
  return entry;
}

// A cancelled result if the awaiting coroutine has been cancelled.
std::optional<FetchResult> cancelled_during(const asio::cancellation_state& cs, const std::string& host,
                                            const char* step) {
  if (cs.cancelled() == asio::cancellation_type::none) return std::nullopt;
  return fail(FetchFailure::cancelled, "fetching the policy from " + host + " cancelled during " + std::string(step));
}

// CURLOPT_XFERINFOFUNCTION: a non-zero return aborts the transfer with
// CURLE_ABORTED_BY_CALLBACK. libcurl calls it often while data flows and at
// least once a second while it waits.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

// The abort flag of one transfer. It lives on the heap, shared by the pool
// task that runs the transfer and by the cancellation slot handler, so
// neither refers into the coroutine frame that awaits the fetch, and
// whichever lets go last frees it.
struct TransferControl {
  std::atomic<bool> abort{false};
};

// Installed in the awaiting coroutine's cancellation slot while the transfer
// runs. It holds only a shared_ptr, so it can never dangle, whenever the slot
// destroys it.
struct AbortOnCancel {
  std::shared_ptr<TransferControl> control;
  void operator()(asio::cancellation_type type) const {
    if (type != asio::cancellation_type::none) control->abort.store(true);
  }
};

// The initiation of the asynchronous transfer: runs fetch_blocking() on the
// pool, completes with void(FetchResult) on the handler's executor.
//
// A named type, not a lambda written inside the co_await expression: g++ 12
// mishandles lambdas and temporaries in co_await expressions (a heap
// use-after-free of the coroutine frame was seen under ASan), so fetch()
// builds this object, and the awaitable, in named locals first.
struct TransferInitiation {
  const CurlPolicyFetcher* fetcher;
  asio::thread_pool::executor_type pool;
  std::string host;
  std::vector<IpAddress> addresses;
  std::shared_ptr<TransferControl> control;

  template <class Handler>
  void operator()(Handler handler) && {
    // Runs on the awaiting coroutine's thread, the thread that may emit the
    // cancellation signal, so assigning the slot here is not a race.
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.assign(AbortOnCancel{control});
    // Outstanding work keeps the handler's io_context running while the
    // transfer is on the pool.
    auto completion_ex =
        asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    asio::post(pool, [fetcher = fetcher, host = std::move(host), addresses = std::move(addresses),
                      control = std::move(control), completion_ex = std::move(completion_ex),
                      handler = std::move(handler)]() mutable {
      FetchResult result = fetcher->fetch_blocking(host, addresses, &control->abort);
      control.reset();
      // Completion runs on the handler's executor: the slot is cleared
      // there (cancellation slots are not thread-safe, and the signal is
      // emitted on that executor), before the handler resumes the coroutine,
      // so AbortOnCancel is destroyed before anything it could be handed to
      // next can be cancelled.
      asio::dispatch(completion_ex, [handler = std::move(handler), result = std::move(result)]() mutable {
        asio::get_associated_cancellation_slot(handler).clear();
        std::move(handler)(std::move(result));
      });
    });
  }
};

}  // namespace

const char* to_string(FetchFailure f) {
  switch (f) {
    case FetchFailure::dns: return "dns";
    case FetchFailure::connect: return "connect";
    case FetchFailure::tls: return "tls";
    case FetchFailure::certificate: return "certificate";
    case FetchFailure::http_status: return "http-status";
    case FetchFailure::redirect: return "redirect";
    case FetchFailure::content_type: return "content-type";
    case FetchFailure::too_large: return "too-large";
    case FetchFailure::timeout: return "timeout";
    case FetchFailure::cancelled: return "cancelled";
    case FetchFailure::other: return "other";
  }
  return "?";
}

CurlPolicyFetcher::CurlPolicyFetcher(dns::Resolver& resolver, FetcherConfig config)
    : resolver_(resolver), config_(std::move(config)), pool_(std::max<std::size_t>(config_.threads, 1)) {}

CurlPolicyFetcher::~CurlPolicyFetcher() { pool_.join(); }

asio::awaitable<FetchResult> CurlPolicyFetcher::fetch(std::string policy_domain) {
  const std::string domain = normalize_domain(policy_domain);
  const std::string host = "mta-sts." + domain;
  if (!is_valid_domain_name(domain) || !is_valid_domain_name(host)) {
    co_return fail(FetchFailure::other, "policy domain \"" + escape_for_log(policy_domain, 100) +
                                            "\" is not a valid host name");
  }
  // Checked after each step: once the coroutine is cancelled, Asio throws on
  // the next co_await of an awaitable, and fetch() must end with a value.
  const asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;

  // The policy host is resolved by mxsec's validating resolver; a bogus answer
  // is never used, and a failure of either family fails the fetch closed
  // rather than trusting whatever the other family says.
  const dns::AddressAnswer a = co_await resolver_.a(host);
  if (auto c = cancelled_during(cs, host, "DNS")) co_return std::move(*c);
  const dns::AddressAnswer aaaa = co_await resolver_.aaaa(host);
  if (auto c = cancelled_during(cs, host, "DNS")) co_return std::move(*c);
  if (a.failed() || aaaa.failed()) {
    const dns::AddressAnswer& bad = a.failed() ? a : aaaa;
    co_return fail(FetchFailure::dns, "resolving " + host + " failed: " +
                                          dns::describe_failure(std::string(a.failed() ? "A " : "AAAA ") + host, bad));
  }
  std::vector<IpAddress> addresses;
  for (const auto* ans : {&a, &aaaa})
    for (const IpAddress& ip : ans->records)
      if (addresses.size() < static_cast<std::size_t>(limits::kPolicyMaxAddressesPerHost)) addresses.push_back(ip);
  if (addresses.empty()) co_return fail(FetchFailure::dns, host + " has no A or AAAA record");

  // The transfer blocks, so it runs on the pool (TransferInitiation) and
  // this coroutine resumes on its own executor. The initiation and the
  // awaitable are named locals, so the co_await below holds no temporary and
  // no lambda (see TransferInitiation for why).
  TransferInitiation initiation{this, pool_.get_executor(), host, std::move(addresses),
                                std::make_shared<TransferControl>()};
  asio::awaitable<FetchResult> transfer =
      asio::async_initiate<const asio::use_awaitable_t<>&, void(FetchResult)>(std::move(initiation),
                                                                              asio::use_awaitable);
  FetchResult result = co_await std::move(transfer);
  co_return result;
}

FetchResult CurlPolicyFetcher::fetch_blocking(const std::string& host, const std::vector<IpAddress>& addresses,
                                              const std::atomic<bool>* abort) const {
  if (!curl_ready()) return fail(FetchFailure::other, "curl_global_init failed");
  if (addresses.empty()) return fail(FetchFailure::dns, host + " has no address");
  const std::string url = "https://" + host +
                          (config_.https_port == 443 ? std::string() : ":" + std::to_string(config_.https_port)) +
                          "/.well-known/mta-sts.txt";
  const std::string what = "HTTPS GET " + url + ": ";
  // Cancelled while it waited for a pool thread: do not connect at all.
  if (abort != nullptr && abort->load()) return fail(FetchFailure::cancelled, what + "cancelled before connecting");

  CurlEasy curl(curl_easy_init());
  if (!curl) return fail(FetchFailure::other, "curl_easy_init failed");
  CurlSlist resolve(curl_slist_append(nullptr, resolve_entry(host, config_.https_port, addresses).c_str()));
  if (!resolve) return fail(FetchFailure::other, "curl_slist_append failed");

  Transfer t;
  t.curl = curl.get();
  t.cap = config_.max_body_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  bool setup_ok = true;
  auto set = [&](CURLcode rc) { setup_ok = setup_ok && rc == CURLE_OK; };

  set(curl_easy_setopt(c, CURLOPT_URL, url.c_str()));
  set(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf));
  set(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
  // §3.3: the policy is fetched over HTTPS only, and "HTTP 3xx redirects
  // MUST NOT be followed".
  set(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https"));
  set(curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https"));
  set(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
  // WebPKI: "valid for the "mta-sts" DNS-ID ..., chain to a root CA that is
  // trusted by the sending MTA, and be non-expired" (§3.3).
  set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L));
  set(curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  if (!config_.ca_file.empty()) {
    // CAINFO replaces the built-in bundle file; the system store stays in
    // use through CAPATH, OpenSSL's own default certificate directory (the
    // hashed directory it was built with), which OpenSSL loads as well.
    set(curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_file.c_str()));
    set(curl_easy_setopt(c, CURLOPT_CAPATH, X509_get_default_cert_dir()));
  }
  // The name was resolved by mxsec's validating resolver; pin it so libcurl
  // never asks the system resolver.
  set(curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get()));
  // Nothing from the environment or the user's files.
  set(curl_easy_setopt(c, CURLOPT_PROXY, ""));
  set(curl_easy_setopt(c, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED)));
  // (No CURLOPT_COOKIEFILE: the cookie engine stays off. No
  // CURLOPT_ACCEPT_ENCODING: the body arrives as sent, so the size cap counts
  // real bytes and no decompression bomb can expand behind it.)
  set(curl_easy_setopt(c, CURLOPT_USERAGENT, "mxsec (MTA-STS policy fetch)"));
  // §3.3: "Senders MAY impose a timeout on the HTTPS GET and/or a limit on
  // the maximum size of the response body".
  set(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count())));
  set(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout.count())));
  set(curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, config_.low_speed_bytes));
  set(curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config_.low_speed_time.count())));
  set(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(config_.max_body_bytes)));
  set(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body));
  set(curl_easy_setopt(c, CURLOPT_WRITEDATA, &t));
  if (abort != nullptr) {
    // libcurl takes a void*; on_progress only reads through it.
    set(curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress));
    set(curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<void*>(static_cast<const void*>(abort))));
    set(curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L));
  }
  if (!setup_ok) return fail(FetchFailure::other, "libcurl rejected an option (libcurl too old?)");

  const CURLcode rc = curl_easy_perform(c);
  FetchResult r;
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    // Only on_progress aborts, and only when the caller cancelled.
    r = fail(FetchFailure::cancelled, what + "cancelled after " + std::to_string(t.received) + " body bytes");
  } else if (t.rejected_headers || rc == CURLE_OK) {
    if (auto bad = judge_headers(c, url)) {
      r = std::move(*bad);
      r.detail = what + r.detail;
    }
  }
  if (!r.failure && t.too_large) {
    r = fail(FetchFailure::too_large, what + "body exceeds " + std::to_string(config_.max_body_bytes) + " bytes");
  }
  if (!r.failure && rc != CURLE_OK) {
    const FetchFailure kind = classify(rc);
    std::string why = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    if (kind == FetchFailure::too_large) why = "body exceeds " + std::to_string(config_.max_body_bytes) + " bytes";
    else if (kind == FetchFailure::certificate)
      why = "certificate verify failed: " + why;
    r = fail(kind, what + escape_for_log(why, 300));
  }
  r.http_status = response_code(c);
  r.bytes_received = t.received;
  if (r.ok()) r.body = std::move(t.body);
  return r;
}

}  // namespace mxsec::policy::mtasts
