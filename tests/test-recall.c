/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: remembered decisions (cache/recall.c) and the file
 * identities they hold by (cache/fileid.c): a record holds for exactly the
 * launch it was made for, and anything it came from changed voids it.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cache/fileid.h"
#include "cache/recall.h"
#include "testutil.h"

/**
 * Fixture - a cache, a stand-in QEMU binary and two files a decision was
 *           made from
 */
typedef struct {
    QmCache *cache;
    char *dir;
    char *qemu;
    char *entry;
    char *config;
    char *inputs;
} Fixture;

/**
 * write_file() - write a file, failing the test on error
 * @path: file
 * @text: contents
 */
static void write_file(const char *path, const char *text)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_assert_no_error(error);
}

/**
 * fixture_set_up() - a fresh directory with a cache and the files
 * @f:    fixture
 * @data: unused
 */
static void fixture_set_up(Fixture *f, gconstpointer data)
{
    static int n;
    g_autoptr(GError) error = NULL;
    g_autofree char *cache_dir = NULL;
    char *argv[] = {"qemu-mig", "--peer", "b", "-cpu", "host", NULL};

    f->dir = g_strdup_printf("%s/recall-%d", qm_test_tmpdir(), n++);
    cache_dir = g_build_filename(f->dir, "cache", NULL);
    g_assert_cmpint(g_mkdir_with_parents(cache_dir, 0700), ==, 0);
    f->cache = qm_cache_open(cache_dir, &error);
    g_assert_no_error(error);
    f->qemu = g_build_filename(f->dir, "qemu-system-x86_64", NULL);
    f->entry = g_build_filename(cache_dir, "peer-0123.json", NULL);
    f->config = g_build_filename(f->dir, "config", NULL);
    write_file(f->qemu, "#!/bin/sh\n");
    write_file(f->entry, "{}\n");
    write_file(f->config, "[defaults]\n");
    f->inputs = qm_recall_inputs(G_N_ELEMENTS(argv) - 1, argv);
}

/**
 * fixture_tear_down() - free the fixture (the directory stays in the
 *                       test's temporary tree)
 * @f:    fixture
 * @data: unused
 */
static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    qm_cache_free(f->cache);
    g_free(f->dir);
    g_free(f->qemu);
    g_free(f->entry);
    g_free(f->config);
    g_free(f->inputs);
}

/**
 * store() - remember a decision made from the fixture's files
 * @f:       fixture
 * @expires: wall-clock expiry
 * @host:    fingerprint to record, or NULL for the real one
 */
static void store(Fixture *f, gint64 expires, const char *host)
{
    g_autoptr(GHashTable) set = qm_fileid_set_new();
    g_autofree char *lines = NULL;
    g_autofree char *real_host = qm_fileid_host(f->qemu);
    g_autoptr(GError) error = NULL;
    QmRecall r = {
        .qemu = f->qemu,
        .host = (char *)(host ? host : real_host),
        .expires = expires,
        .cpu = "EPYC-Rome,avx512f=off,\nodd",
        .machine = NULL,
    };

    qm_fileid_add_file(set, f->entry);
    qm_fileid_add(set, f->config);
    lines = qm_fileid_lines(set);
    r.files = lines;
    g_assert_true(qm_recall_store(f->cache, f->inputs, &r, &error));
    g_assert_no_error(error);
}

/**
 * hit() - does the fixture's launch find its decision?
 * @f:      fixture
 * @inputs: inputs to look up, or NULL for the fixture's
 *
 * Return: TRUE on a hit (whose values are then checked)
 */
static gboolean hit(Fixture *f, const char *inputs)
{
    g_autoptr(QmRecall) r = NULL;

    if (!qm_recall_lookup(f->cache, inputs ? inputs : f->inputs, f->qemu, &r))
        return FALSE;
    g_assert_cmpstr(r->cpu, ==, "EPYC-Rome,avx512f=off,\nodd");
    g_assert_null(r->machine);
    return TRUE;
}

/**
 * test_hit() - stored, then found as stored (newline and all); nothing
 * stored for other inputs
 */
static void test_hit(Fixture *f, gconstpointer data)
{
    char *argv[] = {"qemu-mig", "--peer", "c", "-cpu", "host", NULL};
    g_autofree char *other = qm_recall_inputs(G_N_ELEMENTS(argv) - 1, argv);

    g_assert_false(hit(f, NULL));
    store(f, G_MAXINT64, NULL);
    g_assert_true(hit(f, NULL));
    g_assert_true(hit(f, NULL));
    g_assert_false(hit(f, other));
}

/**
 * test_file_changed() - a cache entry rewritten (same size), a config
 * file removed, or one created where none was: each voids the record
 */
static void test_file_changed(Fixture *f, gconstpointer data)
{
    store(f, G_MAXINT64, NULL);
    g_assert_true(hit(f, NULL));
    /* same size, new inode (an atomic rename, as the cache writes) */
    write_file(f->entry, "[]\n");
    g_assert_false(hit(f, NULL));

    store(f, G_MAXINT64, NULL);
    g_assert_true(hit(f, NULL));
    g_assert_cmpint(g_unlink(f->config), ==, 0);
    g_assert_false(hit(f, NULL));

    /* recorded as absent: its creation is a change */
    store(f, G_MAXINT64, NULL);
    g_assert_true(hit(f, NULL));
    write_file(f->config, "[defaults]\n");
    g_assert_false(hit(f, NULL));
}

/**
 * test_other_file_in_cache() - writing other cache files (an entry for
 * another host, the record itself) leaves the record valid: the cache
 * directory is not among what it holds by
 */
static void test_other_file_in_cache(Fixture *f, gconstpointer data)
{
    g_autofree char *other =
        g_build_filename(qm_cache_dir(f->cache), "peer-4567.json", NULL);

    store(f, G_MAXINT64, NULL);
    write_file(other, "{}\n");
    g_assert_true(hit(f, NULL));
}

/**
 * test_expired() - a record past its expiry (the first peer entry to
 * age) is not used
 */
static void test_expired(Fixture *f, gconstpointer data)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    store(f, now - 1, NULL);
    g_assert_false(hit(f, NULL));
    store(f, now + 3600, NULL);
    g_assert_true(hit(f, NULL));
}

/**
 * test_host_changed() - another local fingerprint (QEMU upgraded, new
 * kernel, microcode) voids it, and so does another QEMU path
 */
static void test_host_changed(Fixture *f, gconstpointer data)
{
    g_autoptr(QmRecall) r = NULL;

    store(f, G_MAXINT64, "qemu=/usr/bin/qemu-system-x86_64 size=1\n");
    g_assert_false(hit(f, NULL));

    store(f, G_MAXINT64, NULL);
    g_assert_true(hit(f, NULL));
    write_file(f->qemu, "#!/bin/sh\n# upgraded\n");
    g_assert_false(hit(f, NULL));

    store(f, G_MAXINT64, NULL);
    g_assert_false(qm_recall_lookup(f->cache, f->inputs, "/usr/bin/true", &r));
}

/**
 * test_inputs() - what the inputs are made of: every argument (argv[0]
 * too: a drop-in is another launch), the environment qemu-mig reads, the
 * working directory; unambiguous for arguments with newlines and "="
 */
static void test_inputs(void)
{
    char *a[] = {"qemu-mig", "-cpu", "host", NULL};
    char *b[] = {"qemu-system-x86_64", "-cpu", "host", NULL};
    char *c[] = {"qemu-mig", "-cpu", "host\narg=4:host", NULL};
    char *d[] = {"qemu-mig", "-cpu", "host", "arg=4:host", NULL};
    g_autofree char *ia = qm_recall_inputs(3, a);
    g_autofree char *ib = qm_recall_inputs(3, b);
    g_autofree char *ic = qm_recall_inputs(3, c);
    g_autofree char *id = qm_recall_inputs(4, d);
    g_autofree char *again = qm_recall_inputs(3, a);
    g_autofree char *env = NULL, *cwd = NULL;
    g_autofree char *old = g_get_current_dir();

    g_assert_cmpstr(ia, ==, again);
    g_assert_cmpstr(ia, !=, ib);
    g_assert_cmpstr(ic, !=, id);
    g_assert_nonnull(strstr(ia, QM_VERSION));
    g_setenv("QEMU_MIG_PEERS", "hostb", TRUE);
    env = qm_recall_inputs(3, a);
    g_unsetenv("QEMU_MIG_PEERS");
    g_assert_cmpstr(ia, !=, env);
    g_assert_cmpint(chdir(qm_test_tmpdir()), ==, 0);
    cwd = qm_recall_inputs(3, a);
    g_assert_cmpint(chdir(old), ==, 0);
    g_assert_cmpstr(ia, !=, cwd);
}

/**
 * test_bad_record() - a record of another format, garbage, or inputs
 * that differ from its name's (a digest collision, a copied file) is
 * ignored, never trusted
 */
static void test_bad_record(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) d = NULL;
    g_autofree char *name = NULL, *path = NULL, *text = NULL;
    const char *n;

    store(f, G_MAXINT64, NULL);
    d = g_dir_open(qm_cache_dir(f->cache), 0, NULL);
    while ((n = g_dir_read_name(d)) != NULL)
        if (g_str_has_prefix(n, "decision-"))
            name = g_strdup(n);
    g_assert_nonnull(name);
    path = g_build_filename(qm_cache_dir(f->cache), name, NULL);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    {
        g_autoptr(GString) s = g_string_new(text);

        g_assert_cmpuint(g_string_replace(s, "format=1", "format=2", 1), ==, 1);
        write_file(path, s->str);
        g_assert_false(hit(f, NULL));
    }
    {
        g_autoptr(GString) s = g_string_new(text);

        g_assert_cmpuint(g_string_replace(s, "arg=1:b", "arg=1:c", 1), ==, 1);
        write_file(path, s->str);
        g_assert_false(hit(f, NULL));
    }
    write_file(path, "\x01\x02 not a key file [");
    g_assert_false(hit(f, NULL));
    write_file(path, text);
    g_assert_true(hit(f, NULL));
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    g_test_add("/recall/hit", Fixture, NULL, fixture_set_up, test_hit,
               fixture_tear_down);
    g_test_add("/recall/file-changed", Fixture, NULL, fixture_set_up,
               test_file_changed, fixture_tear_down);
    g_test_add("/recall/other-file-in-cache", Fixture, NULL, fixture_set_up,
               test_other_file_in_cache, fixture_tear_down);
    g_test_add("/recall/expired", Fixture, NULL, fixture_set_up, test_expired,
               fixture_tear_down);
    g_test_add("/recall/host-changed", Fixture, NULL, fixture_set_up,
               test_host_changed, fixture_tear_down);
    g_test_add_func("/recall/inputs", test_inputs);
    g_test_add("/recall/bad-record", Fixture, NULL, fixture_set_up,
               test_bad_record, fixture_tear_down);
    return g_test_run();
}
