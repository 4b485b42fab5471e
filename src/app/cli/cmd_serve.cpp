// `mxsec serve [--config FILE]`: the mail server (docs/configuration.md,
// docs/operations.md).
//
// Without --config it runs the safe default of config::default_config():
// 127.0.0.1:2525, spool and Maildir under ./mxsec-data, relay for loopback
// only. It prints the addresses it listens on, serves until SIGTERM or
// SIGINT, then stops gracefully: listeners close, sessions get `--grace`
// seconds to finish, and nothing acknowledged is lost. SIGHUP reloads the
// configuration file, the certificate and the users file
// (daemon/reload.hpp); SIGUSR1 flushes the queue.
//
// Exit codes: 0 after a clean stop, 2 when the configuration, the spool,
// a listener or the privilege drop fails.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "app/cli/command.hpp"
#include "config/server_config.hpp"
#include "daemon/privileges.hpp"
#include "daemon/server.hpp"

namespace mxsec::cli {
namespace {

struct ServeOptions {
  std::string config_file;
  double grace_seconds = 10;
};

void setup_logging(const config::LogConfig& log) {
  auto logger = spdlog::stderr_logger_mt("mxsec");
  if (log.format == config::LogConfig::Format::json)
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","pid":%P,"message":"%v"})");
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e mxsec[%P]: %l: %v");
  logger->set_level(spdlog::level::from_str(log.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// <spool_dir>/mxsec.pid, for `mxsec queue flush`; removed at exit.
class PidFile {
 public:
  explicit PidFile(std::string path) : path_(std::move(path)) {
    std::FILE* f = std::fopen(path_.c_str(), "we");
    if (!f) {
      spdlog::warn("cannot write {}: {}", path_, std::strerror(errno));
      path_.clear();
      return;
    }
    std::fprintf(f, "%ld\n", static_cast<long>(::getpid()));
    std::fclose(f);
  }
  ~PidFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::string path_;
};

Result<config::ServerConfig> effective_config(const std::string& file) {
  auto config = file.empty() ? Result<config::ServerConfig>(config::default_config()) : config::load_config(file);
  if (!config) return config;
  if (config->hostname_ascii.empty()) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
      return make_error(Errc::invalid_argument, "hostname is not set and the machine has no name; set `hostname`");
    config->hostname = config->hostname_ascii = name;
  }
  return config;
}

// SIGHUP: read the file again and apply what may change while running
// (daemon/reload.hpp). Any error keeps the running configuration whole.
void reload(daemon::Server& server, const std::string& file) {
  spdlog::info("SIGHUP: reloading {}", file.empty() ? std::string("the default configuration") : file);
  auto next = effective_config(file);
  const std::string level = next ? next->log.level : std::string();
  auto kept = next ? server.reload(std::move(*next)) : Result<std::vector<std::string>>(next.error());
  if (!kept) {
    spdlog::error("reload failed, the running configuration stays: {}", kept.error().message);
    return;
  }
  for (const auto& key : *kept) spdlog::warn("reload: {} changed; it takes effect at the next restart", key);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::info("reload done");
}

void run_serve(Context& ctx, const ServeOptions& opts) {
  auto config = effective_config(opts.config_file);
  if (!config) return fail(ctx, "serve", config.error());
  setup_logging(config->log);
  const std::string user = config->user;
  const std::string spool_dir = config->spool_dir;
  auto server = daemon::Server::create(std::move(*config));
  if (!server) return fail(ctx, "serve", server.error());
  auto bound = (*server)->bind();
  if (!bound) return fail(ctx, "serve", bound.error());
  if (!user.empty()) {
    auto dropped = daemon::drop_privileges(user);
    if (!dropped) return fail(ctx, "serve: dropping privileges", dropped.error());
  }
  // The signal set is in place before the workers run, so a SIGTERM that
  // arrives early is not lost.
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGTERM, SIGINT, SIGUSR1);
  signals.add(SIGHUP);
  int received = 0;
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGUSR1) {  // `mxsec queue flush`
      spdlog::info("SIGUSR1: flushing the queue");
      (*server)->flush();
      signals.async_wait(on_signal);
      return;
    }
    if (sig == SIGHUP) {
      reload(**server, opts.config_file);
      signals.async_wait(on_signal);
      return;
    }
    received = sig;
  };
  signals.async_wait(on_signal);
  auto running = (*server)->run();
  if (!running) return fail(ctx, "serve", running.error());
  PidFile pid_file(spool_dir + "/mxsec.pid");
  for (const auto& l : (*server)->bound()) std::printf("mxsec: listening on %s (%s)\n", l.text().c_str(), to_string(l.kind));
  if (const auto m = (*server)->metrics_address()) std::printf("mxsec: metrics on http://%s/metrics\n", m->text().c_str());
  std::fflush(stdout);
  signals_io.run();
  spdlog::info("signal {}: stopping", received);
  (*server)->stop(std::chrono::milliseconds(static_cast<long>(opts.grace_seconds * 1000)));
  spdlog::info("stopped");
  ctx.exit_code = kExitOk;
}

void add_serve(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Run the mail server (SMTP, submission, local delivery)");
  cmd->add_option("--config", opts->config_file, "TOML configuration file (docs/configuration.md); default: a safe loopback setup")
      ->type_name("FILE");
  cmd->add_option("--grace", opts->grace_seconds, "Seconds sessions get to finish at SIGTERM")->capture_default_str();
  cmd->callback([&ctx, opts] { run_serve(ctx, *opts); });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_serve);

}  // namespace mxsec::cli
