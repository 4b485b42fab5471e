// Tests for config/server_config.hpp: the defaults, a file with every key,
// every class of error with its exact message and line, IDNA names, the
// render/parse round trip, and the shipped example files.
#include "config/server_config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/file.hpp"

namespace mxsec::config {
namespace {

using namespace std::chrono_literals;

ServerConfig parse_ok(std::string_view text) {
  auto c = parse_config(text, "mxsec.toml");
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : ServerConfig{};
}

// render(parse(render(c))) == render(c): every key is written and read back.
void expect_round_trip(const ServerConfig& c) {
  const std::string first = render_config(c);
  auto again = parse_config(first, c.source);
  ASSERT_TRUE(again) << again.error().message << "\n" << first;
  EXPECT_EQ(render_config(*again), first);
}

std::string read_text(const std::string& path) {
  auto text = read_file_bounded(path, kConfigFileBytes);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string();
}

TEST(ServerConfig, DefaultsAreTheSafeOnes) {
  const ServerConfig c = default_config();
  EXPECT_EQ(c.source, "(defaults)");
  EXPECT_EQ(c.hostname, "");
  EXPECT_EQ(c.spool_dir, "./mxsec-data");
  EXPECT_EQ(c.user, "");
  EXPECT_EQ(c.threads, 0u);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].text(), "127.0.0.1:2525");
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::smtp);
  ASSERT_EQ(c.relay.networks.size(), 2u);
  EXPECT_EQ(c.relay.networks[0].text(), "127.0.0.1/32");
  EXPECT_EQ(c.relay.networks[1].text(), "::1/128");
  EXPECT_EQ(c.relay.users_file, "");
  ASSERT_EQ(c.domains.size(), 1u);
  EXPECT_EQ(c.domains[0].name, "localhost");
  EXPECT_EQ(c.domains[0].name_ascii, "localhost");
  EXPECT_EQ(c.domains[0].delivery.text(), "maildir:./mxsec-data/maildir/%d/%u");
  EXPECT_TRUE(c.inbound.verify);
  EXPECT_EQ(c.inbound.dmarc_reject, DmarcAction::reject);
  EXPECT_EQ(c.inbound.quarantine, QuarantineAction::header);
  EXPECT_EQ(c.inbound.spf_fail, SpfFailAction::tag);
  EXPECT_EQ(c.limits.line_bytes, limits::kSmtpLineBytes);
  EXPECT_EQ(c.limits.session_time, limits::kSmtpSessionTimeout);
  EXPECT_EQ(c.queue.max_lifetime, 5 * 24h);
  EXPECT_EQ(c.queue.delay_warning, 4h);
  EXPECT_EQ(c.queue.min_backoff, 300s);
  EXPECT_EQ(c.queue.max_backoff, 4000s);
  EXPECT_EQ(c.queue.sync, SyncMethod::fsync);
  EXPECT_EQ(c.queue.delivery_threads, 4);
  EXPECT_EQ(c.runtime.dns.timeout, limits::kDnsQueryTimeout);
  EXPECT_EQ(c.runtime.mta_sts.fetch_timeout, limits::kStsFetchTimeout);
  EXPECT_FALSE(c.metrics.address);
  EXPECT_EQ(c.log.format, LogConfig::Format::text);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_TRUE(runtime::validate(c.runtime, toml_option_names()));
}

TEST(ServerConfig, AnEmptyFileIsTheDefaults) {
  auto c = parse_config("", "(defaults)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(render_config(*c), render_config(default_config()));
  EXPECT_EQ(parse_ok("# nothing\n").source, "mxsec.toml");
}

constexpr const char* kEveryKey = R"(hostname = "mx.example.com"
spool_dir = "/var/spool/mxsec"
user = "mxsec"
threads = 4

[dns]
forwarders = ["192.0.2.53", "[2001:db8::53]:5353"]
trust_anchors = ["/etc/mxsec/root.key"]
private_zones = ["test"]
stub_zones = ["test=127.0.53.1:5300"]
timeout = 2.5
cache = false

[tls]
certificate = "/etc/mxsec/cert.pem"
key = "/etc/mxsec/key.pem"
ca_file = "/etc/mxsec/extra-roots.pem"

[mta_sts]
enabled = false
cache_file = "/var/lib/mxsec/sts.sqlite"
fetch_timeout = 30

[policy]
local_policy_file = "/etc/mxsec/tls-policy"

[[listener]]
address = "0.0.0.0:25"
kind = "smtp"

[[listener]]
address = "[::]:587"
kind = "submission"

[[listener]]
address = "[::]:465"
kind = "smtps"

[relay]
networks = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
users_file = "/etc/mxsec/users"

[[domain]]
name = "example.com"
delivery = "maildir:/var/mail/%d/%u"

[[domain]]
name = "example.net"
delivery = "lmtp:[::1]:2424"

[inbound]
verify = false
authserv_id = "mx.example.com"
dmarc_reject = "quarantine"
quarantine = "hold"
spf_fail = "reject"

[limits]
line_bytes = 4096
commands_per_session = 500
bad_commands = 10
recipients = 200
message_bytes = 10485760
session_time = 600
command_timeout = 120.5
min_data_rate = 1024
max_sessions = 2000
max_sessions_per_client = 20
auth_failures = 5

[queue]
max_lifetime = "3d"
delay_warning = ""
min_backoff = 60
max_backoff = "2h"
sync = "syncfs"
delivery_threads = 12

[metrics]
address = "127.0.0.1:9100"

[log]
format = "json"
level = "debug"
)";

TEST(ServerConfig, EveryKeyIsRead) {
  const ServerConfig c = parse_ok(kEveryKey);
  EXPECT_EQ(c.source, "mxsec.toml");
  EXPECT_EQ(c.hostname, "mx.example.com");
  EXPECT_EQ(c.hostname_ascii, "mx.example.com");
  EXPECT_EQ(c.spool_dir, "/var/spool/mxsec");
  EXPECT_EQ(c.user, "mxsec");
  EXPECT_EQ(c.threads, 4u);

  const auto& dns = c.runtime.dns;
  EXPECT_EQ(dns.forwarders, (std::vector<std::string>{"192.0.2.53", "[2001:db8::53]:5353"}));
  EXPECT_EQ(dns.trust_anchor_files, std::vector<std::string>{"/etc/mxsec/root.key"});
  EXPECT_EQ(dns.private_zones, std::vector<std::string>{"test"});
  EXPECT_EQ(dns.stub_zones, std::vector<std::string>{"test=127.0.53.1:5300"});
  EXPECT_EQ(dns.timeout, 2500ms);
  EXPECT_FALSE(dns.cache);

  EXPECT_EQ(c.tls.certificate, "/etc/mxsec/cert.pem");
  EXPECT_EQ(c.tls.key, "/etc/mxsec/key.pem");
  EXPECT_EQ(c.runtime.tls.ca_file, "/etc/mxsec/extra-roots.pem");
  EXPECT_FALSE(c.runtime.mta_sts.enabled);
  EXPECT_EQ(c.runtime.mta_sts.cache_file, "/var/lib/mxsec/sts.sqlite");
  EXPECT_EQ(c.runtime.mta_sts.fetch_timeout, 30000ms);
  EXPECT_EQ(c.runtime.policy.local_policy_file, "/etc/mxsec/tls-policy");

  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].text(), "0.0.0.0:25");
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::smtp);
  EXPECT_EQ(c.listeners[1].text(), "[::]:587");
  EXPECT_EQ(c.listeners[1].port, 587);
  EXPECT_EQ(c.listeners[1].kind, ListenerKind::submission);
  EXPECT_EQ(c.listeners[2].kind, ListenerKind::smtps);

  ASSERT_EQ(c.relay.networks.size(), 3u);  // replaced, not added to the defaults
  EXPECT_EQ(c.relay.networks[0].text(), "192.0.2.0/24");
  EXPECT_EQ(c.relay.networks[1].text(), "2001:db8::/32");
  EXPECT_EQ(c.relay.networks[2].text(), "198.51.100.7/32");
  EXPECT_EQ(c.relay.users_file, "/etc/mxsec/users");

  ASSERT_EQ(c.domains.size(), 2u);  // replaced: no "localhost"
  EXPECT_EQ(c.domains[0].name_ascii, "example.com");
  EXPECT_EQ(c.domains[0].delivery.kind, Delivery::Kind::maildir);
  EXPECT_EQ(c.domains[0].delivery.maildir, "/var/mail/%d/%u");
  EXPECT_EQ(c.domains[1].delivery.kind, Delivery::Kind::lmtp);
  EXPECT_EQ(c.domains[1].delivery.lmtp_address, *IpAddress::parse("::1"));
  EXPECT_EQ(c.domains[1].delivery.lmtp_port, 2424);
  EXPECT_EQ(c.domains[1].delivery.text(), "lmtp:[::1]:2424");

  EXPECT_FALSE(c.inbound.verify);
  EXPECT_EQ(c.inbound.authserv_id, "mx.example.com");
  EXPECT_EQ(c.inbound.dmarc_reject, DmarcAction::quarantine);
  EXPECT_EQ(c.inbound.quarantine, QuarantineAction::hold);
  EXPECT_EQ(c.inbound.spf_fail, SpfFailAction::reject);

  const auto& l = c.limits;
  EXPECT_EQ(l.line_bytes, 4096u);
  EXPECT_EQ(l.commands_per_session, 500);
  EXPECT_EQ(l.bad_commands, 10);
  EXPECT_EQ(l.recipients, 200);
  EXPECT_EQ(l.message_bytes, 10485760u);
  EXPECT_EQ(l.session_time, 600000ms);
  EXPECT_EQ(l.command_timeout, 120500ms);
  EXPECT_EQ(l.min_data_rate, 1024u);
  EXPECT_EQ(l.max_sessions, 2000);
  EXPECT_EQ(l.max_sessions_per_client, 20);
  EXPECT_EQ(l.auth_failures, 5);

  EXPECT_EQ(c.queue.max_lifetime, 72h);
  EXPECT_EQ(c.queue.delay_warning, 0s);
  EXPECT_EQ(c.queue.min_backoff, 60s);
  EXPECT_EQ(c.queue.max_backoff, 7200s);
  EXPECT_EQ(c.queue.sync, SyncMethod::syncfs);
  EXPECT_EQ(c.queue.delivery_threads, 12);

  ASSERT_TRUE(c.metrics.address);
  EXPECT_EQ(c.metrics.address->text(), "127.0.0.1:9100");
  EXPECT_EQ(c.log.format, LogConfig::Format::json);
  EXPECT_EQ(c.log.level, "debug");
  expect_round_trip(c);
}

// Queue durations: seconds as a number (as every other duration of the
// file) or a string with one unit; "" only where 0 means "off".
TEST(ServerConfig, QueueDurationsInBothSpellings) {
  struct Case {
    const char* text;
    std::chrono::seconds want;
  };
  for (const Case& k : {Case{"0", 0s}, Case{"\"0\"", 0s}, Case{"90", 90s}, Case{"90.0", 90s}, Case{"\"90\"", 90s},
                        Case{"\"90s\"", 90s}, Case{"\"30m\"", 1800s}, Case{"\"4h\"", 4h}, Case{"\"5d\"", 120h},
                        Case{"\"365d\"", 365 * 24h}}) {
    const ServerConfig c = parse_ok(std::string("[queue]\nmax_lifetime = ") + k.text + "\n");
    EXPECT_EQ(c.queue.max_lifetime, k.want) << k.text;
  }
  EXPECT_EQ(parse_ok("[queue]\ndelay_warning = \"\"\n").queue.delay_warning, 0s);
  EXPECT_EQ(parse_ok("[queue]\ndelay_warning = 0\n").queue.delay_warning, 0s);
  // config show writes the largest unit that divides the value, "" for off.
  ServerConfig c = default_config();
  c.queue = {std::chrono::seconds(0), std::chrono::seconds(0), 61s, 3600s};
  const std::string text = render_config(c);
  for (const char* want : {"max_lifetime = \"0\"\n", "delay_warning = \"\"\n", "min_backoff = \"61s\"\n",
                           "max_backoff = \"1h\"\n"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  expect_round_trip(c);
}

TEST(ServerConfig, InlineTablesAndDottedKeysAreTheSameDocument) {
  const ServerConfig c = parse_ok(
      "dns.timeout = 3\n"
      "listener = [{address = \"127.0.0.1:25\"}, {address = \"127.0.0.1:26\", kind = \"smtp\"}]\n"
      "limits = {recipients = 100}\n");
  EXPECT_EQ(c.runtime.dns.timeout, 3000ms);
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::smtp);
  EXPECT_EQ(c.limits.recipients, 100);
}

TEST(ServerConfig, WithoutDomainsTheDefaultDomainFollowsTheSpool) {
  EXPECT_EQ(parse_ok("spool_dir = \"/var/spool/mxsec/\"\n").domains.at(0).delivery.maildir,
            "/var/spool/mxsec/maildir/%d/%u");
  EXPECT_EQ(parse_ok("spool_dir = \"/srv/100%\"\n").domains.at(0).delivery.maildir, "/srv/100%%/maildir/%d/%u");
  EXPECT_TRUE(parse_ok("domain = []\n").domains.empty());  // explicitly none: a relay only
}

TEST(ServerConfig, ULabelsBecomeALabels) {
  const ServerConfig c = parse_ok(
      "hostname = \"MX.Bücher.example\"\n"
      "[[domain]]\nname = \"bücher.example\"\ndelivery = \"maildir:/var/mail/%d/%u\"\n"
      "[[domain]]\nname = \"例え.テスト\"\ndelivery = \"lmtp:127.0.0.1\"\n");
  EXPECT_EQ(c.hostname, "MX.Bücher.example");
  EXPECT_EQ(c.hostname_ascii, "mx.xn--bcher-kva.example");
  ASSERT_EQ(c.domains.size(), 2u);
  EXPECT_EQ(c.domains[0].name, "bücher.example");
  EXPECT_EQ(c.domains[0].name_ascii, "xn--bcher-kva.example");
  EXPECT_EQ(c.domains[1].name_ascii, "xn--r8jz45g.xn--zckzah");
  EXPECT_EQ(c.domains[1].delivery.lmtp_port, 24);  // the LMTP port when none is given
  expect_round_trip(c);
}

struct BadCase {
  const char* text;
  const char* message;
};

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NameSourceLineKeyAndProblem) {
  auto c = parse_config(GetParam().text, "mxsec.toml");
  ASSERT_FALSE(c) << GetParam().text;
  EXPECT_EQ(c.error().code, Errc::parse);
  EXPECT_EQ(c.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigErrors,
    ::testing::Values(
        // TOML syntax: line and column from toml++
        BadCase{"a = 1\nb = \n", "mxsec.toml:2:5: Error while parsing key-value pair: expected value, saw '\\n'"},
        // unknown keys and tables, anywhere
        BadCase{"hostname = \"a.example\"\nhost = 1\n", "mxsec.toml:2: host: unknown key"},
        BadCase{"\n[dsn]\ntimeout = 1\n", "mxsec.toml:2: dsn: unknown table"},
        BadCase{"[dns]\n\ntimeuot = 1\n", "mxsec.toml:3: dns.timeuot: unknown key"},
        BadCase{"[[listener]]\naddress = \"127.0.0.1:25\"\ntype = \"smtp\"\n", "mxsec.toml:3: listener[0].type: unknown key"},
        BadCase{"[limits]\nmax_recipients = 0\n", "mxsec.toml:2: limits.max_recipients: unknown key"},
        // types
        BadCase{"threads = \"4\"\n", "mxsec.toml:1: threads: must be an integer, got string"},
        BadCase{"threads = 4.0\n", "mxsec.toml:1: threads: must be an integer, got float"},
        BadCase{"hostname = 1\n", "mxsec.toml:1: hostname: must be a string, got integer"},
        BadCase{"dns = 5\n", "mxsec.toml:1: dns: must be a table ([dns]), got integer"},
        BadCase{"[dns]\ncache = \"yes\"\n", "mxsec.toml:2: dns.cache: must be a boolean (true or false), got string"},
        BadCase{"[dns]\ntimeout = \"5\"\n", "mxsec.toml:2: dns.timeout: must be a number of seconds, got string"},
        BadCase{"[dns]\nforwarders = \"192.0.2.53\"\n",
                "mxsec.toml:2: dns.forwarders: must be an array of strings, got string"},
        BadCase{"[dns]\nforwarders = [\n  \"192.0.2.53\",\n  53,\n]\n",
                "mxsec.toml:4: dns.forwarders[1]: must be a string, got integer"},
        BadCase{"[listener]\naddress = \"127.0.0.1:25\"\n",
                "mxsec.toml:1: listener: must be an array of tables ([[listener]]), got table"},
        BadCase{"listener = [1]\n", "mxsec.toml:1: listener[0]: must be a table, got integer"},
        BadCase{"user = \"mx\\u0000sec\"\n", "mxsec.toml:1: user: must not contain a NUL character"},
        BadCase{"[log]\nlevel = \"loud\"\n",
                "mxsec.toml:2: log.level: must be one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", "
                "\"critical\", \"off\", got 'loud'"},
        BadCase{"[inbound]\ndmarc_reject = \"drop\"\n",
                "mxsec.toml:2: inbound.dmarc_reject: must be one of \"reject\", \"quarantine\", \"none\", got 'drop'"},
        // ranges
        BadCase{"\n[limits]\nrecipients = 0\n", "mxsec.toml:3: limits.recipients: must be between 100 and 100000, got 0"},
        BadCase{"[limits]\nmessage_bytes = 1000\n",
                "mxsec.toml:2: limits.message_bytes: must be between 65536 and 67108864, got 1000"},
        BadCase{"[limits]\nline_bytes = 512\n", "mxsec.toml:2: limits.line_bytes: must be between 1000 and 65536, got 512"},
        BadCase{"threads = -1\n", "mxsec.toml:1: threads: must be between 0 and 256, got -1"},
        BadCase{"[limits]\nsession_time = 0\n", "mxsec.toml:2: limits.session_time: must be between 0 and 86400 seconds"},
        BadCase{"[limits]\ncommand_timeout = 0.0001\n",
                "mxsec.toml:2: limits.command_timeout: must be between 0 and 3600 seconds"},
        BadCase{"[dns]\ntimeout = 601\n", "mxsec.toml:2: dns.timeout: must be between 0 and 600 seconds"},
        BadCase{"[dns]\ntimeout = nan\n", "mxsec.toml:2: dns.timeout: must be between 0 and 600 seconds"},
        BadCase{"[mta_sts]\nfetch_timeout = -1\n", "mxsec.toml:2: mta_sts.fetch_timeout: must be between 0 and 600 seconds"},
        BadCase{"[limits]\nmax_sessions = 10\nmax_sessions_per_client = 11\n",
                "mxsec.toml:3: limits.max_sessions_per_client: must not exceed limits.max_sessions (10)"},
        // queue durations
        BadCase{"[queue]\nmax_lifetme = \"5d\"\n", "mxsec.toml:2: queue.max_lifetme: unknown key"},
        BadCase{"[queue]\nmax_lifetime = \"5 days\"\n",
                "mxsec.toml:2: queue.max_lifetime: '5 days' is not a duration (seconds, or a number with s, m, h or d: "
                "\"5d\")"},
        BadCase{"[queue]\nmax_lifetime = \"5w\"\n",
                "mxsec.toml:2: queue.max_lifetime: '5w' is not a duration (seconds, or a number with s, m, h or d: "
                "\"5d\")"},
        BadCase{"[queue]\nmax_lifetime = \"\"\n",
                "mxsec.toml:2: queue.max_lifetime: '' is not a duration (seconds, or a number with s, m, h or d: "
                "\"5d\")"},
        BadCase{"[queue]\nmax_lifetime = \"-1d\"\n",
                "mxsec.toml:2: queue.max_lifetime: '-1d' is not a duration (seconds, or a number with s, m, h or d: "
                "\"5d\")"},
        BadCase{"[queue]\nmax_lifetime = \"366d\"\n",
                "mxsec.toml:2: queue.max_lifetime: must be between 0 and 365d, got 366d"},
        BadCase{"[queue]\nmax_lifetime = \"9999999999d\"\n",
                "mxsec.toml:2: queue.max_lifetime: '9999999999d' is not a duration (seconds, or a number with s, m, h "
                "or d: \"5d\")"},
        BadCase{"[queue]\nmax_lifetime = -1\n", "mxsec.toml:2: queue.max_lifetime: must be a whole number of seconds"},
        BadCase{"[queue]\nmax_lifetime = 1.5\n", "mxsec.toml:2: queue.max_lifetime: must be a whole number of seconds"},
        BadCase{"[queue]\nmax_lifetime = nan\n", "mxsec.toml:2: queue.max_lifetime: must be a whole number of seconds"},
        BadCase{"[queue]\nmax_lifetime = true\n",
                "mxsec.toml:2: queue.max_lifetime: must be a duration (seconds, or a string such as \"5d\"), got "
                "boolean"},
        BadCase{"[queue]\nmin_backoff = 0\n", "mxsec.toml:2: queue.min_backoff: must be between 1s and 1d, got 0"},
        BadCase{"[queue]\nmax_backoff = \"2d\"\n", "mxsec.toml:2: queue.max_backoff: must be between 1s and 1d, got 2d"},
        BadCase{"[queue]\nsync = \"none\"\n",
                "mxsec.toml:2: queue.sync: must be one of \"syncfs\", \"fsync\", got 'none'"},
        BadCase{"[queue]\ndelivery_threads = 0\n",
                "mxsec.toml:2: queue.delivery_threads: must be between 1 and 256, got 0"},
        BadCase{"[queue]\nmin_backoff = \"10m\"\nmax_backoff = \"5m\"\n",
                "mxsec.toml:3: queue.max_backoff: must not be less than queue.min_backoff (10m)"},
        BadCase{"[[listener]]\naddress = \"127.0.0.1:0\"\n",
                "mxsec.toml:2: listener[0].address: '127.0.0.1:0': port must be 1..65535 (expected IP:PORT or [IPv6]:PORT)"},
        BadCase{"[[listener]]\naddress = \"127.0.0.1:65536\"\n",
                "mxsec.toml:2: listener[0].address: '127.0.0.1:65536': port must be 1..65535 (expected IP:PORT or "
                "[IPv6]:PORT)"},
        BadCase{"[[listener]]\naddress = \"::1:25\"\n",
                "mxsec.toml:2: listener[0].address: '::1:25': no port (expected IP:PORT or [IPv6]:PORT)"},
        BadCase{"[[listener]]\naddress = \"mx.example:25\"\n",
                "mxsec.toml:2: listener[0].address: 'mx.example:25': not an IP address (expected IP:PORT or "
                "[IPv6]:PORT)"},
        // CIDR
        BadCase{"[relay]\nnetworks = [\"192.0.2.0/33\"]\n",
                "mxsec.toml:2: relay.networks[0]: '192.0.2.0/33' is not a network (expected ADDR/PREFIX or ADDR)"},
        BadCase{"[relay]\nnetworks = [\"2001:db8::/129\"]\n",
                "mxsec.toml:2: relay.networks[0]: '2001:db8::/129' is not a network (expected ADDR/PREFIX or ADDR)"},
        BadCase{"[relay]\nnetworks = [\"10.0.0.0/\"]\n",
                "mxsec.toml:2: relay.networks[0]: '10.0.0.0/' is not a network (expected ADDR/PREFIX or ADDR)"},
        BadCase{"[relay]\nnetworks = [\"192.0.2.1/24\"]\n",
                "mxsec.toml:2: relay.networks[0]: '192.0.2.1/24' has host bits set (the network is 192.0.2.0/24)"},
        BadCase{"[relay]\nnetworks = [\"2001:db8::1/32\"]\n",
                "mxsec.toml:2: relay.networks[0]: '2001:db8::1/32' has host bits set (the network is 2001:db8::/32)"},
        // missing keys: the line of their table
        BadCase{"threads = 1\n\n[[listener]]\nkind = \"smtp\"\n", "mxsec.toml:3: listener[0].address: missing"},
        BadCase{"[[domain]]\nname = \"example.com\"\n", "mxsec.toml:1: domain[0].delivery: missing"},
        BadCase{"[[domain]]\ndelivery = \"maildir:/m/%d/%u\"\n", "mxsec.toml:1: domain[0].name: missing"},
        BadCase{"[tls]\ncertificate = \"/etc/cert.pem\"\n", "mxsec.toml:1: tls.key: missing (tls.certificate is set)"},
        BadCase{"\n[tls]\nkey = \"/etc/key.pem\"\n", "mxsec.toml:2: tls.certificate: missing (tls.key is set)"},
        BadCase{"listener = []\n", "mxsec.toml:1: listener: at least one [[listener]] is needed"},
        // TLS listeners need a certificate
        BadCase{"[[listener]]\naddress = \"127.0.0.1:587\"\nkind = \"submission\"\n",
                "mxsec.toml:3: listener[0].kind: a submission listener needs tls.certificate and tls.key"},
        BadCase{"[[listener]]\naddress = \"[::1]:465\"\nkind = \"smtps\"\n",
                "mxsec.toml:3: listener[0].kind: a smtps listener needs tls.certificate and tls.key"},
        BadCase{"[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"lmtp\"\n",
                "mxsec.toml:3: listener[0].kind: must be one of \"smtp\", \"submission\", \"smtps\", got 'lmtp'"},
        // duplicates
        BadCase{"[[listener]]\naddress = \"127.0.0.1:25\"\n[[listener]]\naddress = \"127.0.0.1:25\"\n",
                "mxsec.toml:4: listener[1].address: 127.0.0.1:25 is already used by listener[0].address"},
        BadCase{"[metrics]\naddress = \"127.0.0.1:2525\"\n",
                "mxsec.toml:2: metrics.address: 127.0.0.1:2525 is already used by the default listener"},
        BadCase{"[[domain]]\nname = \"bücher.example\"\ndelivery = \"maildir:/m/%d/%u\"\n"
                "[[domain]]\nname = \"XN--BCHER-KVA.example.\"\ndelivery = \"lmtp:127.0.0.1:24\"\n",
                "mxsec.toml:5: domain[1].name: 'XN--BCHER-KVA.example.' is the same domain as domain[0]"},
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"maildir:/var/mail/%u\"\n"
                "[[domain]]\nname = \"b.example\"\ndelivery = \"maildir:/var/mail/%u\"\n",
                "mxsec.toml:6: domain[1].delivery: would share its Maildirs with domain[0] (put %d in the path)"},
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"maildir:/var/mail/a.example\"\n"
                "[[domain]]\nname = \"b.example\"\ndelivery = \"maildir:/var/mail/%d\"\n"
                "[[domain]]\nname = \"c.example\"\ndelivery = \"maildir:/var/mail/%d\"\n"
                "[[domain]]\nname = \"d.example\"\ndelivery = \"maildir:/var/mail/a.example\"\n",
                "mxsec.toml:12: domain[3].delivery: would share its Maildirs with domain[0] (put %d in the path)"},
        // deliveries
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"/var/mail\"\n",
                "mxsec.toml:3: domain[0].delivery: must be \"maildir:PATH\" or \"lmtp:HOST:PORT\", got '/var/mail'"},
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"maildir:\"\n",
                "mxsec.toml:3: domain[0].delivery: empty Maildir path"},
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"maildir:/m/%l\"\n",
                "mxsec.toml:3: domain[0].delivery: '%l' in the Maildir path: only %u, %d and %% are expanded"},
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"maildir:/m/100%\"\n",
                "mxsec.toml:3: domain[0].delivery: '%' in the Maildir path: only %u, %d and %% are expanded"},
        BadCase{"[[domain]]\nname = \"a.example\"\ndelivery = \"lmtp:localhost:24\"\n",
                "mxsec.toml:3: domain[0].delivery: 'lmtp:localhost:24': not an IP address (expected lmtp:IP[:PORT] "
                "or lmtp:[IPv6][:PORT])"},
        // names
        BadCase{"hostname = \"mx_1.example\"\n",
                "mxsec.toml:1: hostname: 'mx_1.example' is not a host name (labels of letters, digits and inner '-')"},
        BadCase{"hostname = \"-mx.example\"\n",
                "mxsec.toml:1: hostname: '-mx.example' is not a host name (labels of letters, digits and inner '-')"},
        BadCase{"hostname = \"mx..example\"\n",
                "mxsec.toml:1: hostname: invalid domain name mx..example: empty label"},
        BadCase{"[[domain]]\nname = \"exa mple.com\"\ndelivery = \"maildir:/m/%u\"\n",
                "mxsec.toml:2: domain[0].name: 'exa mple.com' is not a host name (labels of letters, digits and "
                "inner '-')"},
        BadCase{"user = \"-root\"\n",
                "mxsec.toml:1: user: '-root' is not a user name (letters, digits, '.', '_', '-'; at most 32)"},
        BadCase{"spool_dir = \"\"\n", "mxsec.toml:1: spool_dir: must not be empty"},
        BadCase{"[inbound]\nauthserv_id = \"mx example\"\n",
                "mxsec.toml:2: inbound.authserv_id: 'mx example' is not an RFC 2045 token (a host name is usual)"},
        // the runtime part: the same checks as the CLI flags, with the key's name
        BadCase{"[dns]\nstub_zones = [\"test=127.0.53.1\", \"test.127.0.53.1\"]\n",
                "mxsec.toml:2: dns.stub_zones[1]: 'test.127.0.53.1': expected ZONE=ADDR[:PORT]"},
        BadCase{"[dns]\nstub_zones = [\"te st=127.0.53.1\"]\n",
                "mxsec.toml:2: dns.stub_zones[0]: 'te st' is not a domain name"},
        BadCase{"[dns]\nstub_zones = [\"test=ns.test\"]\n",
                "mxsec.toml:2: dns.stub_zones[0]: resolver address 'ns.test': not an IP address (expected ADDR, "
                "ADDR:PORT or [V6]:PORT)"},
        BadCase{"[dns]\nforwarders = [\"192.0.2.53:0\"]\n",
                "mxsec.toml:2: dns.forwarders[0]: resolver address '192.0.2.53:0': port must be 1..65535 (expected "
                "ADDR, ADDR:PORT or [V6]:PORT)"},
        BadCase{"[dns]\nprivate_zones = [\"\"]\n", "mxsec.toml:2: dns.private_zones[0]: '' is not a domain name"},
        BadCase{"[dns]\ntrust_anchors = [\"\"]\n", "mxsec.toml:2: dns.trust_anchors[0]: must not be empty"}));

// Sections are read in a fixed order (so a cross-check never reports a
// consequence of an earlier bad value) and the first problem found is the
// one reported.
TEST(ServerConfig, OnlyTheFirstProblemIsReported) {
  auto c = parse_config("[limits]\nrecipients = 0\n[tls]\ncertificate = 5\n", "a.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "a.toml:4: tls.certificate: must be a string, got integer");
  c = parse_config("[[listener]]\naddress = \"127.0.0.1:587\"\nkind = \"submission\"\n[tls]\nkey = 1\n", "a.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "a.toml:5: tls.key: must be a string, got integer");
}

TEST(ServerConfig, OversizedTextIsALimit) {
  const std::string big(kConfigFileBytes + 1, '#');
  auto c = parse_config(big, "big.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::limit);
}

TEST(ServerConfig, LoadConfigReadsAFileAndNamesIt) {
  auto missing = load_config("/nonexistent/mxsec.toml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::io);
  EXPECT_NE(missing.error().message.find("/nonexistent/mxsec.toml"), std::string::npos);

  const std::string path = ::testing::TempDir() + "config_test_load.toml";
  { std::ofstream(path) << "threads = 2\n[limits]\nauth_failures = 0\n"; }
  auto bad = load_config(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, path + ":3: limits.auth_failures: must be between 1 and 100, got 0");
  { std::ofstream(path) << "threads = 2\n"; }
  auto ok = load_config(path);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->source, path);
  EXPECT_EQ(ok->threads, 2u);
  std::remove(path.c_str());
}

TEST(ServerConfig, RenderReadsBackToTheSameConfiguration) {
  expect_round_trip(default_config());
  ServerConfig c = parse_ok(kEveryKey);
  // Strings that need escaping, and durations that are not whole seconds
  // (1.001 s is 1000.999... ms in binary floating point).
  c.spool_dir = "/srv/\"quoted\" \\ back\tslash/ü";
  c.user = "";
  c.runtime.dns.timeout = 1001ms;
  c.runtime.mta_sts.fetch_timeout = 1ms;
  c.limits.session_time = 4350ms;
  c.metrics.address.reset();
  c.domains.clear();
  expect_round_trip(c);
  const std::string text = render_config(c);
  EXPECT_NE(text.find("timeout = 1.001\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fetch_timeout = 0.001\n"), std::string::npos) << text;
  EXPECT_NE(text.find("session_time = 4.35\n"), std::string::npos) << text;
  EXPECT_NE(text.find("address = \"\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("domain = []\n"), std::string::npos) << text;
  EXPECT_FALSE(parse_ok(text).metrics.address);
}

TEST(ServerConfig, RenderWritesEveryKey) {
  const std::string text = render_config(default_config());
  for (const char* key :
       {"hostname =", "spool_dir =", "user =", "threads =", "[dns]", "forwarders =", "trust_anchors =",
        "private_zones =", "stub_zones =", "timeout = 5.0", "cache = true", "[tls]", "certificate =", "key =",
        "ca_file =", "[mta_sts]", "enabled = true", "cache_file =", "fetch_timeout = 60.0", "[policy]",
        "local_policy_file =", "[relay]", "networks = [\"127.0.0.1/32\", \"::1/128\"]", "users_file =", "[inbound]",
        "verify = true", "authserv_id =", "dmarc_reject = \"reject\"", "quarantine = \"header\"", "spf_fail = \"tag\"",
        "[limits]", "line_bytes = 2048", "commands_per_session =", "bad_commands =", "recipients = 1000",
        "message_bytes = 52428800", "session_time = 1800.0", "command_timeout = 300.0", "min_data_rate = 256",
        "max_sessions = 10000", "max_sessions_per_client = 50", "auth_failures = 3", "[queue]",
        "max_lifetime = \"5d\"", "delay_warning = \"4h\"", "min_backoff = \"5m\"", "max_backoff = \"4000s\"",
        "sync = \"fsync\"", "delivery_threads = 4",
        "[metrics]", "[log]",
        "format = \"text\"", "level = \"info\"", "[[listener]]\naddress = \"127.0.0.1:2525\"\nkind = \"smtp\"",
        "[[domain]]\nname = \"localhost\"\ndelivery = \"maildir:./mxsec-data/maildir/%d/%u\""})
    EXPECT_NE(text.find(key), std::string::npos) << key << "\n" << text;
}

TEST(Network, ParseAndContains) {
  auto n = parse_network("192.0.2.0/24");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->contains(*IpAddress::parse("192.0.2.200")));
  EXPECT_TRUE(n->contains(*IpAddress::parse("::ffff:192.0.2.1")));  // IPv4-mapped client
  EXPECT_FALSE(n->contains(*IpAddress::parse("192.0.3.1")));
  EXPECT_FALSE(n->contains(*IpAddress::parse("2001:db8::1")));
  auto v6 = parse_network("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(*IpAddress::parse("192.0.2.1")));
  EXPECT_EQ(parse_network("::1")->text(), "::1/128");
  EXPECT_EQ(parse_network("0.0.0.0/0")->prefix, 0u);
  for (const char* bad : {"", "/24", "192.0.2.0/", "192.0.2.0/33", "192.0.2.0/-1", "192.0.2.0/+8", "::/129",
                          "192.0.2.0/24/1", "example.com/24", "192.0.2.0 /24"})
    EXPECT_FALSE(parse_network(bad)) << bad;
}

TEST(ServerConfig, EnumNames) {
  EXPECT_STREQ(to_string(ListenerKind::submission), "submission");
  EXPECT_STREQ(to_string(DmarcAction::none), "none");
  EXPECT_STREQ(to_string(QuarantineAction::hold), "hold");
  EXPECT_STREQ(to_string(SpfFailAction::reject), "reject");
  EXPECT_STREQ(to_string(LogConfig::Format::json), "json");
}

TEST(ServerConfig, TheContribExampleParses) {
  auto c = load_config(MXSEC_SOURCE_DIR "/contrib/mxsec.toml.example");
  ASSERT_TRUE(c) << c.error().message;
  expect_round_trip(*c);
}

// Every ```toml block of docs/configuration.md is a whole, valid file, so
// the documentation cannot drift from the parser; the first one is the
// example file without its comments.
TEST(ServerConfig, TheDocumentedExamplesParse) {
  const std::string doc = read_text(MXSEC_SOURCE_DIR "/docs/configuration.md");
  std::vector<ServerConfig> blocks;
  for (std::size_t at = doc.find("```toml\n"); at != std::string::npos; at = doc.find("```toml\n", at)) {
    at += 8;
    const std::size_t end = doc.find("```", at);
    ASSERT_NE(end, std::string::npos);
    const std::string block = doc.substr(at, end - at);
    auto c = parse_config(block, "example");
    ASSERT_TRUE(c) << c.error().message << "\n" << block;
    blocks.push_back(*c);
    at = end + 3;
  }
  ASSERT_GE(blocks.size(), 2u);
  auto example = parse_config(read_text(MXSEC_SOURCE_DIR "/contrib/mxsec.toml.example"), "example");
  ASSERT_TRUE(example) << example.error().message;
  EXPECT_EQ(render_config(blocks[0]), render_config(*example));
}

// --- [outbound] -------------------------------------------------------------------------

TEST(OutboundConfig, Defaults) {
  const ServerConfig c = default_config();
  EXPECT_TRUE(c.runtime.outbound.dane);
  EXPECT_TRUE(c.runtime.mta_sts.enabled);
  EXPECT_EQ(c.runtime.outbound.default_tls, policy::DefaultTls::may);
  EXPECT_TRUE(c.runtime.outbound.domain_policies.empty());
  EXPECT_EQ(c.outbound.relayhost, "");
  EXPECT_FALSE(c.outbound.relay);
  const std::string text = render_config(c);
  EXPECT_NE(text.find("\n[outbound]\ndane = \"on\"\nmta_sts = \"on\"\ndefault_tls = \"may\"\nrelayhost = \"\"\n"
                      "relayhost_username = \"\"\nrelayhost_password_file = \"\"\ndowngrade_8bit = \"convert\"\n"
                      "connection_cache_time = \"2s\"\nconnection_reuse_limit = 100\nconnection_max_age = \"5m\"\n"
                      "destination_concurrency = 20\nmax_connections = 100\npolicy = []\n"),
            std::string::npos)
      << text;
  // An empty file gives the same [outbound].
  EXPECT_EQ(render_config(parse_ok("")), render_config([] {
              ServerConfig d = default_config();
              d.source = "mxsec.toml";
              return d;
            }()));
}

constexpr const char* kOutbound = R"([outbound]
dane = "off"
mta_sts = "off"
default_tls = "encrypt"
relayhost = "[smtp.bücher.example]:587"

[[outbound.policy]]
domain = "bücher.example"
level = "dane-only"

[[outbound.policy]]
domain = ".Partner.example"
level = "verify"
)";

TEST(OutboundConfig, EveryKeyIsRead) {
  const ServerConfig c = parse_ok(kOutbound);
  EXPECT_FALSE(c.runtime.outbound.dane);
  EXPECT_FALSE(c.runtime.mta_sts.enabled);
  EXPECT_EQ(c.runtime.outbound.default_tls, policy::DefaultTls::encrypt);
  EXPECT_EQ(c.outbound.relayhost, "[smtp.bücher.example]:587");
  ASSERT_TRUE(c.outbound.relay);
  EXPECT_EQ(c.outbound.relay->host, "smtp.xn--bcher-kva.example");
  EXPECT_EQ(c.outbound.relay->port, 587);
  EXPECT_FALSE(c.outbound.relay->mx_lookup);
  EXPECT_FALSE(c.outbound.relay->address);
  const auto& p = c.runtime.outbound.domain_policies;
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].domain, "bücher.example");
  EXPECT_EQ(p[0].domain_ascii, "xn--bcher-kva.example");
  EXPECT_EQ(p[0].level, policy::LocalLevel::dane_only);
  EXPECT_EQ(p[1].domain, ".Partner.example");
  EXPECT_EQ(p[1].domain_ascii, ".partner.example");
  EXPECT_EQ(p[1].level, policy::LocalLevel::verify);
  expect_round_trip(c);
  const std::string text = render_config(c);
  EXPECT_NE(text.find("[mta_sts]\nenabled = false\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n[[outbound.policy]]\ndomain = \".Partner.example\"\nlevel = \"verify\"\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("policy = []"), std::string::npos) << text;
}

// Connection reuse and concurrency ([outbound], delivery/session_cache.hpp).
TEST(OutboundConfig, ConnectionKeysAreRead) {
  const ServerConfig c = parse_ok(
      "[outbound]\nconnection_cache_time = \"10s\"\nconnection_reuse_limit = 7\nconnection_max_age = 60\n"
      "destination_concurrency = 3\nmax_connections = 9\n");
  EXPECT_EQ(c.outbound.connection_cache_time, std::chrono::seconds(10));
  EXPECT_EQ(c.outbound.connection_reuse_limit, 7);
  EXPECT_EQ(c.outbound.connection_max_age, std::chrono::seconds(60));
  EXPECT_EQ(c.outbound.destination_concurrency, 3);
  EXPECT_EQ(c.outbound.max_connections, 9);
  expect_round_trip(c);
  // "" and 0 turn reuse off.
  EXPECT_EQ(parse_ok("[outbound]\nconnection_cache_time = \"\"\n").outbound.connection_cache_time.count(), 0);
  const ServerConfig off = parse_ok("[outbound]\nconnection_cache_time = 0\n");
  EXPECT_EQ(off.outbound.connection_cache_time.count(), 0);
  expect_round_trip(off);
}

TEST(OutboundConfig, ConnectionLimitsOutOfRangeAreRefused) {
  for (const char* text : {"[outbound]\nconnection_cache_time = \"1h\"\n", "[outbound]\nconnection_reuse_limit = 0\n",
                           "[outbound]\nconnection_max_age = 0\n", "[outbound]\nconnection_max_age = \"1h\"\n",
                           "[outbound]\ndestination_concurrency = 0\n", "[outbound]\nmax_connections = 0\n",
                           "[outbound]\nmax_connections = -1\n", "[outbound]\nmax_connections = \"many\"\n",
                           "[outbound]\ndestination_concurrency = 30\nmax_connections = 20\n"}) {
    auto c = parse_config(text, "mxsec.toml");
    EXPECT_FALSE(c) << text;
  }
  auto c = parse_config("[outbound]\ndestination_concurrency = 30\nmax_connections = 20\n", "mxsec.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("outbound.destination_concurrency"), std::string::npos) << c.error().message;
}

// Every level name of local_policy_file, and only those, spelled the same.
TEST(OutboundConfig, PolicyLevelsAreLocalPolicyLevels) {
  for (auto level : {policy::LocalLevel::none, policy::LocalLevel::may, policy::LocalLevel::encrypt,
                     policy::LocalLevel::verify, policy::LocalLevel::dane_only}) {
    const std::string text =
        std::string("[[outbound.policy]]\ndomain = \"a.example\"\nlevel = \"") + policy::to_string(level) + "\"\n";
    const ServerConfig c = parse_ok(text);
    ASSERT_EQ(c.runtime.outbound.domain_policies.size(), 1u) << text;
    EXPECT_EQ(c.runtime.outbound.domain_policies[0].level, level) << text;
    expect_round_trip(c);
  }
}

// `mta_sts.enabled` is the older name of `outbound.mta_sts`: either alone
// sets the switch; both may be given when they agree.
TEST(OutboundConfig, MtaStsSwitchHasTwoNames) {
  EXPECT_FALSE(parse_ok("[mta_sts]\nenabled = false\n").runtime.mta_sts.enabled);
  EXPECT_FALSE(parse_ok("[outbound]\nmta_sts = \"off\"\n").runtime.mta_sts.enabled);
  EXPECT_FALSE(parse_ok("[mta_sts]\nenabled = false\n[outbound]\nmta_sts = \"off\"\n").runtime.mta_sts.enabled);
  EXPECT_TRUE(parse_ok("[mta_sts]\nenabled = true\n[outbound]\nmta_sts = \"on\"\n").runtime.mta_sts.enabled);
  EXPECT_NE(render_config(parse_ok("[mta_sts]\nenabled = false\n")).find("mta_sts = \"off\"\n"), std::string::npos);
}

TEST(OutboundConfig, RelayhostForms) {
  struct Good {
    const char* text;
    const char* host;
    std::uint16_t port;
    bool mx_lookup;
    bool literal;
  };
  for (const Good& g : {Good{"[relay.example]", "relay.example", 25, false, false},
                        Good{"[Relay.Example.]:587", "relay.example", 587, false, false},
                        Good{"[192.0.2.25]:2525", "192.0.2.25", 2525, false, true},
                        Good{"[IPv6:2001:DB8::25]:465", "2001:db8::25", 465, false, true},
                        Good{"[ipv6:::1]", "::1", 25, false, true},
                        Good{"provider.example", "provider.example", 25, true, false},
                        Good{"provider.example:587", "provider.example", 587, true, false}}) {
    const std::string toml = std::string("[outbound]\nrelayhost = \"") + g.text + "\"\n";
    const ServerConfig c = parse_ok(toml);
    ASSERT_TRUE(c.outbound.relay) << g.text;
    EXPECT_EQ(c.outbound.relay->host, g.host) << g.text;
    EXPECT_EQ(c.outbound.relay->port, g.port) << g.text;
    EXPECT_EQ(c.outbound.relay->mx_lookup, g.mx_lookup) << g.text;
    EXPECT_EQ(c.outbound.relay->address.has_value(), g.literal) << g.text;
    EXPECT_EQ(c.outbound.relayhost, g.text);
    expect_round_trip(c);
  }
  EXPECT_FALSE(parse_ok("[outbound]\nrelayhost = \"\"\n").outbound.relay);
}

#define RELAY_EXPECTED "(expected \"[host]:port\", \"[192.0.2.1]:port\", \"[IPv6:2001:db8::1]:port\" or \"host:port\")"

INSTANTIATE_TEST_SUITE_P(
    Outbound, ConfigErrors,
    ::testing::Values(
        BadCase{"[outbound]\ndane = \"no\"\n", "mxsec.toml:2: outbound.dane: must be one of \"on\", \"off\", got 'no'"},
        BadCase{"[outbound]\ndane = false\n", "mxsec.toml:2: outbound.dane: must be a string, got boolean"},
        BadCase{"[outbound]\nmta_sts = \"On\"\n",
                "mxsec.toml:2: outbound.mta_sts: must be one of \"on\", \"off\", got 'On'"},
        BadCase{"[mta_sts]\nenabled = true\n\n[outbound]\nmta_sts = \"off\"\n",
                "mxsec.toml:5: outbound.mta_sts: \"off\" contradicts mta_sts.enabled = true (line 2); give one of them"},
        BadCase{"[mta_sts]\nenabled = false\n[outbound]\nmta_sts = \"on\"\n",
                "mxsec.toml:4: outbound.mta_sts: \"on\" contradicts mta_sts.enabled = false (line 2); give one of them"},
        BadCase{"[outbound]\ndefault_tls = \"verify\"\n",
                "mxsec.toml:2: outbound.default_tls: must be one of \"may\", \"encrypt\", got 'verify'"},
        BadCase{"[outbound]\ndefault_tls = \"dane\"\n",
                "mxsec.toml:2: outbound.default_tls: must be one of \"may\", \"encrypt\", got 'dane'"},
        BadCase{"[outbound]\nrelay_host = \"[relay.example]\"\n", "mxsec.toml:2: outbound.relay_host: unknown key"},
        BadCase{"outbound = 1\n", "mxsec.toml:1: outbound: must be a table ([outbound]), got integer"},
        BadCase{"[outbound]\nrelayhost = 25\n", "mxsec.toml:2: outbound.relayhost: must be a string, got integer"},
        BadCase{"[outbound]\nrelayhost = \"[relay.example\"\n",
                "mxsec.toml:2: outbound.relayhost: '[relay.example': no closing ']' " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[relay.example]:0\"\n",
                "mxsec.toml:2: outbound.relayhost: '[relay.example]:0': the port must be 1..65535 " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[relay.example]:65536\"\n",
                "mxsec.toml:2: outbound.relayhost: '[relay.example]:65536': the port must be 1..65535 " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[relay.example]587\"\n",
                "mxsec.toml:2: outbound.relayhost: '[relay.example]587': the port must be 1..65535 " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"relay.example:\"\n",
                "mxsec.toml:2: outbound.relayhost: 'relay.example:': the port must be 1..65535 " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[]:25\"\n",
                "mxsec.toml:2: outbound.relayhost: '[]:25': no host " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"192.0.2.25:25\"\n",
                "mxsec.toml:2: outbound.relayhost: '192.0.2.25:25': an IP address is written in brackets, as an "
                "address literal " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[2001:db8::25]\"\n",
                "mxsec.toml:2: outbound.relayhost: '[2001:db8::25]': an IPv6 literal is written [IPv6:ADDRESS] " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[IPv6:192.0.2.25]\"\n",
                "mxsec.toml:2: outbound.relayhost: '[IPv6:192.0.2.25]': not an IPv6 address " RELAY_EXPECTED},
        BadCase{"[outbound]\nrelayhost = \"[relay_1.example]\"\n",
                "mxsec.toml:2: outbound.relayhost: '[relay_1.example]': 'relay_1.example' is not a host name (labels "
                "of letters, digits and inner '-') " RELAY_EXPECTED},
        BadCase{"[outbound]\npolicy = 1\n",
                "mxsec.toml:2: outbound.policy: must be an array of tables ([[outbound.policy]]), got integer"},
        BadCase{"[[outbound.policy]]\ndomain = \"example.com\"\n", "mxsec.toml:1: outbound.policy[0].level: missing"},
        BadCase{"[[outbound.policy]]\nlevel = \"none\"\n", "mxsec.toml:1: outbound.policy[0].domain: missing"},
        BadCase{"[[outbound.policy]]\ndomain = \"example.com\"\nlevel = \"secure\"\n",
                "mxsec.toml:3: outbound.policy[0].level: must be one of \"none\", \"may\", \"encrypt\", \"verify\", "
                "\"dane-only\", got 'secure'"},
        BadCase{"[[outbound.policy]]\ndomain = \"example.com\"\nlevel = \"DANE-ONLY\"\n",
                "mxsec.toml:3: outbound.policy[0].level: must be one of \"none\", \"may\", \"encrypt\", \"verify\", "
                "\"dane-only\", got 'DANE-ONLY'"},
        BadCase{"[[outbound.policy]]\ndomain = \"exa mple.com\"\nlevel = \"none\"\n",
                "mxsec.toml:2: outbound.policy[0].domain: 'exa mple.com' is not a host name (labels of letters, "
                "digits and inner '-')"},
        BadCase{"[[outbound.policy]]\ndomain = \"a.example\"\nlevel = \"may\"\nport = 25\n",
                "mxsec.toml:4: outbound.policy[0].port: unknown key"},
        BadCase{"[[outbound.policy]]\ndomain = \"bücher.example\"\nlevel = \"verify\"\n"
                "[[outbound.policy]]\ndomain = \"XN--BCHER-KVA.example.\"\nlevel = \"none\"\n",
                "mxsec.toml:5: outbound.policy[1].domain: 'XN--BCHER-KVA.example.' is the same domain as "
                "outbound.policy[0]"},
        // ".example" (subdomains) and "example" are different entries; two ".example" are not.
        BadCase{"[[outbound.policy]]\ndomain = \".example.com\"\nlevel = \"verify\"\n"
                "[[outbound.policy]]\ndomain = \"example.com\"\nlevel = \"verify\"\n"
                "[[outbound.policy]]\ndomain = \".Example.com\"\nlevel = \"none\"\n",
                "mxsec.toml:8: outbound.policy[2].domain: '.Example.com' is the same domain as outbound.policy[0]"}));

#undef RELAY_EXPECTED

}  // namespace
}  // namespace mxsec::config
