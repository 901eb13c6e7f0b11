/*
 * runcpu.c - time a whole command from outside, as make bench quotes it.
 *
 * Runs the command once unmeasured (warm caches), then N times, each as a
 * child whose CPU time (user + system, every thread, from wait4's rusage),
 * wall time and peak resident memory are recorded; prints the median, the
 * minimum and the maximum of each on one line:
 *
 *   cpu_ms MED MIN MAX wall_ms MED MIN MAX maxrss_kb MED rc RC
 *
 * --rm PATH removes PATH (a file or a whole folder) before every run, so a
 * command that refuses to overwrite its output can be repeated; --cp SRC DST
 * puts a fresh copy of SRC at DST before every run (a key store that import
 * changes); neither is measured.  -w N sets the unmeasured runs (default 1).  The command's own
 * output goes to /dev/null; RC is its exit status in the last run (a status the caller did not
 * expect is the caller's to report).  Exit status 0, or 2 when the command cannot run.
 *
 * usage: runcpu [-n N] [-w N] [--rm PATH]... [--cp SRC DST]... -- COMMAND [ARG...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 100
#define MAX_RM   8

static double wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void helper(const char *a0, const char *a1, const char *a2, const char *a3)
{
    pid_t pid = fork();

    if (pid == 0) {
        execlp(a0, a0, a1, "--", a2, a3, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* Before each run: remove what must not exist, copy what must be fresh. */
static void prepare(char *const *rm, int nrm, char *const *cp, int ncp)
{
    int i;

    for (i = 0; i < nrm; i++)
        helper("rm", "-rf", rm[i], NULL);
    for (i = 0; i < ncp; i++)
        helper("cp", "-f", cp[2 * i], cp[2 * i + 1]);
}

/* One run: 0, or -1 when the command could not be started. */
static int run(char **argv, double *cpu, double *wall, double *rss, int *rc)
{
    struct rusage ru;
    double t0 = wall_ms();
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) != pid)
        return -1;
    *wall = wall_ms() - t0;
    *cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    *rss = (double)ru.ru_maxrss;
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return *rc == 127 ? -1 : 0;
}

int main(int argc, char **argv)
{
    double cpu[MAX_RUNS], wall[MAX_RUNS], rss[MAX_RUNS], c, w, r;
    char *rm[MAX_RM], *cp[2 * MAX_RM];
    int n = 5, warm = 1, nrm = 0, ncp = 0, i, rc = 0;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
            warm = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rm") == 0 && i + 1 < argc && nrm < MAX_RM) {
            rm[nrm++] = argv[++i];
        } else if (strcmp(argv[i], "--cp") == 0 && i + 2 < argc && ncp < MAX_RM) {
            cp[2 * ncp] = argv[++i];
            cp[2 * ncp++ + 1] = argv[++i];
        } else {
            break;
        }
    }
    if (i + 1 >= argc || strcmp(argv[i], "--") != 0 || n < 1 || n > MAX_RUNS || warm < 0) {
        fprintf(
            stderr,
            "usage: runcpu [-n N] [-w N] [--rm PATH]... [--cp SRC DST]... -- COMMAND [ARG...]\n");
        return 2;
    }
    argv += i + 1;
    for (i = 0; i < warm; i++) {
        prepare(rm, nrm, cp, ncp);
        if (run(argv, &c, &w, &r, &rc) != 0) {
            fprintf(stderr, "runcpu: cannot run %s\n", argv[0]);
            return 2;
        }
    }
    for (i = 0; i < n; i++) {
        prepare(rm, nrm, cp, ncp);
        if (run(argv, &cpu[i], &wall[i], &rss[i], &rc) != 0) {
            fprintf(stderr, "runcpu: cannot run %s\n", argv[0]);
            return 2;
        }
    }
    c = median(cpu, n);
    w = median(wall, n);
    r = median(rss, n);
    printf("cpu_ms %.1f %.1f %.1f wall_ms %.1f %.1f %.1f maxrss_kb %.0f rc %d\n", c, cpu[0],
           cpu[n - 1], w, wall[0], wall[n - 1], r, rc);
    return 0;
}
