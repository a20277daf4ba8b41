/* github.c - PLACEHOLDER: to be written (not a finished action) */
#include "worker/worker.h"

static int start(worker *w, task *t) {
    (void)w;
    task_finish(t, 0, NULL, "action github is not built yet");
    t->res.permanent = 1;
    return 1;
}

const action_impl action_github = {
    .name = "github",
    .start = start,
};
