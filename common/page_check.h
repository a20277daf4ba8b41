/* page_check.h - page steps and oncall.* templates checked against the on-call files */
#ifndef MUSTER_PAGE_CHECK_H
#define MUSTER_PAGE_CHECK_H

#include <stdbool.h>

#include "common/diag.h"
#include "common/oncall.h"
#include "common/workflow.h"

/* Whether a template path is oncall.SCHEDULE.FIELD with a field muster
 * fills: name, slack, phone, email or id. */
bool oncall_template_path_ok(const char *path);

/* Checks every page step (policy: or targets: naming what the on-call
 * files hold) and every oncall.SCHEDULE template of the workflows against
 * set (NULL: there are no on-call files). Each problem goes to d as
 * "FILE: step \"ID\": what". */
void page_check(const workflow_set *wfs, const oncall_set *set, wf_diag *d);

#endif
