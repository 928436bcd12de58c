/* Atomic save: whatever goes wrong, the file already at the path stays
 * byte-identical and no temporary file is left behind (except after a
 * crash, where the leftover is a complete index under a temporary name).
 *
 *   - directory without write permission (as root, whom permissions do not
 *     stop, a child process drops to user nobody first)
 *   - write failing mid-file (RLIMIT_FSIZE in a child: the "disk full" path)
 *   - failure just before the rename (test hook)
 *   - a crash just before the rename (a child kills itself with SIGKILL)
 *   - missing directory, destination that is a directory
 */
#include "testutil.h"
#include "vw_internal.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Defined in lib/persist.c: called between the synced temporary file and
 * the rename; a status other than VW_OK fails the save there. */

static char dir[64], target[128];
static unsigned char *old_bytes;
static size_t old_len;
static vw_index *small_ix, *big_ix;

static void check_old_file_intact(const char *what) {
    size_t len;
    unsigned char *now = tu_slurp(target, &len);
    if (!now || len != old_len || memcmp(now, old_bytes, len) != 0) {
        fprintf(stderr, "%s: the existing file changed\n", what);
        check_failures++;
    }
    free(now);
}

/* Names of leftover temporary files in dir; returns how many (the first
 * is copied to `first` if given). */
static int temp_files(char *first, size_t cap) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) {
            if (n++ == 0 && first)
                snprintf(first, cap, "%s/%s", dir, e->d_name);
        }
    if (d)
        closedir(d);
    return n;
}

static void check_no_temp_left(const char *what) {
    if (temp_files(NULL, 0) != 0) {
        fprintf(stderr, "%s: temporary file left behind\n", what);
        check_failures++;
    }
}

static vw_index *build(uint64_t n, uint64_t seed) {
    vw_params p;
    vw_params_default(&p, 32);
    p.M = 8;
    p.ef_construction = 32;
    vw_index *ix = NULL;
    CHECK_OK(vw_index_create(&p, &ix));
    float *x = tu_gaussian(n, 32, seed);
    uint64_t *labels = tu_iota(n);
    CHECK_OK(vw_index_add_batch(ix, x, labels, n, 1, NULL, NULL));
    free(x);
    free(labels);
    return ix;
}

/* Runs fn in a child process; returns its exit status (77 = skipped), or
 * -signal if it was killed. */
static int in_child(int (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int rc = fn();
        fflush(NULL);
        _exit(rc);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 1;
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

static int save_expect_io(void) {
    vw_status st = vw_index_save(big_ix, target);
    if (st != VW_ERR_IO) {
        fprintf(stderr, "save returned %s (%s), want VW_ERR_IO\n", vw_strerror(st),
                vw_last_error_detail());
        return 1;
    }
    printf("  save failed as expected: %s\n", vw_last_error_detail());
    return 0;
}

static int save_as_nobody(void) {
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        perror("setuid(nobody)");
        return 77;
    }
    return save_expect_io();
}

static void read_only_directory(void) {
    CHECK(chmod(dir, 0555) == 0);
    int rc;
    if (geteuid() != 0) {
        rc = save_expect_io();
    } else {
        /* Root ignores directory permissions: try as an unprivileged user. */
        rc = in_child(save_as_nobody);
        if (rc == 77)
            printf("read-only directory: SKIPPED (running as root and cannot switch to user "
                   "nobody)\n");
    }
    CHECK(chmod(dir, 0700) == 0);
    CHECK(rc == 0 || rc == 77);
    check_old_file_intact("read-only directory");
    check_no_temp_left("read-only directory");
}

static int save_with_small_file_limit(void) {
    /* Writes beyond 4 KiB fail with EFBIG instead of raising SIGXFSZ: the
     * same path as a full disk, part way through the file. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        perror("setrlimit");
        return 77;
    }
    return save_expect_io();
}

static void write_fails_midway(void) {
    int rc = in_child(save_with_small_file_limit);
    CHECK(rc == 0);
    check_old_file_intact("write failing midway");
    check_no_temp_left("write failing midway");
}

static int hook_calls;

static vw_status fail_before_rename(const char *tmp) {
    hook_calls++;
    /* The temporary file is complete by now: it loads as the new index. */
    vw_index *ix = NULL;
    CHECK_OK(vw_index_load(tmp, 0, &ix));
    vw_stats s;
    if (ix && vw_index_stats(ix, &s) == VW_OK)
        CHECK(s.count == 500);
    vw_index_free(ix);
    return VW_ERR_IO;
}

static void failure_before_rename(void) {
    vw_persist_before_rename_hook = fail_before_rename;
    CHECK_ST(vw_index_save(big_ix, target), VW_ERR_IO);
    vw_persist_before_rename_hook = NULL;
    CHECK(hook_calls == 1);
    check_old_file_intact("failure before rename");
    check_no_temp_left("failure before rename");
}

static vw_status crash(const char *tmp) {
    (void)tmp;
    raise(SIGKILL);
    return VW_OK;
}

static int save_and_crash(void) {
    vw_persist_before_rename_hook = crash;
    vw_index_save(big_ix, target);
    return 1; /* not reached */
}

static void crash_before_rename(void) {
    int rc = in_child(save_and_crash);
    CHECK(rc == -SIGKILL);
    check_old_file_intact("crash before rename");
    /* The crash leaves the complete new index under its temporary name. */
    char leftover[512];
    CHECK(temp_files(leftover, sizeof leftover) == 1);
    vw_index *ix = NULL;
    CHECK_OK(vw_index_load(leftover, 0, &ix));
    vw_index_free(ix);
    unlink(leftover);
}

static void bad_destinations(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/missing-dir/index.vwi", dir);
    CHECK_ST(vw_index_save(small_ix, path), VW_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "%s/a-directory", dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK_ST(vw_index_save(small_ix, path), VW_ERR_INVALID_ARG);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
    check_no_temp_left("destination is a directory");
    rmdir(path);
    CHECK_ST(vw_index_save(small_ix, ""), VW_ERR_INVALID_ARG);
}

/* And when nothing goes wrong, the new file replaces the old one. */
static void successful_replace(void) {
    CHECK_OK(vw_index_save(big_ix, target));
    check_no_temp_left("successful save");
    vw_index *ix = NULL;
    CHECK_OK(vw_index_load(target, 0, &ix));
    vw_stats s;
    if (ix && vw_index_stats(ix, &s) == VW_OK)
        CHECK(s.count == 500);
    vw_index_free(ix);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/vw_persist_atomic_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(target, sizeof target, "%s/index.vwi", dir);
    small_ix = build(50, 1);
    big_ix = build(500, 2); /* about 100 KB: beyond the 4 KiB file limit */
    CHECK_OK(vw_index_save(small_ix, target));
    old_bytes = tu_slurp(target, &old_len);
    CHECK(old_bytes != NULL);

    read_only_directory();
    write_fails_midway();
    failure_before_rename();
    crash_before_rename();
    bad_destinations();
    check_old_file_intact("bad destinations");
    successful_replace();

    vw_index_free(small_ix);
    vw_index_free(big_ix);
    free(old_bytes);
    unlink(target);
    rmdir(dir);
    return tu_result("test_persist_atomic");
}
