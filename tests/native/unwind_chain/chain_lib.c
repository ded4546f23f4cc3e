// A shared library built without frame pointers: its frames can only be walked with CFI.
#include "chain_lib.h"

static volatile unsigned long sink;

__attribute__((noinline)) unsigned long chain_leaf(unsigned long n) {
  unsigned long x = n;
  for (unsigned long i = 0; i < 20000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
  sink = x;
  return x;
}

// The "+ 1" after each call keeps the compiler from turning it into a tail call.
__attribute__((noinline)) unsigned long chain_lib_inner(unsigned long n) { return chain_leaf(n * 3) + 1; }
__attribute__((noinline)) unsigned long chain_lib_outer(unsigned long n) { return chain_lib_inner(n + 7) + 1; }
