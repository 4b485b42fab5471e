#include "tls/context.hpp"

#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::tls {

namespace {

// A new context for `method`, refusing anything older than `min_protocol`.
Result<SslCtxPtr> new_context(const SSL_METHOD* method, int min_protocol) {
  if (min_protocol != TLS1_2_VERSION && min_protocol != TLS1_3_VERSION)
    return make_error(Errc::invalid_argument, "TLS minimum protocol must be TLS 1.2 or TLS 1.3");
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return make_error(Errc::crypto, "SSL_CTX_new failed: " + openssl_error_text());
  if (SSL_CTX_set_min_proto_version(ctx.get(), min_protocol) != 1)
    return make_error(Errc::crypto, "cannot set the minimum TLS version: " + openssl_error_text());
  return ctx;
}

}  // namespace

Result<SslCtxPtr> make_client_context(const ClientContextConfig& config) {
  auto made = new_context(TLS_client_method(), config.min_protocol);
  if (!made) return made;
  SslCtxPtr ctx = std::move(*made);
  if (config.system_trust && SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
    return make_error(Errc::crypto, "cannot load the system trust store: " + openssl_error_text());
  for (const auto& file : config.ca_files) {
    if (SSL_CTX_load_verify_locations(ctx.get(), file.c_str(), nullptr) != 1)
      return make_error(Errc::crypto,
                        "cannot load CA file " + escape_for_log(file) + ": " + openssl_error_text());
  }
  if (SSL_CTX_dane_enable(ctx.get()) <= 0)
    return make_error(Errc::crypto, "SSL_CTX_dane_enable failed: " + openssl_error_text());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // The depth counts intermediates below the leaf.
  SSL_CTX_set_verify_depth(ctx.get(), limits::kTlsMaxChainCertificates - 1);
  return ctx;
}

Result<SslCtxPtr> make_server_context(const ServerContextConfig& config) {
  auto made = new_context(TLS_server_method(), config.min_protocol);
  if (!made) return made;
  SslCtxPtr ctx = std::move(*made);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.certificate_chain_file.c_str()) != 1)
    return make_error(Errc::crypto, "cannot load certificate " + escape_for_log(config.certificate_chain_file) + ": " +
                                        openssl_error_text());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(Errc::crypto,
                      "cannot load key " + escape_for_log(config.key_file) + ": " + openssl_error_text());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return make_error(Errc::crypto, "key " + escape_for_log(config.key_file) + " does not match certificate " +
                                        escape_for_log(config.certificate_chain_file));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  return ctx;
}

std::string protocol_name(const SSL* ssl) { return SSL_get_version(ssl); }

}  // namespace mxsec::tls
