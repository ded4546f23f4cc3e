#include "loopperf/formats/convert.h"

#include <cmath>
#include <optional>

#include "loopperf/common/fs.h"
#include "loopperf/common/log.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/profile/diff_convention.h"
#include "loopperf/profile/processes.h"

namespace loopperf::formats {

namespace {

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

// `all`: the input's sides before filtering; `filtered`: whether `kept` is a part of it.
std::string diff_summary(const profile::Profile& kept, Sides all, bool filtered) {
  auto idx = kept.value_index("samples");
  const std::string unit = idx ? " samples" : " sample records";
  Sides now = sides_of(kept, idx);
  auto count = [&](int64_t part, int64_t whole) {
    return (filtered ? std::to_string(part) + " of " : "") + std::to_string(whole) + unit;
  };
  if (idx) {
    all.base = unscaled_base(kept, all.base);
    now.base = unscaled_base(kept, now.base);
  }
  return "diff profile: base " + count(now.base, all.base) + ", head " + count(now.head, all.head);
}

}  // namespace

Result<std::string> convert_file(const ConvertConfig& a) {
  // Everything about the output is checked before the (possibly large) input is read.
  auto fmt = output_format_for(a.output);
  if (!fmt) return fmt.error();
  if (auto st = check_output_writable(a.output); !st) return st.error();

  auto in = read_pprof(a.input);
  if (!in) return in.error();
  FilterSpec spec = a.filter;
  // A .cpuprofile shows one thread: of a recording of several processes, the launched process's
  // main loop unless --pid picks another (the summary says which).
  std::string which;
  if (const auto pids = profile::process_ids(*in);
      *fmt == OutputFormat::kCpuprofile && spec.pid == 0 && spec.threads.empty() && pids.size() > 1) {
    spec.pid = pids.front();
    which = " (process " + std::to_string(pids.front()) + ", the launched one, of " + std::to_string(pids.size()) +
            ": --pid picks another)";
  }
  // What the summary says of the input is counted first: filtering works in place, so that a large
  // profile is not held twice.
  const bool diff = profile::is_diff_profile(*in);
  const auto samples_index = in->value_index("samples");
  const Sides all_sides = diff ? sides_of(*in, samples_index) : Sides{};
  const int64_t all_samples = samples_index ? total_of(*in, *samples_index) : 0;
  const size_t all_records = in->samples.size();
  profile::Profile p = std::move(*in);
  if (!spec.empty()) {
    auto f = filter_profile(std::move(p), spec);
    if (!f) return f.error();
    p = std::move(*f);
    if (p.samples.empty())
      log::warn("no sample matches the filters; writing an empty profile",
                "check the values with `pprof -tags " + a.input + "`");
  }
  std::string summary;
  if (diff) summary = diff_summary(p, all_sides, !spec.empty());
  else if (samples_index)
    summary = std::to_string(total_of(p, *samples_index)) + " of " + std::to_string(all_samples) + " samples";
  else
    summary = std::to_string(p.samples.size()) + " of " + std::to_string(all_records) + " sample records";

  WriteOptions opt = a.write;
  // --thread has chosen the threads; .cpuprofile must not narrow them again to the main loop.
  opt.all_threads = !a.filter.threads.empty();
  if (auto st = write_profile(p, a.output, opt); !st) return st.error();
  return summary + " -> " + a.output + " (" + output_format_name(*fmt) + ")" + which;
}

}  // namespace loopperf::formats
