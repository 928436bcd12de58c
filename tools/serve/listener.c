/*
 * listener.c - how vw-serve takes connections (see listener.h): the
 * listening socket, accept(2) until it would block, the 503 for a client
 * over --max-connections or arriving when the process is out of file
 * descriptors, and which clients are on the loopback interface.
 */
#include "listener.h"

#include "http.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void format_peer(char *out, size_t cap, const struct sockaddr_storage *ss) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "?");
    }
}

static int is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family != AF_INET6)
        return 0;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* Over --max-connections, or out of descriptors: a short 503 and close,
 * without a connection slot. */
static void reject_connection(server *s, int fd, const struct sockaddr_storage *ss,
                              const char *reason) {
    char body[256];
    size_t body_len =
        (size_t)snprintf(body, sizeof body, "{\"error\":\"%s\",\"detail\":\"%s\"}", reason, reason);
    char head[512];
    size_t n = http_format_head(head, sizeof head, 503, body_len, 0, "Retry-After: 1\r\n");
    char msg[sizeof head + sizeof body];
    memcpy(msg, head, n);
    memcpy(msg + n, body, body_len);
    /* Read what the client already sent: closing a socket with unread data
     * sends a reset, which can destroy the answer before it is read. */
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++) {
    }
    ssize_t w = send(fd, msg, n + body_len, MSG_NOSIGNAL);
    (void)w; /* best effort: the socket buffer of a new connection is empty */
    close(fd);
    char peer[64];
    format_peer(peer, sizeof peer, ss);
    count(&s->metrics->connections_rejected, 1);
    count(s->errors, 1);
    serve_log("%s 503: %s (--max-connections %u)", peer, reason, s->cfg->max_connections);
}

/* accept(2) failed with EMFILE/ENFILE. The spare descriptor makes room to
 * take one waiting connection and answer it 503, instead of leaving it
 * queued until some other connection closes. 1 if one was answered, 0 if
 * none was waiting, -1 without a spare. */
static int refuse_with_spare(server *s) {
    if (s->spare_fd < 0)
        return -1;
    close(s->spare_fd);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        count(&s->metrics->connections_accepted, 1);
        reject_connection(s, fd, &ss, "the server is out of file descriptors");
    }
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 1 : 0;
}

void accept_all(server *s) {
    while (s->listen_fd >= 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->accept_paused = 0;
                return;
            }
            int spare = errno == EMFILE || errno == ENFILE ? refuse_with_spare(s) : -1;
            if (spare == 1)
                continue;
            if (spare == 0) {
                s->accept_paused = 0;
                return;
            }
            /* Out of memory (or of the spare): retry when a connection closes. */
            if (!s->accept_paused)
                serve_log("accept: %s; waiting for connections to close", strerror(errno));
            s->accept_paused = 1;
            return;
        }
        count(&s->metrics->connections_accepted, 1);
        if (atomic_load(&s->sh->nconns) >= s->cfg->max_connections) {
            reject_connection(s, fd, &ss, "too many connections");
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        snprintf(c->what, sizeof c->what, "-");
        strcpy(c->key_name, "-");
        strcpy(c->forwarded, "-");
        format_peer(c->peer, sizeof c->peer, &ss);
        c->loopback = is_loopback(&ss);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve_adopt(s, c);
    }
}

int open_listener(server *s, unsigned *port_out) {
    const serve_config *cfg = s->cfg;
    char port[16];
    snprintf(port, sizeof port, "%u", cfg->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(cfg->host, port, &hints, &res);
    if (gai != 0) {
        serve_log("cannot resolve --host %s: %s", cfg->host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        serve_log("cannot listen on %s:%s: %s", cfg->host, port, strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    *port_out = cfg->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    s->listen_fd = fd;
    return 0;
}

/* Whether the listener takes loopback clients only. */
int listener_is_loopback(const server *s) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    return getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) == 0 && is_loopback(&ss);
}
