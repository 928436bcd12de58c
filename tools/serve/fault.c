/*
 * fault.c - the SIGBUS guard of vw-serve (see fault.h).
 */
#include "fault.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static _Thread_local volatile sig_atomic_t guarded;
static _Thread_local volatile sig_atomic_t thread_faults;
static atomic_int loads_running;
static atomic_uint_fast64_t total_faults;
static uintptr_t page_size;

static void restore_default(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, NULL);
}

/* Runs on the faulting thread. Everything here is async-signal-safe:
 * mmap and sigaction are plain system calls, the counters lock-free. */
static void on_sigbus(int sig, siginfo_t *si, void *context) {
    (void)sig;
    (void)context;
    int saved_errno = errno;
    int ours = (guarded || atomic_load(&loads_running) > 0) && si->si_code == BUS_ADRERR;
    void *page = (void *)((uintptr_t)si->si_addr & ~(page_size - 1));
    if (!ours || mmap(page, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
                     MAP_FAILED) {
        restore_default(); /* the access repeats and ends the process, as without us */
    } else {
        thread_faults++;
        atomic_fetch_add(&total_faults, 1);
    }
    errno = saved_errno;
}

int fault_guard_install(void) {
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGBUS, &sa, NULL);
}

void fault_guard_enter(void) {
    thread_faults = 0;
    guarded = 1;
}

unsigned fault_guard_leave(void) {
    guarded = 0;
    return (unsigned)thread_faults;
}

void fault_guard_loading(int delta) {
    atomic_fetch_add(&loads_running, delta);
}

uint64_t fault_guard_total(void) {
    return atomic_load(&total_faults);
}
