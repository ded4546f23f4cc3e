// Renderings of a diff: a terminal table, a Markdown table for a pull-request comment, and JSON with
// stable field names for scripts (docs/diff.md documents all three).
#pragma once

#include <string>

#include "loopperf/diff/diff.h"

namespace loopperf::diff {

// `all`: every tested row, not only the reported ones.
std::string render_text(const DiffResult& d, bool all);
std::string render_markdown(const DiffResult& d, bool all);
std::string render_json(const DiffResult& d, bool all);

}  // namespace loopperf::diff
