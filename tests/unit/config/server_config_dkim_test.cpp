// Tests for the [[dkim]] and [reports] parts of config/server_config.hpp:
// keys loaded with the configuration, every bad entry reported at its line
// with the file named, `config show` printing them, and the round trip.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "auth/dkim/keygen.hpp"
#include "config/server_config.hpp"
#include "tls/handles.hpp"

namespace mxsec::config {
namespace {

namespace fs = std::filesystem;

// A directory with an RSA-2048, an Ed25519 and an RSA-512 private key.
class Keys {
 public:
  Keys() {
    dir_ = fs::temp_directory_path() / ("mxsec-config-dkim-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write("rsa.pem", auth::dkim::generate_key(auth::dkim::KeyType::rsa, 2048));
    write("ed.pem", auth::dkim::generate_key(auth::dkim::KeyType::ed25519));
    // RFC 8301 §3.2 forbids signing with it; generate_key() refuses to make one.
    tls::EvpPkeyPtr small(EVP_RSA_gen(512));
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!small || !bio || PEM_write_bio_PrivateKey(bio.get(), small.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      throw std::runtime_error("cannot make an RSA-512 key");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    std::ofstream(path("rsa512.pem"), std::ios::binary) << std::string(data, static_cast<std::size_t>(n));
    std::ofstream(path("garbage.pem")) << "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
  }
  ~Keys() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  void write(const std::string& name, const Result<auth::dkim::GeneratedKey>& key) {
    if (!key) throw std::runtime_error(key.error().message);
    std::ofstream(path(name), std::ios::binary) << key->private_pem;
  }
  fs::path dir_;
};

const Keys& keys() {
  static const Keys k;
  return k;
}

std::string entry(const std::string& domain, const std::string& selector, const std::string& key,
                  const std::string& algorithm = "") {
  std::string t = "[[dkim]]\ndomain = \"" + domain + "\"\nselector = \"" + selector + "\"\nkey = \"" + key + "\"\n";
  if (!algorithm.empty()) t += "algorithm = \"" + algorithm + "\"\n";
  return t;
}

TEST(DkimConfig, DualSignatureEntriesLoadTheirKeys) {
  const std::string text = entry("example.com", "rsa2026", keys().path("rsa.pem"), "rsa-sha256") +
                           entry("example.com", "ed2026", keys().path("ed.pem"));
  auto c = parse_config(text, "mxsec.toml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->dkim.size(), 2u);
  EXPECT_EQ(c->dkim[0].domain_ascii, "example.com");
  EXPECT_EQ(c->dkim[0].selector, "rsa2026");
  EXPECT_EQ(c->dkim[0].algorithm, auth::dkim::Algorithm::rsa_sha256);
  ASSERT_TRUE(c->dkim[0].signer);
  EXPECT_EQ(c->dkim[0].signer->config().domain, "example.com");
  EXPECT_EQ(c->dkim[0].signer->config().selector, "rsa2026");
  // The algorithm follows from the key when it is not given.
  EXPECT_EQ(c->dkim[1].algorithm, auth::dkim::Algorithm::ed25519_sha256);
  ASSERT_TRUE(c->dkim[1].signer);
  EXPECT_EQ(c->dkim[1].signer->key_type(), auth::dkim::KeyType::ed25519);
}

TEST(DkimConfig, ConfigShowPrintsEntriesAndTheyReadBack) {
  const std::string text = entry("Bücher.Example", "Sel1", keys().path("ed.pem"));
  auto c = parse_config(text, "mxsec.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->dkim[0].domain_ascii, "xn--bcher-kva.example");
  EXPECT_EQ(c->dkim[0].selector, "sel1");
  const std::string shown = render_config(*c);
  const std::string expected = "\n[[dkim]]\ndomain = \"Bücher.Example\"\nselector = \"sel1\"\nkey = \"" +
                               keys().path("ed.pem") + "\"\nalgorithm = \"ed25519-sha256\"\n";
  EXPECT_NE(shown.find(expected), std::string::npos) << shown;
  auto again = parse_config(shown, "mxsec.toml");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(render_config(*again), shown);
  // Without [[dkim]], nothing is signed.
  EXPECT_TRUE(default_config().dkim.empty());
  EXPECT_EQ(render_config(default_config()).find("[[dkim]]"), std::string::npos);
}

TEST(DkimConfig, BadEntriesNameTheLineAndTheFile) {
  struct Bad {
    std::string text;
    std::string message;
  };
  const std::string rsa = keys().path("rsa.pem");
  const std::string ed = keys().path("ed.pem");
  const std::string missing = keys().path("missing.pem");
  const Bad cases[] = {
      {entry("example.com", "s1", rsa, "rsa-sha1"),
       "mxsec.toml:5: dkim[0].algorithm: must be one of \"rsa-sha256\", \"ed25519-sha256\", got 'rsa-sha1'"},
      {entry("example.com", "s1", missing),
       "mxsec.toml:4: dkim[0].key: DKIM key file " + missing + ": No such file or directory"},
      {entry("example.com", "s1", ed, "rsa-sha256"),
       "mxsec.toml:5: dkim[0].algorithm: is \"rsa-sha256\" but '" + ed + "' holds an ed25519 key (ed25519-sha256)"},
      {entry("example.com", "s1", rsa, "ed25519-sha256"),
       "mxsec.toml:5: dkim[0].algorithm: is \"ed25519-sha256\" but '" + rsa + "' holds an rsa key (rsa-sha256)"},
      {entry("example.com", "s1", keys().path("rsa512.pem")),
       "mxsec.toml:4: dkim[0].key: DKIM key file " + keys().path("rsa512.pem") +
           ": RSA key 512 bits < 1024 (RFC 8301)"},
      {entry("example.com", "bad_selector", rsa),
       "mxsec.toml:3: dkim[0].selector: 'bad_selector' is not a host name (labels of letters, digits and inner '-')"},
      {entry("example.com", "-s", rsa),
       "mxsec.toml:3: dkim[0].selector: '-s' is not a host name (labels of letters, digits and inner '-')"},
      {entry("exa mple.com", "s1", rsa), ""},
      {"[[dkim]]\ndomain = \"example.com\"\nkey = \"" + rsa + "\"\n", "mxsec.toml:1: dkim[0].selector: missing"},
      {"[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\n", "mxsec.toml:1: dkim[0].key: missing"},
      {"[[dkim]]\nselector = \"s\"\nkey = \"" + rsa + "\"\n", "mxsec.toml:1: dkim[0].domain: missing"},
      {entry("example.com", "s1", rsa) + "secret = 1\n", "mxsec.toml:5: dkim[0].secret: unknown key"},
      {entry("example.com", "s1", rsa) + "\n" + entry("Example.COM", "S1", ed),
       "mxsec.toml:8: dkim[1].selector: 'S1' of 'Example.COM' is already used by dkim[0]"},
  };
  for (const auto& b : cases) {
    auto c = parse_config(b.text, "mxsec.toml");
    ASSERT_FALSE(c) << b.text;
    EXPECT_EQ(c.error().code, Errc::parse);
    if (b.message.empty()) {
      EXPECT_NE(c.error().message.find("mxsec.toml:2: dkim[0].domain: "), std::string::npos) << c.error().message;
    } else {
      EXPECT_EQ(c.error().message, b.message) << b.text;
    }
  }
  // A key file that is not a key: the parse error names the file.
  auto garbage = parse_config(entry("example.com", "s1", keys().path("garbage.pem")), "mxsec.toml");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message.rfind("mxsec.toml:4: dkim[0].key: DKIM key file " + keys().path("garbage.pem") + ": ", 0), 0u)
      << garbage.error().message;
}

TEST(ReportsConfig, TlsRptDatabaseFollowsTheSpoolAndIsShown) {
  EXPECT_EQ(default_config().reports.tlsrpt_db, "./mxsec-data/reports/tlsrpt.sqlite");
  auto c = parse_config("spool_dir = \"/var/spool/mxsec/\"\n", "mxsec.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->reports.tlsrpt_db, "/var/spool/mxsec/reports/tlsrpt.sqlite");
  auto given = parse_config("spool_dir = \"/var/spool/mxsec\"\n[reports]\ntlsrpt_db = \"/var/lib/mxsec/tlsrpt.db\"\n",
                            "mxsec.toml");
  ASSERT_TRUE(given) << given.error().message;
  EXPECT_EQ(given->reports.tlsrpt_db, "/var/lib/mxsec/tlsrpt.db");
  const std::string shown = render_config(*given);
  EXPECT_NE(shown.find("\n[reports]\ntlsrpt_db = \"/var/lib/mxsec/tlsrpt.db\"\n"), std::string::npos) << shown;
  auto again = parse_config(shown, "shown.toml");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->reports.tlsrpt_db, "/var/lib/mxsec/tlsrpt.db");
  auto empty = parse_config("[reports]\ntlsrpt_db = \"\"\n", "mxsec.toml");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "mxsec.toml:2: reports.tlsrpt_db: must not be empty");
  auto unknown = parse_config("[reports]\ndmarc_db = \"x\"\n", "mxsec.toml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "mxsec.toml:2: reports.dmarc_db: unknown key");
}

}  // namespace
}  // namespace mxsec::config
