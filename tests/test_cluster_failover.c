/*
 * test_cluster_failover.c - a shard killed (SIGKILL) while writes stream in
 * through the router, then started again on its data directory; once with
 * JSON writes of 12 ids, once with NDJSON bulk loads of 240 records (split
 * by the router, so the kill lands in the middle of bulk loads):
 *   - while it is down, a write that has ids on it is answered 503 with
 *     Retry-After, "missing_shards":[1] and "durable_ids" naming exactly its
 *     ids on the live shards; a search is 503 with "missing_shards":[1]
 *     (the default), or 200 with "partial":true from a router generated
 *     with --partial; GET /vectors/{id} of an id on it is 503;
 *   - once it is back, every acknowledged id (the whole of every 200, the
 *     durable_ids of every 503) is there with its vector, read through the
 *     router.
 * Skipped (77) without nginx and its njs module.
 *
 * Usage: test_cluster_failover VW_SERVE_BINARY SCRATCH_DIR CLUSTER_DIR
 */
#include "test_cluster_util.h"

#include <pthread.h>

#define SHARDS  3
#define DIM     8
#define BASE    300
#define MAX_IDS 48000
#define VICTIM  1

static void fill_vector(uint64_t id, uint32_t dim, float *v) {
    for (uint32_t d = 0; d < dim; d++)
        v[d] = (float)((id * 31 + d * 7) % 97) / 97.0f - 0.5f + (float)d;
}

/* What the loader saw, shared with the main thread under `lock`. */
typedef struct load_state {
    pthread_mutex_t lock;
    unsigned router;
    int per, bulk;  /* ids per request; NDJSON bodies or JSON */
    uint64_t first; /* the first id */
    int stop;
    int batches, acked, refused; /* refused: answered 503 */
    int acked_before;            /* acked when the shard was started again */
    int bad;                     /* answers of any other shape */
    uint8_t durable[MAX_IDS];
} load_state;

static uint64_t id_of(const load_state *ls, int n) {
    return ls->first + (uint64_t)n * 7919u; /* spread over the shards */
}

/* In a 503's body: "durable_ids" lists exactly the batch's ids not on the
 * victim; marks them durable. 0 if the body is as documented. */
static int note_refusal(load_state *ls, int b, const sv_response *r) {
    char retry[16];
    const char *d = r->body ? strstr(r->body, "\"durable_ids\":[") : NULL;
    if (!sv_header(r, "Retry-After", retry, sizeof retry) || strcmp(retry, "1") != 0 ||
        !strstr(r->body, "\"missing_shards\":[1]") || !strstr(r->body, "\"detail\":\"") ||
        d == NULL)
        return -1;
    d += 15;
    for (int i = 0; i < ls->per; i++) {
        uint64_t id = id_of(ls, b * ls->per + i);
        if (vw_shard_of(id, SHARDS) == VICTIM)
            continue;
        char *end;
        if (strtoull(d, &end, 10) != id)
            return -1;
        ls->durable[b * ls->per + i] = 1;
        d = *end == ',' ? end + 1 : end;
    }
    return *d == ']' ? 0 : -1;
}

static void *load(void *arg) {
    load_state *ls = arg;
    for (int b = 0; (b + 1) * ls->per <= MAX_IDS; b++) {
        pthread_mutex_lock(&ls->lock);
        int stop = ls->stop;
        pthread_mutex_unlock(&ls->lock);
        if (stop)
            break;
        uint64_t ids[MAX_IDS / 100];
        for (int i = 0; i < ls->per; i++)
            ids[i] = id_of(ls, b * ls->per + i);
        char *body = ls->bulk ? cl_ndjson_body(ids, (size_t)ls->per, DIM, fill_vector)
                              : cl_write_body(ids, (size_t)ls->per, DIM, fill_vector);
        sv_response r;
        int status = ls->bulk
                         ? cl_post_typed(ls->router, "application/x-ndjson", body, strlen(body), &r)
                         : cl_request(ls->router, "POST", "/vectors", body, &r);
        pthread_mutex_lock(&ls->lock);
        ls->batches = b + 1;
        if (status == 200) {
            memset(ls->durable + b * ls->per, 1, (size_t)ls->per);
            ls->acked++;
        } else if (status == 503 && note_refusal(ls, b, &r) == 0) {
            ls->refused++;
        } else {
            fprintf(stderr, "batch %d: %d %s\n", b, status, r.body ? r.body : "");
            ls->bad++;
        }
        pthread_mutex_unlock(&ls->lock);
        sv_response_free(&r);
        free(body);
    }
    return NULL;
}

/* Waits until fn(ls) holds (the loader keeps going meanwhile). */
static int wait_for(load_state *ls, int (*fn)(const load_state *)) {
    for (int i = 0; i < 6000; i++) {
        pthread_mutex_lock(&ls->lock);
        int ok = fn(ls) || (ls->batches + 1) * ls->per > MAX_IDS;
        pthread_mutex_unlock(&ls->lock);
        if (ok)
            return 0;
        sv_sleep_ms(10);
    }
    return -1;
}

static int some_acked(const load_state *ls) {
    return ls->acked >= 20;
}
static int some_refused(const load_state *ls) {
    return ls->refused >= 5;
}
static int acked_again(const load_state *ls) {
    return ls->acked >= ls->acked_before + 40;
}

/* With the victim down: searches and reads of its ids, both routers. */
static void check_down(unsigned router, unsigned partial) {
    const char *q = "{\"query_vector\":[0,1,2,3,4,5,6,7],\"k\":5}";
    sv_response r;
    CHECK(cl_request(router, "POST", "/search", q, &r) == 503);
    CHECK(r.body && strstr(r.body, "\"missing_shards\":[1]") && strstr(r.body, "\"error\":"));
    sv_response_free(&r);
    CHECK(cl_request(partial, "POST", "/search", q, &r) == 200);
    CHECK(r.body && strstr(r.body, "\"partial\":true,\"missing_shards\":[1]}"));
    sv_response_free(&r);
    CHECK(cl_request(router, "GET", "/", NULL, NULL) == 503);
    uint64_t id = 0;
    while (vw_shard_of(id, SHARDS) != VICTIM)
        id++;
    char path[64];
    snprintf(path, sizeof path, "/vectors/%llu", (unsigned long long)id);
    CHECK(cl_request(router, "GET", path, NULL, &r) == 503);
    CHECK(r.body && strstr(r.body, "\"detail\":"));
    sv_response_free(&r);
}

/* Every acknowledged write is there, through the router. */
static void check_acknowledged(const load_state *ls, unsigned router) {
    int checked = 0;
    for (int n = 0; n < ls->batches * ls->per; n++) {
        if (!ls->durable[n])
            continue;
        checked++;
        if (cl_has_vector(router, id_of(ls, n), DIM, fill_vector) != 1) {
            fprintf(stderr, "acknowledged id %llu is lost\n", (unsigned long long)id_of(ls, n));
            check_failures++;
        }
    }
    printf("%s, %d ids each: %d requests, %d acknowledged, %d answered 503; %d acknowledged ids "
           "all present\n",
           ls->bulk ? "NDJSON" : "JSON", ls->per, ls->batches, ls->acked, ls->refused, checked);
}

static void run(load_state *ls, cl_shard *shards, const char **argv, unsigned partial) {
    pthread_t loader;
    CHECK(pthread_create(&loader, NULL, load, ls) == 0);
    CHECK(wait_for(ls, some_acked) == 0);
    kill(shards[VICTIM].server.pid, SIGKILL);
    waitpid(shards[VICTIM].server.pid, NULL, 0);
    shards[VICTIM].server.pid = -1;
    CHECK(wait_for(ls, some_refused) == 0);
    check_down(ls->router, partial);
    pthread_mutex_lock(&ls->lock);
    ls->acked_before = ls->acked;
    pthread_mutex_unlock(&ls->lock);
    CHECK(cl_start_shard(&shards[VICTIM], argv[1], argv[2], "failover", VICTIM, 1) == 0);
    CHECK(wait_for(ls, acked_again) == 0);
    pthread_mutex_lock(&ls->lock);
    ls->stop = 1;
    pthread_mutex_unlock(&ls->lock);
    pthread_join(loader, NULL);
    CHECK(ls->bad == 0 && ls->refused >= 5);
    check_acknowledged(ls, ls->router);
}

int main(int argc, char **argv) {
    int rc = cl_setup(argc, argv);
    if (rc >= 0)
        return rc;
    float *rows = sv_random_vectors(BASE, DIM);
    cl_shard shards[SHARDS];
    memset(shards, 0, sizeof shards);
    cl_router router = {.pid = -1}, partial = {.pid = -1};
    static load_state json = {.per = 12, .first = 1000000},
                      bulk = {.per = 240, .bulk = 1, .first = 500000000};
    pthread_mutex_init(&json.lock, NULL);
    pthread_mutex_init(&bulk.lock, NULL);
    if (rows == NULL || cl_build_shards(argv[2], "failover", rows, BASE, DIM, 0, SHARDS, shards))
        return 1;
    int up = cl_start_shards(shards, SHARDS, argv[1], argv[2], "failover", 1) == 0;
    if (up && cl_start_router(&router, argv[3], argv[2], "failover", shards, SHARDS, "") == 0 &&
        cl_start_router(&partial, argv[3], argv[2], "partial", shards, SHARDS, "--partial") == 0) {
        json.router = bulk.router = router.port;
        run(&json, shards, (const char **)argv, partial.port);
        run(&bulk, shards, (const char **)argv, partial.port);
    } else {
        check_failures++;
    }
    CHECK(cl_stop_router(&router) == 0);
    CHECK(cl_stop_router(&partial) == 0);
    free(rows);
    if (cl_finish(shards, SHARDS, argv[2]) != 0)
        return 1;
    return 0;
}
