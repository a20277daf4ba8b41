/* tzone.h - wall-clock time in IANA time zones, from the system tz database */
#ifndef MUSTER_TZONE_H
#define MUSTER_TZONE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Whether `zone` ("Europe/Berlin", "UTC") names a zone the system tz
 * database holds: a TZif file under $TZDIR or /usr/share/zoneinfo. Names
 * that are paths (leading '/', "..") or POSIX rules ("CET-1") are refused,
 * so a file can never mean a fixed offset. */
bool tz_valid(const char *zone);

/* Civil time: seconds since 1970-01-01 00:00 of a wall clock, as if that
 * clock were UTC. Arithmetic on it is calendar arithmetic ("tomorrow at
 * 09:00" is +86400), which is what rotations count in. */
typedef int64_t civil_t;

/* The wall-clock reading of instant t in zone. */
civil_t tz_civil(const char *zone, time_t t);

/* The instant at which zone's wall clock reads c. Where the clock skips c
 * (spring forward: 02:30 on a day that jumps from 02:00 to 03:00) this is
 * the instant of the jump, the first one whose reading is past c; where it
 * reads c twice (fall back) the first of the two. So the mapping never goes
 * backwards: a later reading never gives an earlier instant. */
time_t tz_instant(const char *zone, civil_t c);

/* The zone's offset from UTC at t in seconds (east positive), and its
 * abbreviation ("CEST") into abbr when not NULL. */
long tz_offset(const char *zone, time_t t, char *abbr, size_t len);

/* Splits a civil time into broken-down fields (tm_wday 0 = Sunday). */
void civil_fields(civil_t c, struct tm *out);

/* Sets TZ to zone until tz_leave(), so that many calls in one zone read its
 * file once. The calls above do the same themselves, and cost nothing more
 * inside a scope of their zone. All of this changes TZ for the process:
 * call it from one thread only, and not while another uses localtime(). */
typedef struct tz_scope {
    char *saved;  /* TZ before, or NULL when it was unset */
    bool changed; /* whether TZ was switched and must be put back */
} tz_scope;

void tz_enter(tz_scope *scope, const char *zone);
void tz_leave(tz_scope *scope);

#endif
