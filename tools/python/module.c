/*
 * module.c - the vwhnsw module: its exceptions, how a vw_status becomes one,
 * and the module-level functions (open, detect, version).
 *
 * Exceptions keep hnswlib programs working: hnswlib raises RuntimeError for
 * everything, so every class here derives from vwhnsw.Error(RuntimeError),
 * and also from the built-in a Python programmer would expect (ValueError
 * for bad arguments, OSError with errno and filename for files, MemoryError,
 * KeyError for absent labels).
 */
#include "pyvw.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

PyObject *pyvw_Error, *pyvw_ArgError, *pyvw_FileError, *pyvw_FormatError, *pyvw_NotFound,
    *pyvw_NoMemory, *pyvw_ReadOnly;

int pyvw_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void pyvw_capture(pyvw_result *r, vw_status st) {
    int err = errno;
    r->st = st;
    r->detail[0] = '\0';
    if (st != VW_OK)
        snprintf(r->detail, sizeof r->detail, "%s", vw_last_error_detail());
    errno = err;
}

static int is_file_status(vw_status st) {
    return st == VW_ERR_IO || st == VW_ERR_NOT_FOUND || st == VW_ERR_FORMAT ||
           st == VW_ERR_TRUNCATED || st == VW_ERR_CORRUPT || st == VW_ERR_VERSION;
}

static PyObject *class_of(vw_status st, const char *path) {
    if (path && is_file_status(st))
        return st == VW_ERR_IO || st == VW_ERR_NOT_FOUND ? pyvw_FileError : pyvw_FormatError;
    switch (st) {
    case VW_ERR_NULL_ARG:
    case VW_ERR_INVALID_ARG:
    case VW_ERR_DIMENSION:
    case VW_ERR_NONFINITE:
    case VW_ERR_ZERO_VECTOR:
    case VW_ERR_K:
    case VW_ERR_EF:
    case VW_ERR_DUPLICATE_LABEL:
    case VW_ERR_UNSUPPORTED:
        return pyvw_ArgError;
    case VW_ERR_NOMEM:
        return pyvw_NoMemory;
    case VW_ERR_NOT_FOUND:
        return pyvw_NotFound;
    case VW_ERR_READONLY:
        return pyvw_ReadOnly;
    default:
        return pyvw_Error;
    }
}

/* OSError(errno, text, filename) sets .errno, .strerror and .filename. */
static PyObject *raise_file(PyObject *cls, vw_status st, const char *text, const char *path) {
    int err = st == VW_ERR_NOT_FOUND ? ENOENT : (errno != 0 ? errno : EIO);
    PyObject *exc = cls == pyvw_FormatError ? PyObject_CallFunction(cls, "Oss", Py_None, text, path)
                                            : PyObject_CallFunction(cls, "iss", err, text, path);
    if (exc) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

PyObject *pyvw_raise(vw_status st, const char *detail, const char *path) {
    char text[400];
    if (detail && detail[0])
        snprintf(text, sizeof text, "%s: %s", vw_strerror(st), detail);
    else
        snprintf(text, sizeof text, "%s", vw_strerror(st));
    if (st == VW_ERR_CANCELLED && PyErr_Occurred())
        return NULL; /* a KeyboardInterrupt caught by the progress callback */
    PyObject *cls = class_of(st, path);
    if (cls == pyvw_FileError || cls == pyvw_FormatError)
        return raise_file(cls, st, text, path);
    PyErr_SetString(cls, text);
    return NULL;
}

PyObject *pyvw_raise_result(const pyvw_result *r, const char *path) {
    return pyvw_raise(r->st, r->detail, path);
}

/* ------------------------------------------------------------------ arguments */

/* O& converters for unsigned arguments: any integer-like object (numpy's
 * too, through __index__), negative values refused. */
static int to_u64(PyObject *o, unsigned long long *out, unsigned long long max) {
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return 0;
    int negative = PyObject_RichCompareBool(i, Py_False, Py_LT);
    unsigned long long v = negative ? 0 : PyLong_AsUnsignedLongLong(i);
    Py_DECREF(i);
    if (negative < 0)
        return 0;
    if (negative || (v == (unsigned long long)-1 && PyErr_Occurred()) || v > max) {
        PyErr_Clear();
        PyErr_Format(pyvw_ArgError, "%R is not an integer in 0..%llu", o, max);
        return 0;
    }
    *out = v;
    return 1;
}

int pyvw_u64(PyObject *o, void *out) {
    return to_u64(o, out, ULLONG_MAX);
}

int pyvw_u32(PyObject *o, void *out) {
    unsigned long long v = 0;
    if (!to_u64(o, &v, UINT32_MAX))
        return 0;
    *(unsigned int *)out = (unsigned int)v;
    return 1;
}

/* ------------------------------------------------------------------ functions */

static const char doc_open[] =
    "open(path, space=None, mmap=False, verify=True, max_elements=0)\n--\n\n"
    "Open an index file of any kind the library reads, without rebuilding it:\n"
    "one written by vwhnsw (save_index, vw-build), by Faiss (write_index of an\n"
    "IndexHNSWFlat, bare or in an IndexIDMap) or by hnswlib (save_index).\n\n"
    "path          the file\n"
    "space         'l2', 'ip' or 'cosine': required for hnswlib files (they do\n"
    "              not record it), checked against the others' own\n"
    "mmap          vwhnsw files only: map the file (read-only index, fast start)\n"
    "verify        False skips the section checksums of a vwhnsw file\n"
    "max_elements  hnswlib's capacity for later add_items (default: the count)\n\n"
    "Returns an Index. Raises FileError (OSError) for a missing or unreadable\n"
    "file, FormatError for a damaged or unknown one, ArgumentError (ValueError)\n"
    "for a missing or mismatched space.";

static vw_status open_any(const char *path, int has_metric, vw_metric metric, int mmap, int verify,
                          vw_index **ix) {
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    vw_status st = vw_index_detect(path, &format);
    if (st != VW_OK)
        return st;
    if (format == VW_INDEX_FORMAT_VWHNSW) {
        unsigned flags = (mmap ? VW_LOAD_MMAP : 0) | (verify ? 0 : VW_LOAD_NO_VERIFY);
        st = vw_index_load(path, flags, ix);
        if (st == VW_OK && has_metric) {
            vw_stats s;
            vw_index_stats(*ix, &s);
            if (s.metric != metric) {
                vw_index_free(*ix);
                *ix = NULL;
                return VW_ERR_INVALID_ARG;
            }
        }
        return st;
    }
    vw_import_options opt;
    vw_import_options_default(&opt);
    opt.has_metric = has_metric;
    opt.metric = metric;
    return vw_index_import(path, &opt, ix);
}

vw_index *pyvw_open_file(const char *path, const char *space_name, int mmap, int verify) {
    vw_metric metric = VW_METRIC_L2;
    if (space_name && vw_metric_parse(space_name, &metric) != VW_OK) {
        PyErr_SetString(pyvw_ArgError, "Space name must be one of l2, ip, or cosine.");
        return NULL;
    }
    vw_index *ix = NULL;
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    vw_status st = open_any(path, space_name != NULL, metric, mmap, verify, &ix);
    pyvw_capture(&r, st);
    if (st == VW_ERR_INVALID_ARG && !r.detail[0])
        snprintf(r.detail, sizeof r.detail, "the file's space is not '%s'", space_name);
    Py_END_ALLOW_THREADS;
    if (r.st != VW_OK) {
        pyvw_raise_result(&r, r.st == VW_ERR_INVALID_ARG ? NULL : path);
        return NULL;
    }
    return ix;
}

static PyObject *mod_open(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    static char *names[] = {"path", "space", "mmap", "verify", "max_elements", NULL};
    PyObject *path_obj = NULL;
    const char *space = NULL;
    int mmap = 0, verify = 1;
    unsigned long long max_elements = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|zppO&:open", names, PyUnicode_FSConverter,
                                     &path_obj, &space, &mmap, &verify, pyvw_u64, &max_elements))
        return NULL;
    vw_index *ix = pyvw_open_file(PyBytes_AS_STRING(path_obj), space, mmap, verify);
    Py_DECREF(path_obj);
    return ix ? pyvw_index_wrap(ix, max_elements) : NULL;
}

static const char doc_detect[] = "detect(path)\n--\n\n"
                                 "The kind of index file at path: 'vwhnsw', 'faiss', 'hnswlib',\n"
                                 "or None for any other file (only its first bytes are read).";

static PyObject *mod_detect(PyObject *mod, PyObject *arg) {
    (void)mod;
    PyObject *path_obj = NULL;
    if (!PyUnicode_FSConverter(arg, &path_obj))
        return NULL;
    vw_index_format format = VW_INDEX_FORMAT_UNKNOWN;
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS;
    pyvw_capture(&r, vw_index_detect(PyBytes_AS_STRING(path_obj), &format));
    Py_END_ALLOW_THREADS;
    PyObject *out = NULL;
    if (r.st != VW_OK)
        pyvw_raise_result(&r, PyBytes_AS_STRING(path_obj));
    else if (format == VW_INDEX_FORMAT_UNKNOWN)
        out = Py_NewRef(Py_None);
    else
        out = PyUnicode_FromString(vw_index_format_name(format));
    Py_DECREF(path_obj);
    return out;
}

static const char doc_simd[] = "simd()\n--\n\n"
                               "The distance kernels in use: 'scalar', 'avx2' or 'avx512'.";

static PyObject *mod_simd(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(vw_simd_name(vw_simd_active()));
}

static const char doc_shard_of[] =
    "shard_of(ids, n_shards)\n--\n\n"
    "The shard (0..n_shards-1) holding each id when an index is split over\n"
    "n_shards machines: the library's vw_shard_of, the one function vw-build\n"
    "--shard I/N and the nginx router use (jump consistent hashing of the\n"
    "id's splitmix64 finalizer; fixed forever). ids: an int (returns an int)\n"
    "or a sequence/array of them (returns a uint64 numpy array, or a list\n"
    "without numpy). Route a batch: mask = vwhnsw.shard_of(ids, 4) == 2.";

static PyObject *shards_of(const pyvw_labels *l, uint32_t n) {
    if (!pyvw_have_numpy()) {
        PyObject *list = PyList_New((Py_ssize_t)l->n);
        for (uint64_t i = 0; list && i < l->n; i++) {
            PyObject *x = PyLong_FromUnsignedLong(vw_shard_of(l->data[i], n));
            if (!x)
                Py_CLEAR(list);
            else
                PyList_SET_ITEM(list, (Py_ssize_t)i, x);
        }
        return list;
    }
    uint64_t *out = NULL;
    PyObject *m = pyvw_new_matrix(1, l->n, 'Q', (void **)&out);
    for (uint64_t i = 0; m && i < l->n; i++)
        out[i] = vw_shard_of(l->data[i], n);
    PyObject *row = m ? PySequence_GetItem(m, 0) : NULL;
    Py_XDECREF(m);
    return row;
}

static PyObject *mod_shard_of(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    static char *names[] = {"ids", "n_shards", NULL};
    PyObject *ids = NULL;
    unsigned int n = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&:shard_of", names, &ids, pyvw_u32, &n))
        return NULL;
    pyvw_labels l;
    if (pyvw_labels_get(ids, UINT64_MAX, &l) < 0)
        return NULL;
    PyObject *out =
        PyLong_Check(ids) ? PyLong_FromUnsignedLong(vw_shard_of(l.data[0], n)) : shards_of(&l, n);
    pyvw_labels_release(&l);
    return out;
}

static PyMethodDef module_methods[] = {
    {"shard_of", PYVW_KW(mod_shard_of), METH_VARARGS | METH_KEYWORDS, doc_shard_of},
    {"open", PYVW_KW(mod_open), METH_VARARGS | METH_KEYWORDS, doc_open},
    {"detect", mod_detect, METH_O, doc_detect},
    {"simd", mod_simd, METH_NOARGS, doc_simd},
    {NULL, NULL, 0, NULL}};

/* ------------------------------------------------------------------ init */

static const char module_doc[] =
    "vwhnsw: HNSW vector search on libvwhnsw, with hnswlib's Python API.\n\n"
    "    import vwhnsw as hnswlib   # programs written for hnswlib 0.8 run unchanged\n\n"
    "Index(space, dim) is hnswlib.Index; BFIndex(space, dim) is exact search;\n"
    "open(path) reads vwhnsw, Faiss and hnswlib index files; Store(dir) is the\n"
    "durable store (write log + snapshot). Spaces: 'l2' (squared Euclidean),\n"
    "'ip' (1 - <a,b>), 'cosine' (1 - cos), as hnswlib reports them. Every\n"
    "call that searches, builds, loads or saves releases the GIL.";

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "vwhnsw", module_doc, -1, module_methods, NULL, NULL, NULL, NULL};

static PyObject *new_class(PyObject *mod, const char *name, PyObject *bases, const char *doc) {
    char full[64];
    snprintf(full, sizeof full, "vwhnsw.%s", name);
    PyObject *cls = PyErr_NewExceptionWithDoc(full, doc, bases, NULL);
    Py_DECREF(bases);
    if (cls && PyModule_AddObjectRef(mod, name, cls) < 0)
        Py_CLEAR(cls);
    return cls;
}

static int add_exceptions(PyObject *m) {
    pyvw_Error = new_class(m, "Error", Py_BuildValue("(O)", PyExc_RuntimeError),
                           "Base of vwhnsw's errors; a RuntimeError, as hnswlib's are.");
    if (!pyvw_Error)
        return -1;
    pyvw_ArgError =
        new_class(m, "ArgumentError", Py_BuildValue("(OO)", pyvw_Error, PyExc_ValueError),
                  "A bad argument: shape, dtype, dimension, NaN, k, ef, label.");
    pyvw_FileError = new_class(m, "FileError", Py_BuildValue("(OO)", PyExc_OSError, pyvw_Error),
                               "A file could not be read or written (errno, filename).");
    if (!pyvw_ArgError || !pyvw_FileError)
        return -1;
    pyvw_FormatError = new_class(m, "FormatError", Py_BuildValue("(O)", pyvw_FileError),
                                 "A file is damaged, truncated, or of a format or version\n"
                                 "the library does not read.");
    pyvw_NotFound =
        new_class(m, "LabelNotFoundError", Py_BuildValue("(OO)", pyvw_Error, PyExc_KeyError),
                  "A label is not in the index.");
    pyvw_NoMemory =
        new_class(m, "NoMemoryError", Py_BuildValue("(OO)", PyExc_MemoryError, pyvw_Error),
                  "The library could not allocate memory.");
    pyvw_ReadOnly = new_class(m, "ReadOnlyError", Py_BuildValue("(O)", pyvw_Error),
                              "A write to a memory-mapped (read-only) index.");
    return pyvw_FormatError && pyvw_NotFound && pyvw_NoMemory && pyvw_ReadOnly ? 0 : -1;
}

static int add_types(PyObject *m) {
    PyTypeObject *types[] = {&pyvw_IndexType, &pyvw_BFIndexType, &pyvw_StoreType};
    const char *names[] = {"Index", "BFIndex", "Store"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (PyType_Ready(types[i]) < 0 ||
            PyModule_AddObjectRef(m, names[i], (PyObject *)types[i]) < 0)
            return -1;
    return 0;
}

PyMODINIT_FUNC PyInit_vwhnsw(void);
PyMODINIT_FUNC PyInit_vwhnsw(void) {
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (add_exceptions(m) < 0 || add_types(m) < 0 ||
        PyModule_AddStringConstant(m, "__version__", vw_version()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
