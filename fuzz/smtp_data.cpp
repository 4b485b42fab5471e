// Fuzz target for the DATA and BDAT text decoders (smtp/proto/data.hpp).
//
// Properties (trap on violation), for DataDecoder and BdatDecoder alike:
// - "Parsegrind": text, octets consumed and counters are the same whether
//   the input is pushed whole, split at a few offsets derived from the
//   input, or (for short inputs) byte by byte.
// - consumed <= input size; DATA ends only right after <CRLF>.<CRLF> (or
//   after "." CRLF as the first line), and when it has not ended everything
//   was consumed.
// - The text never holds a bare CR or LF: every LF follows a CR and every
//   CR is followed by a LF (unless the size limit cut the text).
// - octets counts the whole text; with a small limit the text is the first
//   `limit` octets of what the default limit gives, and overflow says so.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "smtp/proto/data.hpp"

using namespace mxsec;
using namespace mxsec::smtp;

namespace {

using mxsec::fuzz::check;
using mxsec::fuzz::chunks;
using mxsec::fuzz::grind_splits;

struct Outcome {
  std::string out;
  std::size_t consumed = 0;
  bool done = false;
  TextCounters counters;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome run_data(std::string_view in, const std::vector<std::size_t>& cuts, std::uint64_t max) {
  DataDecoder d(max);
  Outcome o;
  for (std::string_view chunk : chunks(in, cuts)) {
    const std::size_t used = d.push(chunk, o.out);
    check(used <= chunk.size());
    check(d.done() || used == chunk.size());
    o.consumed += used;
  }
  o.done = d.done();
  o.counters = d.counters();
  return o;
}

Outcome run_bdat(std::string_view in, const std::vector<std::size_t>& cuts, std::uint64_t max) {
  BdatDecoder d(max);
  Outcome o;
  for (std::string_view chunk : chunks(in, cuts)) {
    d.push(chunk, o.out);
    o.consumed += chunk.size();
  }
  d.finish(o.out);
  o.done = true;
  o.counters = d.counters();
  return o;
}

bool only_crlf(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

template <class Run>
Outcome grind(std::string_view in, std::uint64_t max, Run run) {
  const Outcome whole = run(in, {}, max);
  for (const auto& cuts : grind_splits(in)) check(run(in, cuts, max) == whole);
  check(whole.consumed <= in.size());
  check(whole.counters.octets >= whole.out.size());
  if (!whole.counters.overflow) {
    check(whole.counters.octets == whole.out.size());
    check(only_crlf(whole.out));
  } else {
    check(whole.out.size() == max && whole.counters.octets > max);
  }
  return whole;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::uint64_t kSmall = 16;

  const Outcome full = grind(in, limits::kMessageBytes, run_data);
  if (full.done) {
    const std::string_view eod = in.substr(0, full.consumed);
    check(eod == ".\r\n" || (eod.size() >= 5 && eod.substr(eod.size() - 5) == "\r\n.\r\n"));
  } else {
    check(full.consumed == in.size());
  }
  const Outcome small = grind(in, kSmall, run_data);
  check(small.consumed == full.consumed && small.done == full.done);
  check(small.counters.octets == full.counters.octets && small.counters.bare_cr == full.counters.bare_cr &&
        small.counters.bare_lf == full.counters.bare_lf && small.counters.nul == full.counters.nul);
  check(full.out.substr(0, small.out.size()) == small.out);

  const Outcome bdat = grind(in, limits::kMessageBytes, run_bdat);
  check(bdat.consumed == in.size());
  // BDAT takes the octets as they are: the text is the input without its
  // bare CR and LF octets.
  check(bdat.out.size() + bdat.counters.bare_cr + bdat.counters.bare_lf == in.size());
  const Outcome bdat_small = grind(in, kSmall, run_bdat);
  check(bdat.out.substr(0, bdat_small.out.size()) == bdat_small.out);
  return 0;
}
