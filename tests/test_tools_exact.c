/* vw-query agrees with exact brute force at a large ef (ef=500 on 2,000
 * vectors), for every way of giving queries (file, arguments, stdin), for
 * the l2 metric and for cosine with unnormalized queries (which the library
 * normalizes). The indexes are built on one thread so that the graph, and
 * so this test, is the same on every run. */
#include "test_tools_util.h"

enum { N = 2000, DIM = 64, NQ = 20, K = 10 };

/* Parses one `{"indices":[...],"distances":[...]}` line; returns the count
 * of indices, or -1 if the line is malformed. */
static int parse_json_line(const char *line, uint64_t *ids, double *dists) {
    const char *p = strstr(line, "{\"indices\":[");
    if (!p)
        return -1;
    p += strlen("{\"indices\":[");
    int n = 0;
    while (*p != ']') {
        char *end;
        ids[n++] = strtoull(p, &end, 10);
        if (end == p || n > K)
            return -1;
        p = *end == ',' ? end + 1 : end;
    }
    if (strncmp(p, "],\"distances\":[", 15) != 0)
        return -1;
    p += 15;
    for (int i = 0; i < n; i++) {
        char *end;
        dists[i] = strtod(p, &end);
        if (end == p)
            return -1;
        p = *end == ',' ? end + 1 : end;
    }
    return strncmp(p, "]}", 2) == 0 ? n : -1;
}

/* Parses the text output: "# query N" then "ID\tDISTANCE" lines. Fills
 * ids[q*K + j]; returns the number of queries seen. */
static int parse_text(const char *out, uint64_t *ids) {
    int q = -1, j = 0;
    for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
        if (strncmp(line, "# query ", 8) == 0) {
            q++;
            j = 0;
        } else if (q >= 0 && j < K) {
            ids[q * K + j++] = strtoull(line, NULL, 10);
        }
        if (!strchr(line, '\n'))
            break;
    }
    return q + 1;
}

static int near(double a, double b) {
    return fabs(a - b) <= 1e-5 + 1e-4 * fabs(b);
}

/* Checks every JSON line of `out` against brute force over base. */
static void check_json_results(const char *what, const char *out, vw_metric m, const float *base,
                               const float *queries) {
    const char *line = out;
    for (int q = 0; q < NQ; q++) {
        uint64_t ids[K], want[K];
        double d[K], want_d[K];
        int n = line ? parse_json_line(line, ids, d) : -1;
        if (n != K) {
            fprintf(stderr, "FAIL: %s: query %d: bad line\n", what, q);
            check_failures++;
            return;
        }
        tu_brute_force(m, base, N, DIM, queries + q * DIM, K, NULL, NULL, want, want_d);
        for (int j = 0; j < K; j++) {
            if (ids[j] != want[j] || !near(d[j], want_d[j])) {
                fprintf(stderr, "FAIL: %s: query %d rank %d: got %llu (%g), want %llu (%g)\n", what,
                        q, j, (unsigned long long)ids[j], d[j], (unsigned long long)want[j],
                        want_d[j]);
                check_failures++;
                return;
            }
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
}

static void format_vector(char *buf, size_t size, const float *v, const char *sep) {
    size_t len = 0;
    for (int i = 0; i < DIM && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%.9g", i ? sep : "", (double)v[i]);
}

static void check_text_inputs(const float *base, const float *queries) {
    uint64_t want[2 * K];
    double want_d[K];
    tu_brute_force(VW_METRIC_L2, base, N, DIM, queries, K, NULL, NULL, want, want_d);
    tu_brute_force(VW_METRIC_L2, base, N, DIM, queries + DIM, K, NULL, NULL, want + K, want_d);

    /* one argument "a,b,c,..." (gaussian data: may well start with '-') */
    char arg[4096];
    format_vector(arg, sizeof arg, queries, ",");
    tt_run_result r = tt_run(NULL, tt.query, "-x", tt_file("l2.vwi"), "--ef", "500", arg, NULL);
    uint64_t got[2 * K];
    if (tt_expect_ok("vw-query VECTOR", &r)) {
        CHECK(parse_text(r.out, got) == 1);
        CHECK(memcmp(got, want, K * sizeof *got) == 0);
    }
    tt_free_result(&r);

    /* DIM separate arguments, the first one negative */
    char *argv[DIM + 8];
    char vals[DIM][32];
    int n = 0;
    argv[n++] = (char *)tt.query;
    argv[n++] = "-x";
    argv[n++] = (char *)tt_file("l2.vwi");
    argv[n++] = "--ef=500";
    float negq[DIM];
    for (int i = 0; i < DIM; i++) {
        negq[i] = i == 0 ? -fabsf(queries[0]) - 0.5f : queries[i];
        snprintf(vals[i], sizeof vals[i], "%.9g", (double)negq[i]);
        argv[n++] = vals[i];
    }
    argv[n] = NULL;
    r = tt_runv(NULL, argv);
    if (tt_expect_ok("vw-query with unquoted numbers", &r)) {
        uint64_t w[K];
        tu_brute_force(VW_METRIC_L2, base, N, DIM, negq, K, NULL, NULL, w, want_d);
        CHECK(parse_text(r.out, got) == 1);
        CHECK(memcmp(got, w, K * sizeof *got) == 0);
    }
    tt_free_result(&r);

    /* stdin: spaces on one line, a blank line, then "[a, b, ...]" */
    char line1[4096], line2[4096], text[8400];
    format_vector(line1, sizeof line1, queries, " ");
    format_vector(line2, sizeof line2, queries + DIM, ", ");
    snprintf(text, sizeof text, "%s\n\n  [%s]  \n", line1, line2);
    tt_write_bytes(tt_file("stdin.txt"), text, strlen(text));
    r = tt_run(tt_file("stdin.txt"), tt.query, "-x", tt_file("l2.vwi"), "--ef", "500", NULL);
    if (tt_expect_ok("vw-query < stdin", &r)) {
        CHECK(parse_text(r.out, got) == 2);
        CHECK(memcmp(got, want, 2 * K * sizeof *got) == 0);
    }
    tt_free_result(&r);
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    char n[16], nq[16], dim[16];
    snprintf(n, sizeof n, "%d", N);
    snprintf(nq, sizeof nq, "%d", NQ);
    snprintf(dim, sizeof dim, "%d", DIM);
    tt_run_result r =
        tt_run(NULL, tt.gen, "-n", n, "-d", dim, "--dist", "gaussian", "--queries", nq,
               "--queries-out", tt_file("q.npy"), "-o", tt_file("base.fvecs"), NULL);
    tt_expect_ok("vw-gen", &r);
    tt_free_result(&r);
    vw_dataset *base = NULL, *q = NULL;
    CHECK_OK(vw_dataset_read(tt_file("base.fvecs"), VW_FORMAT_AUTO, &base));
    CHECK_OK(vw_dataset_read(tt_file("q.npy"), VW_FORMAT_AUTO, &q));
    if (!base || !q || base->n != N || q->n != NQ || base->dim != DIM) {
        fprintf(stderr, "FAIL: vw-gen output unreadable or of the wrong shape\n");
        return 1;
    }

    /* l2 */
    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("l2.vwi"), "-M", "16",
               "--threads", "1", "--ef-construction", "200", NULL);
    tt_expect_ok("vw-build l2", &r);
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", tt_file("l2.vwi"), "-k", "10", "--ef", "500", "--json",
               "--queries", tt_file("q.npy"), NULL);
    if (tt_expect_ok("vw-query l2", &r))
        check_json_results("l2", r.out, VW_METRIC_L2, base->data, q->data);
    tt_free_result(&r);
    check_text_inputs(base->data, q->data);

    /* cosine, with queries three times too long, through --mmap */
    float *q3 = malloc((size_t)NQ * DIM * sizeof *q3);
    for (int i = 0; i < NQ * DIM; i++)
        q3[i] = 3.0f * q->data[i];
    CHECK_OK(vw_dataset_write(tt_file("q3.fvecs"), VW_FORMAT_AUTO, q3, NQ, DIM));
    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("cos.vwi"), "-M", "16",
               "--threads", "1", "--metric", "cosine", NULL);
    tt_expect_ok("vw-build cosine", &r);
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", tt_file("cos.vwi"), "--ef", "500", "--json", "--mmap",
               "--queries", tt_file("q3.fvecs"), NULL);
    if (tt_expect_ok("vw-query cosine", &r))
        check_json_results("cosine", r.out, VW_METRIC_COSINE, base->data, q3);
    tt_free_result(&r);

    /* vw-build renumbers the nodes unless told not to; at a small ef, where
     * the answers are approximate, both indexes must still answer alike */
    r = tt_run(NULL, tt.build, "-i", tt_file("base.fvecs"), "-o", tt_file("plain.vwi"), "-M", "16",
               "--threads", "1", "--ef-construction", "200", "--no-reorder", NULL);
    tt_expect_ok("vw-build --no-reorder", &r);
    tt_free_result(&r);
    tt_run_result a = tt_run(NULL, tt.query, "-x", tt_file("l2.vwi"), "--ef", "12", "--json",
                             "--queries", tt_file("q.npy"), NULL);
    tt_run_result b = tt_run(NULL, tt.query, "-x", tt_file("plain.vwi"), "--ef", "12", "--json",
                             "--queries", tt_file("q.npy"), NULL);
    if (tt_expect_ok("vw-query reordered", &a) && tt_expect_ok("vw-query plain", &b))
        CHECK(strcmp(a.out, b.out) == 0);
    tt_free_result(&a);
    tt_free_result(&b);
    size_t la = 0, lb = 0;
    char *fa = tt_read_text(tt_file("l2.vwi"), &la), *fb = tt_read_text(tt_file("plain.vwi"), &lb);
    CHECK(fa && fb && la == lb && memcmp(fa, fb, la) != 0); /* same size, other order */
    free(fa);
    free(fb);

    free(q3);
    vw_dataset_free(base);
    vw_dataset_free(q);
    return tu_result("tools_exact");
}
