/*
 * index_ops.c - vwhnsw.Index's data methods: add_items, knn_query,
 * get_items, get_ids_list, mark_deleted/unmark_deleted, and the extras
 * upsert and remove.
 *
 * add_items is hnswlib's: a label already present gets its vector replaced
 * (hnswlib updates it in place), so it runs the library's upsert batch on
 * the library's threads, reading a float32 C-contiguous array in place.
 */
#include "pyvw.h"

#include <string.h>

/* ------------------------------------------------------------------ writes */

/* Cancels a batch on Ctrl-C: the library calls this on the thread that
 * called it, every few hundred inserts. */
static int check_signals(uint64_t done, uint64_t total, void *ctx) {
    (void)done;
    (void)total;
    (void)ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = PyErr_CheckSignals() < 0;
    PyGILState_Release(g);
    return stop;
}

/* Upserts rows under labels with the GIL released. A label twice in one
 * batch (which the library's batch refuses) goes row by row, the last one
 * winning, as hnswlib's single-threaded add_items does. */
static int upsert_rows(pyvw_index *self, const pyvw_rows *rows, const uint64_t *labels,
                       unsigned threads) {
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    vw_status st =
        vw_index_upsert_batch(self->ix, rows->data, labels, rows->n, threads, check_signals, NULL);
    if (st == VW_ERR_DUPLICATE_LABEL) {
        st = VW_OK;
        for (uint64_t i = 0; i < rows->n && st == VW_OK; i++)
            st = vw_index_upsert(self->ix, rows->data + i * rows->dim, labels[i]);
    }
    pyvw_capture(&r, st);
    Py_END_ALLOW_THREADS;
    if (r.st != VW_OK) {
        pyvw_raise_result(&r, NULL);
        return -1;
    }
    return 0;
}

/* The rows' attributes after their vectors (the labels are present). */
static int set_attrs(pyvw_index *self, const uint64_t *labels, const pyvw_attrs *a) {
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    vw_status st = VW_OK;
    for (uint64_t i = 0; i < a->n && st == VW_OK; i++)
        st = vw_index_set_attributes(self->ix, labels[i], a->texts[i], a->lens[i]);
    pyvw_capture(&r, st);
    Py_END_ALLOW_THREADS;
    if (r.st != VW_OK) {
        pyvw_raise_result(&r, NULL);
        return -1;
    }
    return 0;
}

static int is_marked(pyvw_index *self, uint64_t label) {
    PyObject *key = PyLong_FromUnsignedLongLong(label);
    int in = key ? PyDict_Contains(self->deleted, key) : -1;
    Py_XDECREF(key);
    return in;
}

static int unmark(pyvw_index *self, uint64_t label) {
    PyObject *key = PyLong_FromUnsignedLongLong(label);
    int rc = key ? PyDict_DelItem(self->deleted, key) : -1;
    Py_XDECREF(key);
    return rc;
}

/* Labels not in the library's index (new ones, or marked deleted). */
static uint64_t count_absent(pyvw_index *self, const uint64_t *labels, uint64_t n) {
    float *tmp = PyMem_RawMalloc(self->dim * sizeof(float));
    uint64_t absent = 0;
    if (!tmp)
        return n;
    Py_BEGIN_ALLOW_THREADS;
    for (uint64_t i = 0; i < n; i++)
        absent += vw_index_get_vector(self->ix, labels[i], tmp) == VW_ERR_NOT_FOUND;
    Py_END_ALLOW_THREADS;
    PyMem_RawFree(tmp);
    return absent;
}

/* hnswlib's rules on marked labels and max_elements, checked before
 * anything is written. *reuse: marked labels whose room the batch takes. */
static int check_add(pyvw_index *self, const uint64_t *labels, uint64_t n, int replace,
                     uint64_t *reuse) {
    uint64_t marked = (uint64_t)PyDict_GET_SIZE(self->deleted), hit = 0;
    for (uint64_t i = 0; marked && i < n; i++) {
        int in = is_marked(self, labels[i]);
        if (in < 0)
            return -1;
        hit += (uint64_t)in;
    }
    if (hit && self->allow_replace_deleted) {
        PyErr_SetString(pyvw_Error, "Can't use addPoint to update deleted elements if "
                                    "replacement of deleted elements is enabled.");
        return -1;
    }
    *reuse = 0;
    uint64_t count = pyvw_index_count(self);
    if (count + n <= self->max_elements && !replace)
        return 0;
    uint64_t fresh = count_absent(self, labels, n) - hit;
    *reuse = replace ? (fresh < marked ? fresh : marked) : 0;
    if (count + fresh - *reuse > self->max_elements) {
        PyErr_SetString(pyvw_Error, "The number of elements exceeds the specified limit");
        return -1;
    }
    return 0;
}

/* After a successful batch: its labels are no longer marked, and with
 * replace_deleted `reuse` marked labels gave up their room for good. */
static int settle_marks(pyvw_index *self, const uint64_t *labels, uint64_t n, uint64_t reuse) {
    for (uint64_t i = 0; PyDict_GET_SIZE(self->deleted) && i < n; i++)
        if (is_marked(self, labels[i]) == 1 && unmark(self, labels[i]) < 0)
            return -1;
    for (; reuse > 0 && PyDict_GET_SIZE(self->deleted) > 0; reuse--) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        PyDict_Next(self->deleted, &pos, &key, &value);
        if (PyDict_DelItem(self->deleted, key) < 0)
            return -1;
    }
    return 0;
}

static int get_rows(pyvw_index *self, PyObject *data, pyvw_rows *rows) {
    if (pyvw_rows_get(data, rows) < 0)
        return -1;
    if (rows->dim != self->dim && !(rows->n == 0 && rows->dim == 0)) {
        PyErr_Format(pyvw_ArgError, "Wrong dimensionality of the vectors: index dim %u, got %u",
                     self->dim, rows->dim);
        pyvw_rows_release(rows);
        return -1;
    }
    return 0;
}

/* ids=None: hnswlib labels the rows cur_l, cur_l + 1, ... */
static int default_labels(pyvw_index *self, pyvw_labels *labels, uint64_t n) {
    labels->owned = PyMem_RawMalloc(n * sizeof(uint64_t) + 1);
    if (!labels->owned) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint64_t i = 0; i < n; i++)
        labels->owned[i] = self->next_label + i;
    labels->data = labels->owned;
    labels->n = n;
    return 0;
}

static PyObject *write_items(pyvw_index *self, PyObject *data, PyObject *ids, int threads,
                             int replace, int hnswlib_rules, PyObject *attributes) {
    pyvw_rows rows;
    pyvw_labels labels;
    pyvw_attrs attrs = {0};
    vw_stats s;
    if (vw_index_stats(self->ix, &s) == VW_OK && s.mmapped)
        return pyvw_raise(VW_ERR_READONLY, "the index was loaded with mmap=True", NULL);
    if (get_rows(self, data, &rows) < 0)
        return NULL;
    int rc = pyvw_labels_get(ids, rows.n, &labels);
    if (rc == 0 && !labels.data)
        rc = default_labels(self, &labels, rows.n);
    if (rc == 0)
        rc = pyvw_attrs_get(attributes, rows.n, &attrs); /* checked before any write */
    uint64_t reuse = 0;
    if (rc == 0 && hnswlib_rules)
        rc = check_add(self, labels.data, rows.n, replace, &reuse);
    if (rc == 0 && rows.n > 0)
        rc =
            upsert_rows(self, &rows, labels.data, pyvw_threads(threads, self->num_threads, rows.n));
    if (rc == 0 && attrs.texts)
        rc = set_attrs(self, labels.data, &attrs);
    if (rc == 0)
        rc = settle_marks(self, labels.data, rows.n, reuse);
    if (rc == 0 && hnswlib_rules)
        self->next_label += rows.n;
    uint64_t count = pyvw_index_count(self);
    if (count > self->max_elements)
        self->max_elements = count; /* upsert grows it, as the library grows */
    pyvw_attrs_release(&attrs);
    pyvw_labels_release(&labels);
    pyvw_rows_release(&rows);
    return rc == 0 ? Py_NewRef(Py_None) : NULL;
}

const char pyvw_doc_add_items[] =
    "add_items(data, ids=None, num_threads=-1, replace_deleted=False, attributes=None)\n--\n\n"
    "Insert vectors; a label already present gets its vector replaced, and a\n"
    "label marked deleted is unmarked with the new vector (hnswlib's rules).\n\n"
    "data             (n, dim) or (dim,) array: float32 C-contiguous is read in\n"
    "                 place; other dtypes, strides and lists are converted once\n"
    "ids              n non-negative integer labels; None: hnswlib's default,\n"
    "                 consecutive labels from get_current_count() at the\n"
    "                 last init_index/load_index plus all rows added since\n"
    "num_threads      threads (the library's); <= 0: the Index's num_threads;\n"
    "                 batches of at most 4 rows per thread use one thread\n"
    "replace_deleted  with init_index(allow_replace_deleted=True): new labels\n"
    "                 take the room of labels marked deleted\n"
    "attributes       vwhnsw: None (an element keeps the attributes it has),\n"
    "                 or one entry per row: a dict (strings, numbers, booleans,\n"
    "                 None, lists of strings), its JSON text, or None (none);\n"
    "                 all checked before anything is written\n\n"
    "Raises ArgumentError (ValueError) for a wrong shape or dimension, NaN or\n"
    "infinite values (hnswlib would insert them) or bad labels, and\n"
    "vwhnsw.Error (RuntimeError) beyond max_elements (nothing is inserted;\n"
    "hnswlib inserts up to the limit). Ctrl-C cancels (rows already linked\n"
    "stay). The GIL is released while the library inserts.";

PyObject *pyvw_index_add_items(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "ids", "num_threads", "replace_deleted", "attributes", NULL};
    PyObject *data = NULL, *ids = Py_None, *attributes = Py_None;
    int threads = -1, replace = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OipO:add_items", names, &data, &ids, &threads,
                                     &replace, &attributes))
        return NULL;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *out = NULL;
    if (replace && !self->allow_replace_deleted)
        PyErr_SetString(pyvw_Error, "Replacement of deleted elements is disabled in constructor");
    else
        out = write_items(self, data, ids, threads, replace, 1, attributes);
    pyvw_index_leave(self);
    return out;
}

const char pyvw_doc_upsert[] =
    "upsert(data, ids, num_threads=-1, attributes=None)\n--\n\n"
    "vwhnsw: insert or replace vectors under their labels (ids required),\n"
    "with the library's live semantics: a search that starts after this\n"
    "returns never sees an old vector. Not bound by max_elements (raised to\n"
    "the count if needed). attributes: as in add_items.";

PyObject *pyvw_index_upsert(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "ids", "num_threads", "attributes", NULL};
    PyObject *data = NULL, *ids = NULL, *attributes = Py_None;
    int threads = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|iO:upsert", names, &data, &ids, &threads,
                                     &attributes))
        return NULL;
    if (ids == Py_None) {
        PyErr_SetString(pyvw_ArgError, "upsert needs ids");
        return NULL;
    }
    if (pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *out = write_items(self, data, ids, threads, 0, 0, attributes);
    pyvw_index_leave(self);
    return out;
}

/* ------------------------------------------------------------------ knn_query */

const char pyvw_doc_knn_query[] =
    "knn_query(data, k=1, num_threads=-1, filter=None, *, ef=None, rerank=0)\n--\n\n"
    "The k nearest neighbours of each row of data.\n\n"
    "data         (n, dim) or (dim,) array (float32 C-contiguous read in place)\n"
    "k            neighbours per query, 1..4096\n"
    "num_threads  the library's threads for a batch; <= 0: the Index's\n"
    "             num_threads; one thread when n <= 4 * threads\n"
    "filter       None, or a callable taking a label and returning True to keep\n"
    "             it (hnswlib's): called from the search threads with the GIL\n"
    "             taken, so num_threads=1 is usually fastest with one; if it\n"
    "             raises, the search stops and the exception propagates;\n"
    "             or vwhnsw: an attribute filter, a dict or JSON text in\n"
    "             vw-serve's language ({\"must\": [{\"key\": \"color\", \"match\":\n"
    "             {\"value\": \"red\"}}]}), planned by the library, no GIL\n"
    "ef           vwhnsw: beam width for this call (default: the Index's ef,\n"
    "             10 unless set); the search uses max(ef, k)\n"
    "rerank       vwhnsw, compact storage: candidates re-scored in float32\n\n"
    "Returns (labels, distances): uint64 and float32 arrays of shape (n, k),\n"
    "nearest first. As hnswlib, raises RuntimeError ('Cannot return the\n"
    "results in a contiguous 2D array...') when a query finds fewer than k\n"
    "(k above the live count, or a filter keeping fewer). Distances: squared\n"
    "L2 for 'l2', 1 - <a,b> for 'ip' and 'cosine'. NaN or infinite queries\n"
    "raise ArgumentError (hnswlib would return arbitrary neighbours).";

PyObject *pyvw_index_knn_query(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"data", "k", "num_threads", "filter", "ef", "rerank", NULL};
    PyObject *data = NULL, *filter = Py_None, *ef_obj = Py_None;
    unsigned long long k = 1;
    int threads = -1;
    unsigned int rerank = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O&iO$OO&:knn_query", names, &data, pyvw_u64, &k,
                                     &threads, &filter, &ef_obj, pyvw_u32, &rerank))
        return NULL;
    unsigned long long ef = 0;
    if (ef_obj != Py_None && !pyvw_u64(ef_obj, &ef))
        return NULL;
    if (k > VW_MAX_K || ef > VW_MAX_EF) {
        PyErr_Format(pyvw_ArgError, "k must be 1..%u and ef 1..%u", VW_MAX_K, VW_MAX_EF);
        return NULL;
    }
    PyObject *callable;
    vw_filter *where;
    if (pyvw_filter_get(filter, &callable, &where) < 0)
        return NULL;
    if (pyvw_index_enter(self) < 0) {
        vw_filter_free(where);
        return NULL;
    }
    pyvw_rows rows;
    PyObject *out = NULL;
    if (get_rows(self, data, &rows) == 0) {
        pyvw_query q = {.k = (uint32_t)k,
                        .ef = ef ? (uint32_t)ef : self->ef,
                        .rerank = rerank,
                        .threads = pyvw_threads(threads, self->num_threads, rows.n),
                        .filter = callable,
                        .where = where,
                        .owner = self,
                        .strict = 1};
        out = pyvw_search(self->ix, &rows, &q);
        pyvw_rows_release(&rows);
    }
    pyvw_index_leave(self);
    vw_filter_free(where);
    return out;
}

/* ------------------------------------------------------------------ reads */

static PyObject *label_not_found(uint64_t label) {
    PyErr_Format(pyvw_NotFound, "Label not found: %llu", (unsigned long long)label);
    return NULL;
}

/* Copies the vectors of n labels into out (n * dim floats), GIL released;
 * the index of the first absent label in *missing (n if none). */
static void fetch_vectors(pyvw_index *self, const uint64_t *labels, uint64_t n, float *out,
                          uint64_t *missing, pyvw_result *r) {
    Py_BEGIN_ALLOW_THREADS;
    vw_status st = VW_OK;
    uint64_t i = 0;
    for (; i < n && st == VW_OK; i++)
        st = vw_index_get_vector(self->ix, labels[i], out + i * self->dim);
    *missing = st == VW_ERR_NOT_FOUND ? i - 1 : n;
    pyvw_capture(r, st == VW_ERR_NOT_FOUND ? VW_OK : st);
    Py_END_ALLOW_THREADS;
}

static PyObject *rows_to_list(const float *v, uint64_t n, uint32_t dim) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (uint64_t i = 0; list && i < n; i++) {
        PyObject *row = PyList_New(dim);
        for (uint32_t j = 0; row && j < dim; j++) {
            PyObject *x = PyFloat_FromDouble(v[i * dim + j]);
            if (!x)
                Py_CLEAR(row);
            else
                PyList_SET_ITEM(row, j, x);
        }
        if (!row)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    return list;
}

static PyObject *get_items(pyvw_index *self, PyObject *ids, int as_list) {
    pyvw_labels labels;
    if (pyvw_labels_get(ids, UINT64_MAX, &labels) < 0)
        return NULL;
    void *buf = NULL;
    PyObject *arr = as_list ? NULL : pyvw_new_matrix(labels.n, self->dim, 'f', &buf);
    if (as_list)
        buf = PyMem_RawMalloc(labels.n * self->dim * sizeof(float) + 1);
    PyObject *out = NULL;
    if (buf) {
        uint64_t missing = 0;
        pyvw_result r;
        fetch_vectors(self, labels.data, labels.n, buf, &missing, &r);
        if (r.st != VW_OK)
            pyvw_raise_result(&r, NULL);
        else if (missing < labels.n)
            label_not_found(labels.data[missing]);
        else
            out = as_list ? rows_to_list(buf, labels.n, self->dim) : Py_NewRef(arr);
    } else if (!PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    if (as_list)
        PyMem_RawFree(buf);
    Py_XDECREF(arr);
    pyvw_labels_release(&labels);
    return out;
}

const char pyvw_doc_get_items[] =
    "get_items(ids=None, return_type='numpy')\n--\n\n"
    "The stored vectors of labels: a float32 array of shape (len(ids), dim),\n"
    "or a list of lists with return_type='list'. For 'cosine' the vectors are\n"
    "the normalized ones the index holds (as hnswlib's); for compact storage\n"
    "without float32, their decoded approximation. A label absent or marked\n"
    "deleted raises LabelNotFoundError (a RuntimeError, as hnswlib's 'Label\n"
    "not found').";

PyObject *pyvw_index_get_items(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"ids", "return_type", NULL};
    PyObject *ids = Py_None;
    const char *rtype = "numpy";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Os:get_items", names, &ids, &rtype))
        return NULL;
    if (strcmp(rtype, "numpy") != 0 && strcmp(rtype, "list") != 0) {
        PyErr_SetString(pyvw_ArgError, "return_type should be \"numpy\" or \"list\"");
        return NULL;
    }
    if (PyLong_Check(ids) || PyFloat_Check(ids)) {
        PyErr_SetString(pyvw_ArgError,
                        "get_items accepts a list of indices and returns a list of vectors");
        return NULL;
    }
    PyObject *list = ids == Py_None ? PyTuple_New(0) : Py_NewRef(ids);
    if (!list || pyvw_index_enter(self) < 0) {
        Py_XDECREF(list);
        return NULL;
    }
    PyObject *out = get_items(self, list, rtype[0] == 'l');
    pyvw_index_leave(self);
    Py_DECREF(list);
    return out;
}

const char pyvw_doc_get_attributes[] =
    "get_attributes(label)\n--\n\n"
    "vwhnsw: the label's attributes as a dict (None without any);\n"
    "LabelNotFoundError if the label is absent.";

PyObject *pyvw_index_get_attributes(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"label", NULL};
    unsigned long long label = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:get_attributes", names, pyvw_u64, &label) ||
        pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *out = pyvw_get_attributes(self->ix, label);
    pyvw_index_leave(self);
    return out;
}

const char pyvw_doc_get_ids_list[] =
    "get_ids_list()\n--\n\n"
    "Every label in the index, including those marked deleted (as hnswlib's).";

PyObject *pyvw_index_get_ids_list(pyvw_index *self, PyObject *unused) {
    (void)unused;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    uint64_t cap = pyvw_index_count(self) + 16, n = 0, *buf = NULL;
    pyvw_result r = {.st = VW_ERR_INVALID_ARG};
    while (r.st == VW_ERR_INVALID_ARG) { /* the count may grow meanwhile: ask again */
        PyMem_RawFree(buf);
        if (!(buf = PyMem_RawMalloc(cap * sizeof *buf)))
            break;
        Py_BEGIN_ALLOW_THREADS;
        pyvw_capture(&r, vw_index_labels(self->ix, buf, cap, &n));
        Py_END_ALLOW_THREADS;
        cap = n + 16;
    }
    PyObject *list = NULL;
    if (!buf)
        PyErr_NoMemory();
    else if (r.st != VW_OK)
        pyvw_raise_result(&r, NULL);
    else if ((list = PyList_New((Py_ssize_t)n)) != NULL)
        for (uint64_t i = 0; list && i < n; i++) {
            PyObject *x = PyLong_FromUnsignedLongLong(buf[i]);
            if (!x)
                Py_CLEAR(list);
            else
                PyList_SET_ITEM(list, (Py_ssize_t)i, x);
        }
    PyMem_RawFree(buf);
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (list && PyDict_Next(self->deleted, &pos, &key, &value))
        if (PyList_Append(list, key) < 0)
            Py_CLEAR(list);
    pyvw_index_leave(self);
    return list;
}

/* ------------------------------------------------------------------ deletions */

static int one_label(PyObject *obj, uint64_t *label) {
    pyvw_labels l;
    if (pyvw_labels_get(obj, 1, &l) < 0)
        return -1;
    *label = l.data[0];
    pyvw_labels_release(&l);
    return 0;
}

/* Removes `label` from the library's index, keeping its vector in the
 * marks so that unmark_deleted can put it back. */
static PyObject *mark(pyvw_index *self, uint64_t label) {
    int in = is_marked(self, label);
    if (in != 0) {
        if (in > 0)
            PyErr_SetString(pyvw_Error, "The requested to delete element is already deleted");
        return NULL;
    }
    PyObject *vec = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(self->dim * sizeof(float)));
    if (!vec)
        return NULL;
    float *v = (float *)PyBytes_AS_STRING(vec);
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    vw_status st = vw_index_get_vector(self->ix, label, v);
    if (st == VW_OK)
        st = vw_index_remove(self->ix, label);
    pyvw_capture(&r, st);
    Py_END_ALLOW_THREADS;
    PyObject *key = r.st == VW_OK ? PyLong_FromUnsignedLongLong(label) : NULL;
    int rc = key ? PyDict_SetItem(self->deleted, key, vec) : -1;
    Py_XDECREF(key);
    Py_DECREF(vec);
    if (r.st == VW_ERR_NOT_FOUND)
        return label_not_found(label);
    if (r.st != VW_OK)
        return pyvw_raise_result(&r, NULL);
    return rc == 0 ? Py_NewRef(Py_None) : NULL;
}

const char pyvw_doc_mark_deleted[] =
    "mark_deleted(label)\n--\n\n"
    "Exclude a label from searches (hnswlib's mark). It still counts in\n"
    "get_current_count() and get_ids_list(), and unmark_deleted restores it.\n"
    "The library removes it from the graph's results at once; its vector is\n"
    "kept here for unmark_deleted. save_index does not write marked labels\n"
    "(hnswlib writes them with their mark). Raises LabelNotFoundError for an\n"
    "absent label, vwhnsw.Error if it is already marked.";

PyObject *pyvw_index_mark_deleted(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"label", NULL};
    PyObject *obj = NULL;
    uint64_t label = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:mark_deleted", names, &obj) ||
        one_label(obj, &label) < 0 || pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *out = mark(self, label);
    pyvw_index_leave(self);
    return out;
}

static PyObject *unmark_label(pyvw_index *self, uint64_t label) {
    PyObject *key = PyLong_FromUnsignedLongLong(label);
    PyObject *vec = key ? PyDict_GetItemWithError(self->deleted, key) : NULL;
    if (!vec) {
        Py_XDECREF(key);
        if (PyErr_Occurred())
            return NULL;
        float *tmp = PyMem_RawMalloc(self->dim * sizeof(float));
        vw_status st = VW_ERR_NOMEM;
        Py_BEGIN_ALLOW_THREADS; /* the writer lock: a batch's progress may want the GIL */
        if (tmp)
            st = vw_index_get_vector(self->ix, label, tmp);
        Py_END_ALLOW_THREADS;
        PyMem_RawFree(tmp);
        if (st == VW_OK)
            PyErr_SetString(pyvw_Error, "The requested to undelete element is not deleted");
        else
            label_not_found(label);
        return NULL;
    }
    Py_INCREF(vec);
    pyvw_result r;
    const float *v = (const float *)PyBytes_AS_STRING(vec);
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, vw_index_add(self->ix, v, label));
    Py_END_ALLOW_THREADS;
    Py_DECREF(vec);
    int rc = r.st == VW_OK ? PyDict_DelItem(self->deleted, key) : 0;
    Py_DECREF(key);
    if (r.st != VW_OK)
        return pyvw_raise_result(&r, NULL);
    return rc == 0 ? Py_NewRef(Py_None) : NULL;
}

const char pyvw_doc_unmark_deleted[] =
    "unmark_deleted(label)\n--\n\n"
    "Make a label marked by mark_deleted searchable again, with its vector.";

PyObject *pyvw_index_unmark_deleted(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"label", NULL};
    PyObject *obj = NULL;
    uint64_t label = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:unmark_deleted", names, &obj) ||
        one_label(obj, &label) < 0 || pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *out = unmark_label(self, label);
    pyvw_index_leave(self);
    return out;
}

const char pyvw_doc_remove[] =
    "remove(ids)\n--\n\n"
    "vwhnsw: remove labels for good (the library's vw_index_remove: no search\n"
    "that starts afterwards returns them; their room is reused). A label\n"
    "marked deleted is dropped with its mark. Raises LabelNotFoundError at the\n"
    "first absent label (the ones before it are removed).";

PyObject *pyvw_index_remove(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"ids", NULL};
    PyObject *obj = NULL;
    pyvw_labels l;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:remove", names, &obj) ||
        pyvw_labels_get(obj, UINT64_MAX, &l) < 0)
        return NULL;
    if (pyvw_index_enter(self) < 0) {
        pyvw_labels_release(&l);
        return NULL;
    }
    PyObject *out = Py_None;
    for (uint64_t i = 0; out && i < l.n; i++) {
        int in = is_marked(self, l.data[i]);
        if (in != 0) {
            out = in < 0 || unmark(self, l.data[i]) < 0 ? NULL : out;
            continue;
        }
        pyvw_result r;
        Py_BEGIN_ALLOW_THREADS;
        pyvw_capture(&r, vw_index_remove(self->ix, l.data[i]));
        Py_END_ALLOW_THREADS;
        if (r.st == VW_ERR_NOT_FOUND)
            out = label_not_found(l.data[i]);
        else if (r.st != VW_OK)
            out = pyvw_raise_result(&r, NULL);
    }
    pyvw_index_leave(self);
    pyvw_labels_release(&l);
    return out ? Py_NewRef(out) : NULL;
}
