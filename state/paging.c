/* paging.c - the page step's state in Redis: arm a level, fire due timers */
#include "state/paging.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

int paging_arm(store *s, const char *consumer, const lease_item *li, const char *plan, char *err,
               size_t errlen) {
    char lease[256], ms[24], rfc[40], evbase[48];
    snprintf(lease, sizeof(lease), "%s|%s", consumer, li->msgid);
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    const char *argv[] = {li->incident, li->step, lease, li->pool, li->msgid, plan, ms, rfc, evbase};
    redisReply *r = store_eval(s, SCRIPT_PAGE, 9, argv, err, errlen);
    if (!r) return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->str &&
        strcmp(r->element[0]->str, "fenced") == 0) {
        snprintf(err, errlen, "lease lost: task is %s", r->element[1]->str ? r->element[1]->str : "?");
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

int paging_fire(store *s, size_t max) {
    char ms[24], rfc[40], evbase[48], limit[24], err[256];
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    snprintf(limit, sizeof(limit), "%zu", max);
    const char *argv[] = {ms, limit, rfc, evbase};
    redisReply *r = store_eval(s, SCRIPT_TIMERS, 4, argv, err, sizeof(err));
    if (!r) return -1;
    int n = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    freeReplyObject(r);
    return n;
}
