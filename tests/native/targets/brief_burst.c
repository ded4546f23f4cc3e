// Burns argv[1] milliseconds (default 4) of its own CPU time in one named function, then exits: a
// process that is gone before a profiler that attaches at its exec could read it (launch mode's
// process tree records it from the kernel's records of its samples and mappings).
#include <stdlib.h>
#include <time.h>

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) double burn_briefly(double ms) {
  const double end = cpu_ms() + ms;
  volatile double x = 0;
  while (cpu_ms() < end)
    for (int i = 0; i < 1000; i++) x += (double)i * 0.5;
  return x;
}

int main(int argc, char** argv) {
  burn_briefly(argc > 1 ? atof(argv[1]) : 4);
  return 0;
}
