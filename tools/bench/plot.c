/*
 * plot.c - the recall-vs-QPS chart: one SVG, self-contained, with a line of
 * points (one per efSearch) for each series. vw-bench draws its own run
 * with it (one thread, and the batch run if any, plus the target found),
 * and bench/compare.sh draws several engines' runs through --plot-from.
 */
#include "bench.h"

#include "cli.h"
#include "files.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 12

typedef struct plot_point {
    double recall, qps;
    uint32_t ef;
} plot_point;

typedef struct plot_series {
    char name[64];
    plot_point pts[MAX_EFS];
    size_t n;
} plot_series;

typedef struct chart {
    char title[600], subtitle[300], x_label[96];
    plot_series series[MAX_SERIES];
    size_t n_series;
    int has_marker;
    plot_point marker;
    char marker_label[64];
} chart;

typedef struct plot_area {
    double x0, y0, w, h; /* pixels of the data area */
    double rmin, rmax;   /* recall range */
    double lqmin, lqmax; /* log10 QPS range */
} plot_area;

static const char *const colors[MAX_SERIES] = {"#1b6ac9", "#d95f02", "#1b9e77", "#7570b3",
                                               "#e7298a", "#66a61e", "#a6761d", "#666666",
                                               "#17becf", "#bcbd22", "#8c564b", "#d62728"};

/* ------------------------------------------------------------ geometry */

static double px(const plot_area *a, double recall) {
    return a->x0 + (recall - a->rmin) / (a->rmax - a->rmin) * a->w;
}

static double py(const plot_area *a, double qps) {
    double l = log10(qps > 0 ? qps : 1e-9);
    return a->y0 + a->h - (l - a->lqmin) / (a->lqmax - a->lqmin) * a->h;
}

/* Labels of points near the right edge go to their left, inside the plot. */
static int label_left(const plot_area *a, double x) {
    return x > a->x0 + 0.8 * a->w;
}

static double label_x(const plot_area *a, double x) {
    return label_left(a, x) ? x - 8 : x + 8;
}

static const char *label_anchor(const plot_area *a, double x) {
    return label_left(a, x) ? " text-anchor=\"end\"" : "";
}

/* The ranges that hold every point: recall from a round tenth below the
 * lowest (at most 0.9) to 1, QPS over whole decades. */
static plot_area fit_area(const chart *c) {
    double rmin = 1.0, qmin = INFINITY, qmax = 0.0;
    for (size_t s = 0; s < c->n_series + (c->has_marker ? 1 : 0); s++) {
        const plot_point *p = s < c->n_series ? c->series[s].pts : &c->marker;
        size_t n = s < c->n_series ? c->series[s].n : 1;
        for (size_t i = 0; i < n; i++) {
            rmin = fmin(rmin, p[i].recall);
            qmin = fmin(qmin, p[i].qps);
            qmax = fmax(qmax, p[i].qps);
        }
    }
    plot_area a = {90, 50, 600, 380, 0, 1, 0, 1};
    a.rmin = fmax(0.0, fmin(0.9, floor(rmin * 10 - 1e-9) / 10));
    qmin = qmin > 0 && isfinite(qmin) ? qmin : 1;
    qmax = qmax > qmin ? qmax : qmin;
    a.lqmin = floor(log10(qmin));
    a.lqmax = ceil(log10(qmax));
    if (a.lqmax <= a.lqmin)
        a.lqmax = a.lqmin + 1;
    return a;
}

/* ------------------------------------------------------------ drawing */

static void svg_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        const char *e = *s == '<'   ? "&lt;"
                        : *s == '>' ? "&gt;"
                        : *s == '&' ? "&amp;"
                        : *s == '"' ? "&quot;"
                                    : NULL;
        if (e)
            fputs(e, f);
        else
            fputc(*s, f);
    }
}

static void format_qps(char *buf, size_t size, double v) {
    if (v >= 1e6)
        snprintf(buf, size, "%gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, size, "%gk", v / 1e3);
    else
        snprintf(buf, size, "%g", v);
}

/* Recall ticks: the largest round step giving at least 4 of them. */
static void svg_recall_ticks(FILE *f, const plot_area *a) {
    static const double steps[] = {0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001};
    double step = steps[0];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        step = steps[i];
        if ((a->rmax - a->rmin) / step >= 4)
            break;
    }
    for (double t = ceil(a->rmin / step - 1e-9) * step; t <= a->rmax + 1e-9; t += step) {
        double x = px(a, t);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
                x, a->y0, x, a->y0 + a->h, x, a->y0 + a->h + 18, step < 0.01 ? 3 : 2, t);
    }
}

/* QPS ticks at 1, 2, 5 x 10^n on the log scale. */
static void svg_qps_ticks(FILE *f, const plot_area *a) {
    static const double mult[] = {1, 2, 5};
    for (int e = (int)floor(a->lqmin); e <= (int)ceil(a->lqmax); e++) {
        for (int m = 0; m < 3; m++) {
            double v = mult[m] * pow(10.0, e);
            if (log10(v) < a->lqmin - 1e-9 || log10(v) > a->lqmax + 1e-9)
                continue;
            char label[32];
            format_qps(label, sizeof label, v);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                    a->x0, py(a, v), a->x0 + a->w, py(a, v), m == 0 ? "#ccc" : "#eee", a->x0 - 6,
                    py(a, v) + 4, label);
        }
    }
}

static void svg_frame(FILE *f, const plot_area *a, const chart *c) {
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"520\" "
               "viewBox=\"0 0 760 520\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"760\" height=\"520\" fill=\"white\"/>\n"
               "<text x=\"390\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">");
    svg_escape(f, c->title);
    fputs("</text>\n<text x=\"390\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">", f);
    svg_escape(f, c->subtitle);
    fputs("</text>\n", f);
    svg_recall_ticks(f, a);
    svg_qps_ticks(f, a);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#333\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">",
            a->x0, a->y0, a->w, a->h, a->x0 + a->w / 2, a->y0 + a->h + 42);
    svg_escape(f, c->x_label);
    fprintf(f,
            "</text>\n<text transform=\"translate(%.1f,%.1f) rotate(-90)\" "
            "text-anchor=\"middle\" font-size=\"14\">queries per second (log scale)</text>\n",
            a->x0 - 62, a->y0 + a->h / 2);
}

static int ef_order(const void *x, const void *y) {
    const plot_point *a = x, *b = y;
    return a->ef < b->ef ? -1 : a->ef > b->ef;
}

/* One series: a line through the points in ef order, a dot and an "ef=N"
 * label at each, and its entry in the legend. */
static void svg_series(FILE *f, const plot_area *a, plot_series *s, size_t index) {
    const char *color = colors[index % MAX_SERIES];
    qsort(s->pts, s->n, sizeof s->pts[0], ef_order);
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%.1f,%.1f ", px(a, s->pts[i].recall), py(a, s->pts[i].qps));
    fputs("\"/>\n", f);
    for (size_t i = 0; i < s->n; i++) {
        double x = px(a, s->pts[i].recall), y = py(a, s->pts[i].qps);
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\"%s>ef=%u</text>\n",
                x, y, color, label_x(a, x), y - 6, color, label_anchor(a, x), s->pts[i].ef);
    }
    double ly = a->y0 + 14 + 18 * (double)index;
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
            a->x0 + 12, ly, color, a->x0 + 22, ly + 4);
    svg_escape(f, s->name);
    fputs("</text>\n", f);
}

static void draw_chart(const char *path, chart *c) {
    plot_area a = fit_area(c);
    tool_output out;
    FILE *f = tool_output_open(&out, path);
    svg_frame(f, &a, c);
    for (size_t i = c->n_series; i-- > 0;)
        svg_series(f, &a, &c->series[i], i);
    if (c->has_marker) {
        double x = px(&a, c->marker.recall), y = py(&a, c->marker.qps);
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"none\" "
                "stroke=\"#c00\" stroke-width=\"2\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#c00\"%s>",
                x - 5, y - 5, label_x(&a, x), y + 18, label_anchor(&a, x));
        svg_escape(f, c->marker_label);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    tool_output_commit(&out);
}

/* ------------------------------------------------------------ vw-bench's own run */

void write_plot(const bench *b) {
    chart *c = calloc(1, sizeof *c);
    if (!c)
        tool_die("out of memory");
    if (b->plot_title)
        snprintf(c->title, sizeof c->title, "%s", b->plot_title);
    else
        snprintf(c->title, sizeof c->title, "recall@%u vs QPS: %s", b->k, b->index_path);
    snprintf(c->subtitle, sizeof c->subtitle,
             "%llu vectors, dim %u, %s, M %u, ef_construction %u, kernels %s",
             (unsigned long long)b->stats.count, b->stats.dim, vw_metric_name(b->stats.metric),
             b->stats.M, b->stats.ef_construction, vw_simd_name(vw_simd_active()));
    snprintf(c->x_label, sizeof c->x_label, "recall@%u (%llu queries)", b->k,
             (unsigned long long)b->nq);
    int batch = b->n_efs && b->results[0].has_batch;
    c->n_series = batch ? 2 : 1;
    snprintf(c->series[0].name, sizeof c->series[0].name, "1 thread, one query at a time");
    if (batch)
        snprintf(c->series[1].name, sizeof c->series[1].name, "%u threads, batch",
                 b->results[0].batch_threads);
    for (size_t i = 0; i < b->n_efs; i++) {
        const ef_result *r = &b->results[i];
        c->series[0].pts[c->series[0].n++] = (plot_point){r->recall, r->qps, r->ef};
        if (batch)
            c->series[1].pts[c->series[1].n++] = (plot_point){r->recall, r->batch_qps, r->ef};
    }
    if (b->has_target) {
        const ef_result *r = &b->target_result;
        c->has_marker = 1;
        c->marker = (plot_point){r->recall, r->qps, r->ef};
        snprintf(c->marker_label, sizeof c->marker_label, "target %g: ef=%u", b->target, r->ef);
    }
    draw_chart(b->plot_path, c);
    free(c);
}

/* ------------------------------------------------------------ other runs' results */

/* A number member's value; -1 if it is not a number JSON can give. */
static int read_double(json_cursor *cur, double *v) {
    const char *tok;
    size_t len;
    if (json_peek(cur) != '-' && (json_peek(cur) < '0' || json_peek(cur) > '9'))
        return -1;
    return json_read_number(cur, &tok, &len) == 0 && json_number_to_double(tok, len, v) == 0 ? 0
                                                                                             : -1;
}

/* One member of a results entry: ef_search, recall_at_k and qps are kept. */
static int point_member(json_cursor *cur, const char *key, void *ctx) {
    plot_point *p = ctx;
    if (strcmp(key, "recall_at_k") == 0)
        return read_double(cur, &p->recall);
    if (strcmp(key, "qps") == 0)
        return read_double(cur, &p->qps);
    if (strcmp(key, "ef_search") != 0)
        return json_skip_value(cur);
    double v;
    if (read_double(cur, &v) != 0)
        return -1;
    p->ef = v >= 0 && v <= VW_MAX_EF ? (uint32_t)v : 0;
    return 0;
}

/* Calls fn(cur, key, ctx) on each member of the object at the cursor. */
static int read_object(json_cursor *cur, int (*fn)(json_cursor *, const char *, void *),
                       void *ctx) {
    return json_expect(cur, '{') == 0 ? json_read_members(cur, fn, ctx) : -1;
}

static int point_element(json_cursor *cur, size_t i, void *ctx) {
    plot_series *s = ctx;
    plot_point p = {0, 0, 0};
    if (i >= MAX_EFS || read_object(cur, point_member, &p) != 0)
        return -1;
    s->pts[s->n++] = p;
    return 0;
}

static int read_points(json_cursor *cur, plot_series *s) {
    return json_expect(cur, '[') == 0 ? json_read_elements(cur, point_element, s) : -1;
}

typedef struct results_file {
    plot_series *series;
    uint32_t k;
} results_file;

static int top_member(json_cursor *cur, const char *key, void *ctx) {
    results_file *r = ctx;
    double v;
    if (strcmp(key, "results") == 0)
        return read_points(cur, r->series);
    if (strcmp(key, "k") != 0)
        return json_skip_value(cur);
    if (read_double(cur, &v) != 0)
        return -1;
    r->k = v >= 1 && v <= VW_MAX_K ? (uint32_t)v : 0;
    return 0;
}

/* Reads "NAME=FILE.json" into a series; returns the file's k. */
static uint32_t read_results_file(const char *source, plot_series *s) {
    const char *eq = strchr(source, '=');
    if (!eq || eq == source || !eq[1])
        tool_usage_error("--plot-from: '%s' is not NAME=FILE.json", source);
    snprintf(s->name, sizeof s->name, "%.*s", (int)(eq - source), source);
    size_t len;
    char *text = tool_read_small_file(eq + 1, (size_t)16 << 20, &len);
    json_cursor cur;
    json_init(&cur, text, len);
    results_file r = {s, 0};
    if (read_object(&cur, top_member, &r) != 0 || json_expect_end(&cur) != 0 || s->n == 0 ||
        r.k == 0)
        tool_die("%s: not vw-bench results (a \"k\" and a \"results\" list of ef_search, "
                 "recall_at_k, qps)%s%s",
                 eq + 1, cur.error ? ": " : "", cur.error ? cur.error : "");
    free(text);
    return r.k;
}

void plot_results_files(const char *svg_path, const char *title, char **sources, size_t n) {
    chart *c = calloc(1, sizeof *c);
    if (!c)
        tool_die("out of memory");
    uint32_t k = 0;
    for (size_t i = 0; i < n && i < MAX_SERIES; i++) {
        uint32_t ki = read_results_file(sources[i], &c->series[i]);
        if (k && ki != k)
            tool_die("%s: recall@%u, but the first results are recall@%u", sources[i], ki, k);
        k = ki;
        c->n_series++;
        size_t used = strlen(c->subtitle);
        snprintf(c->subtitle + used, sizeof c->subtitle - used, "%s%s", i ? ", " : "",
                 c->series[i].name);
    }
    if (title)
        snprintf(c->title, sizeof c->title, "%s", title);
    else
        snprintf(c->title, sizeof c->title, "recall@%u vs QPS, one query at a time", k);
    snprintf(c->x_label, sizeof c->x_label, "recall@%u", k);
    draw_chart(svg_path, c);
    free(c);
}
