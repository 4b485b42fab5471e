// metrics/http.hpp: the request-head parser on good and hostile heads
// (every one also pushed split at every offset and byte by byte), and the
// endpoint's answers.
#include "metrics/http.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metrics/registry.hpp"

namespace mxsec::metrics {
namespace {

using State = RequestHeadParser::State;

struct Outcome {
  State state = State::need_more;
  RequestHead head;
  int status = 0;
  std::size_t consumed = 0;
};

// Pushes `in` in the pieces between `cuts`, stopping once the parser is done
// or failed (as the server does).
Outcome push_pieces(std::string_view in, const std::vector<std::size_t>& cuts, HttpLimits limits = {}) {
  RequestHeadParser p(limits);
  Outcome o;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(in.size());
  for (std::size_t end : ends) {
    if (p.state() != State::need_more) break;
    o.consumed += p.push(in.substr(start, end - start));
    start = end;
  }
  o.state = p.state();
  if (o.state == State::done) o.head = p.head();
  if (o.state == State::failed) o.status = p.status();
  return o;
}

// The outcome pushed whole, after checking that every split gives the same.
Outcome parse(std::string_view in, HttpLimits limits = {}) {
  const Outcome whole = push_pieces(in, {}, limits);
  std::vector<std::vector<std::size_t>> splits;
  for (std::size_t i = 0; i <= in.size(); ++i) splits.push_back({i});
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < in.size(); ++i) every.push_back(i);
  splits.push_back(every);
  for (const auto& cuts : splits) {
    const Outcome o = push_pieces(in, cuts, limits);
    EXPECT_EQ(o.state, whole.state) << "split changes the outcome of " << testing::PrintToString(std::string(in));
    EXPECT_EQ(o.head, whole.head);
    EXPECT_EQ(o.status, whole.status);
    if (whole.state == State::done) {
      EXPECT_EQ(o.consumed, whole.consumed);
    }
  }
  return whole;
}

TEST(RequestHead, Good) {
  struct Case {
    std::string in;
    std::string method, target;
    int minor;
    std::size_t fields;
  };
  for (const Case& c : std::vector<Case>{
           {"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n\r\n", "GET", "/metrics", 1, 1},
           {"HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain;version=0.0.4\r\n\r\n", "HEAD", "/metrics", 1, 2},
           {"GET /metrics HTTP/1.0\r\n\r\n", "GET", "/metrics", 0, 0},  // 1.0 needs no Host
           {"\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n", "GET", "/", 1, 1},  // §2.2 leading empty lines
           {"GET /metrics?x=1 HTTP/1.1\r\nHost:x\r\n\r\n", "GET", "/metrics?x=1", 1, 1},
           {"GET http://a:1/metrics HTTP/1.1\r\nHost: a:1\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", "GET",
            "http://a:1/metrics", 1, 3},
           {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", "POST", "/metrics", 1, 2},
           {"GET / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\r\n\r\n", "GET", "/", 1, 2},  // obs-text
       }) {
    const Outcome o = parse(c.in);
    ASSERT_EQ(o.state, State::done) << c.in;
    EXPECT_EQ(o.head.method, c.method);
    EXPECT_EQ(o.head.target, c.target);
    EXPECT_EQ(o.head.version_minor, c.minor);
    EXPECT_EQ(o.head.fields.size(), c.fields);
    EXPECT_EQ(o.consumed, c.in.size());
  }
}

TEST(RequestHead, FieldValuesLoseTheirWhitespace) {
  const Outcome o = parse("GET / HTTP/1.1\r\nHost:   a b  \t\r\n\r\n");
  ASSERT_EQ(o.state, State::done);
  ASSERT_EQ(o.head.fields.size(), 1u);
  EXPECT_EQ(o.head.fields[0].first, "Host");
  EXPECT_EQ(o.head.fields[0].second, "a b");
}

TEST(RequestHead, Bad) {
  struct Case {
    std::string in;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"GET /metrics HTTP/1.1\nHost: x\n\n", 400},                // bare LF
           {"GET /metrics HTTP/1.1\r\nHost: x\n\r\n", 400},
           {"GET /metrics\rHTTP/1.1\r\n\r\n", 400},                      // bare CR
           {"GET /metrics HTTP/1.1\r\r\n", 400},
           {"GET /metrics\r\n\r\n", 400},                                // HTTP/0.9 form
           {"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},           // two spaces
           {"GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n", 400},           // trailing space
           {" GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
           {"GET\t/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
           {"G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},            // not a token
           {"GET /met\x01rics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
           {std::string("GET /met") + '\0' + "rics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
           {"GET /m\xc3\xa9trics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
           {"GET /metrics http/1.1\r\nHost: x\r\n\r\n", 400},            // case-sensitive name
           {"GET /metrics HTTP/1.10\r\nHost: x\r\n\r\n", 400},
           {"GET /metrics HTTP/11\r\nHost: x\r\n\r\n", 400},
           {"GET /metrics HTTP/1.x\r\nHost: x\r\n\r\n", 400},
           {"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505},
           {"GET /metrics HTTP/0.9\r\nHost: x\r\n\r\n", 505},
           {"GET /metrics HTTP/1.1\r\n\r\n", 400},                       // no Host
           {"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400}, // two Hosts
           {"GET /metrics HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400},
           {"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400},           // §5.1
           {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400},  // obs-fold
           {"GET /metrics HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400},
           {"GET /metrics HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", 400},
           {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400},
           {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n", 400},
           {"\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n", 400},  // a TLS ClientHello
       }) {
    const Outcome o = parse(c.in);
    EXPECT_EQ(o.state, State::failed) << testing::PrintToString(c.in);
    EXPECT_EQ(o.status, c.status) << testing::PrintToString(c.in);
  }
}

TEST(RequestHead, IncompleteHeadNeedsMore) {
  for (std::string in : {"", "GET /metrics HTTP/1.1", "GET /metrics HTTP/1.1\r\nHost: x\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r"}) {
    const Outcome o = parse(in);
    EXPECT_EQ(o.state, State::need_more) << in;
    EXPECT_EQ(o.consumed, in.size());
  }
}

TEST(RequestHead, OctetsAfterTheHeadAreNotUsed) {
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string rest : {"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\n", "garbage\n\xff", "xx"}) {
    const Outcome o = parse(head + rest);
    ASSERT_EQ(o.state, State::done);
    EXPECT_EQ(o.consumed, head.size());
    EXPECT_EQ(o.head.target, "/metrics");
  }
}

TEST(RequestHead, HeadBytesLimit) {
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  HttpLimits exact;
  exact.head_bytes = head.size();
  EXPECT_EQ(push_pieces(head, {}, exact).state, State::done);
  HttpLimits less;
  less.head_bytes = head.size() - 1;
  const Outcome o = parse(head, less);
  EXPECT_EQ(o.state, State::failed);
  EXPECT_EQ(o.status, 431);
  // The default: a long field, and a head that never ends (pushed whole and
  // in a few pieces; every split of 9000 octets would take long under ASan).
  const std::string long_field = "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
  for (const auto& cuts : std::vector<std::vector<std::size_t>>{{}, {1}, {8191}, {8192}, {8193}, {100, 5000}})
    EXPECT_EQ(push_pieces(long_field, cuts).status, 431);
  EXPECT_EQ(push_pieces(std::string(limits::kMetricsHeadBytes + 1, 'G'), {}).status, 431);
  EXPECT_EQ(push_pieces(std::string(limits::kMetricsHeadBytes, 'G'), {}).state, State::need_more);
  // Leading empty lines count too.
  std::string blank;
  for (std::size_t i = 0; i < limits::kMetricsHeadBytes / 2 + 1; ++i) blank += "\r\n";
  EXPECT_EQ(push_pieces(blank, {}).status, 431);
}

TEST(RequestHead, FieldCountLimit) {
  HttpLimits two;
  two.head_fields = 2;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n", two).state, State::done);
  const Outcome o = parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", two);
  EXPECT_EQ(o.state, State::failed);
  EXPECT_EQ(o.status, 431);
}

TEST(TargetPath, Forms) {
  struct Case {
    std::string target, path;
  };
  for (const Case& c : std::vector<Case>{
           {"/metrics", "/metrics"},
           {"/metrics?name[]=x", "/metrics"},
           {"/", "/"},
           {"http://127.0.0.1:9100/metrics", "/metrics"},
           {"HTTP://host/metrics?x", "/metrics"},
           {"http://host", "/"},
           {"http://host?q", "/"},
           {"https://host/metrics", ""},
           {"*", ""},
           {"host:9100", ""},
           {"metrics", ""},
       })
    EXPECT_EQ(target_path(c.target), c.path) << c.target;
}

RequestHead request(std::string method, std::string target) {
  RequestHead h;
  h.method = std::move(method);
  h.target = std::move(target);
  return h;
}

// Status line, head fields and body of a response.
struct Parsed {
  std::string status_line, head, body;
};
Parsed split_response(const std::string& r) {
  const auto eol = r.find("\r\n");
  const auto end = r.find("\r\n\r\n");
  return {r.substr(0, eol), r.substr(eol + 2, end - eol), r.substr(end + 4)};
}

TEST(MetricsResponse, Get) {
  int renders = 0;
  const auto render = [&] {
    ++renders;
    return std::string("# TYPE a gauge\na 1\n");
  };
  const Parsed p = split_response(metrics_response(request("GET", "/metrics"), render));
  EXPECT_EQ(p.status_line, "HTTP/1.1 200 OK");
  EXPECT_NE(p.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(p.head.find("Content-Length: 19\r\n"), std::string::npos);
  EXPECT_NE(p.head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(p.body, "# TYPE a gauge\na 1\n");
  EXPECT_EQ(renders, 1);
}

TEST(MetricsResponse, HeadHasTheSameHeadAndNoBody) {
  const auto render = [] { return std::string("a 1\n"); };
  const std::string get = metrics_response(request("GET", "/metrics?x"), render);
  const std::string head = metrics_response(request("HEAD", "http://h/metrics"), render);
  EXPECT_EQ(head, get.substr(0, get.size() - 4));
  EXPECT_EQ(split_response(head).body, "");
}

TEST(MetricsResponse, OtherPathsAndMethods) {
  int renders = 0;
  const auto render = [&] {
    ++renders;
    return std::string("a 1\n");
  };
  struct Case {
    std::string method, target, status_line;
  };
  for (const Case& c : std::vector<Case>{
           {"GET", "/", "HTTP/1.1 404 Not Found"},
           {"GET", "/metrics/", "HTTP/1.1 404 Not Found"},
           {"GET", "/metricsx", "HTTP/1.1 404 Not Found"},
           {"GET", "/METRICS", "HTTP/1.1 404 Not Found"},
           {"GET", "*", "HTTP/1.1 404 Not Found"},
           {"POST", "/other", "HTTP/1.1 404 Not Found"},
           {"POST", "/metrics", "HTTP/1.1 405 Method Not Allowed"},
           {"PUT", "/metrics", "HTTP/1.1 405 Method Not Allowed"},
           {"OPTIONS", "/metrics", "HTTP/1.1 405 Method Not Allowed"},
           {"get", "/metrics", "HTTP/1.1 405 Method Not Allowed"},  // methods are case-sensitive
       }) {
    const std::string r = metrics_response(request(c.method, c.target), render);
    const Parsed p = split_response(r);
    EXPECT_EQ(p.status_line, c.status_line) << c.method << " " << c.target;
    EXPECT_EQ(p.head.find("Allow: GET, HEAD\r\n") != std::string::npos, c.status_line.find("405") != std::string::npos);
    EXPECT_NE(p.head.find("Content-Length: " + std::to_string(p.body.size()) + "\r\n"), std::string::npos);
  }
  EXPECT_EQ(renders, 0);
}

TEST(ErrorResponse, StatusLines) {
  EXPECT_EQ(split_response(error_response(400)).status_line, "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(split_response(error_response(431)).status_line, "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(split_response(error_response(505)).status_line, "HTTP/1.1 505 HTTP Version Not Supported");
  EXPECT_NE(error_response(431).find("Connection: close\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mxsec::metrics
