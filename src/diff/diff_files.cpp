#include "loopperf/diff/diff_files.h"

#include "loopperf/common/fs.h"
#include "loopperf/diff/diff_profile.h"
#include "loopperf/diff/render.h"
#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/profile/diff_convention.h"

namespace loopperf::diff {

namespace {

Result<profile::Profile> read_side(const std::string& path, const char* side) {
  auto p = formats::read_pprof(path);
  if (!p) {
    Error e = p.error();
    e.message = std::string("cannot read the ") + side + " profile: " + e.message;
    return e;
  }
  return p;
}

}  // namespace

Result<DiffOutcome> diff_files(const DiffFilesConfig& a) {
  if (!a.output.empty()) {
    // Only pprof keeps the negative base samples a diff is made of; other writers drop them.
    auto fmt = formats::output_format_for(a.output);
    if (!fmt) return fmt.error();
    if (*fmt != formats::OutputFormat::kPprof)
      return make_error(ErrorCode::kUsage, "-o " + a.output + ": a diff profile is written as pprof only",
                        "name it diff.pb.gz (view it with `pprof -http=: diff.pb.gz`, or `loopperf convert "
                        "diff.pb.gz -o diff.html`)");
    if (auto st = check_output_writable(a.output); !st) return st.error();
  }

  auto base = read_side(a.base, "base");
  if (!base) return base.error();
  auto head = read_side(a.head, "head");
  if (!head) return head.error();
  auto d = diff_profiles(*base, *head, a.options);
  if (!d) {
    Error e = d.error();
    e.message = "cannot diff " + a.base + " and " + a.head + ": " + e.message;
    return e;
  }
  d->base.file = a.base;
  d->head.file = a.head;

  if (!a.output.empty()) {
    auto merged = make_diff_profile(*base, *head);
    if (!merged) return merged.error();
    merged->set_meta(std::string(profile::kDiffBaseFileMeta), a.base);
    merged->set_meta(std::string(profile::kDiffHeadFileMeta), a.head);
    if (auto st = formats::write_pprof(*merged, a.output); !st) return st.error();
  }

  DiffOutcome out;
  out.text = a.format == DiffFormat::kJson       ? render_json(*d, a.all)
             : a.format == DiffFormat::kMarkdown ? render_markdown(*d, a.all)
                                                 : render_text(*d, a.all);
  out.regressions = d->count(Verdict::kRegression);
  return out;
}

}  // namespace loopperf::diff
