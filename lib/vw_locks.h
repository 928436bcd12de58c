/*
 * vw_locks.h - every lock in lib/, what it guards, the order they nest in,
 * and the debug-build bookkeeping that checks it. Read this before changing
 * anything a search can run beside.
 *
 * Locks of an index (struct vw_index in vw_internal.h), outermost first:
 *
 *   writer      pthread mutex, error-checking. One mutating call at a time:
 *               add, upsert (single and batch), remove, purge, train,
 *               reorder, get_vector and save. Guards everything a search
 *               never reads: the label map, the slot lists (pending, free,
 *               limbo, purge pass), ix->live, draws, the i8 codec while it
 *               trains, and every write to node rows, levels, labels and
 *               states. Re-entry from the same thread (a progress callback
 *               calling back) is a status, not a deadlock.
 *               Taken by: vw_writer_lock (index.c), from the public calls.
 *   rw          pthread rwlock, writer-preferring. Read: every search
 *               (vw_index_search_ex), for the whole search. Write: the
 *               moments the arrays move or are renumbered: vw_index_reserve
 *               growing them, compact.c's swap_in, vw_index_reorder.
 *               Guards the array pointers and ix->capacity.
 *               Taken by: vw_lock_read, vw_lock_write (index.c).
 *   place_lock  mutex of one batch insert (insert.c batch_insert): placing
 *               a row (slot, label map, count, draws) and unhiding an
 *               upsert's node, which the batch's threads do one at a time.
 *   global      mutex: the entry point and top level during a batch
 *               insert. Held for the whole link of a node that raises the
 *               top level (insert.c link_node), briefly otherwise.
 *   node stripes  VW_NODE_LOCKS mutexes, node id -> id % VW_NODE_LOCKS: the
 *               link lists of a node while the threads of one batch insert
 *               link concurrently (vw_node_lock_take). A thread holds at
 *               most one stripe: two nodes can share a stripe, so holding
 *               two could deadlock.
 *   pool_lock   mutex: the free list of search scratch (scratch.c). A leaf:
 *               nothing else is taken while it is held.
 *   attrs lock  rwlock of the attribute store (attrs.h, ix->attrs). Read: a
 *               filtered search, for its planning and its whole scan or
 *               walk. Write: a writer changing records or the per-field
 *               indexes (set_attributes, a removal, a new label's record
 *               in place_at, their growth). A leaf: nothing is taken while
 *               it is held. A record's node is an atomic word, which
 *               place_at sets for an upsert without the lock.
 *
 * Outside an index:
 *
 *   vw_store.mu store.c: the queue of waiting writes, the busy and
 *               snapshot flags, the sticky failure and the stats. A leaf as
 *               well: a commit or a snapshot marks the store busy and calls
 *               into the index (which takes writer) with mu released.
 *   pthread_once crc32c.c and distance.c build their tables once.
 *
 * Allowed nestings (a thread takes them in this order, never the reverse):
 *
 *   writer -> rw (write)             vw_index_reserve under an insert;
 *                                    compact.c swap_in; vw_index_reorder
 *   writer -> place_lock             a batch insert's threads (the caller
 *                                    holds writer for them)
 *   writer -> global -> one stripe   insert.c link_node of a node raising
 *                                    the top level (the greedy descent takes
 *                                    stripes one at a time)
 *   writer -> one stripe             every other link of an insert
 *   writer -> pool_lock              an insert or a purge getting scratch
 *   writer -> rw (read)              a search from a progress callback
 *   rw (read) -> pool_lock           every search
 *   rw (read) -> attrs (read)        a filtered search (planner.c)
 *   writer [-> place_lock] -> attrs (write)   attrs.c, insert.c place_at
 *
 * rw is never taken twice by one thread (not recursive), and a thread holding
 * rw never takes writer: a growth waiting for the searches would wait for
 * itself (the Threads section of vwhnsw.h tells callbacks so).
 *
 * Lock-free parts, and what orders them instead: the link lists (atomic
 * words, count stored last: vw_list_* in vw_internal.h), the dead bits and
 * ndead (remove.c), the entry point (one atomic word: vw_top_*), the epoch
 * and each scratch's announcement (epoch.c), the counters stats reads
 * (index.c vw_index_publish).
 *
 * The checks. Builds with VW_ASSERTIONS keep, per thread, which locks of
 * which index the thread holds (vw_lock_note, called where each is taken
 * and dropped), and functions whose comment states a lock precondition
 * assert it on entry with VW_ASSERT_HOLDS. The threads of a batch insert
 * note the caller's writer lock as theirs (they work under it) and note
 * VW_HELD_BATCH, so "writer lock held, no batch running" reads
 * VW_ASSERT_HOLDS(ix, VW_HELD_WRITER) plus !vw_holds(ix, VW_HELD_BATCH). An
 * index that is being made (create, load, import) has not been handed to
 * anyone yet: its maker counts as holding every lock (VW_HELD_OWNER) until
 * vw_index_handed_over. Release builds compile all of it out.
 */
#ifndef VW_LOCKS_H
#define VW_LOCKS_H

#include "vw_assert.h"
#include "vwhnsw.h"

#include <stdbool.h>

enum {
    VW_HELD_WRITER = 1u << 0,  /* the writer mutex (or a batch worker under it) */
    VW_HELD_READ = 1u << 1,    /* rw for reading */
    VW_HELD_STORAGE = 1u << 2, /* rw for writing */
    VW_HELD_GLOBAL = 1u << 3,  /* the global mutex */
    VW_HELD_POOL = 1u << 4,    /* pool_lock */
    VW_HELD_BATCH = 1u << 5,   /* this thread runs (or is a thread of) a batch insert */
    VW_HELD_OWNER = 1u << 6    /* the index is still being made by this thread */
};

/* Whether this thread holds every lock in `locks` of ix (the owner of an
 * index being made holds them all). Defined only with VW_ASSERTIONS: use it
 * inside VW_ASSERT, which does not evaluate it otherwise. */
bool vw_holds(const vw_index *ix, unsigned locks);
/* Whether this thread holds any of `locks` of ix, ownership aside. */
bool vw_holds_any(const vw_index *ix, unsigned locks);

#ifdef VW_ASSERTIONS
/* Records that this thread took (on) or dropped (off) `lock` of ix. */
void vw_lock_note(const vw_index *ix, unsigned lock, bool on);
/* Forgets every lock this thread noted for ix (the index is freed). */
void vw_lock_forget(const vw_index *ix);
/* A thread of a batch insert: notes the caller's writer lock and
 * VW_HELD_BATCH as its own; returns what it added, for vw_lock_note(ix,
 * added, false) when the thread is done. */
unsigned vw_lock_note_worker(const vw_index *ix);
#else
#define vw_lock_note(ix, lock, on) ((void)(ix), (void)(lock), (void)(on))
#define vw_lock_forget(ix)         ((void)(ix))
#define vw_lock_note_worker(ix)    ((void)(ix), 0u)
#endif
/* The maker of an index gives it to its caller: from here it holds no lock
 * of it (create, load and import call it last). */
#define vw_index_handed_over(ix) vw_lock_note((ix), VW_HELD_OWNER, false)

#define VW_ASSERT_HOLDS(ix, locks) VW_ASSERT(vw_holds((ix), (locks)))
/* "Writer lock held, no batch running": the single-writer sections
 * (purge, compaction, choose_again) that change lists without node locks. */
#define VW_ASSERT_SOLE_WRITER(ix)                                                                  \
    VW_ASSERT(vw_holds((ix), VW_HELD_WRITER) && !vw_holds_any((ix), VW_HELD_BATCH))

#endif /* VW_LOCKS_H */
