// bench/dkim_one.cpp: N DKIM signs or verifies after set-up, for callgrind.
//
// Usage: dkim_one WORKDIR rsa|ed25519 5k|100k sign|verify N
//        dkim_one WORKDIR rsa|ed25519 5k|100k print 1
//
// `print` writes one message signed by mxsec to stdout, so run_dkim.sh can
// have an independent verifier (dkimpy) check what the benchmark signs.
//
// Set-up (DkimFixture::load: read the inputs, parse the private key, preload
// the key record, create the Verifier and run a checked warm-up of the
// operation) is the same for every N, so under
// `valgrind --tool=callgrind` the instructions of one steady-state operation
// are (Ir(N) - Ir(0)) / N, and Ir(0) is the set-up plus process start-up.
// Every operation is checked; a failure exits with status 1.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dkim_fixture.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: dkim_one WORKDIR rsa|ed25519 5k|100k sign|verify|print N\n");
    return 2;
  }
  const std::string op = argv[4];
  const long n = std::strtol(argv[5], nullptr, 10);
  if ((op != "sign" && op != "verify" && op != "print") || n < 0) {
    std::fprintf(stderr, "dkim_one: bad operation or count\n");
    return 2;
  }
  std::string error;
  const auto warmup = op == "verify" ? mxsec::bench::Warmup::verify : mxsec::bench::Warmup::sign;
  auto f = mxsec::bench::DkimFixture::load(argv[1], argv[2], argv[3], warmup, &error);
  if (!f) {
    std::fprintf(stderr, "dkim_one: %s\n", error.c_str());
    return 1;
  }
  std::string field;
  if (op == "print") {
    if (!f->sign_once(&field)) {
      std::fprintf(stderr, "dkim_one: sign: %s\n", f->last_error().c_str());
      return 1;
    }
    const std::string out = field + f->message_to_sign();
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  for (long i = 0; i < n; ++i) {
    const bool ok = op == "sign" ? f->sign_once(&field) : f->verify_once();
    if (!ok) {
      std::fprintf(stderr, "dkim_one: %s %ld: %s\n", op.c_str(), i, f->last_error().c_str());
      return 1;
    }
  }
  return 0;
}
