/*
 * test_serve_nginx.c - scale-out: two vw-serve replicas behind nginx on
 * loopback. Searches sent through nginx must return exactly the bytes one
 * replica returns directly, and both replicas must have served some.
 *
 * nginx runs in the foreground from its own prefix directory (config, pid,
 * logs and temp paths all inside it), so it needs no root and touches nothing
 * outside the scratch directory. Without nginx the test is skipped (exit 77).
 *
 * Usage: test_serve_nginx VW_SERVE_BINARY SCRATCH_DIR
 */
#include "test_serve_util.h"

#define DIM     16
#define COUNT   1500
#define QUERIES 40
#define SKIP    77

static int write_config(const char *conf, const char *prefix, unsigned port, unsigned r1,
                        unsigned r2) {
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "daemon off;\n"
            "worker_processes 1;\n"
            "pid %s/nginx.pid;\n"
            "error_log %s/error.log info;\n"
            "events { worker_connections 128; }\n"
            "http {\n"
            "    access_log %s/access.log;\n"
            "    client_body_temp_path %s/tmp_body;\n"
            "    proxy_temp_path %s/tmp_proxy;\n"
            "    fastcgi_temp_path %s/tmp_fastcgi;\n"
            "    uwsgi_temp_path %s/tmp_uwsgi;\n"
            "    scgi_temp_path %s/tmp_scgi;\n"
            "    upstream vw_replicas {\n"
            "        server 127.0.0.1:%u;\n"
            "        server 127.0.0.1:%u;\n"
            "        keepalive 8;\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:%u;\n"
            "        client_max_body_size 1m;\n"
            "        location / {\n"
            "            proxy_pass http://vw_replicas;\n"
            "            proxy_http_version 1.1;\n"
            "            proxy_set_header Connection \"\";\n"
            "        }\n"
            "    }\n"
            "}\n",
            prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, r1, r2, port);
    return fclose(f);
}

static pid_t start_nginx(const char *nginx, const char *prefix, const char *conf) {
    char out[600];
    snprintf(out, sizeof out, "%s/nginx.out", prefix);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        char p[600];
        snprintf(p, sizeof p, "%s/", prefix);
        execl(nginx, nginx, "-p", p, "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits until nginx answers GET / with 200 from a replica. */
static int wait_ready(pid_t nginx, unsigned port) {
    for (int i = 0; i < 1000; i++) {
        sv_conn c;
        sv_response r;
        memset(&r, 0, sizeof r);
        if (sv_connect(&c, port) == 0) {
            int ok = sv_exchange(&c, "GET", "/", NULL, &r) == 0 && r.status == 200;
            sv_response_free(&r);
            sv_close(&c);
            if (ok)
                return 0;
        }
        if (waitpid(nginx, NULL, WNOHANG) == nginx)
            return -1;
        sv_sleep_ms(10);
    }
    return -1;
}

static uint64_t replica_queries(unsigned port) {
    sv_conn c;
    sv_response r;
    uint64_t n = 0;
    memset(&r, 0, sizeof r);
    if (sv_connect(&c, port) == 0 && sv_exchange(&c, "GET", "/stats", NULL, &r) == 0 && r.body) {
        const char *p = strstr(r.body, "\"queries\":");
        if (p)
            n = strtoull(p + 10, NULL, 10);
    }
    sv_response_free(&r);
    sv_close(&c);
    return n;
}

/* The same request through nginx and directly: same status, same bytes. */
static void compare(sv_conn *via, sv_conn *direct, const char *path, const char *body,
                    int want_status) {
    sv_response a, b;
    CHECK(sv_exchange(via, "POST", path, body, &a) == 0);
    CHECK(sv_exchange(direct, "POST", path, body, &b) == 0);
    CHECK(a.status == want_status && b.status == want_status);
    CHECK(a.body && b.body && strcmp(a.body, b.body) == 0);
    sv_response_free(&a);
    sv_response_free(&b);
}

static void run_checks(unsigned nginx_port, unsigned direct_port, const float *queries) {
    sv_conn via, direct;
    CHECK(sv_connect(&via, nginx_port) == 0);
    CHECK(sv_connect(&direct, direct_port) == 0);
    for (int i = 0; i < QUERIES; i++) {
        char *body = sv_query_body(queries + i * DIM, DIM, 1 + i % 12);
        compare(&via, &direct, "/search", body, 200);
        free(body);
    }
    char batch[4096];
    size_t n = (size_t)snprintf(batch, sizeof batch, "{\"k\":4,\"query_vectors\":[");
    for (int i = 0; i < 4; i++) {
        n += (size_t)snprintf(batch + n, sizeof batch - n, "%s[", i ? "," : "");
        for (int d = 0; d < DIM; d++)
            n += (size_t)snprintf(batch + n, sizeof batch - n, "%s%.9g", d ? "," : "",
                                  queries[i * DIM + d]);
        n += (size_t)snprintf(batch + n, sizeof batch - n, "]");
    }
    snprintf(batch + n, sizeof batch - n, "]}");
    compare(&via, &direct, "/search/batch", batch, 200);
    compare(&via, &direct, "/search", "{\"query_vector\":[1,2]}", 422);
    compare(&via, &direct, "/search", "{\"query_vector\":", 422);
    sv_close(&via);
    sv_close(&direct);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VW_SERVE_BINARY SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    const char *nginx = sv_find_nginx();
    if (nginx == NULL) {
        printf("SKIP: nginx is not installed (Debian package 'nginx'); scale-out not checked\n");
        return SKIP;
    }
    signal(SIGPIPE, SIG_IGN);
    mkdir(argv[2], 0755);
    char index_path[512], log1[512], log2[512], prefix[512], conf[600];
    snprintf(index_path, sizeof index_path, "%s/nginx.vwi", argv[2]);
    snprintf(log1, sizeof log1, "%s/nginx_replica1.log", argv[2]);
    snprintf(log2, sizeof log2, "%s/nginx_replica2.log", argv[2]);
    snprintf(prefix, sizeof prefix, "%s/nginx_prefix", argv[2]);
    snprintf(conf, sizeof conf, "%s/nginx.conf", prefix);
    mkdir(prefix, 0755);
    vw_index *index = sv_make_index(index_path, COUNT, DIM, VW_METRIC_COSINE);
    float *queries = sv_random_vectors(QUERIES, DIM);
    if (index == NULL || queries == NULL)
        return 1;

    sv_server r1, r2;
    const char *const args[] = {"--threads", "2", NULL};
    if (sv_start(&r1, argv[1], index_path, log1, args) != 0)
        return 1;
    if (sv_start(&r2, argv[1], index_path, log2, args) != 0) {
        sv_stop(&r1);
        return 1;
    }
    unsigned port = sv_free_port();
    pid_t ng = -1;
    if (port == 0 || write_config(conf, prefix, port, r1.port, r2.port) != 0) {
        CHECK(!"cannot prepare the nginx configuration");
    } else {
        ng = start_nginx(nginx, prefix, conf);
        if (ng < 0 || wait_ready(ng, port) != 0) {
            fprintf(stderr, "nginx did not come up; see %s/nginx.out and %s/error.log\n", prefix,
                    prefix);
            check_failures++;
        } else {
            run_checks(port, r1.port, queries);
            /* Round robin: both replicas answered searches through nginx. */
            uint64_t q1 = replica_queries(r1.port), q2 = replica_queries(r2.port);
            printf("searches served: replica 1 %llu (half via nginx), replica 2 %llu\n",
                   (unsigned long long)q1, (unsigned long long)q2);
            CHECK(q1 > (uint64_t)QUERIES && q2 > 0);
        }
    }
    if (ng > 0) {
        kill(ng, SIGQUIT); /* graceful stop */
        CHECK(sv_wait_exit(ng, 20000) == 0);
    }
    CHECK(sv_stop(&r1) == 0);
    CHECK(sv_stop(&r2) == 0);
    vw_index_free(index);
    free(queries);
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed (logs in %s)\n", check_failures, argv[2]);
        return 1;
    }
    return 0;
}
