// `loopperf convert IN -o OUT`: reads a pprof file (loopperf's, Go's, Node's pprof package), keeps the
// samples the filters select, and writes the format OUT's name asks for (docs/convert.md).
#include <CLI/CLI.hpp>
#include <cmath>
#include <memory>
#include <optional>

#include "commands.h"
#include "loopperf/common/fs.h"
#include "loopperf/common/log.h"
#include "loopperf/formats/filter.h"
#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/profile/diff_convention.h"

namespace loopperf::cli {

namespace {

struct ConvertArgs {
  std::string input;
  std::string output;
  formats::FilterSpec filter;
  bool phase_roots = false;
  bool no_phase_roots = false;
  std::string value;
  bool quiet = false;
};

int64_t total_of(const profile::Profile& p, size_t index) {
  int64_t sum = 0;
  for (const auto& s : p.samples)
    if (index < s.values.size()) sum += s.values[index];
  return sum;
}

// A diff profile (`loopperf diff -o`, profile/diff_convention.h) holds base's samples negated: summed
// with head's they give head minus base, not a number of samples. So each side is counted on its
// own, as a magnitude.
struct Sides {
  int64_t base = 0;
  int64_t head = 0;
};

Sides sides_of(const profile::Profile& p, std::optional<size_t> index) {
  Sides out;
  for (const auto& s : p.samples) {
    const int64_t v = !index ? 1 : *index < s.values.size() ? s.values[*index] : 0;
    (profile::is_diff_base(s, v) ? out.base : out.head) += v < 0 ? -v : v;
  }
  return out;
}

// Base's own number of samples: `diff -o` scaled them to head's total and noted by how much.
int64_t unscaled_base(const profile::Profile& p, int64_t scaled) {
  auto r = profile::diff_base_scale(p);
  return r ? std::llround(static_cast<double>(scaled) / *r) : scaled;
}

std::string diff_summary(const profile::Profile& in, const profile::Profile& kept) {
  auto idx = in.value_index("samples");
  const std::string unit = idx ? " samples" : " sample records";
  Sides all = sides_of(in, idx), now = sides_of(kept, idx);
  auto count = [&](int64_t part, int64_t whole) {
    return (&kept == &in ? "" : std::to_string(part) + " of ") + std::to_string(whole) + unit;
  };
  if (idx) {
    all.base = unscaled_base(in, all.base);
    now.base = unscaled_base(in, now.base);
  }
  return "diff profile: base " + count(now.base, all.base) + ", head " + count(now.head, all.head);
}

Result<int> run_convert(const ConvertArgs& a) {
  // Everything about the output is checked before the (possibly large) input is read.
  auto fmt = formats::output_format_for(a.output);
  if (!fmt) return fmt.error();
  if (auto st = check_output_writable(a.output); !st) return st.error();
  if (a.phase_roots && a.no_phase_roots)
    return make_error(ErrorCode::kUsage, "--phase-roots and --no-phase-roots contradict each other",
                      "give at most one of them");

  auto in = formats::read_pprof(a.input);
  if (!in) return in.error();
  profile::Profile filtered;
  const profile::Profile* p = &*in;
  if (!a.filter.empty()) {
    auto f = formats::filter_profile(*in, a.filter);
    if (!f) return f.error();
    filtered = std::move(*f);
    p = &filtered;
    if (p->samples.empty())
      log::warn("no sample matches the filters; writing an empty profile",
                "check the values with `pprof -tags " + a.input + "`");
  }

  formats::WriteOptions opt;
  if (a.phase_roots) opt.phase_roots = true;
  if (a.no_phase_roots) opt.phase_roots = false;
  opt.value_type = a.value;
  // --thread has chosen the threads; .cpuprofile must not narrow them again to the main loop.
  opt.all_threads = !a.filter.threads.empty();
  if (auto st = formats::write_profile(*p, a.output, opt); !st) return st.error();

  if (!a.quiet && profile::is_diff_profile(*in)) {
    log::info(diff_summary(*in, *p) + " -> " + a.output + " (" + formats::output_format_name(*fmt) + ")");
  } else if (!a.quiet) {
    size_t kept = p->samples.size();
    std::string what = std::to_string(kept) + " of " + std::to_string(in->samples.size()) + " sample records";
    if (auto idx = p->value_index("samples")) {
      what = std::to_string(total_of(*p, *idx)) + " of " + std::to_string(total_of(*in, *idx)) + " samples";
    }
    log::info(what + " -> " + a.output + " (" + formats::output_format_name(*fmt) + ")");
  }
  return 0;
}

}  // namespace

Command register_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* sub = app.add_subcommand("convert", "Write a profile in another format (speedscope, .cpuprofile, folded, HTML) or filter it");
  sub->add_option("input", args->input, "pprof file: from loopperf record, Go's pprof or Node's pprof package")->required();
  sub->add_option("-o,--output", args->output, "Output file; its name picks the format: " + formats::supported_outputs())
      ->required();
  sub->add_option("--thread", args->filter.threads,
                  "Only these threads: main, worker, pool, loop, a role, a name or a tid (repeatable)");
  sub->add_option("--phase", args->filter.phases, "Only these libuv phases: timers, poll, check ... (repeatable)");
  sub->add_option("--activity", args->filter.activities, "Only these activities: js, native, gc ... (repeatable)");
  sub->add_option("--focus", args->filter.focus, "Only samples with a frame whose name matches this regex");
  sub->add_flag("--phase-roots", args->phase_roots, "A [poll], [timers] ... root frame per phase (default for flame-style outputs)");
  sub->add_flag("--no-phase-roots", args->no_phase_roots, "No synthetic phase root frames");
  sub->add_option("--value", args->value, "Sample type to weigh by (e.g. samples, cpu); default per format");
  sub->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  sub->footer(
      "Examples:\n"
      "  loopperf convert stall.pb.gz -o stall.html\n"
      "  loopperf convert stall.pb.gz -o stall.speedscope.json\n"
      "  loopperf convert stall.pb.gz -o stall.cpuprofile --thread main\n"
      "  loopperf convert in.pb.gz -o main-poll.pb.gz --thread main --phase poll");
  return Command{sub, [args](const CommandContext&) -> Result<int> {
                   if (args->quiet) log::set_level(log::Level::kQuiet);
                   return run_convert(*args);
                 }};
}

}  // namespace loopperf::cli
