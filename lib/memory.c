/* Large arrays (vectors, layer-0 lists) live in their own anonymous
 * mappings marked MADV_HUGEPAGE.
 *
 * A search touches a few thousand vectors scattered over the whole array;
 * with 4 KiB pages nearly every one of them is also a TLB miss once the
 * index outgrows the TLB's reach (a few MB), which costs as much as the
 * cache miss itself. 2 MiB pages cover a 1M x 128 index with 256 entries.
 * Growth uses mremap, which moves pages instead of copying bytes. Where the
 * kernel does not do transparent huge pages the advice is ignored. */
#include "vw_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* AddressSanitizer cannot see past the end of an array inside a page-rounded
 * mapping, so under it the arrays are plain heap blocks of the exact size. */
#if defined(__SANITIZE_ADDRESS__)
#define VW_EXACT_ARRAYS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VW_EXACT_ARRAYS 1
#endif
#endif

#ifdef VW_EXACT_ARRAYS
bool vw_big_realloc(void **p, size_t *len, size_t bytes) {
    size_t want = bytes ? bytes : 1;
    if (*p && want <= *len)
        return true;
    void *q = realloc(*p, want);
    if (!q)
        return false;
    /* zero-filled like a fresh anonymous mapping */
    memset((char *)q + (*p ? *len : 0), 0, want - (*p ? *len : 0));
    *p = q;
    *len = want;
    return true;
}

void vw_big_free(void *p, size_t len) {
    (void)len;
    free(p);
}
#else
#define HUGE_PAGE  ((size_t)2 << 20)
#define SMALL_PAGE ((size_t)4096)

/* Small arrays stay on small pages: a huge page for a 1000-vector index
 * would multiply its resident size for no gain. */
static size_t round_up(size_t bytes) {
    size_t unit = bytes >= 2 * HUGE_PAGE ? HUGE_PAGE : SMALL_PAGE;
    return (bytes + unit - 1) & ~(unit - 1);
}

bool vw_big_realloc(void **p, size_t *len, size_t bytes) {
    size_t want = round_up(bytes ? bytes : 1);
    if (*p && want <= *len)
        return true;
    void *q = *p ? mremap(*p, *len, want, MREMAP_MAYMOVE)
                 : mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return false;
    if (want >= 2 * HUGE_PAGE)
        madvise(q, want, MADV_HUGEPAGE);
    *p = q;
    *len = want;
    return true;
}

void vw_big_free(void *p, size_t len) {
    if (p)
        munmap(p, len);
}
#endif
