/* promcheck.c - checks that stdin is valid Prometheus text format 0.0.4 and
 * prints one line per sample ("name{labels} value"), so shell tests can
 * grep a scraped /metrics. Exit 0 valid, 1 invalid (reason on stderr).
 *
 * The exit status says whether the text is valid, nothing else: a reader
 * that stops early (`| grep -q`, under pipefail) must not turn a valid
 * scrape into a failure. So SIGPIPE is ignored and a write to a closed
 * pipe ends the printing quietly. (With /metrics past 4 KiB, stdio wrote
 * twice, and grep -q's early exit killed the second write.) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/harness/promparse.h"

int main(void) {
    size_t cap = 1 << 16, len = 0, n = 0;
    char *buf = malloc(cap), err[512];
    prom_sample *samples = NULL;
    if (!buf) return 1;
    for (size_t got; (got = fread(buf + len, 1, cap - len - 1, stdin)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) return 1;
            buf = nb;
        }
    }
    buf[len] = '\0';
    if (prom_parse(buf, &samples, &n, err, sizeof(err)) < 0) {
        fprintf(stderr, "promcheck: %s\n", err);
        free(buf);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < n && !ferror(stdout); i++) {
        printf("%s{", samples[i].name);
        for (size_t j = 0; j < samples[i].nlabels; j++)
            printf("%s%s=\"%s\"", j ? "," : "", samples[i].labels[j].name, samples[i].labels[j].value);
        printf("} %g\n", samples[i].value);
    }
    if (fflush(stdout) != 0 && errno != EPIPE) {
        perror("promcheck: stdout");
        prom_samples_free(samples, n);
        free(buf);
        return 1;
    }
    prom_samples_free(samples, n);
    free(buf);
    return 0;
}
