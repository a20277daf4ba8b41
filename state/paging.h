/* paging.h - the page step's state in Redis: arm a level, fire due timers */
#ifndef MUSTER_PAGING_H
#define MUSTER_PAGING_H

#include <stddef.h>

#include "state/queue.h"
#include "state/store.h"

/* Ends the page step's attempt under the consumer's lease by arming the
 * level `plan` describes (JSON text, see page.lua): its notifications and
 * its escalation become timers and the step waits, holding no lease; or,
 * when the incident is acknowledged or resolved already, the step
 * succeeds. Returns 0, 1 when the lease was lost (nothing was written),
 * -1 when Redis could not be reached (err filled). */
int paging_arm(store *s, const char *consumer, const lease_item *li, const char *plan, char *err,
               size_t errlen);

/* Fires up to `max` due timers (timers.lua): notifications become action
 * tasks, escalations queue the next level or bury the step. Returns how
 * many fired, or -1. */
int paging_fire(store *s, size_t max);

#endif
