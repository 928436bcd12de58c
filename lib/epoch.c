/* Epoch-based reclamation: when may a writer reuse the slot of a node it
 * has unlinked?
 *
 * Searches read link lists without locks, so a search that began before a
 * node was unlinked may still hold its id (in its candidate heap, or in a
 * list it copied) and read its vector and lists afterwards. The slot must
 * not be rewritten until every such search has ended.
 *
 * The index keeps a global epoch counter (from 1). A search announces the
 * epoch it began in on its scratch buffer (vw_epoch_enter) and clears it
 * when done (vw_epoch_exit). A writer that has finished unlinking nodes
 * advances the epoch (vw_epoch_advance returns the new value E) and tags
 * the slots with E; they may be reused once vw_epoch_passed(E): every
 * scratch is idle (0) or announces an epoch >= E.
 *
 * Why that is enough. A search announcing >= E read the counter after the
 * writer's increment, which is sequentially consistent and so ordered after
 * every unlinking store: it cannot find the unlinked ids. A search that
 * announced < E is waited for. The remaining case is a search that read the
 * counter before the increment but whose announcement the writer did not
 * see. Both sides issue a sequentially consistent fence between their store
 * (announcement; unlinking stores and increment) and their loads (list
 * words; announcements), so one of the two fences comes first: either the
 * writer sees the announcement, or the search's reads come after the
 * unlinking and cannot find the ids (the store-buffering pattern of C11
 * fences, 7.17.4). The same fence gives searches their promise about
 * removals: a removal that returned before the search's fence is seen.
 *
 * Exit is a release store, and the writer reads announcements with
 * acquire, so the search's last reads of a slot happen before the writer's
 * first write to it (this is also what ThreadSanitizer checks).
 *
 * The scratch buffers form an append-only list (all_scratch) that lives as
 * long as the index, so the writer can walk it without a lock; there are as
 * many as searches ever ran at once. */
#include "vw_internal.h"

void vw_epoch_enter(const vw_index *ix, vw_scratch *s) {
    VW_ASSERT(atomic_load_explicit(&s->epoch, memory_order_relaxed) == 0); /* not nested */
    vw_index *mix = (vw_index *)ix;
    uint64_t e = atomic_load(&mix->epoch);
    atomic_store(&s->epoch, e);
    atomic_thread_fence(memory_order_seq_cst);
}

void vw_epoch_exit(vw_scratch *s) {
    VW_ASSERT(atomic_load_explicit(&s->epoch, memory_order_relaxed) != 0);
    atomic_store_explicit(&s->epoch, 0, memory_order_release);
}

uint64_t vw_epoch_advance(vw_index *ix) {
    VW_ASSERT_HOLDS(ix, VW_HELD_WRITER); /* one advancer: the epoch only grows */
    uint64_t e = atomic_fetch_add(&ix->epoch, 1) + 1;
    VW_ASSERT(e > 1);
    atomic_thread_fence(memory_order_seq_cst);
    return e;
}

bool vw_epoch_passed(const vw_index *ix, uint64_t epoch) {
    vw_index *mix = (vw_index *)ix;
    VW_ASSERT(epoch >= 1 && epoch <= atomic_load(&mix->epoch)); /* an epoch advance returned */
    atomic_thread_fence(memory_order_seq_cst);
    for (vw_scratch *s = atomic_load_explicit(&mix->all_scratch, memory_order_acquire); s;
         s = s->all_next) {
        uint64_t e = atomic_load_explicit(&s->epoch, memory_order_acquire);
        if (e != 0 && e < epoch)
            return false;
    }
    return true;
}
