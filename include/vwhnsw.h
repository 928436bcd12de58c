/*
 * vwhnsw.h - the public API of libvwhnsw, an HNSW vector-search library in C.
 *
 * libvwhnsw builds Hierarchical Navigable Small World graphs (Malkov &
 * Yashunin, 2018) over float32 vectors and answers k-nearest-neighbour
 * queries on them. It depends on libc, libm and POSIX threads only.
 *
 * Conventions used throughout this header
 *
 *   - Every call that can fail returns a vw_status. VW_OK (0) is success;
 *     anything else names what went wrong, and vw_strerror() turns it into
 *     text. vw_last_error_detail() may add context (a file offset, the
 *     expected dimension) for the most recent failure on the calling thread.
 *   - The library never prints, exits or aborts on bad input. A call that
 *     fails leaves the index exactly as it was, and still usable.
 *   - Ownership: objects returned through an out-parameter (vw_index,
 *     vw_dataset) belong to the caller, who releases them with the matching
 *     *_free function. Pointers passed in are only borrowed for the call.
 *   - Labels are caller-chosen uint64_t values; each label appears at most
 *     once in an index.
 *   - Distances: VW_METRIC_L2 reports squared Euclidean distance;
 *     VW_METRIC_IP reports 1 - <a,b>; VW_METRIC_COSINE normalizes every
 *     vector on insert and every query on search, then reports 1 - <a,b>
 *     (= half the squared Euclidean distance between the unit vectors).
 *     Smaller is always nearer.
 *   - Storage kinds: an index stores its vectors as float32 (the default,
 *     exact), float16 or 8-bit codes (see vw_storage). Searches on compact
 *     kinds walk the graph on the codes and re-score the best candidates with
 *     the float32 vectors, so they return exact distances, unless the index
 *     was created with VW_PARAMS_NO_FLOAT32: then no float32 copy exists and
 *     the distances returned are APPROXIMATE (computed from the exact query
 *     and the decoded stored vector). vw_stats.exact_distances says which.
 *   - ABI: during 0.x the shared library's SONAME (libvwhnsw.so.N) changes
 *     whenever a public struct or enum changes layout; the version macros
 *     below say which release a program was built against. Always fill
 *     vw_params and vw_search_options through their *_default functions, so
 *     that fields added later get their defaults when you rebuild.
 *
 * Threads
 *
 *   Any number of threads may search one index while one thread at a time
 *   changes it (add, upsert, remove, purge, train), with no caller-side
 *   locking and no scratch memory to manage (the index pools per-search
 *   buffers). This holds for every storage kind.
 *
 *   - Readers: vw_index_search, vw_index_search_batch (and their _ex forms)
 *     and vw_index_stats never wait for a write to finish. The one exception: when an insert
 *     needs more room than the arrays have, searches pause while the
 *     arrays are moved (a realloc; the arrays grow by half each time, so
 *     this is rare and short), or a compaction (see vw_index_remove) swaps
 *     in its new arrays; vw_index_reorder holds them off for its whole run.
 *   - Writers: mutating calls are taken one at a time (a later one waits);
 *     so are vw_index_get_vector and vw_index_save, which read the index
 *     as of between two writes. To insert in parallel, give many vectors
 *     to one vw_index_add_batch or vw_index_upsert_batch call: its threads
 *     link concurrently under fine-grained per-node locks.
 *   - What a search sees: a search that starts after vw_index_remove (or an
 *     upsert) returned never returns the removed label (or the replaced
 *     vector). A search running while a write happens may see the index
 *     before or after it; while an upsert replaces a label, a concurrent
 *     search may miss that label, but never returns it twice.
 *   - Memory: a removed element's slot is reused only after every search
 *     that could still be reading it has ended (epoch-based reclamation), so
 *     a search never reads memory that is being rewritten.
 *   - Callbacks (filter, progress) run while the index is held: they must
 *     not call functions on the same index; doing so returns an error
 *     status where it can be detected.
 *   - vw_index_free must not race with any other call on the index.
 */
#ifndef VWHNSW_H
#define VWHNSW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VW_STATIC_DEFINE)
#define VW_API
#elif defined(__GNUC__)
#define VW_API __attribute__((visibility("default")))
#else
#define VW_API
#endif

/* ------------------------------------------------------------------ version */

#define VW_VERSION_MAJOR  0
#define VW_VERSION_MINOR  2
#define VW_VERSION_PATCH  0
#define VW_VERSION_NUMBER (VW_VERSION_MAJOR * 10000 + VW_VERSION_MINOR * 100 + VW_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH"; matches the macros above for
 * the library the program was built against. */
VW_API const char *vw_version(void);
/* VW_VERSION_NUMBER of the library actually linked at run time. */
VW_API unsigned vw_version_number(void);

/* ------------------------------------------------------------------ status */

typedef enum vw_status {
    VW_OK = 0,
    VW_ERR_NULL_ARG,        /* a required pointer argument was NULL */
    VW_ERR_INVALID_ARG,     /* a parameter is out of range (M, capacity, threads, ...) */
    VW_ERR_DIMENSION,       /* vector dimension does not match the index / out of range */
    VW_ERR_NONFINITE,       /* a vector holds NaN or +-Inf, or is so large distances overflow */
    VW_ERR_ZERO_VECTOR,     /* a zero vector cannot be normalized for the cosine metric */
    VW_ERR_K,               /* k is 0 or larger than VW_MAX_K */
    VW_ERR_EF,              /* ef is 0 or larger than VW_MAX_EF */
    VW_ERR_DUPLICATE_LABEL, /* the label is already in the index (or twice in a batch) */
    VW_ERR_EMPTY_INDEX,     /* the operation needs at least one element */
    VW_ERR_NOMEM,           /* memory allocation failed */
    VW_ERR_CAPACITY,        /* the index cannot grow beyond VW_MAX_ELEMENTS */
    VW_ERR_READONLY,        /* the index is memory-mapped and cannot be modified */
    VW_ERR_THREAD,          /* a thread could not be created */
    VW_ERR_IO,              /* a read, write, fsync or rename failed (see errno detail) */
    VW_ERR_NOT_FOUND,       /* a file does not exist / a label is not in the index */
    VW_ERR_FORMAT,          /* a file is not in a format we know (bad magic, wrong extension) */
    VW_ERR_TRUNCATED,       /* a file ends before its header says it should */
    VW_ERR_CORRUPT,         /* a file fails a structural check or checksum */
    VW_ERR_VERSION,         /* a file was written by a newer format version */
    VW_ERR_UNSUPPORTED,     /* valid input we do not support (e.g. an npy dtype, a CPU feature) */
    VW_ERR_CANCELLED,       /* a progress callback asked to stop */
    VW_STATUS_COUNT_        /* number of status codes; not a status */
} vw_status;

/* A short, static, human-readable description of a status. Never NULL. */
VW_API const char *vw_strerror(vw_status status);

/* Context for the last failing call on this thread (e.g. "expected dim 128,
 * got 64" or "links section: neighbour id 99 >= count 10"), or "" if the
 * call gave none. Valid until the next library call on this thread. */
VW_API const char *vw_last_error_detail(void);

/* ------------------------------------------------------------------ limits */

#define VW_MAX_DIM      4096u
#define VW_MAX_M        256u
#define VW_MAX_K        4096u
#define VW_MAX_EF       65536u
#define VW_MAX_ELEMENTS 0x7fffffffu

/* ------------------------------------------------------------------ index */

typedef enum vw_metric {
    VW_METRIC_L2 = 0,    /* squared Euclidean distance */
    VW_METRIC_IP = 1,    /* inner product, reported as 1 - <a,b> */
    VW_METRIC_COSINE = 2 /* vectors and queries normalized, then 1 - <a,b> */
} vw_metric;

/* "l2", "ip", "cosine"; NULL for an unknown value. */
VW_API const char *vw_metric_name(vw_metric metric);
/* Parses "l2", "ip" or "cosine" (case-insensitive). */
VW_API vw_status vw_metric_parse(const char *name, vw_metric *out);

/* How an index stores its vectors (bytes per vector for dim d):
 *
 *   VW_STORAGE_F32  4d   float32, exact. The default.
 *   VW_STORAGE_F16  2d   IEEE binary16 (11-bit significand, relative error
 *                        <= 2^-11 per component; components beyond +-65504
 *                        are refused with VW_ERR_NONFINITE; without float32,
 *                        a non-zero vector whose every component is below
 *                        f16's smallest value, 6e-8, would be stored as
 *                        zero and is refused with VW_ERR_INVALID_ARG). Recall is within
 *                        a few thousandths of f32 without re-ranking.
 *   VW_STORAGE_I8   d    8-bit scalar quantization: component i is stored as
 *                        code c in 0..255 and decodes to offset[i] + step * c,
 *                        with a per-dimension offset and one step for all
 *                        dimensions, trained from data (vw_index_train or the
 *                        first vw_index_add_batch: per-dimension min/max;
 *                        a sample whose vectors are all equal, such as one
 *                        vector, is refused with VW_ERR_INVALID_ARG).
 *                        Data made of at most 256 consecutive integers per
 *                        dimension (uint8 descriptors such as SIFT) gets step
 *                        1 and is stored losslessly. A later vector outside
 *                        the trained range is CLAMPED to it (its codes
 *                        saturate at 0 or 255); with float32 kept, the
 *                        re-ranking still returns its exact distance.
 *                        Without float32, VW_PARAMS_RESIDUAL adds d/2
 *                        bytes of 4-bit residuals that the re-ranking
 *                        decodes with (12-bit precision).
 *
 * Compact kinds also keep the float32 vectors (+4d bytes, a separate array
 * and file section that an mmap-loaded index only reads to re-rank) unless
 * VW_PARAMS_NO_FLOAT32 is set. Which kind when: see the README. */
typedef enum vw_storage { VW_STORAGE_F32 = 0, VW_STORAGE_F16 = 1, VW_STORAGE_I8 = 2 } vw_storage;

/* "f32", "f16", "i8"; NULL for an unknown value. */
VW_API const char *vw_storage_name(vw_storage storage);
/* Parses "f32", "f16" or "i8" (case-insensitive). */
VW_API vw_status vw_storage_parse(const char *name, vw_storage *out);

enum {
    /* Compact storage only: keep no float32 copy of the vectors. Saves 4d
     * bytes per vector; searches cannot re-rank and return approximate
     * distances (and vw_index_get_vector the decoded vector). */
    VW_PARAMS_NO_FLOAT32 = 1u << 0,
    /* i8 with VW_PARAMS_NO_FLOAT32 only: also keep a 4-bit residual of
     * every component (ceil(d/2) bytes per vector, an eighth of float32),
     * so that the best candidates are re-scored with 12-bit precision: the
     * residual is the component's rounding error in 1/15 steps, and a
     * decoded component is within step/30 of the original (step/2 without
     * it) unless it was clamped. Distances stay approximate, but the final
     * order is nearly float32's (bench/RESULTS.md, "Compact storage"). */
    VW_PARAMS_RESIDUAL = 1u << 1
};

typedef struct vw_params {
    uint32_t dim;             /* 1..VW_MAX_DIM, required */
    vw_metric metric;         /* default VW_METRIC_L2 */
    uint32_t M;               /* links per node on upper layers (2*M on layer 0); 2..VW_MAX_M */
    uint32_t ef_construction; /* beam width while building; >= 1 */
    uint64_t capacity;        /* initial room; the index grows beyond it when needed */
    uint64_t seed;            /* seeds the level draws; same seed + 1 thread -> same graph */
    vw_storage storage;       /* default VW_STORAGE_F32 */
    uint32_t flags;           /* VW_PARAMS_* bits; default 0 */
} vw_params;

/* Fills *params with the defaults for a dimension: L2, M=16,
 * ef_construction=200, capacity 1024, seed 100, f32 storage, flags 0. */
VW_API void vw_params_default(vw_params *params, uint32_t dim);

typedef struct vw_index vw_index;

/* Creates an empty index. On success *out owns it; release with vw_index_free. */
VW_API vw_status vw_index_create(const vw_params *params, vw_index **out);

/* Releases an index (from create or load). NULL is ignored. Must not race
 * with any other call on the same index. */
VW_API void vw_index_free(vw_index *index);

/* Sets the i8 codec of an empty VW_STORAGE_I8 index from n sample vectors
 * (n * dim floats; normalized first for the cosine metric): per-dimension
 * minimum and maximum. Called again before the first insert, it widens the
 * codec to cover every sample given so far, so a file can train it a chunk
 * at a time (vw-build does) and get the codec the whole file would give.
 * Without it, the first vw_index_add_batch trains on its own vectors;
 * vw_index_add on an untrained i8 index fails with VW_ERR_INVALID_ARG.
 * VW_ERR_INVALID_ARG once the index holds vectors, or for a loaded index;
 * VW_OK without effect for f32 and f16 indexes. */
VW_API vw_status vw_index_train(vw_index *index, const float *vectors, uint64_t n);

/* Inserts one vector of index dim floats under a new label. The vector is
 * copied. Fails with VW_ERR_DUPLICATE_LABEL if the label is present. */
VW_API vw_status vw_index_add(vw_index *index, const float *vector, uint64_t label);

/* Called on the thread that called vw_index_add_batch, every few hundred
 * inserts (at least every 0.1% of the batch) and once at the end, with the
 * number of vectors inserted so far. Returning non-zero cancels the rest of
 * the batch (vw_index_add_batch then returns VW_ERR_CANCELLED; the vectors
 * already inserted stay in the index). It runs while the batch holds the
 * index, so it must not call any function on the same index. */
typedef int (*vw_progress_fn)(uint64_t done, uint64_t total, void *ctx);

/* Inserts n vectors (n * dim floats, row-major) with the given labels using
 * `threads` threads (0 = all online CPUs). Every vector and label is
 * checked before anything is inserted: on a bad vector or a duplicate label
 * (against the index or within the batch) nothing is inserted. `progress`
 * may be NULL.
 *
 * labels may be NULL: the vectors then get the next ids as labels, c, c+1,
 * ..., c+n-1, where c is the index's count before the call (vw_stats.count).
 * An index built by such batches alone is labelled by row number 0..n-1 and
 * costs no label memory or label checks. Those labels must not be taken
 * already (possible after explicitly labelled inserts, or after removals:
 * the count then falls below the highest label), else
 * VW_ERR_DUPLICATE_LABEL as above. */
VW_API vw_status vw_index_add_batch(vw_index *index, const float *vectors, const uint64_t *labels,
                                    uint64_t n, unsigned threads, vw_progress_fn progress,
                                    void *progress_ctx);

/* Keep-or-skip decision for filtered search: non-zero keeps the label.
 * Called from the searching thread; must be thread-safe if searches run
 * concurrently, and must not call any function on the same index (the
 * search holds it). */
typedef int (*vw_filter_fn)(uint64_t label, void *ctx);

/* Finds the k nearest neighbours of `query` (index dim floats).
 * ef is the beam width (the search uses max(ef, k)); 1..VW_MAX_EF.
 * Writes up to k labels and distances, nearest first, and the number written
 * to *found (< k when the index, or the filtered subset reached, has fewer).
 * out_distances may be NULL. filter may be NULL; filtered-out nodes are still
 * traversed, so the graph stays connected, but never returned.
 * An index without elements (never filled, or all removed) gives
 * VW_ERR_EMPTY_INDEX. */
VW_API vw_status vw_index_search(const vw_index *index, const float *query, uint32_t k, uint32_t ef,
                                 vw_filter_fn filter, void *filter_ctx, uint64_t *out_labels,
                                 float *out_distances, uint32_t *found);

/* Options of vw_index_search_ex; fill with vw_search_options_default. */
typedef struct vw_search_options {
    uint32_t ef;         /* beam width, 1..VW_MAX_EF (default 64); the search uses max(ef, k) */
    uint32_t rerank;     /* compact storage with float32 kept: how many of the best candidates
                          * by code distance are re-scored with float32 before the k best are
                          * returned; 0 = the default, max(VW_RERANK_FACTOR * k, 32); always
                          * at least k and at most max(ef, k) */
    vw_filter_fn filter; /* may be NULL */
    void *filter_ctx;
    /* An attribute filter (vw_filter_parse; NULL = none), combined with
     * `filter` by AND. Results always match it; see "Attributes and
     * filters" for how the search is planned. */
    const struct vw_filter *where;
} vw_search_options;

#define VW_RERANK_FACTOR 4u

VW_API void vw_search_options_default(vw_search_options *options);

/* vw_index_search with options (re-rank depth). options NULL = defaults. */
VW_API vw_status vw_index_search_ex(const vw_index *index, const float *query, uint32_t k,
                                    const vw_search_options *options, uint64_t *out_labels,
                                    float *out_distances, uint32_t *found);

/* Searches nq queries (nq * dim floats) with `threads` threads (0 = all
 * online CPUs). Results of query i go to out_labels[i*k .. i*k+k-1] and
 * out_distances likewise (may be NULL); found[i] holds its count (may be
 * NULL if the caller only needs the padded arrays: unused slots get label
 * UINT64_MAX and distance +Inf). All queries are validated first. */
VW_API vw_status vw_index_search_batch(const vw_index *index, const float *queries, uint64_t nq,
                                       uint32_t k, uint32_t ef, vw_filter_fn filter,
                                       void *filter_ctx, unsigned threads, uint64_t *out_labels,
                                       float *out_distances, uint32_t *found);

/* vw_index_search_batch with options (options NULL = defaults). */
VW_API vw_status vw_index_search_batch_ex(const vw_index *index, const float *queries, uint64_t nq,
                                          uint32_t k, const vw_search_options *options,
                                          unsigned threads, uint64_t *out_labels,
                                          float *out_distances, uint32_t *found);
/* Replaces the vector of `label`, or inserts it if the label is absent.
 * The old vector is removed as by vw_index_remove (see there). */
VW_API vw_status vw_index_upsert(vw_index *index, const float *vector, uint64_t label);

/* vw_index_add_batch, except that labels already in the index get their
 * vector replaced (as vw_index_upsert does) instead of failing. A label may
 * still appear only once in the batch (VW_ERR_DUPLICATE_LABEL). */
VW_API vw_status vw_index_upsert_batch(vw_index *index, const float *vectors,
                                       const uint64_t *labels, uint64_t n, unsigned threads,
                                       vw_progress_fn progress, void *progress_ctx);

/* Removes `label` (VW_ERR_NOT_FOUND if absent). From the moment this
 * returns, no search returns the label. What callers can rely on after:
 * - Searches run throughout and never wait for the clean-up.
 * - Memory comes back without the caller's help: removed elements are
 *   unlinked from the graph once they reach a few percent of the index (or
 *   at vw_index_purge), and their slots are reused by later inserts once no
 *   search that could still read them is running.
 * - The clean-up costs about one insert per removed element, spread over
 *   the writes that follow (each pays a share proportional to the elements
 *   it writes), so no single small call pays for all of it.
 * - When the removals leave a quarter or more of the slots of an index of
 *   at least 1024 slots empty, the write that finishes a clean-up also
 *   compacts the index into new arrays: that write takes longer (it copies
 *   every element once) and needs memory for a second copy meanwhile
 *   (without it, the index stays as it is); searches wait only for the
 *   final swap.
 * How the graph is repaired is remove.c's business (its opening comment).
 * VW_ERR_READONLY for an mmap-loaded index. */
VW_API vw_status vw_index_remove(vw_index *index, uint64_t label);

/* Does the graph's deferred upkeep now: unlinks every removed element (the
 * clean-up vw_index_remove describes) and makes their slots reusable, and
 * links in again any element the inserts since the last check left with no
 * path from the entry point. Inserts check that themselves once they add a
 * sixteenth of the index (a batch that large checks at its end), so after a
 * build that came in small pieces (one element or a small batch per call)
 * the last few may be unchecked: call this, or vw_index_reorder, which does
 * it too, before saving. A no-op when there is nothing to do. */
VW_API vw_status vw_index_purge(vw_index *index);

/* Renumbers the index's nodes in breadth-first order of its graph, so that
 * nodes a search visits together sit together in memory and searches miss
 * the caches less (bench/RESULTS.md has the measured gain). Results, labels
 * and the file format are unchanged, and inserts may follow. Removed
 * elements are purged first and free slots dropped, so the index becomes
 * as compact as a fresh build. Call it after a bulk build or a large churn,
 * before vw_index_save; searches wait while it runs. It takes about 0.75 s
 * per million 128-d elements, with 9 bytes per element of temporary memory
 * (more when the labels are not 0..n-1: their hash table is rebuilt).
 * VW_ERR_READONLY for an mmap-loaded index. */
VW_API vw_status vw_index_reorder(vw_index *index);

/* Copies the stored vector of `label` into out (dim floats; normalized for
 * the cosine metric; for a compact index without float32, the decoded
 * approximation). VW_ERR_NOT_FOUND if the label is absent. */
VW_API vw_status vw_index_get_vector(const vw_index *index, uint64_t label, float *out);

/* Copies the labels present in the index (vw_stats.count of them, in no
 * particular order) into out, room for `capacity` labels, and their number
 * to *n. VW_ERR_INVALID_ARG, with *n set to the number needed and out
 * untouched, when capacity is too small. Read as vw_index_get_vector reads:
 * between two writes. For listing an index's contents (the Python module's
 * get_ids_list); removed labels are never listed. */
VW_API vw_status vw_index_labels(const vw_index *index, uint64_t *out, uint64_t capacity,
                                 uint64_t *n);

typedef struct vw_stats {
    uint64_t count;    /* elements (labels) in the index */
    uint64_t capacity; /* slots that fit before the next growth */
    uint32_t dim;
    vw_metric metric;
    uint32_t M;
    uint32_t ef_construction;
    uint64_t seed;
    int32_t max_level;     /* top layer of the graph; -1 when empty */
    uint64_t memory_bytes; /* heap bytes owned by the index (excluding a mapped file) */
    uint64_t mapped_bytes; /* bytes of an mmap-loaded file, 0 otherwise */
    int mmapped;           /* non-zero if loaded with VW_LOAD_MMAP */
    uint64_t removed;      /* removed elements still linked, waiting for a purge */
    uint64_t free_slots;   /* empty slots later inserts reuse */
    uint64_t slots;        /* count + removed + free_slots: rows in the arrays */
    vw_storage storage;
    int float32_kept;          /* non-zero if float32 vectors are held (always for f32) */
    int exact_distances;       /* non-zero if searches return exact distances */
    uint32_t bytes_per_vector; /* vector bytes per element: codes plus any float32 copy */
    uint32_t code_bytes;       /* bytes per element that searches walk (4d, 2d or d) */
    uint32_t residual_bits;    /* 4 with VW_PARAMS_RESIDUAL, else 0 */
} vw_stats;

/* Never waits for a writer; while writes run, each value is one that was
 * true at some moment during the call. */
VW_API vw_status vw_index_stats(const vw_index *index, vw_stats *out);

/* ------------------------------------------------------------------ attributes and filters */

/* Each element may carry attributes: a flat JSON object whose members are
 * strings, numbers, booleans, null or arrays of strings, e.g.
 * {"color": "red", "price": 12.5, "in_stock": true, "tags": ["a", "b"]}.
 * Limits: VW_MAX_ATTR_BYTES of text, 64 members, member names of 1 to 128
 * bytes, strings of at most 1024 bytes, arrays of at most 256 strings;
 * nested objects and arrays of anything but strings are refused
 * (VW_ERR_INVALID_ARG, with a detail naming the member). Attributes are
 * saved with the index (lib/FORMAT.md, section 10) and dropped when the
 * element is removed; an upsert of the vector keeps them (a durable
 * store's upsert replaces them: vw_store_upsert_with_attributes). */
#define VW_MAX_ATTR_BYTES 4096u

/* Sets (replaces) the attributes of a present label; json NULL with len 0,
 * or the text "null", removes them. VW_ERR_NOT_FOUND if the label is
 * absent, VW_ERR_READONLY for an mmap-loaded index. Searches running
 * meanwhile see the old attributes or the new ones, never a mixture. */
VW_API vw_status vw_index_set_attributes(vw_index *index, uint64_t label, const char *json,
                                         size_t len);

/* Checks an attributes text as vw_index_set_attributes would, without an
 * index: VW_OK for an acceptable object (or NULL/0, or "null"), else
 * VW_ERR_INVALID_ARG with the detail naming the member. */
VW_API vw_status vw_attributes_check(const char *json, size_t len);

/* Copies the attributes of `label` as canonical JSON (members in the order
 * given, no spaces) into out (cap bytes, NUL-terminated) and their length
 * into *len; an element without attributes gives "" and *len 0.
 * VW_ERR_NOT_FOUND if the label is absent; VW_ERR_INVALID_ARG, with *len
 * set to the length needed, if cap is too small (VW_MAX_ATTR_BYTES * 6 + 16
 * is always enough). */
VW_API vw_status vw_index_get_attributes(const vw_index *index, uint64_t label, char *out,
                                         size_t cap, size_t *len);

/* A filter in Qdrant's JSON shape, the same as vw-serve's "filter":
 *
 *   {"must": [C, ...], "should": [C, ...], "must_not": [C, ...]}
 *
 * each list optional (a single condition may stand for a list of one):
 * must = all of, should = at least one of, must_not = none of. A condition
 * C is one of
 *
 *   {"key": "color", "match": {"value": "red"}}     (a string, number or boolean)
 *   {"key": "color", "match": {"any": ["red", "blue"]}}
 *   {"key": "price", "range": {"gte": 10, "lt": 20}} (gt, gte, lt, lte)
 *   {"is_empty": {"key": "tags"}}                   (absent, null or [])
 *   {"has_id": [1, 2, 3]}                           (labels)
 *   {"must": ...}                                   (a nested group)
 *
 * match holds when the value, or any item of an array of strings, equals
 * the value (one of the values); range holds for a number inside the
 * bounds. Unknown members and malformed values are VW_ERR_INVALID_ARG with
 * a detail naming the place: "filter.must[1].range.gte: expected a number,
 * got a string". A filter is immutable and may be shared by threads. */
typedef struct vw_filter vw_filter;

VW_API vw_status vw_filter_parse(const char *json, size_t len, vw_filter **out);
VW_API void vw_filter_free(vw_filter *filter);

typedef enum vw_filter_path {
    VW_FILTER_PATH_SCAN = 0, /* measure every candidate the attribute indexes list */
    VW_FILTER_PATH_WALK = 1  /* walk the graph with the filter */
} vw_filter_path;

/* What a filtered search of this index would do (the planner's choice). */
typedef struct vw_filter_plan {
    vw_filter_path path;
    uint64_t estimate;   /* matching elements, estimated from the indexes */
    uint64_t candidates; /* elements the scan would measure (upper bound) */
    uint64_t elements;   /* live elements */
    uint32_t ef;         /* the walk's beam, max(ef, k); 0 for a scan */
} vw_filter_plan;

/* The plan of a search for k results at beam ef with `filter`. The rule:
 * with b = max(ef, k), p the estimated matching fraction and G the
 * candidates, scan when G <= b * M / p, else walk with beam b
 * (lib/planner.c explains it; README "Filters"). */
VW_API vw_status vw_index_filter_plan(const vw_index *index, const vw_filter *filter, uint32_t k,
                                      uint32_t ef, vw_filter_plan *out);

/* Lists the labels of every element that matches `filter`, ascending, the
 * first `cap` of them into out, and their number into *count (which may be
 * larger than cap: call again with more room). Exact: counts and ground
 * truths for filtered searches (vw-bench --filter) come from it. */
VW_API vw_status vw_index_filter_labels(const vw_index *index, const vw_filter *filter,
                                        uint64_t *out, uint64_t cap, uint64_t *count);

/* ------------------------------------------------------------------ files */

/* Writes the index to `path` atomically: a temporary file in the same
 * directory is written, fsync'ed and renamed over `path`, then the directory
 * is fsync'ed. On any failure an existing file at `path` is left untouched:
 * VW_ERR_NOT_FOUND if the directory does not exist, VW_ERR_INVALID_ARG if
 * `path` names something other than a regular file, VW_ERR_IO otherwise.
 * Searches run meanwhile; writes wait until the data is written. The
 * format is documented in lib/FORMAT.md. */
VW_API vw_status vw_index_save(const vw_index *index, const char *path);

enum {
    VW_SAVE_DEFAULT = 0,
    /* Write the layer-0 neighbour lists packed (each list as long as it is,
     * not padded to 2*M ids), format version 4: the lists take about half
     * the bytes (1M clustered vectors, M=32, bench/RESULTS.md, "Compact storage").
     * A read-mode load unpacks them; VW_LOAD_MMAP uses them in place
     * through a 4-byte offset per node that the load builds, so a mapped
     * index is smaller too, at the cost of one more memory read per node a
     * search visits. */
    VW_SAVE_PACK_LINKS = 1u << 0
};

/* vw_index_save with a choice of layout (VW_SAVE_* bits). vw_index_save
 * keeps the layout of the file the index was loaded from (fixed lists for
 * a built index), so loading and saving reproduces a file byte for byte. */
VW_API vw_status vw_index_save_ex(const vw_index *index, const char *path, unsigned flags);

enum {
    VW_LOAD_DEFAULT = 0,
    /* Map the file and use vectors and links in place: fast load, memory
     * shared between processes. The index is read-only: writes return
     * VW_ERR_READONLY. The file must not be modified in place while mapped
     * (replace it by renaming a new file over it, as vw_index_save does).
     * If it is, searches still stay inside the mapping but give unspecified
     * answers, and a page past a truncated file's end raises SIGBUS, which
     * the library does not catch (lib/FORMAT.md, "Load modes"). */
    VW_LOAD_MMAP = 1u << 0,
    /* Skip the section checksums (structural checks still run). */
    VW_LOAD_NO_VERIFY = 1u << 1
};

/* Loads an index saved by vw_index_save. Every count, offset and neighbour
 * id is validated before use, and the vectors (no NaN, Inf or overflowing
 * norm) unless mapped with VW_LOAD_NO_VERIFY; a file that fails yields
 * VW_ERR_FORMAT, VW_ERR_TRUNCATED, VW_ERR_CORRUPT or VW_ERR_VERSION with a
 * detail message naming what failed. A path that is not a regular file
 * (directory, FIFO, device) gives VW_ERR_INVALID_ARG at once, without
 * waiting on it; a missing one VW_ERR_NOT_FOUND. */
VW_API vw_status vw_index_load(const char *path, unsigned flags, vw_index **out);

/* ------------------------------------------------------------------ other engines' files */

/* Index files written by other HNSW engines can be opened as they are: their
 * graph is kept link for link (no rebuild), and the result is an ordinary
 * index, searchable, savable with vw_index_save, reorderable and open to
 * inserts. lib/FOREIGN.md says what is read, how each engine's conventions
 * map onto this library's and what is checked.
 *
 *   Faiss     faiss.write_index of an IndexHNSWFlat, bare or inside an
 *             IndexIDMap / IndexIDMap2 (whose ids become the labels; a bare
 *             index labels its vectors 0..n-1), metric L2 or inner product.
 *             An inner-product file becomes a VW_METRIC_IP index, whose
 *             distances are 1 - <a,b> where Faiss reports <a,b>.
 *   hnswlib   hnswlib's saveIndex / Python save_index, for the spaces l2, ip
 *             and cosine. The file does not say which space it was built
 *             with: the caller must (options.metric). Elements hnswlib marked
 *             deleted are left out; lists that pointed to one are given its
 *             live neighbours instead, so the graph stays connected.
 *
 * A foreign file is validated as strictly as our own: sizes are checked
 * against the file's length before anything is allocated, every count,
 * offset, level and neighbour id before it is used, so a damaged or hostile
 * file yields VW_ERR_FORMAT, VW_ERR_TRUNCATED, VW_ERR_CORRUPT or
 * VW_ERR_UNSUPPORTED with a detail naming the field and its file offset,
 * never a crash or a hang. These formats carry no checksums: a damaged
 * vector value that is still a finite float cannot be detected. */

typedef enum vw_index_format {
    VW_INDEX_FORMAT_UNKNOWN = 0, /* none of the below (as an option: detect) */
    VW_INDEX_FORMAT_VWHNSW,      /* vw_index_save's own format (lib/FORMAT.md) */
    VW_INDEX_FORMAT_FAISS,       /* faiss.write_index */
    VW_INDEX_FORMAT_HNSWLIB      /* hnswlib saveIndex */
} vw_index_format;

/* "vwhnsw", "faiss", "hnswlib"; NULL for VW_INDEX_FORMAT_UNKNOWN. */
VW_API const char *vw_index_format_name(vw_index_format format);

/* Tells which kind of index file `path` is from its first bytes (it does not
 * validate the rest). *out is VW_INDEX_FORMAT_UNKNOWN, with VW_OK, for any
 * other file; VW_ERR_NOT_FOUND / VW_ERR_IO if it cannot be read. */
VW_API vw_status vw_index_detect(const char *path, vw_index_format *out);

typedef struct vw_import_options {
    vw_index_format format; /* VW_INDEX_FORMAT_UNKNOWN (default): detect */
    int has_metric;         /* non-zero: `metric` below is set */
    vw_metric metric;       /* required for hnswlib files; checked against the
                               metric a Faiss or vwhnsw file records */
    uint64_t seed;          /* seeds the level draws of later inserts (default 100) */
} vw_import_options;

/* Fills *options with the defaults: detect the format, no metric, seed 100. */
VW_API void vw_import_options_default(vw_import_options *options);

/* Opens an index file of any supported kind into memory: a Faiss or hnswlib
 * file as described above, or a vwhnsw file (as vw_index_load with flags 0).
 * `options` may be NULL for the defaults (then an hnswlib file fails with
 * VW_ERR_INVALID_ARG asking for its metric). The index's M is the one whose
 * lists (M per upper layer, 2M on layer 0) hold the file's widest ones, and
 * its ef_construction the file's. Takes about as long as reading the file. */
VW_API vw_status vw_index_import(const char *path, const vw_import_options *options,
                                 vw_index **out);
/* ------------------------------------------------------------------ durable store */

/* A store keeps an index durable in a directory: a snapshot (DIR/index.vwi,
 * an ordinary index file) plus a write log (DIR/wal.log) of every write
 * acknowledged since. Writes go through the store; searches use the index
 * it hands out (vw_store_index), from any number of threads, while writes
 * and snapshots run.
 *
 * The promise: when vw_store_upsert or vw_store_remove returns VW_OK, the
 * write's log record has been fsync'ed and the write applied, so it
 * survives a crash of the process or of the machine, and searches see it.
 * Concurrent writers share log syncs (group commit): a write waits for at
 * most the sync under way and its own. After a crash, vw_store_open loads
 * the snapshot and replays the log in order; a record the crash left
 * incomplete (never acknowledged) is dropped whole, never half-applied.
 * The log format is in lib/FORMAT.md. One process at a time may open a
 * directory (DIR/LOCK). */
typedef struct vw_store vw_store;

/* Opens the store in `dir` (created if missing) and recovers it. If the
 * directory holds no snapshot yet, `initial` (an index file, or NULL) is
 * loaded and written as the first one; with neither, VW_ERR_NOT_FOUND.
 * VW_ERR_IO if another process has the directory open; VW_ERR_CORRUPT if
 * the log is damaged somewhere other than a torn tail (acknowledged writes
 * would be lost: move DIR/wal.log away to start from the snapshot). */
VW_API vw_status vw_store_open(const char *dir, const char *initial, vw_store **out);

/* The store's index, for searches, stats and vw_index_get_vector; valid
 * until vw_store_close. Write to it only through the store. */
VW_API const vw_index *vw_store_index(const vw_store *store);

/* Durably inserts or replaces n vectors (n * dim floats) under their labels
 * (as vw_index_upsert_batch; a label may appear once per call), as one
 * record: after a crash all of them are there or none. An upsert replaces
 * the whole element, as a point upsert does in Qdrant: the elements it
 * writes are left WITHOUT attributes (unlike vw_index_upsert, which keeps
 * them); vw_store_upsert_with_attributes sets them in the same record. */
VW_API vw_status vw_store_upsert(vw_store *store, const float *vectors, const uint64_t *labels,
                                 uint64_t n);

/* As vw_store_upsert, and element i gets the attributes attributes[i] (a
 * JSON object as vw_index_set_attributes takes, lens[i] bytes, or
 * NUL-terminated when lens is NULL), replacing any it had; a NULL entry,
 * the text "null", or attributes NULL leaves the element without
 * attributes. The vectors and the attributes are one record: a crash keeps
 * both or neither. Every text is checked before the write is logged: a bad
 * one refuses the whole call (VW_ERR_INVALID_ARG, the detail naming the
 * vector, its label and the member) and nothing is written. */
VW_API vw_status vw_store_upsert_with_attributes(vw_store *store, const float *vectors,
                                                 const uint64_t *labels, uint64_t n,
                                                 const char *const *attributes, const size_t *lens);

/* Durably removes a label and its attributes; VW_ERR_NOT_FOUND if it is
 * absent. */
VW_API vw_status vw_store_remove(vw_store *store, uint64_t label);

/* Saves the index as the new snapshot (atomically, as vw_index_save) and
 * empties the log. Searches run meanwhile; writes wait until it is done. */
VW_API vw_status vw_store_snapshot(vw_store *store);

typedef struct vw_store_stats {
    uint64_t log_bytes;        /* size of the write log */
    uint64_t log_records;      /* records in it */
    uint64_t writes;           /* labels written since open */
    uint64_t commits;          /* log syncs since open (each carries one or more records) */
    uint64_t snapshots;        /* snapshots written since open */
    uint64_t replayed_records; /* records replayed by vw_store_open */
    uint64_t replayed_writes;  /* labels they carried */
    uint64_t dropped_bytes;    /* torn tail cut off by vw_store_open */
    int failed;                /* non-zero: a write failed past the log; writes are refused */
    /* Records vw_store_open skipped: upserts the index cannot take (an f16
     * component beyond +-65504, ...), which versions up to 0.2.0 logged and
     * then refused to their clients. The acknowledged records around them are
     * replayed; skipped_detail ("" if none) says why the first was skipped,
     * valid until vw_store_close. */
    uint64_t skipped_records;
    const char *skipped_detail;
} vw_store_stats;

VW_API vw_status vw_store_get_stats(const vw_store *store, vw_store_stats *out);

/* Closes the store (no snapshot is taken: the log keeps the writes). Must
 * not race with any other call on the store or its index. NULL is ignored. */
VW_API void vw_store_close(vw_store *store);

/* ------------------------------------------------------------------ datasets */

typedef enum vw_dataset_format {
    VW_FORMAT_AUTO = 0, /* from the file name's extension */
    VW_FORMAT_NPY,      /* NumPy .npy v1/v2/v3, 2-D, C order */
    VW_FORMAT_FVECS,    /* TEXMEX: per row int32 dim + dim float32 */
    VW_FORMAT_BVECS,    /* TEXMEX: per row int32 dim + dim uint8 */
    VW_FORMAT_IVECS,    /* TEXMEX: per row int32 dim + dim int32 */
    VW_FORMAT_FBIN,     /* big-ann-benchmarks: uint32 n, uint32 dim, float32 data */
    VW_FORMAT_U8BIN,    /* big-ann-benchmarks: uint32 n, uint32 dim, uint8 data */
    VW_FORMAT_IBIN      /* big-ann-benchmarks: uint32 n, uint32 dim, int32 data */
} vw_dataset_format;

/* A matrix of n rows by dim columns, always held as float32 in memory
 * (uint8 and int32 sources are converted exactly; float64 and float16 .npy
 * are converted to the nearest float32). */
typedef struct vw_dataset {
    uint64_t n;
    uint32_t dim;
    float *data; /* n * dim floats, row-major; owned by the dataset */
} vw_dataset;

/* Format implied by a path's extension, or VW_FORMAT_AUTO if none matches. */
VW_API vw_dataset_format vw_dataset_format_from_path(const char *path);

/* Reads a vector file. `format` VW_FORMAT_AUTO picks by extension; the
 * content is checked against it. On success *out owns a new dataset. A path
 * that is not a regular file (directory, FIFO, device) gives
 * VW_ERR_INVALID_ARG at once, without waiting on it. */
VW_API vw_status vw_dataset_read(const char *path, vw_dataset_format format, vw_dataset **out);

/* Writes n x dim floats. For .bvecs/.u8bin values are rounded and must lie
 * in 0..255; for .ivecs/.ibin they must be integers representable as int32.
 * The write is atomic like vw_index_save. */
VW_API vw_status vw_dataset_write(const char *path, vw_dataset_format format, const float *data,
                                  uint64_t n, uint32_t dim);

VW_API void vw_dataset_free(vw_dataset *dataset);

/* A vector file read a range of rows at a time, for programs that process
 * files larger than they want to hold: vw-build streams its input into
 * vw_index_add_batch this way, so the vectors are never in memory twice.
 * The checks are vw_dataset_read's: the header against the file size (and a
 * cut last row) at open, each row as it is read; a failed read leaves the
 * reader where it was. */
typedef struct vw_dataset_reader vw_dataset_reader;

/* Opens a vector file; `format` as for vw_dataset_read. On success *out
 * owns a reader positioned at row 0; release it with vw_dataset_close. */
VW_API vw_status vw_dataset_open(const char *path, vw_dataset_format format,
                                 vw_dataset_reader **out);
/* Rows and dimension the file holds (its header); 0 for NULL. */
VW_API uint64_t vw_dataset_rows(const vw_dataset_reader *reader);
VW_API uint32_t vw_dataset_dim(const vw_dataset_reader *reader);
/* Reads the next rows, at most max_rows, as float32 into out (room for
 * max_rows * dim floats) and gives their number in *got: fewer than
 * max_rows only at the end of the file, 0 once every row has been read. */
VW_API vw_status vw_dataset_read_next(vw_dataset_reader *reader, float *out, uint64_t max_rows,
                                      uint64_t *got);
/* Closes the file and frees the reader. NULL is ignored. */
VW_API void vw_dataset_close(vw_dataset_reader *reader);

/* Writes len bytes to `path` with the guarantees of vw_index_save: a
 * temporary file beside it, fsync, rename over `path`, directory fsync; on
 * any failure (a full disk, a file size limit) the temporary file is
 * removed and an existing file at `path` is left untouched. The same
 * statuses as vw_index_save. For a program's own small outputs (reports,
 * results) that must never be left half-written; the tools use it. */
VW_API vw_status vw_file_write_atomic(const char *path, const void *data, size_t len);

/* ------------------------------------------------------------------ kernels */

typedef enum vw_simd_level {
    VW_SIMD_SCALAR = 0,
    VW_SIMD_AVX2 = 1,  /* AVX2 + FMA + F16C */
    VW_SIMD_AVX512 = 2 /* AVX-512F + BW; int8 kernels use VNNI where present */
} vw_simd_level;

/* The kernel set in use: the best the CPU supports, unless the environment
 * variable VW_SIMD (scalar|avx2|avx512) chose another at first use. */
VW_API vw_simd_level vw_simd_active(void);
/* "scalar", "avx2", "avx512"; NULL for an unknown value. */
VW_API const char *vw_simd_name(vw_simd_level level);
/* Non-zero if this build and this CPU can run the given level. */
VW_API int vw_simd_supported(vw_simd_level level);
/* Status of the VW_SIMD environment variable: VW_OK when unset or valid,
 * VW_ERR_INVALID_ARG when it names no level, VW_ERR_UNSUPPORTED when the CPU
 * or build cannot run the level (the library then uses the best supported
 * level; tools refuse to start). */
VW_API vw_status vw_simd_env_status(void);

/* The kernels themselves, for callers that compute exact distances (e.g.
 * brute-force ground truth). Use the active level. */
VW_API float vw_distance_l2sq(const float *a, const float *b, uint32_t dim);
VW_API float vw_distance_dot(const float *a, const float *b, uint32_t dim);

/* Normalizes v to unit length in place; VW_ERR_ZERO_VECTOR if it is zero,
 * VW_ERR_NONFINITE if it holds NaN/Inf. */
VW_API vw_status vw_normalize(float *v, uint32_t dim);

/* ------------------------------------------------------------------ shards */

/* The shard, 0..n_shards-1, that holds the element labelled `id` when an
 * index is split over n_shards machines (vw-build --shard I/N, the nginx
 * router of tools/cluster/). The function is fixed forever, so a shard's
 * ids never move unless n_shards changes: jump consistent hashing (Lamping
 * and Veach 2014, the paper's code) of the splitmix64 finalizer of the id
 * (x ^= x >> 30; x *= 0xbf58476d1ce4e5b9; x ^= x >> 27;
 * x *= 0x94d049bb133111eb; x ^= x >> 31). Going from N to N+1 shards moves
 * 1/(N+1) of the ids, all to the new shard N. n_shards 0 or 1 gives 0.
 * Never fails, allocates nothing, any thread. */
VW_API uint32_t vw_shard_of(uint64_t id, uint32_t n_shards);

/* ------------------------------------------------------------------ exact search */

/* The exact k nearest rows of base (n rows of dim floats, row-major) for
 * each of nq queries, by brute force on `threads` threads (0 = all online
 * CPUs): the ground truth that recall is measured against. Distances are
 * the ones an index of that metric reports (cosine normalizes rows and
 * queries on the way, without changing the caller's arrays). Results of
 * query i go to out_ids[i*k .. i*k+k-1] as row numbers, nearest first,
 * equal distances by the smaller row; out_distances likewise (may be NULL).
 * When n < k the remaining slots get UINT64_MAX and +Inf. Every row and
 * query is checked first, as an insert would check it (VW_ERR_NONFINITE,
 * VW_ERR_ZERO_VECTOR for cosine). `progress` (may be NULL) is called on the
 * calling thread with the queries done so far; non-zero cancels
 * (VW_ERR_CANCELLED). Queries share each pass over base in blocks, so the
 * cost is about n * nq * dim operations but n * nq / 32 rows read. */
VW_API vw_status vw_exact_search(const float *base, uint64_t n, const float *queries, uint64_t nq,
                                 uint32_t dim, vw_metric metric, uint32_t k, unsigned threads,
                                 uint64_t *out_ids, float *out_distances, vw_progress_fn progress,
                                 void *progress_ctx);

#ifdef __cplusplus
}
#endif

#endif /* VWHNSW_H */
