/* The scheduler's own latency: sleep for an interval again and again and record how late each
 * wake-up is, until SIGTERM, then print "n p50 p99 max" in ms. Run beside a server under load, it
 * bounds what any probe on the same processors can see: a thread that needs no work but a wake-up. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_SAMPLES 1000000
static double late[MAX_SAMPLES];
static volatile sig_atomic_t stopping;

static void stop(int sig) { (void)sig; stopping = 1; }

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    double interval = argc > 1 ? atof(argv[1]) : 10; /* ms */
    struct sigaction sa = {0};
    sa.sa_handler = stop;
    sigaction(SIGTERM, &sa, NULL);
    int n = 0;
    struct timespec d = {(time_t)(interval / 1e3), (long)((interval - (time_t)(interval / 1e3) * 1e3) * 1e6)};
    while (!stopping && n < MAX_SAMPLES) {
        double start = now_ms();
        if (nanosleep(&d, NULL) != 0) break; /* interrupted: stopping */
        late[n++] = now_ms() - start - interval;
    }
    qsort(late, n, sizeof late[0], compare);
    if (n == 0) printf("0 nan nan nan\n");
    else printf("%d %.3f %.3f %.3f\n", n, late[n / 2], late[n * 99 / 100], late[n - 1]);
    return 0;
}
