/* noop.c - the noop action: succeeds at once (benchmarks, placeholders) */
#include "worker/worker.h"

/* Echoes its `with:` so a later step can template it; touches nothing. */
static int start(worker *w, task *t) {
    (void)w;
    task_finish(t, 1, json_incref(t->with), NULL);
    return 1;
}

const action_impl action_noop = {
    .name = "noop",
    .start = start,
};
