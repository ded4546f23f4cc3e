// The HTML flame graph's page, style and script, embedded at build time from the files beside this
// header (src/formats/CMakeLists.txt generates the definitions).
#pragma once

namespace loopperf::formats::detail {

extern const char* const kFlamegraphHtml;  // has markers /*LOOPPERF_STYLE*/, /*LOOPPERF_SCRIPT*/,
                                           // __LOOPPERF_TITLE__ and __LOOPPERF_DATA__
extern const char* const kFlamegraphCss;
extern const char* const kFlamegraphJs;

}  // namespace loopperf::formats::detail
