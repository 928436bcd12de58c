/*
 * bulk.c - streamed bulk loads into the durable store (see bulk.h).
 */
#include "bulk.h"

#include "api.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define READ_BUFFER (4u << 20) /* also the longest NDJSON line */

bulk_format bulk_format_of(const char *type, size_t len) {
    if (type == NULL)
        return BULK_NONE;
    if (len == 20 && strncasecmp(type, "application/x-ndjson", 20) == 0)
        return BULK_NDJSON;
    if (len == 17 && strncasecmp(type, "application/x-npy", 17) == 0)
        return BULK_NPY;
    return BULK_NONE;
}

/* ------------------------------------------------------------------ reading */

typedef struct reader {
    bulk_source *src;
    size_t prefix_off;
    char *buf;
    size_t beg, end; /* unconsumed bytes */
    int timed_out, broken;
} reader;

/* Waits until the socket has bytes (or the timeout passes). */
static int wait_readable(int fd, unsigned timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do {
        n = poll(&p, 1, (int)timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

/* Moves the unconsumed bytes to the front and reads more of the body.
 * Bytes added; 0 at the end of the body; -1 when it stopped arriving or the
 * connection broke (r->timed_out, r->broken). */
static long fill(reader *r) {
    memmove(r->buf, r->buf + r->beg, r->end - r->beg);
    r->end -= r->beg;
    r->beg = 0;
    size_t room = READ_BUFFER - r->end;
    bulk_source *s = r->src;
    if (r->prefix_off < s->prefix_len) {
        size_t n = s->prefix_len - r->prefix_off < room ? s->prefix_len - r->prefix_off : room;
        memcpy(r->buf + r->end, s->prefix + r->prefix_off, n);
        r->prefix_off += n;
        r->end += n;
        return (long)n;
    }
    if (s->left == 0 || room == 0)
        return 0;
    if (room > s->left)
        room = (size_t)s->left;
    for (;;) {
        ssize_t n = recv(s->fd, r->buf + r->end, room, 0);
        if (n > 0) {
            r->end += (size_t)n;
            s->left -= (uint64_t)n;
            return (long)n;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_readable(s->fd, s->timeout_ms) == 0)
                continue;
            r->timed_out = 1;
        } else {
            r->broken = 1;
        }
        return -1;
    }
}

/* ------------------------------------------------------------------ batches */

typedef struct batch {
    vw_store *store;
    uint32_t dim;
    uint64_t *ids;
    float *vecs;
    size_t n;
    uint64_t written; /* records committed */
    /* the ids of the batch, to commit before an id comes twice */
    uint64_t *slot_id;
    uint32_t *slot_gen;
    uint32_t gen;
    vw_status failed;
    /* NDJSON attributes of the batch's records, copied out of the read
     * buffer (which moves): text[off[i] .. off[i] + len[i]) */
    char *text;
    size_t text_len, text_cap;
    size_t *off, *len;
    const char **ptrs;
    int any_attrs;
} batch;

#define SLOTS (BULK_BATCH * 4u)

static size_t slot_of(uint64_t id) {
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)(id & (SLOTS - 1));
}

/* Marks id as in the batch; 1 if it already was. */
static int batch_mark(batch *b, uint64_t id) {
    size_t i = slot_of(id);
    while (b->slot_gen[i] == b->gen) {
        if (b->slot_id[i] == id)
            return 1;
        i = (i + 1) & (SLOTS - 1);
    }
    b->slot_gen[i] = b->gen;
    b->slot_id[i] = id;
    return 0;
}

/* One commit: the vectors and, if any line had them, the attributes. */
static int batch_commit(batch *b) {
    if (b->n == 0)
        return 0;
    for (size_t i = 0; b->any_attrs && i < b->n; i++)
        b->ptrs[i] = b->len[i] ? b->text + b->off[i] : NULL;
    vw_status st = vw_store_upsert_with_attributes(b->store, b->vecs, b->ids, b->n,
                                                   b->any_attrs ? b->ptrs : NULL, b->len);
    if (st != VW_OK) {
        b->failed = st;
        return -1;
    }
    b->written += b->n;
    b->n = 0;
    b->gen++;
    b->text_len = 0;
    b->any_attrs = 0;
    return 0;
}

/* The attributes of the batch's last record (len 0: none); -1 out of memory. */
static int batch_attrs(batch *b, const char *text, size_t len) {
    size_t i = b->n - 1;
    b->off[i] = b->text_len;
    b->len[i] = len;
    if (len == 0)
        return 0;
    if (b->text_len + len > b->text_cap) {
        size_t cap = (b->text_len + len) * 2;
        char *t = realloc(b->text, cap);
        if (!t) {
            b->n--; /* not committed without its attributes */
            return -1;
        }
        b->text = t;
        b->text_cap = cap;
    }
    memcpy(b->text + b->text_len, text, len);
    b->text_len += len;
    b->any_attrs = 1;
    return 0;
}

/* The row for one more record with `id`, after committing the batch when
 * it is full or already holds id; NULL if that commit failed. */
static float *batch_row(batch *b, uint64_t id) {
    if ((b->n == BULK_BATCH || batch_mark(b, id)) && batch_commit(b) != 0)
        return NULL;
    if (b->n == 0)
        batch_mark(b, id); /* a fresh generation */
    b->ids[b->n] = id;
    return b->vecs + b->n++ * b->dim;
}

static int batch_init(batch *b, vw_store *store, uint32_t dim) {
    memset(b, 0, sizeof *b);
    b->store = store;
    b->dim = dim;
    b->gen = 1;
    b->ids = malloc(BULK_BATCH * sizeof *b->ids);
    b->vecs = malloc((size_t)BULK_BATCH * dim * sizeof *b->vecs);
    b->slot_id = malloc(SLOTS * sizeof *b->slot_id);
    b->slot_gen = calloc(SLOTS, sizeof *b->slot_gen);
    b->off = malloc(BULK_BATCH * sizeof *b->off);
    b->len = calloc(BULK_BATCH, sizeof *b->len);
    b->ptrs = malloc(BULK_BATCH * sizeof *b->ptrs);
    return b->ids && b->vecs && b->slot_id && b->slot_gen && b->off && b->len && b->ptrs ? 0 : -1;
}

static void batch_free(batch *b) {
    free(b->text);
    free(b->off);
    free(b->len);
    free(b->ptrs);
    free(b->ids);
    free(b->vecs);
    free(b->slot_id);
    free(b->slot_gen);
}

/* ------------------------------------------------------------------ formats */

typedef struct load {
    reader r;
    batch b;
    api_error err; /* status 0: none */
    uint64_t records;
    float *row; /* an NDJSON record, decoded */
} load;

/* err->message = head + text, cut to fit. */
static void set_message(api_error *err, const char *head, const char *text) {
    size_t cap = sizeof err->message, n = strlen(head);
    if (n >= cap)
        n = cap - 1;
    memmove(err->message, head, n);
    size_t t = strlen(text);
    if (t > cap - 1 - n)
        t = cap - 1 - n;
    memmove(err->message + n, text, t);
    err->message[n + t] = '\0';
}

static void load_fail(load *l, int status, const char *fmt, const char *what) {
    l->err.status = status;
    l->err.loc_index[0] = l->err.loc_index[1] = -1;
    snprintf(l->err.message, sizeof l->err.message, fmt, what);
}

/* The reader's failure as an error. */
static void read_failed(load *l) {
    if (l->r.timed_out)
        load_fail(l, 408, "%s", "the body stopped arriving for --timeout-ms");
    else
        load_fail(l, 400, "%s", "the connection broke before the end of the body");
}

static void ndjson_line(load *l, const char *line, size_t len) {
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t' || line[lead] == '\r'))
        lead++;
    if (lead == len)
        return; /* a blank line is no record */
    l->records++;
    uint64_t id = 0;
    api_error e;
    const char *attrs;
    size_t attrs_len;
    if (api_parse_ndjson_line(line + lead, len - lead, l->b.dim, &id, l->row, &attrs, &attrs_len,
                              &e) != 0) {
        l->err = e;
        char head[32];
        snprintf(head, sizeof head, "record %llu: ", (unsigned long long)l->records);
        set_message(&l->err, head, e.message);
        return;
    }
    float *dst = batch_row(&l->b, id);
    if (dst == NULL)
        return;
    memcpy(dst, l->row, (size_t)l->b.dim * sizeof *dst);
    if (batch_attrs(&l->b, attrs, attrs_len) != 0)
        load_fail(l, 503, "%s", "out of memory");
}

static void load_ndjson(load *l) {
    for (;;) {
        char *nl = memchr(l->r.buf + l->r.beg, '\n', l->r.end - l->r.beg);
        if (nl != NULL) {
            ndjson_line(l, l->r.buf + l->r.beg, (size_t)(nl - (l->r.buf + l->r.beg)));
            l->r.beg = (size_t)(nl - l->r.buf) + 1;
            if (l->err.status || l->b.failed)
                return;
            continue;
        }
        if (l->r.end - l->r.beg == READ_BUFFER) {
            load_fail(l, 422, "%s", "a line longer than 4 MiB");
            return;
        }
        long got = fill(&l->r);
        if (got < 0) {
            read_failed(l);
            return;
        }
        if (got == 0) { /* the body's end: a last line without '\n' */
            if (l->r.end > l->r.beg)
                ndjson_line(l, l->r.buf + l->r.beg, l->r.end - l->r.beg);
            l->r.beg = l->r.end;
            return;
        }
    }
}

/* The header of an npy body; its number of rows, or -1 after failing. */
static int64_t npy_header(load *l, uint64_t body_len) {
    long hdr = 0;
    uint64_t rows = 0;
    while ((hdr = api_parse_npy_header((const unsigned char *)l->r.buf + l->r.beg,
                                       l->r.end - l->r.beg, l->b.dim, &rows, &l->err)) == 0) {
        long got = fill(&l->r);
        if (got <= 0) {
            if (got < 0)
                read_failed(l);
            else
                load_fail(l, 422, "%s", "the body ends inside the .npy header");
            return -1;
        }
    }
    if (hdr < 0)
        return -1;
    l->r.beg += (size_t)hdr;
    uint64_t row_bytes = (uint64_t)l->b.dim * sizeof(float);
    if (rows > (body_len - (uint64_t)hdr) / row_bytes ||
        (uint64_t)hdr + rows * row_bytes != body_len) {
        load_fail(l, 422, "%s",
                  "the body's length is not the .npy header's plus rows x dim x 4 bytes");
        return -1;
    }
    return (int64_t)rows;
}

static void load_npy(load *l, const bulk_source *src, uint64_t body_len) {
    if (!src->has_start) {
        load_fail(l, 422, "%s",
                  "an application/x-npy body needs ?start=ID: its rows get the ids ID, ID+1, ...");
        return;
    }
    int64_t rows = npy_header(l, body_len);
    size_t row_bytes = (size_t)l->b.dim * sizeof(float);
    for (int64_t i = 0; i < rows && !l->b.failed; i++) {
        while (l->r.end - l->r.beg < row_bytes) {
            if (fill(&l->r) <= 0) {
                read_failed(l);
                return;
            }
        }
        float *row = batch_row(&l->b, src->start + (uint64_t)i);
        if (row == NULL)
            return;
        memcpy(row, l->r.buf + l->r.beg, row_bytes);
        l->r.beg += row_bytes;
        l->records++;
    }
}

/* ------------------------------------------------------------------ the load */

static int answer(load *l, const bulk_source *src, json_writer *resp, char *error, size_t cap) {
    /* the last, partial batch; after a bad record, the good ones before it */
    if (!l->b.failed)
        batch_commit(&l->b);
    json_writer_reset(resp);
    if (l->b.failed) {
        char msg[300];
        l->err.status = api_store_failure(l->b.failed, vw_last_error_detail(), msg, sizeof msg);
        l->err.loc_index[0] = l->err.loc_index[1] = -1;
        set_message(&l->err, "", msg);
    }
    if (l->err.status == 0) {
        api_write_upserted(resp, l->b.written);
        return 200;
    }
    snprintf(error, cap, "%s (%llu records written)", l->err.message,
             (unsigned long long)l->b.written);
    api_write_bulk_error(resp, &l->err, l->b.written, src->start,
                         src->format == BULK_NPY && src->has_start);
    return l->err.status;
}

int bulk_load(vw_store *store, uint32_t dim, bulk_source *src, json_writer *resp, char *error,
              size_t error_cap) {
    load l;
    memset(&l, 0, sizeof l);
    l.r.src = src;
    l.r.buf = malloc(READ_BUFFER);
    l.row = malloc((size_t)dim * sizeof *l.row);
    uint64_t body_len = src->prefix_len + src->left;
    if (l.r.buf == NULL || l.row == NULL || batch_init(&l.b, store, dim) != 0)
        load_fail(&l, 503, "%s", "out of memory");
    else if (src->format == BULK_NDJSON)
        load_ndjson(&l);
    else
        load_npy(&l, src, body_len);
    int status = answer(&l, src, resp, error, error_cap);
    batch_free(&l.b);
    free(l.r.buf);
    free(l.row);
    return status;
}
