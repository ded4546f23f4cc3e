// Diff profiles (`loopperf diff -o`: head's samples plus base's scaled, negated and labelled
// pprof::base=true) in the shared flattening and the HTML flame graph: detection, base and head
// summed apart per tree node, frames and threads matched across the two runs, widths that nest,
// and the writers that draw one profile refusing them.
#include <catch2/catch.hpp>
#include <string>

#include "../../../src/formats/stacks.h"
#include "json_value.h"
#include "labeled_profile.h"
#include "loopperf/formats/cpuprofile.h"
#include "loopperf/formats/folded.h"
#include "loopperf/formats/html_flamegraph.h"
#include "loopperf/formats/speedscope.h"
#include "loopperf/profile/diff_convention.h"

using namespace loopperf;
using test::Json;
using test::num_label;
using test::str_label;

namespace {

// main → {parse, score, gone} in base, main → {parse, score, fresh} in head. Base ran in another
// checkout (/ci/base/bench.js) and as another process (tid 500); its values are already scaled to
// head's total (20) and negated, as make_diff_profile writes them: base had 5 samples, scale 4.
//            base (scaled)  head
//   parse        8            6
//   score        4           12
//   gone         8            0
//   fresh        0            2
profile::Profile diff_profile() {
  using namespace loopperf::profile;
  Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  p.period_type = {"cpu", "nanoseconds"};
  p.period = 1'000'000;
  p.metadata = {{"target.cmdline", "node /ci/head/bench.js"},
                {"diff.base.file", "base.pb.gz"},
                {"diff.head.file", "head.pb.gz"},
                {"diff.base.cmdline", "node /ci/base/bench.js"},
                {"diff.base_scale", "4"}};
  p.mappings = {{.start = 0x7f0000000000, .limit = 0x7f0000100000, .file = "[jit]", .has_functions = true}};
  // Functions 1-4 are head's (/ci/head/), 5-8 base's (/ci/base/, lines moved by the edit).
  const char* names[] = {"main", "parseRecords", "scoreRecords", "freshHelper", "main", "parseRecords", "scoreRecords",
                         "goneHelper"};
  for (int i = 0; i < 8; i++) {
    const bool base = i >= 4;
    p.functions.push_back({.name = names[i], .file = base ? "/ci/base/bench.js" : "/ci/head/bench.js",
                           .start_line = 10 * (i % 4) + (base ? 3 : 1)});
    p.locations.push_back({.mapping_id = 1,
                           .address = 0x7f0000000000 + 0x100 * static_cast<uint64_t>(i + 1),
                           .lines = {{.function_id = static_cast<uint64_t>(i + 1), .line = 10 * (i % 4) + 2}}});
  }
  auto labels = [](int64_t tid) {
    return std::vector<Label>{str_label("thread", "node"), num_label("tid", tid), str_label("role", "main-loop"),
                              str_label("phase", "outside-loop")};
  };
  auto head = [&](uint32_t leaf, int64_t n) {
    p.samples.push_back({.location_ids = {leaf, 1}, .values = {n, n * 1'000'000}, .labels = labels(100)});
  };
  auto base = [&](uint32_t leaf, int64_t n) {
    Sample s{.location_ids = {leaf, 5}, .values = {-n, -n * 1'000'000}, .labels = labels(500)};
    s.labels.push_back(str_label("pprof::base", "true"));
    p.samples.push_back(std::move(s));
  };
  head(2, 6);
  head(3, 12);
  head(4, 2);
  base(6, 8);
  base(7, 4);
  base(8, 8);
  return p;
}

Json page_data(const std::string& page) {
  const std::string open = "<script id=\"lp-data\" type=\"application/json\">";
  auto from = page.find(open);
  REQUIRE(from != std::string::npos);
  from += open.size();
  return test::parse_json(page.substr(from, page.find("</script>", from) - from));
}

// The tree in preorder, from the page's (frame, child count, width, head, base) tuples, which are
// the preorder read from the end.
struct PageNode {
  std::string name;
  int64_t width, head, base, children;
};
std::vector<PageNode> page_nodes(const Json& d) {
  std::vector<PageNode> out;
  const auto& tree = d["tree"].arr;
  REQUIRE(tree.size() % 5 == 0);
  for (size_t i = tree.size() / 5; i-- > 0;) {
    int64_t f = tree[5 * i].i();
    out.push_back({f < 0 ? "<root>" : d["frames"]["name"][static_cast<size_t>(f)].str, tree[5 * i + 2].i(),
                   tree[5 * i + 3].i(), tree[5 * i + 4].i(), tree[5 * i + 1].i()});
  }
  return out;
}

const PageNode& node_named(const std::vector<PageNode>& nodes, const std::string& name) {
  for (const auto& n : nodes)
    if (n.name == name) return n;
  FAIL("no node " << name);
  return nodes.front();
}

}  // namespace

TEST_CASE("diff: detected by the pprof::base label or a negative value, never in a recording", "[diff-html]") {
  CHECK(profile::is_diff_profile(diff_profile()));
  CHECK_FALSE(profile::is_diff_profile(test::labeled_profile()));  // has a zero-valued sample
  auto unlabelled = test::labeled_profile();
  unlabelled.samples.values(1)[1] = -5;  // pprof -base output: negative, no label, any sample type
  CHECK(profile::is_diff_profile(unlabelled));
  auto labelled = test::labeled_profile();
  labelled.samples.edit(0, [](profile::Sample& s) { s.labels.push_back(str_label("pprof::base", "true")); });
  CHECK(profile::is_diff_profile(labelled));
}

TEST_CASE("diff: the writers that draw one profile refuse it, naming html and pprof", "[diff-html]") {
  const auto p = diff_profile();
  auto check = [](const auto& r, const char* writer) {
    INFO(writer);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kUsage);
    CHECK(r.error().message.find(std::string("diff profile")) != std::string::npos);
    CHECK(r.error().message.find(writer) != std::string::npos);
    CHECK(r.error().hint.find(".html") != std::string::npos);
    CHECK(r.error().hint.find("pprof") != std::string::npos);
  };
  check(formats::to_folded(p), "folded");
  check(formats::to_speedscope(p), "speedscope");
  check(formats::to_cpuprofile(p), ".cpuprofile");
  // The default of the shared flattening is to refuse: a new writer cannot draw head minus base by accident.
  check(formats::detail::collect_stacks(p, {}), "this format");
}

TEST_CASE("diff: split flattening: base samples positive and marked, threads and frames matched across runs",
          "[diff-html]") {
  using formats::detail::DiffMode;
  auto s = formats::detail::collect_stacks(diff_profile(), {.phase_roots = false,
                                                            .value_type = {},
                                                            .preference = formats::detail::ValuePreference::kCount,
                                                            .diff = DiffMode::kSplit,
                                                            .writer = "test"});
  REQUIRE(s.ok());
  CHECK(s->diff);
  CHECK(s->total == 20);
  CHECK(s->base_total == 20);
  // tid 100 (head) and tid 500 (base) are one thread: the same role and name in two processes.
  REQUIRE(s->threads.size() == 1);
  CHECK(s->threads[0].label() == "node");
  CHECK(s->threads[0].total == 20);
  CHECK(s->threads[0].base_total == 20);
  REQUIRE(s->samples.size() == 6);
  int base_samples = 0;
  for (const auto& x : s->samples) {
    CHECK(x.value > 0);
    base_samples += x.base;
  }
  CHECK(base_samples == 3);
  // /ci/base/bench.js:3 and /ci/head/bench.js:1 are one frame; head's file and line are kept.
  int mains = 0, scores = 0;
  for (const auto& f : s->frames) {
    mains += f.name == "main";
    if (f.name == "scoreRecords") {
      scores++;
      CHECK(f.file == "/ci/head/bench.js");
    }
  }
  CHECK(mains == 1);
  CHECK(scores == 1);

  // A negative sample without the label is base too (another tool's diff).
  auto p = diff_profile();
  p.samples.edit(3, [](profile::Sample& s) { s.labels.mutate().pop_back(); });
  auto u = formats::detail::collect_stacks(p, {.phase_roots = false,
                                               .value_type = {},
                                               .preference = formats::detail::ValuePreference::kCount,
                                               .diff = DiffMode::kSplit,
                                               .writer = "test"});
  REQUIRE(u.ok());
  CHECK(u->base_total == 20);
}

TEST_CASE("diff: an ordinary profile flattens as before: tids kept, nothing marked base", "[diff-html]") {
  auto s = formats::detail::collect_stacks(test::labeled_profile(),
                                           {.phase_roots = true,
                                            .value_type = {},
                                            .preference = formats::detail::ValuePreference::kCount,
                                            .diff = formats::detail::DiffMode::kSplit,
                                            .writer = "test"});
  REQUIRE(s.ok());
  CHECK_FALSE(s->diff);
  CHECK(s->base_total == 0);
  REQUIRE(s->threads.size() == 3);
  CHECK(s->threads[0].label() == "node (100)");
  for (const auto& x : s->samples) CHECK_FALSE(x.base);
  CHECK(s->samples.size() == 7);  // the zero-valued sample is dropped
}

TEST_CASE("diff html: per-node base and head in preorder, widths nest, base scale and sides in the data",
          "[diff-html]") {
  auto page = formats::to_html_flamegraph(diff_profile());
  REQUIRE(page.ok());
  CHECK(page->find("<title>diff: node bench.js - loopperf flame graph</title>") != std::string::npos);
  Json d = page_data(*page);
  REQUIRE(d.has("diff"));
  CHECK(d["total"].i() == 20);
  CHECK(d["diff"]["baseTotal"].i() == 20);
  CHECK(d["diff"]["baseScale"].num == Approx(4));
  CHECK(d["diff"]["baseFile"].str == "base.pb.gz");
  CHECK(d["diff"]["headFile"].str == "head.pb.gz");
  CHECK(d["diff"]["baseCmdline"].str == "node /ci/base/bench.js");
  REQUIRE(d["threads"].arr.size() == 1);
  CHECK(d["threads"][0]["total"].i() == 20);
  CHECK(d["threads"][0]["baseTotal"].i() == 20);
  CHECK(d["threads"][0]["basePhases"][0][0].str == "outside-loop");
  CHECK(d["threads"][0]["basePhases"][0][1].i() == 20);

  auto nodes = page_nodes(d);
  CHECK(nodes.front().name == "<root>");
  CHECK(node_named(nodes, "<root>").head == 20);
  CHECK(node_named(nodes, "<root>").base == 20);
  const auto& score = node_named(nodes, "scoreRecords");
  CHECK(score.head == 12);
  CHECK(score.base == 4);
  CHECK(score.width == 12);
  const auto& gone = node_named(nodes, "goneHelper");
  CHECK(gone.head == 0);
  CHECK(gone.base == 8);
  CHECK(gone.width == 8);
  const auto& fresh = node_named(nodes, "freshHelper");
  CHECK(fresh.head == 2);
  CHECK(fresh.base == 0);
  // main: 6 + 12 + 2 head, 8 + 4 + 8 base; its callees need max(8,6) + max(4,12) + 8 + 2 = 30.
  const auto& main = node_named(nodes, "main");
  CHECK(main.head == 20);
  CHECK(main.base == 20);
  CHECK(main.width == 30);

  // Every node is at least as wide as its sides and as its children together (preorder walk).
  std::vector<std::pair<int64_t, int64_t>> open;  // (children left, width left)
  for (const auto& n : nodes) {
    CHECK(n.width >= std::max(n.head, n.base));
    if (!open.empty()) {
      open.back().first--;
      open.back().second -= n.width;
      CHECK(open.back().second >= 0);
    }
    open.emplace_back(n.children, n.width);
    while (!open.empty() && open.back().first == 0) open.pop_back();
  }
  CHECK(open.empty());
}

TEST_CASE("diff html: base scale only for the count type, an ordinary page carries no diff data", "[diff-html]") {
  auto cpu = formats::to_html_flamegraph(diff_profile(), {.phase_roots = true, .value_type = "cpu", .title = {}});
  REQUIRE(cpu.ok());
  Json d = page_data(*cpu);
  CHECK(d["diff"]["baseTotal"].i() == 20'000'000);
  CHECK(d["diff"]["baseScale"].num == 0);  // diff.base_scale is the samples type's: unknown here

  auto plain = formats::to_html_flamegraph(test::labeled_profile());
  REQUIRE(plain.ok());
  Json q = page_data(*plain);
  CHECK_FALSE(q.has("diff"));
  CHECK_FALSE(q.has("head"));
  CHECK_FALSE(q.has("base"));
  CHECK(q["threads"][0].has("total"));
  CHECK_FALSE(q["threads"][0].has("baseTotal"));
}

TEST_CASE("stacks: the call tree is walked from sorted samples without being built, either way", "[stacks]") {
  using namespace loopperf::profile;
  Profile p;
  p.sample_types = {{"samples", "count"}};
  const char* names[] = {"a", "b", "c", "d"};
  for (uint64_t i = 0; i < 4; i++) {
    p.functions.push_back({.name = names[i], .file = "x.js", .start_line = static_cast<int64_t>(i + 1)});
    p.locations.push_back({.address = 0x100 * (i + 1), .lines = {{.function_id = i + 1, .line = 1}}});
  }
  // Leaf first, as pprof lists them; in no particular order, one stack twice, one empty.
  for (std::vector<uint32_t> ids : std::vector<std::vector<uint32_t>>{{2}, {3, 2, 1}, {2, 1}, {4, 1}, {}, {1}, {2, 1}})
    p.samples.push_back({.location_ids = ids, .values = {1}, .labels = {}});
  auto s = formats::detail::collect_stacks(p, {});
  REQUIRE(s.ok());
  formats::detail::sort_for_tree(*s, false);
  auto walk = [&](bool backward) {
    std::string events;
    formats::detail::walk_tree(
        *s, backward, nullptr, [&](uint32_t f) { events += "(" + s->frames[f].name; }, [&] { events += ")"; },
        [&](size_t) { events += "."; });
    return events;
  };
  // Forward: preorder, children by name, a node's own samples before its callees'.
  CHECK(walk(false) == ".(a.(b..(c.))(d.))(b.)");
  // Backward: postorder with children last-first, whose reverse is that preorder.
  CHECK(walk(true) == "(b.)(a(d.)(b(c.)..).).");
}
