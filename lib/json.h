/* json.h - the library's small JSON reader, for attributes and filters.
 *
 * Parses a whole text into a tree of nodes in one block (vw_json_free
 * releases it). Strings are decoded (escapes, \u surrogate pairs) into the
 * block and NUL-terminated; numbers are doubles. Depth is limited, so a
 * hostile text cannot exhaust the stack, and every error names the byte
 * offset where the text went wrong. Tools have their own reader
 * (tools/common/json_*.c); this one serves lib/ only.
 */
#ifndef VW_JSON_H
#define VW_JSON_H

#include "vwhnsw.h"

#include <stddef.h>
#include <stdint.h>

#define VW_JSON_MAX_DEPTH 32u

typedef enum vw_jtype {
    VW_JNULL,
    VW_JFALSE,
    VW_JTRUE,
    VW_JNUM,
    VW_JSTR,
    VW_JARR,
    VW_JOBJ
} vw_jtype;

typedef struct vw_jnode {
    vw_jtype type;
    uint32_t next;   /* next sibling (array item or object member), 0 = none */
    uint32_t child;  /* first item or member of an array or object, 0 = none */
    uint32_t count;  /* items or members */
    const char *key; /* an object member's name (NUL-terminated), else NULL */
    const char *str; /* a string's value (NUL-terminated) */
    size_t len;      /* its length in bytes (may hold NULs from \u0000) */
    double num;
} vw_jnode;

typedef struct vw_json {
    vw_jnode *nodes; /* nodes[0] is the root; 0 also means "none" in links */
    uint32_t n;
    char *strings;
} vw_json;

/* Parses len bytes. VW_ERR_INVALID_ARG with a detail "<what> at byte N"
 * for malformed text (what is prefixed to the detail). */
vw_status vw_json_parse(const char *text, size_t len, const char *what, vw_json *out);
void vw_json_free(vw_json *j);

/* The member `key` of object node `obj`, or NULL. */
const vw_jnode *vw_json_member(const vw_json *j, const vw_jnode *obj, const char *key);

static inline const vw_jnode *vw_json_at(const vw_json *j, uint32_t i) {
    return i ? &j->nodes[i] : NULL;
}

/* A JSON type's name for error messages ("a string", "an object", ...). */
const char *vw_json_type_name(vw_jtype t);

/* Appends s (len bytes) as a JSON string literal to buf; returns the new
 * length (the caller makes room: at most 6 * len + 2 bytes). */
size_t vw_json_put_string(char *buf, size_t at, const char *s, size_t len);
/* Appends a number in the shortest form that reads back to the same
 * double (at most 32 bytes). */
size_t vw_json_put_number(char *buf, size_t at, double v);

#endif /* VW_JSON_H */
