// The kernel's symbols (/proc/kallsyms), read once, preferably on a background thread while
// recording rather than after the stop.
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
  bool usable() const { return kallsyms_.usable(); }
  // Frees the table (~5 MB); table() is empty afterwards and never reads again.
  void release();

 private:
  void hurry();

  std::string path_;
  Kallsyms kallsyms_;
  bool loaded_ = false;
  std::future<Kallsyms> future_;
  mutable bool ready_ = false;  // the future was seen ready (no more checks per sample)
  struct Loader;                // the reading thread's tid and "someone waits" flag, shared with it
  std::shared_ptr<Loader> loader_;
};

}  // namespace loopperf::symbols
