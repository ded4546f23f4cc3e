// libFuzzer target: ELF files as the symbolizer (libelf/libdw through ElfFile) and the unwinder
// (ElfImage, our own PT_LOAD / .eh_frame_hdr reader) open them. A target's binaries are whatever is
// on disk: truncated, corrupt or not ELF at all. The bytes go to a memfd because both readers take
// a file descriptor, as they do for /proc/PID/map_files.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/unwind/modules.h"

namespace {

int memfd() {
  static int fd = ::memfd_create("fuzz-elf", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  return fd;
}

bool put(const uint8_t* data, size_t size) {
  int fd = memfd();
  if (::ftruncate(fd, 0) != 0) return false;
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

uint64_t word(const uint8_t* data, size_t size, size_t at) {
  uint64_t v = 0;
  for (size_t k = 0; k < 8 && at + k < size; k++) v |= static_cast<uint64_t>(data[at + k]) << (8 * k);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!put(data, size)) return 0;
  // Addresses to look up: fields of the ELF header (entry point, table offsets) and the file's tail,
  // so lookups land where the input's own tables point.
  const uint64_t probes[] = {word(data, size, 0x18), word(data, size, 0x20), word(data, size, 0x28),
                             size >= 8 ? word(data, size, size - 8) : 0, 0x1000, 0};

  auto elf = loopperf::symbols::ElfFile::open_fd(memfd(), "fuzz.elf");
  if (elf) {
    auto& f = **elf;
    (void)f.has_symbols();
    (void)f.has_line_info();
    (void)f.build_id();
    for (uint64_t probe : probes) {
      uint64_t vaddr = f.file_offset_to_vaddr(probe);
      auto sym = f.lookup(vaddr);
      if (sym.found && sym.frames.empty()) std::abort();  // a found symbol always has its frame
      (void)f.lookup(probe);
      (void)f.symbol_starting_at(probe);
      (void)f.read_bytes(probe, 16);
    }
    uint64_t sz = 0;
    (void)f.symbol_address("main", &sz);
    (void)f.symbol_address("uv_run", &sz);
  }

  if (auto img = loopperf::unwind::ElfImage::open(memfd(), "fuzz.elf")) {
    uint8_t buf[64];
    for (uint64_t probe : probes) {
      (void)img->read_vaddr(probe, buf, sizeof buf);
      (void)img->read_vaddr(probe, buf, 1);
      uint64_t vaddr = 0;
      (void)img->vaddr_of_offset(probe, &vaddr);
    }
    if (uint64_t h = img->eh_frame_hdr_vaddr()) (void)img->read_vaddr(h, buf, 16);
  }
  return 0;
}
