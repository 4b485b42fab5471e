#include "policy/mtasts/record.hpp"

#include "codec/ext_field.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::policy::mtasts {
namespace {

// Not codec::parse_tag_list: §3.1 allows no folding white space, no WSP
// around "=", and its own name and value alphabets, so a DKIM-style tag
// lexer would accept records the ABNF rejects.
constexpr std::string_view kVersion = "v=STSv1";

std::string quote(std::string_view v) { return "\"" + escape_for_log(v, 60) + "\""; }

// sts-id = %s"id=" 1*32(ALPHA / DIGIT)
bool is_sts_id(std::string_view v) {
  if (v.empty() || v.size() > 32) return false;
  for (char c : v)
    if (!is_alnum(c)) return false;
  return true;
}

}  // namespace

bool is_sts_record(std::string_view txt) {
  if (txt.substr(0, kVersion.size()) != kVersion) return false;
  txt.remove_prefix(kVersion.size());
  while (!txt.empty() && is_wsp(txt.front())) txt.remove_prefix(1);
  return !txt.empty() && txt.front() == ';';
}

Result<StsRecord> parse_sts_record(std::string_view txt) {
  if (txt.size() > limits::kStsRecordBytes)
    return make_error(Errc::limit, "MTA-STS record of " + std::to_string(txt.size()) + " octets exceeds the limit of " +
                                       std::to_string(limits::kStsRecordBytes));
  for (char ch : txt) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c > 0x7e)
      return make_error(Errc::parse, "MTA-STS record contains a control or non-ASCII octet: " + quote(txt));
  }
  if (!is_sts_record(txt))
    return make_error(Errc::parse, "not an MTA-STS record (does not begin with \"v=STSv1;\"): " + quote(txt));

  std::optional<std::string_view> id;
  std::size_t p = kVersion.size();
  for (;;) {
    // sts-sep = *WSP %x3B *WSP. White space after the last field without a
    // final ";" is accepted too (see docs/mta-sts.md, deviations).
    while (p < txt.size() && is_wsp(txt[p])) ++p;
    if (p == txt.size()) break;
    if (txt[p] != ';') return make_error(Errc::parse, "MTA-STS record: expected \";\" at " + quote(txt.substr(p)));
    ++p;
    while (p < txt.size() && is_wsp(txt[p])) ++p;
    if (p == txt.size()) break;  // the optional final sts-sep
    std::size_t end = p;
    while (end < txt.size() && txt[end] != ';' && !is_wsp(txt[end])) ++end;
    const std::string_view field = txt.substr(p, end - p);
    p = end;
    const auto eq = field.find('=');
    if (eq == std::string_view::npos)
      return make_error(Errc::parse, "MTA-STS record: field without \"=\": " + quote(field));
    const std::string_view name = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    if (name == "id") {
      // The ABNF would also read a second or malformed "id=" as an
      // sts-extension; we refuse the ambiguity instead of guessing which id
      // the domain meant.
      if (id) return make_error(Errc::parse, "MTA-STS record: id given more than once");
      if (!is_sts_id(value))
        return make_error(Errc::parse, "MTA-STS record: id must be 1 to 32 letters or digits: " + quote(value));
      id = value;
      continue;
    }
    // sts-extension: syntax-checked, then ignored (§3.1).
    if (!codec::is_ext_name(name) || !codec::is_ext_value(value))
      return make_error(Errc::parse, "MTA-STS record: malformed field " + quote(field));
  }
  // §3.1: "Note that sts-id record is required."
  if (!id) return make_error(Errc::parse, "MTA-STS record without id: " + quote(txt));
  return StsRecord{std::string(*id)};
}

Result<std::optional<StsRecord>> select_sts_record(const std::vector<std::string>& txts) {
  // §3.1: "records that do not begin with "v=STSv1;" are discarded. If the
  // number of resulting records is not one, or if the resulting record is
  // syntactically invalid, senders MUST assume the recipient domain does not
  // have an available MTA-STS Policy".
  return codec::select_one_record<StsRecord>(txts, is_sts_record, parse_sts_record, "v=STSv1");
}

}  // namespace mxsec::policy::mtasts
