#pragma once

#include <string_view>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::report {

// A sample's stack with inlined frames expanded, leaf first.
struct ExpandedFrame {
  const profile::Function* fn = nullptr;
  const profile::Mapping* mapping = nullptr;
  std::string_view name;
  int64_t line = 0;
  profile::FrameKind kind = profile::FrameKind::kUnknown;
};

std::vector<ExpandedFrame> expand(const profile::Profile& p, const profile::SampleView& s);

// The JavaScript API a V8 builtin implements ("JSON.parse" for v8::internal::Builtin_JsonParse),
// "" for builtins that are V8's own (js_api.cpp).
std::string_view js_api_of(std::string_view name);
// OpenSSL, as a shared library or linked into node (by its function prefixes).
bool is_openssl(std::string_view name, std::string_view mapping_file);

}  // namespace loopperf::report
