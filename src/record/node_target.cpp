#include "loopperf/record/node_target.h"

#include <string>

#include "loopperf/symbols/elf_symbolizer.h"

namespace loopperf::record {

Result<process::ProcessInfo> inspect_target(pid_t pid) {
  auto info = process::inspect(pid);
  if (!info) return info;
  if (info->proc_pid != info->pid) {
    // The leader has exited while other threads run on (ProcessInfo::proc_pid). A node process's
    // loop and the names of its JavaScript live with its main thread, which is gone: what runs on
    // is native code to loopperf, never given phases no loop has.
    info->is_node = false;
    return info;
  }
  if (info->is_node) return info;
  // /proc/PID/exe: the file the process runs, also when it is deleted or in another mount namespace.
  auto elf = symbols::ElfFile::open_path("/proc/" + std::to_string(info->proc_pid) + "/exe");
  if (elf) info->is_node = (*elf)->exports_function("napi_module_register");
  return info;
}

std::string leader_exited_note(const process::ProcessInfo& info) {
  return "note: pid " + std::to_string(info.pid) +
         "'s main thread has exited (a zombie leader) while other threads run on: they are read "
         "through thread " +
         std::to_string(info.proc_pid) +
         ", as native code (a node process's loop phases and JavaScript names need its main thread)";
}

}  // namespace loopperf::record
