// Memory for a large input read once, front to back (a profile file, its inflated protobuf):
// anonymous pages that grow without copying (mremap), given back to the kernel as the reader passes
// them (release_before). A 200 MB profile is then never held twice while it grows, nor whole while
// its samples are turned into the model (issue 22).
#pragma once

#include <cstddef>
#include <string_view>

namespace loopperf::formats::detail {

class PageBuffer {
 public:
  PageBuffer() = default;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  PageBuffer(PageBuffer&& o) noexcept { *this = static_cast<PageBuffer&&>(o); }
  PageBuffer& operator=(PageBuffer&& o) noexcept;
  ~PageBuffer();

  // Sets the size; bytes past the old size read as zeros. False when the memory cannot be had.
  bool resize(size_t n);
  char* data() { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }
  // The bytes before `offset` will not be read again: whole pages of them go back to the kernel
  // (they read as zeros after). Cheap to call often: it acts once a megabyte has been passed.
  void release_before(size_t offset);

 private:
  char* data_ = nullptr;
  size_t size_ = 0, mapped_ = 0, released_ = 0;
};

}  // namespace loopperf::formats::detail
