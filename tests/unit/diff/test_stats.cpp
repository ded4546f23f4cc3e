#include <catch2/catch.hpp>
#include <cmath>

#include "loopperf/diff/diff.h"
#include "loopperf/diff/stats.h"

using namespace loopperf;

TEST_CASE("two_proportion_test: pooled z and two-sided p against hand-computed values") {
  // 50/100 vs 70/100: pooled 0.6, se = sqrt(0.6 * 0.4 * 0.02) = 0.069282, z = 0.2 / se.
  auto t = diff::two_proportion_test(50, 100, 70, 100);
  CHECK(t.z == Approx(2.886751).epsilon(1e-6));
  CHECK(t.p == Approx(0.0038924).epsilon(1e-4));
  CHECK(diff::two_proportion_test(70, 100, 50, 100).z == Approx(-2.886751).epsilon(1e-6));
  auto same = diff::two_proportion_test(30, 100, 60, 200);
  CHECK(same.z == Approx(0).margin(1e-12));
  CHECK(same.p == Approx(1));
  auto none = diff::two_proportion_test(0, 100, 0, 200);  // no variance: nothing to test
  CHECK(none.z == 0);
  CHECK(none.p == 1);
  CHECK(diff::two_proportion_test(100, 100, 200, 200).p == 1);
}

TEST_CASE("normal tail and its inverse") {
  CHECK(diff::normal_two_sided_p(1.959964) == Approx(0.05).epsilon(1e-5));
  CHECK(diff::normal_two_sided_p(-2.575829) == Approx(0.01).epsilon(1e-5));
  CHECK(diff::normal_critical_z(0.05) == Approx(1.959964).epsilon(1e-6));
  CHECK(diff::normal_critical_z(0.01 / 50) == Approx(3.719016).epsilon(1e-5));
}

TEST_CASE("holm_adjust: step-down, monotone, capped, in input order") {
  // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> raised to 0.06.
  auto a = diff::holm_adjust({0.01, 0.04, 0.03, 0.005});
  REQUIRE(a.size() == 4);
  CHECK(a[0] == Approx(0.03));
  CHECK(a[1] == Approx(0.06));
  CHECK(a[2] == Approx(0.06));
  CHECK(a[3] == Approx(0.02));
  CHECK(diff::holm_adjust({0.5, 0.9})[1] == 1);
  CHECK(diff::holm_adjust({}).empty());
}

TEST_CASE("median") {
  CHECK(!diff::median({}).has_value());
  CHECK(*diff::median({3, 1, 2}) == 2);
  CHECK(*diff::median({4, 1, 2, 3}) == 2.5);
}

TEST_CASE("parse_percent reads percentage points with or without %") {
  CHECK(*diff::parse_percent("2%", "--threshold", "2%") == Approx(0.02));
  CHECK(*diff::parse_percent("2", "--threshold", "2%") == Approx(0.02));
  CHECK(*diff::parse_percent("0.5 %", "--threshold", "2%") == Approx(0.005));
  CHECK(*diff::parse_percent("99.9%", "--confidence", "99%") == Approx(0.999));
  for (const char* bad : {"", "%", "0", "100", "-1%", "2pp", "abc"}) {
    auto r = diff::parse_percent(bad, "--threshold", "2%");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kUsage);
    CHECK(r.error().hint.find("--threshold 2%") != std::string::npos);
  }
}

TEST_CASE("estimate_scale: the unchanged rows' ratio, robust to the changed ones") {
  // Five functions of 30/30/20/10/10% in base; the first doubles: the others are scaled by 10/13.
  std::vector<diff::ShareCounts> rows = {{3000, 10000, 6000, 13000}, {3000, 10000, 3000, 13000},
                                         {2000, 10000, 2000, 13000}, {1000, 10000, 1000, 13000},
                                         {1000, 10000, 1000, 13000}, {5, 10000, 9, 13000}};
  auto s = diff::estimate_scale(rows, 10, 3);
  CHECK(s.value == Approx(10.0 / 13));
  CHECK(s.rows == 4);  // the doubled one disagrees; the tiny one is below min_count
  CHECK(s.var_log > 0);
  CHECK(std::sqrt(s.var_log) < 0.03);
  CHECK_FALSE(s.median);
  // Nothing to rest on: scale 1, as if shares were compared directly.
  auto none = diff::estimate_scale({{5, 100, 5, 100}}, 10, 3);
  CHECK(none.value == 1);
  CHECK(none.rows == 0);
}

TEST_CASE("estimate_scale: the seed is weighted by samples, so small rows cannot pull it to a changed one") {
  // Three runs a side on a loaded runner (base 3771 samples, head 4810), scoreRecords doubled: the
  // four big unchanged functions shrink to 0.75 of their share; six small kernel and start-up rows
  // grew a little (more wall time, more timer interrupts), like scoreRecords. An unweighted median
  // of the eleven ratios is a small row's ~1.4; with run noise near 0 nothing else then agreed, and
  // the scale locked on 1.5 with scoreRecords itself among the rows it rested on.
  std::vector<diff::ShareCounts> rows = {{1534, 3771, 1464, 4810}, {377, 3771, 335, 4810}, {260, 3771, 245, 4810},
                                         {168, 3771, 161, 4810},   {1128, 3771, 2170, 4810}};
  for (int i = 0; i < 6; i++) rows.push_back({12, 3771, 21, 4810});
  auto s = diff::estimate_scale(rows, 10, 3, 0);
  CHECK(s.value == Approx(0.75).epsilon(0.03));
  CHECK_FALSE(s.median);
  CHECK(diff::rescaled_test(rows[4], s).z > 10);
  CHECK(std::fabs(diff::rescaled_test(rows[0], s).z) < 3);
}

TEST_CASE("estimate_scale: rows that agree on nothing keep their median, with a wide error") {
  // A CI run of tests/integration/diff.test.js (scoreRecords doubled): besides scoreRecords, the
  // head run also had parseRecords and sortRecords well below their base counts (run-to-run
  // variance), so no three rows agreed. Scale 1 then made parseRecords an "improvement" of -12 pp.
  //                                     parse              score              render             hash               sort
  std::vector<diff::ShareCounts> rows = {{532, 1247, 465, 1526}, {330, 1247, 690, 1526}, {150, 1247, 162, 1526},
                                         {100, 1247, 104, 1526}, {72, 1247, 30, 1526}};
  auto s = diff::estimate_scale(rows, 10, 3, 0.02);
  REQUIRE(s.median);
  CHECK(s.rows == 5);
  CHECK(s.value > 0.7);
  CHECK(s.value < 0.9);
  CHECK(std::sqrt(s.var_log) > 0.05);  // one row's error, not an agreeing set's
  // parseRecords moved with everything else, within that error: not a change of its own.
  CHECK(std::fabs(diff::rescaled_test(rows[0], s, 0.02).z) < 2);
  // The doubled function still stands out far beyond it.
  CHECK(diff::rescaled_test(rows[1], s, 0.02).z > 4);
}

TEST_CASE("rescaled_test: scale 1 is the pooled two-proportion test, a matching scale gives z 0") {
  diff::ShareCounts c{50, 100, 70, 100};
  CHECK(diff::rescaled_test(c, {}).z == Approx(diff::two_proportion_test(50, 100, 70, 100).z));
  diff::Scale s{1.4, 0, 3};
  CHECK(diff::rescaled_test(c, s).z == Approx(0).margin(1e-12));
  // 0% -> 100% still has a variance.
  CHECK(diff::rescaled_test({0, 1000, 1000, 1000}, {}).z > 30);
  // The scale's uncertainty widens the error.
  diff::Scale loose{1.0, 0.01, 3};
  CHECK(std::fabs(diff::rescaled_test(c, loose).z) < std::fabs(diff::rescaled_test(c, {}).z));
}

TEST_CASE("Student's t tail and the incomplete beta function against tabled values") {
  CHECK(diff::regularized_beta(0.5, 2, 3) == Approx(0.6875).epsilon(1e-10));  // 11/16
  CHECK(diff::regularized_beta(0.2, 1, 1) == Approx(0.2).epsilon(1e-12));
  CHECK(diff::regularized_beta(0, 2, 2) == 0);
  CHECK(diff::regularized_beta(1, 2, 2) == 1);
  // Two-sided 5% critical values of t: 12.706 (1 df), 2.776 (4), 2.228 (10); 1% at 4 df: 4.604.
  CHECK(diff::student_t_two_sided_p(12.706, 1) == Approx(0.05).epsilon(1e-3));
  CHECK(diff::student_t_two_sided_p(2.776, 4) == Approx(0.05).epsilon(1e-3));
  CHECK(diff::student_t_two_sided_p(-2.228, 10) == Approx(0.05).epsilon(1e-3));
  CHECK(diff::student_t_two_sided_p(4.604, 4) == Approx(0.01).epsilon(1e-3));
  CHECK(diff::student_t_two_sided_p(0, 3) == Approx(1));
  // Many degrees of freedom: the normal tail.
  CHECK(diff::student_t_two_sided_p(1.959964, 1e6) == Approx(0.05).epsilon(1e-4));
}

namespace {

std::vector<diff::RunCount> runs_of(std::vector<double> shares, double n = 1000) {
  std::vector<diff::RunCount> out;
  for (double s : shares) out.push_back({s * n, n});
  return out;
}

}  // namespace

TEST_CASE("relative_run_excess: zero where runs vary as sampling does, the extra spread where they vary more") {
  CHECK(!diff::relative_run_excess(runs_of({0.3})).has_value());          // one run: nothing to measure
  CHECK(!diff::relative_run_excess(runs_of({0.001, 0.002})).has_value());  // below 1%
  // Identical runs: less spread than sampling gives, a negative excess (the median over rows decides).
  CHECK(*diff::relative_run_excess(runs_of({0.3, 0.3, 0.3})) < 0);
  // 30% +- 3 pp on 1000 samples a run: variance 9e-4 / 0.702 against sampling's 2.1e-4.
  double e = *diff::relative_run_excess(runs_of({0.27, 0.30, 0.33}));
  CHECK(e == Approx((9e-4 / 0.702 - 0.21 / 1000) / 0.09).epsilon(0.01));
}

TEST_CASE("run_means_test: Welch on run shares, each side's variance moderated by the prior") {
  // Unchanged: the same shares on both sides.
  auto same = diff::run_means_test(runs_of({0.30, 0.31, 0.29}), runs_of({0.31, 0.29, 0.30}), {}, 0, 4);
  CHECK(same.z == Approx(0).margin(1e-9));
  CHECK(same.p == Approx(1));
  // Doubled (30% -> 46%) on three runs a side: clear, with Student's degrees of freedom.
  auto doubled = diff::run_means_test(runs_of({0.30, 0.31, 0.29}), runs_of({0.46, 0.47, 0.45}), {}, 0, 4);
  CHECK(doubled.z > 10);
  CHECK(doubled.df > 6);
  CHECK(doubled.p < 1e-6);
  // One odd run in head (37.5% among 29.5-31%) widens its own row: what a single pair would call a
  // 6 pp change is within the runs' own spread.
  auto odd = diff::run_means_test(runs_of({0.31, 0.315, 0.32}), runs_of({0.295, 0.375, 0.31}), {}, 0, 4);
  CHECK(std::fabs(odd.z) < 1.5);
  // Runs that agree more closely than sampling allows cannot make a tiny error: the prior (sampling,
  // worth 4 runs) holds it up. 1000 samples a run: se of one run's share ~1.45 pp at 30%.
  auto tight = diff::run_means_test(runs_of({0.300, 0.300, 0.300}), runs_of({0.315, 0.315, 0.315}), {}, 0, 4);
  CHECK(tight.z < 3);
  // A side of one run has the prior alone; with no prior weight at all its variance is 0.
  auto one = diff::run_means_test(runs_of({0.30}), runs_of({0.30, 0.32, 0.31}), {}, 0, 4);
  CHECK(one.df > 0);
  CHECK(one.z == Approx(0.01 / std::sqrt(0.3 * 0.7 / 1000 * (4 + 0) / 4 + (4 * 0.31 * 0.69 / 1000 + 2 * 1e-4) / 6 / 3))
                     .epsilon(0.05));
  // A scale k compares head with k x base: a matching scale is no change.
  diff::Scale k;
  k.value = 0.5;
  auto scaled = diff::run_means_test(runs_of({0.40, 0.40}), runs_of({0.20, 0.20}), k, 0, 4);
  CHECK(scaled.z == Approx(0).margin(1e-9));
}

TEST_CASE("RunNoiseTrend: each share size gets the run noise of rows of its size") {
  diff::RunNoiseTrend trend;
  CHECK(trend.overall() == 0);
  CHECK(trend.at(0.3) == 0);
  // Big rows vary by 2% of their share, small ones by 30% of theirs (a loaded runner: start-up and
  // kernel rows against a benchmark's functions).
  for (int i = 0; i < 12; i++) trend.add(0.25 + 0.02 * i, 0.02 * 0.02);
  for (int i = 0; i < 12; i++) trend.add(0.01 + 0.004 * i, 0.3 * 0.3);
  CHECK(trend.points() == 24);
  CHECK(trend.at(0.4) == Approx(0.02));
  CHECK(trend.at(0.02) == Approx(0.3));
  // Over all rows: the median of 24 falls between the two kinds.
  CHECK(trend.overall() == Approx(std::sqrt((0.02 * 0.02 + 0.3 * 0.3) / 2)));
  // Too few points to tell sizes apart: every size gets the overall level.
  diff::RunNoiseTrend few;
  for (int i = 0; i < 4; i++) few.add(0.4, 0.0004), few.add(0.02, 0.09);
  CHECK(few.at(0.4) == Approx(few.overall()));
  // Runs that vary less than sampling says: 0, never a negative variance's root.
  diff::RunNoiseTrend calm;
  for (int i = 0; i < 10; i++) calm.add(0.1 + 0.01 * i, -0.001);
  CHECK(calm.at(0.15) == 0);
  CHECK(calm.overall() == 0);
}
