// The kernel's symbols (/proc/kallsyms), read once, preferably on a background thread while
// recording rather than after the stop, and shared by every KernelSymbols of the process that
// holds the same file's (the recorders of a process tree).
#pragma once

#include <sys/types.h>

#include <future>
#include <memory>
#include <string>

#include "loopperf/symbols/kallsyms.h"

namespace loopperf::symbols {

class KernelSymbols {
 public:
  // `path`: a saved copy instead (a replayed recording, record/replay.h).
  explicit KernelSymbols(std::string path = "/proc/kallsyms") : path_(std::move(path)) {}
  ~KernelSymbols();
  KernelSymbols(const KernelSymbols&) = delete;
  KernelSymbols& operator=(const KernelSymbols&) = delete;

  // Starts reading /proc/kallsyms on a background thread at the lowest CPU priority: ~40 ms of
  // kernel time for 120k symbols, spent while recording instead of after the stop. Without this
  // call, table() reads it itself.
  void preload();
  // False while preload() is still reading: table() now would wait for it.
  bool ready() const;
  // The table: read now, or waited for (at this thread's priority) when preload() is still reading.
  const Kallsyms& table();
  // The table read so far is usable (false before it was read, and after release()).
  bool usable() const { return table_ && table_->usable(); }
  // Lets go of the table (~5 MB, freed with the last holder's); table() is empty afterwards and
  // never reads again.
  void release();

  struct Reading;  // one reading of a file, shared (kernel_symbols.cpp)

 private:
  static std::shared_ptr<Reading> shared_reading(const std::string& path);
  void hurry();

  std::string path_;
  std::shared_ptr<Reading> reading_;
  std::shared_ptr<const Kallsyms> table_;
  bool released_ = false;
  mutable bool ready_ = false;  // the reading was seen done (no more checks per sample)
  struct Loader;                // the reading thread's tid and "someone waits" flag, shared with it
};

}  // namespace loopperf::symbols
