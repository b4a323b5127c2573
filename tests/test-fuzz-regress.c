/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: replay every input the fuzzers ever crashed on.
 *
 * tests/fuzz/regress/<target>/<file> is fed to the same entry function the
 * libFuzzer target tests/fuzz/fuzz-<target>.c runs, compiled here without
 * the fuzzer runtime; a fuzz invariant that fails aborts the test.  Add a
 * file there for every crash a fuzzer finds (see tests/fuzz/README.md).
 */
#define QM_FUZZ_NO_LIBFUZZER 1

#include "fuzz/fuzz-argv.c"
#include "fuzz/fuzz-cache.c"
#include "fuzz/fuzz-qmp.c"

#include "testutil.h"

typedef int (*FuzzEntry)(const uint8_t *data, size_t size);

typedef struct {
    FuzzEntry entry;
    char *path;
} RegressCase;

/**
 * case_free() - free a RegressCase
 * @data: case
 */
static void case_free(gpointer data)
{
    RegressCase *c = data;

    g_free(c->path);
    g_free(c);
}

/**
 * test_replay() - run one regression input
 * @data: RegressCase
 */
static void test_replay(gconstpointer data)
{
    const RegressCase *c = data;
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(c->path, &text, &len, &error));
    g_assert_no_error(error);
    g_assert_cmpint(c->entry((const uint8_t *)text, len), ==, 0);
}

/**
 * add_target() - one test per file of a target's regression directory
 * @target: "argv", "qmp" or "cache"
 * @entry:  its entry function
 *
 * Return: number of files found
 */
static guint add_target(const char *target, FuzzEntry entry)
{
    g_autofree char *dir_path = g_build_filename(
        qm_test_env("G_TEST_SRCDIR"), "fuzz", "regress", target, NULL);
    g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        if (name[0] != '.')
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, qm_test_cmp_strptr);
    for (guint i = 0; i < names->len; i++) {
        RegressCase *c = g_new0(RegressCase, 1);
        g_autofree char *test_path = NULL;

        c->entry = entry;
        c->path = g_build_filename(dir_path, g_ptr_array_index(names, i), NULL);
        test_path = g_strdup_printf("/fuzz-regress/%s/%s", target,
                                    (char *)g_ptr_array_index(names, i));
        g_test_add_data_func_full(test_path, c, test_replay, case_free);
    }
    return names->len;
}

/**
 * test_seeds_sane() - the targets run on a well-formed input of each kind
 *
 * Keeps the entry functions exercised even while regress/ is empty.
 */
static void test_seeds_sane(void)
{
    static const char argv_words[] = "-cpu\0host,+pcid\0-machine\0q35";

    g_assert_cmpint(
        qm_fuzz_argv((const uint8_t *)argv_words, sizeof(argv_words) - 1), ==,
        0);
    g_assert_cmpint(qm_fuzz_qmp((const uint8_t *)"{\"QMP\": {}}\n", 12), ==, 0);
    g_assert_cmpint(qm_fuzz_cache((const uint8_t *)"{}", 2), ==, 0);
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    g_test_add_func("/fuzz-regress/entry-points", test_seeds_sane);
    add_target("argv", qm_fuzz_argv);
    add_target("qmp", qm_fuzz_qmp);
    add_target("cache", qm_fuzz_cache);
    return g_test_run();
}
