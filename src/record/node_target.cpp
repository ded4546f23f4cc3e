#include "loopperf/record/node_target.h"

#include <string>

#include "loopperf/symbols/elf_symbolizer.h"

namespace loopperf::record {

Result<process::ProcessInfo> inspect_target(pid_t pid) {
  auto info = process::inspect(pid);
  if (!info || info->is_node) return info;
  // /proc/PID/exe: the file the process runs, also when it is deleted or in another mount namespace.
  auto elf = symbols::ElfFile::open_path("/proc/" + std::to_string(pid) + "/exe");
  if (elf) info->is_node = (*elf)->exports_function("napi_module_register");
  return info;
}

}  // namespace loopperf::record
