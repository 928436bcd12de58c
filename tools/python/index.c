/*
 * index.c - vwhnsw.Index: hnswlib.Index's life cycle on a vw_index.
 *
 * What hnswlib keeps that the library does not, the object keeps:
 * max_elements (hnswlib refuses inserts beyond it; the library would grow),
 * the default ef (10, as hnswlib's), num_threads, the next label for
 * add_items without ids (hnswlib's cur_l), and the vectors of labels
 * marked deleted (mark_deleted removes them from the library's index, which
 * excludes them from every later search at once, and unmark_deleted puts
 * them back). Files and pickles go through the library's own format.
 */
#include "pyvw.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ locking */

static int lock_write(pyvw_index *self) {
    Py_BEGIN_ALLOW_THREADS;
    pthread_rwlock_wrlock(&self->lock);
    Py_END_ALLOW_THREADS;
    return 0;
}

int pyvw_index_enter(pyvw_index *self) {
    if (pyvw_check_not_in_filter(self) < 0)
        return -1;
    if (!self->lock_ready) {
        PyErr_SetString(pyvw_Error, "Index object was not constructed: call Index(space, dim)");
        return -1;
    }
    /* A reader never blocks on readers; wait for a replacing writer with
     * the GIL released (the writer does not need it while it holds the lock). */
    if (pthread_rwlock_tryrdlock(&self->lock) != 0) {
        Py_BEGIN_ALLOW_THREADS;
        pthread_rwlock_rdlock(&self->lock);
        Py_END_ALLOW_THREADS;
    }
    if (!self->ix) {
        pthread_rwlock_unlock(&self->lock);
        PyErr_SetString(pyvw_Error, "Index not initialized (call init_index or load_index) or "
                                    "closed");
        return -1;
    }
    return 0;
}

void pyvw_index_leave(pyvw_index *self) {
    pthread_rwlock_unlock(&self->lock);
}

uint64_t pyvw_index_count(pyvw_index *self) {
    vw_stats s;
    if (!self->ix || vw_index_stats(self->ix, &s) != VW_OK)
        return 0;
    return s.count + (uint64_t)PyDict_GET_SIZE(self->deleted);
}

/* Swaps in a new handle (NULL: close) under the write lock; frees the old
 * one with the GIL released. */
static void replace_handle(pyvw_index *self, vw_index *ix) {
    lock_write(self);
    vw_index *old = self->ix;
    self->ix = ix;
    pthread_rwlock_unlock(&self->lock);
    if (old) {
        Py_BEGIN_ALLOW_THREADS;
        vw_index_free(old);
        Py_END_ALLOW_THREADS;
    }
    PyDict_Clear(self->deleted);
}

/* ------------------------------------------------------------------ type */

static PyObject *index_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)args;
    (void)kw;
    pyvw_index *self = (pyvw_index *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->deleted = PyDict_New();
    if (!self->deleted || pthread_rwlock_init(&self->lock, NULL) != 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->lock_ready = 1;
    self->ef = 10;
    self->seed = 100;
    self->num_threads = pyvw_cpu_count();
    return (PyObject *)self;
}

static void index_dealloc(pyvw_index *self) {
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->ix) {
        vw_index *ix = self->ix;
        self->ix = NULL;
        Py_BEGIN_ALLOW_THREADS;
        vw_index_free(ix);
        Py_END_ALLOW_THREADS;
    }
    if (self->lock_ready)
        pthread_rwlock_destroy(&self->lock);
    Py_CLEAR(self->deleted);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int set_space(pyvw_index *self, const char *space, long long dim) {
    if (vw_metric_parse(space, &self->metric) != VW_OK) {
        PyErr_SetString(pyvw_ArgError, "Space name must be one of l2, ip, or cosine.");
        return -1;
    }
    if (dim < 1 || dim > VW_MAX_DIM) {
        PyErr_Format(pyvw_ArgError, "dim must be 1..%u, not %lld", VW_MAX_DIM, dim);
        return -1;
    }
    self->dim = (uint32_t)dim;
    return 0;
}

static const char doc_index[] =
    "Index(space, dim)\n--\n\n"
    "An HNSW index with hnswlib.Index's API (hnswlib 0.8).\n\n"
    "space  'l2' (squared Euclidean distance), 'ip' (1 - <a,b>) or 'cosine'\n"
    "       (vectors and queries normalized, then 1 - <a,b>)\n"
    "dim    the vectors' dimension, 1..4096\n\n"
    "Call init_index (a new index) or load_index (a file) before anything else.";

static int index_init(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"space", "dim", NULL};
    const char *space = NULL;
    long long dim = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sL:Index", names, &space, &dim))
        return -1;
    if (self->ix) {
        PyErr_SetString(pyvw_Error, "Index.__init__ called on an initialized index");
        return -1;
    }
    return set_space(self, space, dim);
}

PyObject *pyvw_index_wrap(vw_index *ix, uint64_t max_elements) {
    vw_stats s;
    vw_index_stats(ix, &s);
    pyvw_index *self = (pyvw_index *)index_new(&pyvw_IndexType, NULL, NULL);
    if (!self) {
        vw_index_free(ix);
        return NULL;
    }
    self->ix = ix;
    self->metric = s.metric;
    self->dim = s.dim;
    self->seed = s.seed;
    self->max_elements = max_elements > s.count ? max_elements : s.count;
    self->next_label = s.count;
    return (PyObject *)self;
}

/* ------------------------------------------------------------------ init_index */

static const char doc_init_index[] =
    "init_index(max_elements, M=16, ef_construction=200, random_seed=100,\n"
    "           allow_replace_deleted=False, *, storage='f32', keep_float32=True,\n"
    "           residual=False)\n--\n\n"
    "Create an empty index.\n\n"
    "max_elements           capacity, as hnswlib's: add_items beyond it raises\n"
    "                       (resize_index raises it); the library itself grows\n"
    "M                      links per node (2*M on the bottom layer), 2..256\n"
    "ef_construction        beam width while building\n"
    "random_seed            seeds the level draws (one thread: same graph)\n"
    "allow_replace_deleted  let add_items(replace_deleted=True) reuse the room\n"
    "                       of labels marked deleted\n"
    "storage                vwhnsw only: 'f32' (exact), 'f16' or 'i8' (compact\n"
    "                       codes the graph walk reads)\n"
    "keep_float32           compact storage: keep float32 vectors to re-rank\n"
    "                       (exact distances); False saves 4*dim bytes a vector\n"
    "residual               'i8' without float32: 4-bit residuals for re-ranking";

static int fill_params(pyvw_index *self, vw_params *p, unsigned long long max_elements,
                       unsigned long long M, unsigned long long efc, const char *storage,
                       int keep32, int residual) {
    vw_params_default(p, self->dim);
    p->metric = self->metric;
    p->M = M > UINT32_MAX ? UINT32_MAX : (uint32_t)M;
    p->ef_construction = efc > UINT32_MAX ? UINT32_MAX : (uint32_t)efc;
    p->capacity = max_elements == 0                ? 1
                  : max_elements > VW_MAX_ELEMENTS ? VW_MAX_ELEMENTS
                                                   : max_elements;
    p->seed = self->seed;
    if (vw_storage_parse(storage, &p->storage) != VW_OK) {
        PyErr_Format(pyvw_ArgError, "storage must be 'f32', 'f16' or 'i8', not '%s'", storage);
        return -1;
    }
    p->flags = (keep32 ? 0 : VW_PARAMS_NO_FLOAT32) | (residual ? VW_PARAMS_RESIDUAL : 0);
    return 0;
}

static PyObject *index_init_index(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"max_elements",
                            "M",
                            "ef_construction",
                            "random_seed",
                            "allow_replace_deleted",
                            "storage",
                            "keep_float32",
                            "residual",
                            NULL};
    unsigned long long max_elements = 0, M = 16, efc = 200, seed = 100;
    int allow = 0, keep32 = 1, residual = 0;
    const char *storage = "f32";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&O&O&p$spp:init_index", names, pyvw_u64,
                                     &max_elements, pyvw_u64, &M, pyvw_u64, &efc, pyvw_u64, &seed,
                                     &allow, &storage, &keep32, &residual))
        return NULL;
    if (pyvw_check_not_in_filter(self) < 0)
        return NULL;
    if (self->ix) {
        PyErr_SetString(pyvw_Error, "The index is already initiated.");
        return NULL;
    }
    if (!self->dim) {
        PyErr_SetString(pyvw_Error, "Index object was not constructed: call Index(space, dim)");
        return NULL;
    }
    self->seed = seed;
    vw_params p;
    if (fill_params(self, &p, max_elements, M, efc, storage, keep32, residual) < 0)
        return NULL;
    vw_index *ix = NULL;
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, vw_index_create(&p, &ix));
    Py_END_ALLOW_THREADS;
    if (r.st != VW_OK)
        return pyvw_raise_result(&r, NULL);
    replace_handle(self, ix);
    self->max_elements = max_elements;
    self->next_label = 0;
    self->allow_replace_deleted = allow;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ files */

static const char doc_load_index[] =
    "load_index(path_to_index, max_elements=0, allow_replace_deleted=False, *,\n"
    "           mmap=False, verify=True)\n--\n\n"
    "Replace the index with one read from a file: vwhnsw's own format, or an\n"
    "hnswlib (save_index) or Faiss (write_index, HNSWFlat) file, read as it is\n"
    "(no rebuild). Its dimension must be the Index's; a vwhnsw or Faiss file's\n"
    "space must be too (an hnswlib file is taken to be in the Index's space).\n\n"
    "max_elements  capacity for later add_items (at least the file's count)\n"
    "mmap          vwhnsw files: map instead of read (fast, read-only index)\n"
    "verify        False skips a vwhnsw file's checksums\n\n"
    "Labels marked deleted are not in our files (see mark_deleted); hnswlib's\n"
    "deleted elements are left out when its file is read.";

static int check_loaded(pyvw_index *self, vw_index *ix) {
    vw_stats s;
    vw_index_stats(ix, &s);
    if (s.dim == self->dim && s.metric == self->metric)
        return 0;
    PyErr_Format(pyvw_ArgError, "the file holds a %s index of dim %u, this Index is %s, dim %u",
                 vw_metric_name(s.metric), s.dim, vw_metric_name(self->metric), self->dim);
    return -1;
}

static PyObject *index_load_index(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"path_to_index", "max_elements", "allow_replace_deleted",
                            "mmap",          "verify",       NULL};
    PyObject *path = NULL;
    unsigned long long max_elements = 0;
    int allow = 0, mmap = 0, verify = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&p$pp:load_index", names, PyUnicode_FSConverter,
                                     &path, pyvw_u64, &max_elements, &allow, &mmap, &verify))
        return NULL;
    vw_index *ix = NULL;
    if (pyvw_check_not_in_filter(self) == 0 && self->dim)
        ix = pyvw_open_file(PyBytes_AS_STRING(path), vw_metric_name(self->metric), mmap, verify);
    else if (!self->dim)
        PyErr_SetString(pyvw_Error, "Index object was not constructed: call Index(space, dim)");
    Py_DECREF(path);
    if (!ix)
        return NULL;
    if (check_loaded(self, ix) < 0) {
        vw_index_free(ix);
        return NULL;
    }
    replace_handle(self, ix);
    uint64_t count = pyvw_index_count(self);
    self->max_elements = max_elements > count ? max_elements : count;
    self->next_label = count;
    self->allow_replace_deleted = allow;
    Py_RETURN_NONE;
}

static const char doc_save_index[] =
    "save_index(path_to_index, *, pack_links=False)\n--\n\n"
    "Write the index to a file, atomically (a temporary file renamed over\n"
    "the path). The format is vwhnsw's (lib/FORMAT.md), which load_index,\n"
    "vwhnsw.open and the vw-* tools read; hnswlib cannot read it.\n"
    "pack_links=True writes the bottom layer's lists packed (smaller file).";

static PyObject *index_save_index(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"path_to_index", "pack_links", NULL};
    PyObject *path = NULL;
    int pack = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|$p:save_index", names, PyUnicode_FSConverter,
                                     &path, &pack))
        return NULL;
    if (pyvw_index_enter(self) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, vw_index_save_ex(self->ix, PyBytes_AS_STRING(path),
                                      pack ? VW_SAVE_PACK_LINKS : VW_SAVE_DEFAULT));
    Py_END_ALLOW_THREADS;
    pyvw_index_leave(self);
    PyObject *out =
        r.st == VW_OK ? Py_NewRef(Py_None) : pyvw_raise_result(&r, PyBytes_AS_STRING(path));
    Py_DECREF(path);
    return out;
}

/* ------------------------------------------------------------------ to and from bytes */

/* The index as the bytes of its file (pickling, index_file_size): the
 * library writes files only, so through a private temporary one. */
static PyObject *index_bytes(pyvw_index *self) {
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/vwhnsw-pickle-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    close(fd);
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, vw_index_save(self->ix, path));
    Py_END_ALLOW_THREADS;
    PyObject *out = NULL;
    if (r.st != VW_OK) {
        pyvw_raise_result(&r, path);
    } else {
        FILE *f = fopen(path, "rb");
        long len = -1;
        if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
            out = PyBytes_FromStringAndSize(NULL, len);
        if (out && fread(PyBytes_AS_STRING(out), 1, (size_t)len, f) != (size_t)len) {
            Py_CLEAR(out);
            PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        } else if (!out && !PyErr_Occurred()) {
            PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        }
        if (f)
            fclose(f);
    }
    unlink(path);
    return out;
}

static vw_index *index_from_bytes(PyObject *bytes) {
    char *buf = NULL;
    Py_ssize_t len = 0;
    if (PyBytes_AsStringAndSize(bytes, &buf, &len) < 0)
        return NULL;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/vwhnsw-pickle-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return (vw_index *)PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    vw_index *ix = NULL;
    pyvw_result r = {.st = VW_ERR_IO};
    Py_BEGIN_ALLOW_THREADS;
    ssize_t put = 0;
    while (put < len) {
        ssize_t w = write(fd, buf + put, (size_t)(len - put));
        if (w <= 0)
            break;
        put += w;
    }
    close(fd);
    if (put == len)
        pyvw_capture(&r, vw_index_load(path, VW_LOAD_DEFAULT, &ix));
    unlink(path);
    Py_END_ALLOW_THREADS;
    if (r.st != VW_OK)
        pyvw_raise_result(&r, path);
    return ix;
}

static const char doc_index_file_size[] =
    "index_file_size()\n--\n\n"
    "The size in bytes of the file save_index would write now (measured by\n"
    "writing it to a temporary file).";

static PyObject *index_index_file_size(pyvw_index *self, PyObject *unused) {
    (void)unused;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *b = index_bytes(self);
    pyvw_index_leave(self);
    PyObject *out = b ? PyLong_FromSsize_t(PyBytes_GET_SIZE(b)) : NULL;
    Py_XDECREF(b);
    return out;
}

/* ------------------------------------------------------------------ pickling */

static PyObject *index_getstate(pyvw_index *self, PyObject *unused) {
    (void)unused;
    PyObject *file = Py_NewRef(Py_None);
    if (self->ix) {
        if (pyvw_index_enter(self) < 0) {
            Py_DECREF(file);
            return NULL;
        }
        Py_SETREF(file, index_bytes(self));
        pyvw_index_leave(self);
        if (!file)
            return NULL;
    }
    PyObject *state =
        Py_BuildValue("{s:i,s:s,s:I,s:K,s:K,s:K,s:I,s:i,s:i,s:N,s:O}", "ser_version", 1, "space",
                      vw_metric_name(self->metric), "dim", self->dim, "max_elements",
                      (unsigned long long)self->max_elements, "cur_element_count",
                      (unsigned long long)self->next_label, "seed", (unsigned long long)self->seed,
                      "ef", self->ef, "num_threads", self->num_threads, "allow_replace_deleted",
                      self->allow_replace_deleted, "index", file, "deleted", self->deleted);
    return state;
}

static int state_get(PyObject *state, const char *key, const char *fmt, void *out) {
    PyObject *v = PyDict_GetItemString(state, key);
    if (!v) {
        PyErr_Format(pyvw_Error, "Unpickle Error: no '%s'", key);
        return -1;
    }
    PyObject *t = PyTuple_Pack(1, v);
    int ok = t && PyArg_ParseTuple(t, fmt, out);
    Py_XDECREF(t);
    return ok ? 0 : -1;
}

static PyObject *index_setstate(pyvw_index *self, PyObject *state) {
    const char *space = NULL;
    long long dim = 0;
    unsigned long long max_el = 0, next = 0, seed = 0;
    unsigned int ef = 0;
    int threads = 0, allow = 0;
    PyObject *file = NULL, *deleted = NULL;
    if (!PyDict_Check(state)) {
        PyErr_SetString(pyvw_Error, "Unpickle Error: the state must be a dict");
        return NULL;
    }
    if (state_get(state, "space", "s", &space) < 0 || state_get(state, "dim", "L", &dim) < 0 ||
        state_get(state, "max_elements", "K", &max_el) < 0 ||
        state_get(state, "cur_element_count", "K", &next) < 0 ||
        state_get(state, "seed", "K", &seed) < 0 || state_get(state, "ef", "I", &ef) < 0 ||
        state_get(state, "num_threads", "i", &threads) < 0 ||
        state_get(state, "allow_replace_deleted", "p", &allow) < 0 ||
        state_get(state, "index", "O", &file) < 0 || state_get(state, "deleted", "O", &deleted) < 0)
        return NULL;
    if (!PyDict_Check(deleted)) {
        PyErr_SetString(pyvw_Error, "Unpickle Error: 'deleted' must be a dict");
        return NULL;
    }
    if (pyvw_check_not_in_filter(self) < 0 || set_space(self, space, dim) < 0)
        return NULL;
    vw_index *ix = NULL;
    if (file != Py_None && !(ix = index_from_bytes(file)))
        return NULL;
    if (ix && check_loaded(self, ix) < 0) {
        vw_index_free(ix);
        return NULL;
    }
    replace_handle(self, ix);
    if (PyDict_Update(self->deleted, deleted) < 0)
        return NULL;
    self->max_elements = max_el;
    self->next_label = next;
    self->seed = seed;
    self->ef = ef;
    self->num_threads = threads > 0 ? threads : pyvw_cpu_count();
    self->allow_replace_deleted = allow;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ small methods */

static PyObject *index_set_ef(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"ef", NULL};
    unsigned long long ef = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:set_ef", names, pyvw_u64, &ef))
        return NULL;
    if (ef < 1 || ef > VW_MAX_EF) {
        PyErr_Format(pyvw_ArgError, "ef must be 1..%u, not %llu", VW_MAX_EF, ef);
        return NULL;
    }
    self->ef = (uint32_t)ef;
    Py_RETURN_NONE;
}

static PyObject *index_set_num_threads(pyvw_index *self, PyObject *args, PyObject *kw) {
    return pyvw_set_num_threads(&self->num_threads, args, kw);
}

static PyObject *index_resize_index(pyvw_index *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"new_size", NULL};
    unsigned long long size = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:resize_index", names, pyvw_u64, &size))
        return NULL;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    uint64_t count = pyvw_index_count(self);
    pyvw_index_leave(self);
    if (size < count) {
        PyErr_SetString(pyvw_Error,
                        "Cannot resize, max element is less than the current number of elements");
        return NULL;
    }
    self->max_elements = size;
    Py_RETURN_NONE;
}

static PyObject *index_get_max_elements(pyvw_index *self, PyObject *unused) {
    (void)unused;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    pyvw_index_leave(self);
    return PyLong_FromUnsignedLongLong(self->max_elements);
}

static PyObject *index_get_current_count(pyvw_index *self, PyObject *unused) {
    (void)unused;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    uint64_t count = pyvw_index_count(self);
    pyvw_index_leave(self);
    return PyLong_FromUnsignedLongLong(count);
}

static PyObject *index_stats(pyvw_index *self, PyObject *unused) {
    (void)unused;
    if (pyvw_index_enter(self) < 0)
        return NULL;
    PyObject *d = pyvw_stats_dict(self->ix);
    uint64_t marked = (uint64_t)PyDict_GET_SIZE(self->deleted);
    pyvw_index_leave(self);
    if (d) {
        PyObject *v = PyLong_FromUnsignedLongLong(marked);
        if (!v || PyDict_SetItemString(d, "marked_deleted", v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

/* purge and reorder: whole-index writes with the GIL released. */
static PyObject *index_write_call(pyvw_index *self, vw_status (*fn)(vw_index *)) {
    if (pyvw_index_enter(self) < 0)
        return NULL;
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, fn(self->ix));
    Py_END_ALLOW_THREADS;
    pyvw_index_leave(self);
    return r.st == VW_OK ? Py_NewRef(Py_None) : pyvw_raise_result(&r, NULL);
}

static PyObject *index_purge(pyvw_index *self, PyObject *unused) {
    (void)unused;
    return index_write_call(self, vw_index_purge);
}

static PyObject *index_reorder(pyvw_index *self, PyObject *unused) {
    (void)unused;
    return index_write_call(self, vw_index_reorder);
}

static PyObject *index_close(pyvw_index *self, PyObject *unused) {
    (void)unused;
    if (pyvw_check_not_in_filter(self) < 0)
        return NULL;
    if (self->lock_ready)
        replace_handle(self, NULL);
    Py_RETURN_NONE;
}

static PyObject *index_enter_ctx(pyvw_index *self, PyObject *unused) {
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *index_exit_ctx(pyvw_index *self, PyObject *args) {
    (void)args;
    return index_close(self, NULL);
}

static PyObject *index_repr(pyvw_index *self) {
    return PyUnicode_FromFormat("<vwhnsw.Index(space='%s', dim=%u)>", vw_metric_name(self->metric),
                                (unsigned)self->dim);
}

/* ------------------------------------------------------------------ properties */

static PyObject *get_space(pyvw_index *self, void *c) {
    (void)c;
    return PyUnicode_FromString(vw_metric_name(self->metric));
}

static PyObject *get_dim(pyvw_index *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLong(self->dim);
}

/* M, ef_construction: 0 before init_index, as hnswlib's. */
static PyObject *get_param(pyvw_index *self, void *which) {
    vw_stats s = {0};
    if (self->ix && pyvw_index_enter(self) == 0) {
        vw_index_stats(self->ix, &s);
        pyvw_index_leave(self);
    }
    PyErr_Clear();
    return PyLong_FromUnsignedLong(which ? s.ef_construction : s.M);
}

static PyObject *get_max_elements(pyvw_index *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLongLong(self->ix ? self->max_elements : 0);
}

static PyObject *get_element_count(pyvw_index *self, void *c) {
    (void)c;
    uint64_t n = 0;
    if (self->ix && pyvw_index_enter(self) == 0) {
        n = pyvw_index_count(self);
        pyvw_index_leave(self);
    }
    PyErr_Clear();
    return PyLong_FromUnsignedLongLong(n);
}

static PyObject *get_ef(pyvw_index *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLong(self->ef);
}

static int set_ef(pyvw_index *self, PyObject *v, void *c) {
    (void)c;
    if (!v) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete ef");
        return -1;
    }
    PyObject *args = PyTuple_Pack(1, v);
    PyObject *r = args ? index_set_ef(self, args, NULL) : NULL;
    Py_XDECREF(args);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

static PyObject *get_num_threads(pyvw_index *self, void *c) {
    (void)c;
    return PyLong_FromLong(self->num_threads);
}

static int set_num_threads(pyvw_index *self, PyObject *v, void *c) {
    (void)c;
    return pyvw_threads_attr(v, &self->num_threads);
}

static PyGetSetDef index_getset[] = {
    {"space", (getter)get_space, NULL, "'l2', 'ip' or 'cosine'", NULL},
    {"dim", (getter)get_dim, NULL, "the vectors' dimension", NULL},
    {"M", (getter)get_param, NULL, "links per node (0 before init_index)", NULL},
    {"ef_construction", (getter)get_param, NULL, "build beam width (0 before init_index)",
     (void *)1},
    {"max_elements", (getter)get_max_elements, NULL, "capacity (see resize_index)", NULL},
    {"element_count", (getter)get_element_count, NULL,
     "elements, counting those marked deleted (as get_current_count)", NULL},
    {"ef", (getter)get_ef, (setter)set_ef, "search beam width (default 10, as hnswlib's)", NULL},
    {"num_threads", (getter)get_num_threads, (setter)set_num_threads,
     "default threads of add_items and knn_query (default: all CPUs)", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

/* ------------------------------------------------------------------ the type */

#define M_KW(name, fn, doc)                                                                        \
    { name, PYVW_KW(fn), METH_VARARGS | METH_KEYWORDS, doc }
#define M_NO(name, fn, doc)                                                                        \
    { name, (PyCFunction)(fn), METH_NOARGS, doc }

static PyMethodDef index_methods[] = {
    M_KW("init_index", index_init_index, doc_init_index),
    M_KW("add_items", pyvw_index_add_items, pyvw_doc_add_items),
    M_KW("knn_query", pyvw_index_knn_query, pyvw_doc_knn_query),
    M_KW("get_items", pyvw_index_get_items, pyvw_doc_get_items),
    M_NO("get_ids_list", pyvw_index_get_ids_list, pyvw_doc_get_ids_list),
    M_KW("set_ef", index_set_ef, "set_ef(ef)\n--\n\nSet the default search beam width."),
    M_KW("set_num_threads", index_set_num_threads,
         "set_num_threads(num_threads)\n--\n\nSet the default thread count (<= 0: all CPUs)."),
    M_NO("index_file_size", index_index_file_size, doc_index_file_size),
    M_KW("save_index", index_save_index, doc_save_index),
    M_KW("load_index", index_load_index, doc_load_index),
    M_KW("mark_deleted", pyvw_index_mark_deleted, pyvw_doc_mark_deleted),
    M_KW("unmark_deleted", pyvw_index_unmark_deleted, pyvw_doc_unmark_deleted),
    M_KW("resize_index", index_resize_index,
         "resize_index(new_size)\n--\n\nSet max_elements (not below the current count)."),
    M_NO("get_max_elements", index_get_max_elements,
         "get_max_elements()\n--\n\nThe capacity (max_elements)."),
    M_NO("get_current_count", index_get_current_count,
         "get_current_count()\n--\n\nElements in the index, counting those marked deleted."),
    M_KW("upsert", pyvw_index_upsert, pyvw_doc_upsert),
    M_KW("remove", pyvw_index_remove, pyvw_doc_remove),
    M_KW("get_attributes", pyvw_index_get_attributes, pyvw_doc_get_attributes),
    M_NO("stats", index_stats, "stats()\n--\n\nThe library's statistics of the index, as a dict."),
    M_NO("purge", index_purge,
         "purge()\n--\n\nUnlink every removed element now and make its room reusable."),
    M_NO("reorder", index_reorder,
         "reorder()\n--\n\nRenumber nodes in graph order (faster searches); call after a build."),
    M_NO("close", index_close,
         "close()\n--\n\nFree the index now; later calls raise vwhnsw.Error."),
    M_NO("__enter__", index_enter_ctx, NULL),
    {"__exit__", (PyCFunction)index_exit_ctx, METH_VARARGS, NULL},
    M_NO("__getstate__", index_getstate, "The index as a picklable dict (its file's bytes)."),
    {"__setstate__", (PyCFunction)index_setstate, METH_O, "Restore from __getstate__'s dict."},
    {NULL, NULL, 0, NULL}};

PyTypeObject pyvw_IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vwhnsw.Index",
    .tp_basicsize = sizeof(pyvw_index),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = doc_index,
    .tp_new = index_new,
    .tp_init = (initproc)index_init,
    .tp_dealloc = (destructor)index_dealloc,
    .tp_repr = (reprfunc)index_repr,
    .tp_methods = index_methods,
    .tp_getset = index_getset,
    .tp_weaklistoffset = offsetof(pyvw_index, weakrefs),
};
