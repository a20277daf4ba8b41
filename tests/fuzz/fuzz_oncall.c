/* fuzz_oncall.c - libFuzzer target for on-call file loading and the rota */
#define _GNU_SOURCE /* memfd_create() */
#include <stdlib.h>
#include <string.h>

#include "common/rota.h"
#include "tests/fuzz/memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: the text of one on-call file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wf_diag d = {0};
    const char *path = memfile_write("oncall.yaml", data, size);
    oncall_set *set = oncall_load(path, &d);
    /* either a set or at least one problem naming the file, never both */
    if (!set == !d.n) abort();
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.msgs[i], path, strlen(path)) != 0) abort();
    if (set) {
        /* every reference resolves, and the rota is consistent with the
         * point function over a few days around a DST change */
        for (size_t i = 0; i < set->nschedules; i++) {
            const schedule *s = &set->schedules[i];
            for (size_t l = 0; l < s->nlayers; l++)
                for (size_t r = 0; r < s->layers[l].nrotations; r++)
                    for (size_t k = 0; k < s->layers[l].rotations[r].nwho; k++)
                        if (!oncall_person(set, s->layers[l].rotations[r].who[k])) abort();
            rota_override ov = {"o", "x", 1774742400 + 3600, 1774742400 + 7200};
            rota_span *sp;
            time_t from = 1774742400 - 2 * 86400, to = 1774742400 + 2 * 86400;
            long n = schedule_rota(s, &ov, 1, from, to, &sp);
            if (n < 1) abort();
            if (sp[0].from != from || sp[n - 1].to != to) abort();
            for (long k = 0; k < n; k++) {
                oncall_result res;
                if (sp[k].from >= sp[k].to || (k && sp[k].from != sp[k - 1].to)) abort();
                if (schedule_oncall(s, &ov, 1, sp[k].from, &res) < 0) abort();
                if (!res.who != !sp[k].r.who || (res.who && strcmp(res.who, sp[k].r.who))) abort();
            }
            free(sp);
        }
        for (size_t i = 0; i < set->npolicies; i++)
            for (size_t l = 0; l < set->policies[i].nlevels; l++)
                for (size_t t = 0; t < set->policies[i].levels[l].ntargets; t++) {
                    const target *tg = &set->policies[i].levels[l].targets[t];
                    if (tg->kind == TARGET_PERSON && !oncall_person(set, tg->ref)) abort();
                    if (tg->kind == TARGET_SCHEDULE && !oncall_schedule(set, tg->ref)) abort();
                }
    }
    oncall_set_free(set);
    wf_diag_free(&d);
    return 0;
}
