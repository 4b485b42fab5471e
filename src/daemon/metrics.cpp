// daemon/metrics.cpp: see metrics.hpp. The help texts here and the tables of
// docs/operations.md say the same; a unit test checks that every family is
// documented there.
#include "daemon/metrics.hpp"

#include <limits>

#include "delivery/outbound.hpp"
#include "delivery/runner.hpp"
#include "queue/spool.hpp"

namespace mxsec::daemon {
namespace {

const char* spf_name(auth::spf::Verdict v) { return auth::spf::to_string(v); }
const char* dkim_name(auth::dkim::Verdict v) { return auth::dkim::to_string(v); }
const char* dmarc_name(auth::dmarc::Verdict v) { return auth::dmarc::to_string(v); }

}  // namespace

static_assert(static_cast<std::size_t>(DnsFailure::error) + 1 == kDnsFailures);

const char* to_string(DnsFailure f) {
  switch (f) {
    case DnsFailure::servfail: return "servfail";
    case DnsFailure::timeout: return "timeout";
    case DnsFailure::bogus: return "bogus";
    case DnsFailure::error: return "error";
  }
  return "?";
}

void DnsCounters::answered(dns::RrType type, const dns::RawAnswer& answer) {
  for (std::size_t i = 0; i < kDnsTypeCount; ++i)
    if (kDnsTypes[i] == type) queries[i].inc();
  if (answer.bogus()) failures[DnsFailure::bogus].inc();
  else if (answer.status == dns::Status::servfail) failures[DnsFailure::servfail].inc();
  else if (answer.status == dns::Status::timeout) failures[DnsFailure::timeout].inc();
  else if (answer.status == dns::Status::error) failures[DnsFailure::error].inc();
}

ServerMetrics::ServerMetrics(Sources sources) : sources_(sources) { register_all(); }

void ServerMetrics::register_all() {
  using smtp::server::to_string;
  auto& r = registry_;
  const auto listener_name = [](config::ListenerKind k) { return config::to_string(k); };

  r.add_counter("mxsec_sessions_total", "SMTP sessions that got a greeting, by listener kind.", {"listener"})
      .add_each(smtp_.sessions, listener_name);
  r.add_gauge("mxsec_sessions_active", "SMTP sessions running now, by listener kind.", {"listener"})
      .add_each(smtp_.sessions_active, listener_name);

  auto& tls = r.add_counter("mxsec_tls_handshakes_total",
                            "Server TLS handshakes (STARTTLS or implicit TLS) by outcome.", {"mode", "result"});
  for (auto mode : {smtp::server::TlsMode::starttls, smtp::server::TlsMode::implicit}) {
    tls.add({to_string(mode), "ok"}, smtp_.tls_handshakes[mode]);
    tls.add({to_string(mode), "failed"}, smtp_.tls_handshake_failures[mode]);
  }

  r.add_counter("mxsec_messages_accepted_total", "Messages committed to the queue and acknowledged with 250.")
      .add({}, smtp_.messages_accepted);
  r.add_counter("mxsec_messages_rejected_total", "Messages refused, by reason.", {"reason"})
      .add_each(smtp_.messages_rejected, [](smtp::server::MessageRejection x) { return to_string(x); });
  r.add_counter("mxsec_recipients_rejected_total", "RCPT TO commands refused, by reason.", {"reason"})
      .add_each(smtp_.recipients_rejected, [](smtp::server::RecipientRejection x) { return to_string(x); });
  r.add_counter("mxsec_limit_hits_total", "Named limits reached by clients, by the limit's [limits] key.", {"limit"})
      .add_each(smtp_.limit_hits, [](smtp::server::LimitName x) { return to_string(x); });

  auto& sasl = r.add_counter("mxsec_smtp_auth_total", "SMTP AUTH exchanges that ended in 235 or 535, by mechanism.",
                             {"mechanism", "result"});
  for (auto m : {smtp::SaslMechanism::plain, smtp::SaslMechanism::login}) {
    sasl.add({smtp::to_string(m), "success"}, smtp_.auth_successes[m]);
    sasl.add({smtp::to_string(m), "failure"}, smtp_.auth_failures[m]);
  }

  auto& results = r.add_counter("mxsec_auth_results_total",
                                "Inbound SPF, DKIM and DMARC evaluations, by method and result.", {"method", "result"});
  for (std::size_t i = 0; i < kSpfVerdicts; ++i)
    results.add({"spf", spf_name(static_cast<auth::spf::Verdict>(i))}, auth_.spf.at(i));
  for (std::size_t i = 0; i < kSpfVerdicts; ++i)
    results.add({"spf_helo", spf_name(static_cast<auth::spf::Verdict>(i))}, auth_.spf_helo.at(i));
  for (std::size_t i = 0; i < kDkimVerdicts; ++i)
    results.add({"dkim", dkim_name(static_cast<auth::dkim::Verdict>(i))}, auth_.dkim.at(i));
  for (std::size_t i = 0; i < kDmarcVerdicts; ++i)
    results.add({"dmarc", dmarc_name(static_cast<auth::dmarc::Verdict>(i))}, auth_.dmarc.at(i));

  auto& queries = r.add_counter("mxsec_dns_queries_total",
                                "DNS questions sent to the validating resolver (cache misses), by type.", {"type"});
  for (std::size_t i = 0; i < kDnsTypeCount; ++i) queries.add({dns::to_string(kDnsTypes[i])}, dns_.queries.at(i));
  r.add_counter("mxsec_dns_query_failures_total", "DNS questions that failed, by reason.", {"reason"})
      .add_each(dns_.failures, [](DnsFailure f) { return to_string(f); });

  auto& queue = r.add_gauge("mxsec_queue_messages", "Messages in the queue (held ones included), read at scrape time.");
  if (const queue::Spool* spool = sources_.spool) {
    queue.add({}, [spool] {
      auto ids = spool->list();
      return ids ? static_cast<double>(ids->size()) : std::numeric_limits<double>::quiet_NaN();
    });
  }
  auto& attempts = r.add_counter("mxsec_delivery_attempts_total",
                                 "Delivery attempts, one per recipient and attempt, by outcome.", {"result"});
  if (const delivery::QueueRunner* runner = sources_.runner) {
    attempts.add({"delivered"}, [runner] { return static_cast<double>(runner->stats().delivered); });
    attempts.add({"deferred"}, [runner] { return static_cast<double>(runner->stats().deferred); });
    attempts.add({"bounced"}, [runner] { return static_cast<double>(runner->stats().bounced); });
  }
  auto& relayed = r.add_counter("mxsec_relay_attempts_total",
                                 "Relayed recipients' delivery attempts, by the MX host's transport policy and outcome.",
                                 {"policy", "result"});
  if (const delivery::QueueRunner* runner = sources_.runner) {
    const std::array<const char*, 3> results{"delivered", "deferred", "bounced"};
    for (std::size_t v = 0; v < policy::kVerdictCount; ++v)
      for (std::size_t o = 0; o < results.size(); ++o)
        relayed.add({policy::to_string(static_cast<policy::Verdict>(v)), results[o]},
                    [runner, v, o] { return static_cast<double>(runner->stats().relayed[v][o]); });
  }
  auto& sessions = r.add_counter("mxsec_tls_sessions_total",
                                 "Outbound TLS session attempts reported to TLS-RPT (RFC 8460), by result: "
                                 "success or the failure's result type.",
                                 {"result"});
  if (const delivery::OutboundAgent* agent = sources_.outbound) {
    sessions.add({"success"}, [agent] { return static_cast<double>(agent->counters().tls_successes.load()); });
    for (std::size_t t = 0; t < policy::tlsrpt::kResultTypeCount; ++t)
      sessions.add({policy::tlsrpt::to_string(static_cast<policy::tlsrpt::ResultType>(t))},
                   [agent, t] { return static_cast<double>(agent->counters().tls_failures[t].load()); });
  }
  auto& notices = r.add_counter("mxsec_dsn_queued_total",
                                "Delivery status notifications (bounces, delay and success notices) queued for senders.");
  if (const delivery::QueueRunner* runner = sources_.runner)
    notices.add({}, [runner] { return static_cast<double>(runner->stats().notices); });

  // The name the Prometheus client libraries' process collector uses, so
  // that the usual `time() - process_start_time_seconds` works unchanged.
  r.add_gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
      .add({}, [t = sources_.start_time] { return t; });
}

}  // namespace mxsec::daemon
