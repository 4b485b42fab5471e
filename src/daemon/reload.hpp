// daemon/reload.hpp: what SIGHUP may change in a running `mxsec serve`, and
// what only a restart can.
//
// Contract
// - plan_reload() takes the configuration the server runs with and a newly
//   read one (already valid on its own: config::load_config()), and returns
//   the configuration the server continues with: every reloadable key from
//   `next`, every restart-only key from `running`. `kept` names each
//   restart-only key whose new value differs and was therefore not applied,
//   so the operator reads why an edit had no effect.
// - Reloadable (take effect for sessions and deliveries that start after the
//   reload; a session in progress finishes under the configuration it began
//   with): relay networks and users_file, [[domain]], the inbound policy
//   except `inbound.verify`, every [limits] key, tls.certificate and tls.key,
//   log.level, [[dkim]] (the keys are read again by config::load_config(),
//   so a rotated key file is picked up; a key that fails keeps the old
//   configuration), outbound.relayhost_username and
//   outbound.relayhost_password_file (the password file is read again, so a
//   rotated password is picked up) as long as outbound.relayhost is
//   unchanged: credentials written for a new relay host are never sent to
//   the one that runs, so with it they wait for the restart too.
// - Restart-only: listeners (sockets are bound once, before the privilege
//   drop), spool_dir, user, threads, hostname, the resolver and policy
//   options ([dns], [mta_sts], [policy], tls.ca_file: each worker's runtime is
//   built once), [outbound] except the credentials (its policy switches and
//   [[outbound.policy]] are
//   the runtime's too, and the delivery agent and its relay host are built
//   once; reported as "outbound", except `outbound.mta_sts`, which is
//   `mta_sts.enabled` and reported with [mta_sts]), inbound.verify (the
//   workers' verifiers), metrics.address, log.format, [queue] (the queue
//   runner's options) and reports.tlsrpt_db (the event store is opened once).
// - A reload that would leave a running listener without what it needs
//   (an smtps or submission listener and no tls.certificate) is refused
//   (Errc::invalid_argument) and the server keeps its configuration.
#pragma once

#include <string>
#include <vector>

#include "config/server_config.hpp"
#include "core/result.hpp"

namespace mxsec::daemon {

struct ReloadPlan {
  config::ServerConfig config;     // what the server continues with
  std::vector<std::string> kept;   // restart-only keys whose change was not applied
};

Result<ReloadPlan> plan_reload(const config::ServerConfig& running, config::ServerConfig next);

}  // namespace mxsec::daemon
