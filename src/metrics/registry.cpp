// metrics/registry.cpp: see registry.hpp.
#include "metrics/registry.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace mxsec::metrics {
namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// Prometheus data model: metric names [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(std::string_view n) {
  if (n.empty() || !(name_start(n[0]) || n[0] == ':')) return false;
  for (char c : n)
    if (!name_char(c) && c != ':') return false;
  return true;
}

// Label names [a-zA-Z_][a-zA-Z0-9_]*; "__" begins names reserved for
// Prometheus itself.
bool valid_label_name(std::string_view n) {
  if (n.empty() || !name_start(n[0]) || n.starts_with("__")) return false;
  for (char c : n)
    if (!name_char(c)) return false;
  return true;
}

[[noreturn]] void misuse(const std::string& what) { throw std::invalid_argument("metrics: " + what); }

}  // namespace

const char* to_string(Type t) { return t == Type::counter ? "counter" : "gauge"; }

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

struct Family::Sample {
  LabelValues values;
  std::variant<const Counter*, const Gauge*, std::function<double()>> source;
};

Family::Family(Registry& registry, Type type, std::string name, std::string help,
               std::vector<std::string> label_names)
    : registry_(registry), type_(type), name_(std::move(name)), help_(std::move(help)),
      label_names_(std::move(label_names)) {}

Family& Family::add(LabelValues values, const Counter& counter) {
  if (type_ != Type::counter) misuse(name_ + ": a Counter in a gauge family");
  add_sample(std::move(values), &counter, nullptr, {});
  return *this;
}

Family& Family::add(LabelValues values, const Gauge& gauge) {
  if (type_ != Type::gauge) misuse(name_ + ": a Gauge in a counter family");
  add_sample(std::move(values), nullptr, &gauge, {});
  return *this;
}

Family& Family::add(LabelValues values, std::function<double()> read) {
  if (!read) misuse(name_ + ": empty function");
  add_sample(std::move(values), nullptr, nullptr, std::move(read));
  return *this;
}

void Family::add_sample(LabelValues values, const Counter* counter, const Gauge* gauge,
                        std::function<double()> read) {
  std::lock_guard lock(registry_.mu_);
  if (values.size() != label_names_.size())
    misuse(name_ + ": " + std::to_string(values.size()) + " label values for " +
           std::to_string(label_names_.size()) + " label names");
  for (const auto& s : samples_)
    if (s.values == values) misuse(name_ + ": the same label values twice");
  Sample s;
  s.values = std::move(values);
  if (counter) s.source = counter;
  else if (gauge) s.source = gauge;
  else s.source = std::move(read);
  samples_.push_back(std::move(s));
}

void Family::render(std::string& out) const {
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + " " + to_string(type_) + "\n";
  for (const auto& s : samples_) {
    out += name_;
    if (!label_names_.empty()) {
      out += '{';
      for (std::size_t i = 0; i < label_names_.size(); ++i) {
        if (i > 0) out += ',';
        out += label_names_[i] + "=\"" + escape_label_value(s.values[i]) + "\"";
      }
      out += '}';
    }
    out += ' ';
    if (const auto* c = std::get_if<const Counter*>(&s.source)) out += std::to_string((*c)->value());
    else if (const auto* g = std::get_if<const Gauge*>(&s.source)) out += std::to_string((*g)->value());
    else out += format_value(std::get<std::function<double()>>(s.source)());
    out += '\n';
  }
}

Registry::Registry() = default;
Registry::~Registry() = default;

Family& Registry::add_counter(std::string name, std::string help, std::vector<std::string> label_names) {
  return add_family(Type::counter, std::move(name), std::move(help), std::move(label_names));
}

Family& Registry::add_gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  return add_family(Type::gauge, std::move(name), std::move(help), std::move(label_names));
}

Family& Registry::add_family(Type type, std::string name, std::string help, std::vector<std::string> label_names) {
  if (!valid_metric_name(name)) misuse("invalid metric name \"" + escape_label_value(name) + "\"");
  if (type == Type::counter && !std::string_view(name).ends_with("_total"))
    misuse(name + ": a counter's name ends in _total");
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    if (!valid_label_name(label_names[i])) misuse(name + ": invalid label name \"" + escape_label_value(label_names[i]) + "\"");
    for (std::size_t j = 0; j < i; ++j)
      if (label_names[j] == label_names[i]) misuse(name + ": label " + label_names[i] + " twice");
  }
  std::lock_guard lock(mu_);
  for (const auto& f : families_)
    if (f->name() == name) misuse(name + ": registered twice");
  families_.push_back(std::unique_ptr<Family>(new Family(*this, type, std::move(name), std::move(help),
                                                         std::move(label_names))));
  return *families_.back();
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

}  // namespace mxsec::metrics
