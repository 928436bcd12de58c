/*
 * test_json_dom.h - a small JSON tree for tests that must look inside
 * documents the server writes (the OpenAPI description, answers checked
 * against it). Independent of the server's own JSON code on purpose: a
 * test that read the server's output with the server's reader would not
 * notice a bug they share. Lenient about nothing it needs; strings keep
 * their escapes decoded only for \" and \\ (enough for keys and refs).
 */
#ifndef VW_TEST_JSON_DOM_H
#define VW_TEST_JSON_DOM_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum jd_kind { JD_NULL, JD_BOOL, JD_NUMBER, JD_STRING, JD_ARRAY, JD_OBJECT } jd_kind;

typedef struct jd_value jd_value;
struct jd_value {
    jd_kind kind;
    double number;
    char *string;     /* JD_STRING */
    char **keys;      /* JD_OBJECT */
    jd_value **items; /* JD_ARRAY elements or JD_OBJECT values */
    size_t count;
};

static void jd_free(jd_value *v) {
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->count; i++) {
        if (v->keys)
            free(v->keys[i]);
        jd_free(v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->string);
    free(v);
}

static const char *jd_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static jd_value *jd_parse_at(const char **pp, int depth);

static char *jd_string(const char **pp) {
    const char *p = *pp + 1;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            c = *p++;
            if (c == 'u') { /* kept as '?': tests never look inside */
                for (int i = 0; i < 4 && *p; i++)
                    p++;
                c = '?';
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            }
        }
        if (n + 2 > cap)
            s = realloc(s, cap *= 2);
        s[n++] = c;
    }
    s[n] = '\0';
    if (*p != '"') {
        free(s);
        return NULL;
    }
    *pp = p + 1;
    return s;
}

static void jd_push(jd_value *v, char *key, jd_value *item) {
    v->items = realloc(v->items, (v->count + 1) * sizeof *v->items);
    if (v->kind == JD_OBJECT)
        v->keys = realloc(v->keys, (v->count + 1) * sizeof *v->keys), v->keys[v->count] = key;
    v->items[v->count++] = item;
}

/* Elements of an array or members of an object, after the opening bracket. */
static int jd_container(jd_value *v, const char **pp, int depth) {
    char close = v->kind == JD_OBJECT ? '}' : ']';
    const char *p = jd_ws(*pp);
    if (*p == close) {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        p = jd_ws(p);
        if (v->kind == JD_OBJECT) {
            if (*p != '"' || (key = jd_string(&p)) == NULL)
                return -1;
            p = jd_ws(p);
            if (*p++ != ':') {
                free(key);
                return -1;
            }
        }
        jd_value *item = jd_parse_at(&p, depth + 1);
        if (item == NULL) {
            free(key);
            return -1;
        }
        jd_push(v, key, item);
        p = jd_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != close)
            return -1;
        *pp = p + 1;
        return 0;
    }
}

static jd_value *jd_parse_at(const char **pp, int depth) {
    const char *p = jd_ws(*pp);
    if (depth > 64)
        return NULL;
    jd_value *v = calloc(1, sizeof *v);
    if (*p == '{' || *p == '[') {
        v->kind = *p == '{' ? JD_OBJECT : JD_ARRAY;
        p++;
        if (jd_container(v, &p, depth) != 0) {
            jd_free(v);
            return NULL;
        }
    } else if (*p == '"') {
        v->kind = JD_STRING;
        if ((v->string = jd_string(&p)) == NULL) {
            jd_free(v);
            return NULL;
        }
    } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->kind = JD_BOOL;
        v->number = *p == 't';
        p += *p == 't' ? 4 : 5;
    } else if (strncmp(p, "null", 4) == 0) {
        p += 4;
    } else {
        char *end;
        v->kind = JD_NUMBER;
        v->number = strtod(p, &end);
        if (end == p) {
            jd_free(v);
            return NULL;
        }
        p = end;
    }
    *pp = p;
    return v;
}

/* The document in text, or NULL if it is not one JSON value. */
static jd_value *jd_parse(const char *text) {
    const char *p = text;
    jd_value *v = jd_parse_at(&p, 0);
    if (v != NULL && *jd_ws(p) != '\0') {
        jd_free(v);
        return NULL;
    }
    return v;
}

/* Member `key` of an object, or NULL. */
static const jd_value *jd_get(const jd_value *v, const char *key) {
    if (v == NULL || v->kind != JD_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    return NULL;
}

/* Follows a local "$ref" ("#/components/x/y") from the root, or returns v. */
static const jd_value *jd_deref(const jd_value *root, const jd_value *v) {
    const jd_value *ref = jd_get(v, "$ref");
    if (ref == NULL || ref->kind != JD_STRING || strncmp(ref->string, "#/", 2) != 0)
        return v;
    char path[256];
    snprintf(path, sizeof path, "%s", ref->string + 2);
    const jd_value *at = root;
    for (char *part = strtok(path, "/"); part && at; part = strtok(NULL, "/"))
        at = jd_get(at, part);
    return at;
}

#endif /* VW_TEST_JSON_DOM_H */
