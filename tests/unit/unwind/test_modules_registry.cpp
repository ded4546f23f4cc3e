#include <dlfcn.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>

#include "loopperf/process/target_files.h"
#include "loopperf/unwind/modules.h"

using loopperf::process::TargetFiles;
using loopperf::unwind::ModuleMap;

// The recorder's unwinders and symbolizer share one registry: whichever refreshed its maps first,
// each ModuleMap still adds what it has not seen, and a file is opened once for all of them.
TEST_CASE("ModuleMap: takes its files from a shared registry, whoever refreshed it") {
  auto files = std::make_shared<TargetFiles>(::getpid());
  REQUIRE(files->refresh());  // someone else (the symbolizer) read the maps first
  ModuleMap first(files, "");
  ModuleMap second(files, "");
  first.refresh();
  second.refresh();
  const auto libc_code = reinterpret_cast<uint64_t>(&::getpid);
  const auto* a = first.find(libc_code);
  const auto* b = second.find(libc_code);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  REQUIRE(a->image != nullptr);
  CHECK(a->fde_count > 0);
  Dl_info info{};
  REQUIRE(::dladdr(reinterpret_cast<void*>(&::getpid), &info) != 0);
  for (const auto& m : files->maps()) {
    if (m.start <= libc_code && libc_code < m.end) {
      const auto& file = files->file_for(m);
      CHECK(file.fd.get() >= 0);
      CHECK(&files->file_for(m) == &file);
    }
  }
}
