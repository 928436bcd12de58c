/* The filter language and element attributes: every operator on a small
 * index whose answers are known, every error with the place it names, the
 * attribute limits, and what remove, upsert and replace do to attributes. */
#include "testutil.h"

#include <string.h>

#define DIM 4

static vw_index *small_index(void) {
    vw_params p;
    vw_params_default(&p, DIM);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    for (uint64_t l = 0; l < 10; l++) {
        float v[DIM] = {(float)l, 0, 0, 0};
        CHECK_OK(vw_index_add(ix, v, l));
    }
    return ix;
}

static void set(vw_index *ix, uint64_t label, const char *json) {
    CHECK_OK(vw_index_set_attributes(ix, label, json, strlen(json)));
}

/* The labels a filtered search over everything returns, as a bit mask. */
static unsigned matches(const vw_index *ix, const char *filter) {
    vw_filter *f = NULL;
    vw_status st = vw_filter_parse(filter, strlen(filter), &f);
    if (st != VW_OK) {
        fprintf(stderr, "filter %s: %s\n", filter, vw_last_error_detail());
        check_failures++;
        return 0;
    }
    vw_search_options o;
    vw_search_options_default(&o);
    o.where = f;
    uint64_t labels[16];
    uint32_t found = 0;
    float q[DIM] = {0};
    CHECK_OK(vw_index_search_ex(ix, q, 16, &o, labels, NULL, &found));
    unsigned mask = 0;
    for (uint32_t i = 0; i < found; i++)
        mask |= 1u << labels[i];
    vw_filter_free(f);
    return mask;
}

#define EXPECT(ix, filter, want)                                                                   \
    do {                                                                                           \
        unsigned got_ = matches(ix, filter);                                                       \
        if (got_ != (unsigned)(want)) {                                                            \
            fprintf(stderr, "%s:%d: %s matched 0x%x, want 0x%x\n", __FILE__, __LINE__, filter,     \
                    got_, (unsigned)(want));                                                       \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static void test_operators(void) {
    vw_index *ix = small_index();
    set(ix, 0, "{\"color\": \"red\", \"price\": 5, \"stock\": true, \"tags\": [\"a\", \"b\"]}");
    set(ix, 1, "{\"color\": \"blue\", \"price\": 15, \"stock\": false, \"tags\": []}");
    set(ix, 2, "{\"color\": \"red\", \"price\": 25.5, \"stock\": true, \"tags\": [\"b\"]}");
    set(ix, 3, "{\"color\": \"green\", \"price\": 10, \"tags\": null}");
    set(ix, 4, "{\"price\": \"cheap\"}");
    /* 5..9 have no attributes */
    EXPECT(ix, "{}", 0x3ff);
    EXPECT(ix, "{\"must\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}}]}", 0x5);
    EXPECT(ix, "{\"must\": {\"key\": \"color\", \"match\": {\"value\": \"red\"}}}", 0x5);
    EXPECT(ix, "{\"must\": [{\"key\": \"color\", \"match\": {\"value\": \"pink\"}}]}", 0);
    EXPECT(ix, "{\"must\": [{\"key\": \"nothere\", \"match\": {\"value\": \"red\"}}]}", 0);
    EXPECT(ix, "{\"must\": [{\"key\": \"color\", \"match\": {\"any\": [\"blue\", \"green\"]}}]}",
           0xa);
    EXPECT(ix, "{\"must\": [{\"key\": \"color\", \"match\": {\"any\": []}}]}", 0);
    EXPECT(ix, "{\"must\": [{\"key\": \"tags\", \"match\": {\"value\": \"b\"}}]}", 0x5);
    EXPECT(ix, "{\"must\": [{\"key\": \"stock\", \"match\": {\"value\": true}}]}", 0x5);
    EXPECT(ix, "{\"must\": [{\"key\": \"stock\", \"match\": {\"value\": false}}]}", 0x2);
    EXPECT(ix, "{\"must\": [{\"key\": \"price\", \"match\": {\"value\": 10}}]}", 0x8);
    EXPECT(ix, "{\"must\": [{\"key\": \"price\", \"match\": {\"any\": [5, 15]}}]}", 0x3);
    EXPECT(ix, "{\"must\": [{\"key\": \"price\", \"range\": {\"gte\": 10, \"lt\": 25.5}}]}", 0xa);
    EXPECT(ix, "{\"must\": [{\"key\": \"price\", \"range\": {\"gt\": 10, \"lte\": 25.5}}]}", 0x6);
    EXPECT(ix, "{\"must\": [{\"key\": \"price\", \"range\": {\"gt\": 5}}]}", 0xe);
    EXPECT(ix, "{\"must\": [{\"key\": \"price\", \"range\": {\"lt\": 5}}]}", 0);
    EXPECT(ix, "{\"must\": [{\"is_empty\": {\"key\": \"tags\"}}]}", 0x3fa);
    EXPECT(ix, "{\"must\": [{\"has_id\": [1, 3, 7, 99]}]}", 0x8a);
    EXPECT(ix, "{\"must_not\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}}]}", 0x3fa);
    EXPECT(ix,
           "{\"should\": [{\"key\": \"color\", \"match\": {\"value\": \"blue\"}}, {\"has_id\": "
           "[9]}]}",
           0x202);
    EXPECT(ix,
           "{\"must\": [{\"key\": \"stock\", \"match\": {\"value\": true}}], \"must_not\": "
           "[{\"key\": \"price\", \"range\": {\"gt\": 20}}]}",
           0x1);
    /* nested groups: red and (cheap or tagged a) */
    EXPECT(ix,
           "{\"must\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}}, {\"should\": "
           "[{\"key\": \"price\", \"range\": {\"lt\": 10}}, {\"key\": \"tags\", \"match\": "
           "{\"value\": \"a\"}}]}]}",
           0x1);
    EXPECT(ix, "{\"must_not\": [{\"must_not\": [{\"has_id\": [2]}]}]}", 0x4);
    vw_index_free(ix);
}

/* Each malformed filter fails with VW_ERR_INVALID_ARG and names the place. */
static void test_errors(void) {
    static const struct {
        const char *text, *place;
    } cases[] = {
        {"", "at byte 0"},
        {"[]", "filter: expected an object, got an array"},
        {"{\"must\": [1]}", "filter.must[0]: expected an object"},
        {"{\"musst\": []}", "filter.musst: unknown member"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"value\": [1]}}]}",
         "filter.must[0].match.value: expected a string, a number or a boolean"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"valu\": 1}}]}",
         "filter.must[0].match.valu: unknown member"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"any\": [true]}}]}",
         "filter.must[0].match.any[0]: expected a string or a number"},
        {"{\"must\": [{\"key\": \"a\", \"range\": {\"gte\": \"1\"}}]}",
         "filter.must[0].range.gte: expected a number, got a string"},
        {"{\"must\": [{\"key\": \"a\", \"range\": {\"between\": 1}}]}",
         "filter.must[0].range.between: unknown member"},
        {"{\"must\": [{\"key\": \"a\", \"range\": {}}]}",
         "filter.must[0].range: expected at least"},
        {"{\"must\": [{\"key\": 1, \"range\": {\"gt\": 1}}]}",
         "filter.must[0].key: expected a string"},
        {"{\"must\": [{\"key\": \"a\"}]}",
         "filter.must[0]: a condition with \"key\" needs exactly"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"value\": 1}, \"range\": {\"gt\": 1}}]}",
         "filter.must[0]: a condition with \"key\" needs exactly"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"value\": 1}, \"boost\": 2}]}",
         "filter.must[0].boost: unknown member"},
        {"{\"should\": [{\"has_id\": [1, -2]}]}", "filter.should[0].has_id[1]: expected a label"},
        {"{\"should\": [{\"has_id\": 5}]}", "filter.should[0].has_id: expected an array"},
        {"{\"must_not\": [{\"is_empty\": {\"field\": \"a\"}}]}",
         "filter.must_not[0].is_empty: expected {\"key\": ...}"},
        {"{\"must\": [{\"must\": [{\"nope\": 1}]}]}",
         "filter.must[0].must[0].nope: unknown member"},
        {"{\"must\": [{}]}", "filter.must[0]: empty condition"},
        {"{\"must\": [], \"must\": []}", "filter.must: given twice"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"value\": 1}}]} x", "text after the value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vw_filter *f = (vw_filter *)1;
        vw_status st = vw_filter_parse(cases[i].text, strlen(cases[i].text), &f);
        if (st != VW_ERR_INVALID_ARG || f != NULL ||
            !strstr(vw_last_error_detail(), cases[i].place)) {
            fprintf(stderr, "filter %s: %s (%s), want a detail with \"%s\"\n", cases[i].text,
                    vw_strerror(st), vw_last_error_detail(), cases[i].place);
            check_failures++;
        }
    }
    char deep[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "{\"must\":");
    vw_filter *f = NULL;
    CHECK_ST(vw_filter_parse(deep, strlen(deep), &f), VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "nested too deeply"));
    CHECK_ST(vw_filter_parse(NULL, 0, &f), VW_ERR_NULL_ARG);
    vw_filter_free(NULL);
}

static void test_attribute_limits(void) {
    vw_index *ix = small_index();
    static const struct {
        const char *text, *place;
    } bad[] = {
        {"[1]", "attributes: expected an object, got an array"},
        {"{\"a\": {\"b\": 1}}", "attributes.a: nested objects are not supported"},
        {"{\"a\": [1, 2]}", "attributes.a[0]: arrays hold strings only, got a number"},
        {"{\"a\": 1, \"a\": 2}", "attributes.a: given twice"},
        {"{\"a\": 1", "attributes: expected ',' or '}'"},
        {"{\"\": 1}", "a member name is 1 to 128 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vw_status st = vw_index_set_attributes(ix, 1, bad[i].text, strlen(bad[i].text));
        if (st != VW_ERR_INVALID_ARG || !strstr(vw_last_error_detail(), bad[i].place)) {
            fprintf(stderr, "attributes %s: %s (%s), want \"%s\"\n", bad[i].text, vw_strerror(st),
                    vw_last_error_detail(), bad[i].place);
            check_failures++;
        }
    }
    static char big[VW_MAX_ATTR_BYTES + 64];
    snprintf(big, sizeof big, "{\"s\": \"%0*d\"}", (int)VW_MAX_ATTR_BYTES, 0);
    CHECK_ST(vw_index_set_attributes(ix, 1, big, strlen(big)), VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "the limit is 4096"));
    snprintf(big, sizeof big, "{\"s\": \"%0*d\"}", 1025, 0);
    CHECK_ST(vw_index_set_attributes(ix, 1, big, strlen(big)), VW_ERR_INVALID_ARG);
    CHECK(strstr(vw_last_error_detail(), "attributes.s: a string of 1025 bytes"));
    CHECK_ST(vw_index_set_attributes(ix, 77, "{}", 2), VW_ERR_NOT_FOUND);
    vw_index_free(ix);
}

static void get(const vw_index *ix, uint64_t label, const char *want) {
    char buf[256];
    size_t len = 99;
    CHECK_OK(vw_index_get_attributes(ix, label, buf, sizeof buf, &len));
    if (strcmp(buf, want) != 0 || len != strlen(want)) {
        fprintf(stderr, "attributes of %llu: %s, want %s\n", (unsigned long long)label, buf, want);
        check_failures++;
    }
}

static void test_lifecycle(void) {
    vw_index *ix = small_index();
    get(ix, 1, "");
    set(ix, 1, " { \"c\" : \"r\\u00e9d\\n\", \"n\": 1.5e1, \"t\": [\"x\"], \"z\": null } ");
    get(ix, 1,
        "{\"c\":\"r\xc3\xa9"
        "d\\u000a\",\"n\":15,\"t\":[\"x\"],\"z\":null}");
    char small[4];
    size_t len = 0;
    CHECK_ST(vw_index_get_attributes(ix, 1, small, sizeof small, &len), VW_ERR_INVALID_ARG);
    CHECK(len == strlen("{\"c\":\"r\xc3\xa9"
                        "d\\u000a\",\"n\":15,\"t\":[\"x\"],\"z\":null}"));
    CHECK_ST(vw_index_get_attributes(ix, 42, small, sizeof small, &len), VW_ERR_NOT_FOUND);
    /* an upsert of the vector keeps the attributes */
    float v[DIM] = {1, 1, 0, 0};
    CHECK_OK(vw_index_upsert(ix, v, 1));
    get(ix, 1,
        "{\"c\":\"r\xc3\xa9"
        "d\\u000a\",\"n\":15,\"t\":[\"x\"],\"z\":null}");
    EXPECT(ix, "{\"must\": [{\"key\": \"n\", \"range\": {\"gte\": 15}}]}", 0x2);
    /* replaced: the old values stop matching */
    set(ix, 1, "{\"n\": 3}");
    get(ix, 1, "{\"n\":3}");
    EXPECT(ix, "{\"must\": [{\"key\": \"n\", \"range\": {\"gte\": 15}}]}", 0);
    EXPECT(ix, "{\"must\": [{\"key\": \"t\", \"match\": {\"value\": \"x\"}}]}", 0);
    EXPECT(ix, "{\"must\": [{\"key\": \"n\", \"match\": {\"value\": 3}}]}", 0x2);
    /* removed with "null", and with NULL */
    set(ix, 1, "null");
    get(ix, 1, "");
    set(ix, 2, "{\"n\": 3}");
    CHECK_OK(vw_index_set_attributes(ix, 2, NULL, 0));
    EXPECT(ix, "{\"must\": [{\"key\": \"n\", \"match\": {\"value\": 3}}]}", 0);
    /* remove drops them; the label added again starts without */
    set(ix, 3, "{\"n\": 3}");
    CHECK_OK(vw_index_remove(ix, 3));
    EXPECT(ix, "{\"must\": [{\"key\": \"n\", \"match\": {\"value\": 3}}]}", 0);
    float w[DIM] = {3, 0, 0, 0};
    CHECK_OK(vw_index_add(ix, w, 3));
    get(ix, 3, "");
    EXPECT(ix, "{\"must\": [{\"has_id\": [3]}]}", 0x8);
    /* with a filter callback too: both must hold */
    vw_index_free(ix);
}

int main(void) {
    test_operators();
    test_errors();
    test_attribute_limits();
    test_lifecycle();
    return tu_result("test_filter_lang");
}
