#include "smtp/proto/ehlo.hpp"

#include "core/strings.hpp"
#include "smtp/proto/grammar.hpp"

namespace mxsec::smtp {

bool EhloCapabilities::has(std::string_view keyword) const { return keywords.count(ascii_upper(keyword)) != 0; }

const std::vector<std::string>* EhloCapabilities::params(std::string_view keyword) const {
  auto it = keywords.find(ascii_upper(keyword));
  return it == keywords.end() ? nullptr : &it->second;
}

std::optional<std::uint64_t> EhloCapabilities::size_limit() const {
  const auto* p = params("SIZE");
  if (!p) return std::nullopt;
  if (p->empty()) return 0;  // "SIZE" alone: no fixed maximum announced
  return parse_uint(p->front());
}

EhloCapabilities parse_ehlo(const Reply& reply) {
  EhloCapabilities caps;
  if (reply.code != 250 || reply.lines.empty()) return caps;
  caps.ok = true;
  std::string_view first = reply.lines.front();
  auto sp = first.find(' ');
  caps.domain = std::string(first.substr(0, sp));
  if (sp != std::string_view::npos) caps.greeting = std::string(first.substr(sp + 1));
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    auto words = split(reply.lines[i], ' ');
    if (words.empty() || !is_esmtp_keyword(words.front())) {
      ++caps.malformed_lines;
      continue;
    }
    std::vector<std::string> params;
    bool bad = false;
    for (std::size_t w = 1; w < words.size(); ++w) {
      // ehlo-param = 1*(%d33-126): one SP between params, no empty ones.
      if (words[w].empty()) {
        bad = true;
        break;
      }
      for (char c : words[w])
        if (c < 33 || c > 126) bad = true;
      params.emplace_back(words[w]);
    }
    if (bad) {
      ++caps.malformed_lines;
      continue;
    }
    caps.keywords.emplace(ascii_upper(words.front()), std::move(params));
  }
  return caps;
}

}  // namespace mxsec::smtp
