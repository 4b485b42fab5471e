#include "auth/dkim/signature.hpp"

#include <algorithm>
#include <array>

#include "codec/base64.hpp"
#include "codec/tag_list.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::dkim {
namespace {

constexpr std::uint64_t kMaxTimestamp = 999'999'999'999ULL;  // 1*12DIGIT (RFC 6376 §3.5 t=, x=)

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

// `s` without SP, HTAB, CR and LF (codec::strip_whitespace), appended in
// stretches rather than character by character.
std::string strip_fws(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && !is_fws(s[j])) ++j;
    out.append(s.data() + i, j - i);
    i = j + 1;
  }
  return out;
}

Error syntax(std::string msg) { return make_error(Errc::parse, std::move(msg)); }
Error reject(std::string msg) { return make_error(Errc::invalid_argument, std::move(msg)); }
Error unsupported(std::string msg) { return make_error(Errc::unsupported, std::move(msg)); }

Result<std::string> decode_b64_tag(std::string_view name, std::string_view value) {
  auto d = codec::decode_base64(value);
  if (!d) return syntax(std::string(name) + "= is not valid base64 (" + d.error().message + ")");
  if (d->empty()) return syntax(std::string(name) + "= is empty");
  return std::move(*d);
}

Result<std::int64_t> parse_time(std::string_view name, std::string_view value) {
  auto v = parse_uint(value, kMaxTimestamp);
  if (!v) return syntax(std::string(name) + "= is not a 1..12 digit number: " + escape_for_log(value, 40));
  return static_cast<std::int64_t>(*v);
}

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::none: return "none";
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::neutral: return "neutral";
    case Verdict::temperror: return "temperror";
    case Verdict::permerror: return "permerror";
  }
  return "permerror";
}

const char* to_string(Algorithm a) { return a == Algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256"; }
const char* to_string(Canon c) { return c == Canon::simple ? "simple" : "relaxed"; }

std::string Signature::canonicalization() const {
  return std::string(to_string(header_canon)) + "/" + to_string(body_canon);
}

Verdict signature_error_verdict(const Error& e) { return e.code == Errc::parse ? Verdict::neutral : Verdict::permerror; }

namespace {

// The tags parse_signature() reads (RFC 6376 §3.5); other tags are ignored
// (§3.2). Names are case-sensitive (§3.2: "Tags MUST be interpreted in a
// case-sensitive manner").
enum TagIndex { kV, kA, kB, kBh, kD, kH, kS, kC, kI, kL, kQ, kT, kX, kTagCount };
constexpr std::string_view kTagNames[kTagCount] = {"v", "a", "b", "bh", "d", "h", "s", "c", "i", "l", "q", "t", "x"};
using KnownTags = std::array<std::optional<std::string_view>, kTagCount>;

// Every tag we read, looked up in one pass over the list (names are unique:
// parse_tag_list rejects duplicates).
KnownTags find_known_tags(const std::vector<codec::Tag>& tags) {
  KnownTags known;
  for (const codec::Tag& tag : tags) {
    const std::string_view n = tag.name;
    int which = kTagCount;
    if (n.size() == 1) {
      switch (n[0]) {
        case 'v': which = kV; break;
        case 'a': which = kA; break;
        case 'b': which = kB; break;
        case 'd': which = kD; break;
        case 'h': which = kH; break;
        case 's': which = kS; break;
        case 'c': which = kC; break;
        case 'i': which = kI; break;
        case 'l': which = kL; break;
        case 'q': which = kQ; break;
        case 't': which = kT; break;
        case 'x': which = kX; break;
        default: break;
      }
    } else if (n == "bh") {
      which = kBh;
    }
    if (which != kTagCount) known[static_cast<std::size_t>(which)] = tag.value;
  }
  return known;
}

Result<Algorithm> parse_algorithm(std::string_view a) {
  if (a == "rsa-sha256") return Algorithm::rsa_sha256;
  if (a == "ed25519-sha256") return Algorithm::ed25519_sha256;
  // RFC 8301 §3.1: "Verifiers MUST NOT consider signatures using SHA-1 to be
  // valid."
  if (a == "rsa-sha1") return unsupported("rsa-sha1 not allowed (RFC 8301)");
  return unsupported("unsupported algorithm a=" + escape_for_log(a, 40));
}

// b=, and the span that is blanked when the signature field itself is
// hashed: the value and all whitespace up to the next ';' (RFC 6376 §3.7).
Result<void> parse_b(std::string_view field_value, std::string_view b, Signature& sig) {
  auto b_raw = decode_b64_tag("b", b);
  if (!b_raw) return b_raw.error();
  sig.signature = std::move(*b_raw);
  sig.signature_b64 = strip_fws(b);
  std::size_t begin = static_cast<std::size_t>(b.data() - field_value.data());
  while (begin > 0 && field_value[begin - 1] != '=') --begin;
  std::size_t end = field_value.find(';', static_cast<std::size_t>(b.data() - field_value.data()) + b.size());
  if (end == std::string_view::npos) end = field_value.size();
  sig.b_delete_begin = begin;
  sig.b_delete_end = end;
  return {};
}

// c= "header/body"; a missing body part is "simple" (§3.5).
Result<void> parse_canon(std::string_view cv, Signature& sig) {
  const std::size_t slash = cv.find('/');
  const std::string_view hc = slash == std::string_view::npos ? cv : cv.substr(0, slash);
  const std::string_view bc = slash == std::string_view::npos ? std::string_view("simple") : cv.substr(slash + 1);
  auto one = [](std::string_view s) -> std::optional<Canon> {
    if (s == "simple") return Canon::simple;
    if (s == "relaxed") return Canon::relaxed;
    return std::nullopt;
  };
  const auto h = one(hc), bd = one(bc);
  if (!h || !bd) return unsupported("unknown canonicalization c=" + escape_for_log(cv, 40));
  sig.header_canon = *h;
  sig.body_canon = *bd;
  return {};
}

Result<void> parse_domain_and_selector(std::string_view d, std::string_view s, Signature& sig) {
  if (!is_valid_domain_name(d)) return syntax("d= is not a domain name: " + escape_for_log(d, 80));
  sig.domain = normalize_domain(d);
  if (!is_valid_domain_name(s)) return syntax("s= is not a valid selector: " + escape_for_log(s, 80));
  sig.selector = normalize_domain(s);
  if (!is_valid_domain_name(sig.key_name()))
    return syntax("key name " + escape_for_log(sig.key_name(), 80) + " is not a domain name");
  return {};
}

// h=: the signed field names, lower-cased; From must be among them.
Result<void> parse_signed_headers(std::string_view h, const SignatureLimits& limits, Signature& sig) {
  bool has_from = false;
  sig.signed_headers.reserve(std::min<std::size_t>(16, limits.max_signed_headers));
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = h.find(':', start);
    const std::string_view field = trim_fws(h.substr(start, colon == std::string_view::npos ? h.npos : colon - start));
    if (field.empty()) return syntax("h= has an empty field name");
    for (char ch : field) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 33 || u > 126) return syntax("h= has an invalid field name: " + escape_for_log(field, 40));
    }
    if (sig.signed_headers.size() >= limits.max_signed_headers)
      return make_error(Errc::limit, "h= lists more than " + std::to_string(limits.max_signed_headers) + " fields");
    sig.signed_headers.push_back(to_lower(field));
    if (sig.signed_headers.back() == "from") has_from = true;
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  // RFC 6376 §5.4: "The From header field MUST be signed"; §6.1.1: "If the
  // "h=" tag does not include the From header field, the Verifier MUST ignore
  // the DKIM-Signature header field and return PERMFAIL (From field not signed)."
  if (!has_from) return reject("From field not signed (h= lacks From)");
  return {};
}

// i=, or "@d" when absent (§3.5).
Result<void> parse_identity(std::optional<std::string_view> i, Signature& sig) {
  if (!i) {
    sig.identity = "@" + sig.domain;
    sig.identity_domain = sig.domain;
    return {};
  }
  const std::size_t at = i->rfind('@');
  if (at == std::string_view::npos) return syntax("i= has no '@': " + escape_for_log(*i, 80));
  const std::string_view idom = i->substr(at + 1);
  if (!is_valid_domain_name(idom)) return syntax("i= domain is not a domain name: " + escape_for_log(*i, 80));
  sig.identity = std::string(*i);
  sig.identity_domain = normalize_domain(idom);
  // RFC 6376 §6.1.1: "Verifiers MUST confirm that the domain specified in
  // the "d=" tag is the same as or a parent domain of the domain part of
  // the "i=" tag. If not, the DKIM-Signature header field MUST be ignored".
  if (!is_subdomain_of(sig.identity_domain, sig.domain))
    return reject("i= domain " + escape_for_log(sig.identity_domain, 80) + " is not d= or a subdomain of it");
  return {};
}

// l=, q=, t= and x=.
Result<void> parse_optional_tags(const KnownTags& known, Signature& sig) {
  if (auto l = known[kL]) {
    // 1*76DIGIT: a count too large for 64 bits is certainly longer than any
    // body we accept, so it is clamped rather than rejected.
    if (l->empty() || l->size() > 76) return syntax("l= is not a 1..76 digit number");
    for (char ch : *l)
      if (!is_digit(ch)) return syntax("l= is not a number: " + escape_for_log(*l, 40));
    sig.body_length = parse_uint(*l).value_or(UINT64_MAX);
  }
  if (auto q = known[kQ]) {
    bool dns_txt = false;
    for (std::string_view m : split(*q, ':'))
      if (iequals(trim_fws(m), "dns/txt")) dns_txt = true;
    if (!dns_txt) return unsupported("unsupported query method q=" + escape_for_log(*q, 40) + " (only dns/txt)");
  }
  if (auto t = known[kT]) {
    auto v = parse_time("t", *t);
    if (!v) return v.error();
    sig.timestamp = *v;
  }
  if (auto x = known[kX]) {
    auto v = parse_time("x", *x);
    if (!v) return v.error();
    sig.expiration = *v;
  }
  // RFC 6376 §3.5 x=: "the value of the "x=" tag MUST be greater than the
  // value of the "t=" tag if both are present."
  if (sig.timestamp && sig.expiration && *sig.expiration <= *sig.timestamp)
    return reject("x= " + std::to_string(*sig.expiration) + " is not after t= " + std::to_string(*sig.timestamp));
  return {};
}

}  // namespace

Result<Signature> parse_signature(std::string_view value, const SignatureLimits& limits) {
  if (value.size() > limits.max_bytes)
    return make_error(Errc::limit, "DKIM-Signature longer than " + std::to_string(limits.max_bytes) + " bytes");
  auto parsed = codec::parse_tag_list(value);
  if (!parsed) return syntax("DKIM-Signature tag list: " + parsed.error().message);
  const KnownTags known = find_known_tags(*parsed);

  // RFC 6376 §6.1.1: "Verifiers MUST return PERMFAIL (signature missing
  // required tag) when any tag listed as "required" in Section 3.5 is omitted".
  for (TagIndex required : {kV, kA, kB, kBh, kD, kH, kS})
    if (!known[required]) return syntax("missing required tag " + std::string(kTagNames[required]) + "=");
  // v= "MUST have the value "1"" (RFC 6376 §3.5).
  if (*known[kV] != "1") return syntax("v= must be 1, got " + escape_for_log(*known[kV], 20));

  Signature sig;
  auto algorithm = parse_algorithm(*known[kA]);
  if (!algorithm) return algorithm.error();
  sig.algorithm = *algorithm;
  if (auto r = parse_b(value, *known[kB], sig); !r) return r.error();
  auto bh = decode_b64_tag("bh", *known[kBh]);
  if (!bh) return bh.error();
  sig.body_hash = std::move(*bh);
  if (sig.body_hash.size() != 32)
    return syntax("bh= has " + std::to_string(sig.body_hash.size()) + " bytes, SHA-256 needs 32");
  if (known[kC])
    if (auto r = parse_canon(*known[kC], sig); !r) return r.error();
  if (auto r = parse_domain_and_selector(*known[kD], *known[kS], sig); !r) return r.error();
  if (auto r = parse_signed_headers(*known[kH], limits, sig); !r) return r.error();
  if (auto r = parse_identity(known[kI], sig); !r) return r.error();
  if (auto r = parse_optional_tags(known, sig); !r) return r.error();
  return sig;
}

SignatureLabels peek_signature_labels(std::string_view value) {
  SignatureLabels out;
  if (value.size() > limits::kDkimSignatureBytes) return out;
  codec::TagListOptions opts;
  opts.strict_valchar = false;
  auto tags = codec::parse_tag_list(value, opts);
  if (!tags) return out;
  auto take = [&](const char* name, std::string& dst) {
    if (auto v = codec::find_tag(*tags, name)) dst = escape_for_log(*v, 80);
  };
  take("d", out.domain);
  take("s", out.selector);
  take("a", out.algorithm);
  if (auto b = codec::find_tag(*tags, "b")) out.header_b = escape_for_log(codec::strip_whitespace(*b).substr(0, 8), 8);
  out.domain = to_lower(out.domain);
  out.selector = to_lower(out.selector);
  return out;
}

}  // namespace mxsec::auth::dkim
