// SIGSTOP cannot be caught. A `kill -STOP` of loopperf that lands between a target thread's
// interrupt and its detach (process::PtraceStop) would keep that thread stopped for as long as
// loopperf stays stopped. Ctrl-Z and the other job-control signals are handled (cli/signals.cpp:
// every stop is detached first); SIGSTOP is bounded by a watchdog process instead.
//
// The watchdog is a child forked before any other thread starts, in a process group of its own (so
// that job control of loopperf's group does not reach it), that dies with loopperf. Every 5 ms it
// looks at a counter of stops in progress, kept in a page it shares with loopperf, and only while
// that is not zero at loopperf's state: stopped ('T') means a SIGSTOP caught loopperf inside a stop.
// It then continues loopperf (SIGCONT) and sends it SIGTSTP, which the job-control thread takes: the
// stop in progress ends and is detached, and loopperf stops itself again. The user's stop holds;
// the target thread was stopped for one stop's window plus at most ~5 ms.
#pragma once

namespace loopperf::process {

// Starts the watchdog once per process; call before any other thread is started. false when it
// could not be started (then a SIGSTOP of loopperf may leave a target thread stopped, as before).
bool start_stop_watchdog();

// Stops in progress, as the watchdog sees them (PtraceStop keeps the count).
void stop_begins();
void stop_ends();

}  // namespace loopperf::process
