/*
 * metrics.h - what vw-serve counts, and GET /metrics, which shows it in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Every answered request is counted once, by route and status, and its
 * latency (from the moment its head was parsed to the moment its answer
 * was queued for sending) goes into the route's histogram. The counters are
 * atomics, so they stay exact whichever threads add to them, and the
 * histogram's +Inf bucket always equals the route's request count as read
 * by one scrape (both are updated by the thread that answers, in the same
 * call). A scrape's own request is counted after its answer is written, so
 * it shows in the next scrape.
 *
 * Pure counting and formatting: no sockets or threads; the server passes in
 * the gauges it knows (connections, index, queue) when it renders.
 */
#ifndef VW_SERVE_METRICS_H
#define VW_SERVE_METRICS_H

#include "api.h"
#include "json.h"
#include "vwhnsw.h"

#include <stdatomic.h>
#include <stdint.h>

/* The statuses vw-serve answers; anything else is counted as "other". */
#define METRICS_STATUSES 16
/* Upper bounds of the latency buckets, in seconds; then +Inf. */
#define METRICS_BUCKETS 16

typedef struct route_metrics {
    atomic_uint_fast64_t by_status[METRICS_STATUSES + 1];
    atomic_uint_fast64_t buckets[METRICS_BUCKETS + 1]; /* not cumulative; last is +Inf */
    atomic_uint_fast64_t sum_ns;
} route_metrics;

typedef struct serve_metrics {
    route_metrics routes[API_ROUTE_COUNT];
    atomic_uint_fast64_t searches;             /* search requests answered 200 */
    atomic_uint_fast64_t queries;              /* query vectors searched */
    atomic_uint_fast64_t connections_accepted; /* accept(2) succeeded */
    atomic_uint_fast64_t connections_rejected; /* over --max-connections or out of fds */
    atomic_uint_fast64_t queue_rejected;       /* search queue full: 503 */
    atomic_uint_fast64_t timeouts;             /* 408s and stalled readers closed */
    double start_time_s;                       /* Unix time the server started */
} serve_metrics;

void metrics_init(serve_metrics *m);

/* Counts one answered request. */
void metrics_request(serve_metrics *m, api_route route, int status, uint64_t latency_ns);

/* Adds to a counter. */
void metrics_add(atomic_uint_fast64_t *counter, uint64_t v);
uint64_t metrics_get(const atomic_uint_fast64_t *counter);

/* What the server knows at the moment of a scrape, besides the counters. */
typedef struct metrics_gauges {
    uint64_t in_flight;   /* requests with the workers */
    uint64_t connections; /* open */
    uint64_t log_dropped, access_log_dropped;
    uint64_t index_reloads, index_reload_failures, index_faults;
    int index_changed;
    const vw_stats *index;
    uint64_t index_file_bytes;
    unsigned threads;
} metrics_gauges;

/* Writes the whole exposition into w (as raw text, not JSON). */
void metrics_write(json_writer *w, const serve_metrics *m, const metrics_gauges *g);

/* The Content-Type of the exposition. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif /* VW_SERVE_METRICS_H */
