/*
 * private_main.c - load modules late with dlopen(RTLD_LOCAL), as python
 * imports extensions, and run each one's tls_run in turn (cases/private.sh).
 * argv: PORT N CA MODULE...
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc < 5) {
        fprintf(stderr, "usage: %s PORT N CA MODULE...\n", argv[0]);
        return 2;
    }
    for (int m = 4; m < argc; m++) {
        void *h = dlopen(argv[m], RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            printf("dlopen: %s\n", dlerror());
            return 2;
        }
        int (*run)(int, int, const char *) = (int (*)(int, int, const char *))dlsym(h, "tls_run");
        if (run == NULL)
            return 2;
        int rc = run(atoi(argv[1]), atoi(argv[2]), argv[3]);
        printf("module %d: rc=%d\n", m - 3, rc);
        fflush(stdout);
        bad |= rc != 0;
    }
    return bad;
}
