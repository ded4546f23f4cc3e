#include "loopperf/record/config.h"

namespace loopperf::record {

std::string default_output_name(pid_t pid, std::time_t now) {
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return "loopperf-" + std::to_string(pid) + "-" + stamp + ".pb.gz";
}

}  // namespace loopperf::record
