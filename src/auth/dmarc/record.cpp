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

// RFC 9989 §4.8 writes every tag name and value as an ABNF quoted string,
// and RFC 5234 §2.3: "ABNF strings are case insensitive"; only the version
// is %s"DMARC1". Reading "adkim=S" as an unknown value would fall back to
// relaxed alignment and "psd=Y" to "u", both weaker than the owner asked:
// every tag name and literal value below is compared case-insensitively.
std::optional<AlignmentMode> parse_rors(std::string_view v) {
  if (iequals(v, "r")) return AlignmentMode::relaxed;
  if (iequals(v, "s")) return AlignmentMode::strict;
  return std::nullopt;
}

std::optional<PsdFlag> parse_psd(std::string_view v) {
  if (iequals(v, "y")) return PsdFlag::yes;
  if (iequals(v, "n")) return PsdFlag::no;
  if (iequals(v, "u")) return PsdFlag::unspecified;
  return std::nullopt;
}

std::optional<bool> parse_yn(std::string_view v) {
  if (iequals(v, "y")) return true;
  if (iequals(v, "n")) return false;
  return std::nullopt;
}

std::optional<FailureOptions> parse_fo(std::string_view v) {
  FailureOptions fo;
  fo.all_fail = false;
  for (std::string_view opt : split(v, ':')) {
    opt = trim_wsp(opt);
    if (opt == "0") fo.all_fail = true;
    else if (opt == "1") fo.any_fail = true;
    else if (iequals(opt, "d")) fo.dkim = true;
    else if (iequals(opt, "s")) fo.spf = true;
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
  // XXX "v=DMARC1" is matched exactly, as the version test has always
  // pinned ("V=DMARC1" is not a record). RFC 9989 §4.7 demands the value
  // "match precisely"; whether the ABNF string "v" admits "V" is left to
  // the lead, since accepting it changes which TXT records are discovered.
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

namespace {

// What parse_record() learns across tags, for the usability judgement.
struct TagState {
  bool p_present = false, p_valid = false, sp_invalid = false, np_invalid = false, t_present = false;
  std::optional<std::string_view> rua_value, ruf_value;
};

// Applies one tag; `name` is lower-cased. Invalid values leave the default
// and a warning (RFC 9989 §4.7).
void apply_tag(Record& rec, TagState& st, std::string_view name, std::string_view value) {
  if (name == "p") {
    st.p_present = true;
    if (auto pol = parse_policy(value)) {
      rec.p = pol;
      st.p_valid = true;
    } else {
      rec.warnings.push_back("invalid p=" + quote(value));
    }
  } else if (name == "sp" || name == "np") {
    auto pol = parse_policy(value);
    if (!pol) {
      (name == "sp" ? st.sp_invalid : st.np_invalid) = true;
      rec.warnings.push_back("invalid " + std::string(name) + "=" + quote(value));
    } else {
      (name == "sp" ? rec.sp : rec.np) = pol;
    }
  } else if (name == "psd") {
    if (auto psd = parse_psd(value)) rec.psd = *psd;
    else rec.warnings.push_back("invalid psd=" + quote(value) + ", using u");
  } else if (name == "adkim" || name == "aspf") {
    if (auto m = parse_rors(value)) (name == "adkim" ? rec.adkim : rec.aspf) = *m;
    else rec.warnings.push_back("invalid " + std::string(name) + "=" + quote(value) + ", using r");
  } else if (name == "fo") {
    if (auto fo = parse_fo(value)) rec.fo = *fo;
    else rec.warnings.push_back("invalid fo=" + quote(value) + ", using 0");
  } else if (name == "t") {
    if (auto t = parse_yn(value)) {
      rec.testing = *t;
      st.t_present = true;
    } else {
      rec.warnings.push_back("invalid t=" + quote(value) + ", using n");
    }
  } else if (name == "rua") {
    st.rua_value = value;
  } else if (name == "ruf") {
    st.ruf_value = value;
  } else if (name == "pct") {
    rec.deprecated_tags.emplace_back("pct");
    if (auto n = parse_uint(value, 100)) rec.pct = static_cast<int>(*n);
    else rec.warnings.push_back("invalid pct=" + quote(value) + " (RFC 7489: 0..100)");
  } else if (name == "rf" || name == "ri") {
    rec.deprecated_tags.emplace_back(name);
  }
  // Unknown tags: "Unknown tags MUST be ignored." (RFC 9989 §4.7)
}

// The report URIs, t from pct, and the usability of the record (§4.10.1).
void finish_record(Record& rec, const TagState& st, const RecordLimits& limits) {
  if (st.rua_value) rec.rua = parse_uri_list(*st.rua_value, limits.max_report_uris);
  if (st.ruf_value) rec.ruf = parse_uri_list(*st.ruf_value, limits.max_report_uris);
  for (const ReportUri& u : rec.rua)
    if (!u.note.empty()) rec.warnings.push_back("rua " + quote(u.uri) + ": " + u.note);
  for (const ReportUri& u : rec.ruf)
    if (!u.note.empty()) rec.warnings.push_back("ruf " + quote(u.uri) + ": " + u.note);

  if (!st.t_present && rec.pct) {
    rec.testing = *rec.pct == 0;
    rec.testing_from_pct = true;
  }

  if (!st.p_valid || st.sp_invalid || st.np_invalid) {
    rec.usability = rec.has_valid_rua() ? Usability::treated_as_none : Usability::unusable;
    if (!st.p_present) rec.warnings.push_back("no p tag");
  }
}

}  // namespace

Result<Record> parse_record(std::string_view txt, const RecordLimits& limits) {
  if (txt.size() > limits.max_bytes)
    return make_error(Errc::limit, "DMARC record of " + std::to_string(txt.size()) + " bytes exceeds the limit of " +
                                       std::to_string(limits.max_bytes));
  if (!is_dmarc_record(txt)) return make_error(Errc::parse, "not a DMARC record: the first tag must be v=DMARC1");

  Record rec;
  TagState state;
  std::vector<std::string> seen;  // lower-cased tag names
  const std::vector<std::string_view> specs = split(txt, ';');
  if (specs.size() > limits.max_tags + 1) return make_error(Errc::limit, "DMARC record has too many tags");

  codec::TagListOptions lex;
  lex.max_tags = 1;
  lex.strict_valchar = false;  // dmarc-value = %x20-3A / %x3C-7E
  for (std::size_t i = 1; i < specs.size(); ++i) {  // specs[0] is v=DMARC1, already checked
    const std::string_view spec = specs[i];
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
    // Tag names are case-insensitive (see parse_rors), so "P=" repeats "p=".
    std::string name = to_lower((*tags)[0].name);
    bool repeated = false;
    for (const std::string& s : seen) repeated = repeated || s == name;
    if (repeated) {
      rec.warnings.push_back("repeated tag " + name + " ignored");
      continue;
    }
    apply_tag(rec, state, name, (*tags)[0].value);
    seen.push_back(std::move(name));
  }
  finish_record(rec, state, limits);
  return rec;
}

}  // namespace mxsec::auth::dmarc
