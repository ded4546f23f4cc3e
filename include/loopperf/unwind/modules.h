// The target's code modules as the unwinder needs them: runtime ranges, the ELF file mapped
// read-only (so unwind tables and code are read from the file, never from the live process), the
// load bias, and where .eh_frame_hdr is.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loopperf/process/maps.h"
#include "loopperf/process/target_files.h"

namespace loopperf::unwind {

class ElfImage {
 public:
  // Maps the file read-only; nullptr when it is not a usable ELF64 file.
  static std::unique_ptr<ElfImage> open(int fd, const std::string& path);
  ~ElfImage();
  ElfImage(const ElfImage&) = delete;
  ElfImage& operator=(const ElfImage&) = delete;

  const std::string& path() const { return path_; }
  // File bytes for [vaddr, vaddr+n) through the PT_LOAD headers; false when not in the file.
  bool read_vaddr(uint64_t vaddr, void* out, size_t n) const;
  // vaddr of the PT_LOAD segment holding file `offset` minus that offset's distance, for the bias.
  bool vaddr_of_offset(uint64_t offset, uint64_t* vaddr) const;
  uint64_t eh_frame_hdr_vaddr() const { return eh_frame_hdr_; }  // 0 when absent
  size_t eh_frame_hdr_size() const { return eh_frame_hdr_size_; }

 private:
  ElfImage() = default;
  struct Load {
    uint64_t offset, vaddr, filesz;
  };
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::vector<Load> loads_;
  uint64_t eh_frame_hdr_ = 0;
  size_t eh_frame_hdr_size_ = 0;
  mutable bool truncated_ = false;  // a read hit a page the file no longer has
};

struct Module {
  std::string path;
  std::shared_ptr<ElfImage> image;  // null for JIT / anonymous code
  uint64_t bias = 0;                // runtime address = vaddr + bias
  bool jit = false;                 // anonymous executable memory (V8 code space)
  bool fp_trusted = false;          // keeps frame pointers: follow rbp, do not ask for CFI
  // From .eh_frame_hdr, in runtime addresses, for libunwind's remote table lookup.
  uint64_t hdr_runtime = 0, table_runtime = 0, fde_count = 0;
  uint64_t text_start = 0, text_end = 0;  // runtime range of its executable mapping(s)
  bool c_library = false;  // libc, libpthread, musl's loader: reached by frame pointer, followed by it
  // Has CFI and is not known to keep frame pointers (not the C library): a frame-pointer chain
  // through it is not to be trusted beyond it (hybrid.h). Set once, asked of every chain frame.
  bool cfi_without_fp = false;
};

class ModuleMap {
 public:
  // `files`: the target's registry (shared with the symbolizer), which opens every module file.
  // `trusted_fp_path`: a binary known to keep frame pointers (the node executable), or "".
  ModuleMap(std::shared_ptr<process::TargetFiles> files, std::string trusted_fp_path)
      : files_(std::move(files)), trusted_fp_path_(std::move(trusted_fp_path)) {}
  // With a registry of its own (tests, tools that only unwind).
  ModuleMap(pid_t pid, std::string trusted_fp_path)
      : ModuleMap(std::make_shared<process::TargetFiles>(pid), std::move(trusted_fp_path)) {}

  // Refreshes the registry's maps (a snapshot is kept once the process is gone) and maps new files.
  void refresh();
  // Adds mappings by hand (tests, or a snapshot taken elsewhere).
  void add_mappings(const std::vector<process::MapEntry>& maps);

  // The module whose mapping contains `addr` (any mapping of the file, not only the executable one).
  const Module* find(uint64_t addr) const;
  // Reads module file bytes at a runtime address.
  bool read(uint64_t addr, void* out, size_t n) const;

 private:
  struct Range {
    uint64_t start, end;
    Module* module;
  };
  Module* module_for(const process::MapEntry& m);

  std::shared_ptr<process::TargetFiles> files_;
  uint64_t files_generation_ = 0;  // files_->generation() when its maps were last added
  std::string trusted_fp_path_;
  std::map<std::string, std::unique_ptr<Module>> modules_;  // by path + inode
  std::unique_ptr<Module> jit_;
  std::vector<Range> ranges_;  // sorted by start
};

}  // namespace loopperf::unwind
