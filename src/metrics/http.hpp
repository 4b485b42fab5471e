// metrics/http.hpp: the HTTP/1.1 request head (RFC 9112) as a sans-I/O push
// parser, and the answers of a Prometheus metrics endpoint.
//
// Contract
// - RequestHeadParser takes octets with push() until state() is done or
//   failed, and returns how many it used: the head ends at its empty line
//   (CRLF CRLF), and octets after it (a body, a pipelined request, garbage)
//   are not used. The outcome does not depend on how the octets are split
//   across push() calls.
// - What is accepted (RFC 9112, strictly; anything else fails, it never
//   guesses):
//     request-line = method SP request-target SP HTTP-version CRLF (§3)
//       method: a token (RFC 9110 §9.1); request-target: visible ASCII, no
//       SP; HTTP-version: "HTTP/" DIGIT "." DIGIT, case-sensitive (§2.3).
//     field-line = field-name ":" OWS field-value OWS CRLF (§5)
//       field-name: a token; field-value: VCHAR, obs-text, SP and HTAB.
//     Empty lines before the request line are ignored (§2.2: "SHOULD ignore
//     at least one empty line").
// - Failures, as the status code to answer with:
//     400  a line ends in a bare LF or has a bare CR (§2.2 lets a server
//          accept a bare LF; this one does not, so that no two parsers can
//          disagree on where a line ends), a control character, a malformed
//          request line or version, whitespace between a field name and its
//          colon (§5.1: "MUST reject ... with a response status code of 400"),
//          obs-fold (§5.2: a server MAY reject it with 400), an HTTP/1.1
//          request without Host or any request with more than one Host (§3.2:
//          "MUST respond with a 400").
//     431  the head is longer than HttpLimits::head_bytes, or has more than
//          HttpLimits::head_fields field lines (RFC 6585 §5).
//     505  a major version other than 1 (RFC 9110 §15.6.6).
// - metrics_response() answers a parsed request for the endpoint:
//     GET or HEAD /metrics      200, Content-Type kContentType, the body of
//                               render() (HEAD: the same head, no body)
//     another method /metrics   405 with "Allow: GET, HEAD" (RFC 9110 §15.5.6)
//     any other path            404
//   The target may be origin-form ("/metrics", a query is ignored) or
//   absolute-form ("http://host:port/metrics", §3.2.2: a server "MUST accept
//   the absolute-form"). Every response has Content-Length and
//   "Connection: close": one request per connection (RFC 9112 §9.6), so
//   nothing after the head is ever read as a request.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.hpp"

namespace mxsec::metrics {

struct HttpLimits {
  std::size_t head_bytes = limits::kMetricsHeadBytes;
  std::size_t head_fields = limits::kMetricsHeadFields;
};

struct RequestHead {
  std::string method;
  std::string target;
  int version_major = 1;
  int version_minor = 1;
  std::vector<std::pair<std::string, std::string>> fields;  // name as sent, value without OWS
  friend bool operator==(const RequestHead&, const RequestHead&) = default;
};

class RequestHeadParser {
 public:
  enum class State { need_more, done, failed };

  explicit RequestHeadParser(HttpLimits limits = {});
  // Octets used from `data`: all of it while need_more; up to and including
  // the head's last LF when done; when failed, those up to where the
  // failure was found (of no further use: the connection ends).
  std::size_t push(std::string_view data);
  State state() const { return state_; }
  const RequestHead& head() const { return head_; }  // done
  int status() const { return status_; }               // failed: 400, 431 or 505
  const std::string& error() const { return error_; }  // failed: why, for logs

 private:
  void fail(int status, std::string why);
  void end_of_line(std::string_view line);
  void finish();

  HttpLimits limits_;
  State state_ = State::need_more;
  RequestHead head_;
  int status_ = 0;
  std::string error_;
  std::string line_;                // the current line, without its line end
  std::vector<std::string> lines_;  // request line and field lines
  std::size_t head_bytes_ = 0;
  bool after_cr_ = false;
};

// The reason phrase of the status codes used here ("" for any other).
std::string_view reason_phrase(int status);

// A complete response with Content-Length and Connection: close; the body is
// left out when `head_only` (a response to HEAD).
std::string http_response(int status, std::string_view content_type, std::string_view body, bool head_only = false,
                          std::string_view extra_fields = {});

// The answer to a request that failed to parse (parser.status()).
std::string error_response(int status);

// The endpoint's answer to a parsed request; render() is called only for GET
// and HEAD /metrics.
std::string metrics_response(const RequestHead& head, const std::function<std::string()>& render);

// The path of an origin-form or absolute-form target, without the query
// ("" when the target has neither form).
std::string_view target_path(std::string_view target);

}  // namespace mxsec::metrics
