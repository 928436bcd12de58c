/*
 * search.c - the k-NN search every class shares: one query on the calling
 * thread, a batch on the library's threads, the GIL released throughout,
 * and Python filters called back from whichever thread searches.
 *
 * A filter is hnswlib's: a callable taking a label and returning a truth
 * value. The library calls it from its search threads without the GIL, so
 * the callback takes the GIL for the call (as hnswlib's does: with a filter,
 * one thread is usually fastest). If the callable raises, the exception is
 * kept, every later call answers "skip" without running Python, and the
 * search's caller re-raises it: no crash, no hang, no half-reported error.
 */
#include "pyvw.h"

#include <stdatomic.h>
#include <string.h>

_Thread_local const void *pyvw_filter_owner;

int pyvw_check_not_in_filter(const void *owner) {
    if (pyvw_filter_owner != owner)
        return 0;
    PyErr_SetString(pyvw_Error,
                    "a filter may not call methods of the index it filters (the search holds it)");
    return -1;
}

unsigned pyvw_threads(int requested, int fallback, uint64_t n) {
    int t = requested > 0 ? requested : fallback;
    if (t <= 0)
        t = pyvw_cpu_count();
    /* hnswlib: "avoid using threads when the number of searches is small" */
    if (n <= (uint64_t)t * 4)
        t = 1;
    return (unsigned)t;
}

int pyvw_threads_attr(PyObject *v, int *out) {
    long n = v ? PyLong_AsLong(v) : -1;
    if (!v || (n == -1 && PyErr_Occurred())) {
        if (!v)
            PyErr_SetString(PyExc_AttributeError, "cannot delete num_threads");
        return -1;
    }
    *out = n > 0 && n < 1 << 20 ? (int)n : pyvw_cpu_count();
    return 0;
}

PyObject *pyvw_set_num_threads(int *out, PyObject *args, PyObject *kw) {
    static char *names[] = {"num_threads", NULL};
    PyObject *v = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:set_num_threads", names, &v) ||
        pyvw_threads_attr(v, out) < 0)
        return NULL;
    Py_RETURN_NONE;
}

typedef struct filter_ctx {
    PyObject *fn;
    const void *owner;
    atomic_int failed;
    PyObject *type, *value, *tb; /* the first exception, under the GIL */
} filter_ctx;

static int call_filter(uint64_t label, void *arg) {
    filter_ctx *c = arg;
    if (atomic_load_explicit(&c->failed, memory_order_relaxed))
        return 0;
    PyGILState_STATE g = PyGILState_Ensure();
    const void *outer = pyvw_filter_owner;
    pyvw_filter_owner = c->owner;
    int keep = 0;
    PyObject *r = c->failed ? NULL : PyObject_CallFunction(c->fn, "K", (unsigned long long)label);
    if (r) {
        keep = PyObject_IsTrue(r);
        Py_DECREF(r);
    }
    if (keep < 0 || (!r && !c->failed)) {
        if (!c->failed)
            PyErr_Fetch(&c->type, &c->value, &c->tb);
        PyErr_Clear();
        atomic_store(&c->failed, 1);
        keep = 0;
    }
    pyvw_filter_owner = outer;
    PyGILState_Release(g);
    return keep;
}

static void run_search(const vw_index *ix, const pyvw_rows *rows, const pyvw_query *q,
                       filter_ctx *fc, uint64_t *labels, float *dists, uint32_t *found,
                       pyvw_result *res) {
    vw_search_options opt;
    vw_search_options_default(&opt);
    opt.ef = q->ef;
    opt.rerank = q->rerank;
    opt.where = q->where;
    if (fc) {
        opt.filter = call_filter;
        opt.filter_ctx = fc;
    }
    vw_status st;
    if (rows->n == 1)
        st = vw_index_search_ex(ix, rows->data, q->k, &opt, labels, dists, found);
    else
        st = vw_index_search_batch_ex(ix, rows->data, rows->n, q->k, &opt, q->threads, labels,
                                      dists, found);
    pyvw_capture(res, st);
}

/* hnswlib returns dense n x k arrays and raises when a query found fewer. */
static int check_found(const pyvw_query *q, const uint32_t *found, uint64_t n) {
    for (uint64_t i = 0; q->strict && q->k > 0 && i < n; i++)
        if (found[i] < q->k) {
            PyErr_SetString(pyvw_Error, "Cannot return the results in a contiguous 2D array. "
                                        "Probably ef or M is too small");
            return -1;
        }
    return 0;
}

PyObject *pyvw_search(const vw_index *ix, const pyvw_rows *rows, const pyvw_query *q) {
    uint64_t n = rows->n;
    void *lp = NULL, *dp = NULL;
    PyObject *labels = pyvw_new_matrix(n, q->k, 'Q', &lp);
    PyObject *dists = labels ? pyvw_new_matrix(n, q->k, 'f', &dp) : NULL;
    uint32_t one = 0, *found = n > 1 ? PyMem_RawMalloc(n * sizeof *found) : &one;
    PyObject *out = NULL;
    if (!dists || !found) {
        if (dists)
            PyErr_NoMemory();
        goto done;
    }
    filter_ctx fc = {.fn = q->filter, .owner = q->owner};
    pyvw_result res = {.st = VW_OK};
    if (n > 0 && q->k > 0) { /* k = 0: empty (n, 0) arrays, as hnswlib */
        Py_BEGIN_ALLOW_THREADS;
        run_search(ix, rows, q, q->filter ? &fc : NULL, lp, dp, found, &res);
        Py_END_ALLOW_THREADS;
    }
    if (fc.failed) {
        PyErr_Restore(fc.type, fc.value, fc.tb);
    } else if (res.st == VW_ERR_EMPTY_INDEX && q->strict) {
        PyErr_SetString(pyvw_Error, "Cannot return the results in a contiguous 2D array. "
                                    "Probably ef or M is too small");
    } else if (res.st != VW_OK) {
        pyvw_raise_result(&res, NULL);
    } else if (check_found(q, found, n) == 0) {
        out = PyTuple_Pack(2, labels, dists);
    }
done:
    if (found != &one)
        PyMem_RawFree(found);
    Py_XDECREF(labels);
    Py_XDECREF(dists);
    return out;
}

/* ------------------------------------------------------------------ stats */

static int set_item(PyObject *d, const char *key, PyObject *v) {
    int rc = v ? PyDict_SetItemString(d, key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

PyObject *pyvw_stats_dict(const vw_index *ix) {
    vw_stats s;
    pyvw_result r;
    pyvw_capture(&r, vw_index_stats(ix, &s));
    if (r.st != VW_OK)
        return pyvw_raise_result(&r, NULL);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    int rc = 0;
    rc |= set_item(d, "count", PyLong_FromUnsignedLongLong(s.count));
    rc |= set_item(d, "capacity", PyLong_FromUnsignedLongLong(s.capacity));
    rc |= set_item(d, "dim", PyLong_FromUnsignedLong(s.dim));
    rc |= set_item(d, "space", PyUnicode_FromString(vw_metric_name(s.metric)));
    rc |= set_item(d, "M", PyLong_FromUnsignedLong(s.M));
    rc |= set_item(d, "ef_construction", PyLong_FromUnsignedLong(s.ef_construction));
    rc |= set_item(d, "seed", PyLong_FromUnsignedLongLong(s.seed));
    rc |= set_item(d, "max_level", PyLong_FromLong(s.max_level));
    rc |= set_item(d, "memory_bytes", PyLong_FromUnsignedLongLong(s.memory_bytes));
    rc |= set_item(d, "mapped_bytes", PyLong_FromUnsignedLongLong(s.mapped_bytes));
    rc |= set_item(d, "mmapped", PyBool_FromLong(s.mmapped));
    rc |= set_item(d, "removed", PyLong_FromUnsignedLongLong(s.removed));
    rc |= set_item(d, "free_slots", PyLong_FromUnsignedLongLong(s.free_slots));
    rc |= set_item(d, "slots", PyLong_FromUnsignedLongLong(s.slots));
    rc |= set_item(d, "storage", PyUnicode_FromString(vw_storage_name(s.storage)));
    rc |= set_item(d, "float32_kept", PyBool_FromLong(s.float32_kept));
    rc |= set_item(d, "exact_distances", PyBool_FromLong(s.exact_distances));
    rc |= set_item(d, "bytes_per_vector", PyLong_FromUnsignedLong(s.bytes_per_vector));
    rc |= set_item(d, "code_bytes", PyLong_FromUnsignedLong(s.code_bytes));
    rc |= set_item(d, "residual_bits", PyLong_FromUnsignedLong(s.residual_bits));
    rc |= set_item(d, "simd", PyUnicode_FromString(vw_simd_name(vw_simd_active())));
    if (rc != 0)
        Py_CLEAR(d);
    return d;
}
