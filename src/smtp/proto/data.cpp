#include "smtp/proto/data.hpp"

#include <cstring>

namespace mxsec::smtp {
namespace {

// RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including
// the <CRLF> is 1000 octets (not counting the leading dot duplicated for
// transparency)."
constexpr std::size_t kTextLineBytes = 1000;
constexpr std::size_t kCrlfBytes = 2;

// The index of the first `c` in in[from, to), or `to`.
std::size_t find_octet(std::string_view in, char c, std::size_t from, std::size_t to) {
  if (from >= to) return to;
  const void* hit = std::memchr(in.data() + from, c, to - from);
  return hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - in.data()) : to;
}

std::uint64_t count_nul(std::string_view run) {
  std::uint64_t n = 0;
  for (std::size_t at = find_octet(run, '\0', 0, run.size()); at < run.size();
       at = find_octet(run, '\0', at + 1, run.size()))
    ++n;
  return n;
}

// Where the message text goes: counts every octet, writes those within the
// size limit, tracks the length of the current line. The scan below hands it
// runs of input that hold no CR or LF but the CRLFs ending their lines, so
// `out` holds CRLF line ends and nothing else.
class TextSink {
 public:
  TextSink(TextCounters& counters, std::uint64_t max, std::size_t& line_length, std::string& out)
      : counters_(counters), max_(max), line_length_(line_length), out_(out) {}

  // Line accounting, apart from writing so one write may span many lines.
  void line_text(std::size_t octets) {
    line_length_ += octets;
    if (line_length_ + kCrlfBytes > kTextLineBytes) counters_.long_line = true;
  }
  void line_end() { line_length_ = 0; }

  void write(std::string_view run) {
    if (run.empty()) return;
    counters_.nul += count_nul(run);
    const std::uint64_t room = counters_.octets < max_ ? max_ - counters_.octets : 0;
    if (run.size() <= room) {
      out_.append(run);
    } else {
      out_.append(run.data(), static_cast<std::size_t>(room));
      counters_.overflow = true;
    }
    counters_.octets += run.size();
  }

  void bare_cr() { ++counters_.bare_cr; }
  void bare_lf() { ++counters_.bare_lf; }

  // A CR ended the previous input and `next` starts this one: a LF makes
  // them one CRLF (true: the LF is consumed); anything else leaves the CR bare.
  bool after_cr(char next) {
    if (next != '\n') {
      bare_cr();
      return false;
    }
    write("\r\n");  // the CR's line text was counted before it
    line_end();
    return true;
  }

 private:
  TextCounters& counters_;
  std::uint64_t max_;
  std::size_t& line_length_;
  std::string& out_;
};

// How a scan of text stopped: after a CRLF (line), mid-line (text), or with
// a CR as the last input octet that may be the first half of a CRLF (cr).
enum class ScanEnd { line, text, cr };
struct Scan {
  std::size_t used;
  ScanEnd end;
};

// Reads text and writes it in runs as long as possible. A CR not followed by
// LF and a LF not preceded by CR are counted and dropped (RFC 5321 §2.3.8,
// see data.hpp), which ends a run. With `stop_before_dot` (DATA) it stops
// after a CRLF that the input ends with or that a "." follows, so the caller
// can look at that line start; other line starts are plain text. Each octet
// is looked at by memchr a bounded number of times: the LF search is redone
// only once passed, and each CR search stops at that LF.
Scan scan_text(std::string_view in, TextSink& sink, bool stop_before_dot) {
  const std::size_t n = in.size();
  std::size_t i = 0;      // next octet to look at
  std::size_t start = 0;  // first octet not yet written
  ScanEnd end = ScanEnd::text;
  std::size_t lf = find_octet(in, '\n', 0, n);
  while (i < n) {
    if (lf < i) lf = find_octet(in, '\n', i, n);
    const std::size_t cr = find_octet(in, '\r', i, lf);
    if (cr + 1 == lf && lf < n) {  // CRLF
      sink.line_text(cr - i);
      sink.line_end();
      i = lf + 1;
      end = ScanEnd::line;
      if (stop_before_dot && (i == n || in[i] == '.')) break;
      continue;
    }
    // `cr` is the first of: a CR not before a LF, a LF with no CR before it
    // (cr == lf), or the end of the input.
    sink.line_text(cr - i);
    sink.write(in.substr(start, cr - start));
    if (cr == n) return {n, ScanEnd::text};
    if (in[cr] == '\r') {
      if (cr + 1 == n) return {n, ScanEnd::cr};
      sink.bare_cr();
    } else {
      sink.bare_lf();
    }
    i = start = cr + 1;
    end = ScanEnd::text;
  }
  sink.write(in.substr(start, i - start));
  return {i, end};
}

}  // namespace

DataDecoder::DataDecoder(std::uint64_t max_message_bytes) : max_(max_message_bytes) {}

std::size_t DataDecoder::push(std::string_view input, std::string& out) {
  if (done_) return 0;
  TextSink sink(counters_, max_, line_length_, out);
  std::size_t i = 0;
  while (i < input.size()) {
    const char c = input[i];
    switch (state_) {
      case State::line_start:
        // RFC 5321 §4.5.2: "If the line is composed of a single period, it
        // is treated as the end of mail indicator. If the first character is
        // a period and there are other characters on the line, the first
        // character is deleted." A CR or LF here is the text scan's to judge.
        if (c == '.') {
          state_ = State::dot;
          ++i;
        } else {
          state_ = State::text;
        }
        break;
      case State::text: {
        const Scan scan = scan_text(input.substr(i), sink, true);
        i += scan.used;
        state_ = scan.end == ScanEnd::line ? State::line_start : scan.end == ScanEnd::cr ? State::cr : State::text;
        break;
      }
      case State::cr:
        if (sink.after_cr(c)) {
          ++i;
          state_ = State::line_start;
        } else {
          state_ = State::text;
        }
        break;
      case State::dot:
        // Anything but CR after the dot (a bare LF included: it is not a line
        // end) means other characters on the line: the dot was stuffing.
        if (c == '\r') {
          state_ = State::dot_cr;
          ++i;
        } else {
          state_ = State::text;
        }
        break;
      case State::dot_cr:
        if (c == '\n') {  // <CRLF>.<CRLF>
          done_ = true;
          return i + 1;
        }
        // "." CR and then not LF: the dot was stuffing, the CR is bare, and
        // what follows is text of the same line (never a line start again,
        // so <CRLF>.<CR>.<CRLF> cannot end the data either).
        sink.bare_cr();
        state_ = State::text;
        break;
    }
  }
  return input.size();
}

void DataDecoder::reset() {
  counters_ = TextCounters{};
  state_ = State::line_start;
  line_length_ = 0;
  done_ = false;
}

BdatDecoder::BdatDecoder(std::uint64_t max_message_bytes) : max_(max_message_bytes) {}

void BdatDecoder::push(std::string_view chunk, std::string& out) {
  TextSink sink(counters_, max_, line_length_, out);
  std::size_t i = 0;
  if (pending_cr_ && !chunk.empty()) {
    pending_cr_ = false;
    if (sink.after_cr(chunk.front())) i = 1;
  }
  if (i < chunk.size()) pending_cr_ = scan_text(chunk.substr(i), sink, false).end == ScanEnd::cr;
}

void BdatDecoder::finish(std::string& /*out*/) {
  if (pending_cr_) ++counters_.bare_cr;
  pending_cr_ = false;
}

void BdatDecoder::reset() {
  counters_ = TextCounters{};
  pending_cr_ = false;
  line_length_ = 0;
}

}  // namespace mxsec::smtp
