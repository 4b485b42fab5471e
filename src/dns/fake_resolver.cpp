#include "dns/fake_resolver.hpp"

#include <stdexcept>

#include "core/strings.hpp"
#include "dns/presentation.hpp"
#include "dns/rdata.hpp"

namespace mxsec::dns {

FakeResolver::Entry& FakeResolver::entry(std::string_view name, RrType type) {
  auto [it, inserted] = entries_.try_emplace({normalize_domain(name), type});
  if (inserted) it->second.security = default_security_;
  return it->second;
}

void FakeResolver::add_raw(std::string_view name, RrType type, std::string rdata) {
  Entry& e = entry(name, type);
  e.rdata.push_back(std::move(rdata));
  e.status = Status::ok;
}

void FakeResolver::add_txt(std::string_view name, std::vector<std::string> strings) {
  auto rd = encode_txt(TxtRecord{std::move(strings)});
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::txt, std::move(*rd));
}

void FakeResolver::add_a(std::string_view name, std::string_view address) {
  auto ip = IpAddress::parse(address);
  if (!ip) throw std::invalid_argument("bad address " + std::string(address));
  add_raw(name, ip->is_v4() ? RrType::a : RrType::aaaa, encode_address(*ip));
}

void FakeResolver::add_mx(std::string_view name, std::uint16_t preference, std::string_view exchange) {
  auto rd = encode_mx(MxRecord{preference, std::string(exchange)});
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::mx, std::move(*rd));
}

void FakeResolver::add_ptr(std::string_view name, std::string_view target) {
  auto rd = encode_name(target);
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::ptr, std::move(*rd));
}

void FakeResolver::add_cname(std::string_view name, std::string_view target) {
  auto rd = encode_name(target);
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::cname, std::move(*rd));
}

void FakeResolver::add_tlsa(std::string_view name, const TlsaRecord& tlsa) { add_raw(name, RrType::tlsa, encode_tlsa(tlsa)); }

void FakeResolver::set_outcome(std::string_view name, RrType type, Status status, Security security,
                               std::string why_bogus) {
  Entry& e = entry(name, type);
  e.status = status;
  e.security = security;
  e.why_bogus = std::move(why_bogus);
}

void FakeResolver::set_security(std::string_view name, RrType type, Security security, std::string why_bogus) {
  Entry& e = entry(name, type);
  e.security = security;
  e.why_bogus = std::move(why_bogus);
}

std::size_t FakeResolver::query_count(std::string_view name, RrType type) const {
  auto it = counts_.find({normalize_domain(name), type});
  return it == counts_.end() ? 0 : it->second;
}

void FakeResolver::reset_counts() {
  counts_.clear();
  queries_ = 0;
}

RawAnswer FakeResolver::lookup(std::string_view name, RrType type) {
  ++queries_;
  std::string key = normalize_domain(name);
  ++counts_[{key, type}];
  RawAnswer out;
  out.qname = key;
  out.qtype = type;
  auto it = entries_.find({key, type});
  // Follow CNAMEs as a recursive resolver does: the answer is for the last
  // name of the chain, and it is only as secure as its weakest link.
  Security chain_security = Security::secure;
  bool chased = false;
  for (int hops = 0; it == entries_.end() && type != RrType::cname && hops < 8; ++hops) {
    auto c = entries_.find({key, RrType::cname});
    if (c == entries_.end() || c->second.status != Status::ok || c->second.rdata.empty()) break;
    auto target = decode_name_rdata(c->second.rdata.front());
    if (!target) break;
    if (c->second.security != Security::secure) chain_security = c->second.security;
    key = normalize_domain(*target);
    out.canonical_name = key;
    chased = true;
    it = entries_.find({key, type});
  }
  if (it != entries_.end()) {
    const Entry& e = it->second;
    out.status = e.status;
    out.security = chased && chain_security != Security::secure && e.security == Security::secure ? chain_security
                                                                                                 : e.security;
    out.why_bogus = e.why_bogus;
    out.ttl = 300;
    if (e.status == Status::ok) out.rdata = e.rdata;
    if (e.status == Status::ok && e.rdata.empty()) out.status = Status::nodata;
    return out;
  }
  bool name_exists = false;
  for (auto e = entries_.lower_bound({key, RrType{0}}); e != entries_.end() && e->first.first == key; ++e) {
    name_exists = true;
    break;
  }
  out.status = name_exists ? Status::nodata : Status::nxdomain;
  out.security = default_security_;
  out.ttl = 300;  // the negative TTL a zone's SOA would give
  return out;
}

asio::awaitable<RawAnswer> FakeResolver::resolve(std::string name, RrType type) { co_return lookup(name, type); }

}  // namespace mxsec::dns

namespace mxsec::dns {
namespace {

// Splits a zone line into fields; quoted strings stay one field (with the
// quotes removed and \" \\ \DDD unescaped) and are marked as quoted.
struct Field {
  std::string text;
  bool quoted = false;
};

Result<std::vector<Field>> split_zone_line(std::string_view line) {
  std::vector<Field> out;
  std::size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == ';') break;
    if (is_wsp(c) || c == '\r') {
      ++i;
      continue;
    }
    Field f;
    if (c == '"') {
      f.quoted = true;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char d = line[i++];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\' && i < line.size()) {
          if (i + 2 < line.size() && is_digit(line[i]) && is_digit(line[i + 1]) && is_digit(line[i + 2])) {
            d = static_cast<char>((line[i] - '0') * 100 + (line[i + 1] - '0') * 10 + (line[i + 2] - '0'));
            i += 3;
          } else {
            d = line[i++];
          }
        }
        f.text += d;
      }
      if (!closed) return make_error(Errc::parse, "unterminated quoted string");
    } else {
      while (i < line.size() && !is_wsp(line[i]) && line[i] != ';' && line[i] != '\r') f.text += line[i++];
    }
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return make_error(Errc::parse, "odd-length hex");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit_value(hex[i]), lo = hex_digit_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return make_error(Errc::parse, "bad hex digit");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

Result<void> FakeResolver::load_zone_text(std::string_view text) {
  const Security saved = default_security_;
  std::size_t line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    auto fail = [&](const std::string& why) {
      default_security_ = saved;
      return make_error(Errc::parse, "zone line " + std::to_string(line_no) + ": " + why);
    };
    auto fields = split_zone_line(line);
    if (!fields) return fail(fields.error().message);
    auto& f = *fields;
    if (f.empty()) continue;
    if (f[0].text == "$SECURITY" && f.size() == 2) {
      if (f[1].text == "secure") default_security_ = Security::secure;
      else if (f[1].text == "insecure") default_security_ = Security::insecure;
      else if (f[1].text == "bogus") default_security_ = Security::bogus;
      else return fail("unknown security " + f[1].text);
      continue;
    }
    std::size_t i = 1;
    if (i < f.size() && !f[i].quoted && parse_uint(f[i].text)) ++i;  // ttl
    if (i < f.size() && iequals(f[i].text, "IN")) ++i;
    if (i >= f.size()) return fail("missing type");
    auto type = parse_rr_type(f[i].text);
    if (!type) return fail("unsupported type " + f[i].text);
    ++i;
    const std::string& name = f[0].text;
    if (i < f.size() && !f[i].quoted && !f[i].text.empty() && f[i].text[0] == '!') {
      const std::string& o = f[i].text;
      if (o == "!servfail") set_outcome(name, *type, Status::servfail, Security::indeterminate);
      else if (o == "!timeout") set_outcome(name, *type, Status::timeout, Security::indeterminate);
      else if (o == "!bogus") set_outcome(name, *type, Status::ok, Security::bogus, "forced bogus");
      else return fail("unknown outcome " + o);
      continue;
    }
    const std::size_t nargs = f.size() - i;
    try {
      switch (*type) {
        case RrType::a:
        case RrType::aaaa:
          if (nargs != 1) return fail("address record needs one address");
          add_a(name, f[i].text);
          break;
        case RrType::mx: {
          if (nargs != 2) return fail("MX needs preference and exchange");
          auto pref = parse_uint(f[i].text, 65535);
          if (!pref) return fail("bad MX preference");
          add_mx(name, static_cast<std::uint16_t>(*pref), f[i + 1].text);
          break;
        }
        case RrType::txt: {
          std::vector<std::string> strings;
          for (std::size_t k = i; k < f.size(); ++k) strings.push_back(f[k].text);
          if (strings.empty()) return fail("TXT needs at least one string");
          add_txt(name, std::move(strings));
          break;
        }
        case RrType::ptr:
        case RrType::cname:
        case RrType::ns: {
          if (nargs != 1) return fail("name record needs one target");
          auto rd = encode_name(f[i].text);
          if (!rd) return fail(rd.error().message);
          add_raw(name, *type, std::move(*rd));
          break;
        }
        case RrType::tlsa: {
          if (nargs < 4) return fail("TLSA needs usage selector matching-type data");
          auto u = parse_uint(f[i].text, 255), s = parse_uint(f[i + 1].text, 255), m = parse_uint(f[i + 2].text, 255);
          std::string hex;
          for (std::size_t k = i + 3; k < f.size(); ++k) hex += f[k].text;
          auto data = hex_decode(hex);
          if (!u || !s || !m || !data) return fail("bad TLSA rdata");
          add_tlsa(name, TlsaRecord{static_cast<std::uint8_t>(*u), static_cast<std::uint8_t>(*s),
                                    static_cast<std::uint8_t>(*m), std::move(*data)});
          break;
        }
        default:
          return fail("unsupported type");
      }
    } catch (const std::invalid_argument& e) {
      return fail(e.what());
    }
  }
  default_security_ = saved;
  return {};
}

}  // namespace mxsec::dns
