// config/server_config.cpp: see server_config.hpp.
//
// The reader walks the parsed TOML document table by table. Every table is
// opened with the list of keys it may hold, so an unknown key is found
// before any value of that table is used. Problems are sticky: the first
// one is kept with its line and the walk goes on without checking after
// each call; parse_config() returns either that problem or the whole
// configuration, never a part of it.
#include "config/server_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "auth/ar/auth_results.hpp"
#include "codec/idna.hpp"
#include "core/file.hpp"
#include "core/strings.hpp"
#include "core/unique_fd.hpp"
#include "dns/unbound_resolver.hpp"

namespace mxsec::config {
namespace {

// --- names of enumerated values ---------------------------------------------

template <class E>
struct Name {
  const char* text;
  E value;
};

constexpr std::array<Name<ListenerKind>, 3> kListenerKinds{
    {{"smtp", ListenerKind::smtp}, {"submission", ListenerKind::submission}, {"smtps", ListenerKind::smtps}}};
constexpr std::array<Name<DmarcAction>, 3> kDmarcActions{
    {{"reject", DmarcAction::reject}, {"quarantine", DmarcAction::quarantine}, {"none", DmarcAction::none}}};
constexpr std::array<Name<QuarantineAction>, 2> kQuarantineActions{
    {{"header", QuarantineAction::header}, {"hold", QuarantineAction::hold}}};
constexpr std::array<Name<SpfFailAction>, 2> kSpfFailActions{
    {{"reject", SpfFailAction::reject}, {"tag", SpfFailAction::tag}}};
constexpr std::array<Name<SyncMethod>, 2> kSyncMethods{
    {{"syncfs", SyncMethod::syncfs}, {"fsync", SyncMethod::fsync}}};
constexpr std::array<Name<auth::dkim::Algorithm>, 2> kDkimAlgorithms{
    {{"rsa-sha256", auth::dkim::Algorithm::rsa_sha256}, {"ed25519-sha256", auth::dkim::Algorithm::ed25519_sha256}}};
constexpr std::array<Name<LogConfig::Format>, 2> kLogFormats{
    {{"text", LogConfig::Format::text}, {"json", LogConfig::Format::json}}};
// spdlog's level names (spdlog::level::from_str also takes "warning" and
// "err"; one spelling each keeps `config show` output stable). The level is
// kept as its name; the numbers only let choice() read it like the others.
constexpr std::array<Name<int>, 7> kLogLevels{
    {{"trace", 0}, {"debug", 1}, {"info", 2}, {"warn", 3}, {"error", 4}, {"critical", 5}, {"off", 6}}};

template <class E, std::size_t N>
const char* name_of(const std::array<Name<E>, N>& names, E value) {
  for (const auto& n : names)
    if (n.value == value) return n.text;
  return "?";
}

template <class E, std::size_t N>
std::string one_of(const std::array<Name<E>, N>& names) {
  std::string out = "must be one of ";
  for (std::size_t i = 0; i < N; ++i) out += (i ? ", \"" : "\"") + std::string(names[i].text) + "\"";
  return out;
}

// --- value parsers: text -> value, or the problem in words ------------------

Error problem(std::string text) { return make_error(Errc::parse, std::move(text)); }
std::string quoted(std::string_view text) { return "'" + escape_for_log(text, 80) + "'"; }

// A check from another module names the option first ("dns.timeout must
// be ..."); the file reader puts the name in front itself.
std::string without_name(const Error& e, std::string_view name) {
  std::string_view m = e.message;
  if (m.substr(0, name.size()) == name) m = trim(m.substr(name.size()));
  return std::string(m);
}

struct DomainName {
  std::string written;
  std::string ascii;
};

// A host or mail domain name: U-labels become A-labels (IDNA 2008), and the
// result must be LDH (RFC 1123 §2.1: letters, digits, hyphens; a label
// neither starts nor ends with '-'). "" is left to the caller.
Result<DomainName> parse_domain(std::string_view text) {
  auto ascii = codec::to_a_label_domain(text);
  if (!ascii) return problem(ascii.error().message);
  for (std::string_view label : split(*ascii, '.')) {
    const bool ldh = std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; });
    if (!ldh || label.front() == '-' || label.back() == '-' || label.size() > 63)
      return problem(quoted(text) + " is not a host name (labels of letters, digits and inner '-')");
  }
  return DomainName{std::string(text), std::move(*ascii)};
}

Result<DomainName> parse_hostname(std::string_view text) {
  if (text.empty()) return DomainName{};  // the machine's name, found by `serve`
  return parse_domain(text);
}

Result<std::string> parse_nonempty(std::string_view text) {
  if (text.empty()) return problem("must not be empty");
  return std::string(text);
}

Result<std::string> parse_any(std::string_view text) { return std::string(text); }

// POSIX portable user names (IEEE Std 1003.1, 3.437) plus the 32-octet
// limit of useradd; whether the user exists is for `serve` to find out.
Result<std::string> parse_user(std::string_view text) {
  if (text.empty()) return std::string();
  const bool portable = std::all_of(text.begin(), text.end(),
                                    [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
  if (!portable || text.front() == '-' || text.size() > 32)
    return problem(quoted(text) + " is not a user name (letters, digits, '.', '_', '-'; at most 32)");
  return std::string(text);
}

Result<std::string> parse_forwarder(std::string_view text) {
  if (auto a = dns::parse_server_address(text); !a) return problem(a.error().message);
  return std::string(text);
}

Result<std::string> parse_zone(std::string_view text) {
  if (text != "." && !is_valid_domain_name(text)) return problem(quoted(text) + " is not a domain name");
  return std::string(text);
}

// "ZONE=ADDR[:PORT]", split by the runtime's own rule so the CLI flag and
// the key agree; the zone and address are then checked as the resolver will.
Result<std::string> parse_stub_zone(std::string_view text) {
  runtime::DnsOptions one;
  one.stub_zones = {std::string(text)};
  const auto names = toml_option_names();
  auto split_zone = runtime::resolver_config(one, names);
  if (!split_zone) return problem(without_name(split_zone.error(), names.stub_zone));
  const auto& [zone, address] = split_zone->stub_zones.front();
  if (auto z = parse_zone(zone); !z) return z.error();
  if (auto a = dns::parse_server_address(address); !a) return problem(a.error().message);
  return std::string(text);
}

Result<Listener> parse_listen_address(std::string_view text) {
  auto a = parse_address_port(text);
  if (a && !a->port) a = make_error(Errc::invalid_argument, "no port");
  if (!a) return problem(quoted(text) + ": " + a.error().message + " (expected IP:PORT or [IPv6]:PORT)");
  Listener out;
  out.address = a->address;
  out.port = *a->port;
  return out;
}

// The network `n` lies in, its host bits cleared.
Network network_of(const Network& n) {
  std::array<std::uint8_t, 16> b{};
  std::copy_n(n.address.bytes(), n.address.size(), b.begin());
  for (std::size_t bit = n.prefix; bit < n.address.size() * 8; ++bit)
    b[bit / 8] = static_cast<std::uint8_t>(b[bit / 8] & ~(0x80u >> (bit % 8)));
  Network out = n;
  out.address = n.address.is_v4() ? IpAddress::v4({b[0], b[1], b[2], b[3]}) : IpAddress::v6(b);
  return out;
}

Result<Network> parse_relay_network(std::string_view text) {
  auto n = parse_network(text);
  if (!n) return problem(quoted(text) + " is not a network (expected ADDR/PREFIX or ADDR)");
  // "192.0.2.1/24" is a typo for a host or for the network; guessing which
  // could open the relay to 255 hosts, so neither is guessed.
  if (const Network net = network_of(*n); !(net.address == n->address))
    return problem(quoted(text) + " has host bits set (the network is " + net.text() + ")");
  return *n;
}

// %u = local part, %d = domain, %% = '%'; anything else after '%' is a typo.
Result<void> check_maildir_pattern(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    const char next = i + 1 < path.size() ? path[i + 1] : '\0';
    if (next != 'u' && next != 'd' && next != '%')
      return problem(quoted(path.substr(i, 2)) + " in the Maildir path: only %u, %d and %% are expanded");
    ++i;
  }
  return {};
}

Result<Delivery> parse_delivery(std::string_view text) {
  Delivery out;
  if (istarts_with(text, "maildir:")) {
    out.kind = Delivery::Kind::maildir;
    out.maildir = std::string(text.substr(8));
    if (out.maildir.empty()) return problem("empty Maildir path");
    if (auto ok = check_maildir_pattern(out.maildir); !ok) return ok.error();
    return out;
  }
  if (istarts_with(text, "lmtp:")) {
    out.kind = Delivery::Kind::lmtp;
    auto a = parse_address_port(text.substr(5));
    if (!a)
      return problem(quoted(text) + ": " + a.error().message + " (expected lmtp:IP[:PORT] or lmtp:[IPv6][:PORT])");
    out.lmtp_address = a->address;
    out.lmtp_port = a->port.value_or(out.lmtp_port);
    return out;
  }
  return problem("must be \"maildir:PATH\" or \"lmtp:HOST:PORT\", got " + quoted(text));
}

// The Maildir pattern of a domain with its own name put in, or "" for LMTP.
// Two domains with the same result would mix their users' mail.
std::string maildir_of(const LocalDomain& d) {
  if (d.delivery.kind != Delivery::Kind::maildir) return {};
  std::string out;
  const std::string& p = d.delivery.maildir;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%' && i + 1 < p.size() && p[i + 1] == 'd') {
      out += d.name_ascii;
      ++i;
    } else if (p[i] == '%' && i + 1 < p.size()) {
      out += p.substr(i, 2);  // %u and %% stay as they are
      ++i;
    } else {
      out += p[i];
    }
  }
  return out;
}

// --- queue durations ------------------------------------------------------------

// The units of a queue duration, largest first (render picks the largest
// that divides the value exactly).
constexpr std::array<std::pair<char, std::int64_t>, 4> kDurationUnits{
    {{'d', 24 * 3600}, {'h', 3600}, {'m', 60}, {'s', 1}}};

// "5d", "4h", "5m", "4000s"; "0" for zero.
std::string duration_text(std::chrono::seconds d) {
  if (d.count() == 0) return "0";
  for (const auto& [unit, seconds] : kDurationUnits)
    if (d.count() % seconds == 0) return std::to_string(d.count() / seconds) + unit;
  return std::to_string(d.count()) + "s";  // unreachable: the last unit divides everything
}

// Digits with at most one unit suffix: "300", "90s", "30m", "4h", "5d".
Result<std::chrono::seconds> parse_duration_text(std::string_view text) {
  std::string_view digits = text;
  std::int64_t scale = 1;
  if (!text.empty())
    for (const auto& [unit, seconds] : kDurationUnits)
      if (text.back() == unit) {
        digits = text.substr(0, text.size() - 1);
        scale = seconds;
      }
  // Nine digits of days is far past every range below, and cannot overflow.
  const auto n = digits.size() <= 9 ? parse_uint(digits) : std::nullopt;
  if (!n) return problem(quoted(text) + " is not a duration (seconds, or a number with s, m, h or d: \"5d\")");
  return std::chrono::seconds(static_cast<std::int64_t>(*n) * scale);
}

// --- [outbound] values ------------------------------------------------------------

constexpr std::array<Name<bool>, 2> kSwitches{{{"on", true}, {"off", false}}};
// [outbound] downgrade_8bit (OutboundConfig::downgrade_8bit_bounce).
constexpr std::array<Name<bool>, 2> kDowngrade8bit{{{"convert", false}, {"bounce", true}}};
constexpr std::array<Name<policy::DefaultTls>, 2> kDefaultTls{
    {{"may", policy::DefaultTls::may}, {"encrypt", policy::DefaultTls::encrypt}}};
// The names of local_policy_file's levels (policy/engine/local_policy.hpp).
constexpr std::array<Name<policy::LocalLevel>, 5> kLocalLevels{{{"none", policy::LocalLevel::none},
                                                                {"may", policy::LocalLevel::may},
                                                                {"encrypt", policy::LocalLevel::encrypt},
                                                                {"verify", policy::LocalLevel::verify},
                                                                {"dane-only", policy::LocalLevel::dane_only}}};

// A per-domain policy's domain: a domain name, or ".domain" for every
// subdomain of it (as in local_policy_file); U-labels become A-labels.
Result<DomainName> parse_policy_domain(std::string_view text) {
  const bool subdomains = !text.empty() && text.front() == '.';
  auto name = parse_domain(subdomains ? text.substr(1) : text);
  if (!name) return name.error();
  return DomainName{std::string(text), (subdomains ? "." : "") + name->ascii};
}

// Postfix's relayhost syntax (see OutboundConfig); "" = no relay host.
Result<std::optional<policy::RelayHost>> parse_relayhost(std::string_view text) {
  if (text.empty()) return std::optional<policy::RelayHost>();
  const auto bad = [&](std::string_view why) {
    return problem(quoted(text) + ": " + std::string(why) +
                   " (expected \"[host]:port\", \"[192.0.2.1]:port\", \"[IPv6:2001:db8::1]:port\" or \"host:port\")");
  };
  policy::RelayHost relay;
  std::string_view host = text;
  std::string_view rest;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("no closing ']'");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
  } else {
    relay.mx_lookup = true;
    const auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      rest = text.substr(colon);
    }
    if (IpAddress::parse(host) || host.find(':') != std::string_view::npos)
      return bad("an IP address is written in brackets, as an address literal");
  }
  if (!rest.empty()) {
    const auto port = rest.front() == ':' ? parse_uint(rest.substr(1), 65535) : std::nullopt;
    if (!port || *port == 0) return bad("the port must be 1..65535");
    relay.port = static_cast<std::uint16_t>(*port);
  }
  if (host.empty()) return bad("no host");
  // RFC 5321 §4.1.3 address literals: "[192.0.2.1]", "[IPv6:2001:db8::1]".
  const bool v6_tag = istarts_with(host, "IPv6:");
  if (auto ip = IpAddress::parse(v6_tag ? host.substr(5) : host); ip && !relay.mx_lookup) {
    if (v6_tag != ip->is_v6()) return bad(v6_tag ? "not an IPv6 address" : "an IPv6 literal is written [IPv6:ADDRESS]");
    relay.address = *ip;
    relay.host = ip->to_string();
    return std::optional<policy::RelayHost>(std::move(relay));
  }
  if (v6_tag) return bad("not an IPv6 address");
  auto name = parse_domain(host);
  if (!name) return bad(name.error().message);
  relay.host = std::move(name->ascii);
  return std::optional<policy::RelayHost>(std::move(relay));
}

// The user name of the relay host's AUTH: RFC 4616 §2 authcid, 1 to
// limits::kSmtpAuthIdentityBytes octets of UTF-8; no control characters
// (LOGIN sends it base64-encoded, but a CR or LF is never part of a name).
Result<std::string> parse_relay_username(std::string_view text) {
  if (text.empty()) return std::string();
  const bool controls = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (controls || text.size() > limits::kSmtpAuthIdentityBytes)
    return problem("must be 1 to " + std::to_string(limits::kSmtpAuthIdentityBytes) +
                   " octets without control characters");
  return std::string(text);
}

// The password of the relay host's AUTH from `path`: the file must be a
// regular file readable by its owner only (checked on the descriptor that
// is read, so no swap between the check and the read), and hold one line
// of 1 to limits::kSmtpAuthPasswordBytes octets (a final LF or CRLF is not
// part of it). Messages name the file, never its content.
Result<std::shared_ptr<const SecretString>> load_relay_password(const std::string& path) {
  const std::string named = "relay host password file " + quoted(path);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return problem(errno_error(named, "open").message);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return problem(errno_error(named, "fstat").message);
  if (!S_ISREG(st.st_mode)) return problem(named + " is not a regular file");
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return problem(named + " is readable by its group or by others (mode " + mode +
                   "); make it readable by its owner only (chmod 600)");
  }
  auto bytes = read_fd_bounded(fd.get(), limits::kRelayPasswordFileBytes, named);
  if (!bytes) return problem(bytes.error().message);
  auto password = std::make_shared<SecretString>();
  password->text = std::move(*bytes);
  wipe_secret(*bytes);
  std::string& pw = password->text;
  if (!pw.empty() && pw.back() == '\n') pw.pop_back();
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) return problem(named + " is empty");
  if (pw.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
    return problem(named + " holds more than one line (or a NUL): the password is its one line");
  if (pw.size() > limits::kSmtpAuthPasswordBytes)
    return problem(named + ": the password is longer than " + std::to_string(limits::kSmtpAuthPasswordBytes) +
                   " octets");
  return std::shared_ptr<const SecretString>(std::move(password));
}

// --- the document walker ------------------------------------------------------

using Line = std::uint32_t;

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

Line line_of(const toml::node& n) { return n.source().begin.line; }

// The first problem of a document, and the line of every key read (for the
// checks of runtime::validate(), which name a key but know no lines).
class Problems {
 public:
  explicit Problems(std::string_view source) : source_(source) {}

  void add(Line line, std::string_view key, std::string_view what) {
    if (first_) return;
    first_ = make_error(Errc::parse, source_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " + std::string(what));
  }
  void add(const toml::node& at, std::string_view key, std::string_view what) { add(line_of(at), key, what); }
  // An error whose message starts with the name of a key read before
  // ("dns.timeout must be ..."), put at that key's line.
  void add_named(const Error& e) {
    for (const auto& [key, line] : lines_)
      if (e.message.rfind(key + " ", 0) == 0) return add(line, key, without_name(e, key));
    add(1, "(file)", e.message);
  }
  void seen(const std::string& key, const toml::node& n) { lines_.emplace(key, line_of(n)); }
  const std::optional<Error>& first() const { return first_; }

 private:
  std::string source_;
  std::optional<Error> first_;
  std::map<std::string, Line> lines_;
};

// One TOML table: its known keys, typed getters that leave the default in
// place when a key is absent, and the key path for messages.
class Table {
 public:
  // `t` null: the table is absent and every getter keeps the default.
  Table(Problems& p, const toml::table* t, std::string path, Line line, std::initializer_list<std::string_view> known)
      : p_(p), t_(t), path_(std::move(path)), line_(line) {
    if (!t_) return;
    for (const auto& [k, v] : *t_) {
      if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
      p_.add(v, key(k.str()), v.is_table() ? "unknown table" : "unknown key");
    }
  }

  std::string key(std::string_view k) const { return path_.empty() ? std::string(k) : path_ + "." + std::string(k); }
  Line line() const { return line_; }

  // A rule between keys broken: the problem is put at `k` (at the table
  // when `k` was not given, its default being what breaks the rule).
  void conflict(std::string_view k, const std::string& what) const {
    const toml::node* n = node(k);
    p_.add(n ? line_of(*n) : line_, key(k), what);
  }

  const toml::node* node(std::string_view k) const {
    if (!t_) return nullptr;
    const toml::node* n = t_->get(k);
    if (n) p_.seen(key(k), *n);
    return n;
  }

  // A key whose absence is an error (reported at the table's line).
  const toml::node* required(std::string_view k) const {
    const toml::node* n = node(k);
    if (!n) p_.add(line_, key(k), "missing");
    return n;
  }

  // A string run through `parse` (text -> Result<T>, the error being the problem).
  template <class T, class Parse>
  bool value(std::string_view k, T& out, Parse parse) const {
    const toml::node* n = node(k);
    return n && convert(*n, key(k), out, parse);
  }

  // An array of strings, each run through `parse`; it replaces the default.
  template <class T, class Parse>
  bool list(std::string_view k, std::vector<T>& out, Parse parse) const {
    const toml::node* n = node(k);
    if (!n) return false;
    const toml::array* a = n->as_array();
    if (!a) {
      type_problem(*n, key(k), "an array of strings");
      return false;
    }
    std::vector<T> items(a->size());
    for (std::size_t i = 0; i < a->size(); ++i)
      if (!convert(*a->get(i), key(k) + "[" + std::to_string(i) + "]", items[i], parse)) return false;
    out = std::move(items);
    return true;
  }

  void boolean(std::string_view k, bool& out) const {
    const toml::node* n = node(k);
    if (!n) return;
    if (auto v = n->value_exact<bool>()) {
      out = *v;
    } else {
      type_problem(*n, key(k), "a boolean (true or false)");
    }
  }

  template <class Int>
  void integer(std::string_view k, Int& out, std::int64_t min, std::int64_t max) const {
    const toml::node* n = node(k);
    if (!n) return;
    const auto v = n->value_exact<std::int64_t>();
    if (!v) return type_problem(*n, key(k), "an integer");
    if (*v < min || *v > max)
      return p_.add(*n, key(k),
                    "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(*v));
    out = static_cast<Int>(*v);
  }

  // Seconds, integer or float, checked by the runtime's own rule.
  void seconds(std::string_view k, std::chrono::milliseconds& out, double max_seconds) const {
    const toml::node* n = node(k);
    if (!n) return;
    if (!n->is_number()) return type_problem(*n, key(k), "a number of seconds");
    auto ms = runtime::seconds_option(*n->value<double>(), key(k), max_seconds);
    if (!ms) return p_.add(*n, key(k), without_name(ms.error(), key(k)));
    out = *ms;
  }

  // A queue duration: a number of seconds (integer, or a float without a
  // fraction) or a string parse_duration_text() reads; "" is 0 where
  // `empty_is_zero` (a feature turned off).
  void duration(std::string_view k, std::chrono::seconds& out, std::chrono::seconds min, std::chrono::seconds max,
                bool empty_is_zero) const {
    const toml::node* n = node(k);
    if (!n) return;
    Result<std::chrono::seconds> d = problem("");
    if (const auto text = n->value_exact<std::string>()) {
      d = text->empty() && empty_is_zero ? Result<std::chrono::seconds>(std::chrono::seconds(0))
                                          : parse_duration_text(*text);
    } else if (n->is_number()) {
      const double v = *n->value<double>();
      // The upper bound keeps the conversion defined; the range check below
      // gives the message.
      if (v != std::floor(v) || v < 0 || v > 1e12) return p_.add(*n, key(k), "must be a whole number of seconds");
      d = std::chrono::seconds(static_cast<std::int64_t>(v));
    } else {
      return type_problem(*n, key(k), "a duration (seconds, or a string such as \"5d\")");
    }
    if (!d) return p_.add(*n, key(k), d.error().message);
    if (*d < min || *d > max)
      return p_.add(*n, key(k),
                    "must be between " + duration_text(min) + " and " + duration_text(max) + ", got " + duration_text(*d));
    out = *d;
  }

  template <class E, std::size_t N>
  bool choice(std::string_view k, E& out, const std::array<Name<E>, N>& names) const {
    const toml::node* n = node(k);
    if (!n) return false;
    const auto v = n->value_exact<std::string>();
    if (!v) {
      type_problem(*n, key(k), "a string");
      return false;
    }
    for (const auto& name : names) {
      if (*v != name.text) continue;
      out = name.value;
      return true;
    }
    p_.add(*n, key(k), one_of(names) + ", got " + quoted(*v));
    return false;
  }

  // A sub-table ([dns], or an inline table); absent gives an empty reader.
  Table table(std::string_view k, std::initializer_list<std::string_view> known) const {
    const toml::node* n = node(k);
    const toml::table* t = n ? n->as_table() : nullptr;
    if (n && !t) type_problem(*n, key(k), "a table ([" + key(k) + "])");
    return Table(p_, t, key(k), n ? line_of(*n) : line_, known);
  }

  // An array of tables ([[listener]]): `each(Table&, index)` per element.
  // False when the key is absent, so the caller keeps its defaults.
  template <class Each>
  bool tables(std::string_view k, std::initializer_list<std::string_view> known, Each each) const {
    const toml::node* n = node(k);
    if (!n) return false;
    const toml::array* a = n->as_array();
    if (!a) {
      type_problem(*n, key(k), "an array of tables ([[" + key(k) + "]])");
      return false;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const std::string path = key(k) + "[" + std::to_string(i) + "]";
      if (!e.is_table()) {
        type_problem(e, path, "a table");
        return false;
      }
      Table element(p_, e.as_table(), path, line_of(e), known);
      each(element, i);
    }
    return true;
  }

  Problems& problems() const { return p_; }

 private:
  void type_problem(const toml::node& n, const std::string& key, const std::string& wanted) const {
    p_.add(n, key, "must be " + wanted + ", got " + type_name(n.type()));
  }

  template <class T, class Parse>
  bool convert(const toml::node& n, const std::string& key, T& out, Parse parse) const {
    const auto text = n.value_exact<std::string>();
    if (!text) {
      type_problem(n, key, "a string");
      return false;
    }
    // TOML allows "\u0000"; a path or name cut short at it by the C library
    // would be a different one than the file says.
    auto v = text->find('\0') == std::string::npos ? parse(*text) : problem("must not contain a NUL character");
    if (!v) {
      p_.add(n, key, v.error().message);
      return false;
    }
    out = std::move(*v);
    return true;
  }

  Problems& p_;
  const toml::table* t_;
  std::string path_;
  Line line_;
};

// --- the sections ---------------------------------------------------------------

void read_top(const Table& root, ServerConfig& c) {
  DomainName host{c.hostname, c.hostname_ascii};
  if (root.value("hostname", host, parse_hostname)) {
    c.hostname = host.written;
    c.hostname_ascii = host.ascii;
  }
  root.value("spool_dir", c.spool_dir, parse_nonempty);
  root.value("user", c.user, parse_user);
  root.integer("threads", c.threads, 0, 256);
}

void read_dns(const Table& root, runtime::RuntimeOptions& o) {
  const Table dns = root.table("dns", {"forwarders", "trust_anchors", "private_zones", "stub_zones", "timeout", "cache"});
  dns.list("forwarders", o.dns.forwarders, parse_forwarder);
  dns.list("trust_anchors", o.dns.trust_anchor_files, parse_nonempty);
  dns.list("private_zones", o.dns.private_zones, parse_zone);
  dns.list("stub_zones", o.dns.stub_zones, parse_stub_zone);
  dns.seconds("timeout", o.dns.timeout, 600);
  dns.boolean("cache", o.dns.cache);
}

void read_tls(const Table& root, ServerConfig& c) {
  const Table tls = root.table("tls", {"certificate", "key", "ca_file"});
  tls.value("certificate", c.tls.certificate, parse_any);
  tls.value("key", c.tls.key, parse_any);
  tls.value("ca_file", c.runtime.tls.ca_file, parse_any);
  if (c.tls.certificate.empty() != c.tls.key.empty())
    tls.problems().add(tls.line(), tls.key(c.tls.key.empty() ? "key" : "certificate"),
                       c.tls.key.empty() ? "missing (tls.certificate is set)" : "missing (tls.key is set)");
}

void read_mta_sts_and_policy(const Table& root, runtime::RuntimeOptions& o) {
  const Table sts = root.table("mta_sts", {"enabled", "cache_file", "fetch_timeout"});
  sts.boolean("enabled", o.mta_sts.enabled);
  sts.value("cache_file", o.mta_sts.cache_file, parse_any);
  sts.seconds("fetch_timeout", o.mta_sts.fetch_timeout, 600);
  const Table policy = root.table("policy", {"local_policy_file"});
  policy.value("local_policy_file", o.policy.local_policy_file, parse_any);
}

// relayhost_username and relayhost_password_file: both or neither, only
// with a relay host; the password file is read now.
void read_relay_credentials(const Table& t, OutboundConfig& out) {
  t.value("relayhost_username", out.relayhost_username, parse_relay_username);
  t.value("relayhost_password_file", out.relayhost_password_file, parse_any);
  const bool user = !out.relayhost_username.empty();
  const bool file = !out.relayhost_password_file.empty();
  if (!user && !file) return;
  if (user != file) {
    const char* given = user ? "relayhost_username" : "relayhost_password_file";
    const char* missing = user ? "relayhost_password_file" : "relayhost_username";
    return t.problems().add(*t.node(given), t.key(missing),
                            std::string("missing (outbound.") + given + " is set; give both or neither)");
  }
  if (!out.relay)
    return t.problems().add(*t.node("relayhost_username"), t.key("relayhost_username"),
                            "needs outbound.relayhost (credentials are sent only to a relay host)");
  auto password = load_relay_password(out.relayhost_password_file);
  if (!password) return t.problems().add(*t.node("relayhost_password_file"), t.key("relayhost_password_file"),
                                         password.error().message);
  out.relayhost_password = std::move(*password);
}

// [outbound]'s connection reuse and concurrency limits. The session's own
// deadline (limits::kSmtpClientSessionTimeout, 30 minutes) bounds
// connection_max_age from above, with room for the last message.
void read_outbound_connections(const Table& t, OutboundConfig& o) {
  using std::chrono::seconds;
  t.duration("connection_cache_time", o.connection_cache_time, seconds(0), seconds(300), true);
  t.integer("connection_reuse_limit", o.connection_reuse_limit, 1, 100000);
  t.duration("connection_max_age", o.connection_max_age, seconds(1), seconds(1200), false);
  t.integer("destination_concurrency", o.destination_concurrency, 1, 10000);
  t.integer("max_connections", o.max_connections, 1, 100000);
  if (o.destination_concurrency > o.max_connections)
    t.conflict("destination_concurrency",
               "must not exceed outbound.max_connections (" + std::to_string(o.max_connections) + ")");
}

// [outbound] and its [[outbound.policy]] tables.
void read_outbound(const Table& root, ServerConfig& c) {
  runtime::RuntimeOptions& o = c.runtime;
  const Table t = root.table("outbound", {"dane", "mta_sts", "default_tls", "relayhost", "relayhost_username",
                                          "relayhost_password_file", "downgrade_8bit", "connection_cache_time",
                                          "connection_reuse_limit", "connection_max_age", "destination_concurrency",
                                          "max_connections", "policy"});
  t.choice("dane", o.outbound.dane, kSwitches);
  // `mta_sts.enabled` (read before) is the older name of this switch; both
  // may be given only when they agree.
  const bool enabled_before = o.mta_sts.enabled;
  if (t.choice("mta_sts", o.mta_sts.enabled, kSwitches)) {
    const toml::node* sts = root.node("mta_sts");
    const toml::table* sts_table = sts ? sts->as_table() : nullptr;
    const toml::node* enabled = sts_table ? sts_table->get("enabled") : nullptr;
    if (enabled && enabled->is_boolean() && enabled_before != o.mta_sts.enabled)
      t.problems().add(*t.node("mta_sts"), t.key("mta_sts"),
                       std::string("\"") + name_of(kSwitches, o.mta_sts.enabled) + "\" contradicts mta_sts.enabled = " +
                           (enabled_before ? "true" : "false") + " (line " + std::to_string(line_of(*enabled)) +
                           "); give one of them");
  }
  t.choice("default_tls", o.outbound.default_tls, kDefaultTls);
  std::optional<policy::RelayHost> relay;
  if (t.value("relayhost", relay, parse_relayhost)) {
    c.outbound.relayhost = *t.node("relayhost")->value<std::string>();
    c.outbound.relay = std::move(relay);
  }
  read_relay_credentials(t, c.outbound);
  t.choice("downgrade_8bit", c.outbound.downgrade_8bit_bounce, kDowngrade8bit);
  read_outbound_connections(t, c.outbound);
  std::vector<runtime::DomainPolicy> policies;
  const bool given = t.tables("policy", {"domain", "level"}, [&](const Table& p, std::size_t) {
    runtime::DomainPolicy entry;
    DomainName name;
    const toml::node* domain_node = p.required("domain");
    p.required("level");
    if (!p.value("domain", name, parse_policy_domain) || !p.choice("level", entry.level, kLocalLevels)) return;
    entry.domain = name.written;
    entry.domain_ascii = name.ascii;
    for (std::size_t i = 0; i < policies.size(); ++i)
      if (policies[i].domain_ascii == entry.domain_ascii)
        p.problems().add(*domain_node, p.key("domain"),
                         quoted(entry.domain) + " is the same domain as " + t.key("policy") + "[" + std::to_string(i) + "]");
    policies.push_back(std::move(entry));
  });
  if (given) o.outbound.domain_policies = std::move(policies);
}

// Where each listening address is used, to refuse a second use.
using Bound = std::vector<std::pair<Listener, std::string>>;

std::optional<std::string> already_bound(const Bound& bound, const Listener& l) {
  for (const auto& [other, key] : bound)
    if (other.address == l.address && other.port == l.port) return key;
  return std::nullopt;
}

void read_listeners(const Table& root, ServerConfig& c, Bound& bound) {
  std::vector<Listener> listeners;
  const bool given = root.tables("listener", {"address", "kind"}, [&](const Table& t, std::size_t) {
    Listener l;
    const toml::node* address = t.required("address");
    if (!t.value("address", l, parse_listen_address)) return;
    const toml::node* kind = t.node("kind");
    if (t.choice("kind", l.kind, kListenerKinds) && l.kind != ListenerKind::smtp && c.tls.certificate.empty())
      t.problems().add(*kind, t.key("kind"),
                       std::string("a ") + to_string(l.kind) + " listener needs tls.certificate and tls.key");
    if (auto other = already_bound(bound, l))
      t.problems().add(*address, t.key("address"), l.text() + " is already used by " + *other);
    bound.emplace_back(l, t.key("address"));
    listeners.push_back(l);
  });
  if (!given) {
    for (const auto& l : c.listeners) bound.emplace_back(l, "the default listener");
    return;
  }
  if (listeners.empty()) root.problems().add(*root.node("listener"), "listener", "at least one [[listener]] is needed");
  c.listeners = std::move(listeners);
}

void read_relay(const Table& root, RelayConfig& relay) {
  const Table t = root.table("relay", {"networks", "users_file"});
  t.list("networks", relay.networks, parse_relay_network);
  t.value("users_file", relay.users_file, parse_any);
}

void read_domains(const Table& root, ServerConfig& c) {
  std::vector<LocalDomain> domains;
  std::vector<std::string> maildirs;
  const bool given = root.tables("domain", {"name", "delivery"}, [&](const Table& t, std::size_t) {
    LocalDomain d;
    DomainName name;
    const toml::node* name_node = t.required("name");
    const toml::node* delivery_node = t.required("delivery");
    if (!t.value("name", name, parse_domain) || !t.value("delivery", d.delivery, parse_delivery)) return;
    d.name = name.written;
    d.name_ascii = name.ascii;
    for (std::size_t i = 0; i < domains.size(); ++i) {
      const std::string other = "domain[" + std::to_string(i) + "]";
      if (domains[i].name_ascii == d.name_ascii)
        t.problems().add(*name_node, t.key("name"), quoted(d.name) + " is the same domain as " + other);
      if (!maildirs[i].empty() && maildirs[i] == maildir_of(d))
        t.problems().add(*delivery_node, t.key("delivery"), "would share its Maildirs with " + other + " (put %d in the path)");
    }
    maildirs.push_back(maildir_of(d));
    domains.push_back(std::move(d));
  });
  if (given) {
    c.domains = std::move(domains);
  } else {
    // The default domain follows spool_dir (see the header); a '%' in the
    // spool path is written "%%" so it is not read as a pattern.
    std::string spool;
    for (char ch : c.spool_dir) spool += ch == '%' ? "%%" : std::string(1, ch);
    if (spool.size() > 1 && spool.back() == '/') spool.pop_back();
    c.domains.front().delivery.maildir = spool + "/maildir/%d/%u";
  }
}

void read_inbound(const Table& root, InboundConfig& in) {
  const Table t = root.table("inbound", {"verify", "authserv_id", "dmarc_reject", "quarantine", "spf_fail"});
  t.boolean("verify", in.verify);
  // RFC 8601 §2.2: authserv-id is a value (RFC 2045 token or quoted-string);
  // a token, such as a host name, is what other MTAs compare and strip.
  t.value("authserv_id", in.authserv_id, [](std::string_view text) -> Result<std::string> {
    if (!text.empty() && !auth::ar::is_token(text))
      return problem(quoted(text) + " is not an RFC 2045 token (a host name is usual)");
    return std::string(text);
  });
  t.choice("dmarc_reject", in.dmarc_reject, kDmarcActions);
  t.choice("quarantine", in.quarantine, kQuarantineActions);
  t.choice("spf_fail", in.spf_fail, kSpfFailActions);
}

void read_limits(const Table& root, ServerLimits& l) {
  const Table t = root.table("limits", {"line_bytes", "commands_per_session", "bad_commands", "recipients", "message_bytes",
                                        "session_time", "command_timeout", "min_data_rate", "max_sessions",
                                        "max_sessions_per_client", "auth_failures"});
  // RFC 5321 §4.5.3.1.6: a text line is up to 1000 octets with its CRLF, so
  // no smaller line limit can carry every conforming message.
  t.integer("line_bytes", l.line_bytes, 1000, 64 * 1024);
  t.integer("commands_per_session", l.commands_per_session, 10, 1000000);
  t.integer("bad_commands", l.bad_commands, 1, 1000);
  // RFC 5321 §4.5.3.1.8: "The minimum total number of recipients that MUST
  // be buffered is 100 recipients."
  t.integer("recipients", l.recipients, 100, 100000);
  // RFC 5321 §4.5.3.1.7: the message size limit "MUST BE at least 64K
  // octets". The upper bound is what the message parser of inbound
  // verification takes (core/limits.hpp), so an accepted message can be checked.
  t.integer("message_bytes", l.message_bytes, 64 * 1024, static_cast<std::int64_t>(limits::kMessageBytes));
  t.seconds("session_time", l.session_time, 24 * 3600);
  t.seconds("command_timeout", l.command_timeout, 3600);
  t.integer("min_data_rate", l.min_data_rate, 1, 1000 * 1000 * 1000);
  t.integer("max_sessions", l.max_sessions, 1, 1000000);
  t.integer("max_sessions_per_client", l.max_sessions_per_client, 1, 1000000);
  t.integer("auth_failures", l.auth_failures, 1, 100);
  if (l.max_sessions_per_client > l.max_sessions)
    t.conflict("max_sessions_per_client", "must not exceed limits.max_sessions (" + std::to_string(l.max_sessions) + ")");
}

void read_queue(const Table& root, QueueConfig& q) {
  using std::chrono::seconds;
  constexpr seconds kDay{24 * 3600};
  const Table t = root.table("queue", {"max_lifetime", "delay_warning", "min_backoff", "max_backoff", "sync",
                                       "delivery_threads"});
  t.duration("max_lifetime", q.max_lifetime, seconds(0), 365 * kDay, false);
  t.duration("delay_warning", q.delay_warning, seconds(0), 365 * kDay, true);
  t.duration("min_backoff", q.min_backoff, seconds(1), kDay, false);
  t.duration("max_backoff", q.max_backoff, seconds(1), kDay, false);
  t.choice("sync", q.sync, kSyncMethods);
  t.integer("delivery_threads", q.delivery_threads, 1, 256);
  if (q.max_backoff < q.min_backoff)
    t.conflict("max_backoff", "must not be less than queue.min_backoff (" + duration_text(q.min_backoff) + ")");
}

void read_metrics_and_log(const Table& root, ServerConfig& c, const Bound& bound) {
  const Table metrics = root.table("metrics", {"address"});
  std::optional<Listener> address = c.metrics.address;
  if (metrics.value("address", address, [](std::string_view text) -> Result<std::optional<Listener>> {
        if (text.empty()) return std::optional<Listener>();
        auto l = parse_listen_address(text);
        if (!l) return l.error();
        return std::optional<Listener>(*l);
      })) {
    if (address)
      if (auto other = already_bound(bound, *address))
        metrics.problems().add(*metrics.node("address"), metrics.key("address"),
                               address->text() + " is already used by " + *other);
    c.metrics.address = address;
  }
  const Table log = root.table("log", {"format", "level"});
  log.choice("format", c.log.format, kLogFormats);
  int level = 0;
  if (log.choice("level", level, kLogLevels)) c.log.level = name_of(kLogLevels, level);
}

void read_reports(const Table& root, ServerConfig& c) {
  const Table t = root.table("reports", {"tlsrpt_db"});
  // Like the default domain's Maildir, the default follows spool_dir.
  if (!t.value("tlsrpt_db", c.reports.tlsrpt_db, parse_nonempty)) {
    std::string spool = c.spool_dir;
    if (spool.size() > 1 && spool.back() == '/') spool.pop_back();
    c.reports.tlsrpt_db = spool + "/reports/tlsrpt.sqlite";
  }
}

// The private key of one [[dkim]] entry, read and parsed now (see the
// header).
Result<auth::dkim::Signer> load_dkim_signer(const DkimKey& k) {
  auto bytes = read_file_bounded(k.key_file, limits::kDkimKeyFileBytes, "DKIM key file");
  if (!bytes) return problem(bytes.error().message);
  auth::dkim::SignerConfig sc;
  sc.domain = k.domain_ascii;
  sc.selector = k.selector;
  // The Signer checks what `mxsec dkim sign` checks: RSA of at least
  // limits::kDkimMinRsaBits (RFC 8301 §3.2), RSA or Ed25519 only.
  auto signer = auth::dkim::Signer::from_key_bytes(*bytes, std::move(sc));
  wipe_secret(*bytes);
  if (!signer) return problem("DKIM key file " + k.key_file + ": " + signer.error().message);
  return signer;
}

void read_dkim(const Table& root, ServerConfig& c) {
  std::vector<DkimKey> keys;
  root.tables("dkim", {"domain", "selector", "key", "algorithm"}, [&](const Table& t, std::size_t) {
    DkimKey k;
    DomainName domain;
    DomainName selector;
    t.required("domain");
    const toml::node* selector_node = t.required("selector");
    const toml::node* key_node = t.required("key");
    // RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ), LDH labels
    // as for a domain; RFC 8616 §4 lets a selector be written in U-labels,
    // signed as A-labels.
    if (!t.value("domain", domain, parse_domain) || !t.value("selector", selector, parse_domain) ||
        !t.value("key", k.key_file, parse_nonempty))
      return;
    k.domain = domain.written;
    k.domain_ascii = domain.ascii;
    k.selector = selector.ascii;
    std::optional<auth::dkim::Algorithm> wanted;
    if (t.node("algorithm")) {
      auth::dkim::Algorithm given{};
      if (!t.choice("algorithm", given, kDkimAlgorithms)) return;
      wanted = given;
    }
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i].domain_ascii == k.domain_ascii && keys[i].selector == k.selector)
        return t.problems().add(*selector_node, t.key("selector"),
                                quoted(selector.written) + " of " + quoted(domain.written) + " is already used by dkim[" +
                                    std::to_string(i) + "]");
    auto signer = load_dkim_signer(k);
    if (!signer) return t.problems().add(*key_node, t.key("key"), signer.error().message);
    if (wanted && *wanted != signer->algorithm())
      return t.problems().add(*t.node("algorithm"), t.key("algorithm"),
                              std::string("is \"") + name_of(kDkimAlgorithms, *wanted) + "\" but " + quoted(k.key_file) +
                                  " holds an " + auth::dkim::to_string(signer->key_type()) + " key (" +
                                  name_of(kDkimAlgorithms, signer->algorithm()) + ")");
    k.algorithm = signer->algorithm();
    k.signer = std::make_shared<const auth::dkim::Signer>(std::move(*signer));
    keys.push_back(std::move(k));
  });
  c.dkim = std::move(keys);
}

void read_document(const toml::table& doc, Problems& p, ServerConfig& c) {
  const Table root(p, &doc, "", 1,
                   {"hostname", "spool_dir", "user", "threads", "dns", "tls", "mta_sts", "policy", "outbound", "listener",
                    "relay", "domain", "inbound", "limits", "queue", "metrics", "log", "reports", "dkim"});
  read_top(root, c);
  read_dns(root, c.runtime);
  read_tls(root, c);
  read_mta_sts_and_policy(root, c.runtime);
  read_outbound(root, c);
  Bound bound;
  read_listeners(root, c, bound);
  read_relay(root, c.relay);
  read_domains(root, c);
  read_inbound(root, c.inbound);
  read_limits(root, c.limits);
  read_queue(root, c.queue);
  read_metrics_and_log(root, c, bound);
  read_reports(root, c);
  read_dkim(root, c);
  // The same check as the CLI flags get; the values were range-checked
  // above, so this only repeats it in the runtime's words (a guard for
  // checks added there later).
  if (auto ok = runtime::validate(c.runtime, toml_option_names()); !ok) p.add_named(ok.error());
}

// --- rendering --------------------------------------------------------------------

// A TOML basic string ("..."), escaped by toml++ itself; UTF-8 (U-labels)
// stays readable. Literal strings ('...'), toml++'s default where they
// fit, are left out so every string of the output looks the same.
std::string toml_string(std::string_view s) {
  std::ostringstream out;
  const toml::value<std::string> v{std::string(s)};
  out << toml::toml_formatter(v, toml::format_flags::allow_unicode_strings);
  return out.str();
}

std::string toml_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i]);
  return out + "]";
}

// Whole milliseconds as exact decimal seconds: 5000 -> "5.0", 1001 -> "1.001".
std::string toml_seconds(std::chrono::milliseconds ms) {
  std::string frac = std::to_string(ms.count() % 1000);
  frac.insert(0, 3 - frac.size(), '0');
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return std::to_string(ms.count() / 1000) + "." + frac;
}

const char* toml_bool(bool b) { return b ? "true" : "false"; }

// [outbound]; its [[outbound.policy]] tables come with the other arrays of
// tables at the end (render_outbound_policies).
void render_outbound(std::ostream& o, const ServerConfig& c) {
  const auto& r = c.runtime;
  o << "\n[outbound]\n"
    << "dane = " << toml_string(name_of(kSwitches, r.outbound.dane)) << "\n"
    << "mta_sts = " << toml_string(name_of(kSwitches, r.mta_sts.enabled)) << "\n"
    << "default_tls = " << toml_string(name_of(kDefaultTls, r.outbound.default_tls)) << "\n"
    << "relayhost = " << toml_string(c.outbound.relayhost) << "\n"
    << "relayhost_username = " << toml_string(c.outbound.relayhost_username) << "\n"
    << "relayhost_password_file = " << toml_string(c.outbound.relayhost_password_file) << "\n"
    << "downgrade_8bit = " << toml_string(name_of(kDowngrade8bit, c.outbound.downgrade_8bit_bounce)) << "\n"
    << "connection_cache_time = "
    << toml_string(c.outbound.connection_cache_time.count() ? duration_text(c.outbound.connection_cache_time) : "")
    << "\n"
    << "connection_reuse_limit = " << c.outbound.connection_reuse_limit << "\n"
    << "connection_max_age = " << toml_string(duration_text(c.outbound.connection_max_age)) << "\n"
    << "destination_concurrency = " << c.outbound.destination_concurrency << "\n"
    << "max_connections = " << c.outbound.max_connections << "\n";
  if (r.outbound.domain_policies.empty()) o << "policy = []\n";
}

void render_outbound_policies(std::ostream& o, const ServerConfig& c) {
  for (const auto& p : c.runtime.outbound.domain_policies)
    o << "\n[[outbound.policy]]\n"
      << "domain = " << toml_string(p.domain) << "\n"
      << "level = " << toml_string(name_of(kLocalLevels, p.level)) << "\n";
}

}  // namespace

// --- public API -------------------------------------------------------------------------

const char* to_string(ListenerKind k) { return name_of(kListenerKinds, k); }
const char* to_string(DmarcAction a) { return name_of(kDmarcActions, a); }
const char* to_string(SpfFailAction a) { return name_of(kSpfFailActions, a); }
const char* to_string(QuarantineAction a) { return name_of(kQuarantineActions, a); }
const char* to_string(LogConfig::Format f) { return name_of(kLogFormats, f); }

std::string Listener::text() const {
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(port);
}

bool Network::contains(const IpAddress& ip) const {
  return (address.is_v4() ? ip.unmapped() : ip).in_network(address, prefix);
}

std::string Network::text() const { return address.to_string() + "/" + std::to_string(prefix); }

std::optional<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  Network n;
  n.address = *ip;
  n.prefix = ip->is_v4() ? 32 : 128;
  if (slash != std::string_view::npos) {
    const auto prefix = parse_uint(text.substr(slash + 1), n.prefix);
    if (!prefix) return std::nullopt;
    n.prefix = static_cast<unsigned>(*prefix);
  }
  return n;
}

std::string Delivery::text() const {
  if (kind == Kind::maildir) return "maildir:" + maildir;
  return "lmtp:" + Listener{lmtp_address, lmtp_port, ListenerKind::smtp}.text();
}

runtime::OptionNames toml_option_names() { return {"dns.timeout", "dns.stub_zones", "mta_sts.fetch_timeout"}; }

ServerConfig default_config() {
  ServerConfig c;
  c.source = "(defaults)";
  c.listeners.push_back(Listener{*IpAddress::parse("127.0.0.1"), 2525, ListenerKind::smtp});
  c.relay.networks = {*parse_network("127.0.0.1/32"), *parse_network("::1/128")};
  LocalDomain localhost;
  localhost.name = localhost.name_ascii = "localhost";
  localhost.delivery.kind = Delivery::Kind::maildir;
  localhost.delivery.maildir = "./mxsec-data/maildir/%d/%u";
  c.domains.push_back(std::move(localhost));
  return c;
}

Result<ServerConfig> parse_config(std::string_view toml_text, std::string_view source_name) {
  const std::string source(source_name);
  if (toml_text.size() > kConfigFileBytes)
    return make_error(Errc::limit, source + ": larger than " + std::to_string(kConfigFileBytes) + " bytes");
  toml::table doc;
  // toml++ as Debian builds it reports syntax errors by exception; they end here.
  try {
    doc = toml::parse(toml_text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    // toml++ writes control characters it quotes from the input escaped
    // ("saw '\n'"), so the description is passed on as it is.
    return make_error(Errc::parse, source + ":" + std::to_string(e.source().begin.line) + ":" +
                                       std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  Problems problems(source);
  ServerConfig config = default_config();
  config.source = source;
  read_document(doc, problems, config);
  if (problems.first()) return *problems.first();
  return config;
}

Result<ServerConfig> load_config(const std::string& path) {
  auto text = read_file_bounded(path, kConfigFileBytes, "configuration file");
  if (!text) return text.error();
  return parse_config(*text, path);
}

std::string render_config(const ServerConfig& c) {
  std::ostringstream o;
  o << "# mxsec configuration: every key with its effective value (mxsec config show).\n"
    << "# Source: " << escape_for_log(c.source) << "\n\n"
    << "hostname = " << toml_string(c.hostname) << "\n"
    << "spool_dir = " << toml_string(c.spool_dir) << "\n"
    << "user = " << toml_string(c.user) << "\n"
    << "threads = " << c.threads << "\n";
  // An empty array of tables has no [[...]] form; it must come before the
  // first table header to be a top-level key.
  if (c.listeners.empty()) o << "listener = []\n";
  if (c.domains.empty()) o << "domain = []\n";

  const auto& r = c.runtime;
  o << "\n[dns]\n"
    << "forwarders = " << toml_strings(r.dns.forwarders) << "\n"
    << "trust_anchors = " << toml_strings(r.dns.trust_anchor_files) << "\n"
    << "private_zones = " << toml_strings(r.dns.private_zones) << "\n"
    << "stub_zones = " << toml_strings(r.dns.stub_zones) << "\n"
    << "timeout = " << toml_seconds(r.dns.timeout) << "\n"
    << "cache = " << toml_bool(r.dns.cache) << "\n"
    << "\n[tls]\n"
    << "certificate = " << toml_string(c.tls.certificate) << "\n"
    << "key = " << toml_string(c.tls.key) << "\n"
    << "ca_file = " << toml_string(r.tls.ca_file) << "\n"
    << "\n[mta_sts]\n"
    << "enabled = " << toml_bool(r.mta_sts.enabled) << "\n"
    << "cache_file = " << toml_string(r.mta_sts.cache_file) << "\n"
    << "fetch_timeout = " << toml_seconds(r.mta_sts.fetch_timeout) << "\n"
    << "\n[policy]\n"
    << "local_policy_file = " << toml_string(r.policy.local_policy_file) << "\n";
  render_outbound(o, c);

  std::vector<std::string> networks;
  for (const auto& n : c.relay.networks) networks.push_back(n.text());
  o << "\n[relay]\n"
    << "networks = " << toml_strings(networks) << "\n"
    << "users_file = " << toml_string(c.relay.users_file) << "\n";

  const auto& in = c.inbound;
  o << "\n[inbound]\n"
    << "verify = " << toml_bool(in.verify) << "\n"
    << "authserv_id = " << toml_string(in.authserv_id) << "\n"
    << "dmarc_reject = " << toml_string(to_string(in.dmarc_reject)) << "\n"
    << "quarantine = " << toml_string(to_string(in.quarantine)) << "\n"
    << "spf_fail = " << toml_string(to_string(in.spf_fail)) << "\n";

  const auto& l = c.limits;
  o << "\n[limits]\n"
    << "line_bytes = " << l.line_bytes << "\n"
    << "commands_per_session = " << l.commands_per_session << "\n"
    << "bad_commands = " << l.bad_commands << "\n"
    << "recipients = " << l.recipients << "\n"
    << "message_bytes = " << l.message_bytes << "\n"
    << "session_time = " << toml_seconds(l.session_time) << "\n"
    << "command_timeout = " << toml_seconds(l.command_timeout) << "\n"
    << "min_data_rate = " << l.min_data_rate << "\n"
    << "max_sessions = " << l.max_sessions << "\n"
    << "max_sessions_per_client = " << l.max_sessions_per_client << "\n"
    << "auth_failures = " << l.auth_failures << "\n";

  const auto& q = c.queue;
  o << "\n[queue]\n"
    << "max_lifetime = " << toml_string(duration_text(q.max_lifetime)) << "\n"
    << "delay_warning = " << toml_string(q.delay_warning.count() ? duration_text(q.delay_warning) : "") << "\n"
    << "min_backoff = " << toml_string(duration_text(q.min_backoff)) << "\n"
    << "max_backoff = " << toml_string(duration_text(q.max_backoff)) << "\n"
    << "sync = " << toml_string(to_string(q.sync)) << "\n"
    << "delivery_threads = " << q.delivery_threads << "\n";

  o << "\n[metrics]\n"
    << "address = " << toml_string(c.metrics.address ? c.metrics.address->text() : "") << "\n"
    << "\n[log]\n"
    << "format = " << toml_string(to_string(c.log.format)) << "\n"
    << "level = " << toml_string(c.log.level) << "\n";

  o << "\n[reports]\n"
    << "tlsrpt_db = " << toml_string(c.reports.tlsrpt_db) << "\n";

  for (const auto& listener : c.listeners)
    o << "\n[[listener]]\n"
      << "address = " << toml_string(listener.text()) << "\n"
      << "kind = " << toml_string(to_string(listener.kind)) << "\n";
  for (const auto& d : c.domains)
    o << "\n[[domain]]\n"
      << "name = " << toml_string(d.name) << "\n"
      << "delivery = " << toml_string(d.delivery.text()) << "\n";
  for (const auto& k : c.dkim)
    o << "\n[[dkim]]\n"
      << "domain = " << toml_string(k.domain) << "\n"
      << "selector = " << toml_string(k.selector) << "\n"
      << "key = " << toml_string(k.key_file) << "\n"
      << "algorithm = " << toml_string(name_of(kDkimAlgorithms, k.algorithm)) << "\n";
  render_outbound_policies(o, c);
  return o.str();
}

}  // namespace mxsec::config
