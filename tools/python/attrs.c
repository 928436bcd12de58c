/*
 * attrs.c - attributes and attribute filters from Python: a list of dicts
 * (or JSON texts, or None) parallel to the rows, turned into the JSON texts
 * the library takes and checked before anything is written; a filter given
 * as a dict or a JSON text, parsed by the library (vw_filter_parse: the
 * language of vw-serve's "filter"); attributes read back as dicts.
 */
#include "pyvw.h"

#include <string.h>

/* The json module's function `name` (dumps or loads), new reference. */
static PyObject *json_fn(const char *name) {
    PyObject *json = PyImport_ImportModule("json");
    if (!json)
        return NULL;
    PyObject *fn = PyObject_GetAttrString(json, name);
    Py_DECREF(json);
    return fn;
}

/* A dict as compact JSON text (a new bytes object); str and bytes as they
 * are. NULL with an exception for anything else. */
static PyObject *json_bytes(PyObject *o, PyObject *dumps, const char *what, uint64_t i) {
    if (PyBytes_Check(o))
        return Py_NewRef(o);
    if (PyUnicode_Check(o))
        return PyUnicode_AsUTF8String(o);
    if (!PyDict_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s[%llu] must be a dict, a JSON str or None, not %s", what,
                     (unsigned long long)i, Py_TYPE(o)->tp_name);
        return NULL;
    }
    PyObject *text = PyObject_CallFunction(dumps, "O", o);
    if (!text)
        return NULL;
    PyObject *b = PyUnicode_AsUTF8String(text);
    Py_DECREF(text);
    return b;
}

void pyvw_attrs_release(pyvw_attrs *a) {
    for (uint64_t i = 0; a->held && i < a->n; i++)
        Py_XDECREF(a->held[i]);
    PyMem_Free(a->held);
    PyMem_Free(a->texts);
    PyMem_Free(a->lens);
    memset(a, 0, sizeof *a);
}

/* Entry i: its text, checked by the library. */
static int one_attrs(pyvw_attrs *a, PyObject *item, PyObject *dumps, uint64_t i) {
    if (item == Py_None)
        return 0;
    PyObject *b = json_bytes(item, dumps, "attributes", i);
    if (!b)
        return -1;
    a->held[i] = b;
    a->texts[i] = PyBytes_AS_STRING(b);
    a->lens[i] = (size_t)PyBytes_GET_SIZE(b);
    if (vw_attributes_check(a->texts[i], a->lens[i]) != VW_OK) {
        PyErr_Format(pyvw_ArgError, "attributes[%llu]: %s", (unsigned long long)i,
                     vw_last_error_detail());
        return -1;
    }
    return 0;
}

int pyvw_attrs_get(PyObject *obj, uint64_t n, pyvw_attrs *a) {
    memset(a, 0, sizeof *a);
    if (obj == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(obj, "attributes must be a list of dicts (or None)");
    if (!seq)
        return -1;
    if ((uint64_t)PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(pyvw_ArgError, "attributes has %zd entries for %llu rows",
                     PySequence_Fast_GET_SIZE(seq), (unsigned long long)n);
        Py_DECREF(seq);
        return -1;
    }
    a->n = n;
    a->held = PyMem_Calloc(n + 1, sizeof *a->held);
    a->texts = PyMem_Calloc(n + 1, sizeof *a->texts);
    a->lens = PyMem_Calloc(n + 1, sizeof *a->lens);
    PyObject *dumps = json_fn("dumps");
    int rc = a->held && a->texts && a->lens && dumps ? 0 : -1;
    if (rc < 0 && !PyErr_Occurred())
        PyErr_NoMemory();
    for (uint64_t i = 0; rc == 0 && i < n; i++)
        rc = one_attrs(a, PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i), dumps, i);
    Py_XDECREF(dumps);
    Py_DECREF(seq);
    if (rc < 0)
        pyvw_attrs_release(a);
    return rc;
}

int pyvw_filter_get(PyObject *filter, PyObject **callable, vw_filter **where) {
    *callable = NULL;
    *where = NULL;
    if (filter == Py_None)
        return 0;
    if (PyCallable_Check(filter)) {
        *callable = filter; /* hnswlib's: a function of the label */
        return 0;
    }
    if (!PyDict_Check(filter) && !PyUnicode_Check(filter) && !PyBytes_Check(filter)) {
        PyErr_SetString(PyExc_TypeError, "filter must be None, a callable(label) -> bool, or a "
                                         "filter as a dict or JSON text");
        return -1;
    }
    PyObject *dumps = json_fn("dumps");
    PyObject *b = dumps ? json_bytes(filter, dumps, "filter", 0) : NULL;
    Py_XDECREF(dumps);
    if (!b)
        return -1;
    vw_status st = vw_filter_parse(PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b), where);
    Py_DECREF(b);
    if (st == VW_OK)
        return 0;
    if (st == VW_ERR_NOMEM)
        PyErr_NoMemory();
    else
        PyErr_Format(pyvw_ArgError, "%s", vw_last_error_detail());
    return -1;
}

PyObject *pyvw_get_attributes(const vw_index *ix, uint64_t label) {
    size_t cap = VW_MAX_ATTR_BYTES * 6 + 16, len = 0;
    char *buf = PyMem_RawMalloc(cap);
    if (!buf)
        return PyErr_NoMemory();
    pyvw_result r;
    Py_BEGIN_ALLOW_THREADS; /* it waits for the index's writers */
    pyvw_capture(&r, vw_index_get_attributes(ix, label, buf, cap, &len));
    Py_END_ALLOW_THREADS;
    PyObject *out = NULL;
    if (r.st == VW_ERR_NOT_FOUND) {
        PyErr_Format(pyvw_NotFound, "Label not found: %llu", (unsigned long long)label);
    } else if (r.st != VW_OK) {
        pyvw_raise_result(&r, NULL);
    } else if (len == 0) {
        out = Py_NewRef(Py_None);
    } else {
        PyObject *loads = json_fn("loads");
        out = loads ? PyObject_CallFunction(loads, "s#", buf, (Py_ssize_t)len) : NULL;
        Py_XDECREF(loads);
    }
    PyMem_RawFree(buf);
    return out;
}
