/*
 * metrics.c - request counting and the Prometheus exposition (see metrics.h).
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const int statuses[METRICS_STATUSES] = {200, 400, 403, 404, 405, 408, 409, 411,
                                               413, 417, 422, 431, 500, 503, 505, 100};

/* Seconds; chosen around a search's 0.1 to 10 ms. */
static const double bucket_bounds[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                      1,      2.5,     5,      10};

void metrics_init(serve_metrics *m) {
    memset(m, 0, sizeof *m);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_add(atomic_uint_fast64_t *counter, uint64_t v) {
    atomic_fetch_add_explicit(counter, v, memory_order_relaxed);
}

uint64_t metrics_get(const atomic_uint_fast64_t *counter) {
    return atomic_load_explicit((atomic_uint_fast64_t *)counter, memory_order_relaxed);
}

static int status_slot(int status) {
    for (int i = 0; i < METRICS_STATUSES; i++)
        if (statuses[i] == status)
            return i;
    return METRICS_STATUSES;
}

void metrics_request(serve_metrics *m, api_route route, int status, uint64_t latency_ns) {
    route_metrics *r = &m->routes[route < API_ROUTE_COUNT ? route : API_UNROUTED];
    double seconds = (double)latency_ns / 1e9;
    int b = 0;
    while (b < METRICS_BUCKETS && seconds > bucket_bounds[b])
        b++;
    metrics_add(&r->buckets[b], 1);
    metrics_add(&r->sum_ns, latency_ns);
    metrics_add(&r->by_status[status_slot(status)], 1);
}

/* ------------------------------------------------------------------ exposition */

/* Appends printf output to the document as raw text. */
static void put(json_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(json_writer *w, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (json_writer_reserve(w, len + 1) != 0)
        return;
    memcpy(w->data + w->len, line, len);
    w->len += len;
    w->data[w->len] = '\0';
}

static void family(json_writer *w, const char *name, const char *type, const char *help) {
    put(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(json_writer *w, const char *name, const char *type, const char *help,
                   uint64_t v) {
    family(w, name, type, help);
    put(w, "%s %llu\n", name, (unsigned long long)v);
}

static void write_requests(json_writer *w, const serve_metrics *m) {
    family(w, "vw_http_requests_total", "counter",
           "Requests answered, by route (the path, or unmatched) and status code.");
    for (int r = 0; r < API_ROUTE_COUNT; r++) {
        for (int i = 0; i <= METRICS_STATUSES; i++) {
            uint64_t v = metrics_get(&m->routes[r].by_status[i]);
            if (v == 0)
                continue;
            char code[8];
            snprintf(code, sizeof code, "%d", i < METRICS_STATUSES ? statuses[i] : 0);
            put(w, "vw_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                api_route_path((api_route)r), i < METRICS_STATUSES ? code : "other",
                (unsigned long long)v);
        }
    }
}

static void write_latency(json_writer *w, const serve_metrics *m) {
    const char *name = "vw_http_request_duration_seconds";
    family(w, name, "histogram",
           "Time from a request's parsed head to its queued answer, by route.");
    for (int r = 0; r < API_ROUTE_COUNT; r++) {
        const route_metrics *rm = &m->routes[r];
        const char *route = api_route_path((api_route)r);
        uint64_t cumulative = 0;
        for (int b = 0; b <= METRICS_BUCKETS; b++) {
            cumulative += metrics_get(&rm->buckets[b]);
            if (b < METRICS_BUCKETS)
                put(w, "%s_bucket{route=\"%s\",le=\"%g\"} %llu\n", name, route, bucket_bounds[b],
                    (unsigned long long)cumulative);
            else
                put(w, "%s_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", name, route,
                    (unsigned long long)cumulative);
        }
        put(w, "%s_sum{route=\"%s\"} %.9f\n", name, route, (double)metrics_get(&rm->sum_ns) / 1e9);
        put(w, "%s_count{route=\"%s\"} %llu\n", name, route, (unsigned long long)cumulative);
    }
}

static void write_index(json_writer *w, const metrics_gauges *g) {
    const vw_stats *x = g->index;
    const char *metric = vw_metric_name(x->metric), *storage = vw_storage_name(x->storage);
    family(w, "vw_index_info", "gauge", "The served index: metric and storage kind (value 1).");
    put(w, "vw_index_info{metric=\"%s\",storage=\"%s\",mmap=\"%s\"} 1\n", metric ? metric : "?",
        storage ? storage : "?", x->mmapped ? "true" : "false");
    scalar(w, "vw_index_vectors", "gauge", "Vectors in the served index.", x->count);
    scalar(w, "vw_index_dimension", "gauge", "Dimension of the served index.", x->dim);
    scalar(w, "vw_index_memory_bytes", "gauge", "Heap bytes of the served index.", x->memory_bytes);
    scalar(w, "vw_index_mapped_bytes", "gauge", "Bytes of the served index mapped from its file.",
           x->mapped_bytes);
    scalar(w, "vw_index_file_bytes", "gauge", "Size of the served index's file.",
           g->index_file_bytes);
    scalar(w, "vw_index_changed", "gauge",
           "1 while a mapped file changed in place is being loaded again (searches get 503).",
           (uint64_t)(g->index_changed != 0));
    scalar(w, "vw_index_reloads_total", "counter", "Indexes swapped in after the first.",
           g->index_reloads);
    scalar(w, "vw_index_reload_failures_total", "counter",
           "Loads that failed; the previous index kept serving.", g->index_reload_failures);
    scalar(w, "vw_index_faults_total", "counter",
           "Reads of a mapped index page whose file had shrunk (SIGBUS handled).", g->index_faults);
}

static void write_server(json_writer *w, const serve_metrics *m, const metrics_gauges *g) {
    scalar(w, "vw_searches_total", "counter", "Search requests answered 200.",
           metrics_get(&m->searches));
    scalar(w, "vw_queries_total", "counter", "Query vectors searched.", metrics_get(&m->queries));
    scalar(w, "vw_requests_in_flight", "gauge", "Search requests with the workers.", g->in_flight);
    scalar(w, "vw_search_queue_rejected_total", "counter",
           "Searches refused with 503 because the queue was full.",
           metrics_get(&m->queue_rejected));
    scalar(w, "vw_connections_open", "gauge", "Open client connections.", g->connections);
    scalar(w, "vw_connections_accepted_total", "counter", "Connections accepted.",
           metrics_get(&m->connections_accepted));
    scalar(w, "vw_connections_rejected_total", "counter",
           "Connections answered 503 and closed (--max-connections, or out of descriptors).",
           metrics_get(&m->connections_rejected));
    scalar(w, "vw_timeouts_total", "counter",
           "Requests not received in time (408) and answers not read in time.",
           metrics_get(&m->timeouts));
    scalar(w, "vw_log_dropped_total", "counter", "Log lines dropped: stderr did not take them.",
           g->log_dropped);
    scalar(w, "vw_access_log_dropped_total", "counter",
           "Access log lines dropped: the writer fell behind.", g->access_log_dropped);
    scalar(w, "vw_worker_threads", "gauge", "Search worker threads.", g->threads);
    family(w, "vw_start_time_seconds", "gauge", "Unix time the server started.");
    put(w, "vw_start_time_seconds %.3f\n", m->start_time_s);
    family(w, "vw_build_info", "gauge", "Library version and the SIMD kernels in use (value 1).");
    put(w, "vw_build_info{version=\"%s\",simd=\"%s\"} 1\n", vw_version(),
        vw_simd_name(vw_simd_active()));
}

void metrics_write(json_writer *w, const serve_metrics *m, const metrics_gauges *g) {
    write_requests(w, m);
    write_latency(w, m);
    write_server(w, m, g);
    write_index(w, g);
}
