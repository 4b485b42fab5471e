// queue/queue_file.hpp: the queue file and state file formats, without I/O.
//
// Contract
// - A queue file is the message text, the JSON of the envelope and prepend,
//   and a footer of kFooterBytes ASCII octets
//     "\nmxsec-queue 1 t=<16 hex> j=<8 hex> c=<16 hex>\n"
//   giving the text length, the JSON length and the checksum: FNV-1a 64 over
//   the JSON and then the footer's own octets up to and including "c=". The
//   footer is written last and is fixed-size, so a reader finds it with one
//   pread() at (file size - kFooterBytes).
// - encode_tail() returns the JSON and the footer to append after the text,
//   or Errc::invalid_argument when a string is not UTF-8 and Errc::limit
//   when the JSON would exceed limits::kQueueEnvelopeBytes.
// - parse_footer() and parse_envelope() accept exactly what encode_tail()
//   writes and return Errc::parse (the message says what is wrong, without
//   the path) for anything else: a footer that is not of that form or does
//   not add up to the file size, a checksum mismatch, JSON that does not
//   parse or lacks a field or has one of the wrong type or range, an id other
//   than the file name, a text_bytes other than the footer's.
// - encode_state()/merge_state(): the per-recipient state of state/ID (see
//   spool.hpp). merge_state() changes `envelope` only when the whole state
//   file is valid and matches its recipients (count and addresses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "queue/spool.hpp"

namespace mxsec::queue {

inline constexpr std::size_t kFooterBytes = 64;
inline constexpr int kFormatVersion = 1;

std::uint64_t fnv1a64(std::string_view data, std::uint64_t hash = 0xcbf29ce484222325ULL);

struct Footer {
  std::uint64_t text_bytes = 0;
  std::uint64_t json_bytes = 0;
  std::uint64_t checksum = 0;
};

// `envelope` must already carry the id and text_bytes the file will have.
Result<std::string> encode_tail(const Envelope& envelope, std::string_view prepend);
// The footer for `json` after `text_bytes` of text (encode_tail() uses it;
// tests use it to frame JSON of their own).
std::string make_footer(std::uint64_t text_bytes, std::string_view json);

Result<Footer> parse_footer(std::string_view footer, std::uint64_t file_bytes);

struct StoredEnvelope {
  Envelope envelope;
  std::string prepend;
};
// `json` is the file's JSON part and `footer` its footer as parsed from
// `footer_text`; `id` is the file name.
Result<StoredEnvelope> parse_envelope(std::string_view json, std::string_view footer_text, const Footer& footer,
                                      std::string_view id);

std::string encode_state(const Envelope& envelope);
Result<void> merge_state(std::string_view json, Envelope& envelope);

}  // namespace mxsec::queue
