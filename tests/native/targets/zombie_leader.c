// The main thread starts a thread that keeps a CPU busy in spin_in_worker(), writes its pid to
// READY_FILE and leaves with pthread_exit: the thread-group leader is then a zombie (no memory map,
// /proc/PID/exe and maps unreadable through it) while the process goes on in its other thread.
// For recording a process in that state (issue 22).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void spin_in_worker(void) {
  for (;;)
    for (unsigned long i = 0; i < 100000000UL; i++) sink += i;
}

static void* spinner(void* arg) {
  (void)arg;
  spin_in_worker();
  return NULL;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, spinner, NULL) != 0) {
    perror("pthread_create");
    return 1;
  }
  const char* ready = getenv("READY_FILE");
  if (ready) {
    FILE* f = fopen(ready, "w");
    if (!f) return 1;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  pthread_exit(NULL);
}
