#include "daemon/reload.hpp"

namespace mxsec::daemon {
namespace {

std::string listeners_text(const config::ServerConfig& c) {
  std::string out;
  for (const auto& l : c.listeners) out += l.text() + "/" + config::to_string(l.kind) + " ";
  return out;
}

// The resolver and policy options as `config show` prints them: equal text
// means an equal runtime.
std::string runtime_text(const config::ServerConfig& c) {
  auto only = config::default_config();
  only.runtime = c.runtime;
  only.runtime.outbound = {};  // compared by outbound_text()
  return config::render_config(only);
}

// [outbound] as `config show` prints it: its engine switches and
// per-domain policies, the relay host, and downgrade_8bit. `outbound.mta_sts` is
// `mta_sts.enabled` and is reported with [mta_sts].
std::string outbound_text(const config::ServerConfig& c) {
  auto only = config::default_config();
  only.runtime.outbound = c.runtime.outbound;
  only.outbound.relayhost = c.outbound.relayhost;  // the credentials follow it (plan_reload)
  only.outbound.downgrade_8bit_bounce = c.outbound.downgrade_8bit_bounce;  // read when the agent starts
  return config::render_config(only);
}

std::string metrics_text(const config::ServerConfig& c) {
  return c.metrics.address ? c.metrics.address->text() : std::string();
}

}  // namespace

Result<ReloadPlan> plan_reload(const config::ServerConfig& running, config::ServerConfig next) {
  ReloadPlan plan;
  auto keep = [&](const char* key, bool changed) {
    if (changed) plan.kept.emplace_back(key);
  };
  keep("listener", listeners_text(running) != listeners_text(next));
  keep("spool_dir", running.spool_dir != next.spool_dir);
  keep("user", running.user != next.user);
  keep("threads", running.threads != next.threads);
  // An empty hostname in the file means the machine's name, which the
  // running configuration already holds.
  keep("hostname", !next.hostname_ascii.empty() && running.hostname_ascii != next.hostname_ascii);
  keep("dns, mta_sts, policy, tls.ca_file", runtime_text(running) != runtime_text(next));
  keep("outbound", outbound_text(running) != outbound_text(next));
  keep("inbound.verify", running.inbound.verify != next.inbound.verify);
  keep("metrics.address", metrics_text(running) != metrics_text(next));
  keep("log.format", running.log.format != next.log.format);
  keep("queue", running.queue != next.queue);
  keep("reports.tlsrpt_db", running.reports.tlsrpt_db != next.reports.tlsrpt_db);

  next.listeners = running.listeners;
  next.spool_dir = running.spool_dir;
  next.user = running.user;
  next.threads = running.threads;
  next.hostname = running.hostname;
  next.hostname_ascii = running.hostname_ascii;
  next.runtime = running.runtime;  // with [outbound]'s engine switches
  // The relay host's credentials are reloadable (a rotated password file is
  // read again), but only for the relay host that runs: credentials written
  // for a new relayhost are never sent to the old one.
  if (running.outbound.relay == next.outbound.relay) {
    config::OutboundConfig credentials = std::move(next.outbound);
    next.outbound = running.outbound;
    next.outbound.relayhost_username = std::move(credentials.relayhost_username);
    next.outbound.relayhost_password_file = std::move(credentials.relayhost_password_file);
    next.outbound.relayhost_password = std::move(credentials.relayhost_password);
  } else {
    next.outbound = running.outbound;
  }
  next.inbound.verify = running.inbound.verify;
  next.metrics = running.metrics;
  next.log.format = running.log.format;
  next.queue = running.queue;
  next.reports = running.reports;

  if (next.tls.certificate.empty())
    for (const auto& l : next.listeners)
      if (l.kind != config::ListenerKind::smtp)
        return make_error(Errc::invalid_argument, std::string("the running ") + config::to_string(l.kind) +
                                                      " listener " + l.text() + " needs tls.certificate and tls.key");
  plan.config = std::move(next);
  return plan;
}

}  // namespace mxsec::daemon
