// Monte Carlo checks of the decision rule under its own model: stacks drawn independently from one
// distribution (H0) must raise an alarm in at most 1 - confidence of the diffs, and a doubled
// function must be found nearly always. Fixed seeds: the outcome is the same on every run.
#include <catch2/catch.hpp>
#include <random>

#include "diff_fixtures.h"
#include "loopperf/diff/diff.h"

using namespace loopperf;

namespace {

// 40 leaf functions under 5 callers; weights fall off like a real profile's (a few hot, a long tail).
struct Program {
  std::vector<std::vector<std::string>> stacks;
  std::vector<double> weights;
  Program() {
    for (int c = 0; c < 5; c++)
      for (int l = 0; l < 8; l++) {
        stacks.push_back({"node::Start", "js:main@/b/app.js", "js:caller" + std::to_string(c) + "@/b/app.js",
                          "js:leaf" + std::to_string(c * 8 + l) + "@/b/app.js"});
        weights.push_back(1.0 / (1 + c * 8 + l));
      }
  }
  profile::Profile draw(std::mt19937& rng, int n, const std::vector<double>& weights) const {
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    std::vector<int64_t> counts(stacks.size(), 0);
    for (int i = 0; i < n; i++) counts[pick(rng)]++;
    test::DiffBuilder b;
    for (size_t i = 0; i < stacks.size(); i++)
      if (counts[i]) b.add(stacks[i], counts[i]);
    return b.p;
  }
};

size_t alarms(const diff::DiffResult& d) { return d.count(diff::Verdict::kRegression) + d.count(diff::Verdict::kImprovement); }

}  // namespace

TEST_CASE("under H0 (same program, independent samples) alarms stay below 1 - confidence") {
  Program prog;
  std::mt19937 rng(20240611);
  const int runs = 300;
  int any = 0;
  for (int r = 0; r < runs; r++) {
    auto base = prog.draw(rng, 1500, prog.weights);
    auto head = prog.draw(rng, 1200 + static_cast<int>(rng() % 600), prog.weights);  // runs differ in length
    auto d = diff::diff_profiles(base, head, {});
    REQUIRE(d.ok());
    any += alarms(*d) > 0;
  }
  // Holm keeps the family-wise rate at or below 1%; the threshold makes it lower still.
  CHECK(any <= runs / 100);
}

TEST_CASE("a leaf at ~12% whose cost doubles is found in nearly every run, and alone") {
  Program prog;
  std::mt19937 rng(7);
  auto doubled = prog.weights;
  doubled[1] *= 2;  // leaf1: 0.5 of 4.2 weight, about 12%
  int found = 0, unrelated = 0;
  const int runs = 100;
  for (int r = 0; r < runs; r++) {
    auto d = diff::diff_profiles(prog.draw(rng, 1500, prog.weights), prog.draw(rng, 1500, doubled), {});
    REQUIRE(d.ok());
    for (const auto& row : d->rows) {
      if (row.verdict != diff::Verdict::kRegression) continue;
      if (row.name == "leaf1 (app.js)") found += row.family == diff::Family::kSelf;
      else if (row.name != "caller0 (app.js)") unrelated++;  // leaf1's caller grows with it
    }
  }
  CHECK(found >= 95);
  CHECK(unrelated == 0);
}
