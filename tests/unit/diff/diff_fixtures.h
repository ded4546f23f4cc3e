// Synthetic profiles for the diff tests: stacks given root first, with loopperf's labels.
#pragma once

#include <string>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::test {

struct DiffBuilder {
  profile::Profile p;
  DiffBuilder() {
    p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    p.period_type = {"cpu", "nanoseconds"};
    p.period = 1'001'001;
    p.mappings.push_back({0x400000, 0x3000000, 0, "/usr/bin/node", "", true, true, true});
    p.mappings.push_back({0x7f0000000000, 0x7f0000100000, 0, "[jit]", "", true, true, true});
    p.mappings.push_back(
        {0xffffffff81000000, 0xffffffff82000000, 0, "[kernel.kallsyms]", "", true, false, false});
    p.set_meta("mode", "cpu");
    p.set_meta("target.node", "yes");
  }
  uint64_t fn(const std::string& name, const std::string& file, bool js) {
    for (size_t i = 0; i < p.functions.size(); i++)
      if (p.functions[i].name == name && p.functions[i].file == file) return i + 1;
    p.functions.push_back({name, js ? "JS:*" + name + " " + file + ":1:1" : name, file, 1});
    return p.functions.size();
  }
  // "js:name@/path/file.js" is a JavaScript frame, "k:name" a kernel frame, "jit?" unnamed JIT code,
  // anything else a native frame in node.
  uint64_t loc(const std::string& spec) {
    profile::Location l;
    if (spec == "jit?") {
      l.mapping_id = 2;
      l.lines.push_back({fn("[unknown] [jit]", "", false), 0, 0});
    } else if (spec.rfind("js:", 0) == 0) {
      std::string rest = spec.substr(3);
      size_t at = rest.find('@');
      l.mapping_id = 2;
      l.lines.push_back(
          {fn(rest.substr(0, at), at == std::string::npos ? "" : rest.substr(at + 1), true), 3, 0});
    } else if (spec.rfind("k:", 0) == 0) {
      l.mapping_id = 3;
      l.lines.push_back({fn(spec.substr(2), "", false), 0, 0});
    } else {
      l.mapping_id = 1;
      l.lines.push_back({fn(spec, "", false), 0, 0});
    }
    l.address = 0x1000 + p.locations.size();
    p.locations.push_back(l);
    return p.locations.size();
  }
  DiffBuilder& add(std::vector<std::string> root_first, int64_t count, const std::string& phase = "check",
                   const std::string& activity = "js", const std::string& role = "main-loop",
                   int64_t tid = 100) {
    profile::Sample s;
    for (auto it = root_first.rbegin(); it != root_first.rend(); ++it) s.location_ids.push_back(loc(*it));
    s.values = {count, count * 1'001'001};
    s.labels = {{"thread", "node", 0, "", false},
                {"tid", "", tid, "", true},
                {"phase", phase, 0, "", false},
                {"activity", activity, 0, "", false},
                {"role", role, 0, "", false}};
    p.samples.push_back(s);
    return *this;
  }
};

// A benchmark of five JS functions under main(); `counts` are their self samples.
inline profile::Profile bench(std::vector<int64_t> counts, const std::string& phase = "check") {
  static const char* names[] = {"parse", "score", "render", "hash", "sort"};
  DiffBuilder b;
  for (size_t i = 0; i < counts.size() && i < 5; i++)
    b.add({"node::Start", "uv_run", "js:main@/ci/base/bench.js",
           std::string("js:") + names[i] + "@/ci/base/bench.js"},
          counts[i], phase);
  return b.p;
}

}  // namespace loopperf::test
