/* touch_mem MIB [EXIT]: allocates MIB MiB, writes every page, exits with EXIT.
 * Its peak RSS is MIB MiB plus the small base of a C program. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    int code = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
    size_t n = (size_t)mib << 20;
    volatile char *p = malloc(n);
    if (!p)
        return 99;
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < n; i += (size_t)page)
        p[i] = 1;
    free((void *)p);
    return code;
}
