#include "loopperf/unwind/modules.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "loopperf/common/mapped_read.h"

namespace loopperf::unwind {

namespace {
// DWARF pointer encodings used by .eh_frame_hdr (LSB standard).
constexpr uint8_t kPeOmit = 0xff, kPeUdata4 = 0x03, kPeSdata4 = 0x0b, kPePcrel = 0x10, kPeDatarel = 0x30;
}  // namespace

std::unique_ptr<ElfImage> ElfImage::open(int fd, const std::string& path) {
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) return nullptr;
  void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  std::unique_ptr<ElfImage> img(new ElfImage());
  img->path_ = path;
  img->data_ = static_cast<const uint8_t*>(p);
  img->size_ = static_cast<size_t>(st.st_size);
  Elf64_Ehdr eh;
  if (!mapped_copy(&eh, img->data_, sizeof eh)) return nullptr;  // cut short since the fstat
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > img->size_ ||
      eh.e_phnum > (img->size_ - eh.e_phoff) / sizeof(Elf64_Phdr))
    return nullptr;
  for (size_t i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (!mapped_copy(&ph, img->data_ + eh.e_phoff + i * sizeof ph, sizeof ph)) return nullptr;
    if (ph.p_type == PT_LOAD && ph.p_offset <= img->size_)
      img->loads_.push_back({ph.p_offset, ph.p_vaddr, std::min<uint64_t>(ph.p_filesz, img->size_ - ph.p_offset)});
    if (ph.p_type == PT_GNU_EH_FRAME) {
      img->eh_frame_hdr_ = ph.p_vaddr;
      img->eh_frame_hdr_size_ = ph.p_memsz;
    }
  }
  return img;
}

ElfImage::~ElfImage() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

bool ElfImage::read_vaddr(uint64_t vaddr, void* out, size_t n) const {
  if (truncated_) return false;
  for (const Load& l : loads_) {
    if (vaddr < l.vaddr || vaddr - l.vaddr > l.filesz || n > l.filesz - (vaddr - l.vaddr)) continue;
    // The file may have been cut short on disk since it was mapped: a guarded read, and once one
    // failed the file is not read again (its frames end the unwind).
    if (!mapped_copy(out, data_ + l.offset + (vaddr - l.vaddr), n)) {
      truncated_ = true;
      return false;
    }
    return true;
  }
  return false;
}

bool ElfImage::vaddr_of_offset(uint64_t offset, uint64_t* vaddr) const {
  for (const Load& l : loads_) {
    // Mappings start page-aligned, possibly before the segment's first byte.
    uint64_t page_start = l.offset & ~uint64_t{0xfff};
    if (offset >= page_start && offset < l.offset + l.filesz) {
      *vaddr = l.vaddr - (l.offset - offset);
      return true;
    }
  }
  return false;
}

Module* ModuleMap::module_for(const process::MapEntry& m) {
  std::string key = m.clean_path() + "#" + std::to_string(m.inode);
  auto it = modules_.find(key);
  if (it != modules_.end()) return it->second.get();
  auto mod = std::make_unique<Module>();
  mod->path = m.clean_path();
  // Opened once by the registry, the guarded way (target_files.h); the mapping keeps the file's
  // bytes, the registry its descriptor.
  const process::ModuleFile& file = files_->file_for(m);
  if (file.fd.get() >= 0) mod->image = ElfImage::open(file.fd.get(), mod->path);
  if (mod->image) {
    uint64_t vaddr;
    if (mod->image->vaddr_of_offset(m.offset, &vaddr)) mod->bias = m.start - vaddr;
    mod->fp_trusted = !trusted_fp_path_.empty() && mod->path == trusted_fp_path_;
    // .eh_frame_hdr: version, eh_frame_ptr_enc, fde_count_enc, table_enc, eh_frame_ptr, fde_count, table.
    uint8_t hdr[4];
    uint64_t h = mod->image->eh_frame_hdr_vaddr();
    if (h && mod->image->read_vaddr(h, hdr, 4) && hdr[0] == 1 && hdr[2] == kPeUdata4 &&
        hdr[3] == (kPeDatarel | kPeSdata4) && (hdr[1] == (kPePcrel | kPeSdata4) || hdr[1] == kPeUdata4 || hdr[1] == kPeOmit)) {
      size_t off = 4 + (hdr[1] == kPeOmit ? 0 : 4);
      uint32_t count = 0;
      if (mod->image->read_vaddr(h + off, &count, 4)) {
        mod->fde_count = count;
        mod->hdr_runtime = h + mod->bias;
        mod->table_runtime = h + off + 4 + mod->bias;
      }
    }
  }
  std::string_view base = mod->path;
  if (size_t slash = base.rfind('/'); slash != std::string_view::npos) base = base.substr(slash + 1);
  mod->c_library = base.starts_with("libc.so") || base.starts_with("libc-") || base.starts_with("ld-musl") ||
                   base.starts_with("libpthread");
  mod->cfi_without_fp = mod->image && mod->fde_count && !mod->fp_trusted && !mod->c_library;
  Module* raw = mod.get();
  modules_.emplace(key, std::move(mod));
  return raw;
}

void ModuleMap::add_mappings(const std::vector<process::MapEntry>& maps) {
  if (!jit_) {
    jit_ = std::make_unique<Module>();
    jit_->path = "[jit]";
    jit_->jit = true;
    jit_->fp_trusted = true;  // V8's generated code always keeps rbp frames
  }
  std::vector<Range> fresh;
  for (const auto& m : maps) {
    Module* mod = nullptr;
    if (m.is_file_backed()) {
      mod = module_for(m);
      if (m.executable) {
        mod->text_start = mod->text_start ? std::min(mod->text_start, m.start) : m.start;
        mod->text_end = std::max(mod->text_end, m.end);
      }
    } else if (m.executable && (m.path.empty() || m.path.rfind("[anon", 0) == 0)) {
      mod = jit_.get();
    }
    if (mod) fresh.push_back({m.start, m.end, mod});
  }
  // Newest snapshot wins where ranges overlap; older ranges stay for code that was unmapped since.
  for (const auto& r : ranges_) {
    bool overlapped = std::any_of(fresh.begin(), fresh.end(), [&](const Range& f) { return f.start < r.end && r.start < f.end; });
    if (!overlapped) fresh.push_back(r);
  }
  std::sort(fresh.begin(), fresh.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
  ranges_ = std::move(fresh);
}

void ModuleMap::refresh() {
  files_->refresh();
  // The symbolizer may have refreshed the shared maps since: what counts is whether this map saw them.
  if (files_->generation() == files_generation_) return;
  files_generation_ = files_->generation();
  add_mappings(files_->maps());
}

const Module* ModuleMap::find(uint64_t addr) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr, [](uint64_t a, const Range& r) { return a < r.start; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  return addr < it->end ? it->module : nullptr;
}

bool ModuleMap::read(uint64_t addr, void* out, size_t n) const {
  const Module* m = find(addr);
  if (!m || !m->image) return false;
  return m->image->read_vaddr(addr - m->bias, out, n);
}

}  // namespace loopperf::unwind
