// The HTML flame graph page (self-contained, data embedded safely) and the choice of writer by
// output file name. The integration test loads the page in headless Chromium.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "json_value.h"
#include "labeled_profile.h"
#include "loopperf/common/fs.h"
#include "loopperf/formats/html_flamegraph.h"
#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"

using namespace loopperf;
using test::Json;

namespace {

size_t occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

Json page_data(const std::string& page) {
  const std::string open = "<script id=\"lp-data\" type=\"application/json\">";
  auto from = page.find(open);
  REQUIRE(from != std::string::npos);
  from += open.size();
  auto to = page.find("</script>", from);
  REQUIRE(to != std::string::npos);
  return test::parse_json(page.substr(from, to - from));
}

}  // namespace

TEST_CASE("html: one self-contained page: no network, every marker filled", "[html]") {
  auto page = formats::to_html_flamegraph(test::labeled_profile());
  REQUIRE(page.ok());
  CHECK(page->rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page->find("LOOPPERF_") == std::string::npos);
  // Nothing is fetched: no external script, style, font or image, no network API calls.
  std::regex external(R"((src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?https?:|fetch\(|XMLHttpRequest)",
                      std::regex::icase);
  CHECK_FALSE(std::regex_search(*page, external));
  CHECK(occurrences(*page, "<script") == 2);  // the data and the viewer
  CHECK(occurrences(*page, "</script>") == 2);
  CHECK(page->find("<title>node app.js --port=8080 - loopperf flame graph</title>") != std::string::npos);
}

TEST_CASE("html: the embedded tree: threads, phase roots, totals", "[html]") {
  auto page = formats::to_html_flamegraph(test::labeled_profile());
  REQUIRE(page.ok());
  Json d = page_data(*page);
  CHECK(d["total"].i() == 18);
  CHECK(d["valueType"].str == "samples");
  CHECK(d["periodNs"].i() == 1'000'000);
  REQUIRE(d["threads"].arr.size() == 3);
  CHECK(d["threads"][0]["label"].str == "node (100)");
  CHECK(d["threads"][0]["role"].str == "main-loop");
  CHECK(d["threads"][0]["total"].i() == 12);
  // Phase totals in loop order.
  REQUIRE(d["threads"][0]["phases"].arr.size() == 2);
  CHECK(d["threads"][0]["phases"][0][0].str == "timers");
  CHECK(d["threads"][0]["phases"][0][1].i() == 10);
  CHECK(d["threads"][0]["phases"][1][0].str == "poll");

  // (frame, child count, total) triples, the preorder read from the end.
  std::vector<int64_t> tree;
  const auto& tuples = d["tree"].arr;
  REQUIRE(tuples.size() % 3 == 0);
  for (size_t i = tuples.size() / 3; i-- > 0;)
    for (size_t k = 0; k < 3; k++) tree.push_back(tuples[3 * i + k].i());
  CHECK(tree[0] == -1);          // the root
  CHECK(tree[1] == 3);           // three threads under it
  CHECK(tree[2] == 18);          // holding everything
  const auto& names = d["frames"]["name"].arr;
  CHECK(names[static_cast<size_t>(tree[3])].str == "node (100)");  // preorder: main thread first
  CHECK(names[static_cast<size_t>(tree[6])].str == "[timers]");
  // Every node's total is at least the sum of its children's: walk the preorder triples.
  std::vector<std::pair<int64_t, int64_t>> open;  // (children left, total left)
  for (size_t i = 0; i < tree.size(); i += 3) {
    if (!open.empty()) {
      open.back().first--;
      open.back().second -= tree[i + 2];
      CHECK(open.back().second >= 0);
    }
    open.emplace_back(tree[i + 1], tree[i + 2]);
    while (!open.empty() && open.back().first == 0) open.pop_back();
  }
  CHECK(open.empty());
}

TEST_CASE("html: frame names cannot break out of the data element", "[html]") {
  auto p = test::labeled_profile();
  p.functions[1].name = "</script><script>alert(1)</script>";
  p.metadata = {{"target.cmdline", "node <b>&\"x\""}};
  auto page = formats::to_html_flamegraph(p);
  REQUIRE(page.ok());
  CHECK(occurrences(*page, "</script>") == 2);
  CHECK(page->find("<h1 id=\"lp-title\">node &lt;b&gt;&amp;&quot;x&quot;</h1>") != std::string::npos);
  Json d = page_data(*page);
  bool found = false;
  for (const auto& n : d["frames"]["name"].arr) found |= n.str.find("alert(1)") != std::string::npos;
  CHECK(found);
}

TEST_CASE("output: the file name picks the writer, unknown endings list the supported ones", "[output]") {
  using formats::OutputFormat;
  CHECK(*formats::output_format_for("a.pb.gz") == OutputFormat::kPprof);
  CHECK(*formats::output_format_for("a.pprof") == OutputFormat::kPprof);
  CHECK(*formats::output_format_for("a.speedscope.json") == OutputFormat::kSpeedscope);
  CHECK(*formats::output_format_for("a.cpuprofile") == OutputFormat::kCpuprofile);
  CHECK(*formats::output_format_for("a.folded") == OutputFormat::kFolded);
  CHECK(*formats::output_format_for("a.collapsed") == OutputFormat::kFolded);
  CHECK(*formats::output_format_for("dir.x/a.html") == OutputFormat::kHtml);
  auto bad = formats::output_format_for("a.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kUsage);
  for (const char* s : {".pb.gz", ".speedscope.json", ".cpuprofile", ".folded", ".html"})
    CHECK(bad.error().hint.find(s) != std::string::npos);
}

TEST_CASE("output: write_profile writes every format atomically, pprof reads back", "[output]") {
  auto dir = std::filesystem::temp_directory_path() / ("lp-out-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = test::labeled_profile();
  for (const char* name : {"p.pb.gz", "p.speedscope.json", "p.cpuprofile", "p.folded", "p.html"}) {
    INFO(name);
    std::string path = (dir / name).string();
    REQUIRE(formats::write_profile(p, path).ok());
    auto bytes = read_small_file(path);
    REQUIRE(bytes);
    CHECK(bytes->size() > 100);
  }
  auto back = formats::read_pprof((dir / "p.pb.gz").string());
  REQUIRE(back.ok());
  // The reader merges identical samples (the fixture repeats one): the totals come back whole.
  CHECK(back->samples.size() <= p.samples.size());
  auto total = [](const profile::Profile& q) {
    int64_t n = 0;
    for (const auto& s : q.samples) n += s.values[0];
    return n;
  };
  CHECK(total(*back) == total(p));
  // Options reach the writers.
  REQUIRE(formats::write_profile(p, (dir / "q.folded").string(), {.phase_roots = false, .value_type = {}, .thread = {}}).ok());
  CHECK(read_small_file((dir / "q.folded").string())->find("[timers]") == std::string::npos);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir)) left.push_back(e.path().filename().string());
  CHECK(left.size() == 6);  // no temporary files left behind
  std::filesystem::remove_all(dir);
}
