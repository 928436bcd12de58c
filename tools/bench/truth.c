/*
 * truth.c - vw-bench's queries and their exact answers (see bench.h).
 */
#include "bench.h"

#include "cli.h"
#include "files.h"
#include "machine.h"
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ queries */

static void read_queries(bench *b) {
    vw_dataset *ds = NULL;
    vw_status st = vw_dataset_read(b->queries_path, VW_FORMAT_AUTO, &ds);
    if (st != VW_OK)
        tool_die_status(st, b->queries_path);
    if (ds->dim != b->stats.dim)
        tool_die("%s: queries have dimension %u, but the index %s has dimension %u",
                 b->queries_path, ds->dim, b->index_path, b->stats.dim);
    if (ds->n == 0 || ds->n > MAX_QUERIES)
        tool_die("%s: %llu queries (need 1..%u)", b->queries_path, (unsigned long long)ds->n,
                 MAX_QUERIES);
    b->nq = ds->n;
    b->queries = ds->data;
    b->queries_ds = ds; /* owns the rows */
}

void load_queries(bench *b) {
    if (b->queries_path) {
        read_queries(b);
        return;
    }
    b->gp.dim = b->stats.dim;
    tool_gen *g = tool_gen_create(&b->gp);
    b->queries = malloc((size_t)b->n_queries * b->stats.dim * sizeof(float));
    if (!g || !b->queries)
        tool_die("out of memory for %llu queries", (unsigned long long)b->n_queries);
    if (tool_gen_rows(g, TOOL_STREAM_QUERY, 0, b->n_queries, 0, b->queries) != 0)
        tool_die("out of memory generating queries");
    tool_gen_free(g);
    b->nq = b->n_queries;
}

/* ------------------------------------------------------------ brute force */

/* The base vectors: from --base, or read back from the index when its labels
 * are exactly 0..count-1. */
typedef struct base_set {
    float *data; /* n x dim */
    uint64_t n;
    vw_dataset *ds; /* owns data when read from a file; else data is malloc'ed */
} base_set;

static base_set read_base(const bench *b) {
    base_set out = {0};
    vw_status st = vw_dataset_read(b->base_path, VW_FORMAT_AUTO, &out.ds);
    if (st != VW_OK)
        tool_die_status(st, b->base_path);
    if (out.ds->dim != b->stats.dim)
        tool_die("%s: base vectors have dimension %u, but the index %s has dimension %u",
                 b->base_path, out.ds->dim, b->index_path, b->stats.dim);
    if (out.ds->n != b->stats.count)
        tool_die("%s: %llu base vectors, but the index %s holds %llu (labels must be the row "
                 "numbers; use --gt otherwise)",
                 b->base_path, (unsigned long long)out.ds->n, b->index_path,
                 (unsigned long long)b->stats.count);
    out.data = out.ds->data;
    out.n = out.ds->n;
    return out;
}

static base_set read_back_base(const bench *b) {
    uint32_t dim = b->stats.dim;
    if (!b->stats.float32_kept)
        tool_die("%s: the index keeps no float32 vectors (%s storage), so exact ground truth "
                 "cannot be read back from it; give --base or --gt",
                 b->index_path, vw_storage_name(b->stats.storage));
    base_set out = {.n = b->stats.count};
    out.data = malloc((size_t)out.n * dim * sizeof(float));
    if (!out.data)
        tool_die("%s: out of memory reading %llu vectors back", b->index_path,
                 (unsigned long long)out.n);
    for (uint64_t i = 0; i < out.n; i++) {
        vw_status st = vw_index_get_vector(b->index, i, out.data + (size_t)i * dim);
        if (st == VW_ERR_NOT_FOUND)
            tool_die("%s: labels are not 0..%llu, so the base vectors cannot be read back; "
                     "give --base or --gt",
                     b->index_path, (unsigned long long)(out.n - 1));
        if (st != VW_OK)
            tool_die_status(st, b->index_path);
    }
    return out;
}

/* Writes nq rows of the first `len` ids (nearest first) as int32 through the
 * vector-file API, which checks that every id fits. Ids pass through
 * float32 there: exact below 2^24. */
static void write_truth(const bench *b, uint64_t n) {
    if (n > (1u << 24))
        tool_die("%s: --gt-out supports base sets up to 16,777,216 vectors", b->gt_out);
    float *rows = malloc((size_t)b->nq * b->truth_len * sizeof *rows);
    if (!rows)
        tool_die("out of memory writing %s", b->gt_out);
    for (uint64_t q = 0; q < b->nq; q++)
        for (uint32_t j = 0; j < b->truth_len; j++)
            rows[q * b->truth_len + j] = (float)b->truth[q * b->k + j];
    vw_status st = vw_dataset_write(b->gt_out, VW_FORMAT_AUTO, rows, b->nq, b->truth_len);
    free(rows);
    if (st != VW_OK)
        tool_die_status(st, b->gt_out);
}

/* --filter: the labels that match (exact, from the library), and their
 * rows of the base gathered into a smaller base, whose row numbers the
 * truth maps back to labels. */
static void restrict_to_matching(bench *b, base_set *base) {
    uint64_t n = 0;
    vw_status st = vw_index_filter_labels(b->index, b->filter, NULL, 0, &n);
    b->matching = malloc((n ? n : 1) * sizeof *b->matching);
    float *rows = malloc((n ? n : 1) * (size_t)b->stats.dim * sizeof *rows);
    if (!b->matching || !rows)
        tool_die("out of memory for the filter's %llu elements", (unsigned long long)n);
    if (st == VW_OK)
        st = vw_index_filter_labels(b->index, b->filter, b->matching, n, &b->n_matching);
    if (st != VW_OK)
        tool_die_status(st, "--filter");
    for (uint64_t i = 0; i < b->n_matching; i++) {
        if (b->matching[i] >= base->n)
            tool_die("label %llu is not a row of the base", (unsigned long long)b->matching[i]);
        memcpy(rows + i * b->stats.dim, base->data + b->matching[i] * b->stats.dim,
               b->stats.dim * sizeof *rows);
    }
    if (base->ds)
        vw_dataset_free(base->ds);
    else
        free(base->data);
    *base = (base_set){.data = rows, .n = b->n_matching};
}

static void compute_truth(bench *b) {
    base_set base = b->base_path ? read_base(b) : read_back_base(b);
    if (b->filter)
        restrict_to_matching(b, &base);
    b->truth = malloc((size_t)b->nq * b->k * sizeof *b->truth);
    if (!b->truth)
        tool_die("out of memory for the ground truth");
    tool_progress bar;
    tool_progress_start(&bar, "ground truth", b->nq, isatty(STDERR_FILENO));
    vw_status st =
        vw_exact_search(base.data, base.n, b->queries, b->nq, b->stats.dim, b->stats.metric, b->k,
                        0, b->truth, NULL, tool_progress_callback, &bar);
    tool_progress_finish(&bar, b->nq);
    if (st != VW_OK)
        tool_die_status(st, b->base_path ? b->base_path : b->index_path);
    b->truth_len = (uint32_t)(base.n < b->k ? base.n : b->k);
    for (uint64_t i = 0; b->filter && i < b->nq * b->k; i++)
        if (b->truth[i] < base.n)
            b->truth[i] = b->matching[b->truth[i]];
    if (b->gt_out)
        write_truth(b, base.n);
    b->truth_source = b->base_path ? "brute force over --base" : "brute force over the index";
    if (base.ds)
        vw_dataset_free(base.ds);
    else
        free(base.data);
}

/* ------------------------------------------------------------ --gt files */

/* The shape of an .ivecs (per row int32 k + k int32) or .ibin (uint32 n,
 * uint32 k, then n*k int32) file, checked against its size. */
static void truth_shape(FILE *f, const char *path, int ibin, uint64_t *rows, uint64_t *cols) {
    if (fseek(f, 0, SEEK_END) != 0)
        tool_die("%s: cannot seek", path);
    long size = ftell(f);
    rewind(f);
    int32_t head[2];
    if (size < 8 || fread(head, sizeof(int32_t), 2, f) != 2)
        tool_die("%s: truncated: %ld bytes", path, size);
    if (ibin) {
        *rows = (uint32_t)head[0];
        *cols = (uint32_t)head[1];
        if (*cols == 0 || (uint64_t)size != 8 + *rows * *cols * 4)
            tool_die("%s: header says %llu x %llu ids, which does not match the file size %ld",
                     path, (unsigned long long)*rows, (unsigned long long)*cols, size);
        return;
    }
    *cols = (uint64_t)(head[0] > 0 ? head[0] : 0);
    if (*cols == 0 || *cols > 1000000 || (uint64_t)size % ((*cols + 1) * 4) != 0)
        tool_die("%s: not an .ivecs file (first row length %d, file size %ld)", path, head[0],
                 size);
    *rows = (uint64_t)size / ((*cols + 1) * 4);
    rewind(f);
}

/* Reads the first k ids of each row into b->truth. */
static void read_truth_rows(bench *b, FILE *f, const char *path, int ibin, uint64_t cols) {
    int32_t *row = malloc((size_t)(cols + 1) * sizeof *row);
    if (!row)
        tool_die("%s: out of memory", path);
    for (uint64_t r = 0; r < b->nq; r++) {
        const int32_t *ids = ibin ? row : row + 1;
        if (fread(row, sizeof *row, ibin ? cols : cols + 1, f) != (ibin ? cols : cols + 1))
            tool_die("%s: read error", path);
        if (!ibin && (uint64_t)row[0] != cols)
            tool_die("%s: row %llu has %d ids, row 0 has %llu", path, (unsigned long long)r, row[0],
                     (unsigned long long)cols);
        for (uint32_t j = 0; j < b->k; j++) {
            if (ids[j] < 0)
                tool_die("%s: row %llu holds a negative id %d", path, (unsigned long long)r,
                         ids[j]);
            b->truth[r * b->k + j] = (uint64_t)ids[j];
        }
    }
    free(row);
}

/* Read directly rather than through vw_dataset_read, whose float32 rows
 * cannot hold every int32 id exactly. */
static void read_truth_file(bench *b) {
    const char *path = b->gt_path;
    vw_dataset_format fmt = vw_dataset_format_from_path(path);
    if (fmt != VW_FORMAT_IVECS && fmt != VW_FORMAT_IBIN)
        tool_die("%s: ground truth must be an .ivecs or .ibin file", path);
    FILE *f = tool_open_input(path);
    uint64_t rows, cols;
    truth_shape(f, path, fmt == VW_FORMAT_IBIN, &rows, &cols);
    if (rows != b->nq)
        tool_die("%s: %llu ground-truth rows for %llu queries", path, (unsigned long long)rows,
                 (unsigned long long)b->nq);
    if (cols < b->k)
        tool_die("%s: ground truth has %llu ids per query, fewer than k = %u", path,
                 (unsigned long long)cols, b->k);
    b->truth_len = b->k;
    b->truth = malloc((size_t)rows * b->k * sizeof *b->truth);
    if (!b->truth)
        tool_die("%s: out of memory", path);
    read_truth_rows(b, f, path, fmt == VW_FORMAT_IBIN, cols);
    fclose(f);
    b->truth_source = path;
}

/* ------------------------------------------------------------ lookups */

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void load_truth(bench *b) {
    double t0 = tool_now();
    if (b->gt_path)
        read_truth_file(b);
    else
        compute_truth(b);
    b->truth_seconds = tool_now() - t0;
    /* Each row's ids sorted, so that hits are found by binary search (k may
     * be in the thousands). */
    for (uint64_t q = 0; q < b->nq; q++)
        qsort(b->truth + q * b->k, b->truth_len, sizeof(uint64_t), u64_cmp);
}

uint32_t count_nonmatching(bench *b, const uint64_t *labels, uint32_t found) {
    uint32_t n = 0;
    for (uint32_t i = 0; b->filter && i < found; i++)
        n += !bsearch(&labels[i], b->matching, b->n_matching, sizeof *labels, u64_cmp);
    return n;
}

uint32_t count_hits(const bench *b, uint64_t q, const uint64_t *labels, uint32_t found) {
    const uint64_t *row = b->truth + q * b->k;
    uint32_t hits = 0;
    for (uint32_t i = 0; i < found; i++)
        if (bsearch(&labels[i], row, b->truth_len, sizeof *row, u64_cmp))
            hits++;
    return hits;
}
