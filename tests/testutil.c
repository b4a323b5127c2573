/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: common set-up.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "testutil.h"

static char *tmpdir;

/**
 * rm_rf() - remove a directory tree (test scratch space only)
 * @path: directory to remove
 */
static void rm_rf(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    if (dir == NULL) {
        g_unlink(path);
        return;
    }
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
            !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            rm_rf(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

/**
 * cleanup_tmpdir() - atexit hook removing the per-process scratch directory
 */
static void cleanup_tmpdir(void)
{
    if (tmpdir != NULL && g_getenv("QM_TEST_KEEP") == NULL)
        rm_rf(tmpdir);
}

/**
 * qm_test_init() - g_test_init() plus a private HOME and XDG directories
 * @argc: main()'s argc
 * @argv: main()'s argv
 *
 * HOME and every XDG_* variable point into a fresh temporary directory, so
 * no test can read or write the user's ~/.ssh or cache.
 */
void qm_test_init(int *argc, char ***argv)
{
    static const char *const xdg[] = {
        "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
        "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
    };
    g_autoptr(GError) error = NULL;

    tmpdir = g_dir_make_tmp("qemu-mig-test-XXXXXX", &error);
    g_assert_no_error(error);
    atexit(cleanup_tmpdir);

    g_autofree char *home = g_build_filename(tmpdir, "home", NULL);
    g_mkdir_with_parents(home, 0700);
    g_setenv("HOME", home, TRUE);
    for (gsize i = 0; i < G_N_ELEMENTS(xdg); i++) {
        g_autofree char *dir = g_build_filename(tmpdir, xdg[i], NULL);

        g_mkdir_with_parents(dir, 0700);
        g_setenv(xdg[i], dir, TRUE);
    }
    g_unsetenv("SSH_AUTH_SOCK");
    g_unsetenv("QEMU_MIG_CACHE_DIR");

    g_test_init(argc, argv, NULL);
}

/**
 * qm_test_tmpdir() - this test process's scratch directory
 *
 * Return: path, valid until exit
 */
const char *qm_test_tmpdir(void)
{
    return tmpdir;
}

/**
 * qm_test_env() - a variable meson sets for every test; aborts if missing
 * @name: variable name
 *
 * Return: its value
 */
const char *qm_test_env(const char *name)
{
    const char *value = g_getenv(name);

    if (value == NULL)
        g_error("%s is not set: run the tests through meson test", name);
    return value;
}

/**
 * qm_test_data_path() - path of a file in tests/data
 * @name: file name
 *
 * Return: newly allocated path
 */
char *qm_test_data_path(const char *name)
{
    return g_build_filename(qm_test_env("QM_TEST_DATA"), name, NULL);
}

/**
 * qm_test_read_data() - contents of a file in tests/data
 * @name: file name
 * @len:  where to store its length, or NULL
 *
 * Return: newly allocated contents; aborts the test when unreadable
 */
char *qm_test_read_data(const char *name, gsize *len)
{
    g_autofree char *path = qm_test_data_path(name);
    g_autoptr(GError) error = NULL;
    char *contents = NULL;

    g_file_get_contents(path, &contents, len, &error);
    g_assert_no_error(error);
    return contents;
}

/**
 * qm_test_isolated() - run the calling test's body in a subprocess
 *
 * A failure in the child (an assertion, or a CRITICAL made fatal) fails
 * only this test; the parent goes on with the others.
 *
 * Return: TRUE in the child (run the body), FALSE in the parent, which has
 * already recorded the child's verdict
 */
gboolean qm_test_isolated(void)
{
    if (g_test_subprocess())
        return TRUE;
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    if (!g_test_trap_has_passed()) {
        g_test_message("failed in a subprocess; its stderr is above");
        g_test_fail();
    }
    return FALSE;
}

/**
 * qm_test_keep_going() - add --keep-going to the test program's arguments
 * @argc: main()'s argc
 * @argv: main()'s argv; replaced by a new vector that lives until exit
 *
 * A test that fails in its subprocess (see qm_test_isolated()) is recorded
 * with g_test_fail(); without --keep-going GLib would stop the whole
 * program there, hiding the results of every later test.
 */
void qm_test_keep_going(int *argc, char ***argv)
{
    static char keep[] = "--keep-going";
    char **out = g_new0(char *, *argc + 2);

    out[0] = (*argv)[0];
    out[1] = keep;
    for (int i = 1; i < *argc; i++)
        out[i + 1] = (*argv)[i];
    *argc += 1;
    *argv = out;
}

/**
 * qm_test_slow() - how many times slower than usual qemu-mig runs here
 *
 * QM_TEST_SLOW=N (a whole number, 1 to 100) when the qemu-mig the tests
 * run is slowed down on purpose, as under valgrind (.ci/sanitize).  Tests
 * with a hard time bound on a qemu-mig run multiply the bound by it, and
 * the --timeout they give qemu-mig with it, so the bound still means what
 * it says relative to that timeout.
 *
 * Return: N, or 1 when unset
 */
guint qm_test_slow(void)
{
    const char *value = g_getenv("QM_TEST_SLOW");
    guint64 n = 1;

    if (value != NULL && *value != '\0' &&
        !g_ascii_string_to_unsigned(value, 10, 1, 100, &n, NULL))
        g_error("QM_TEST_SLOW=%s: want a whole number from 1 to 100", value);
    return (guint)n;
}

/**
 * qm_test_cmp_strptr() - g_ptr_array_sort() order for char * elements
 * @a: pointer to the first string pointer
 * @b: pointer to the second string pointer
 *
 * Return: strcmp() order
 */
int qm_test_cmp_strptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/**
 * qm_test_count_fds() - descriptors open in this process
 *
 * Return: entries in /proc/self/fd (including the one reading it)
 */
guint qm_test_count_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    guint n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir) != NULL)
        n++;
    return n;
}

/**
 * qm_test_run_tty() - run a program whose stderr is a terminal
 * @argv:     NULL-terminated command
 * @envp:     its environment, or NULL for ours
 * @deadline: g_get_monotonic_time() bound
 * @tty:      where to store what it wrote to the terminal
 *
 * A pseudo-terminal opened here (posix_openpt), read until its last
 * writer is gone; stdin is ours, stdout goes to /dev/null (ours is the
 * test's TAP stream).
 *
 * Return: the wait status
 */
int qm_test_run_tty(const char *const *argv, const char *const *envp,
                    gint64 deadline, char **tty)
{
    g_autoptr(GError) error = NULL;
    GString *out = g_string_new(NULL);
    int master, slave, null, status = 0;
    GPid pid;

    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(slave, >=, 0);
    null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    g_assert_cmpint(null, >=, 0);
    g_assert_true(g_spawn_async_with_fds(NULL, (char **)argv, (char **)envp,
                                         G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                         &pid, -1, null, slave, &error));
    g_assert_no_error(error);
    close(slave);
    close(null);
    /* the terminal reads EIO once nobody has it open any more */
    for (;;) {
        char buf[4096];
        ssize_t n = read(master, buf, sizeof(buf));

        if (n <= 0)
            break;
        g_string_append_len(out, buf, n);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
    close(master);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    *tty = g_string_free(out, FALSE);
    return status;
}
