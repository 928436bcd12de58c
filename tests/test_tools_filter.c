/* vw-build --attributes, vw-query --filter and vw-bench --filter end to
 * end: every result printed matches the filter, vw-bench reports the
 * matching count and no non-matching result, and bad attribute lines and
 * bad filters fail with one line naming the place. */
#include "test_tools_util.h"

#define N 600

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
        int results = 0, wrong = 0;
        for (const char *line = r.out; *line; line = strchr(line, '\n') + 1) {
            if (*line != '#') {
                long label = strtol(line, NULL, 10);
                results++;
                wrong += !(label % 3 == 0 && label < 50);
            }
            if (!strchr(line, '\n'))
                break;
        }
        CHECK(results == 20 * 17 && wrong == 0); /* 17 matches, all found for each query */
    }
    tt_free_result(&r);
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
