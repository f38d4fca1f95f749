/*
 * spawner: runs PROG ARGS... COUNT times, paced at RATE starts per second (0: as fast as the
 * machine goes, with at most 2 x cores children in flight), and prints one JSON line with what
 * it achieved. Used by bench/src/agent-overhead.ts: a C loop paces far more evenly than a shell
 * or Node, and costs little itself. Pacing is against absolute deadlines, so a late start is
 * caught up rather than drifting.
 *
 * usage: spawner RATE COUNT PROG [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long reap(int block, long *failed) {
  long n = 0;
  int status;
  for (;;) {
    pid_t p = waitpid(-1, &status, block && n == 0 ? 0 : WNOHANG);
    if (p <= 0) break;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) (*failed)++;
    n++;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: spawner RATE COUNT PROG [ARGS...]\n");
    return 2;
  }
  double rate = atof(argv[1]);
  long count = atol(argv[2]);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long cap = rate > 0 ? 4096 : 2 * (cores > 0 ? cores : 1);
  long inflight = 0, failed = 0, spawnErrors = 0;
  double t0 = now();
  struct timespec base;
  clock_gettime(CLOCK_MONOTONIC, &base);
  for (long i = 0; i < count; i++) {
    if (rate > 0) {
      double at = (double)i / rate;
      struct timespec due = base;
      long long ns = (long long)base.tv_nsec + (long long)(at * 1e9);
      due.tv_sec += ns / 1000000000LL;
      due.tv_nsec = ns % 1000000000LL;
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {
      }
    }
    while (inflight >= cap) inflight -= reap(1, &failed);
    pid_t pid;
    if (posix_spawn(&pid, argv[3], NULL, NULL, argv + 3, environ) != 0) {
      spawnErrors++;
    } else {
      inflight++;
    }
    inflight -= reap(0, &failed);
  }
  double spawnedIn = now() - t0;
  while (inflight > 0) inflight -= reap(1, &failed);
  printf("{\"started\":%ld,\"seconds\":%.4f,\"rate\":%.1f,\"failed\":%ld,\"spawnErrors\":%ld}\n",
         count - spawnErrors, spawnedIn, (double)(count - spawnErrors) / spawnedIn, failed,
         spawnErrors);
  return spawnErrors ? 1 : 0;
}
