#include "loopperf/diff/diff_files.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "loopperf/common/fs.h"
#include "loopperf/diff/diff_profile.h"
#include "loopperf/diff/render.h"
#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/profile/diff_convention.h"

namespace loopperf::diff {

namespace {

bool is_recording_name(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".pb.gz") || ends(".pb") || ends(".pprof");
}

// A side is a pprof file, or a directory of them (one per run: *.pb.gz, *.pb, *.pprof, in name order).
Result<std::vector<std::string>> side_files(const std::string& path, const char* side) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return std::vector<std::string>{path};
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code fec;
    if (is_recording_name(name) && entry.is_regular_file(fec)) files.push_back(entry.path().string());
  }
  if (ec)
    return make_error(ErrorCode::kInput, std::string("cannot list the ") + side + " directory " + path + ": " +
                                             ec.message(),
                      "check that it exists and that you may read it");
  if (files.empty())
    return make_error(ErrorCode::kInput, std::string("the ") + side + " directory " + path + " holds no recordings",
                      "put one pprof file per run in it (*.pb.gz), e.g. loopperf record -o " + path +
                          "/run-1.pb.gz -- CMD");
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<profile::Profile>> read_side(const std::vector<std::string>& files, const char* side) {
  std::vector<profile::Profile> out;
  for (const auto& f : files) {
    auto p = formats::read_pprof(f);
    if (!p) {
      Error e = p.error();
      e.message = std::string("cannot read the ") + side + " profile: " + e.message;
      return e;
    }
    out.push_back(std::move(*p));
  }
  return out;
}

std::vector<const profile::Profile*> pointers(const std::vector<profile::Profile>& v) {
  std::vector<const profile::Profile*> out;
  for (const auto& p : v) out.push_back(&p);
  return out;
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

  auto base_files = side_files(a.base, "base");
  if (!base_files) return base_files.error();
  auto head_files = side_files(a.head, "head");
  if (!head_files) return head_files.error();
  auto base = read_side(*base_files, "base");
  if (!base) return base.error();
  auto head = read_side(*head_files, "head");
  if (!head) return head.error();
  auto d = diff_runs(pointers(*base), pointers(*head), a.options);
  if (!d) {
    Error e = d.error();
    e.message = "cannot diff " + a.base + " and " + a.head + ": " + e.message;
    return e;
  }
  d->base.file = a.base;
  d->base.files = *base_files;
  d->head.file = a.head;
  d->head.files = *head_files;

  if (!a.output.empty()) {
    auto base_all = concat_runs(pointers(*base));
    if (!base_all) return base_all.error();
    auto head_all = concat_runs(pointers(*head));
    if (!head_all) return head_all.error();
    auto merged = make_diff_profile(*base_all, *head_all);
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
