// Target program for the symbolizer tests.
//
//   symfixture <fd>
//
// Writes one line of "name=address" pairs to <fd>, closes it (the test's readiness signal) and then
// sleeps until killed. The tests find lines of this file by their SYMFIX_* markers: keep each marker
// on the line it names.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "symfixture_lib.h"

volatile int g_sink;

static inline __attribute__((always_inline)) int inlined_helper(int x) {  // SYMFIX_HELPER_BEGIN
  int acc = 0;
  for (int i = 0; i < x; ++i) {
    acc += (i * g_sink) ^ (acc >> 1);
    g_sink = acc;
  }
  return acc;
}  // SYMFIX_HELPER_END

extern "C" __attribute__((noinline)) int symfix_outer(int x) {
  int r = inlined_helper(x);  // SYMFIX_CALLSITE
  g_sink = r;
  return r + 1;
}

namespace symfix {

template <typename T>
__attribute__((noinline)) T templated_work(T x) {
  T acc = x;
  for (int i = 0; i < 3; ++i) acc = acc * 3 + static_cast<T>(g_sink);
  return acc;
}

struct Widget {
  long spin(long n);
};

__attribute__((noinline)) long Widget::spin(long n) {
  long acc = 0;
  for (long i = 0; i < n; ++i) acc += i ^ g_sink;
  return acc;
}

}  // namespace symfix

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: symfixture <fd>\n");
    return 2;
  }
  int fd = std::atoi(argv[1]);
  // Anonymous executable memory, like V8's code space: the tests name it through a perf map.
  void* jit = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  symfix::Widget widget;
  g_sink = symfix_outer(3) + symfix::templated_work<int>(2) + static_cast<int>(widget.spin(5)) +
           symfix_lib_function(4);
  char line[512];
  int n = std::snprintf(line, sizeof line, "outer=%p templated=%p lib=%p jit=%p\n",
                        reinterpret_cast<void*>(&symfix_outer),
                        reinterpret_cast<void*>(&symfix::templated_work<int>),
                        reinterpret_cast<void*>(symfix_lib_address()), jit);
  if (n <= 0 || write(fd, line, static_cast<size_t>(n)) != n) return 1;
  close(fd);
  for (;;) pause();
}
