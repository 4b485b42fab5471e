// UnboundResolver: libunbound driven from the Asio event loop.
//
// Shape: every question is a Query owned by a shared_ptr. While libunbound
// holds it, Impl::pending_ keeps it alive and ub_resolve_async gets its raw
// address as `mydata`. The coroutine waits on the query's timer, which is
// cancelled when the answer arrives (on_result) or fires at the deadline.
// libunbound calls on_result only from inside ub_process(), which we call
// only from the fd handler on the io_context thread, so there is no race
// between an answer and a timeout: whichever runs first decides, and the
// loser finds `done` already set.
#include "dns/unbound_resolver.hpp"

#include <unbound.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <map>

#include "core/strings.hpp"

namespace mxsec::dns {
namespace {

struct UbCtxDelete {
  void operator()(ub_ctx* ctx) const noexcept { ub_ctx_delete(ctx); }
};
struct UbResultDelete {
  void operator()(ub_result* r) const noexcept { ub_resolve_free(r); }
};
using UbCtxPtr = std::unique_ptr<ub_ctx, UbCtxDelete>;
using UbResultPtr = std::unique_ptr<ub_result, UbResultDelete>;

constexpr int kClassIn = 1;
constexpr std::size_t kWhyBogusChars = 400;

Result<void> ub_check(int rc, const std::string& what) {
  if (rc != 0) return make_error(Errc::dns, what + ": " + ub_strerror(rc));
  return {};
}

// "test" / "test." -> "test."; "." stays the root. Syntax per is_valid_domain_name.
Result<std::string> absolute_zone(std::string_view zone, std::string_view what) {
  if (zone == ".") return std::string(".");
  if (!is_valid_domain_name(zone))
    return make_error(Errc::invalid_argument, std::string(what) + " '" + escape_for_log(zone, 80) + "' is not a domain name");
  return normalize_domain(zone) + ".";
}

RawAnswer error_answer(std::string_view qname, RrType qtype, Status status, std::string error) {
  RawAnswer out;
  out.qname = normalize_domain(qname);
  out.qtype = qtype;
  out.status = status;
  out.security = Security::indeterminate;
  out.error = std::move(error);
  return out;
}

}  // namespace

RawAnswer to_raw_answer(const ub_result& r, std::string_view qname, RrType qtype) {
  RawAnswer out;
  out.qname = normalize_domain(qname);
  out.qtype = qtype;
  out.ttl = r.ttl > 0 ? static_cast<std::uint32_t>(r.ttl) : 0;
  if (r.canonname != nullptr) {
    std::string canon = normalize_domain(r.canonname);
    if (canon != out.qname) out.canonical_name = std::move(canon);
  }
  if (r.bogus) {
    // Judged by unbound's flag, not by the rcode: forwarded bogus answers
    // come back with rcode 0 and the data (CD is set).
    out.status = Status::servfail;
    out.security = Security::bogus;
    out.why_bogus = r.why_bogus != nullptr ? escape_for_log(r.why_bogus, kWhyBogusChars) : "validation failed";
    return out;
  }
  if (r.rcode == 0) {
    out.status = r.havedata ? Status::ok : Status::nodata;
  } else if (r.rcode == 3 || r.nxdomain) {
    out.status = Status::nxdomain;
  } else {
    out.status = Status::servfail;
    out.security = Security::indeterminate;
    out.error = "rcode " + std::to_string(r.rcode);
    return out;
  }
  out.security = r.secure ? Security::secure : Security::insecure;
  if (out.status == Status::ok && r.data != nullptr) {
    for (std::size_t i = 0; r.data[i] != nullptr; ++i) {
      if (i == limits::kDnsMaxRecordsPerAnswer) {
        out.status = Status::error;
        out.security = Security::indeterminate;
        out.error = "more than " + std::to_string(limits::kDnsMaxRecordsPerAnswer) + " records in the answer";
        out.rdata.clear();
        return out;
      }
      const int len = r.len[i];
      out.rdata.emplace_back(r.data[i], len > 0 ? static_cast<std::size_t>(len) : 0);
    }
    if (out.rdata.empty()) out.status = Status::nodata;
  }
  return out;
}

struct UnboundResolver::Impl {
  struct Query {
    Query(asio::io_context& io, Impl* owner) : impl(owner), timer(io) {}
    Impl* impl;
    int async_id = 0;
    bool done = false;
    std::string qname;
    RrType qtype = RrType::a;
    RawAnswer answer;
    asio::steady_timer timer;
  };

  Impl(asio::io_context& io, UbCtxPtr ctx, int fd, std::chrono::milliseconds timeout)
      : io_(io), ctx_(std::move(ctx)), fd_(io, fd), timeout_(timeout) {}

  ~Impl() {
    // Cancel what libunbound still holds; the waiting coroutines resume with
    // Status::error and must not touch *this (they only look at the Query).
    fail_all("resolver shut down");
  }

  // Called by libunbound from inside ub_process().
  static void on_result(void* mydata, int err, ub_result* result) {
    UbResultPtr owned(result);  // owned from the line that receives it
    auto* q = static_cast<Query*>(mydata);
    Impl* self = q->impl;
    auto it = self->pending_.find(q);
    if (it == self->pending_.end()) return;  // cancelled; a late answer is dropped
    std::shared_ptr<Query> keep = std::move(it->second);
    self->pending_.erase(it);
    q->done = true;
    if (err != 0 || owned == nullptr) {
      q->answer = error_answer(q->qname, q->qtype, Status::error, std::string("libunbound: ") + ub_strerror(err));
    } else {
      q->answer = to_raw_answer(*owned, q->qname, q->qtype);
    }
    q->timer.cancel();
  }

  // Makes sure someone is waiting for ub_fd while questions are pending.
  void arm() {
    if (waiting_ || pending_.empty()) return;
    waiting_ = true;
    // Asio's epoll reactor is edge-triggered, and an edge that came while no
    // wait was queued is not reported again. ub_poll() tells whether results
    // are already waiting in the pipe; then process them without waiting.
    std::weak_ptr<int> alive = alive_;
    if (ub_poll(ctx_.get())) {
      asio::post(io_, [this, alive] {
        if (alive.expired()) return;
        on_readable({});
      });
      return;
    }
    fd_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive](const std::error_code& ec) {
      if (alive.expired()) return;
      on_readable(ec);
    });
  }

  void on_readable(const std::error_code& ec) {
    waiting_ = false;
    if (!ec) {
      // Non-blocking: reads what is in the pipe and runs the callbacks.
      const int rc = ub_process(ctx_.get());
      if (rc != 0) fail_all(std::string("libunbound: ") + ub_strerror(rc));
    } else if (ec != asio::error::operation_aborted) {
      fail_all("waiting for libunbound failed: " + ec.message());
    }
    arm();
  }

  // Ends every pending question at once with Status::error and `why`;
  // libunbound is told to drop them (ub_cancel).
  void fail_all(const std::string& why) {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [raw, q] : pending) {
      ub_cancel(ctx_.get(), q->async_id);
      q->done = true;
      q->answer = error_answer(q->qname, q->qtype, Status::error, why);
      q->timer.cancel();
    }
    if (waiting_) fd_.cancel();
  }

  // After a timeout: stop waiting on the fd if nothing is left, so an idle
  // io_context can return from run().
  void forget(Query* q) {
    pending_.erase(q);
    if (pending_.empty() && waiting_) fd_.cancel();
  }

  asio::io_context& io_;
  UbCtxPtr ctx_;
  asio::posix::stream_descriptor fd_;  // a dup() of ub_fd: the descriptor closes what it owns
  std::chrono::milliseconds timeout_;
  std::map<Query*, std::shared_ptr<Query>> pending_;
  bool waiting_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handlers check it before touching *this
};

UnboundResolver::UnboundResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UnboundResolver::~UnboundResolver() = default;

std::size_t UnboundResolver::pending() const { return impl_->pending_.size(); }

Result<std::unique_ptr<UnboundResolver>> UnboundResolver::create(asio::io_context& io, const ResolverConfig& config) {
  // --- validate everything before touching libunbound ---------------------
  if (config.timeout.count() <= 0)
    return make_error(Errc::invalid_argument, "DNS timeout must be positive");
  std::vector<ServerAddress> forwarders;
  for (const auto& f : config.forwarders) {
    auto a = parse_server_address(f);
    if (!a) return a.error();
    forwarders.push_back(*a);
  }
  std::vector<std::pair<std::string, ServerAddress>> stubs;
  for (const auto& [zone, addr] : config.stub_zones) {
    auto z = absolute_zone(zone, "stub zone");
    if (!z) return z.error();
    auto a = parse_server_address(addr);
    if (!a) return a.error();
    stubs.emplace_back(*z, *a);
  }
  std::vector<std::string> private_zones;
  for (const auto& zone : config.private_zones) {
    auto z = absolute_zone(zone, "private zone");
    if (!z) return z.error();
    if (*z == ".") return make_error(Errc::invalid_argument, "private zone must not be the root");
    private_zones.push_back(*z);
  }
  std::vector<std::string> anchors;
  if (config.use_root_anchor) anchors.push_back(config.root_anchor_file);
  anchors.insert(anchors.end(), config.trust_anchor_files.begin(), config.trust_anchor_files.end());
  for (const auto& file : anchors) {
    auto checked = check_trust_anchor_file(file);
    if (!checked) {
      Error e = checked.error();
      if (file == config.root_anchor_file && config.use_root_anchor)
        e.message += " (the root anchor comes from Debian's dns-root-data package)";
      return e;
    }
  }

  // --- set up libunbound ---------------------------------------------------
  UbCtxPtr ctx(ub_ctx_create());
  if (!ctx) return make_error(Errc::dns, "ub_ctx_create failed");
  // Async mode with libunbound's own worker thread (1); the alternative (0)
  // forks a resolver process, which would inherit all our descriptors.
  if (auto r = ub_check(ub_ctx_async(ctx.get(), 1), "ub_ctx_async"); !r) return r.error();

  bool loopback = false;
  for (const auto& f : forwarders) {
    loopback = loopback || f.is_loopback();
    if (auto r = ub_check(ub_ctx_set_fwd(ctx.get(), f.to_unbound().c_str()), "forwarder " + f.to_unbound()); !r)
      return r.error();
  }
  for (const auto& [zone, addr] : stubs) {
    loopback = loopback || addr.is_loopback();
    if (auto r = ub_check(ub_ctx_set_stub(ctx.get(), zone.c_str(), addr.to_unbound().c_str(), 0),
                          "stub zone " + zone + " at " + addr.to_unbound());
        !r)
      return r.error();
  }
  if (loopback) {
    // Unbound refuses to send queries to 127/8 and ::1 unless told otherwise.
    if (auto r = ub_check(ub_ctx_set_option(ctx.get(), "do-not-query-localhost:", "no"), "do-not-query-localhost"); !r)
      return r.error();
  }
  for (const auto& zone : private_zones) {
    // RFC 6761 names (test., invalid., ...) are built-in local zones that
    // answer NXDOMAIN; "transparent" lets queries for real data go out.
    const std::string value = zone + " transparent";
    if (auto r = ub_check(ub_ctx_set_option(ctx.get(), "local-zone:", value.c_str()), "private zone " + zone); !r)
      return r.error();
  }
  for (const auto& file : anchors) {
    if (auto r = ub_check(ub_ctx_add_ta_file(ctx.get(), file.c_str()), "trust anchor file " + file); !r)
      return r.error();
  }
  // libunbound reads the anchors only when the context is finalized, which
  // normally happens at the first query, where a failure would look like a
  // DNS error. Removing a local zone we never added finalizes the context
  // without side effects, so a file unbound rejects fails here, in create().
  if (auto r = ub_check(ub_ctx_zone_remove(ctx.get(), "mxsec-finalize.invalid."),
                        "libunbound rejected the configuration (see its log above; often a trust anchor file)");
      !r)
    return r.error();

  const int fd = ::dup(ub_fd(ctx.get()));
  if (fd < 0) return make_error(Errc::dns, std::string("dup(ub_fd): ") + std::strerror(errno));
  auto impl = std::make_unique<Impl>(io, std::move(ctx), fd, config.timeout);
  return std::unique_ptr<UnboundResolver>(new UnboundResolver(std::move(impl)));
}

void UnboundResolver::cancel_all() { impl_->fail_all(std::string(kCancelled)); }

asio::awaitable<RawAnswer> UnboundResolver::resolve(std::string name, RrType type) {
  Impl& impl = *impl_;
  if (name.empty() || name.size() > 254 || name.find('\0') != std::string::npos)
    co_return error_answer(name, type, Status::error, "not a domain name: '" + escape_for_log(name, 80) + "'");
  // A task that was cancelled asks nothing more (Asio 1.22 has no
  // throw_if_cancelled; the flag stays set on the coroutine's state).
  if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
    co_return error_answer(name, type, Status::error, std::string(kCancelled));
  auto q = std::make_shared<Impl::Query>(impl.io_, &impl);
  q->qname = name;
  q->qtype = type;
  const int rc = ub_resolve_async(impl.ctx_.get(), name.c_str(), static_cast<int>(type), kClassIn, q.get(),
                                  &Impl::on_result, &q->async_id);
  if (rc != 0) co_return error_answer(name, type, Status::error, std::string("libunbound: ") + ub_strerror(rc));
  impl.pending_.emplace(q.get(), q);
  impl.arm();
  q->timer.expires_after(impl.timeout_);
  if (!q->done) {
    std::error_code ec;
    co_await q->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // If the resolver was destroyed meanwhile, q->done is set and `impl` is
  // not touched again.
  if (!q->done) {
    // The deadline passed, or the task awaiting this answer was cancelled
    // (the timer wait ends with operation_aborted through the coroutine's
    // cancellation slot): either way libunbound drops the question.
    ub_cancel(impl.ctx_.get(), q->async_id);
    impl.forget(q.get());
    q->done = true;
    const bool cancelled =
        (co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none;
    q->answer = cancelled ? error_answer(name, type, Status::error, std::string(kCancelled))
                          : error_answer(name, type, Status::timeout,
                                         "no answer within " + std::to_string(impl.timeout_.count()) + " ms");
  }
  co_return std::move(q->answer);
}

}  // namespace mxsec::dns
