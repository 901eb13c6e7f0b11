/*
 * qr_loss_sim.c - how many displayed frames a receiver needs to complete a
 * transfer of n plain numbered parts shown in a loop, when each displayed
 * frame is lost independently with probability p (the camera missed it, the
 * picture was blurred).  The receiver starts watching at a random point in
 * the loop.  Prints mean, median and 95th percentile of frames shown divided
 * by n; docs/qr-transfer.rst quotes the output.
 *
 * usage: qr_loss_sim [p] [trials]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: reproducible, not cryptography. */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = { 1, 2, 5, 10, 12, 20, 47, 100, 250 };
    double p = argc > 1 ? atof(argv[1]) : 0.10;
    size_t trials = argc > 2 ? (size_t)atol(argv[2]) : 20000, s, t;
    double *ratio = malloc(trials * sizeof(double));

    if (ratio == NULL)
        return 2;
    printf("plain parts in a loop, frame loss %.0f%%, %zu trials each\n", p * 100, trials);
    printf("%6s %8s %8s %8s\n", "parts", "mean", "median", "p95");
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        double sum = 0;
        uint8_t *have = malloc(n);
        for (t = 0; t < trials; t++) {
            size_t got = 0, shown = 0, pos = (size_t)(rnd() % n);
            memset(have, 0, n);
            while (got < n) {
                if (unif() >= p && !have[pos]) {
                    have[pos] = 1;
                    got++;
                }
                shown++;
                pos = (pos + 1) % n;
            }
            ratio[t] = (double)shown / (double)n;
            sum += ratio[t];
        }
        qsort(ratio, trials, sizeof(double), cmp_double);
        printf("%6zu %8.2f %8.2f %8.2f\n", n, sum / (double)trials, ratio[trials / 2],
               ratio[trials * 95 / 100]);
        free(have);
    }
    free(ratio);
    return 0;
}
