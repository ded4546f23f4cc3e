// One thread, sleeping; a SIGUSR1 handler counts deliveries and each one rewrites COUNT_FILE with
// the count. Writes READY_FILE once the handler is installed. For dump's "signal handed back".
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_usr1(int sig) {
  (void)sig;
  count++;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  const char* ready = getenv("READY_FILE");
  const char* out = getenv("COUNT_FILE");
  if (ready) {
    FILE* f = fopen(ready, "w");
    if (!f) return 1;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  int written = 0;
  for (;;) {
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);  // EINTR on a signal: fine
    if (out && count != written) {
      written = count;
      char tmp[4096];
      snprintf(tmp, sizeof tmp, "%s.tmp", out);
      FILE* f = fopen(tmp, "w");
      if (!f) return 1;
      fprintf(f, "%d\n", written);
      fclose(f);
      rename(tmp, out);
    }
  }
}
