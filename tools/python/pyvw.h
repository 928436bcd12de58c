/*
 * pyvw.h - what the files of the vwhnsw Python module share.
 *
 * The module is a thin tool over include/vwhnsw.h (never lib/ internals):
 *
 *   module.c    the module, its exceptions, status -> exception, open()
 *   convert.c   Python objects -> float rows and labels (the buffer
 *               protocol; copied only when the layout cannot be read in
 *               place), and result arrays (numpy when importable)
 *   index.c     vwhnsw.Index: life cycle, files, properties, pickling
 *   index_ops.c vwhnsw.Index: add_items, knn_query, get_items, deletions
 *   search.c    the search every class shares (filters, threads, GIL)
 *   bfindex.c   vwhnsw.BFIndex: exact search on vw_exact_search
 *   store.c     vwhnsw.Store: the durable store (vw_store_*)
 *
 * Locking. Every call that runs library code releases the GIL. An object's
 * handle (vw_index *) may be replaced (load_index) or freed (close) while
 * another Python thread searches it, so each object has a rwlock: calls that
 * use the handle hold it for reading, calls that replace it for writing.
 * Rule: nobody waits for one of these locks while holding the GIL (the
 * holder of a read lock may need the GIL, to call a Python filter).
 */
#ifndef PYVW_H
#define PYVW_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "vwhnsw.h"

#include <pthread.h>
#include <stdint.h>

/* ------------------------------------------------------------------ module.c */

/* The exception classes (module.c creates them). */
extern PyObject *pyvw_Error;        /* vwhnsw.Error(RuntimeError): the base */
extern PyObject *pyvw_ArgError;     /* vwhnsw.ArgumentError(Error, ValueError) */
extern PyObject *pyvw_FileError;    /* vwhnsw.FileError(OSError, Error) */
extern PyObject *pyvw_FormatError;  /* vwhnsw.FormatError(FileError): damaged/unknown file */
extern PyObject *pyvw_NotFound;     /* vwhnsw.LabelNotFoundError(Error, KeyError) */
extern PyObject *pyvw_NoMemory;     /* vwhnsw.NoMemoryError(MemoryError, Error) */
extern PyObject *pyvw_ReadOnly;     /* vwhnsw.ReadOnlyError(Error) */
extern PyTypeObject pyvw_IndexType; /* index.c */
extern PyTypeObject pyvw_BFIndexType;
extern PyTypeObject pyvw_StoreType;

/* Raises the exception for a failed status, with vw_strerror and the
 * library's detail text (read on the thread that made the call: pass it
 * in `detail`, captured right after the call). `path` (may be NULL) makes
 * file statuses a FileError naming it. Returns NULL. */
PyObject *pyvw_raise(vw_status st, const char *detail, const char *path);

/* A library call's outcome, captured on the thread that made it (the
 * detail is thread-local), to raise once the GIL is back. */
typedef struct pyvw_result {
    vw_status st;
    char detail[256];
} pyvw_result;

void pyvw_capture(pyvw_result *r, vw_status st);
PyObject *pyvw_raise_result(const pyvw_result *r, const char *path);

/* Opens an index file of any kind (vwhnsw.open, Index.load_index) with the
 * GIL released; space_name NULL: the file's own. NULL with an exception. */
vw_index *pyvw_open_file(const char *path, const char *space_name, int mmap, int verify);

/* PyArg "O&" converters: an integer-like object (numpy integers too) into
 * an unsigned long long / unsigned int; negative or too large: ArgumentError. */
int pyvw_u64(PyObject *o, void *out);
int pyvw_u32(PyObject *o, void *out);

/* The number of online CPUs (hnswlib's default num_threads). */
int pyvw_cpu_count(void);

/* ------------------------------------------------------------------ convert.c */

/* float32 rows read from a Python object: in place (a C-contiguous float32
 * buffer) or converted into `owned`. */
typedef struct pyvw_rows {
    const float *data;
    uint64_t n;
    uint32_t dim;
    Py_buffer view; /* released by pyvw_rows_release when view.obj != NULL */
    float *owned;
    PyObject *held; /* a converted object (numpy.asarray of a list), if any */
} pyvw_rows;

/* Reads a 1-D (one row) or 2-D object: anything with the buffer protocol
 * (numpy arrays of any numeric dtype, any strides), or nested sequences of
 * numbers. ArgumentError on other shapes or contents. 0 on success. */
int pyvw_rows_get(PyObject *obj, pyvw_rows *rows);
void pyvw_rows_release(pyvw_rows *rows);

/* Labels: None (*labels NULL), an int for one row, or a 1-D integer
 * sequence or buffer of `n` non-negative values. uint64 C-contiguous
 * buffers are read in place. */
typedef struct pyvw_labels {
    const uint64_t *data; /* NULL for None */
    uint64_t n;
    Py_buffer view;
    uint64_t *owned;
    uint64_t one;
} pyvw_labels;

/* `what` names the argument in messages; n_expected is the row count
 * (UINT64_MAX: any length). 0 on success. */
int pyvw_labels_get(PyObject *obj, uint64_t n_expected, pyvw_labels *labels);
void pyvw_labels_release(pyvw_labels *labels);

/* A new writable C-contiguous n x k array of uint64 ('Q') or float32 ('f'):
 * numpy.empty when numpy is importable, else a memoryview over a bytearray.
 * *data points at its memory. NULL with an exception set on failure. */
PyObject *pyvw_new_matrix(uint64_t n, uint64_t k, char format, void **data);
/* numpy is importable (checked once). */
int pyvw_have_numpy(void);

/* ------------------------------------------------------------------ attrs.c */

/* Attributes parallel to n rows: a sequence of dicts (dumped as JSON), JSON
 * texts or None; each checked by the library (ArgumentError naming the
 * entry and the member). obj None: texts NULL. */
typedef struct pyvw_attrs {
    const char **texts; /* n; NULL entries for None */
    size_t *lens;
    PyObject **held; /* the bytes the texts live in */
    uint64_t n;
} pyvw_attrs;

int pyvw_attrs_get(PyObject *obj, uint64_t n, pyvw_attrs *attrs);
void pyvw_attrs_release(pyvw_attrs *attrs);
/* knn_query's filter: None, a callable (hnswlib's, into *callable), or a
 * filter in the library's language as a dict or JSON text (parsed into
 * *where: free with vw_filter_free). 0, or -1 with an exception. */
int pyvw_filter_get(PyObject *filter, PyObject **callable, vw_filter **where);
/* The attributes of label as a dict (None without); LabelNotFoundError. */
PyObject *pyvw_get_attributes(const vw_index *ix, uint64_t label);

/* ------------------------------------------------------------------ search.c */

/* What one knn_query call asks for. */
typedef struct pyvw_query {
    uint32_t k;
    uint32_t ef;
    uint32_t rerank;
    unsigned threads;
    PyObject *filter;       /* callable or NULL */
    const vw_filter *where; /* an attribute filter or NULL */
    const void *owner;      /* the object searched: its filter may not call it back */
    int strict;             /* hnswlib: fewer than k results is an error */
} pyvw_query;

/* Searches rows on `ix` (held for reading by the caller; GIL held on entry
 * and exit, released inside) and returns (labels, distances) as n x k
 * arrays, or NULL with an exception. */
PyObject *pyvw_search(const vw_index *ix, const pyvw_rows *rows, const pyvw_query *q);

/* The object whose filter callback is running on this thread, if any:
 * methods refuse to run on it (the library forbids calls from a filter on
 * the index it filters). */
extern _Thread_local const void *pyvw_filter_owner;
int pyvw_check_not_in_filter(const void *owner);

/* Parses hnswlib's num_threads (<= 0: the object's default) into the
 * library's thread count for a batch of n rows (1 for small batches, as
 * hnswlib does). */
unsigned pyvw_threads(int requested, int fallback, uint64_t n);

/* num_threads as an attribute (pyvw_threads_attr: a setter's value) and
 * as set_num_threads(num_threads): <= 0 means all CPUs. */
int pyvw_threads_attr(PyObject *v, int *out);
PyObject *pyvw_set_num_threads(int *out, PyObject *args, PyObject *kw);

/* The stats of an index as a dict. */
PyObject *pyvw_stats_dict(const vw_index *ix);

/* ------------------------------------------------------------------ index.c */

typedef struct pyvw_index {
    PyObject_HEAD vw_index *ix; /* NULL before init_index/load_index and after close */
    pthread_rwlock_t lock;
    int lock_ready;
    vw_metric metric;
    uint32_t dim;
    uint64_t max_elements;
    uint64_t next_label; /* hnswlib's cur_l: where ids=None labels start */
    uint64_t seed;
    uint32_t ef;     /* hnswlib's default 10 */
    int num_threads; /* <= 0 never stored: -1 resolved to the CPU count */
    int allow_replace_deleted;
    PyObject *deleted; /* dict label -> bytes of the vector (mark_deleted) */
    PyObject *weakrefs;
} pyvw_index;

/* Takes the object's lock for reading with the GIL released around the
 * wait, and checks the handle: 0 and locked, or -1 with an exception
 * (closed, not initialised, called from its own filter). */
int pyvw_index_enter(pyvw_index *self);
void pyvw_index_leave(pyvw_index *self);
/* Current count as hnswlib counts it: present labels + marked deleted. */
uint64_t pyvw_index_count(pyvw_index *self);
/* Methods of index_ops.c, for index.c's method table. */
PyObject *pyvw_index_add_items(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_upsert(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_knn_query(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_get_items(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_get_ids_list(pyvw_index *self, PyObject *unused);
PyObject *pyvw_index_mark_deleted(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_unmark_deleted(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_remove(pyvw_index *self, PyObject *args, PyObject *kw);
PyObject *pyvw_index_get_attributes(pyvw_index *self, PyObject *args, PyObject *kw);
extern const char pyvw_doc_add_items[], pyvw_doc_upsert[], pyvw_doc_knn_query[],
    pyvw_doc_get_items[], pyvw_doc_get_ids_list[], pyvw_doc_mark_deleted[],
    pyvw_doc_unmark_deleted[], pyvw_doc_remove[], pyvw_doc_get_attributes[];

/* A new Index object owning `ix` (from vwhnsw.open or a Store). */
PyObject *pyvw_index_wrap(vw_index *ix, uint64_t max_elements);

/* Cast for method tables: keyword methods are stored as PyCFunction. */
#define PYVW_KW(f) ((PyCFunction)(void (*)(void))(f))

#endif /* PYVW_H */
