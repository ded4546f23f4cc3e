// Test target for DWARF unwinding: main -> chain_prog_a -> chain_prog_b -> chain_lib_outer ->
// chain_lib_inner -> chain_leaf, everything built with -O2 -fomit-frame-pointer, so a frame-pointer
// walk cannot get past the leaf. Runs for argv[1] milliseconds (default 2000), then prints the CPU
// time it got ("cpu_s=..."): the tests compare the sample count with it.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chain_lib.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) unsigned long chain_prog_b(unsigned long n) { return chain_lib_outer(n ^ 5) + 1; }
__attribute__((noinline)) unsigned long chain_prog_a(unsigned long n) { return chain_prog_b(n + 11) + 1; }

int main(int argc, char** argv) {
  double ms = argc > 1 ? atof(argv[1]) : 2000;
  double end = now_ms() + ms;
  unsigned long acc = 0;
  while (now_ms() < end) acc += chain_prog_a(acc);
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  printf("cpu_s=%.3f\n", cpu.tv_sec + cpu.tv_nsec / 1e9);
  return (int)(acc & 1) * 0;
}
