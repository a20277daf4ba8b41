/* tcp_check.c - PLACEHOLDER: to be written (not a finished action) */
#include "worker/worker.h"

static int start(worker *w, task *t) {
    (void)w;
    task_finish(t, 0, NULL, "action tcp_check is not built yet");
    t->res.permanent = 1;
    return 1;
}

const action_impl action_tcp_check = {
    .name = "tcp_check",
    .start = start,
};
