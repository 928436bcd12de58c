/*
 * auth.h - vw-serve's API keys (--api-keys FILE).
 *
 * The file holds one key per line, "SCOPE KEY [NAME]", fields separated by
 * spaces or tabs; '#' starts a comment line, blank lines are skipped:
 *
 *   # who may do what
 *   read   3f9c1e...  dashboards
 *   write  a77b02...  loader
 *   admin  0d41c8...  ops
 *
 * Scopes nest: read is search, GET /vectors/{id}, /stats and
 * /openapi.json; write is read plus upserts, deletes and snapshots; admin is
 * write plus POST /admin/reload. The name (default: the key's line number)
 * goes to the access log, never the key. A key is 16 to 256 printable
 * characters without spaces; the same key twice is an error.
 *
 * The file must not be accessible to group or others (mode 0600 or
 * stricter), or the server refuses it, as ssh refuses a private key anyone
 * can read. It is read at start and again on SIGHUP; a file that no longer
 * loads leaves the keys in force as they were (and the reason is logged).
 *
 * A presented key is compared with every key of the file, each comparison
 * touching every byte whatever the bytes are, so the time taken says
 * nothing about how much of a key was right.
 */
#ifndef VW_SERVE_AUTH_H
#define VW_SERVE_AUTH_H

#include <stddef.h>

typedef enum auth_scope { AUTH_NONE, AUTH_READ, AUTH_WRITE, AUTH_ADMIN } auth_scope;

typedef struct auth_keys auth_keys;

/* Reads and checks the key file. NULL with a reason in err (it names the
 * file and, for a bad line, its number). */
auth_keys *auth_load(const char *path, char *err, size_t err_cap);
void auth_free(auth_keys *k);
/* Keys in the set. */
size_t auth_count(const auth_keys *k);

/* The scope of the presented key key[0..len), AUTH_NONE when it is not one
 * of the set; *name is then the key's name (static while the set lives). */
auth_scope auth_lookup(const auth_keys *k, const char *key, size_t len, const char **name);

/* "read", "write" or "admin". */
const char *auth_scope_name(auth_scope s);

#endif /* VW_SERVE_AUTH_H */
