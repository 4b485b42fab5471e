// Shared by the server-side unit tests (dialogue scripts, queue runner):
// the configuration of the test server "mx.example.test", whose one local
// domain "example.test" delivers into Maildirs under `dir`.
#pragma once

#include <filesystem>

#include "config/server_config.hpp"

namespace mxsec::test {

inline config::ServerConfig test_server_config(const std::filesystem::path& dir) {
  config::ServerConfig config = config::default_config();
  config.hostname = config.hostname_ascii = "mx.example.test";
  config.domains.clear();
  config::LocalDomain d;
  d.name = d.name_ascii = "example.test";
  d.delivery.kind = config::Delivery::Kind::maildir;
  d.delivery.maildir = (dir / "maildir/%d/%u").string();
  config.domains.push_back(d);
  return config;
}

}  // namespace mxsec::test
