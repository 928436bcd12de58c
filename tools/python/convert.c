/*
 * convert.c - Python objects in, arrays out.
 *
 * Inputs go through the buffer protocol rather than numpy's C API: the
 * module then builds against any Python's headers (numpy's are not needed,
 * and there is no numpy ABI to match, 1.x or 2.x), and still reads a
 * C-contiguous float32 array in place, with no copy. Anything else with a
 * buffer (float64, float16, integers, any strides: a slice, a transposed
 * view) is converted once into a float32 copy; nested lists go through
 * numpy.asarray when numpy is there, else are read element by element.
 * Outputs are numpy arrays made by numpy.empty, which the library fills in
 * place; without numpy they are memoryviews of the same shape.
 */
#include "pyvw.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ numpy */

static PyObject *np_empty, *np_asarray, *np_uint64, *np_float32;
static int np_state; /* 0 unknown, 1 present, -1 absent */

int pyvw_have_numpy(void) {
    if (np_state != 0)
        return np_state > 0;
    PyObject *np = PyImport_ImportModule("numpy");
    if (np) {
        np_empty = PyObject_GetAttrString(np, "empty");
        np_asarray = PyObject_GetAttrString(np, "asarray");
        np_uint64 = PyObject_GetAttrString(np, "uint64");
        np_float32 = PyObject_GetAttrString(np, "float32");
        Py_DECREF(np);
    }
    np_state = np && np_empty && np_asarray && np_uint64 && np_float32 ? 1 : -1;
    PyErr_Clear();
    return np_state > 0;
}

static PyObject *matrix_without_numpy(uint64_t n, uint64_t k, char format) {
    size_t item = format == 'Q' ? sizeof(uint64_t) : sizeof(float);
    PyObject *bytes = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(n * k * item));
    PyObject *view = bytes ? PyMemoryView_FromObject(bytes) : NULL;
    Py_XDECREF(bytes);
    if (!view)
        return NULL;
    PyObject *cast = PyObject_CallMethod(view, "cast", "s(KK)", format == 'Q' ? "Q" : "f",
                                         (unsigned long long)n, (unsigned long long)k);
    Py_DECREF(view);
    return cast;
}

PyObject *pyvw_new_matrix(uint64_t n, uint64_t k, char format, void **data) {
    PyObject *out;
    if (pyvw_have_numpy())
        out = PyObject_CallFunction(np_empty, "(KK)O", (unsigned long long)n, (unsigned long long)k,
                                    format == 'Q' ? np_uint64 : np_float32);
    else
        out = matrix_without_numpy(n, k, format);
    if (!out)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    /* The array owns the memory; the view only pinned it while we looked. */
    *data = view.buf;
    PyBuffer_Release(&view);
    return out;
}

/* ------------------------------------------------------------------ scalars */

/* The one-letter struct code of a native-order numeric format, or 0. */
static char format_code(const char *format, Py_ssize_t itemsize) {
    if (!format)
        return 'B';
    if (*format == '@' || *format == '=' || *format == '<')
        format++;
    else if ((*format == '>' || *format == '!') && itemsize > 1)
        return 0;
    if (!format[0] || format[1])
        return 0;
    return strchr("fdebBhHiIlLqQ?", format[0]) ? format[0] : 0;
}

static float half_to_float(uint16_t h) {
    int exp = (h >> 10) & 0x1f;
    float mant = (float)(h & 0x3ff);
    float v = exp == 0    ? ldexpf(mant, -24)
              : exp == 31 ? (mant != 0.0f ? NAN : INFINITY)
                          : ldexpf(mant + 1024.0f, exp - 25);
    return (h & 0x8000) ? -v : v;
}

/* The value at p as a double (integers exactly up to 2^53). */
static double read_scalar(const char *p, char code) {
    switch (code) {
#define PYVW_READ(c, type)                                                                         \
    case c: {                                                                                      \
        type v;                                                                                    \
        memcpy(&v, p, sizeof v);                                                                   \
        return (double)v;                                                                          \
    }
        PYVW_READ('f', float)
        PYVW_READ('d', double)
        PYVW_READ('b', signed char)
        PYVW_READ('B', unsigned char)
        PYVW_READ('h', short)
        PYVW_READ('H', unsigned short)
        PYVW_READ('i', int)
        PYVW_READ('I', unsigned int)
        PYVW_READ('l', long)
        PYVW_READ('L', unsigned long)
        PYVW_READ('q', long long)
        PYVW_READ('Q', unsigned long long)
        PYVW_READ('?', unsigned char)
#undef PYVW_READ
    case 'e': {
        uint16_t h;
        memcpy(&h, p, sizeof h);
        return half_to_float(h);
    }
    default:
        return NAN;
    }
}

/* ------------------------------------------------------------------ rows */

static int shape_error(int ndim) {
    PyErr_Format(pyvw_ArgError,
                 "Input vector data wrong shape. Number of dimensions %d. Data must be a 1D or "
                 "2D array.",
                 ndim);
    return -1;
}

static int rows_shape(const Py_buffer *v, pyvw_rows *rows) {
    if (v->ndim != 1 && v->ndim != 2)
        return shape_error(v->ndim);
    Py_ssize_t n = v->ndim == 2 ? v->shape[0] : 1, d = v->shape[v->ndim - 1];
    if (d > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(pyvw_ArgError, "Wrong dimensionality of the vectors");
        return -1;
    }
    rows->n = (uint64_t)n;
    rows->dim = (uint32_t)d;
    return 0;
}

/* Copies any strided numeric buffer into float32 rows. */
static int rows_convert(pyvw_rows *rows, char code) {
    const Py_buffer *v = &rows->view;
    uint64_t total = rows->n * rows->dim;
    rows->owned = PyMem_RawMalloc(total ? total * sizeof(float) : 1);
    if (!rows->owned) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t s1 = v->strides ? v->strides[v->ndim - 1] : v->itemsize;
    Py_ssize_t s0 = v->ndim == 2 ? (v->strides ? v->strides[0] : s1 * (Py_ssize_t)rows->dim) : 0;
    const char *base = v->buf;
    for (uint64_t i = 0; i < rows->n; i++)
        for (uint32_t j = 0; j < rows->dim; j++)
            rows->owned[i * rows->dim + j] =
                (float)read_scalar(base + (Py_ssize_t)i * s0 + (Py_ssize_t)j * s1, code);
    rows->data = rows->owned;
    return 0;
}

static int rows_from_buffer(PyObject *obj, pyvw_rows *rows) {
    if (PyObject_GetBuffer(obj, &rows->view, PyBUF_RECORDS_RO) < 0)
        return -1;
    if (rows_shape(&rows->view, rows) < 0)
        return -1;
    char code = format_code(rows->view.format, rows->view.itemsize);
    if (!code) {
        PyErr_Format(pyvw_ArgError, "unsupported element type '%s': numbers expected",
                     rows->view.format ? rows->view.format : "?");
        return -1;
    }
    if (code == 'f' && rows->view.itemsize == 4 && PyBuffer_IsContiguous(&rows->view, 'C')) {
        rows->data = rows->view.buf; /* read in place */
        return 0;
    }
    return rows_convert(rows, code);
}

/* Nested sequences without numpy: a row of numbers or a list of rows. */
static int rows_from_sequence(PyObject *obj, pyvw_rows *rows) {
    PyObject *outer = PySequence_Fast(obj, "data must be an array or a sequence of numbers");
    if (!outer)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(outer);
    int two_d = n > 0 && !PyNumber_Check(PySequence_Fast_GET_ITEM(outer, 0));
    PyObject *first = two_d ? PySequence_Fast(PySequence_Fast_GET_ITEM(outer, 0), "rows") : NULL;
    Py_ssize_t dim = two_d ? (first ? PySequence_Fast_GET_SIZE(first) : -1) : n;
    Py_XDECREF(first);
    if (dim < 0 || (two_d ? PyErr_Occurred() != NULL : 0)) {
        Py_DECREF(outer);
        return -1;
    }
    rows->n = two_d ? (uint64_t)n : 1;
    rows->dim = (uint32_t)dim;
    rows->owned = PyMem_RawMalloc(rows->n * rows->dim * sizeof(float) + 1);
    if (!rows->owned) {
        Py_DECREF(outer);
        PyErr_NoMemory();
        return -1;
    }
    int rc = 0;
    for (uint64_t i = 0; i < rows->n && rc == 0; i++) {
        PyObject *row = two_d ? PySequence_Fast(PySequence_Fast_GET_ITEM(outer, (Py_ssize_t)i),
                                                "each row must be a sequence of numbers")
                              : Py_NewRef(outer);
        if (!row || PySequence_Fast_GET_SIZE(row) != dim) {
            if (row)
                PyErr_SetString(pyvw_ArgError, "rows of different lengths");
            rc = -1;
        }
        for (Py_ssize_t j = 0; rc == 0 && j < dim; j++) {
            double x = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(row, j));
            if (x == -1.0 && PyErr_Occurred())
                rc = -1;
            rows->owned[i * rows->dim + (uint64_t)j] = (float)x;
        }
        Py_XDECREF(row);
    }
    Py_DECREF(outer);
    rows->data = rows->owned;
    return rc;
}

int pyvw_rows_get(PyObject *obj, pyvw_rows *rows) {
    memset(rows, 0, sizeof *rows);
    int rc;
    if (PyObject_CheckBuffer(obj)) {
        rc = rows_from_buffer(obj, rows);
    } else if (pyvw_have_numpy()) {
        rows->held = PyObject_CallFunctionObjArgs(np_asarray, obj, np_float32, NULL);
        rc = rows->held ? rows_from_buffer(rows->held, rows) : -1;
    } else {
        rc = rows_from_sequence(obj, rows);
    }
    if (rc < 0)
        pyvw_rows_release(rows);
    return rc;
}

void pyvw_rows_release(pyvw_rows *rows) {
    if (rows->view.obj)
        PyBuffer_Release(&rows->view);
    PyMem_RawFree(rows->owned);
    Py_CLEAR(rows->held);
    rows->owned = NULL;
    rows->data = NULL;
}

/* ------------------------------------------------------------------ labels */

static int label_error(uint64_t got, uint64_t expected) {
    PyErr_Format(pyvw_ArgError,
                 "The input label shape %llu does not match the input data vector shape %llu",
                 (unsigned long long)got, (unsigned long long)expected);
    return -1;
}

/* One label from a Python number: a non-negative integer, or a float that
 * is one (hnswlib casts whatever it is given). */
static int label_from_object(PyObject *o, uint64_t *out) {
    if (PyFloat_Check(o)) {
        double x = PyFloat_AS_DOUBLE(o);
        if (!(x >= 0.0 && x < 18446744073709551616.0 && x == floor(x))) {
            PyErr_Format(pyvw_ArgError, "label %R is not a non-negative integer", o);
            return -1;
        }
        *out = (uint64_t)x;
        return 0;
    }
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return -1;
    unsigned long long v = PyLong_AsUnsignedLongLong(i);
    Py_DECREF(i);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(pyvw_ArgError, "label %R is not an integer in 0..2**64-1", o);
        return -1;
    }
    *out = v;
    return 0;
}

static int labels_convert(pyvw_labels *l, char code) {
    const Py_buffer *v = &l->view;
    Py_ssize_t step = v->strides ? v->strides[0] : v->itemsize;
    l->owned = PyMem_RawMalloc(l->n ? l->n * sizeof(uint64_t) : 1);
    if (!l->owned) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint64_t i = 0; i < l->n; i++) {
        const char *p = (const char *)v->buf + (Py_ssize_t)i * step;
        if (code == 'Q' || code == 'L') {
            memcpy(&l->owned[i], p, sizeof(uint64_t));
            continue;
        }
        double x = read_scalar(p, code);
        if (!(x >= 0.0 && x < 18446744073709551616.0 && x == floor(x))) {
            PyErr_Format(pyvw_ArgError, "label %g (row %llu) is not a non-negative integer", x,
                         (unsigned long long)i);
            return -1;
        }
        l->owned[i] = (uint64_t)x;
    }
    l->data = l->owned;
    return 0;
}

static int labels_from_buffer(PyObject *obj, uint64_t n_expected, pyvw_labels *l) {
    if (PyObject_GetBuffer(obj, &l->view, PyBUF_RECORDS_RO) < 0)
        return -1;
    const Py_buffer *v = &l->view;
    char code = format_code(v->format, v->itemsize);
    if (!code || code == '?') {
        PyErr_SetString(pyvw_ArgError, "labels must be integers");
        return -1;
    }
    if (v->ndim == 0) {
        if (n_expected != 1 && n_expected != UINT64_MAX)
            return label_error(0, n_expected);
        l->n = 1;
    } else if (v->ndim == 1) {
        l->n = (uint64_t)v->shape[0];
        if (n_expected != UINT64_MAX && l->n != n_expected)
            return label_error(l->n, n_expected);
    } else {
        return label_error((uint64_t)v->ndim, n_expected);
    }
    if ((code == 'Q' || code == 'L') && v->itemsize == 8 && PyBuffer_IsContiguous(v, 'C')) {
        l->data = v->buf;
        return 0;
    }
    return labels_convert(l, code);
}

static int labels_from_sequence(PyObject *obj, uint64_t n_expected, pyvw_labels *l) {
    PyObject *seq = PySequence_Fast(obj, "ids must be an integer, a sequence or an array");
    if (!seq)
        return -1;
    l->n = (uint64_t)PySequence_Fast_GET_SIZE(seq);
    int rc = n_expected != UINT64_MAX && l->n != n_expected ? label_error(l->n, n_expected) : 0;
    if (rc == 0 && !(l->owned = PyMem_RawMalloc(l->n * sizeof(uint64_t) + 1))) {
        PyErr_NoMemory();
        rc = -1;
    }
    for (uint64_t i = 0; rc == 0 && i < l->n; i++)
        rc = label_from_object(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i), &l->owned[i]);
    Py_DECREF(seq);
    l->data = l->owned;
    return rc;
}

int pyvw_labels_get(PyObject *obj, uint64_t n_expected, pyvw_labels *l) {
    memset(l, 0, sizeof *l);
    int rc = 0;
    if (obj == NULL || obj == Py_None) {
        return 0;
    } else if (PyLong_Check(obj) || PyFloat_Check(obj)) {
        if (n_expected != 1 && n_expected != UINT64_MAX)
            return label_error(0, n_expected);
        l->n = 1;
        l->data = &l->one;
        rc = label_from_object(obj, &l->one);
    } else if (PyObject_CheckBuffer(obj)) {
        rc = labels_from_buffer(obj, n_expected, l);
    } else {
        rc = labels_from_sequence(obj, n_expected, l);
    }
    if (rc < 0)
        pyvw_labels_release(l);
    return rc;
}

void pyvw_labels_release(pyvw_labels *l) {
    if (l->view.obj)
        PyBuffer_Release(&l->view);
    PyMem_RawFree(l->owned);
    l->owned = NULL;
    l->data = NULL;
}
