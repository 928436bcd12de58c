/* json.c - the library's small JSON reader (see json.h).
 *
 * A recursive descent over RFC 8259 with a depth limit. Nodes go into one
 * growing array and are linked by index (the array moves while it grows);
 * decoded strings go into one buffer as long as the text, which is always
 * enough: a string's decoded bytes plus its NUL never exceed its quoted
 * form. */
#include "json.h"

#include "vw_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t len, pos;
    const char *what;
    vw_json *j;
    uint32_t cap;
    size_t sused;
} parser;

static vw_status perr(const parser *p, const char *msg) {
    return vw_fail(VW_ERR_INVALID_ARG, "%s: %s at byte %zu", p->what, msg, p->pos);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static vw_status new_node(parser *p, vw_jtype t, uint32_t *out) {
    if (p->j->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 16;
        vw_jnode *nodes = realloc(p->j->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return vw_fail(VW_ERR_NOMEM, "%s: %u JSON nodes", p->what, cap);
        p->j->nodes = nodes;
        p->cap = cap;
    }
    *out = p->j->n++;
    p->j->nodes[*out] = (vw_jnode){.type = t};
    return VW_OK;
}

static int hex4(const char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A \u escape at p->pos (after the backslash and 'u'), with its low
 * surrogate if it is a high one; returns the code point or -1. */
static long read_u_escape(parser *p) {
    if (p->pos + 4 > p->len)
        return -1;
    long cp = hex4(p->s + p->pos);
    if (cp < 0)
        return -1;
    p->pos += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return -1;
    if (cp < 0xD800 || cp > 0xDBFF)
        return cp;
    if (p->pos + 6 > p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return -1;
    long lo = hex4(p->s + p->pos + 2);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return -1;
    p->pos += 6;
    return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
}

static char unescape(char c) {
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0;
    }
}

/* A string at p->pos (on the opening quote), decoded into the buffer. */
static vw_status read_string(parser *p, const char **out, size_t *outlen) {
    char *o = p->j->strings + p->sused;
    size_t n = 0;
    p->pos++;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            o[n] = 0;
            p->sused += n + 1;
            *out = o;
            *outlen = n;
            return VW_OK;
        }
        if (c < 0x20)
            return perr(p, "control character in a string");
        p->pos++;
        if (c != '\\') {
            o[n++] = (char)c;
            continue;
        }
        if (p->pos >= p->len)
            break;
        char e = p->s[p->pos++];
        if (e == 'u') {
            long cp = read_u_escape(p);
            if (cp < 0)
                return perr(p, "bad \\u escape");
            n += put_utf8(o + n, (unsigned)cp);
        } else if ((o[n] = unescape(e)) != 0) {
            n++;
        } else {
            return perr(p, "bad escape");
        }
    }
    return perr(p, "unterminated string");
}

static vw_status read_number(parser *p, double *out) {
    size_t start = p->pos, i = p->pos;
    if (i < p->len && p->s[i] == '-')
        i++;
    if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
        return perr(p, "bad number");
    if (p->s[i] == '0')
        i++;
    else
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    if (i < p->len && p->s[i] == '.') {
        i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
            return perr(p, "bad number");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
            return perr(p, "bad number");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    char buf[64];
    if (i - start >= sizeof buf)
        return perr(p, "number too long");
    memcpy(buf, p->s + start, i - start);
    buf[i - start] = 0;
    *out = strtod(buf, NULL);
    if (!isfinite(*out))
        return perr(p, "number out of range");
    p->pos = i;
    return VW_OK;
}

static vw_status read_value(parser *p, unsigned depth, uint32_t *out);

/* Items of an array or members of an object, after the opening bracket. */
static vw_status read_items(parser *p, unsigned depth, uint32_t self, bool object) {
    char close = object ? '}' : ']';
    uint32_t last = 0;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return VW_OK;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen;
        skip_ws(p);
        if (object) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return perr(p, "expected a member name");
            vw_status st = read_string(p, &key, &klen);
            if (st != VW_OK)
                return st;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return perr(p, "expected ':'");
            p->pos++;
        }
        uint32_t item;
        vw_status st = read_value(p, depth + 1, &item);
        if (st != VW_OK)
            return st;
        p->j->nodes[item].key = key;
        if (last)
            p->j->nodes[last].next = item;
        else
            p->j->nodes[self].child = item;
        last = item;
        p->j->nodes[self].count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return VW_OK;
        }
        return perr(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static vw_status read_value(parser *p, unsigned depth, uint32_t *out) {
    if (depth > VW_JSON_MAX_DEPTH)
        return perr(p, "nested too deeply");
    skip_ws(p);
    if (p->pos >= p->len)
        return perr(p, "unexpected end");
    char c = p->s[p->pos];
    vw_jtype t = c == '{'   ? VW_JOBJ
                 : c == '[' ? VW_JARR
                 : c == '"' ? VW_JSTR
                 : c == 't' ? VW_JTRUE
                 : c == 'f' ? VW_JFALSE
                 : c == 'n' ? VW_JNULL
                            : VW_JNUM;
    vw_status st = new_node(p, t, out);
    if (st != VW_OK)
        return st;
    vw_jnode *nd = &p->j->nodes[*out];
    switch (t) {
    case VW_JOBJ:
    case VW_JARR:
        p->pos++;
        return read_items(p, depth, *out, t == VW_JOBJ);
    case VW_JSTR:
        return read_string(p, &nd->str, &nd->len);
    case VW_JNUM:
        return read_number(p, &nd->num);
    default:
        return literal(p, t == VW_JTRUE    ? "true"
                          : t == VW_JFALSE ? "false"
                                           : "null")
                   ? VW_OK
                   : perr(p, "unexpected character");
    }
}

vw_status vw_json_parse(const char *text, size_t len, const char *what, vw_json *out) {
    *out = (vw_json){0};
    parser p = {.s = text, .len = len, .what = what, .j = out};
    out->strings = malloc(len + 1);
    if (!out->strings)
        return vw_fail(VW_ERR_NOMEM, "%s: %zu bytes of strings", what, len);
    uint32_t root;
    vw_status st = read_value(&p, 0, &root);
    if (st == VW_OK) {
        skip_ws(&p);
        if (p.pos != len)
            st = perr(&p, "text after the value");
    }
    if (st != VW_OK)
        vw_json_free(out);
    return st;
}

void vw_json_free(vw_json *j) {
    free(j->nodes);
    free(j->strings);
    *j = (vw_json){0};
}

const vw_jnode *vw_json_member(const vw_json *j, const vw_jnode *obj, const char *key) {
    for (const vw_jnode *m = vw_json_at(j, obj->child); m; m = vw_json_at(j, m->next))
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}

const char *vw_json_type_name(vw_jtype t) {
    static const char *const names[] = {"null",     "a boolean", "a boolean", "a number",
                                        "a string", "an array",  "an object"};
    return names[t];
}

size_t vw_json_put_string(char *buf, size_t at, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    buf[at++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)c;
        } else if (c < 0x20) {
            memcpy(buf + at, "\\u00", 4);
            buf[at + 4] = hex[c >> 4];
            buf[at + 5] = hex[c & 15];
            at += 6;
        } else {
            buf[at++] = (char)c;
        }
    }
    buf[at++] = '"';
    return at;
}

size_t vw_json_put_number(char *buf, size_t at, double v) {
    char tmp[40];
    int n = 0;
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        n = snprintf(tmp, sizeof tmp, "%.0f", v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
    }
    memcpy(buf + at, tmp, (size_t)n);
    return at + (size_t)n;
}
