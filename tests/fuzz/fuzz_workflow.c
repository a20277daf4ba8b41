/* fuzz_workflow.c - libFuzzer target for workflow loading and validation */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* workflow_load_file() reads a path, so every input goes through one file
 * made at start-up and rewritten in place. */
static char path[64];
static int fd = -1;

static void remove_file(void) {
    if (fd >= 0) unlink(path);
}

static json_t *fields(void) {
    return json_pack("{s:s, s:s, s:s, s:s}", "severity", "critical", "service", "db", "env",
                     "prod", "status", "firing");
}

/* Input: the text of one workflow file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wf_diag d = {0};

    if (fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/muster-fuzz-XXXXXX.yaml", tmp && *tmp ? tmp : "/tmp");
        if (strlen(path) >= sizeof(path) - 1 || (fd = mkstemps(path, 5)) < 0) abort();
        atexit(remove_file);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();

    workflow *wf = workflow_load_file(path, &d);
    /* either a workflow or at least one problem naming the file, never both */
    if (!wf == !d.n) abort();
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.msgs[i], path, strlen(path)) != 0) abort();
    if (wf) {
        json_t *f = fields();
        (void)workflow_matches(wf, f);
        json_decref(f);
        if (wf->nsteps == 0 || wf->ntriggers == 0) abort();
        for (size_t i = 0; i < wf->nsteps; i++) {
            for (size_t k = 0; k < wf->steps[i].nneeds; k++)
                if (wf->steps[i].needs[k] >= wf->nsteps) abort();
            json_t *j = workflow_step_json(wf, i);
            if (!j) abort();
            json_decref(j);
        }
    }
    workflow_free(wf);
    wf_diag_free(&d);
    return 0;
}
