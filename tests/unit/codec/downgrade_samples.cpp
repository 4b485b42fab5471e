// downgrade_samples DIR: writes messages with 8-bit content (NAME.orig) and
// their 7-bit conversion by codec/mime_downgrade.hpp (NAME.7bit, streamed in
// small pieces) into DIR, for downgrade_judge.py. Exits 1 if a sample that
// should convert does not.
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "codec/mime_downgrade.hpp"

namespace {

bool write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return static_cast<bool>(out);
}

std::vector<std::pair<std::string, std::string>> samples() {
  std::string long_line;
  for (int i = 0; i < 400; ++i) long_line += (i % 5 == 0) ? "\xc3\xa4=" : "ab ";
  return {
      {"non_mime", "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nGr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\r\n"
                   ".\r\n..two dots\r\ntrailing space \r\ntrailing tab\t\r\n=3D is not an escape here\r\n"},
      {"single_long_lines",
       "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 8bit\r\n\r\n" + long_line + "\r\n" + std::string(300, '\xe9') + "\r\n" +
           std::string(80, ' ') + "\r\nlast line without break"},
      {"nested",
       "From: a@example.org\r\nMIME-Version: 1.0\r\n"
       "Content-Type: multipart/mixed; boundary=\"outer (x)\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       "This is a multipart message.\r\n"
       "--outer (x)\r\nContent-Type: multipart/alternative;\r\n boundary=inner\r\n\r\n"
       "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncaf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e\r\n"
       "--inner\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
       "<p>\xe9t\xe9</p>\r\n\r\n"
       "--inner--\r\n"
       "--outer (x)\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n"
       "--outer (x)\r\n\r\nplain ascii part\r\n"
       "--outer (x)--\r\nepilogue\r\n"},
      {"boundary_text_in_body",
       "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\nsee --b here \xc3\xa9\r\n--bx is longer\r\n--b\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\nsecond \xc3\xa9\r\n--b--\r\n"},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: downgrade_samples DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  for (const auto& [name, text] : samples()) {
    const std::vector<std::string_view> slices{text};
    auto plan = mxsec::codec::plan_downgrade(slices);
    if (!plan) {
      std::cerr << name << ": not converted: " << plan.error().message << "\n";
      ok = false;
      continue;
    }
    mxsec::codec::DowngradeStream stream(*plan, slices);
    std::string out;
    std::string piece;
    while (stream.next(piece, 100)) {
      out += piece;
      piece.clear();
    }
    ok &= write(dir + "/" + name + ".orig", text) && write(dir + "/" + name + ".7bit", out);
  }
  return ok ? 0 : 1;
}
