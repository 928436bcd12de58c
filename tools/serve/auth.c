/*
 * auth.c - the API key file and the constant-time key lookup (see auth.h).
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MIN      16u
#define KEY_MAX      256u
#define KEY_NAME_MAX 48u
#define KEYFILE_LINE 1024u

typedef struct auth_key {
    auth_scope scope;
    size_t len;
    char key[KEY_MAX];
    char name[KEY_NAME_MAX];
} auth_key;

struct auth_keys {
    auth_key *keys;
    size_t count, cap;
};

const char *auth_scope_name(auth_scope s) {
    return s == AUTH_ADMIN ? "admin" : s == AUTH_WRITE ? "write" : s == AUTH_READ ? "read" : "none";
}

static auth_scope scope_of(const char *word) {
    if (strcmp(word, "read") == 0)
        return AUTH_READ;
    if (strcmp(word, "write") == 0)
        return AUTH_WRITE;
    if (strcmp(word, "admin") == 0)
        return AUTH_ADMIN;
    return AUTH_NONE;
}

/* Splits a line into at most four words at spaces and tabs; the count. */
static int split(char *line, char *words[4]) {
    int n = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w && n < 4;
         w = strtok_r(NULL, " \t\r\n", &save))
        words[n++] = w;
    return n;
}

static int printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* Checks one "SCOPE KEY [NAME]" line and adds it; NULL or what is wrong. */
static const char *add_line(auth_keys *k, char *line, unsigned lineno) {
    char *w[4];
    int n = split(line, w);
    if (n == 0 || w[0][0] == '#')
        return NULL;
    if (n < 2 || n > 3)
        return "expected SCOPE KEY [NAME]";
    auth_scope scope = scope_of(w[0]);
    if (scope == AUTH_NONE)
        return "the scope must be read, write or admin";
    size_t len = strlen(w[1]);
    if (len < KEY_MIN || len > KEY_MAX - 1 || !printable(w[1]))
        return "a key is 16 to 255 printable characters";
    if (n == 3 && strlen(w[2]) >= KEY_NAME_MAX)
        return "a name is at most 47 characters";
    const char *dup = NULL;
    if (auth_lookup(k, w[1], len, &dup) != AUTH_NONE)
        return "the same key is on an earlier line";
    if (k->count == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        auth_key *p = realloc(k->keys, cap * sizeof *p);
        if (p == NULL)
            return "out of memory";
        k->keys = p;
        k->cap = cap;
    }
    auth_key *e = &k->keys[k->count++];
    memset(e, 0, sizeof *e);
    e->scope = scope;
    e->len = len;
    memcpy(e->key, w[1], len);
    if (n == 3)
        snprintf(e->name, sizeof e->name, "%s", w[2]);
    else
        snprintf(e->name, sizeof e->name, "line%u", lineno);
    return NULL;
}

/* Opens the file and refuses it when group or others may use it. */
static FILE *open_private(const char *path, char *err, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, cap, "cannot read the API key file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        snprintf(err, cap,
                 "the API key file %s is %s; it must be a regular file that only its "
                 "owner can read (chmod 600 %s)",
                 path, S_ISREG(st.st_mode) ? "accessible to others" : "not a regular file", path);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        snprintf(err, cap, "cannot read the API key file %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

auth_keys *auth_load(const char *path, char *err, size_t err_cap) {
    FILE *f = open_private(path, err, err_cap);
    if (f == NULL)
        return NULL;
    auth_keys *k = calloc(1, sizeof *k);
    char line[KEYFILE_LINE];
    unsigned lineno = 0;
    const char *why = k ? NULL : "out of memory";
    while (why == NULL && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f))
            why = "line longer than 1023 bytes";
        else
            why = add_line(k, line, lineno);
    }
    if (why == NULL && ferror(f))
        why = "read error";
    if (why == NULL && k->count == 0)
        why = "no key in the file";
    fclose(f);
    memset(line, 0, sizeof line); /* no key left on the stack */
    if (why != NULL) {
        snprintf(err, err_cap, "%s:%u: %s", path, lineno, why);
        auth_free(k);
        return NULL;
    }
    return k;
}

void auth_free(auth_keys *k) {
    if (k == NULL)
        return;
    if (k->keys)
        memset(k->keys, 0, k->cap * sizeof *k->keys);
    free(k->keys);
    free(k);
}

size_t auth_count(const auth_keys *k) {
    return k ? k->count : 0;
}

/* 0 when a[0..len) equals the key, else nonzero; reads `len` (<= KEY_MAX) bytes of the
 * key's buffer whatever they hold, so its time depends on len only. */
static unsigned differs(const auth_key *e, const char *a, size_t len) {
    volatile unsigned d = (unsigned)(e->len ^ len);
    for (size_t i = 0; i < len; i++)
        d |= (unsigned char)(a[i] ^ e->key[i]);
    return d;
}

auth_scope auth_lookup(const auth_keys *k, const char *key, size_t len, const char **name) {
    auth_scope found = AUTH_NONE;
    if (k == NULL || len > KEY_MAX)
        return AUTH_NONE;
    for (size_t i = 0; i < k->count; i++) { /* every key, even after a match */
        if (differs(&k->keys[i], key, len) == 0) {
            found = k->keys[i].scope;
            *name = k->keys[i].name;
        }
    }
    return found;
}
