#include "auth/spf/verdict.hpp"

#include "core/strings.hpp"

namespace mxsec::auth::spf {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::none: return "none";
    case Verdict::neutral: return "neutral";
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::softfail: return "softfail";
    case Verdict::temperror: return "temperror";
    case Verdict::permerror: return "permerror";
  }
  return "permerror";
}

std::optional<Verdict> parse_verdict(std::string_view word) {
  static constexpr struct {
    std::string_view name;
    Verdict verdict;
  } kWords[] = {
      {"none", Verdict::none},         {"neutral", Verdict::neutral},     {"pass", Verdict::pass},
      {"fail", Verdict::fail},         {"softfail", Verdict::softfail},   {"temperror", Verdict::temperror},
      {"permerror", Verdict::permerror}, {"unknown", Verdict::permerror}, {"error", Verdict::temperror},
  };
  for (const auto& w : kWords)
    if (iequals(word, w.name)) return w.verdict;
  return std::nullopt;
}

const char* to_string(Identity id) { return id == Identity::helo ? "helo" : "mailfrom"; }

}  // namespace mxsec::auth::spf
