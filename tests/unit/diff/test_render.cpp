#include <catch2/catch.hpp>

#include "diff_fixtures.h"
#include "loopperf/diff/diff.h"
#include "loopperf/diff/render.h"

using namespace loopperf;
using test::bench;

namespace {
diff::DiffResult doubled() {
  auto d =
      diff::diff_profiles(bench({3000, 3000, 2000, 1000, 1000}), bench({3000, 6000, 2000, 1000, 1000}), {});
  REQUIRE(d.ok());
  d->base.file = "base.pb.gz";
  d->head.file = "head.pb.gz";
  return std::move(*d);
}
}  // namespace

TEST_CASE("text: verdict, shares, change, z and the rule that decided") {
  std::string t = diff::render_text(doubled(), false);
  CHECK(t.find("loopperf diff: 2 regressions, 0 improvements") == 0);
  CHECK(t.find("REGRESSION      self                  score (bench.js)") != std::string::npos);
  CHECK(t.find("30.0%   46.2%   +16.2 pp") != std::string::npos);
  CHECK(t.find("Holm-corrected over") != std::string::npos);
  CHECK(t.find("relative        self                  parse (bench.js)") != std::string::npos);
  CHECK(t.find("skipped: loop utilization") != std::string::npos);
  std::string none = diff::render_text(*diff::diff_profiles(bench({50, 50}), bench({50, 50}), {}), false);
  CHECK(none.find("No share changed by 2.0 pp or more") != std::string::npos);
}

TEST_CASE("markdown: one table row per reported change, pipes escaped") {
  auto d = doubled();
  d.rows[0].name = "operator|(a, b)";
  std::string m = diff::render_markdown(d, false);
  CHECK(m.find("### loopperf diff: 2 regressions") == 0);
  CHECK(m.find(
            "| | what | kind | base | head | change | z | p (Holm) |\n|---|---|---|--:|--:|--:|--:|--:|\n") !=
        std::string::npos);
  CHECK(m.find("| 🔴 **regression** | `operator\\|(a, b)` |") != std::string::npos);
  CHECK(m.find("**+16.2 pp**") != std::string::npos);
  CHECK(m.find("<sub>base: base.pb.gz (10000 samples)") != std::string::npos);
}

TEST_CASE("json: documented fields, --all lists every tested row") {
  auto d = doubled();
  std::string j = diff::render_json(d, false);
  for (const char* field :
       {"\"version\": 1", "\"threshold\": 0.02", "\"confidence\": 0.99", "\"correction\": \"holm\"",
        "\"regressions\": 2", "\"verdict\": \"regression\"", "\"family\": \"self\"",
        "\"name\": \"score (bench.js)\"", "\"rescaled_change\"", "\"p_adjusted\"", "\"max_abs_z\"",
        "\"scale_rows\": 4", "\"rescaled_z\"", "\"skipped\""})
    CHECK(j.find(field) != std::string::npos);
  auto same = diff::diff_profiles(bench({3000, 3000, 2000}), bench({3000, 3000, 2000}), {});
  CHECK(diff::render_json(*same, false).find("\"rows\": []") != std::string::npos);
  CHECK(diff::render_json(*same, true).find("\"verdict\": \"not-significant\"") != std::string::npos);
}
