// `mxsec sendmail [-t] [-i] [-f SENDER] [RECIPIENT...]`: the sendmail
// interface that local programs call (cron, PHP's mail(), git send-email),
// reading the message on standard input and submitting it over SMTP to the
// local `mxsec serve` (its first smtp listener; --server overrides).
//
// Compatible with the sendmail(8) options such software passes:
//   -t          recipients from To:, Cc: and Bcc: (Bcc: is then removed)
//   -i, -oi     a line with a single "." does not end the message
//   -f SENDER   envelope sender ("<>" for the null sender)
//   -F NAME, -o X, -bm  accepted and ignored (-oi is -i)
// Line ends are converted to CRLF and lines are dot-stuffed (RFC 5321
// §4.5.2), so nothing a program writes can end the DATA early.
// Exit codes (sysexits.h): 0 sent; 64 EX_USAGE; 65 EX_DATAERR (no
// recipients, unreadable message); 69 EX_UNAVAILABLE (5xx from the server);
// 75 EX_TEMPFAIL (4xx, or the server cannot be reached).
#include <pwd.h>
#include <sysexits.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_future.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/command.hpp"
#include "codec/address.hpp"
#include "codec/message.hpp"
#include "config/server_config.hpp"
#include "core/strings.hpp"
#include "smtp/session/connection.hpp"

namespace mxsec::cli {
namespace {

using smtp::Reply;

struct SendmailOptions {
  bool from_headers = false;  // -t
  bool ignore_dots = false;   // -i / -oi
  std::string sender;         // -f
  std::string full_name;      // -F (ignored)
  std::vector<std::string> o_options;
  std::string b_mode = "m";  // -bm
  std::string config_file;
  std::string server;         // IP:PORT
  std::vector<std::string> recipients;
};

struct Submission {
  std::string sender;
  std::vector<std::string> recipients;
  std::string data;  // CRLF, dot-stuffed, ending in CRLF "." CRLF
};

// Reads the message: LF or CRLF line ends in, CRLF out; with `stop_at_dot`
// a line holding only "." ends the input (sendmail without -i).
std::vector<std::string> read_lines(std::FILE* in, bool stop_at_dot, std::size_t max_bytes, bool& too_big) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t total = 0;
  too_big = false;
  for (int c; (c = std::fgetc(in)) != EOF;) {
    if (++total > max_bytes) {
      too_big = true;
      return lines;
    }
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (stop_at_dot && line == ".") return lines;
    lines.push_back(std::move(line));
    line.clear();
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// -t: the addresses of To, Cc and Bcc; Bcc fields are dropped from the text.
Result<std::vector<std::string>> recipients_from_headers(std::vector<std::string>& lines) {
  std::vector<std::string> out;
  std::vector<std::string> kept;
  std::size_t i = 0;
  for (; i < lines.size() && !lines[i].empty(); ) {
    std::string field = lines[i++];
    while (i < lines.size() && !lines[i].empty() && is_wsp(lines[i][0])) field += "\r\n" + lines[i++];
    const auto colon = field.find(':');
    const std::string name = colon == std::string::npos ? "" : to_lower(trim(field.substr(0, colon)));
    if (name == "to" || name == "cc" || name == "bcc") {
      auto boxes = codec::parse_mailbox_list(field.substr(colon + 1), 1000);
      if (!boxes) return make_error(Errc::parse, name + " field: " + boxes.error().message);
      for (const auto& b : *boxes) out.push_back(b.local_part + "@" + b.domain);
    }
    if (name != "bcc") kept.push_back(field);
  }
  for (; i < lines.size(); ++i) kept.push_back(lines[i]);
  lines = std::move(kept);
  return out;
}

std::string default_sender(const config::ServerConfig& config) {
  const passwd* pw = ::getpwuid(::getuid());
  const std::string user = pw && pw->pw_name ? pw->pw_name : "nobody";
  return user + "@" + (config.hostname_ascii.empty() ? std::string("localhost") : config.hostname_ascii);
}

int exit_for(const Reply& r) { return r.transient_failure() ? EX_TEMPFAIL : EX_UNAVAILABLE; }

asio::awaitable<int> submit(asio::ip::tcp::endpoint server, Submission s, std::string& error) {
  auto conn = co_await smtp::Connection::connect(server, {});
  if (!conn) {
    error = conn.error().message;
    co_return EX_TEMPFAIL;
  }
  std::vector<std::string> commands{"MAIL FROM:<" + s.sender + ">"};
  for (const auto& r : s.recipients) commands.push_back("RCPT TO:<" + r + ">");
  commands.push_back("DATA");
  auto greeting = co_await conn->read_reply();
  if (!greeting || !greeting->positive_completion()) {
    error = greeting ? "greeting: " + greeting->to_log_string() : greeting.error().message;
    co_return greeting ? exit_for(*greeting) : EX_TEMPFAIL;
  }
  auto ehlo = co_await conn->command("EHLO localhost");
  if (!ehlo || !ehlo->positive_completion()) {
    error = ehlo ? "EHLO: " + ehlo->to_log_string() : ehlo.error().message;
    co_return ehlo ? exit_for(*ehlo) : EX_TEMPFAIL;
  }
  auto replies = co_await conn->pipeline(commands);
  if (!replies) {
    error = replies.error().message;
    co_return EX_TEMPFAIL;
  }
  for (std::size_t i = 0; i < replies->size(); ++i) {
    const Reply& r = (*replies)[i];
    const bool ok = i + 1 == replies->size() ? r.code == 354 : r.positive_completion();
    if (!ok) {
      error = commands[i] + ": " + r.to_log_string();
      co_return exit_for(r);
    }
  }
  conn->queue(s.data);
  auto done = co_await conn->flush();
  if (!done) {
    error = done.error().message;
    co_return EX_TEMPFAIL;
  }
  auto final_reply = co_await conn->read_reply();
  if (!final_reply || !final_reply->positive_completion()) {
    error = final_reply ? "end of data: " + final_reply->to_log_string() : final_reply.error().message;
    co_return final_reply ? exit_for(*final_reply) : EX_TEMPFAIL;
  }
  // The message is accepted; how QUIT goes no longer matters.
  [[maybe_unused]] auto quit = co_await conn->command("QUIT");
  co_return EX_OK;
}

Result<asio::ip::tcp::endpoint> server_endpoint(const SendmailOptions& o, const config::ServerConfig& config) {
  if (!o.server.empty()) {
    const auto colon = o.server.rfind(':');
    auto ip = IpAddress::parse(o.server.substr(0, colon));
    auto port = colon == std::string::npos ? std::nullopt : parse_uint(o.server.substr(colon + 1), 65535);
    if (!ip || !port) return make_error(Errc::invalid_argument, "--server must be IP:PORT");
    return asio::ip::tcp::endpoint(asio::ip::make_address(ip->to_string()), static_cast<std::uint16_t>(*port));
  }
  for (const auto& l : config.listeners)
    if (l.kind == config::ListenerKind::smtp)
      return asio::ip::tcp::endpoint(asio::ip::make_address(l.address.to_string()), l.port);
  return make_error(Errc::invalid_argument, "the configuration has no smtp listener; give --server");
}

void run_sendmail(Context& ctx, SendmailOptions o) {
  for (const auto& x : o.o_options) o.ignore_dots |= x == "i";
  if (o.b_mode != "m") {
    std::fprintf(stderr, "mxsec sendmail: -b%s is not supported (only -bm)\n", o.b_mode.c_str());
    ctx.exit_code = EX_USAGE;
    return;
  }
  auto config = o.config_file.empty() ? Result<config::ServerConfig>(config::default_config())
                                      : config::load_config(o.config_file);
  if (!config) {
    std::fprintf(stderr, "mxsec sendmail: %s\n", config.error().message.c_str());
    ctx.exit_code = EX_USAGE;
    return;
  }
  bool too_big = false;
  auto lines = read_lines(stdin, !o.ignore_dots, config->limits.message_bytes, too_big);
  Submission s;
  s.sender = o.sender == "<>" ? "" : (o.sender.empty() ? default_sender(*config) : o.sender);
  s.recipients = o.recipients;
  if (o.from_headers) {
    auto found = recipients_from_headers(lines);
    if (!found) {
      std::fprintf(stderr, "mxsec sendmail: %s\n", found.error().message.c_str());
      ctx.exit_code = EX_DATAERR;
      return;
    }
    s.recipients.insert(s.recipients.end(), found->begin(), found->end());
  }
  if (too_big || s.recipients.empty()) {
    std::fprintf(stderr, "mxsec sendmail: %s\n", too_big ? "message too big" : "no recipients");
    ctx.exit_code = EX_DATAERR;
    return;
  }
  for (const auto& l : lines) s.data += (!l.empty() && l[0] == '.' ? "." : "") + l + "\r\n";  // RFC 5321 §4.5.2
  s.data += ".\r\n";
  auto endpoint = server_endpoint(o, *config);
  if (!endpoint) {
    std::fprintf(stderr, "mxsec sendmail: %s\n", endpoint.error().message.c_str());
    ctx.exit_code = EX_USAGE;
    return;
  }
  std::string error;
  auto result = asio::co_spawn(ctx.io, submit(*endpoint, std::move(s), error), asio::use_future);
  ctx.io.run();
  ctx.exit_code = result.get();
  if (ctx.exit_code != EX_OK) std::fprintf(stderr, "mxsec sendmail: %s\n", escape_for_log(error, 500).c_str());
}

void add_sendmail(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<SendmailOptions>();
  auto* cmd = app.add_subcommand("sendmail", "Submit a message from standard input (sendmail(8) compatible)");
  cmd->add_flag("-t", opts->from_headers, "Take recipients from To:, Cc:, Bcc: (Bcc: is removed)");
  cmd->add_flag("-i", opts->ignore_dots, "A line with a single dot does not end the message");
  cmd->add_option("-f", opts->sender, "Envelope sender")->type_name("SENDER");
  cmd->add_option("-F", opts->full_name, "Full name (ignored)");
  // One value per -o, so "sendmail -oi user@example" keeps its recipient.
  cmd->add_option("-o", opts->o_options, "sendmail -oX option (-oi = -i; others ignored)")
      ->allow_extra_args(false);
  cmd->add_option("-b", opts->b_mode, "sendmail mode; only -bm (deliver mail, the default) is supported");
  cmd->add_option("--config", opts->config_file, "The server's TOML configuration (finds its listener)");
  cmd->add_option("--server", opts->server, "Submit to this IP:PORT instead")->type_name("IP:PORT");
  cmd->add_option("recipients", opts->recipients, "Recipients");
  cmd->callback([&ctx, opts] { run_sendmail(ctx, *opts); });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_sendmail);

}  // namespace mxsec::cli
