// metrics/http.cpp: see http.hpp.
#include "metrics/http.hpp"

#include "core/strings.hpp"
#include "metrics/registry.hpp"

namespace mxsec::metrics {
namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
// "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
bool is_tchar(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

bool is_visible_ascii(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// RFC 9110 §5.5: field-value characters are VCHAR, obs-text (%x80-FF), SP
// and HTAB; CR, LF, NUL and the other controls are not.
bool is_field_value(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0x7f || (u < 0x20 && u != '\t')) return false;
  }
  return true;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

RequestHeadParser::RequestHeadParser(HttpLimits limits) : limits_(limits) {}

void RequestHeadParser::fail(int status, std::string why) {
  state_ = State::failed;
  status_ = status;
  error_ = std::move(why);
}

std::size_t RequestHeadParser::push(std::string_view data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (state_ != State::need_more) return i;
    if (++head_bytes_ > limits_.head_bytes) {
      fail(431, "request head longer than " + std::to_string(limits_.head_bytes) + " octets");
      return i;
    }
    const char c = data[i];
    if (after_cr_) {
      after_cr_ = false;
      if (c != '\n') {
        fail(400, "bare CR in the request head");
        return i;
      }
      end_of_line(line_);
      line_.clear();
      continue;
    }
    if (c == '\r') {
      after_cr_ = true;
    } else if (c == '\n') {
      fail(400, "bare LF in the request head");
      return i;
    } else {
      line_ += c;
    }
  }
  return data.size();
}

void RequestHeadParser::end_of_line(std::string_view line) {
  if (line.empty()) {
    if (lines_.empty()) return;  // §2.2: empty lines before the request line
    finish();
    return;
  }
  if (lines_.size() > limits_.head_fields) {
    fail(431, "more than " + std::to_string(limits_.head_fields) + " header fields");
    return;
  }
  lines_.emplace_back(line);
}

void RequestHeadParser::finish() {
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
  const std::string_view request_line = lines_.front();
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = request_line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (target.empty() || !is_visible_ascii(target)) return fail(400, "malformed request target");
  // §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, HTTP-name = %s"HTTP"
  if (version.size() != 8 || !version.starts_with("HTTP/") || !is_digit(version[5]) || version[6] != '.' ||
      !is_digit(version[7]))
    return fail(400, "malformed HTTP version");
  head_.method = std::string(method);
  head_.target = std::string(target);
  head_.version_major = version[5] - '0';
  head_.version_minor = version[7] - '0';
  if (head_.version_major != 1) return fail(505, "HTTP major version " + std::to_string(head_.version_major));

  int hosts = 0;
  for (std::size_t i = 1; i < lines_.size(); ++i) {
    const std::string_view line = lines_[i];
    // §5.2: obs-fold (a line starting with whitespace) is rejected.
    if (is_ows(line.front())) return fail(400, "obsolete line folding");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "header field without a colon");
    const std::string_view name = line.substr(0, colon);
    // §5.1: "No whitespace is allowed between the field name and colon."
    if (!name.empty() && is_ows(name.back())) return fail(400, "whitespace between a field name and its colon");
    if (!is_token(name)) return fail(400, "malformed header field name");
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_field_value(value)) return fail(400, "control character in a header field value");
    if (iequals(name, "host")) ++hosts;
    head_.fields.emplace_back(std::string(name), std::string(value));
  }
  // §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
  // HTTP/1.1 request message that lacks a Host header field and to any
  // request message that contains more than one Host header field line".
  if (hosts > 1) return fail(400, "more than one Host header field");
  if (hosts == 0 && head_.version_minor >= 1) return fail(400, "HTTP/1.1 request without Host");
  state_ = State::done;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

std::string http_response(int status, std::string_view content_type, std::string_view body, bool head_only,
                          std::string_view extra_fields) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_fields;
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string error_response(int status) {
  return http_response(status, "text/plain; charset=utf-8", std::string(reason_phrase(status)) + "\n");
}

std::string_view target_path(std::string_view target) {
  if (target.starts_with('/')) return target.substr(0, target.find('?'));
  // RFC 9112 §3.2.2 absolute-form: "http://" authority path-abempty [ "?" query ]
  constexpr std::string_view kScheme = "http://";
  if (target.size() < kScheme.size() || !iequals(target.substr(0, kScheme.size()), kScheme)) return {};
  std::string_view rest = target.substr(kScheme.size());
  const std::size_t end_of_authority = rest.find_first_of("/?");
  if (end_of_authority == std::string_view::npos || rest[end_of_authority] == '?') return "/";
  rest.remove_prefix(end_of_authority);
  return rest.substr(0, rest.find('?'));
}

std::string metrics_response(const RequestHead& head, const std::function<std::string()>& render) {
  if (target_path(head.target) != "/metrics") return http_response(404, "text/plain; charset=utf-8", "Not Found\n");
  // RFC 9110 §9.1: method names are case-sensitive.
  const bool head_only = head.method == "HEAD";
  if (head.method != "GET" && !head_only)
    return http_response(405, "text/plain; charset=utf-8", "Method Not Allowed\n", false, "Allow: GET, HEAD\r\n");
  return http_response(200, kContentType, render(), head_only);
}

}  // namespace mxsec::metrics
