/*
 * tmptree - temporary directory trees for the tests of /proc and /sys
 * readers: a cmocka setup/teardown pair that makes and removes a directory
 * under /tmp (its path is the test state), and a writer that creates parent
 * directories as needed. Include after <cmocka.h>.
 */
#ifndef PK_TESTS_TMPTREE_H
#define PK_TESTS_TMPTREE_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static inline void tmptree_put_n(const char *root, const char *rel, const char *text, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *s = strchr(path + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static inline void tmptree_put(const char *root, const char *rel, const char *text)
{
    tmptree_put_n(root, rel, text, strlen(text));
}

static inline int tmptree_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int tmptree_setup(void **state)
{
    char *dir = malloc(64);
    if (!dir)
        return -1;
    snprintf(dir, 64, "/tmp/pk_test.XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static inline int tmptree_teardown(void **state)
{
    char *dir = *state;
    nftw(dir, tmptree_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return 0;
}

#endif
