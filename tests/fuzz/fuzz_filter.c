/* libFuzzer target over the two JSON texts the library reads from users:
 * a filter (vw_filter_parse) and an element's attributes
 * (vw_index_set_attributes). Each input is tried as both; whatever parses
 * is used: the attributes are read back and must parse again to the same
 * text, and the filter runs a search over a small index whose elements
 * carry attributes, so a parsed filter of any shape is evaluated and
 * planned without fault.
 *
 * Seeds: tests/fuzz/seeds/fuzz_filter/. */
#include "vwhnsw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vw_index *make_index(void) {
    vw_params p;
    vw_params_default(&p, 2);
    vw_index *ix = NULL;
    if (vw_index_create(&p, &ix) != VW_OK)
        abort();
    static const char *const texts[] = {"{\"c\":\"red\",\"p\":1,\"t\":[\"a\"]}",
                                        "{\"c\":\"blue\",\"p\":2.5,\"s\":true}", "{\"z\":null}"};
    for (uint64_t i = 0; i < 6; i++) {
        float v[2] = {(float)i, 1};
        if (vw_index_add(ix, v, i) != VW_OK ||
            (i < 3 && vw_index_set_attributes(ix, i, texts[i], strlen(texts[i])) != VW_OK))
            abort();
    }
    return ix;
}

static void as_attributes(vw_index *ix, const char *text, size_t size) {
    if (vw_index_set_attributes(ix, 5, text, size) != VW_OK)
        return;
    static char out[VW_MAX_ATTR_BYTES * 6 + 16], again[VW_MAX_ATTR_BYTES * 6 + 16];
    size_t len = 0, len2 = 0;
    if (vw_index_get_attributes(ix, 5, out, sizeof out, &len) != VW_OK)
        abort();
    /* the canonical text is accepted again and is its own canonical form */
    if (len > 0 && len <= VW_MAX_ATTR_BYTES) {
        if (vw_index_set_attributes(ix, 5, out, len) != VW_OK ||
            vw_index_get_attributes(ix, 5, again, sizeof again, &len2) != VW_OK || len2 != len ||
            memcmp(out, again, len) != 0)
            abort();
    }
}

static void as_filter(const vw_index *ix, const char *text, size_t size) {
    vw_filter *f = NULL;
    if (vw_filter_parse(text, size, &f) != VW_OK) {
        if (f)
            abort();
        return;
    }
    vw_search_options o;
    vw_search_options_default(&o);
    o.where = f;
    uint64_t labels[6];
    uint32_t found = 0;
    float q[2] = {0.5f, 1};
    vw_filter_plan plan;
    if (vw_index_search_ex(ix, q, 6, &o, labels, NULL, &found) != VW_OK || found > 6 ||
        vw_index_filter_plan(ix, f, 6, 64, &plan) != VW_OK)
        abort();
    vw_filter_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vw_index *ix;
    if (!ix)
        ix = make_index();
    if (size > (1u << 16))
        return 0;
    as_filter(ix, (const char *)data, size);
    as_attributes(ix, (const char *)data, size);
    return 0;
}
