/* sink_timer.c - muster-sink's delay queue: runs delayed jobs on one thread when due */
#include "sink_timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The daemon's connection limit bounds this in practice; the cap keeps a
 * bug from eating memory. */
#define PENDING_MAX (1u << 20)

struct pending {
    uint64_t due_ms; /* CLOCK_MONOTONIC */
    sink_timer_fn fn;
    void *arg;
};

/* A binary min-heap on due_ms, fed by the MHD worker threads and drained
 * by one timer thread: the only state shared between them. */
struct sink_timer {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled on stop or a new earliest entry */
    pthread_t thread;
    int thread_running;
    int stopping;
    struct pending *heap;
    size_t len, cap;
};

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void heap_swap(struct pending *a, struct pending *b) {
    struct pending t = *a;
    *a = *b;
    *b = t;
}

/* Removes and returns the earliest job. Needs len > 0 and the lock. */
static struct pending heap_pop(struct sink_timer *t) {
    struct pending first = t->heap[0];
    size_t i = 0;

    t->heap[0] = t->heap[--t->len];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->len && t->heap[l].due_ms < t->heap[m].due_ms)
            m = l;
        if (r < t->len && t->heap[r].due_ms < t->heap[m].due_ms)
            m = r;
        if (m == i)
            break;
        heap_swap(&t->heap[i], &t->heap[m]);
        i = m;
    }
    return first;
}

/* A delayed reply is due, or the timer stops: either way it goes out now. */
static void resume(void *conn, int cancelled) {
    (void)cancelled;
    MHD_resume_connection(conn);
}

/* Runs on the timer thread only. Runs jobs outside the lock so MHD's own
 * mutex is never taken while ours is held, and a slow job does not block
 * sink_timer_add(). */
static void *timer_main(void *arg) {
    struct sink_timer *t = arg;

    pthread_mutex_lock(&t->lock);
    for (;;) {
        if (t->len > 0 && (t->stopping || t->heap[0].due_ms <= monotonic_ms())) {
            struct pending job = heap_pop(t);
            int cancelled = t->stopping;
            pthread_mutex_unlock(&t->lock);
            job.fn(job.arg, cancelled);
            pthread_mutex_lock(&t->lock);
            continue;
        }
        if (t->stopping)
            break;
        if (t->len == 0) {
            pthread_cond_wait(&t->wake, &t->lock);
        } else {
            uint64_t due = t->heap[0].due_ms;
            struct timespec until = {.tv_sec = (time_t)(due / 1000u),
                                     .tv_nsec = (long)(due % 1000u) * 1000000L};
            pthread_cond_timedwait(&t->wake, &t->lock, &until);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int sink_timer_new(struct sink_timer **out, char *err, size_t errlen) {
    int rc = -1, have_lock = 0, have_cond = 0, e;
    pthread_condattr_t attr;
    struct sink_timer *t = NULL;

    *out = NULL;
    if (!(t = calloc(1, sizeof *t))) {
        snprintf(err, errlen, "delay timer: out of memory");
        goto out;
    }
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        snprintf(err, errlen, "delay timer: cannot create mutex");
        goto out;
    }
    have_lock = 1;
    /* Waits are measured on the monotonic clock so that a wall-clock step
     * does not stall or rush the delayed replies. */
    if (pthread_condattr_init(&attr) != 0) {
        snprintf(err, errlen, "delay timer: cannot create condition attributes");
        goto out;
    }
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
        pthread_cond_init(&t->wake, &attr) == 0)
        have_cond = 1;
    pthread_condattr_destroy(&attr);
    if (!have_cond) {
        snprintf(err, errlen, "delay timer: cannot create monotonic condition variable");
        goto out;
    }
    e = pthread_create(&t->thread, NULL, timer_main, t);
    if (e != 0) {
        snprintf(err, errlen, "delay timer: cannot start thread: %s", strerror(e));
        goto out;
    }
    t->thread_running = 1;
    *out = t;
    t = NULL;
    rc = 0;
out:
    if (t) {
        if (have_cond)
            pthread_cond_destroy(&t->wake);
        if (have_lock)
            pthread_mutex_destroy(&t->lock);
        free(t);
    }
    return rc;
}

int sink_timer_call(struct sink_timer *t, sink_timer_fn fn, void *arg, unsigned long delay_ms) {
    int rc = -1;
    size_t i;

    pthread_mutex_lock(&t->lock);
    if (t->stopping)
        goto out;
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct pending *heap;
        if (cap > PENDING_MAX)
            cap = PENDING_MAX;
        if (cap == t->len || !(heap = realloc(t->heap, cap * sizeof *heap)))
            goto out;
        t->heap = heap;
        t->cap = cap;
    }
    i = t->len++;
    t->heap[i].due_ms = monotonic_ms() + delay_ms;
    t->heap[i].fn = fn;
    t->heap[i].arg = arg;
    while (i > 0 && t->heap[(i - 1) / 2].due_ms > t->heap[i].due_ms) {
        heap_swap(&t->heap[(i - 1) / 2], &t->heap[i]);
        i = (i - 1) / 2;
    }
    if (i == 0) /* new earliest: the thread may be sleeping past it */
        pthread_cond_signal(&t->wake);
    rc = 0;
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int sink_timer_add(struct sink_timer *t, struct MHD_Connection *conn, unsigned long delay_ms) {
    return sink_timer_call(t, resume, conn, delay_ms);
}

void sink_timer_stop(struct sink_timer *t) {
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    if (t->thread_running) {
        pthread_join(t->thread, NULL);
        t->thread_running = 0;
    }
}

void sink_timer_free(struct sink_timer *t) {
    if (!t)
        return;
    sink_timer_stop(t);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t->heap);
    free(t);
}
