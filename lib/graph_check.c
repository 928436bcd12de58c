/* graph_check.c - see graph_check.h. */
#include "graph_check.h"

/* The entry point of a graph whose nodes in use (`used` of them) reach `top`. */
static vw_status check_entry(const char *what, const uint8_t *levels, uint64_t n, bool entry_free,
                             uint64_t used, unsigned top, uint32_t entry, int32_t max_level) {
    if (used == 0)
        return entry == VW_NO_NODE
                   ? VW_OK
                   : vw_fail(VW_ERR_CORRUPT, "%s: entry point %u but no node is in use", what,
                             entry);
    if (entry == VW_NO_NODE)
        return vw_fail(VW_ERR_CORRUPT, "%s: no entry point for %llu nodes", what,
                       (unsigned long long)used);
    if (entry >= n)
        return vw_fail(VW_ERR_CORRUPT, "%s: entry point %u out of range (%llu nodes)", what, entry,
                       (unsigned long long)n);
    if (max_level < 0 || top != (unsigned)max_level)
        return vw_fail(VW_ERR_CORRUPT,
                       "%s: the highest level is %u, the entry point's top layer is given as %d",
                       what, top, max_level);
    if (entry_free)
        return vw_fail(VW_ERR_CORRUPT, "%s: entry point %u is a free slot", what, entry);
    if (levels[entry] != top)
        return vw_fail(VW_ERR_CORRUPT, "%s: entry point %u is on level %u, not %d", what, entry,
                       levels[entry], max_level);
    return VW_OK;
}

vw_status vw_graph_check_levels(const char *what, const uint8_t *levels, uint64_t n,
                                const uint8_t *states, uint8_t free, uint32_t entry,
                                int32_t max_level) {
    uint64_t used = 0;
    unsigned top = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (states && states[i] == free) {
            if (levels[i] != 0)
                return vw_fail(VW_ERR_CORRUPT, "%s: free slot %llu is on level %u", what,
                               (unsigned long long)i, levels[i]);
            continue;
        }
        used++;
        top = levels[i] > top ? levels[i] : top;
    }
    bool entry_free = states && entry < n && states[entry] == free;
    return check_entry(what, levels, n, entry_free, used, top, entry, max_level);
}

vw_status vw_graph_check_list(const char *what, uint64_t node, unsigned layer, const uint32_t *ids,
                              uint32_t count, uint32_t cap, uint64_t n, const uint8_t *levels) {
    if (count > cap)
        return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u has %u neighbours, max %u", what,
                       (unsigned long long)node, layer, count, cap);
    for (uint32_t j = 0; j < count; j++) {
        if (ids[j] >= n)
            return vw_fail(VW_ERR_CORRUPT, "%s: node %llu layer %u neighbour id %u >= count %llu",
                           what, (unsigned long long)node, layer, ids[j], (unsigned long long)n);
        if (levels && levels[ids[j]] < layer)
            return vw_fail(VW_ERR_CORRUPT,
                           "%s: node %llu layer %u: neighbour %u is only on layers 0..%u", what,
                           (unsigned long long)node, layer, ids[j], levels[ids[j]]);
    }
    return VW_OK;
}
