// bench/dkim_bench.cpp: DKIM sign and verify per second (Google Benchmark).
//
// BM_Sign/ALG/SIZE and BM_Verify/ALG/SIZE for ALG in {rsa2048, ed25519} and
// SIZE in {5k, 100k}; one item = one message parsed and signed, or parsed
// and verified (see dkim_fixture.hpp for what is included and what is done
// once). items_per_second is per CPU second, like the peers in
// bench/run_dkim.sh; run pinned to one core (taskset -c 0).
//
// BM_LimitSign/BM_LimitVerify/ALG/SIZE: the OpenSSL limit of the same case,
// measured in this process (see LimitCase).
//
// BM_Part/...: the pieces of one RSA-2048 operation on their own, so the
// overhead against the OpenSSL limit can be split in native time (callgrind
// counts cannot show it: valgrind runs OpenSSL without AVX-512 and SHA-NI).
// Each piece uses the public dkim/codec/dns API the way Verifier/Signer do;
// the rsa_{verify,sign}_* pairs contrast a per-call EVP set-up with a key
// context prepared once (what `openssl speed` measures, and what Verifier
// and Signer do since the contexts are cached with the key).
//
// Usage: dkim_bench [--benchmark_...] WORKDIR   (or MXSEC_DKIM_BENCH_DIR=WORKDIR)
// WORKDIR is written by bench/make_inputs.py.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/dkim/digest.hpp"
#include "core/strings.hpp"
#include "dkim_fixture.hpp"
#include "tls/handles.hpp"

namespace {

using mxsec::bench::DkimFixture;
namespace dkim = mxsec::auth::dkim;
namespace tls = mxsec::tls;
using mxsec::auth::dkim::sha256;

struct Case {
  std::string alg;   // file prefix: rsa, ed25519
  std::string name;  // rsa2048, ed25519
  std::string size;  // 5k, 100k
};

void bm_sign(benchmark::State& state, DkimFixture* f) {
  std::string field;
  for (auto _ : state) {
    if (!f->sign_once(&field)) {
      state.SkipWithError(f->last_error().c_str());
      break;
    }
    benchmark::DoNotOptimize(field.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f->sign_bytes()));
}

void bm_verify(benchmark::State& state, DkimFixture* f) {
  for (auto _ : state) {
    if (!f->verify_once()) {
      state.SkipWithError(f->last_error().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f->verify_bytes_size()));
}

// Inputs of the BM_Part benchmarks (RSA-2048; bodies of both sizes).
struct Parts {
  std::string signed_5k, signed_100k;   // dkimpy-signed messages
  std::string key_record;               // rsa.txt
  std::string zone;                     // keys.zone
  std::string header_data;              // stands in for the ~0.9 KB of canonical header data
  std::string rsa_signature;            // a valid RSA signature over header_data
  tls::EvpPkeyPtr private_key;
};

std::string field_value(const mxsec::codec::Message& m, std::string_view name) {
  for (const auto& f : m.headers)
    if (mxsec::to_lower(f.name) == name) return std::string(f.value);
  return {};
}

bool load_parts(const std::string& dir, Parts* p, std::string* error) {
  auto a = mxsec::bench::read_file(dir + "/signed-rsa-5k.eml");
  auto b = mxsec::bench::read_file(dir + "/signed-rsa-100k.eml");
  auto k = mxsec::bench::read_file(dir + "/rsa.txt");
  auto z = mxsec::bench::read_file(dir + "/keys.zone");
  auto pem = mxsec::bench::read_file(dir + "/rsa.pem");
  if (!a || !b || !k || !z || !pem) {
    *error = "parts: missing input in " + dir;
    return false;
  }
  p->signed_5k = std::move(*a);
  p->signed_100k = std::move(*b);
  p->key_record = std::string(mxsec::trim(*k));
  p->zone = std::move(*z);
  p->header_data = p->signed_5k.substr(0, 900);
  tls::BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  p->private_key.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 512;
  p->rsa_signature.resize(len);
  if (!p->private_key || !ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, p->private_key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(p->rsa_signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(p->header_data.data()), p->header_data.size()) != 1) {
    *error = "parts: cannot make an RSA signature";
    return false;
  }
  p->rsa_signature.resize(len);
  return true;
}

const std::string& signed_msg(const Parts& p, const std::string& size) {
  return size == "5k" ? p.signed_5k : p.signed_100k;
}

// The OpenSSL limit measured in process: per message exactly the crypto work
// that bench/peers/openssl_limit.py charges (SHA-256 of the raw body, SHA-256
// of the signed header fields plus the signature field, one signature made or
// checked with a key context prepared once, as `openssl speed` does), and
// nothing else. Run interleaved with BM_Sign/BM_Verify
// (--benchmark_enable_random_interleaving), it sees the same machine load,
// so "mxsec / in-process limit" stays meaningful on a busy machine.
class LimitCase {
 public:
  static std::unique_ptr<LimitCase> load(const std::string& dir, const std::string& alg, const std::string& size,
                                         std::string* error) {
    auto c = std::unique_ptr<LimitCase>(new LimitCase());
    auto signed_msg = mxsec::bench::read_file(dir + "/signed-" + alg + "-" + size + ".eml");
    auto pem = mxsec::bench::read_file(dir + "/" + alg + ".pem");
    auto record = mxsec::bench::read_file(dir + "/" + alg + ".txt");
    if (!signed_msg || !pem || !record) {
      *error = "limit: missing input in " + dir;
      return nullptr;
    }
    c->message_ = std::move(*signed_msg);
    auto msg = mxsec::codec::parse_message(c->message_);
    if (!msg) {
      *error = "limit: " + msg.error().message;
      return nullptr;
    }
    c->body_ = msg->body;
    // The header bytes hashed: the signed fields (first instance) and the
    // DKIM-Signature field, raw lengths as in openssl_limit.py.
    std::vector<std::string> seen;
    for (const auto& f : msg->headers) {
      const std::string name = mxsec::to_lower(f.name);
      const bool listed = std::find(mxsec::bench::kSignedHeaders.begin(), mxsec::bench::kSignedHeaders.end(),
                                    name) != mxsec::bench::kSignedHeaders.end();
      if (name == "dkim-signature" || (listed && std::find(seen.begin(), seen.end(), name) == seen.end())) {
        c->header_.append(f.raw);
        seen.push_back(name);
      }
    }
    c->ed25519_ = alg == "ed25519";
    tls::BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    c->private_key_.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    auto rec = dkim::parse_key_record(mxsec::trim(*record));
    if (!c->private_key_ || !rec) {
      *error = "limit: cannot load the " + alg + " keys";
      return nullptr;
    }
    auto pub = dkim::PublicKey::load(*rec);
    if (!pub) {
      *error = "limit: " + pub.error().message;
      return nullptr;
    }
    c->public_key_.emplace(std::move(*pub));
    c->md_.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    if (!c->md_ || !c->prepare()) {
      *error = "limit: cannot prepare the " + alg + " key contexts";
      return nullptr;
    }
    std::string sig;
    if (!c->sign(&sig) || !c->verify(sig)) {
      *error = "limit: " + alg + " sign/verify self-check failed";
      return nullptr;
    }
    c->signature_ = std::move(sig);
    return c;
  }

  bool sign(std::string* sig) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    if (!hash(digest)) return false;
    std::size_t len = 512;
    sig->resize(len);
    auto* out = reinterpret_cast<unsigned char*>(sig->data());
    const int ok = ed25519_ ? EVP_DigestSign(sign_md_ctx_.get(), out, &len, digest, 32)
                            : EVP_PKEY_sign(sign_ctx_.get(), out, &len, digest, 32);
    sig->resize(len);
    return ok == 1;
  }
  bool verify(const std::string& sig) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    if (!hash(digest)) return false;
    const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
    const int ok = ed25519_ ? EVP_DigestVerify(verify_md_ctx_.get(), s, sig.size(), digest, 32)
                            : EVP_PKEY_verify(verify_ctx_.get(), s, sig.size(), digest, 32);
    return ok == 1;
  }
  const std::string& signature() const { return signature_; }
  std::size_t message_bytes() const { return message_.size(); }

 private:
  struct MdFree { void operator()(EVP_MD* m) const { EVP_MD_free(m); } };
  LimitCase() = default;

  // The body hash and the header hash; `digest` receives the header hash.
  bool hash(unsigned char* digest) {
    unsigned char bh[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    return EVP_Digest(body_.data(), body_.size(), bh, &len, md_.get(), nullptr) == 1 &&
           EVP_Digest(header_.data(), header_.size(), digest, &len, md_.get(), nullptr) == 1;
  }
  bool prepare() {
    if (ed25519_) {
      // As `openssl speed` does for EdDSA: one EVP_MD_CTX initialised once
      // per direction, then one-shot EVP_DigestSign/Verify per message.
      sign_md_ctx_.reset(EVP_MD_CTX_new());
      verify_md_ctx_.reset(EVP_MD_CTX_new());
      return sign_md_ctx_ && verify_md_ctx_ &&
             EVP_DigestSignInit(sign_md_ctx_.get(), nullptr, nullptr, nullptr, private_key_.get()) == 1 &&
             EVP_DigestVerifyInit(verify_md_ctx_.get(), nullptr, nullptr, nullptr, public_key_->get()) == 1;
    }
    sign_ctx_.reset(EVP_PKEY_CTX_new(private_key_.get(), nullptr));
    verify_ctx_.reset(EVP_PKEY_CTX_new(public_key_->get(), nullptr));
    return sign_ctx_ && verify_ctx_ && EVP_PKEY_sign_init(sign_ctx_.get()) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(sign_ctx_.get(), RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(sign_ctx_.get(), md_.get()) == 1 &&
           EVP_PKEY_verify_init(verify_ctx_.get()) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(verify_ctx_.get(), RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(verify_ctx_.get(), md_.get()) == 1;
  }

  std::string message_;
  std::string_view body_;
  std::string header_;
  bool ed25519_ = false;
  tls::EvpPkeyPtr private_key_;
  std::optional<dkim::PublicKey> public_key_;
  std::unique_ptr<EVP_MD, MdFree> md_;
  tls::EvpPkeyCtxPtr sign_ctx_, verify_ctx_;
  tls::EvpMdCtxPtr sign_md_ctx_, verify_md_ctx_;
  std::string signature_;
};

void bm_limit_sign(benchmark::State& state, LimitCase* c) {
  std::string sig;
  for (auto _ : state) {
    if (!c->sign(&sig)) {
      state.SkipWithError("limit sign failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_limit_verify(benchmark::State& state, LimitCase* c) {
  for (auto _ : state) {
    if (!c->verify(c->signature())) {
      state.SkipWithError("limit verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void register_parts(Parts* p) {
  using benchmark::RegisterBenchmark;
  for (std::string size : {"5k", "100k"}) {
    RegisterBenchmark(("BM_Part/parse_message/" + size).c_str(), [p, size](benchmark::State& st) {
      for (auto _ : st) benchmark::DoNotOptimize(mxsec::codec::parse_message(signed_msg(*p, size)));
    });
    // Relaxed body canonicalization streamed into SHA-256, as Verifier/Signer do.
    RegisterBenchmark(("BM_Part/body_hash_relaxed/" + size).c_str(), [p, size](benchmark::State& st) {
      auto msg = mxsec::codec::parse_message(signed_msg(*p, size));
      for (auto _ : st) {
        dkim::BodyHasher h;
        dkim::canonicalize_body(msg->body, dkim::Canon::relaxed, h);
        benchmark::DoNotOptimize(h.finish());
      }
    });
    // What the OpenSSL limit assumes for the body: one SHA-256 over it.
    RegisterBenchmark(("BM_Part/sha256_body/" + size).c_str(), [p, size](benchmark::State& st) {
      auto msg = mxsec::codec::parse_message(signed_msg(*p, size));
      for (auto _ : st) benchmark::DoNotOptimize(sha256(msg->body));
    });
  }
  RegisterBenchmark("BM_Part/parse_signature", [p](benchmark::State& st) {
    auto msg = mxsec::codec::parse_message(p->signed_5k);
    const std::string value = field_value(*msg, "dkim-signature");
    for (auto _ : st) benchmark::DoNotOptimize(dkim::parse_signature(value));
  });
  RegisterBenchmark("BM_Part/parse_key_record", [p](benchmark::State& st) {
    for (auto _ : st) benchmark::DoNotOptimize(dkim::parse_key_record(p->key_record));
  });
  // One key query answered by FakeResolver, through the coroutine machinery.
  RegisterBenchmark("BM_Part/resolver_txt", [p](benchmark::State& st) {
    mxsec::dns::FakeResolver resolver;
    (void)resolver.load_zone_text(p->zone);
    asio::io_context io;
    for (auto _ : st) benchmark::DoNotOptimize(mxsec::run_sync(io, resolver.txt("rsa._domainkey.example.com")));
  });
  // RSA verify of ~0.9 KB of header data with a set-up per call (EVP_MD_CTX_new,
  // EVP_DigestVerifyInit), for comparison with the prepared context below.
  RegisterBenchmark("BM_Part/rsa_verify_per_call", [p](benchmark::State& st) {
    auto rec = dkim::parse_key_record(p->key_record);
    auto key = dkim::PublicKey::load(*rec);
    const auto* sig = reinterpret_cast<const unsigned char*>(p->rsa_signature.data());
    const auto* data = reinterpret_cast<const unsigned char*>(p->header_data.data());
    for (auto _ : st) {
      tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
      int ok = EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get()) == 1 &&
               EVP_DigestVerify(ctx.get(), sig, p->rsa_signature.size(), data, p->header_data.size()) == 1;
      if (!ok) st.SkipWithError("verify failed");
    }
  });
  // The same with the key context prepared once (as `openssl speed` does):
  // per call only SHA-256 of the data and EVP_PKEY_verify.
  RegisterBenchmark("BM_Part/rsa_verify_prepared", [p](benchmark::State& st) {
    auto rec = dkim::parse_key_record(p->key_record);
    auto key = dkim::PublicKey::load(*rec);
    tls::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key->get(), nullptr));
    std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
    if (!ctx || !md || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md.get()) != 1) {
      st.SkipWithError("prepare failed");
      return;
    }
    const auto* sig = reinterpret_cast<const unsigned char*>(p->rsa_signature.data());
    for (auto _ : st) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int dlen = 0;
      int ok = EVP_Digest(p->header_data.data(), p->header_data.size(), digest, &dlen, md.get(), nullptr) == 1 &&
               EVP_PKEY_verify(ctx.get(), sig, p->rsa_signature.size(), digest, dlen) == 1;
      if (!ok) st.SkipWithError("verify failed");
    }
  });
  // RSA sign of the same data, set up per call and prepared once (Signer
  // duplicates a prepared context per call).
  RegisterBenchmark("BM_Part/rsa_sign_per_call", [p](benchmark::State& st) {
    const auto* data = reinterpret_cast<const unsigned char*>(p->header_data.data());
    std::string sig(512, '\0');
    for (auto _ : st) {
      tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
      std::size_t len = sig.size();
      int ok = EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, p->private_key.get()) == 1 &&
               EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                              p->header_data.size()) == 1;
      if (!ok) st.SkipWithError("sign failed");
    }
  });
  RegisterBenchmark("BM_Part/rsa_sign_prepared", [p](benchmark::State& st) {
    tls::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(p->private_key.get(), nullptr));
    std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
    if (!ctx || !md || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md.get()) != 1) {
      st.SkipWithError("prepare failed");
      return;
    }
    std::string sig(512, '\0');
    for (auto _ : st) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int dlen = 0;
      std::size_t len = sig.size();
      int ok = EVP_Digest(p->header_data.data(), p->header_data.size(), digest, &dlen, md.get(), nullptr) == 1 &&
               EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, digest, dlen) == 1;
      if (!ok) st.SkipWithError("sign failed");
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string dir;
  if (argc > 1) {
    dir = argv[1];
  } else if (const char* env = std::getenv("MXSEC_DKIM_BENCH_DIR")) {
    dir = env;
  } else {
    std::fprintf(stderr, "usage: dkim_bench [--benchmark_...] WORKDIR (or MXSEC_DKIM_BENCH_DIR)\n");
    return 2;
  }
  const std::vector<Case> cases = {
      {"rsa", "rsa2048", "5k"}, {"rsa", "rsa2048", "100k"}, {"ed25519", "ed25519", "5k"}, {"ed25519", "ed25519", "100k"}};
  std::vector<std::unique_ptr<DkimFixture>> fixtures;
  std::vector<std::unique_ptr<LimitCase>> limits;
  for (const Case& c : cases) {
    std::string error;
    auto f = DkimFixture::load(dir, c.alg, c.size, mxsec::bench::Warmup::both, &error);
    if (!f) {
      std::fprintf(stderr, "dkim_bench: %s\n", error.c_str());
      return 1;
    }
    DkimFixture* p = f.get();
    fixtures.push_back(std::move(f));
    benchmark::RegisterBenchmark(("BM_Sign/" + c.name + "/" + c.size).c_str(), bm_sign, p);
    benchmark::RegisterBenchmark(("BM_Verify/" + c.name + "/" + c.size).c_str(), bm_verify, p);
    auto l = LimitCase::load(dir, c.alg, c.size, &error);
    if (!l) {
      std::fprintf(stderr, "dkim_bench: %s\n", error.c_str());
      return 1;
    }
    benchmark::RegisterBenchmark(("BM_LimitSign/" + c.name + "/" + c.size).c_str(), bm_limit_sign, l.get());
    benchmark::RegisterBenchmark(("BM_LimitVerify/" + c.name + "/" + c.size).c_str(), bm_limit_verify, l.get());
    limits.push_back(std::move(l));
  }
  Parts parts;
  std::string error;
  if (!load_parts(dir, &parts, &error)) {
    std::fprintf(stderr, "dkim_bench: %s\n", error.c_str());
    return 1;
  }
  register_parts(&parts);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
