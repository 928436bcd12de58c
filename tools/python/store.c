/*
 * store.c - vwhnsw.Store: the durable store vw-serve --data uses (a
 * snapshot plus a write log in a directory, vw_store_*). Writes return once
 * they are on disk; searches run on the store's index meanwhile, from any
 * number of Python threads.
 */
#include "pyvw.h"

#include <string.h>

typedef struct pyvw_store {
    PyObject_HEAD vw_store *store; /* NULL once closed */
    pthread_rwlock_t lock;
    int lock_init;
    uint32_t ef;
    int num_threads;
} pyvw_store;

static PyObject *store_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)args;
    (void)kw;
    pyvw_store *self = (pyvw_store *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    if (pthread_rwlock_init(&self->lock, NULL) != 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->lock_init = 1;
    self->ef = 64;
    self->num_threads = pyvw_cpu_count();
    return (PyObject *)self;
}

static void store_close_handle(pyvw_store *self) {
    vw_store *s = NULL;
    Py_BEGIN_ALLOW_THREADS;
    pthread_rwlock_wrlock(&self->lock);
    s = self->store;
    self->store = NULL;
    pthread_rwlock_unlock(&self->lock);
    vw_store_close(s);
    Py_END_ALLOW_THREADS;
}

static void store_dealloc(pyvw_store *self) {
    if (self->lock_init) {
        store_close_handle(self);
        pthread_rwlock_destroy(&self->lock);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int store_init(pyvw_store *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"directory", "initial", NULL};
    PyObject *dir = NULL, *initial = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&:Store", names, PyUnicode_FSConverter, &dir,
                                     PyUnicode_FSConverter, &initial))
        return -1;
    if (self->store) {
        PyErr_SetString(pyvw_Error, "Store.__init__ called on an open store");
        Py_DECREF(dir);
        Py_XDECREF(initial);
        return -1;
    }
    vw_store *s = NULL;
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(
        &r, vw_store_open(PyBytes_AS_STRING(dir), initial ? PyBytes_AS_STRING(initial) : NULL, &s));
    Py_END_ALLOW_THREADS;
    if (r.st != VW_OK)
        pyvw_raise_result(&r, PyBytes_AS_STRING(dir));
    self->store = s;
    Py_DECREF(dir);
    Py_XDECREF(initial);
    return r.st == VW_OK ? 0 : -1;
}

/* Read lock + an open store, as pyvw_index_enter. */
static int store_enter(pyvw_store *self) {
    if (pyvw_check_not_in_filter(self) < 0)
        return -1;
    if (!self->lock_init) {
        PyErr_SetString(pyvw_Error, "Store object was not constructed");
        return -1;
    }
    if (pthread_rwlock_tryrdlock(&self->lock) != 0) {
        Py_BEGIN_ALLOW_THREADS;
        pthread_rwlock_rdlock(&self->lock);
        Py_END_ALLOW_THREADS;
    }
    if (self->store)
        return 0;
    pthread_rwlock_unlock(&self->lock);
    PyErr_SetString(pyvw_Error, "Store is closed");
    return -1;
}

static uint32_t store_dim(pyvw_store *self) {
    vw_stats s;
    vw_index_stats(vw_store_index(self->store), &s);
    return s.dim;
}

static PyObject *store_upsert(pyvw_store *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "ids", "attributes", NULL};
    PyObject *data = NULL, *ids = NULL, *attributes = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:upsert", names, &data, &ids, &attributes))
        return NULL;
    pyvw_rows rows;
    pyvw_labels labels = {0};
    pyvw_attrs attrs = {0};
    if (pyvw_rows_get(data, &rows) < 0)
        return NULL;
    if (pyvw_labels_get(ids, rows.n, &labels) < 0 ||
        pyvw_attrs_get(attributes, rows.n, &attrs) < 0 || store_enter(self) < 0) {
        pyvw_attrs_release(&attrs);
        pyvw_labels_release(&labels);
        pyvw_rows_release(&rows);
        return NULL;
    }
    pyvw_result r = {.st = VW_OK};
    if (rows.dim != store_dim(self) && rows.n > 0) {
        PyErr_SetString(pyvw_ArgError, "Wrong dimensionality of the vectors");
        r.st = VW_ERR_DIMENSION;
    } else if (rows.n > 0) {
        Py_BEGIN_ALLOW_THREADS;
        pyvw_capture(&r, vw_store_upsert_with_attributes(self->store, rows.data, labels.data,
                                                         rows.n, attrs.texts, attrs.lens));
        Py_END_ALLOW_THREADS;
        if (r.st != VW_OK)
            pyvw_raise_result(&r, NULL);
    }
    pthread_rwlock_unlock(&self->lock);
    pyvw_attrs_release(&attrs);
    pyvw_labels_release(&labels);
    pyvw_rows_release(&rows);
    return r.st == VW_OK ? Py_NewRef(Py_None) : NULL;
}

static PyObject *store_get_attributes(pyvw_store *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"label", NULL};
    unsigned long long label = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:get_attributes", names, pyvw_u64, &label) ||
        store_enter(self) < 0)
        return NULL;
    PyObject *out = pyvw_get_attributes(vw_store_index(self->store), label);
    pthread_rwlock_unlock(&self->lock);
    return out;
}

static PyObject *store_remove(pyvw_store *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"ids", NULL};
    PyObject *ids = NULL;
    pyvw_labels l;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:remove", names, &ids) ||
        pyvw_labels_get(ids, UINT64_MAX, &l) < 0)
        return NULL;
    if (store_enter(self) < 0) {
        pyvw_labels_release(&l);
        return NULL;
    }
    pyvw_result r = {.st = VW_OK};
    uint64_t i = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (; i < l.n && r.st == VW_OK; i++)
        pyvw_capture(&r, vw_store_remove(self->store, l.data[i]));
    Py_END_ALLOW_THREADS;
    pthread_rwlock_unlock(&self->lock);
    if (r.st == VW_ERR_NOT_FOUND)
        PyErr_Format(pyvw_NotFound, "Label not found: %llu", (unsigned long long)l.data[i - 1]);
    else if (r.st != VW_OK)
        pyvw_raise_result(&r, NULL);
    pyvw_labels_release(&l);
    return r.st == VW_OK ? Py_NewRef(Py_None) : NULL;
}

static PyObject *store_snapshot(pyvw_store *self, PyObject *unused) {
    (void)unused;
    if (store_enter(self) < 0)
        return NULL;
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, vw_store_snapshot(self->store));
    Py_END_ALLOW_THREADS;
    pthread_rwlock_unlock(&self->lock);
    return r.st == VW_OK ? Py_NewRef(Py_None) : pyvw_raise_result(&r, NULL);
}

static PyObject *store_knn_query(pyvw_store *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "k", "num_threads", "filter", "ef", NULL};
    PyObject *data = NULL, *filter = Py_None;
    unsigned long long k = 1;
    int threads = -1;
    unsigned int ef = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O&iO$O&:knn_query", names, &data, pyvw_u64, &k,
                                     &threads, &filter, pyvw_u32, &ef))
        return NULL;
    if (k > VW_MAX_K) {
        PyErr_SetString(pyvw_ArgError, "k at most 4096");
        return NULL;
    }
    PyObject *callable;
    vw_filter *where;
    if (pyvw_filter_get(filter, &callable, &where) < 0)
        return NULL;
    pyvw_rows rows;
    if (pyvw_rows_get(data, &rows) < 0) {
        vw_filter_free(where);
        return NULL;
    }
    PyObject *out = NULL;
    if (store_enter(self) == 0) {
        if (rows.dim != store_dim(self) && rows.n > 0) {
            PyErr_SetString(pyvw_ArgError, "Wrong dimensionality of the vectors");
        } else {
            pyvw_query q = {.k = (uint32_t)k,
                            .ef = ef ? ef : self->ef,
                            .threads = pyvw_threads(threads, self->num_threads, rows.n),
                            .filter = callable,
                            .where = where,
                            .owner = self,
                            .strict = 1};
            out = pyvw_search(vw_store_index(self->store), &rows, &q);
        }
        pthread_rwlock_unlock(&self->lock);
    }
    pyvw_rows_release(&rows);
    vw_filter_free(where);
    return out;
}

static int set_u64(PyObject *d, const char *key, uint64_t v) {
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    int rc = o ? PyDict_SetItemString(d, key, o) : -1;
    Py_XDECREF(o);
    return rc;
}

static int add_store_stats(PyObject *d, const vw_store_stats *s) {
    const char *why = s->skipped_detail ? s->skipped_detail : "";
    PyObject *text = PyUnicode_DecodeUTF8(why, (Py_ssize_t)strlen(why), "replace");
    int rc = text ? PyDict_SetItemString(d, "skipped_detail", text) : -1;
    Py_XDECREF(text);
    return rc < 0 || set_u64(d, "log_bytes", s->log_bytes) < 0 ||
                   set_u64(d, "log_records", s->log_records) < 0 ||
                   set_u64(d, "writes", s->writes) < 0 || set_u64(d, "commits", s->commits) < 0 ||
                   set_u64(d, "snapshots", s->snapshots) < 0 ||
                   set_u64(d, "replayed_records", s->replayed_records) < 0 ||
                   set_u64(d, "replayed_writes", s->replayed_writes) < 0 ||
                   set_u64(d, "dropped_bytes", s->dropped_bytes) < 0 ||
                   set_u64(d, "failed", (uint64_t)s->failed) < 0 ||
                   set_u64(d, "skipped_records", s->skipped_records) < 0
               ? -1
               : 0;
}

/* Under the read lock throughout: skipped_detail lives until the store closes. */
static PyObject *store_stats(pyvw_store *self, PyObject *unused) {
    (void)unused;
    if (store_enter(self) < 0)
        return NULL;
    vw_store_stats s;
    pyvw_result r;
    pyvw_capture(&r, vw_store_get_stats(self->store, &s));
    PyObject *d =
        r.st == VW_OK ? pyvw_stats_dict(vw_store_index(self->store)) : pyvw_raise_result(&r, NULL);
    if (d && add_store_stats(d, &s) < 0)
        Py_CLEAR(d);
    pthread_rwlock_unlock(&self->lock);
    return d;
}

static PyObject *store_close(pyvw_store *self, PyObject *unused) {
    (void)unused;
    if (pyvw_check_not_in_filter(self) < 0)
        return NULL;
    if (self->lock_init)
        store_close_handle(self);
    Py_RETURN_NONE;
}

static PyObject *store_enter_ctx(pyvw_store *self, PyObject *unused) {
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *store_exit_ctx(pyvw_store *self, PyObject *args) {
    (void)args;
    return store_close(self, NULL);
}

static Py_ssize_t store_len(pyvw_store *self) {
    if (store_enter(self) < 0)
        return -1;
    vw_stats s;
    vw_index_stats(vw_store_index(self->store), &s);
    pthread_rwlock_unlock(&self->lock);
    return (Py_ssize_t)s.count;
}

static PySequenceMethods store_as_sequence = {.sq_length = (lenfunc)store_len};

#define M_KW(name, fn, doc)                                                                        \
    { name, PYVW_KW(fn), METH_VARARGS | METH_KEYWORDS, doc }
#define M_NO(name, fn, doc)                                                                        \
    { name, (PyCFunction)(fn), METH_NOARGS, doc }

static PyMethodDef store_methods[] = {
    M_KW("upsert", store_upsert,
         "upsert(data, ids, attributes=None)\n--\n\n"
         "Insert or replace rows under their labels durably, as one log record:\n"
         "when it returns the write is on disk (fsync'ed) and searches see it;\n"
         "after a crash all of the rows are there or none. An upsert replaces\n"
         "the whole element (as Qdrant's): attributes, one entry per row (a\n"
         "dict, its JSON text, or None), become the rows' attributes; rows\n"
         "written without (attributes=None, or a None entry) have none after.\n"
         "Every entry is checked before anything is logged (ArgumentError)."),
    M_KW("get_attributes", store_get_attributes,
         "get_attributes(label)\n--\n\nThe label's attributes as a dict (None without)."),
    M_KW("remove", store_remove,
         "remove(ids)\n--\n\nRemove labels durably (LabelNotFoundError at the first absent one)."),
    M_NO("snapshot", store_snapshot,
         "snapshot()\n--\n\nWrite the index as the new snapshot and empty the log."),
    M_KW("knn_query", store_knn_query,
         "knn_query(data, k=1, num_threads=-1, filter=None, *, ef=64)\n--\n\n"
         "Search the store's index; as Index.knn_query (default ef 64); filter\n"
         "may be a callable or an attribute filter (a dict or JSON text)."),
    M_NO("stats", store_stats, "stats()\n--\n\nThe index's and the log's statistics, a dict."),
    M_NO("close", store_close,
         "close()\n--\n\nClose the store (the log keeps the writes; no snapshot)."),
    M_NO("__enter__", store_enter_ctx, NULL),
    {"__exit__", (PyCFunction)store_exit_ctx, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

PyTypeObject pyvw_StoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vwhnsw.Store",
    .tp_basicsize = sizeof(pyvw_store),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Store(directory, initial=None)\n--\n\n"
              "The durable store vw-serve --data uses: DIR/index.vwi (a snapshot) and\n"
              "DIR/wal.log (every write acknowledged since), recovered on open.\n"
              "initial: an index file to start a directory that has no snapshot yet.\n"
              "One process at a time may open a directory. len(store) is its count.",
    .tp_new = store_new,
    .tp_init = (initproc)store_init,
    .tp_dealloc = (destructor)store_dealloc,
    .tp_methods = store_methods,
    .tp_as_sequence = &store_as_sequence,
};
