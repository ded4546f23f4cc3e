/* The shared-library half of the symbolizer fixture: a symbol in a second ELF module. */
#include "symfixture_lib.h"

volatile int symfix_lib_sink;

__attribute__((noinline)) int symfix_lib_function(int x) {
  int acc = 1;
  for (int i = 0; i < x; ++i) {
    acc = acc * 7 + symfix_lib_sink;
    symfix_lib_sink = acc;
  }
  return acc;
}

symfix_fn symfix_lib_address(void) { return &symfix_lib_function; }
