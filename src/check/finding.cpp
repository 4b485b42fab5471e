#include "check/finding.hpp"

#include <nlohmann/json.hpp>

namespace mxsec::check {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
  }
  return "error";
}

nlohmann::json to_json(const Finding& f) {
  return nlohmann::json{{"severity", to_string(f.severity)}, {"code", f.code}, {"message", f.message}, {"fix", f.fix}};
}

}  // namespace mxsec::check
