#include "delivery/headers.hpp"

#include "auth/ar/auth_results.hpp"
#include "core/strings.hpp"

namespace mxsec::delivery {
namespace {

constexpr std::string_view kFieldName = "Authentication-Results";

// The authserv-id of a field value: the parser's, or else the first token
// after leading white space and comments.
std::string authserv_id_of(std::string_view value) {
  if (auto parsed = auth::ar::parse_value(value)) return parsed->authserv_id;
  std::size_t i = 0;
  int depth = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (depth == 0 && !is_wsp(c) && c != '\r' && c != '\n') break;
    ++i;
  }
  std::size_t j = i;
  while (j < value.size() && value[j] != ';' && value[j] != '(' && !is_wsp(value[j]) && value[j] != '\r') ++j;
  return std::string(value.substr(i, j - i));
}

}  // namespace

namespace {

// Calls visit(begin, end, name, value) for each field of the header section
// of `text` (up to the first empty line): its first line, then continuation
// lines starting with WSP.
template <class Visit>
void for_each_field(std::string_view text, Visit visit) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = pos;
    do {
      const std::size_t lf = text.find('\n', end);
      end = lf == std::string_view::npos ? text.size() : lf + 1;
    } while (end < text.size() && is_wsp(text[end]));
    const std::string_view field = text.substr(pos, end - pos);
    if (field == "\r\n" || field == "\n") break;  // the empty line ends the header section
    const std::size_t colon = field.find(':');
    if (colon != std::string_view::npos) visit(pos, end, trim(field.substr(0, colon)), field.substr(colon + 1));
    pos = end;
  }
}

}  // namespace

std::vector<ByteRange> forged_auth_results(std::string_view text, std::string_view authserv_id) {
  std::vector<ByteRange> out;
  for_each_field(text, [&](std::size_t begin, std::size_t end, std::string_view name, std::string_view value) {
    if (iequals(name, kFieldName) && iequals(authserv_id_of(value), authserv_id)) out.push_back({begin, end});
  });
  return out;
}

bool tls_required_no(std::string_view text) {
  bool no = false;
  for_each_field(text, [&](std::size_t, std::size_t, std::string_view name, std::string_view value) {
    if (!iequals(name, "TLS-Required")) return;
    std::string v(value);
    std::erase_if(v, [](char c) { return c == '\r' || c == '\n'; });
    if (iequals(trim(v), "No")) no = true;
  });
  return no;
}

std::vector<std::string_view> output_slices(std::string_view prepend, std::string_view text,
                                            const std::vector<ByteRange>& removed) {
  std::vector<std::string_view> out;
  if (!prepend.empty()) out.push_back(prepend);
  std::size_t pos = 0;
  for (const auto& r : removed) {
    if (r.begin > pos) out.push_back(text.substr(pos, r.begin - pos));
    pos = r.end;
  }
  if (pos < text.size()) out.push_back(text.substr(pos));
  return out;
}

}  // namespace mxsec::delivery
