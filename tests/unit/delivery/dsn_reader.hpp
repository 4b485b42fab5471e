// Shared by the DSN tests: reads a DSN back with the project's message
// parser (codec/message.hpp) into its header fields, its MIME parts and the
// field groups of the delivery-status part, so a test can check the
// structure rather than search the text.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "codec/message.hpp"
#include "core/strings.hpp"

namespace mxsec::delivery::test {

// Field name (lower case) -> unfolded values, in order: a field given twice
// (an injected one) shows as two values.
using Fields = std::map<std::string, std::vector<std::string>>;

struct Part {
  Fields fields;
  std::string body;
};

struct ReadDsn {
  bool ok = false;
  Fields fields;
  std::string boundary;
  std::vector<Part> parts;
  bool closed = false;              // the close delimiter "--boundary--" was found
  std::vector<Fields> status;       // the delivery-status groups: per message, then per recipient
};

inline Fields fields_of(const codec::Message& m) {
  Fields out;
  for (const auto& f : m.headers) out[to_lower(f.name)].push_back(codec::unfold(f.value));
  return out;
}

// The single value of `name`, or "" (and a failure) when absent or repeated.
inline std::string one(const Fields& f, const std::string& name) {
  const auto it = f.find(name);
  if (it == f.end() || it->second.size() != 1) {
    ADD_FAILURE() << name << " is " << (it == f.end() ? "missing" : "repeated");
    return {};
  }
  return it->second.front();
}

inline bool has(const Fields& f, const std::string& name) { return f.count(name) != 0; }

inline std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t end = text.find("\r\n");
    if (end == std::string_view::npos) {
      out.push_back(text);
      break;
    }
    out.push_back(text.substr(0, end));
    text.remove_prefix(end + 2);
  }
  return out;
}

inline ReadDsn read_dsn(std::string_view text) {
  ReadDsn d;
  auto top = codec::parse_message(text);
  if (!top) {
    ADD_FAILURE() << top.error().message;
    return d;
  }
  d.fields = fields_of(*top);
  const std::string type = has(d.fields, "content-type") ? d.fields["content-type"].front() : "";
  const std::size_t b = type.find("boundary=\"");
  if (b == std::string::npos) {
    ADD_FAILURE() << "no boundary in " << type;
    return d;
  }
  d.boundary = type.substr(b + 10, type.find('"', b + 10) - b - 10);
  // RFC 2046 §5.1.1: parts lie between delimiter lines; the CRLF before a
  // delimiter belongs to it.
  std::vector<std::string> raw;
  bool in_parts = false;
  for (std::string_view line : lines_of(top->body)) {
    if (line == "--" + d.boundary) {
      raw.emplace_back();
      in_parts = true;
    } else if (line == "--" + d.boundary + "--") {
      d.closed = true;
      break;
    } else if (in_parts) {
      raw.back() += std::string(line) + "\r\n";
    }
  }
  for (std::string& r : raw) {
    if (r.ends_with("\r\n")) r.resize(r.size() - 2);
    auto m = codec::parse_message(r);
    if (!m) {
      ADD_FAILURE() << "part: " << m.error().message;
      return d;
    }
    d.parts.push_back({fields_of(*m), std::string(m->body)});
  }
  for (const Part& p : d.parts) {
    if (!has(p.fields, "content-type")) continue;
    const std::string t = to_lower(p.fields.at("content-type").front());
    if (t != "message/delivery-status" && t != "message/global-delivery-status") continue;
    std::string_view body = p.body;
    while (!body.empty()) {
      const std::size_t end = body.find("\r\n\r\n");
      const std::string group(body.substr(0, end == std::string_view::npos ? body.size() : end + 2));
      body.remove_prefix(end == std::string_view::npos ? body.size() : end + 4);
      auto m = codec::parse_message(group);
      if (!m) {
        ADD_FAILURE() << "status group: " << m.error().message;
        return d;
      }
      d.status.push_back(fields_of(*m));
    }
  }
  d.ok = true;
  return d;
}

// Text with its line breaks and runs of white space made single spaces, to
// find a sentence whatever the wrapping.
inline std::string squeezed(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

// Every line ends in CRLF (no bare CR or LF) and holds at most 998 octets.
inline bool lines_well_formed(std::string_view text) {
  if (!text.ends_with("\r\n")) return false;
  for (std::size_t i = 0, line = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') return false;
      ++i;
      line = 0;
    } else if (text[i] == '\n' || ++line > 998) {
      return false;
    }
  }
  return true;
}

}  // namespace mxsec::delivery::test
