#include "page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace loopperf::formats::detail {

namespace {
size_t page_size() {
  static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}
size_t round_up(size_t n) { return (n + page_size() - 1) / page_size() * page_size(); }
}  // namespace

PageBuffer& PageBuffer::operator=(PageBuffer&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(data_, mapped_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, 0);
    released_ = std::exchange(o.released_, 0);
  }
  return *this;
}

PageBuffer::~PageBuffer() {
  if (data_) ::munmap(data_, mapped_);
}

bool PageBuffer::resize(size_t n) {
  if (n > mapped_) {
    // Mapped in steps of an eighth more (at least 1 MiB): pages untouched cost nothing, and
    // mremap moves the page table, never the bytes.
    const size_t want = round_up(std::max({n, mapped_ + mapped_ / 8, size_t{1} << 20}));
    void* p = data_ ? ::mremap(data_, mapped_, want, MREMAP_MAYMOVE)
                    : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    data_ = static_cast<char*>(p);
    mapped_ = want;
  }
  size_ = n;
  return true;
}

void PageBuffer::release_before(size_t offset) {
  if (offset > size_) offset = size_;
  const size_t end = offset / page_size() * page_size();
  if (end < released_ + (size_t{1} << 20)) return;
  ::madvise(data_ + released_, end - released_, MADV_DONTNEED);
  released_ = end;
}

}  // namespace loopperf::formats::detail
