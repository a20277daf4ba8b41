/* fuzz_workflow.c - libFuzzer target for workflow loading and validation */
#define _GNU_SOURCE /* memfd_create() */
#include <stdlib.h>
#include <string.h>

#include "common/workflow.h"
#include "tests/fuzz/memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: the text of one workflow file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wf_diag d = {0};
    const char *path = memfile_write("workflow.yaml", data, size);
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
