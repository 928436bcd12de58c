/*
 * bfindex.c - vwhnsw.BFIndex: hnswlib.BFIndex (exact search) on the
 * library's exact path, vw_exact_search, which reads the rows in blocks
 * shared by all the queries of a call, on the library's threads.
 *
 * The object holds the rows (normalized for 'cosine', as hnswlib does),
 * their labels and a dict label -> row. delete_vector moves the last row
 * into the hole, as hnswlib's does. Files are hnswlib's BFIndex format
 * (three size_t: max elements, bytes per row, count; then max_elements rows
 * of dim float32 and a uint64 label), so each reads the other's.
 */
#include "pyvw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct pyvw_bf {
    PyObject_HEAD pthread_rwlock_t lock;
    int ready;     /* init_index or load_index done */
    int lock_init; /* the lock exists */
    vw_metric metric;
    uint32_t dim;
    uint64_t max_elements, n, cur_l;
    float *rows;
    uint64_t *labels;
    PyObject *where; /* label -> row */
    int num_threads;
} pyvw_bf;

static PyObject *bf_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)args;
    (void)kw;
    pyvw_bf *self = (pyvw_bf *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->where = PyDict_New();
    if (!self->where || pthread_rwlock_init(&self->lock, NULL) != 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->lock_init = 1;
    self->num_threads = pyvw_cpu_count();
    return (PyObject *)self;
}

static void bf_free_rows(pyvw_bf *self) {
    PyMem_RawFree(self->rows);
    PyMem_RawFree(self->labels);
    self->rows = NULL;
    self->labels = NULL;
    self->n = 0;
    self->ready = 0;
}

static void bf_dealloc(pyvw_bf *self) {
    bf_free_rows(self);
    if (self->lock_init)
        pthread_rwlock_destroy(&self->lock);
    Py_CLEAR(self->where);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int bf_init(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"space", "dim", NULL};
    const char *space = NULL;
    long long dim = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sL:BFIndex", names, &space, &dim))
        return -1;
    if (vw_metric_parse(space, &self->metric) != VW_OK) {
        PyErr_SetString(pyvw_ArgError, "Space name must be one of l2, ip, or cosine.");
        return -1;
    }
    if (dim < 1 || dim > VW_MAX_DIM) {
        PyErr_Format(pyvw_ArgError, "dim must be 1..%u", VW_MAX_DIM);
        return -1;
    }
    self->dim = (uint32_t)dim;
    return 0;
}

/* Writers hold the lock exclusively, taken with the GIL released (a search
 * holding it for reading may be waiting for the GIL, in its filter). */
static int bf_lock(pyvw_bf *self, int write) {
    if (pyvw_check_not_in_filter(self) < 0)
        return -1;
    if (!self->lock_init || !self->dim) {
        PyErr_SetString(pyvw_Error, "BFIndex object was not constructed: call BFIndex(space, dim)");
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS;
    if (write)
        pthread_rwlock_wrlock(&self->lock);
    else
        pthread_rwlock_rdlock(&self->lock);
    Py_END_ALLOW_THREADS;
    return 0;
}

static int bf_lock_ready(pyvw_bf *self, int write) {
    if (bf_lock(self, write) < 0)
        return -1;
    if (self->ready)
        return 0;
    pthread_rwlock_unlock(&self->lock);
    PyErr_SetString(pyvw_Error, "BFIndex not initialized: call init_index or load_index");
    return -1;
}

static int bf_alloc(pyvw_bf *self, uint64_t max_elements) {
    bf_free_rows(self);
    PyDict_Clear(self->where);
    uint64_t rows = max_elements ? max_elements : 1;
    if (rows > VW_MAX_ELEMENTS ||
        !(self->rows = PyMem_RawCalloc(rows, self->dim * sizeof(float))) ||
        !(self->labels = PyMem_RawCalloc(rows, sizeof(uint64_t)))) {
        bf_free_rows(self);
        PyErr_NoMemory();
        return -1;
    }
    self->max_elements = max_elements;
    self->cur_l = 0;
    self->ready = 1;
    return 0;
}

static PyObject *bf_init_index(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"max_elements", NULL};
    unsigned long long max_elements = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:init_index", names, pyvw_u64, &max_elements))
        return NULL;
    if (bf_lock(self, 1) < 0)
        return NULL;
    int rc = -1;
    if (self->ready)
        PyErr_SetString(pyvw_Error, "The index is already initiated.");
    else
        rc = bf_alloc(self, max_elements);
    pthread_rwlock_unlock(&self->lock);
    return rc == 0 ? Py_NewRef(Py_None) : NULL;
}

/* ------------------------------------------------------------------ add, delete */

/* Checks and stores one row (normalized for cosine) at slot `at`. */
static int bf_put(pyvw_bf *self, uint64_t at, const float *v, uint64_t label) {
    float *dst = self->rows + at * self->dim;
    memcpy(dst, v, self->dim * sizeof(float));
    vw_status st = VW_OK;
    for (uint32_t j = 0; j < self->dim && st == VW_OK; j++)
        if (!isfinite(dst[j]))
            st = VW_ERR_NONFINITE;
    if (st == VW_OK && self->metric == VW_METRIC_COSINE)
        st = vw_normalize(dst, self->dim);
    if (st != VW_OK) {
        PyErr_Format(pyvw_ArgError, "%s: row with label %llu", vw_strerror(st),
                     (unsigned long long)label);
        return -1;
    }
    self->labels[at] = label;
    return 0;
}

static int bf_add_row(pyvw_bf *self, const float *v, uint64_t label) {
    PyObject *key = PyLong_FromUnsignedLongLong(label);
    PyObject *at = key ? PyDict_GetItemWithError(self->where, key) : NULL;
    int rc = -1;
    if (at) {
        rc = bf_put(self, PyLong_AsUnsignedLongLong(at), v, label);
    } else if (key && !PyErr_Occurred()) {
        if (self->n >= self->max_elements) {
            PyErr_SetString(pyvw_Error, "The number of elements exceeds the specified limit");
        } else if (bf_put(self, self->n, v, label) == 0) {
            PyObject *row = PyLong_FromUnsignedLongLong(self->n);
            rc = row ? PyDict_SetItem(self->where, key, row) : -1;
            Py_XDECREF(row);
            self->n += rc == 0;
        }
    }
    Py_XDECREF(key);
    return rc;
}

static PyObject *bf_add_items(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "ids", NULL};
    PyObject *data = NULL, *ids = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:add_items", names, &data, &ids))
        return NULL;
    pyvw_rows rows;
    pyvw_labels labels;
    if (pyvw_rows_get(data, &rows) < 0)
        return NULL;
    if (pyvw_labels_get(ids, rows.n, &labels) < 0) {
        pyvw_rows_release(&rows);
        return NULL;
    }
    int rc = bf_lock_ready(self, 1);
    if (rc == 0) {
        if (rows.dim != self->dim && rows.n > 0) {
            PyErr_SetString(pyvw_ArgError, "Wrong dimensionality of the vectors");
            rc = -1;
        }
        for (uint64_t i = 0; rc == 0 && i < rows.n; i++)
            rc = bf_add_row(self, rows.data + i * self->dim,
                            labels.data ? labels.data[i] : self->cur_l + i);
        self->cur_l += rows.n;
        pthread_rwlock_unlock(&self->lock);
    }
    pyvw_labels_release(&labels);
    pyvw_rows_release(&rows);
    return rc == 0 ? Py_NewRef(Py_None) : NULL;
}

static PyObject *bf_delete_vector(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"label", NULL};
    unsigned long long label = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:delete_vector", names, pyvw_u64, &label) ||
        bf_lock_ready(self, 1) < 0)
        return NULL;
    PyObject *key = PyLong_FromUnsignedLongLong(label);
    PyObject *at = key ? PyDict_GetItemWithError(self->where, key) : NULL;
    int rc = key && !PyErr_Occurred() ? 0 : -1;
    if (at) { /* hnswlib: the last row fills the hole; an absent label is ignored */
        uint64_t hole = PyLong_AsUnsignedLongLong(at), last = self->n - 1;
        PyObject *moved = PyLong_FromUnsignedLongLong(self->labels[last]);
        rc = moved && PyDict_SetItem(self->where, moved, at) == 0 &&
                     PyDict_DelItem(self->where, key) == 0
                 ? 0
                 : -1;
        Py_XDECREF(moved);
        memmove(self->rows + hole * self->dim, self->rows + last * self->dim,
                self->dim * sizeof(float));
        self->labels[hole] = self->labels[last];
        self->n--;
    }
    Py_XDECREF(key);
    pthread_rwlock_unlock(&self->lock);
    return rc == 0 ? Py_NewRef(Py_None) : NULL;
}

/* ------------------------------------------------------------------ search */

/* The rows a filter keeps, copied (exact search reads every row anyway, so
 * the copy costs no more than the search). */
static int bf_filtered(pyvw_bf *self, PyObject *filter, float **rows, uint64_t **labels,
                       uint64_t *n) {
    *rows = PyMem_RawMalloc(self->n * self->dim * sizeof(float) + 1);
    *labels = PyMem_RawMalloc(self->n * sizeof(uint64_t) + 1);
    *n = 0;
    if (!*rows || !*labels) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint64_t i = 0; i < self->n; i++) {
        PyObject *r = PyObject_CallFunction(filter, "K", (unsigned long long)self->labels[i]);
        int keep = r ? PyObject_IsTrue(r) : -1;
        Py_XDECREF(r);
        if (keep < 0)
            return -1;
        if (!keep)
            continue;
        memcpy(*rows + *n * self->dim, self->rows + i * self->dim, self->dim * sizeof(float));
        (*labels)[(*n)++] = self->labels[i];
    }
    return 0;
}

static PyObject *bf_search(pyvw_bf *self, const pyvw_rows *q, uint32_t k, unsigned threads,
                           const float *base, const uint64_t *base_labels, uint64_t n) {
    if (k > n) {
        PyErr_SetString(pyvw_Error, "Cannot return the results in a contiguous 2D array. "
                                    "Probably ef or M is too small");
        return NULL;
    }
    void *lp = NULL, *dp = NULL;
    PyObject *labels = pyvw_new_matrix(q->n, k, 'Q', &lp);
    PyObject *dists = labels ? pyvw_new_matrix(q->n, k, 'f', &dp) : NULL;
    if (!dists) {
        Py_XDECREF(labels);
        return NULL;
    }
    /* cosine rows are stored normalized: the library normalizes the queries */
    pyvw_result r = {.st = VW_OK};
    if (q->n > 0 && k > 0) {
        Py_BEGIN_ALLOW_THREADS;
        pyvw_capture(&r, vw_exact_search(base, n, q->data, q->n, self->dim, self->metric, k,
                                         threads, lp, dp, NULL, NULL));
        Py_END_ALLOW_THREADS;
    }
    uint64_t *out = lp;
    for (uint64_t i = 0; r.st == VW_OK && i < q->n * k; i++)
        out[i] = base_labels[out[i]];
    PyObject *res = r.st == VW_OK ? PyTuple_Pack(2, labels, dists) : pyvw_raise_result(&r, NULL);
    Py_DECREF(labels);
    Py_DECREF(dists);
    return res;
}

static PyObject *bf_knn_query(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "k", "num_threads", "filter", NULL};
    PyObject *data = NULL, *filter = Py_None;
    unsigned long long k = 1;
    int threads = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O&iO:knn_query", names, &data, pyvw_u64, &k,
                                     &threads, &filter))
        return NULL;
    if (filter != Py_None && !PyCallable_Check(filter)) {
        PyErr_SetString(PyExc_TypeError, "filter must be None or a callable(label) -> bool");
        return NULL;
    }
    if (k > VW_MAX_K) {
        PyErr_Format(pyvw_ArgError, "k must be 1..%u", VW_MAX_K);
        return NULL;
    }
    pyvw_rows q;
    if (pyvw_rows_get(data, &q) < 0)
        return NULL;
    PyObject *out = NULL;
    if (q.dim != self->dim && q.n > 0) {
        PyErr_SetString(pyvw_ArgError, "Wrong dimensionality of the vectors");
    } else if (bf_lock_ready(self, 0) == 0) {
        unsigned t = threads > 0 ? (unsigned)threads : (unsigned)self->num_threads;
        if (filter == Py_None) {
            out = bf_search(self, &q, (uint32_t)k, t, self->rows, self->labels, self->n);
        } else {
            float *rows = NULL;
            uint64_t *labels = NULL, n = 0;
            const void *outer = pyvw_filter_owner;
            pyvw_filter_owner = self; /* its filter may not call it back */
            if (bf_filtered(self, filter, &rows, &labels, &n) == 0)
                out = bf_search(self, &q, (uint32_t)k, t, rows, labels, n);
            pyvw_filter_owner = outer;
            PyMem_RawFree(rows);
            PyMem_RawFree(labels);
        }
        pthread_rwlock_unlock(&self->lock);
    }
    pyvw_rows_release(&q);
    return out;
}

/* ------------------------------------------------------------------ files */

#define BF_HEADER (3 * sizeof(uint64_t))

static PyObject *bf_save_index(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"path_to_index", NULL};
    PyObject *path = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:save_index", names, PyUnicode_FSConverter,
                                     &path))
        return NULL;
    if (bf_lock_ready(self, 0) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    uint64_t per = self->dim * sizeof(float) + sizeof(uint64_t);
    size_t len = BF_HEADER + (size_t)(self->max_elements * per);
    unsigned char *buf = PyMem_RawCalloc(len, 1);
    pyvw_result r = {.st = VW_ERR_NOMEM};
    if (buf) {
        uint64_t head[3] = {self->max_elements, per, self->n};
        memcpy(buf, head, sizeof head);
        for (uint64_t i = 0; i < self->n; i++) {
            unsigned char *row = buf + BF_HEADER + i * per;
            memcpy(row, self->rows + i * self->dim, self->dim * sizeof(float));
            memcpy(row + self->dim * sizeof(float), &self->labels[i], sizeof(uint64_t));
        }
        Py_BEGIN_ALLOW_THREADS;
        pyvw_capture(&r, vw_file_write_atomic(PyBytes_AS_STRING(path), buf, len));
        Py_END_ALLOW_THREADS;
    }
    pthread_rwlock_unlock(&self->lock);
    PyMem_RawFree(buf);
    PyObject *out =
        r.st == VW_OK ? Py_NewRef(Py_None) : pyvw_raise_result(&r, PyBytes_AS_STRING(path));
    Py_DECREF(path);
    return out;
}

static PyObject *bf_format_error(const char *path, const char *what) {
    pyvw_raise(VW_ERR_FORMAT, what, path);
    return NULL;
}

/* Reads a whole file (GIL released); *len its size. */
static unsigned char *read_file(const char *path, size_t *len, pyvw_result *r) {
    unsigned char *buf = NULL;
    Py_BEGIN_ALLOW_THREADS;
    FILE *f = fopen(path, "rb");
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = PyMem_RawMalloc((size_t)size + 1)) != NULL &&
        fread(buf, 1, (size_t)size, f) != (size_t)size) {
        PyMem_RawFree(buf);
        buf = NULL;
    }
    r->st = buf ? VW_OK : VW_ERR_IO;
    r->detail[0] = '\0';
    if (!f)
        r->st = VW_ERR_NOT_FOUND;
    if (f)
        fclose(f);
    *len = (size_t)size;
    Py_END_ALLOW_THREADS;
    return buf;
}

static int bf_load_rows(pyvw_bf *self, const unsigned char *buf, uint64_t n, uint64_t per) {
    for (uint64_t i = 0; i < n; i++) {
        const unsigned char *row = buf + BF_HEADER + i * per;
        uint64_t label;
        memcpy(&label, row + self->dim * sizeof(float), sizeof label);
        float v[VW_MAX_DIM];
        memcpy(v, row, self->dim * sizeof(float));
        if (bf_add_row(self, v, label) < 0)
            return -1;
    }
    return 0;
}

static PyObject *bf_load_index(pyvw_bf *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"path_to_index", "max_elements", NULL};
    PyObject *path = NULL;
    unsigned long long max_elements = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&:load_index", names, PyUnicode_FSConverter,
                                     &path, pyvw_u64, &max_elements))
        return NULL;
    const char *p = PyBytes_AS_STRING(path);
    size_t len = 0;
    pyvw_result r;
    unsigned char *buf = read_file(p, &len, &r);
    uint64_t head[3] = {0, 0, 0}, per = self->dim * sizeof(float) + sizeof(uint64_t);
    if (buf && len >= BF_HEADER)
        memcpy(head, buf, sizeof head);
    PyObject *out = NULL;
    if (!buf)
        pyvw_raise_result(&r, p);
    else if (len < BF_HEADER || head[1] != per || head[2] > head[0] ||
             head[0] > (len - BF_HEADER) / per)
        bf_format_error(p, "not a BFIndex file of this dimension (header or size)");
    else if (bf_lock(self, 1) == 0) {
        uint64_t max = max_elements > head[0] ? max_elements : head[0];
        if (bf_alloc(self, max) == 0 && bf_load_rows(self, buf, head[2], per) == 0) {
            self->cur_l = self->n;
            out = Py_NewRef(Py_None);
        } else {
            bf_free_rows(self);
        }
        pthread_rwlock_unlock(&self->lock);
    }
    PyMem_RawFree(buf);
    Py_DECREF(path);
    return out;
}

/* ------------------------------------------------------------------ small methods */

static PyObject *bf_get_max_elements(pyvw_bf *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromUnsignedLongLong(self->max_elements);
}

static PyObject *bf_get_current_count(pyvw_bf *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromUnsignedLongLong(self->n);
}

static PyObject *bf_set_num_threads(pyvw_bf *self, PyObject *args, PyObject *kw) {
    return pyvw_set_num_threads(&self->num_threads, args, kw);
}

static PyObject *bf_repr(pyvw_bf *self) {
    return PyUnicode_FromFormat("<vwhnsw.BFIndex(space='%s', dim=%u)>",
                                vw_metric_name(self->metric), (unsigned)self->dim);
}

static PyObject *bf_get_num_threads(pyvw_bf *self, void *c) {
    (void)c;
    return PyLong_FromLong(self->num_threads);
}

static int bf_set_num_threads_attr(pyvw_bf *self, PyObject *v, void *c) {
    (void)c;
    return pyvw_threads_attr(v, &self->num_threads);
}

static PyObject *bf_get_space(pyvw_bf *self, void *c) {
    (void)c;
    return PyUnicode_FromString(vw_metric_name(self->metric));
}

static PyObject *bf_get_dim(pyvw_bf *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLong(self->dim);
}

static PyGetSetDef bf_getset[] = {
    {"num_threads", (getter)bf_get_num_threads, (setter)bf_set_num_threads_attr,
     "default threads of knn_query", NULL},
    {"space", (getter)bf_get_space, NULL, "'l2', 'ip' or 'cosine'", NULL},
    {"dim", (getter)bf_get_dim, NULL, "the vectors' dimension", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

#define M_KW(name, fn, doc)                                                                        \
    { name, PYVW_KW(fn), METH_VARARGS | METH_KEYWORDS, doc }
#define M_NO(name, fn, doc)                                                                        \
    { name, (PyCFunction)(fn), METH_NOARGS, doc }

static PyMethodDef bf_methods[] = {
    M_KW("init_index", bf_init_index,
         "init_index(max_elements)\n--\n\nAllocate room for max_elements rows."),
    M_KW("add_items", bf_add_items,
         "add_items(data, ids=None)\n--\n\n"
         "Add rows (a present label gets its row replaced); ids as Index.add_items."),
    M_KW("knn_query", bf_knn_query,
         "knn_query(data, k=1, num_threads=-1, filter=None)\n--\n\n"
         "The exact k nearest rows of each query (vw_exact_search on the library's\n"
         "threads): (labels uint64, distances float32), shape (n, k). k above the\n"
         "count (or the rows a filter keeps) raises RuntimeError."),
    M_KW("delete_vector", bf_delete_vector,
         "delete_vector(label)\n--\n\nRemove a row (an absent label is ignored, as hnswlib)."),
    M_KW("save_index", bf_save_index,
         "save_index(path_to_index)\n--\n\nWrite hnswlib's BFIndex file format (atomically)."),
    M_KW("load_index", bf_load_index,
         "load_index(path_to_index, max_elements=0)\n--\n\n"
         "Read a BFIndex file (hnswlib's format, ours or hnswlib's), checked."),
    M_KW("set_num_threads", bf_set_num_threads,
         "set_num_threads(num_threads)\n--\n\nSet the default thread count."),
    M_NO("get_max_elements", bf_get_max_elements, "get_max_elements()\n--\n\nThe capacity."),
    M_NO("get_current_count", bf_get_current_count, "get_current_count()\n--\n\nRows held."),
    {NULL, NULL, 0, NULL}};

PyTypeObject pyvw_BFIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vwhnsw.BFIndex",
    .tp_basicsize = sizeof(pyvw_bf),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "BFIndex(space, dim)\n--\n\n"
              "Exact (brute-force) search with hnswlib.BFIndex's API, on the library's\n"
              "exact path. Spaces and distances as Index's.",
    .tp_new = bf_new,
    .tp_init = (initproc)bf_init,
    .tp_dealloc = (destructor)bf_dealloc,
    .tp_repr = (reprfunc)bf_repr,
    .tp_methods = bf_methods,
    .tp_getset = bf_getset,
};
