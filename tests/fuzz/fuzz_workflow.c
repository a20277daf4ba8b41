/* fuzz_workflow.c - libFuzzer target for workflow loading and validation */
#define _GNU_SOURCE /* memfd_create() */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* workflow_load_file() reads a path, so every input goes through one
 * in-memory file made on the first run and rewritten in place: a file on
 * disk would make the disk, not the loader, the bottleneck. */
static char path[64];
static int fd = -1;

/* Input: the text of one workflow file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wf_diag d = {0};

    if (fd < 0) {
        if ((fd = memfd_create("workflow.yaml", 0)) < 0) abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();

    workflow *wf = workflow_load_file(path, &d);
    /* either a workflow or at least one problem naming the file, never both */
    if (!wf == !d.n) abort();
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.msgs[i], path, strlen(path)) != 0) abort();
    if (wf) {
        json_t *fields = json_pack("{s:s, s:s, s:s, s:s}", "severity", "critical", "service",
                                   "db", "env", "prod", "status", "firing");
        (void)workflow_matches(wf, fields);
        json_decref(fields);
        if (wf->nsteps == 0 || wf->ntriggers == 0) abort();
        for (size_t i = 0; i < wf->nsteps; i++) {
            for (size_t k = 0; k < wf->steps[i].nneeds; k++)
                if (wf->steps[i].needs[k] >= wf->nsteps || wf->steps[i].needs[k] == i) abort();
            json_t *j = workflow_step_json(wf, i);
            if (!j) abort();
            json_decref(j);
        }
    }
    workflow_free(wf);
    wf_diag_free(&d);
    return 0;
}
