// delivery/dsn.cpp: see dsn.hpp.
#include "delivery/dsn.hpp"

#include <algorithm>
#include <optional>

#include "core/date.hpp"
#include "core/strings.hpp"

namespace mxsec::delivery {
namespace {

// RFC 5322 §2.1.1: lines "SHOULD be no more than 78 characters" and "MUST
// be no more than 998". Text is wrapped at the first where words allow; a
// word is cut into pieces that keep every line under the second.
constexpr std::size_t kWrapWidth = 78;
constexpr std::size_t kMaxLine = 998;
constexpr std::size_t kWordPiece = 900;
constexpr std::string_view kCrlf = "\r\n";
// Boundaries tried before the original is left out (see choose_boundary()).
constexpr int kBoundaryTries = 16;

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Untrusted text made one line (see the contract): controls become spaces,
// runs of spaces one, non-ASCII stays only as well-formed UTF-8 in a global
// report, and the result is cut at `max` octets (at a character boundary).
std::string one_line(std::string_view s, bool utf8, std::size_t max = std::string::npos) {
  std::string out;
  out.reserve(std::min(s.size(), max == std::string::npos ? s.size() : max + 3));
  bool cut = false;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::string_view piece;
    std::string_view replacement;
    if (c < 0x20 || c == 0x7f) {
      replacement = " ";
      ++i;
    } else if (c < 0x80) {
      piece = s.substr(i, 1);
      ++i;
    } else if (const std::size_t n = utf8 ? utf8_sequence_length(s.substr(i)) : 0; n > 0) {
      piece = s.substr(i, n);
      i += n;
    } else {
      replacement = "?";
      ++i;
    }
    const std::string_view add = piece.empty() ? replacement : piece;
    if (add == " " && (out.empty() || out.back() == ' ')) continue;
    if (max != std::string::npos && out.size() + add.size() > max) {
      cut = true;
      break;
    }
    out += add;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (cut) out += "...";
  return out;
}

// Pieces of at most kWordPiece octets, cut before a UTF-8 lead byte.
std::vector<std::string_view> pieces_of(std::string_view word) {
  std::vector<std::string_view> out;
  while (word.size() > kWordPiece) {
    std::size_t cut = kWordPiece;
    while (cut > 1 && (static_cast<unsigned char>(word[cut]) & 0xC0) == 0x80) --cut;
    out.push_back(word.substr(0, cut));
    word.remove_prefix(cut);
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::string_view w : split(text, ' '))
    for (std::string_view p : pieces_of(w)) out.push_back(p);
  return out;
}

// "Name: value" (value from one_line() or our own), folded at spaces.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string line(name);
  line += ':';
  bool first = true;
  for (std::string_view w : words_of(value)) {
    if (!first && line.size() + 1 + w.size() > kWrapWidth) {
      out += line;
      out += kCrlf;
      line = " ";  // RFC 5322 §2.2.3: a fold is CRLF before white space
    } else {
      line += ' ';
    }
    line += w;
    first = false;
  }
  out += line;
  out += kCrlf;
}

// Text wrapped into lines of `indent` spaces and words.
void append_wrapped(std::string& out, std::string_view text, std::size_t indent) {
  const std::string lead(indent, ' ');
  std::string line = lead;
  for (std::string_view w : words_of(text)) {
    if (line.size() > indent && line.size() + 1 + w.size() > kWrapWidth) {
      out += line;
      out += kCrlf;
      line = lead;
    }
    if (line.size() > indent) line += ' ';
    line += w;
  }
  if (line.size() > indent) {
    out += line;
    out += kCrlf;
  }
}

// RFC 3463 §2: status-code = class "." subject "." detail, class 2, 4 or 5,
// subject and detail 1 to 3 digits.
bool is_status_code(std::string_view s) {
  const auto parts = split(s, '.');
  if (parts.size() != 3 || parts[0].size() != 1 || (parts[0][0] != '2' && parts[0][0] != '4' && parts[0][0] != '5'))
    return false;
  for (std::size_t i = 1; i < 3; ++i)
    if (parts[i].empty() || parts[i].size() > 3 || !std::all_of(parts[i].begin(), parts[i].end(), is_digit))
      return false;
  return true;
}

}  // namespace

bool is_smtp_reply(std::string_view s) {
  return s.size() >= 3 && (s[0] >= '2' && s[0] <= '5') && is_digit(s[1]) && is_digit(s[2]) &&
         (s.size() == 3 || s[3] == ' ' || s[3] == '-');
}

namespace {

std::string status_of(const DsnRecipient& r, DsnAction action) {
  if (is_status_code(r.status)) return r.status;
  if (auto from_reply = reply_status(r.diagnostic)) return *from_reply;
  switch (action) {
    case DsnAction::failed: return "5.0.0";
    case DsnAction::delayed: return "4.0.0";
    case DsnAction::delivered:
    case DsnAction::relayed: return "2.0.0";
  }
  return "5.0.0";
}

// RFC 6533 §3: a UTF-8 address has the address type "utf-8".
std::string typed_address(std::string_view address, bool global) {
  const std::string a = one_line(address, global);
  return (is_ascii(a) ? "rfc822; " : "utf-8; ") + a;
}

// The header section of `text`: up to and including the line end of its last
// field (the whole text if it has no empty line).
std::string_view header_of(std::string_view text) {
  if (text.substr(0, 2) == kCrlf) return {};
  const std::size_t end = text.find("\r\n\r\n");
  return end == std::string_view::npos ? text : text.substr(0, end + 2);
}

// CRLF line ends only, no line over kMaxLine octets, and a final CRLF.
bool well_formed(std::string_view text) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') return false;
      ++i;
      line = 0;
    } else if (c == '\n') {
      return false;
    } else if (++line > kMaxLine) {
      return false;
    }
  }
  return text.empty() || text.ends_with(kCrlf);
}

struct Returned {
  DsnReturned what = DsnReturned::nothing;
  std::string_view content;
  std::string why_not;  // for the text part, when less than asked was returned
};

Returned choose_returned(const DsnReport& report, std::string_view original, const DsnOptions& options) {
  const bool whole = report.action == DsnAction::failed && !report.requiretls &&
                     (report.ret == smtp::DsnRet::full ||
                      (report.ret == smtp::DsnRet::unspecified && original.size() <= options.full_return_bytes));
  Returned r;
  if (whole && well_formed(original)) {
    r.what = DsnReturned::message;
    r.content = original;
    return r;
  }
  if (whole) {
    r.why_not = "Only the header of your message is attached: its text has lines that are too long.";
  } else if (report.action == DsnAction::failed && report.ret == smtp::DsnRet::unspecified && !report.requiretls) {
    r.why_not = "Only the header of your message is attached: the message is larger than " +
                std::to_string(options.full_return_bytes) + " octets.";
  }
  const std::string_view header = header_of(original);
  if (!header.empty() && well_formed(header)) {
    r.what = DsnReturned::headers;
    r.content = header;
    return r;
  }
  r.why_not = "Your message is not attached: its header has lines that are too long to return.";
  return r;
}

bool has_eight_bit(std::string_view s) { return !is_ascii(s); }

// "=_mxsec_<token>_<n>" (RFC 2046 §5.1.1 bchars; "=" makes it unlike any
// base64 or quoted-printable line), the first n whose delimiter line does
// not occur in `content`. Only the returned original needs the check: every
// line of the other parts starts with our own words, a field name, or
// white space.
std::optional<std::string> choose_boundary(std::string_view token, std::string_view content) {
  std::string safe = one_line(token, false, 40);
  for (char& c : safe)
    if (!is_alnum(c) && c != '.' && c != '-') c = '_';
  for (int n = 0; n < kBoundaryTries; ++n) {
    std::string b = "=_mxsec_" + safe + "_" + std::to_string(n);
    const std::string delimiter = "--" + b;
    if (!content.starts_with(delimiter) && content.find("\n" + delimiter) == std::string_view::npos) return b;
  }
  return std::nullopt;
}

std::string_view subject_of(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "Undelivered Mail Returned to Sender";
    case DsnAction::delayed: return "Delayed Mail (still being retried)";
    case DsnAction::delivered:
    case DsnAction::relayed: return "Successful Mail Delivery Report";
  }
  return "";
}

std::string human_part(const DsnReport& report, const Returned& returned, bool global, std::string_view host) {
  std::string t;
  append_wrapped(t, "This is the mail system at host " + std::string(host) + ".", 0);
  t += kCrlf;
  switch (report.action) {
    case DsnAction::failed:
      append_wrapped(t,
                     "Your message could not be delivered to the recipients listed below. The mail system has given "
                     "up on them and will not try again. The reason the receiving side gave, or the reason the "
                     "mail system gave up, follows each address.",
                     0);
      t += kCrlf;
      append_wrapped(t,
                     "If the reason is not clear to you, forward this report to your mail administrator "
                     "(postmaster); the technical part of it says exactly what happened.",
                     0);
      break;
    case DsnAction::delayed:
      append_wrapped(t,
                     "Your message has not yet been delivered to the recipients listed below; the last reason "
                     "follows each address. This is only a warning: you do not need to send the message again. The "
                     "mail system keeps trying until " +
                         rfc5322_date(report.retry_until) +
                         ", and if it still cannot deliver the message by then, you will get another notice.",
                     0);
      break;
    case DsnAction::delivered:
      append_wrapped(t,
                     "Your message was delivered to the mailbox of each recipient listed below, as you asked "
                     "(NOTIFY=SUCCESS).",
                     0);
      break;
    case DsnAction::relayed:
      append_wrapped(t,
                     "Your message was relayed to the mail server named below for each recipient, which accepted "
                     "it. You asked to be told of its delivery (NOTIFY=SUCCESS), but that server does not offer "
                     "delivery status notifications (RFC 3461), so this is the last report you will get about "
                     "these recipients: it cannot say whether the message reached their mailboxes.",
                     0);
      break;
  }
  t += kCrlf;
  append_wrapped(t,
                 "Message: queue ID " + one_line(report.queue_id, false, 64) + ", received " +
                     rfc5322_date(report.arrival) + ".",
                 0);
  for (const DsnRecipient& r : report.recipients) {
    t += kCrlf;
    append_wrapped(t, "<" + one_line(r.address, global) + ">: " + to_string(report.action), 0);
    const std::string reason = one_line(r.diagnostic, global, limits::kDsnDiagnosticBytes);
    if (!reason.empty()) append_wrapped(t, reason, 4);
    std::string detail;
    if (!r.remote_mta.empty()) detail = "reported by " + one_line(r.remote_mta, global, 255);
    if (r.last_attempt > 0) detail += (detail.empty() ? "" : ", ") + std::string("last attempt ") + rfc5322_date(r.last_attempt);
    if (!detail.empty()) append_wrapped(t, "(" + detail + ")", 4);
  }
  t += kCrlf;
  if (!returned.why_not.empty()) {
    append_wrapped(t, returned.why_not, 0);
  } else if (returned.what == DsnReturned::message) {
    append_wrapped(t, "Your message is attached.", 0);
  } else if (returned.what == DsnReturned::headers) {
    append_wrapped(t, "The header of your message is attached.", 0);
  }
  return t;
}

std::string status_part(const DsnReport& report, bool global, std::string_view host) {
  std::string s;
  // RFC 3464 §2.2: the per-message fields, in the order of its grammar.
  if (!report.envid.empty()) append_field(s, "Original-Envelope-Id", one_line(report.envid, global, 200));
  append_field(s, "Reporting-MTA", "dns; " + std::string(host));
  if (report.arrival > 0) append_field(s, "Arrival-Date", rfc5322_date(report.arrival));
  for (const DsnRecipient& r : report.recipients) {
    // §2.1: each recipient's group is preceded by a blank line.
    s += kCrlf;
    if (!r.orcpt.empty()) append_field(s, "Original-Recipient", one_line(r.orcpt, global, 600));
    append_field(s, "Final-Recipient", typed_address(r.address, global));
    append_field(s, "Action", to_string(report.action));
    append_field(s, "Status", status_of(r, report.action));
    if (!r.remote_mta.empty()) append_field(s, "Remote-MTA", "dns; " + one_line(r.remote_mta, global, 255));
    const std::string d = one_line(r.diagnostic, global, limits::kDsnDiagnosticBytes);
    if (!d.empty()) append_field(s, "Diagnostic-Code", (is_smtp_reply(d) ? "smtp; " : "X-mxsec; ") + d);
    if (r.last_attempt > 0) append_field(s, "Last-Attempt-Date", rfc5322_date(r.last_attempt));
    append_field(s, "Final-Log-ID", one_line(report.queue_id, false, 64));
    if (report.action == DsnAction::delayed && report.retry_until > 0)
      append_field(s, "Will-Retry-Until", rfc5322_date(report.retry_until));
  }
  return s;
}

// A part: its fields, an empty line, the body (ending in CRLF), and an empty
// line, so the body's last line end is not taken by the delimiter (RFC 2046
// §5.1.1: the CRLF before "--boundary" belongs to the boundary).
void append_part(std::string& out, std::string_view boundary, std::string_view description, std::string_view type,
                 std::string_view body) {
  out += "--";
  out += boundary;
  out += kCrlf;
  append_field(out, "Content-Description", description);
  append_field(out, "Content-Type", type);
  if (has_eight_bit(body)) append_field(out, "Content-Transfer-Encoding", "8bit");
  out += kCrlf;
  out += body;
  out += kCrlf;
}

std::string returned_type(DsnReturned what, bool global) {
  if (what == DsnReturned::message) return global ? "message/global" : "message/rfc822";
  return global ? "message/global-headers" : "text/rfc822-headers";
}

bool report_is_global(const DsnReport& report) {
  if (report.smtputf8 || !is_ascii(report.sender) || !is_ascii(report.envid)) return true;
  return std::any_of(report.recipients.begin(), report.recipients.end(),
                     [](const DsnRecipient& r) { return !is_ascii(r.address) || !is_ascii(r.orcpt); });
}

}  // namespace

std::optional<std::string> reply_status(std::string_view reply) {
  const std::string_view d = trim(reply);
  // Our own reason, led by its code: "5.7.30 REQUIRETLS support required ...".
  if (const std::string_view lead = d.substr(0, d.find(' '));
      is_status_code(lead) && (lead[0] == '4' || lead[0] == '5'))
    return std::string(lead);
  if (!is_smtp_reply(d) || d[0] == '2' || d[0] == '3') return std::nullopt;
  // RFC 2034 §4: the enhanced code follows the reply code; its class must
  // agree with the reply's, or the code is not trusted.
  const std::string_view rest = d.size() > 4 ? d.substr(4) : std::string_view();
  const std::string_view code = rest.substr(0, rest.find(' '));
  if (is_status_code(code) && code[0] == d[0]) return std::string(code);
  return std::string(1, d[0]) + ".0.0";
}

const char* to_string(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
  }
  return "failed";
}

DsnMessage build_dsn(const DsnReport& report, std::string_view original, const DsnOptions& options) {
  DsnMessage m;
  m.global = report_is_global(report);
  const std::string host = report.reporting_mta.empty() ? "localhost" : one_line(report.reporting_mta, false, 255);
  Returned returned = choose_returned(report, original, options);
  std::optional<std::string> boundary = choose_boundary(report.message_id, returned.content);
  if (!boundary) {
    // An original that holds every boundary tried is left out rather than
    // allowed to end the report early.
    returned = Returned{DsnReturned::nothing, {}, "Your message is not attached."};
    boundary = choose_boundary(report.message_id, {});
  }
  const std::string human = human_part(report, returned, m.global, host);
  const std::string status = status_part(report, m.global, host);
  m.returned = returned.what;

  std::string& out = m.text;
  out.reserve(human.size() + status.size() + returned.content.size() + 2048);
  append_field(out, "From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
  append_field(out, "To", "<" + one_line(report.sender, m.global, 512) + ">");
  append_field(out, "Subject", subject_of(report.action));
  append_field(out, "Date", rfc5322_date(report.now));
  append_field(out, "Message-ID", "<" + one_line(report.message_id, false, 64) + "@" + host + ">");
  // RFC 3834 §5: "auto-replied" marks a reply to a message, so that
  // responders do not answer it.
  append_field(out, "Auto-Submitted", "auto-replied");
  append_field(out, "MIME-Version", "1.0");
  append_field(out, "Content-Type",
               "multipart/report; report-type=delivery-status; boundary=\"" + *boundary + "\"");
  const bool eight_bit = has_eight_bit(human) || has_eight_bit(status) || has_eight_bit(returned.content);
  append_field(out, "Content-Transfer-Encoding", eight_bit ? "8bit" : "7bit");
  out += kCrlf;
  append_wrapped(out, "This is a MIME-encapsulated delivery status notification (RFC 3464).", 0);
  out += kCrlf;
  const std::string_view b = *boundary;
  append_part(out, b, "Notification", m.global ? "text/plain; charset=utf-8" : "text/plain; charset=us-ascii", human);
  append_part(out, b, "Delivery report", m.global ? "message/global-delivery-status" : "message/delivery-status",
              status);
  if (returned.what != DsnReturned::nothing) {
    const bool headers = returned.what == DsnReturned::headers;
    const char* state = report.action == DsnAction::delivered ? "Delivered"
                        : report.action == DsnAction::relayed ? "Relayed"
                                                              : "Undelivered";
    const std::string description = std::string(state) +
                                    (headers ? " Message Headers" : " Message");
    append_part(out, b, description, returned_type(returned.what, m.global), returned.content);
  }
  out += "--";
  out += b;
  out += "--";
  out += kCrlf;
  m.eight_bit = has_eight_bit(out);  // the header may hold UTF-8 addresses too
  return m;
}

}  // namespace mxsec::delivery
