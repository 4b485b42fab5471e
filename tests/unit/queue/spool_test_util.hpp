// Shared by the queue unit tests: a temporary spool directory, messages whose
// text and envelope follow from their ID (so a test can check what it reads
// back without keeping what it wrote), and running commit() to completion.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "queue/spool.hpp"
#include "unit/core/temp_dir.hpp"

namespace mxsec::queue::test {

class TempDir : public mxsec::test::TempDir {
 public:
  TempDir() : mxsec::test::TempDir("mxsec-spool") {}
  // The spool directory inside (Spool::open() in server mode creates it).
  std::string spool() const { return path() + "/spool"; }
};

inline Options options_for(const std::string& directory, bool fsync = false) {
  Options o;
  o.directory = directory;
  o.fsync = fsync;
  return o;
}

inline std::unique_ptr<Spool> open_spool(const Options& options, Mode mode = Mode::server) {
  auto spool = Spool::open(options, mode);
  if (!spool) ADD_FAILURE() << spool.error().message;
  return spool ? std::move(*spool) : nullptr;
}

// A server spool in a fresh temporary directory, opened by start().
class SpoolTest : public ::testing::Test {
 protected:
  Options options(bool fsync = false) const { return options_for(dir_.spool(), fsync); }
  // Opens spool_ in server mode; false (after a test failure) if it cannot.
  bool start(const Options& o) {
    spool_ = open_spool(o);
    return spool_ != nullptr;
  }
  bool start() { return start(options()); }
  std::string sub(const std::string& name) const { return dir_.spool() + "/" + name; }

  TempDir dir_;
  std::unique_ptr<Spool> spool_;
};

inline std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_whole(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline Envelope sample_envelope() {
  Envelope e;
  e.reverse_path = "sender@example.org";
  e.arrival = 1700000000;
  e.smtputf8 = true;
  e.eight_bit = true;
  e.requiretls = true;
  e.dsn_ret = 2;
  e.envid = "env-1";
  e.client_address = "192.0.2.1";
  e.client_helo = "mail.example.org";
  e.auth_user = "alice";
  e.listener = "submission";
  Recipient a;
  a.address = "bob@example.net";
  a.domain_ascii = "example.net";
  a.notify = 3;
  a.orcpt = "rfc822;bob@example.net";
  Recipient b;
  b.address = "j\xc3\xb6rg@b\xc3\xbc\x63her.example";  // U-labels kept (UTF-8)
  b.domain_ascii = "xn--bcher-kva.example";
  b.state = RecipientState::delivered;
  b.attempts = 2;
  b.next_attempt = 1700000600;
  b.last_result = "250 2.0.0 ok";
  b.last_host = "mx.example[192.0.2.25]:25";
  e.recipients = {a, b};
  return e;
}

inline std::string sample_prepend(const std::string& id) {
  return "Received: from mail.example.org ([192.0.2.1])\r\n\tby mx.example.com with ESMTPS id " + id +
         "\r\nAuthentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.org\r\n";
}

// A message text of `size` octets that depends on `id`.
inline std::string text_for(const std::string& id, std::size_t size) {
  std::string text;
  text.reserve(size);
  const std::string line = "Subject: " + id + "\r\n";
  while (text.size() < size) text += line;
  text.resize(size);
  return text;
}

inline asio::awaitable<void> commit_into(Spool& spool, MessageWriter writer, Envelope envelope, std::string prepend,
                                         std::optional<Result<void>>& out) {
  auto committing = spool.commit(std::move(writer), std::move(envelope), std::move(prepend));
  Result<void> done = co_await std::move(committing);
  out = done;
}

// commit() run to completion on a fresh io_context.
inline Result<void> commit_now(Spool& spool, MessageWriter writer, Envelope envelope, std::string prepend) {
  asio::io_context io;
  std::optional<Result<void>> out;
  asio::co_spawn(io, commit_into(spool, std::move(writer), std::move(envelope), std::move(prepend), out),
                 asio::detached);
  io.run();
  if (!out) return make_error(Errc::internal, "commit did not complete");
  return *out;
}

// Creates, writes (in pieces of `piece` octets) and commits a message of
// `size` octets; returns its ID ("" after a test failure).
inline QueueId commit_message(Spool& spool, std::size_t size, std::size_t piece = 4096,
                              Envelope envelope = sample_envelope()) {
  auto writer = spool.create();
  if (!writer) {
    ADD_FAILURE() << writer.error().message;
    return {};
  }
  const QueueId id = writer->id();
  const std::string text = text_for(id, size);
  for (std::size_t at = 0; at < text.size(); at += piece) {
    if (auto r = writer->write(std::string_view(text).substr(at, piece)); !r) {
      ADD_FAILURE() << r.error().message;
      return {};
    }
  }
  if (auto r = commit_now(spool, std::move(*writer), std::move(envelope), sample_prepend(id)); !r) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return id;
}

}  // namespace mxsec::queue::test
