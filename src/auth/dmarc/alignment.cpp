#include "auth/dmarc/alignment.hpp"

#include "core/strings.hpp"

namespace mxsec::auth::dmarc {

const char* to_string(AlignmentOutcome o) {
  switch (o) {
    case AlignmentOutcome::aligned: return "aligned";
    case AlignmentOutcome::not_aligned: return "not-aligned";
    case AlignmentOutcome::temperror: return "temperror";
    case AlignmentOutcome::permerror: return "permerror";
  }
  return "?";
}

bool strictly_aligned(std::string_view author_domain, std::string_view identifier) {
  if (author_domain.empty() || identifier.empty()) return false;
  return normalize_domain(author_domain) == normalize_domain(identifier);
}

bool share_suffix(std::string_view a, std::string_view b) {
  const std::string na = normalize_domain(a), nb = normalize_domain(b);
  if (na.empty() || nb.empty()) return false;
  const std::size_t da = na.rfind('.'), db = nb.rfind('.');
  const std::string_view ta = da == std::string::npos ? std::string_view(na) : std::string_view(na).substr(da + 1);
  const std::string_view tb = db == std::string::npos ? std::string_view(nb) : std::string_view(nb).substr(db + 1);
  return ta == tb;
}

asio::awaitable<AlignmentCheck> check_alignment(OrgDomainFinder& finder, AlignmentMode mode, std::string author_domain,
                                                std::string identifier) {
  AlignmentCheck out;
  if (identifier.empty() || author_domain.empty()) co_return out;
  if (strictly_aligned(author_domain, identifier)) {
    out.outcome = AlignmentOutcome::aligned;
    co_return out;
  }
  if (mode == AlignmentMode::strict || !share_suffix(author_domain, identifier)) co_return out;

  auto author_org = co_await finder.org_domain(author_domain);
  if (!author_org) {
    out.outcome = author_org.error().code == Errc::limit ? AlignmentOutcome::permerror : AlignmentOutcome::temperror;
    out.detail = author_org.error().message;
    co_return out;
  }
  out.author_org_domain = *author_org;
  // In either mode an Organizational Domain is the name itself or one of its
  // parents, so unless the author's is one of the identifier's, they cannot be
  // equal: not aligned, without walking the identifier. Walking it anyway let
  // a DNS failure there (a domain whose DNS the sender breaks on purpose)
  // turn DMARC fail into temperror.
  if (!is_subdomain_of(identifier, *author_org)) co_return out;
  auto id_org = co_await finder.org_domain(identifier);
  if (!id_org) {
    out.outcome = id_org.error().code == Errc::limit ? AlignmentOutcome::permerror : AlignmentOutcome::temperror;
    out.detail = id_org.error().message;
    co_return out;
  }
  out.identifier_org_domain = *id_org;
  out.outcome = *author_org == *id_org ? AlignmentOutcome::aligned : AlignmentOutcome::not_aligned;
  co_return out;
}

}  // namespace mxsec::auth::dmarc
