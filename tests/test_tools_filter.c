/* vw-build --attributes, vw-query --filter and vw-bench --filter end to
 * end: every result printed matches the filter, vw-bench reports the
 * matching count and no non-matching result, and bad attribute lines and
 * bad filters fail with one line naming the place. */
#include "test_tools_util.h"

#define N 600

/* The labels of vw-query's output lines, in order; returns how many. */
static int result_labels(const char *out, long *labels, int cap) {
    int n = 0;
    for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
        if (*line != '#' && n < cap)
            labels[n++] = strtol(line, NULL, 10);
        if (!strchr(line, '\n'))
            break;
    }
    return n;
}

/* vw-build --from INDEX --attributes FILE: the attributes attached to an
 * index built without them answer a filter exactly as the index built with
 * them; a second file replaces them line by line (an empty line clears);
 * a line for a label the index does not hold is an error. */
static void check_from(const char *base, const char *queries, const char *attrs, const char *built,
                       const char *filter) {
    char *plain = strdup(tt_file("plain.vwi")), *attached = strdup(tt_file("attached.vwi"));
    char *edits = strdup(tt_file("edits.jsonl")), *edited = strdup(tt_file("edited.vwi"));
    tt_run_result r = tt_run(NULL, tt.build, "-i", base, "-o", plain, "-q", NULL);
    tt_expect_ok("vw-build without attributes", &r);
    tt_free_result(&r);
    r = tt_run(NULL, tt.build, "--from", plain, "-o", attached, "--attributes", attrs, NULL);
    tt_expect_ok("vw-build --from --attributes", &r);
    tt_free_result(&r);
    const char *files[] = {built, attached};
    long got[2][20 * 30];
    int n[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        r = tt_run(NULL, tt.query, "-x", files[i], "-k", "30", "--queries", queries, "--filter",
                   filter, NULL);
        if (tt_expect_ok("vw-query --filter", &r))
            n[i] = result_labels(r.out, got[i], 20 * 30);
        tt_free_result(&r);
    }
    CHECK(n[0] == 20 * 17 && n[1] == n[0] && memcmp(got[0], got[1], n[0] * sizeof got[0][0]) == 0);
    FILE *f = fopen(edits, "w"); /* label 0: cleared; 3: no longer red; 6: kept (no line) */
    fputs("\n{\"a\": 1}\n{\"b\": 2}\n{\"color\": \"green\", \"price\": 0}\n", f);
    fclose(f);
    r = tt_run(NULL, tt.build, "--from", attached, "-o", edited, "--attributes", edits, "-q", NULL);
    tt_expect_ok("vw-build --from --attributes (edits)", &r);
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", edited, "-k", "30", "--queries", queries, "--filter", filter,
               NULL);
    if (tt_expect_ok("vw-query after edits", &r)) {
        int k = result_labels(r.out, got[1], 20 * 30), bad = 0;
        for (int i = 0; i < k; i++)
            bad += got[1][i] == 0 || got[1][i] == 3 || got[1][i] % 3 != 0;
        CHECK(k == 20 * 15 && bad == 0); /* 17 matches less labels 0 and 3 */
    }
    tt_free_result(&r);
    f = fopen(edits, "w");
    for (int i = 0; i <= N; i++)
        fputs(i < N ? "\n" : "{\"past\": \"the labels\"}\n", f);
    fclose(f);
    r = tt_run(NULL, tt.build, "--from", attached, "-o", edited, "--attributes", edits, "-q", NULL);
    tt_expect_fail("vw-build --from, a line past the labels", &r, 0,
                   "edits.jsonl:601: label 600 is not in the index");
    tt_free_result(&r);
    free(plain);
    free(attached);
    free(edits);
    free(edited);
}

int main(int argc, char **argv) {
    tt_setup(argc, argv);
    /* copies: tt_file's buffers rotate */
    char *base = strdup(tt_file("base.npy")), *queries = strdup(tt_file("q.npy"));
    char *attrs = strdup(tt_file("attrs.jsonl")), *index = strdup(tt_file("f.vwi"));
    char *out = strdup(tt_file("bench.json"));
    tt_run_result r = tt_run(NULL, tt.gen, "-o", base, "-n", "600", "-d", "8", "--queries", "20",
                             "--queries-out", queries, "-q", NULL);
    tt_expect_ok("vw-gen", &r);
    tt_free_result(&r);
    FILE *f = fopen(attrs, "w");
    for (int i = 0; i < N; i++) /* label i: color by i % 3, price i / 10 */
        fprintf(f, i == 5 ? "\n" : "{\"color\": \"%s\", \"price\": %d}\n",
                (const char *[]){"red", "green", "blue"}[i % 3], i / 10);
    fclose(f);
    r = tt_run(NULL, tt.build, "-i", base, "-o", index, "--attributes", attrs, "-q", NULL);
    tt_expect_ok("vw-build --attributes", &r);
    tt_free_result(&r);
    /* price < 5 and red: labels 0, 3, ..., 48 */
    const char *filter = "{\"must\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}}, "
                         "{\"key\": \"price\", \"range\": {\"lt\": 5}}]}";
    r = tt_run(NULL, tt.query, "-x", index, "-k", "30", "--queries", queries, "--filter", filter,
               NULL);
    if (tt_expect_ok("vw-query --filter", &r)) {
        static long labels[20 * 30];
        int results = result_labels(r.out, labels, 20 * 30), wrong = 0;
        for (int i = 0; i < results; i++)
            wrong += !(labels[i] % 3 == 0 && labels[i] < 50);
        CHECK(results == 20 * 17 && wrong == 0); /* 17 matches, all found for each query */
    }
    tt_free_result(&r);
    check_from(base, queries, attrs, index, filter);
    r = tt_run(NULL, tt.bench, "-x", index, "--queries", queries, "--base", base, "--filter",
               filter, "--ef", "16", "-o", out, NULL);
    if (tt_expect_ok("vw-bench --filter", &r)) {
        char *json = tt_read_text(out, NULL);
        CHECK(tt_json_number(json, "matching") == 17);
        CHECK(tt_json_number(json, "nonmatching_results") == 0);
        CHECK(tt_json_number(json, "recall_at_k") == 1);
        free(json);
    }
    tt_free_result(&r);
    r = tt_run(NULL, tt.query, "-x", index, "--queries", queries, "--filter",
               "{\"must\": [{\"key\": \"price\", \"range\": {\"lt\": \"5\"}}]}", NULL);
    tt_expect_fail("vw-query bad filter", &r, 2, "filter.must[0].range.lt: expected a number");
    tt_free_result(&r);
    f = fopen(attrs, "a");
    fputs("{\"too\": \"many lines\"}\n", f);
    fclose(f);
    r = tt_run(NULL, tt.build, "-i", base, "-o", index, "--attributes", attrs, "-q", NULL);
    tt_expect_fail("vw-build extra line", &r, 0, "more than 600 lines");
    tt_free_result(&r);
    f = fopen(attrs, "w");
    fputs("{\"a\": 1}\n{\"a\": {\"nested\": 1}}\n", f);
    fclose(f);
    r = tt_run(NULL, tt.build, "-i", base, "-o", index, "--attributes", attrs, "-q", NULL);
    tt_expect_fail("vw-build nested", &r, 0, "attrs.jsonl:2: attributes.a: nested objects");
    tt_free_result(&r);
    free(base);
    free(queries);
    free(attrs);
    free(index);
    free(out);
    return tu_result("tools_filter");
}
