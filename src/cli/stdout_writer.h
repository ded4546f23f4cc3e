// A command's text on standard output, with its failures checked: a full disk or a pipe that went
// away (with SIGPIPE ignored) is the command's failure, exit 5, not a silent exit 0 with an empty
// or cut file.
#pragma once

#include <string_view>

#include "loopperf/common/result.h"

namespace loopperf::cli {

// Writes and flushes `text`.
Status write_stdout(std::string_view text);
// The last check before exiting: what stdio and iostreams still buffer (CLI11's help goes through
// std::cout), then the descriptor's close, which is where some file systems report a failed write.
Status close_stdout();

}  // namespace loopperf::cli
