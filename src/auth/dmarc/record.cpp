#include "auth/dmarc/record.hpp"

#include "codec/tag_list.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::dmarc {
namespace {

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string quote(std::string_view v) { return "\"" + escape_for_log(v, 60) + "\""; }

std::optional<AlignmentMode> parse_rors(std::string_view v) {
  if (v == "r") return AlignmentMode::relaxed;
  if (v == "s") return AlignmentMode::strict;
  return std::nullopt;
}

std::optional<FailureOptions> parse_fo(std::string_view v) {
  FailureOptions fo;
  fo.all_fail = false;
  for (std::string_view opt : split(v, ':')) {
    opt = trim_wsp(opt);
    if (opt == "0") fo.all_fail = true;
    else if (opt == "1") fo.any_fail = true;
    else if (opt == "d") fo.dkim = true;
    else if (opt == "s") fo.spf = true;
    else return std::nullopt;
  }
  return fo;
}

}  // namespace

const char* to_string(Policy p) {
  switch (p) {
    case Policy::none: return "none";
    case Policy::quarantine: return "quarantine";
    case Policy::reject: return "reject";
  }
  return "?";
}

const char* to_string(AlignmentMode m) { return m == AlignmentMode::strict ? "s" : "r"; }

const char* to_string(PsdFlag f) {
  switch (f) {
    case PsdFlag::unspecified: return "u";
    case PsdFlag::yes: return "y";
    case PsdFlag::no: return "n";
  }
  return "?";
}

const char* to_string(Usability u) {
  switch (u) {
    case Usability::usable: return "usable";
    case Usability::treated_as_none: return "treated-as-none";
    case Usability::unusable: return "unusable";
  }
  return "?";
}

std::optional<Policy> parse_policy(std::string_view s) {
  // dmarc-request = "none" / "quarantine" / "reject"; RFC 5234 literals are
  // case-insensitive (only v=DMARC1 is marked %s).
  if (iequals(s, "none")) return Policy::none;
  if (iequals(s, "quarantine")) return Policy::quarantine;
  if (iequals(s, "reject")) return Policy::reject;
  return std::nullopt;
}

Policy Record::effective_p() const {
  if (usability != Usability::usable) return Policy::none;
  return p.value_or(Policy::none);
}

Policy Record::effective_sp() const {
  if (usability != Usability::usable) return Policy::none;
  return sp ? *sp : effective_p();
}

Policy Record::effective_np() const {
  if (usability != Usability::usable) return Policy::none;
  return np ? *np : effective_sp();
}

bool Record::has_valid_rua() const {
  for (const ReportUri& u : rua)
    if (u.valid) return true;
  return false;
}

bool is_dmarc_record(std::string_view txt) {
  txt = trim_wsp(txt);
  if (txt.empty() || txt.front() != 'v') return false;
  txt.remove_prefix(1);
  txt = trim_wsp(txt);
  if (txt.empty() || txt.front() != '=') return false;
  txt.remove_prefix(1);
  txt = trim_wsp(txt);
  if (txt.substr(0, 6) != "DMARC1") return false;
  txt.remove_prefix(6);
  txt = trim_wsp(txt);
  return txt.empty() || txt.front() == ';';
}

Result<Record> parse_record(std::string_view txt, const RecordLimits& limits) {
  if (txt.size() > limits.max_bytes)
    return make_error(Errc::limit, "DMARC record of " + std::to_string(txt.size()) + " bytes exceeds the limit of " +
                                       std::to_string(limits.max_bytes));
  if (!is_dmarc_record(txt)) return make_error(Errc::parse, "not a DMARC record: the first tag must be v=DMARC1");

  Record rec;
  std::vector<std::string_view> seen;
  bool p_present = false, p_valid = false, sp_invalid = false, np_invalid = false, t_present = false;
  std::optional<std::string_view> rua_value, ruf_value;
  const std::vector<std::string_view> specs = split(txt, ';');
  if (specs.size() > limits.max_tags + 1) return make_error(Errc::limit, "DMARC record has too many tags");

  codec::TagListOptions lex;
  lex.max_tags = 1;
  lex.strict_valchar = false;  // dmarc-value = %x20-3A / %x3C-7E
  bool first = true;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    std::string_view spec = specs[i];
    if (first) {  // v=DMARC1, already checked
      first = false;
      continue;
    }
    if (trim(spec).empty()) {
      if (i + 1 != specs.size()) rec.warnings.push_back("empty tag-spec ignored");
      continue;
    }
    auto tags = codec::parse_tag_list(spec, lex);
    if (!tags || tags->size() != 1) {
      rec.warnings.push_back("malformed tag-spec " + quote(trim(spec)) + " ignored" +
                             (tags ? std::string() : ": " + tags.error().message));
      continue;
    }
    const std::string_view name = (*tags)[0].name;
    const std::string_view value = (*tags)[0].value;
    bool repeated = false;
    for (std::string_view s : seen) repeated = repeated || s == name;
    if (repeated) {
      rec.warnings.push_back("repeated tag " + std::string(name) + " ignored");
      continue;
    }
    seen.push_back(name);

    if (name == "p") {
      p_present = true;
      if (auto pol = parse_policy(value)) {
        rec.p = pol;
        p_valid = true;
      } else {
        rec.warnings.push_back("invalid p=" + quote(value));
      }
    } else if (name == "sp" || name == "np") {
      auto pol = parse_policy(value);
      if (!pol) {
        (name == "sp" ? sp_invalid : np_invalid) = true;
        rec.warnings.push_back("invalid " + std::string(name) + "=" + quote(value));
      } else {
        (name == "sp" ? rec.sp : rec.np) = pol;
      }
    } else if (name == "psd") {
      if (value == "y") rec.psd = PsdFlag::yes;
      else if (value == "n") rec.psd = PsdFlag::no;
      else if (value == "u") rec.psd = PsdFlag::unspecified;
      else rec.warnings.push_back("invalid psd=" + quote(value) + ", using u");
    } else if (name == "adkim" || name == "aspf") {
      if (auto m = parse_rors(value)) (name == "adkim" ? rec.adkim : rec.aspf) = *m;
      else rec.warnings.push_back("invalid " + std::string(name) + "=" + quote(value) + ", using r");
    } else if (name == "fo") {
      if (auto fo = parse_fo(value)) rec.fo = *fo;
      else rec.warnings.push_back("invalid fo=" + quote(value) + ", using 0");
    } else if (name == "t") {
      if (value == "y") {
        rec.testing = true;
        t_present = true;
      } else if (value == "n") {
        rec.testing = false;
        t_present = true;
      } else {
        rec.warnings.push_back("invalid t=" + quote(value) + ", using n");
      }
    } else if (name == "rua") {
      rua_value = value;
    } else if (name == "ruf") {
      ruf_value = value;
    } else if (name == "pct") {
      rec.deprecated_tags.emplace_back("pct");
      if (auto n = parse_uint(value, 100)) rec.pct = static_cast<int>(*n);
      else rec.warnings.push_back("invalid pct=" + quote(value) + " (RFC 7489: 0..100)");
    } else if (name == "rf" || name == "ri") {
      rec.deprecated_tags.emplace_back(name);
    }
    // Unknown tags: "Unknown tags MUST be ignored." (RFC 9989 §4.7)
  }

  if (rua_value) rec.rua = parse_uri_list(*rua_value, limits.max_report_uris);
  if (ruf_value) rec.ruf = parse_uri_list(*ruf_value, limits.max_report_uris);
  for (const ReportUri& u : rec.rua)
    if (!u.note.empty()) rec.warnings.push_back("rua " + quote(u.uri) + ": " + u.note);
  for (const ReportUri& u : rec.ruf)
    if (!u.note.empty()) rec.warnings.push_back("ruf " + quote(u.uri) + ": " + u.note);

  if (!t_present && rec.pct) {
    rec.testing = *rec.pct == 0;
    rec.testing_from_pct = true;
  }

  if (!p_valid || sp_invalid || np_invalid) {
    rec.usability = rec.has_valid_rua() ? Usability::treated_as_none : Usability::unusable;
    if (!p_present) rec.warnings.push_back("no p tag");
  }
  return rec;
}

}  // namespace mxsec::auth::dmarc
