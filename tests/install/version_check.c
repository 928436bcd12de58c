/*
 * version_check.c - the version macros of <vwhnsw.h>, vw_version() and
 * vw_version_number() of the linked library, and the CMake project version
 * (passed in as VW_PROJECT_VERSION) must all agree.
 */
#include "vwhnsw.h"

#include <stdio.h>
#include <string.h>

#ifndef VW_PROJECT_VERSION
#error "build with -DVW_PROJECT_VERSION=\"MAJOR.MINOR.PATCH\""
#endif

int main(void) {
    char macros[64];
    int failed = 0;
    snprintf(macros, sizeof macros, "%d.%d.%d", VW_VERSION_MAJOR, VW_VERSION_MINOR,
             VW_VERSION_PATCH);
    if (strcmp(macros, VW_PROJECT_VERSION) != 0) {
        fprintf(stderr, "header macros say %s, CMake project version is %s\n", macros,
                VW_PROJECT_VERSION);
        failed = 1;
    }
    if (strcmp(vw_version(), VW_PROJECT_VERSION) != 0) {
        fprintf(stderr, "vw_version() returns \"%s\", CMake project version is %s\n", vw_version(),
                VW_PROJECT_VERSION);
        failed = 1;
    }
    if (vw_version_number() != VW_VERSION_NUMBER) {
        fprintf(stderr, "vw_version_number() returns %u, VW_VERSION_NUMBER is %u\n",
                vw_version_number(), (unsigned)VW_VERSION_NUMBER);
        failed = 1;
    }
    if (!failed)
        printf("version %s: header, library and project agree\n", vw_version());
    return failed;
}
