// metrics/registry.hpp: counters and gauges with labels, rendered in the
// Prometheus text exposition format, version 0.0.4.
//
// Contract
// - Counter and Gauge are single atomics. inc(), dec() and set() are
//   lock-free, never allocate and use relaxed ordering: a scrape sees every
//   value as it was at some moment, not a snapshot taken across values. They
//   live where they are counted (members of long-lived structs such as
//   smtp::server::Counters); whoever registers them keeps them at their
//   address for as long as the Registry can render.
// - Labeled<E, N> is N metrics indexed by an enum (0..N-1), so a hot path
//   selects a label set with an array index instead of a map lookup under a
//   lock: every label set a metric can have exists from the start (so a
//   series reads 0 instead of being absent, as the Prometheus naming guide
//   recommends).
// - A Registry holds metric families, each with a name, a help text, a type
//   (counter or gauge) and label names, in the order they were added. A
//   sample is one label set with its source: a Counter, a Gauge, or a
//   function evaluated at render time (values that are cheaper to compute at
//   scrape time than to track: the queue length, a start time).
// - Registration is set-up work (it allocates and takes the registry's
//   mutex). Misuse is a programming error and throws std::invalid_argument:
//   a metric name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, a counter name
//   without the "_total" suffix (the Prometheus naming convention; the
//   0.0.4 format names the family as the samples), a label name that is not
//   [a-zA-Z_][a-zA-Z0-9_]* or begins with "__" (reserved), a label name
//   twice, a family name twice, a sample whose label values do not match
//   the family's label names in number, or the same label values twice.
// - render() writes, per family, "# HELP name text", "# TYPE name counter|
//   gauge", then one line per sample: name{l1="v1",l2="v2"} value. Help
//   text escapes \ and line feed (as \\ and \n); label values escape \, "
//   and line feed (\\, \", \n), as format 0.0.4 requires. Counter and Gauge
//   values are printed as exact integers; function values in the shortest
//   form that reads back to the same double, or NaN, +Inf, -Inf. A family
//   without samples still gets its HELP and TYPE lines.
// - Thread safety: inc()/set() from any thread at any time; registration and
//   render() may be called from any thread (the registry's mutex serialises
//   them); render() calls the registered functions on the rendering thread,
//   so they must be safe there.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mxsec::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void inc(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  void dec(std::int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// N metrics of type M, one per value of the enum E (whose values are 0..N-1).
template <class E, std::size_t N, class M = Counter>
class Labeled {
 public:
  static constexpr std::size_t size() { return N; }
  M& operator[](E e) { return items_[index(e)]; }
  const M& operator[](E e) const { return items_[index(e)]; }
  M& at(std::size_t i) { return items_.at(i); }
  const M& at(std::size_t i) const { return items_.at(i); }

 private:
  static std::size_t index(E e) {
    const auto i = static_cast<std::size_t>(e);
    // An enum value outside 0..N-1 is a bug in the caller: it is counted in
    // the last slot rather than written outside the array.
    return i < N ? i : N - 1;
  }
  std::array<M, N> items_{};
};

enum class Type { counter, gauge };
const char* to_string(Type t);  // "counter", "gauge"

using LabelValues = std::vector<std::string>;

class Registry;

// A metric family of a Registry. The reference returned by Registry::add_*
// stays valid as long as the Registry.
class Family {
 public:
  // One sample per call; see the contract for what throws.
  Family& add(LabelValues values, const Counter& counter);
  Family& add(LabelValues values, const Gauge& gauge);
  Family& add(LabelValues values, std::function<double()> read);
  // The samples of a Labeled<E, N>: label value i is name_of(E(i)), for a
  // family with exactly one label name.
  template <class E, std::size_t N, class M, class NameOf>
  Family& add_each(const Labeled<E, N, M>& metrics, NameOf name_of) {
    for (std::size_t i = 0; i < N; ++i) add({std::string(name_of(static_cast<E>(i)))}, metrics.at(i));
    return *this;
  }

  const std::string& name() const { return name_; }

 private:
  friend class Registry;
  struct Sample;
  Family(Registry& registry, Type type, std::string name, std::string help, std::vector<std::string> label_names);
  void add_sample(LabelValues values, const Counter* counter, const Gauge* gauge, std::function<double()> read);
  void render(std::string& out) const;

  Registry& registry_;
  Type type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<Sample> samples_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family& add_counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family& add_gauge(std::string name, std::string help, std::vector<std::string> label_names = {});

  // The exposition, text format 0.0.4.
  std::string render() const;

 private:
  friend class Family;
  Family& add_family(Type type, std::string name, std::string help, std::vector<std::string> label_names);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// The Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Exposed for tests: the escapes of the contract, and a value as rendered.
std::string escape_help(std::string_view text);
std::string escape_label_value(std::string_view text);
std::string format_value(double v);

}  // namespace mxsec::metrics
