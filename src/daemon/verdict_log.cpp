#include "daemon/verdict_log.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/file.hpp"

namespace mxsec::daemon {

std::string verdict_line(const auth::MessageVerdict& v, const smtp::server::ClientInfo& client,
                         std::string_view disposition, std::int64_t now) {
  nlohmann::json dkim = nlohmann::json::array();
  for (const auto& s : v.dkim.signatures)
    dkim.push_back({{"domain", s.domain}, {"selector", s.selector}, {"result", auth::dkim::to_string(s.result)}});
  const nlohmann::json j{
      {"time", now},
      {"source_ip", client.address.to_string()},
      {"header_from", v.from_domain},
      {"dmarc", auth::dmarc::to_string(v.dmarc.result)},
      {"policy_domain", v.dmarc.discovery.policy_domain},
      {"policy", auth::dmarc::to_string(v.dmarc.policy.applied)},
      {"disposition", disposition},
      {"spf_aligned", v.dmarc.spf_aligned},
      {"dkim_aligned", v.dmarc.dkim_aligned},
      {"spf", {{"domain", v.spf.domain}, {"result", auth::spf::to_string(v.spf.verdict)}}},
      {"dkim", dkim}};
  // Client-supplied names may hold invalid UTF-8; replace rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::unique_ptr<VerdictLog>> VerdictLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(path, "open");
  return std::unique_ptr<VerdictLog>(new VerdictLog(std::move(fd), path));
}

void VerdictLog::record(const auth::MessageVerdict& v, const smtp::server::ClientInfo& client,
                        std::string_view disposition, std::int64_t now) {
  auto written = write_all(fd_.get(), verdict_line(v, client, disposition, now), path_);
  if (!written) spdlog::error("verdict log: {}", written.error().message);
}

}  // namespace mxsec::daemon
