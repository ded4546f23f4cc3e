// Starts N (argv[1]) threads that sleep, then writes its pid to READY_FILE once all of them run,
// and sleeps until killed. For the record's thread cap.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void* sleeper(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1100;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (int i = 0; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, sleeper, NULL) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  const char* ready = getenv("READY_FILE");
  if (ready) {
    FILE* f = fopen(ready, "w");
    if (!f) return 1;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  for (;;) pause();
}
