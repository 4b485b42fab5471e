// codec/tag_list.hpp: the tag=value list shared by DKIM (RFC 6376 §3.2),
// DKIM key records, DMARC (RFC 9989 §4.7), TLS-RPT and MTA-STS TXT records.
//
//   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//   tag-name  =  ALPHA *ALNUMPUNC          ; ALNUMPUNC = ALPHA / DIGIT / "_"
//   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//   tval      =  1*VALCHAR                 ; VALCHAR = %x21-3A / %x3C-7E
//
// Contract: parse_tag_list returns the tags in order with names as written
// (DKIM callers compare them case-sensitively, as RFC 6376 §3.2 requires;
// DMARC lower-cases them first, since RFC 9989's tag names and values are
// ABNF strings and so case-insensitive) and values with
// surrounding whitespace removed; inner folding whitespace is kept so that
// callers that must strip it (b=, bh=, p=) do so. RFC 6376 §3.2: "Tags with
// duplicate names MUST NOT occur within a single tag-list; if a tag name does
// occur more than once, the entire tag-list is invalid." -> Errc::parse.
// Views point into the input, which must outlive the result.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mxsec::codec {

struct Tag {
  std::string_view name;
  std::string_view value;
};

struct TagListOptions {
  std::size_t max_tags = 64;
  // DMARC and TLS-RPT records are looser about characters in values (e.g.
  // "mailto:" URIs with '!' sizes); set false to only check for ';' and CTLs.
  bool strict_valchar = true;
};

Result<std::vector<Tag>> parse_tag_list(std::string_view text, const TagListOptions& options = {});

// Finds a tag by exact name.
std::optional<std::string_view> find_tag(const std::vector<Tag>& tags, std::string_view name);

// Removes all whitespace (SP, HTAB, CR, LF), for b=, bh= and p= values.
std::string strip_whitespace(std::string_view s);

}  // namespace mxsec::codec
