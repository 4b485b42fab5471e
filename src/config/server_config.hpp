// config/server_config.hpp: the TOML configuration of `mxsec serve`
// (docs/configuration.md lists every key with its default).
//
// Contract
// - parse_config() reads one TOML document into a ServerConfig. Every key
//   not given keeps the default written in this header (or, for the runtime
//   part, in runtime/options.hpp and core/limits.hpp). An unknown key, a
//   value of the wrong type or out of range, or a TOML syntax error is an
//   Error (Errc::parse) whose message names the source, the line, the key
//   and the problem: "mxsec.toml:12: limits.recipients: must be between
//   100 and 100000, got 0". Nothing is half-applied: either the whole file is
//   valid or the caller keeps what it had (SIGHUP reload relies on this).
//   The line is that of the offending value; for a missing key, that of its
//   table. Elements of arrays are named "dns.forwarders[1]",
//   "listener[0].kind" (counted from 0). A TOML syntax error reads
//   "<source>:<line>:<column>: <toml++'s description>". Only the first
//   problem found is reported; the sections are read in a fixed order
//   (top level, dns, tls, mta_sts, policy, outbound, listener, relay, domain,
//   inbound, limits, queue, metrics, log, reports, dkim), so a cross-check such as "a submission
//   listener needs tls.certificate" never reports the consequence of a bad
//   value read later.
// - [[listener]], [[domain]] and relay.networks, when the file gives them,
//   replace the defaults instead of adding to them. Without [[domain]], the
//   default domain "localhost" delivers into <spool_dir>/maildir/%d/%u, so it
//   follows a spool_dir set in the file. Relative paths are kept as written
//   and are relative to the working directory of `mxsec serve`; files named
//   here (certificate, key, trust anchors, users_file, ...) are read when
//   they are used, not by parse_config(), with one exception: the private
//   keys of [[dkim]] are read and parsed by parse_config(), so a key that
//   cannot be read or parsed is an error at the line of its `key` (and a
//   SIGHUP reload with such a key keeps the running configuration).
// - The [dns], [tls] (ca_file) and [mta_sts] tables fill the same
//   runtime::RuntimeOptions the CLI flags fill, and are checked by the same
//   runtime::validate() with TOML key names (runtime::OptionNames), so
//   `serve` builds its resolver, policy engine and stores as every other
//   command does. [outbound] fills runtime::OutboundOptions (dane,
//   default_tls, [[outbound.policy]]) and MtaStsOptions::enabled (its
//   `mta_sts` key; `mta_sts.enabled` is the older name of the same switch,
//   and the two given with different values are an error); its relayhost
//   and the relay host's credentials are kept here (OutboundConfig) for the
//   delivery agent. relayhost_password_file is the second file read by
//   parse_config() (see above): one that cannot be read, is readable by
//   its group or by others, is empty or holds more than one line is an
//   error at the line of that key, naming the file (never its content).
// - Domain names (hostname, [[domain]] name, ...) may be U-labels; they are
//   converted to A-labels with libidn2 (IDNA 2008) and kept in both forms.
// - default_config() is the safe configuration used without --config:
//   listen on 127.0.0.1:2525 (smtp), spool under ./mxsec-data, the embedded
//   recursive validating resolver, mail for "localhost" into a Maildir under
//   ./mxsec-data/maildir/%d/%u, relay only for 127.0.0.1/32 (and ::1/128).
// - render_config() prints the effective configuration with every key as
//   TOML that parse_config() reads back to an equal configuration
//   (`mxsec config show`, like `postconf`). Optional values are written in
//   the form that means "unset" ("" for metrics.address).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim/sign.hpp"
#include "core/file.hpp"
#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "core/strings.hpp"
#include "runtime/options.hpp"

namespace mxsec::config {

enum class ListenerKind { smtp, submission, smtps };
const char* to_string(ListenerKind k);

struct Listener {
  IpAddress address;
  std::uint16_t port = 0;
  ListenerKind kind = ListenerKind::smtp;
  std::string text() const;  // "127.0.0.1:2525", "[::1]:25"
};

struct Network {
  IpAddress address;
  unsigned prefix = 0;
  bool contains(const IpAddress& ip) const;  // IPv4-mapped IPv6 clients match IPv4 networks
  std::string text() const;                  // "127.0.0.0/8"
};
// "192.0.2.0/24", "2001:db8::/32", or a bare address (/32, /128).
std::optional<Network> parse_network(std::string_view text);

struct Delivery {
  enum class Kind { maildir, lmtp };
  Kind kind = Kind::maildir;
  std::string maildir;      // path pattern; %u = local part, %d = domain (A-label), %% = %
  IpAddress lmtp_address;   // lmtp:HOST:PORT (HOST is an IP address or [IPv6])
  std::uint16_t lmtp_port = 24;
  std::string text() const;  // "maildir:PATH", "lmtp:HOST:PORT" (as written, port always shown)
};

struct LocalDomain {
  std::string name;        // as written (may be a U-label name)
  std::string name_ascii;  // A-labels, lower case
  Delivery delivery;
};

struct RelayConfig {
  std::vector<Network> networks;  // clients that may relay without AUTH
  std::string users_file;         // "user:$y$..." lines (mxsec passwd); "" = no AUTH
};

enum class DmarcAction { reject, quarantine, none };
enum class SpfFailAction { reject, tag };
enum class QuarantineAction { header, hold };  // add "X-Mxsec-Quarantine: yes", or also hold the message in the queue
const char* to_string(DmarcAction a);
const char* to_string(SpfFailAction a);
const char* to_string(QuarantineAction a);

struct InboundConfig {
  bool verify = true;          // SPF, DKIM, DMARC on mail from non-relay clients
  std::string authserv_id;     // "" = hostname
  DmarcAction dmarc_reject = DmarcAction::reject;  // what p=reject failures get
  QuarantineAction quarantine = QuarantineAction::header;  // what p=quarantine failures get
  SpfFailAction spf_fail = SpfFailAction::tag;
};

// One DKIM signing key for outbound mail (RFC 6376, RFC 8463 for Ed25519):
// [[dkim]] domain, selector, key, algorithm. Mail from authenticated and
// relay clients whose RFC5322.From domain is `domain` or below it gets one
// DKIM-Signature per matching entry (smtp/server/outbound_dkim.hpp).
struct DkimKey {
  std::string domain;        // as written (may be U-labels)
  std::string domain_ascii;  // d=, A-labels, lower case
  std::string selector;      // s=, A-labels, lower case
  std::string key_file;      // as written
  // Given, or that of the key; a given one must match the key.
  auth::dkim::Algorithm algorithm = auth::dkim::Algorithm::rsa_sha256;
  // The loaded key (immutable, shared by every session of a generation).
  std::shared_ptr<const auth::dkim::Signer> signer;
};

// Where the report generators keep what they aggregate.
struct ReportsConfig {
  // TLS-RPT events (reporting/tlsrpt_store.hpp); the default follows
  // spool_dir: <spool_dir>/reports/tlsrpt.sqlite.
  std::string tlsrpt_db = "./mxsec-data/reports/tlsrpt.sqlite";
};

// Every attacker-controlled quantity of the server, with its default.
struct ServerLimits {
  std::size_t line_bytes = limits::kSmtpLineBytes;
  int commands_per_session = 1000;
  int bad_commands = 20;
  int recipients = 1000;  // per message (RFC 5321 §4.5.3.1.8: at least 100)
  std::uint64_t message_bytes = 50ull * 1024 * 1024;
  std::chrono::milliseconds session_time = limits::kSmtpSessionTimeout;
  std::chrono::milliseconds command_timeout{300000};  // RFC 5321 §4.5.3.2.7: 5 minutes
  std::uint64_t min_data_rate = 256;  // octets per second over a DATA/BDAT transfer, after its first 30 s
  int max_sessions = 10000;
  int max_sessions_per_client = 50;
  int auth_failures = 3;              // per session, then 421
};

// The queue runner (delivery/runner.hpp): how long a message may wait, when
// its sender hears about the wait, and how often it is tried. Durations are
// read as seconds ("300", 300.0) or with one unit ("90s", "30m", "4h", "5d").
struct QueueConfig {
  // Recipients still pending this long after arrival bounce (RFC 3464
  // "failed" DSN to the sender); 0 = after the first failed attempt.
  std::chrono::seconds max_lifetime{5 * 24 * 3600};
  // One "delayed" DSN per message once it has waited this long; 0 = never.
  std::chrono::seconds delay_warning{4 * 3600};
  // Retry backoff: min_backoff after the first attempt, doubling up to max_backoff.
  std::chrono::seconds min_backoff{300};
  std::chrono::seconds max_backoff{4000};
  // How a commit or a Maildir delivery becomes durable (core/file.hpp):
  // fsyncs per file with shared directory fsyncs, or one syncfs() shared by
  // the commits of a moment (measured slower on a shared file system:
  // docs/benchmarks.md).
  SyncMethod sync = SyncMethod::fsync;
  int delivery_threads = 4;  // queue runner threads (delivery agents block on disk and network)
  friend bool operator==(const QueueConfig&, const QueueConfig&) = default;
};

// Outgoing mail ([outbound]); the policy switches live in
// runtime::OutboundOptions, where the policy engine is built from them.
struct OutboundConfig {
  // Postfix's syntax: "[host]:port" (that host, no MX lookup), "[host]"
  // (port 25), "[192.0.2.1]:port", "[IPv6:2001:db8::1]:port", or
  // "host:port" (the MX hosts of `host`). "" = deliver to each recipient
  // domain's MX hosts. Kept as written; `relay` is the parsed form.
  std::string relayhost;
  std::optional<policy::RelayHost> relay;
  // SMTP AUTH to the relay host (smtp/client/auth.hpp), both or neither,
  // only with `relayhost`; "" = no AUTH. The password file is read by
  // parse_config() (so a SIGHUP reads it again) and must be readable by its
  // owner only; its one line, without the line end, is the password.
  std::string relayhost_username;
  std::string relayhost_password_file;
  // The password from that file (null without credentials); never printed.
  // Shared, so the copies of a configuration hold it once, and wiped when
  // the last one goes.
  std::shared_ptr<const SecretString> relayhost_password;
  // downgrade_8bit: a message with 8-bit octets for a host that does not
  // offer 8BITMIME is converted to 7 bit (RFC 6152 §3). "convert"
  // (false): always, as Postfix does; "bounce" (true): a message that
  // carries a DKIM-Signature is returned instead (5.6.3), since converting
  // it changes what the signature covers. Needs a restart to change.
  bool downgrade_8bit_bounce = false;
  // Connection reuse and concurrency (delivery/session_cache.hpp), with
  // Postfix's defaults: an idle session is kept this long for the next
  // message to the same next-hop, host and policy (0 = no reuse)...
  std::chrono::seconds connection_cache_time{2};
  int connection_reuse_limit = 100;            // ...for at most this many messages...
  std::chrono::seconds connection_max_age{300};  // ...and this long after it opened.
  int destination_concurrency = 20;  // connections open to one next-hop (default_destination_concurrency_limit)
  int max_connections = 100;         // connections open in all
};

struct ServerTls {
  std::string certificate;  // PEM chain; "" = no STARTTLS, no submission listeners
  std::string key;
};

struct MetricsConfig {
  std::optional<Listener> address;  // Prometheus /metrics, plain HTTP; unset ("" in the file) = off
};

struct LogConfig {
  enum class Format { text, json };
  Format format = Format::text;
  std::string level = "info";  // spdlog level name: trace, debug, info, warn, error, critical, off
};
const char* to_string(LogConfig::Format f);

struct ServerConfig {
  std::string hostname;        // "" = the machine's name (gethostname)
  std::string hostname_ascii;
  std::string spool_dir = "./mxsec-data";
  std::string user;            // drop privileges to this user after binding; "" = stay
  std::string source;          // where it came from ("mxsec.toml", "(defaults)")
  runtime::RuntimeOptions runtime;
  ServerTls tls;
  std::vector<Listener> listeners;
  RelayConfig relay;
  OutboundConfig outbound;
  std::vector<LocalDomain> domains;
  InboundConfig inbound;
  ServerLimits limits;
  QueueConfig queue;
  MetricsConfig metrics;
  LogConfig log;
  ReportsConfig reports;
  std::vector<DkimKey> dkim;   // [[dkim]], in file order
  unsigned threads = 0;        // event loops; 0 = one per core
};

// A configuration file is a page or two; anything this large is a wrong path.
inline constexpr std::size_t kConfigFileBytes = 1024 * 1024;

ServerConfig default_config();
// Errc::limit past kConfigFileBytes, Errc::parse for everything else.
Result<ServerConfig> parse_config(std::string_view toml_text, std::string_view source_name);
// Bounded read (Errc::io, Errc::limit), then parse_config with `path` as the source.
Result<ServerConfig> load_config(const std::string& path);
std::string render_config(const ServerConfig& config);

// The names runtime::validate() uses for the TOML keys ("dns.timeout", ...).
runtime::OptionNames toml_option_names();

}  // namespace mxsec::config
