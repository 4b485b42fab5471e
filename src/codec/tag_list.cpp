#include "codec/tag_list.hpp"

#include <string>

#include "core/strings.hpp"

namespace mxsec::codec {
namespace {

bool is_fws_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws_char(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws_char(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<Tag>> parse_tag_list(std::string_view text, const TagListOptions& options) {
  std::vector<Tag> tags;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view spec = text.substr(pos, end - pos);
    pos = end + 1;
    if (trim_fws(spec).empty()) {
      // An empty spec is allowed only as the optional trailing ";".
      if (end == text.size()) break;
      if (trim_fws(text.substr(pos)).empty()) break;
      return make_error(Errc::parse, "empty tag-spec between ';'");
    }
    const std::size_t eq = spec.find('=');
    if (eq == std::string_view::npos)
      return make_error(Errc::parse, "tag-spec without '=': " + escape_for_log(trim_fws(spec), 40));
    const std::string_view name = trim_fws(spec.substr(0, eq));
    const std::string_view value = trim_fws(spec.substr(eq + 1));
    if (name.empty() || !is_alpha(name.front()))
      return make_error(Errc::parse, "invalid tag name: " + escape_for_log(name, 40));
    for (char c : name)
      if (!is_alnum(c) && c != '_') return make_error(Errc::parse, "invalid tag name: " + escape_for_log(name, 40));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (is_fws_char(c)) continue;
      if (options.strict_valchar ? (u < 0x21 || u > 0x7e) : (u < 0x20 || u == 0x7f))
        return make_error(Errc::parse, "invalid character in value of tag " + std::string(name));
    }
    for (const Tag& t : tags)
      if (t.name == name) return make_error(Errc::parse, "duplicate tag " + std::string(name));
    if (tags.size() >= options.max_tags) return make_error(Errc::limit, "too many tags");
    tags.push_back({name, value});
    if (end == text.size()) break;
  }
  return tags;
}

std::optional<std::string_view> find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const Tag& t : tags)
    if (t.name == name) return t.value;
  return std::nullopt;
}

std::string strip_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (!is_fws_char(c)) out += c;
  return out;
}

}  // namespace mxsec::codec
