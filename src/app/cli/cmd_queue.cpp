// `mxsec queue list|show|flush|delete|hold|release`: the mail queue of a
// `mxsec serve` (its spool_dir), like Postfix's postqueue and postsuper.
// They work while the server runs: they read the spool in client mode,
// hold/release/delete change it under the spool's rules (queue/spool.hpp),
// and flush (and release) ask the running server, through the process ID
// it keeps in <spool_dir>/mxsec.pid, to try the queue now (SIGUSR1).
//
// Exit codes: 0 done; 1 the ID is not in the queue; 2 bad arguments, or the
// spool cannot be read.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>

#include "app/cli/command.hpp"
#include "config/server_config.hpp"
#include "core/strings.hpp"
#include "queue/spool.hpp"

namespace mxsec::cli {
namespace {

struct QueueOptions {
  std::string config_file;
  std::string id;
};

std::string iso_time(std::int64_t t) {
  if (t <= 0) return "-";
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<config::ServerConfig> load(const QueueOptions& o) {
  return o.config_file.empty() ? Result<config::ServerConfig>(config::default_config())
                               : config::load_config(o.config_file);
}

Result<std::unique_ptr<queue::Spool>> open_spool(const config::ServerConfig& c) {
  return queue::Spool::open({c.spool_dir}, queue::Mode::client);
}

nlohmann::json recipient_json(const queue::Recipient& r) {
  return {{"address", r.address},         {"state", queue::to_string(r.state)},
          {"attempts", r.attempts},       {"next_attempt", iso_time(r.next_attempt)},
          {"last_host", r.last_host},     {"last_result", r.last_result},
          {"last_policy", r.last_policy}, {"last_tls", r.last_tls}};
}

nlohmann::json envelope_json(const queue::Envelope& e, bool held) {
  nlohmann::json rcpts = nlohmann::json::array();
  for (const auto& r : e.recipients) rcpts.push_back(recipient_json(r));
  return {{"id", e.id},           {"arrival", iso_time(e.arrival)}, {"size", e.text_bytes},
          {"sender", e.reverse_path}, {"held", held},                {"requiretls", e.requiretls},
          {"client", e.client_address}, {"auth_user", e.auth_user}, {"recipients", rcpts}};
}

// "0HOQ...  5123 2026-12-03T12:00:00Z  <alice@example.org>" then one line per
// recipient; `detailed` (queue show) adds each recipient's last attempt.
void print_entry(const queue::Envelope& e, bool held, bool detailed = false) {
  std::printf("%s%s %8llu %s  <%s>\n", e.id.c_str(), held ? "!" : " ", static_cast<unsigned long long>(e.text_bytes),
              iso_time(e.arrival).c_str(), escape_for_log(e.reverse_path).c_str());
  for (const auto& r : e.recipients) {
    std::printf("    %-9s <%s>", queue::to_string(r.state), escape_for_log(r.address).c_str());
    if (r.state == queue::RecipientState::pending && r.attempts > 0)
      std::printf("  (%s; next try %s)", escape_for_log(r.last_result, 300).c_str(), iso_time(r.next_attempt).c_str());
    std::printf("\n");
    if (!detailed || r.attempts == 0) continue;
    std::printf("      last attempt: relay=%s", escape_for_log(r.last_host).c_str());
    if (!r.last_policy.empty()) std::printf(", policy=%s", escape_for_log(r.last_policy).c_str());
    if (!r.last_tls.empty()) std::printf(", tls=%s", escape_for_log(r.last_tls).c_str());
    std::printf(", attempts=%d\n      result: %s\n", r.attempts, escape_for_log(r.last_result, 1000).c_str());
  }
}

// Asks the running server to try the queue now.
Result<void> signal_server(const config::ServerConfig& c) {
  std::ifstream in(c.spool_dir + "/mxsec.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return make_error(Errc::not_found, "no running server (no " + c.spool_dir + "/mxsec.pid)");
  if (::kill(static_cast<pid_t>(pid), SIGUSR1) != 0)
    return make_error(Errc::io, "cannot signal the server (pid " + std::to_string(pid) + "): " + std::strerror(errno));
  return {};
}

void run_list(Context& ctx, const QueueOptions& o, bool json) {
  auto c = load(o);
  if (!c) return fail(ctx, "queue list", c.error());
  auto spool = open_spool(*c);
  if (!spool) return fail(ctx, "queue list", spool.error());
  auto ids = (*spool)->list();
  if (!ids) return fail(ctx, "queue list", ids.error());
  nlohmann::json all = nlohmann::json::array();
  for (const auto& id : *ids) {
    auto e = (*spool)->load(id);
    if (!e) continue;  // delivered and removed while we looked
    const bool held = (*spool)->held(id);
    if (json) all.push_back(envelope_json(*e, held));
    else print_entry(*e, held);
  }
  if (json) print_json({{"messages", all}});
  else std::printf("-- %zu message%s in the queue\n", ids->size(), ids->size() == 1 ? "" : "s");
}

void run_on_id(Context& ctx, const QueueOptions& o, const std::string& action, bool json) {
  auto c = load(o);
  if (!c) return fail(ctx, "queue " + action, c.error());
  if (!queue::valid_id(o.id))
    return fail(ctx, "queue " + action, make_error(Errc::invalid_argument, "not a queue ID: " + escape_for_log(o.id)));
  auto spool = open_spool(*c);
  if (!spool) return fail(ctx, "queue " + action, spool.error());
  auto e = (*spool)->load(o.id);
  if (!e) {
    std::fprintf(stderr, "mxsec: queue %s: %s\n", action.c_str(), e.error().message.c_str());
    ctx.exit_code = e.error().code == Errc::not_found ? kExitFinding : kExitError;
    return;
  }
  Result<void> done;
  if (action == "show") {
    if (json) print_json(envelope_json(*e, (*spool)->held(o.id)));
    else print_entry(*e, (*spool)->held(o.id), /*detailed=*/true);
    return;
  }
  if (action == "delete") done = (*spool)->remove(o.id);
  if (action == "hold") done = (*spool)->set_hold(o.id, true);
  if (action == "release") {
    done = (*spool)->set_hold(o.id, false);
    if (done && !signal_server(*c)) std::fprintf(stderr, "mxsec: queue release: the server will retry at its next run\n");
  }
  if (!done) return fail(ctx, "queue " + action, done.error());
  std::printf("%s: %s\n", o.id.c_str(), action == "delete" ? "deleted" : action == "hold" ? "held" : "released");
}

void run_flush(Context& ctx, const QueueOptions& o) {
  auto c = load(o);
  if (!c) return fail(ctx, "queue flush", c.error());
  auto sent = signal_server(*c);
  if (!sent) return fail(ctx, "queue flush", sent.error());
  std::printf("queue flush requested\n");
}

void add_queue(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<QueueOptions>();
  auto* cmd = app.add_subcommand("queue", "Show and manage the mail queue of `mxsec serve`");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --config may follow the action
  cmd->add_option("--config", opts->config_file, "The server's TOML configuration (finds its spool)")->type_name("FILE");
  auto* list = cmd->add_subcommand("list", "Every queued message with its recipients' state");
  list->add_flag("--json", ctx.json, "JSON output");
  list->callback([&ctx, opts] { run_list(ctx, *opts, ctx.json); });
  for (const char* action : {"show", "delete", "hold", "release"}) {
    auto* sub = cmd->add_subcommand(action, std::string(action) + " one message");
    sub->add_option("ID", opts->id, "Queue ID")->required();
    if (std::string(action) == "show") sub->add_flag("--json", ctx.json, "JSON output");
    sub->callback([&ctx, opts, action] { run_on_id(ctx, *opts, action, ctx.json); });
  }
  cmd->add_subcommand("flush", "Ask the running server to try every queued message now")->callback([&ctx, opts] {
    run_flush(ctx, *opts);
  });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_queue);

}  // namespace mxsec::cli
