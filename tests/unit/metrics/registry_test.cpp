// metrics/registry.hpp: the text exposition format 0.0.4, written out in
// full for small registries, and the registration errors.
#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mxsec::metrics {
namespace {

enum class Colour { red, green, blue };
const char* name_of(Colour c) { return c == Colour::red ? "red" : c == Colour::green ? "green" : "blue"; }

TEST(Registry, EmptyRendersNothing) {
  Registry r;
  EXPECT_EQ(r.render(), "");
}

TEST(Registry, CounterWithoutLabels) {
  Registry r;
  Counter c;
  r.add_counter("mxsec_things_total", "Things seen.").add({}, c);
  c.inc();
  c.inc(41);
  EXPECT_EQ(r.render(),
            "# HELP mxsec_things_total Things seen.\n"
            "# TYPE mxsec_things_total counter\n"
            "mxsec_things_total 42\n");
}

TEST(Registry, OneFamilyPerNameWithEverySampleInOrder) {
  Registry r;
  Counter a, b;
  Gauge g;
  r.add_counter("x_total", "X.", {"kind", "result"}).add({"smtp", "ok"}, a).add({"smtp", "failed"}, b);
  r.add_gauge("y", "Y.", {"kind"}).add({"smtp"}, g);
  a.inc(3);
  g.inc(5);
  g.dec(7);
  EXPECT_EQ(r.render(),
            "# HELP x_total X.\n"
            "# TYPE x_total counter\n"
            "x_total{kind=\"smtp\",result=\"ok\"} 3\n"
            "x_total{kind=\"smtp\",result=\"failed\"} 0\n"
            "# HELP y Y.\n"
            "# TYPE y gauge\n"
            "y{kind=\"smtp\"} -2\n");
}

TEST(Registry, FamilyWithoutSamplesKeepsItsHelpAndType) {
  Registry r;
  r.add_gauge("z", "Nothing yet.");
  EXPECT_EQ(r.render(), "# HELP z Nothing yet.\n# TYPE z gauge\n");
}

TEST(Registry, LabelValuesAndHelpAreEscaped) {
  Registry r;
  Counter c;
  r.add_counter("e_total", "Back\\slash and\nnew line, \"quotes\" kept.", {"v"}).add({"a\\b\"c\nd"}, c);
  EXPECT_EQ(r.render(),
            "# HELP e_total Back\\\\slash and\\nnew line, \"quotes\" kept.\n"
            "# TYPE e_total counter\n"
            "e_total{v=\"a\\\\b\\\"c\\nd\"} 0\n");
}

TEST(Registry, EscapeFunctions) {
  struct Case {
    std::string in, help, label;
  };
  for (const Case& c : std::vector<Case>{
           {"", "", ""},
           {"plain", "plain", "plain"},
           {"\\", "\\\\", "\\\\"},
           {"\"", "\"", "\\\""},
           {"\n", "\\n", "\\n"},
           {"\r\t", "\r\t", "\r\t"},  // only the three escapes of the format
           {"ü", "ü", "ü"},
       }) {
    EXPECT_EQ(escape_help(c.in), c.help) << c.in;
    EXPECT_EQ(escape_label_value(c.in), c.label) << c.in;
  }
}

TEST(Registry, FunctionValues) {
  struct Case {
    double v;
    std::string text;
  };
  for (const Case& c : std::vector<Case>{
           {0, "0"},
           {3, "3"},
           {-1.5, "-1.5"},
           {0.1, "0.1"},
           {1700000000.25, "1700000000.25"},
           {std::numeric_limits<double>::quiet_NaN(), "NaN"},
           {std::numeric_limits<double>::infinity(), "+Inf"},
           {-std::numeric_limits<double>::infinity(), "-Inf"},
       }) {
    EXPECT_EQ(format_value(c.v), c.text);
    Registry r;
    r.add_gauge("f", "F.").add({}, [v = c.v] { return v; });
    EXPECT_EQ(r.render(), "# HELP f F.\n# TYPE f gauge\nf " + c.text + "\n");
  }
  // Large and small values read back to the same double.
  for (double v : {1e300, 1.5e-300, 123456789.123456789}) EXPECT_EQ(std::stod(format_value(v)), v);
}

TEST(Registry, FunctionsAreCalledAtEveryRender) {
  Registry r;
  int calls = 0;
  r.add_counter("calls_total", "C.").add({}, [&calls] { return static_cast<double>(++calls); });
  EXPECT_NE(r.render().find("calls_total 1\n"), std::string::npos);
  EXPECT_NE(r.render().find("calls_total 2\n"), std::string::npos);
}

TEST(Registry, LabeledAddsOneSamplePerEnumValue) {
  Registry r;
  Labeled<Colour, 3> by_colour;
  r.add_counter("paint_total", "Paint.", {"colour"}).add_each(by_colour, name_of);
  by_colour[Colour::green].inc(2);
  by_colour[Colour::blue].inc();
  EXPECT_EQ(r.render(),
            "# HELP paint_total Paint.\n"
            "# TYPE paint_total counter\n"
            "paint_total{colour=\"red\"} 0\n"
            "paint_total{colour=\"green\"} 2\n"
            "paint_total{colour=\"blue\"} 1\n");
}

TEST(Registry, ConcurrentIncrementsAreAllCounted) {
  Counter c;
  Gauge g;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.inc();
        g.inc();
        g.dec();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
  EXPECT_EQ(g.value(), 0);
}

TEST(Registry, MisuseThrows) {
  Counter c;
  Gauge g;
  const auto throws = [](auto&& f) {
    try {
      f();
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  // Metric names.
  for (const char* bad : {"", "1abc_total", "a-b_total", "a b_total", "é_total", "a{b}_total"})
    EXPECT_TRUE(throws([&] { Registry().add_counter(bad, "h"); })) << bad;
  for (const char* good : {"a_total", "_a_total", ":a:b_total", "A9_total"})
    EXPECT_FALSE(throws([&] { Registry().add_counter(good, "h"); })) << good;
  EXPECT_TRUE(throws([] { Registry().add_counter("no_suffix", "h"); }));
  EXPECT_FALSE(throws([] { Registry().add_gauge("no_suffix", "h"); }));
  // Label names.
  for (const char* bad : {"", "__reserved", "9a", "a:b", "a-b"})
    EXPECT_TRUE(throws([&] { Registry().add_gauge("g", "h", {bad}); })) << bad;
  EXPECT_TRUE(throws([] { Registry().add_gauge("g", "h", {"a", "a"}); }));
  // Families.
  EXPECT_TRUE(throws([] {
    Registry r;
    r.add_gauge("g", "h");
    r.add_counter("g", "h");
  }));
  // Samples.
  EXPECT_TRUE(throws([&] { Registry().add_gauge("g", "h", {"a"}).add({}, g); }));
  EXPECT_TRUE(throws([&] { Registry().add_gauge("g", "h", {"a"}).add({"x", "y"}, g); }));
  EXPECT_TRUE(throws([&] { Registry().add_gauge("g", "h", {"a"}).add({"x"}, g).add({"x"}, g); }));
  EXPECT_TRUE(throws([&] { Registry().add_gauge("g", "h").add({}, c); }));
  EXPECT_TRUE(throws([&] { Registry().add_counter("c_total", "h").add({}, g); }));
  EXPECT_TRUE(throws([] { Registry().add_gauge("g", "h").add({}, std::function<double()>()); }));
  EXPECT_FALSE(throws([&] { Registry().add_gauge("g", "h", {"a"}).add({"x"}, g).add({"y"}, g); }));
}

}  // namespace
}  // namespace mxsec::metrics
