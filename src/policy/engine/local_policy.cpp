// policy/engine/local_policy.cpp: see local_policy.hpp.
#include "policy/engine/local_policy.hpp"

#include "core/strings.hpp"

namespace mxsec::policy {

const char* to_string(LocalLevel l) {
  switch (l) {
    case LocalLevel::none: return "none";
    case LocalLevel::may: return "may";
    case LocalLevel::encrypt: return "encrypt";
    case LocalLevel::dane_only: return "dane-only";
    case LocalLevel::verify: return "verify";
  }
  return "none";
}

std::optional<LocalLevel> parse_local_level(std::string_view s) {
  for (auto l : {LocalLevel::none, LocalLevel::may, LocalLevel::encrypt, LocalLevel::dane_only, LocalLevel::verify})
    if (iequals(s, to_string(l))) return l;
  return std::nullopt;
}

namespace {

// The key of an entry: the normalized name, with its leading dot for a
// subdomain entry; nullopt when it is not a domain name.
std::optional<std::string> entry_key(std::string_view domain) {
  const bool subdomains = !domain.empty() && domain.front() == '.';
  std::string name = normalize_domain(subdomains ? domain.substr(1) : domain);
  if (!is_valid_domain_name(name)) return std::nullopt;
  return subdomains ? "." + name : name;
}

}  // namespace

Result<void> LocalPolicyMap::add(std::string_view domain, LocalLevel level) {
  auto key = entry_key(domain);
  if (!key) return make_error(Errc::invalid_argument, "not a domain name: " + escape_for_log(domain));
  entries_[*key] = level;
  return {};
}

bool LocalPolicyMap::contains(std::string_view domain) const {
  auto key = entry_key(domain);
  return key && entries_.find(*key) != entries_.end();
}

std::optional<LocalLevel> LocalPolicyMap::find(std::string_view domain) const {
  std::string name = normalize_domain(domain);
  if (auto it = entries_.find(name); it != entries_.end()) return it->second;
  // Parents, most specific first: a.b.c -> .b.c -> .c
  for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    if (auto it = entries_.find(std::string_view(name).substr(dot)); it != entries_.end()) return it->second;
  }
  return std::nullopt;
}

Result<LocalPolicyMap> parse_local_policy(std::string_view text) {
  LocalPolicyMap map;
  int line_no = 0;
  for (auto line : split(text, '\n')) {
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto space = line.find_first_of(" \t");
    if (space == std::string_view::npos)
      return make_error(Errc::parse, "line " + std::to_string(line_no) + ": expected \"domain level\"");
    auto domain = line.substr(0, space);
    auto level_text = trim(line.substr(space));
    auto level = parse_local_level(level_text);
    if (!level)
      return make_error(Errc::parse, "line " + std::to_string(line_no) + ": unknown level \"" +
                                         escape_for_log(level_text) + "\" (none, may, encrypt, dane-only, verify)");
    if (auto r = map.add(domain, *level); !r)
      return make_error(Errc::parse, "line " + std::to_string(line_no) + ": " + r.error().message);
  }
  return map;
}

}  // namespace mxsec::policy
