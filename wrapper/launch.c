/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: finding the real QEMU and becoming it.
 *
 * qemu-mig must be invisible once QEMU runs: same PID (libvirt-style
 * supervisors and pidfiles keep working), the same fds the caller gave us
 * (tap devices, -add-fd, a QMP socket), and none of ours.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "launch.h"

/* fds open when main() started: they belong to the caller, and to QEMU. */
static GHashTable *inherited_fds;

/* The launcher (qemu-mig) that exec'd this qemu-mig-core, if one did: as
 * much "ourselves" as /proc/self/exe to a PATH search. */
static char *launcher_path;

/* How the launcher tells the core who it is (removed at once by the
 * core: QEMU's environment is the caller's). */
#define LAUNCHER_ENV "QEMU_MIG_LAUNCHER"

/**
 * open_fds() - the process's open file descriptors
 *
 * Return: new set of fd numbers (GINT_TO_POINTER), never NULL
 */
static GHashTable *open_fds(void)
{
    GHashTable *fds = g_hash_table_new(g_direct_hash, g_direct_equal);
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;

    if (dir == NULL)
        return fds;
    while ((ent = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(ent->d_name, &end, 10);

        if (*end == '\0' && end != ent->d_name && fd != dirfd(dir))
            g_hash_table_add(fds, GINT_TO_POINTER((int)fd));
    }
    closedir(dir);
    return fds;
}

/**
 * qm_launch_record_inherited_fds() - remember the caller's fds
 *
 * Must run first thing in main(), before GLib, libssh or a probe opens
 * anything.
 */
void qm_launch_record_inherited_fds(void)
{
    if (inherited_fds == NULL)
        inherited_fds = open_fds();
}

/**
 * cloexec_ours() - make sure none of our own fds survives exec
 *
 * Everything qemu-mig opens is O_CLOEXEC already; this is the safety net
 * for fds opened inside libraries (GLib's wakeup eventfd, libssh's agent
 * socket) that we do not control.
 */
static void cloexec_ours(void)
{
    g_autoptr(GHashTable) now = open_fds();
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, now);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        int fd = GPOINTER_TO_INT(key);

        /* 0-2 too: if the caller closed stdout, whatever of ours landed
         * on fd 1 must not reach QEMU as its stdout */
        if (inherited_fds != NULL && g_hash_table_contains(inherited_fds, key))
            continue;
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
}

/**
 * same_file() - do two paths name the same inode?
 * @a: first path
 * @b: second path
 *
 * Return: TRUE if both stat() and match
 */
static gboolean same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/**
 * is_self() - is this path qemu-mig itself, launcher or core?
 * @path: candidate
 *
 * Return: TRUE if so
 */
static gboolean is_self(const char *path)
{
    return same_file(path, "/proc/self/exe") ||
           (launcher_path != NULL && same_file(path, launcher_path));
}

/**
 * check_candidate() - classify one candidate QEMU path
 * @path:  candidate
 * @error: set with QM_ERROR_NOT_FOUND or QM_ERROR_NOT_EXECUTABLE
 *
 * Return: TRUE if @path is an executable regular file
 */
static gboolean check_candidate(const char *path, GError **error)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_NOT_FOUND, "local QEMU %s: %s",
                    path, g_strerror(errno));
        return FALSE;
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_NOT_EXECUTABLE,
                    "local QEMU %s is not an executable file", path);
        return FALSE;
    }
    return TRUE;
}

/**
 * qm_launch_resolve() - the absolute path of the QEMU to probe and exec
 * @qemu:  --qemu value, or NULL for qemu-system-x86_64 from PATH
 * @path:  where to store the newly allocated absolute path
 * @error: set with QM_ERROR_NOT_FOUND (exit 127) or
 *         QM_ERROR_NOT_EXECUTABLE (exit 126), or QM_ERROR_USAGE when it
 *         would be qemu-mig itself
 *
 * A PATH search skips qemu-mig itself: an admin may install it as
 * /usr/local/bin/qemu-system-x86_64 in front of the real one, and exec'ing
 * ourselves would loop forever.
 *
 * Return: TRUE on success
 */
gboolean qm_launch_resolve(const char *qemu, char **path, GError **error)
{
    const char *name = qemu ? qemu : "qemu-system-x86_64";
    const char *env_path = g_getenv("PATH");
    g_auto(GStrv) dirs = NULL;
    g_autoptr(GError) first = NULL;

    if (strchr(name, '/') != NULL) {
        g_autofree char *abs = g_canonicalize_filename(name, NULL);

        if (!check_candidate(abs, error))
            return FALSE;
        if (is_self(abs)) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "--qemu %s is qemu-mig itself, not QEMU", name);
            return FALSE;
        }
        *path = g_steal_pointer(&abs);
        return TRUE;
    }

    dirs = g_strsplit(env_path ? env_path : "/usr/bin:/bin", ":", -1);
    for (char **dir = dirs; *dir; dir++) {
        g_autofree char *cand =
            g_canonicalize_filename(name, **dir ? *dir : ".");
        g_autoptr(GError) local = NULL;

        if (!g_file_test(cand, G_FILE_TEST_EXISTS) || is_self(cand))
            continue;
        if (check_candidate(cand, &local)) {
            *path = g_steal_pointer(&cand);
            return TRUE;
        }
        if (first == NULL)
            first = g_steal_pointer(&local);
    }
    if (first != NULL) {
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }
    g_set_error(error, QM_ERROR, QM_ERROR_NOT_FOUND,
                "local QEMU %s not found in PATH", name);
    return FALSE;
}

/**
 * qm_launch_exec() - become QEMU
 * @path:      absolute QEMU path (also used as argv[0])
 * @qemu_argv: QEMU arguments, NULL-terminated
 * @error:     set when exec fails
 *
 * Return: only on failure, FALSE
 */
gboolean qm_launch_exec(const char *path, char *const *qemu_argv,
                        GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    int saved;

    g_ptr_array_add(argv, (char *)path);
    for (char *const *arg = qemu_argv; *arg; arg++)
        g_ptr_array_add(argv, *arg);
    g_ptr_array_add(argv, NULL);

    cloexec_ours();
    execv(path, (char *const *)argv->pdata);
    saved = errno;
    g_set_error(error, QM_ERROR,
                saved == ENOENT ? QM_ERROR_NOT_FOUND : QM_ERROR_NOT_EXECUTABLE,
                "cannot execute %s: %s", path, g_strerror(saved));
    return FALSE;
}

/**
 * qm_launch_take_launcher() - learn (and forget) who exec'd this core
 *
 * Called first thing by qemu-mig-core: the launcher's path is remembered
 * for qm_launch_resolve() and removed from the environment, which QEMU
 * (and every child) gets as the user left it.
 */
void qm_launch_take_launcher(void)
{
    const char *env = g_getenv(LAUNCHER_ENV);

    if (env != NULL && g_path_is_absolute(env))
        launcher_path = g_strdup(env);
    g_unsetenv(LAUNCHER_ENV);
}

/**
 * qm_launch_launcher() - the launcher that exec'd this core
 *
 * Return: its path, or NULL when the core was run directly
 */
const char *qm_launch_launcher(void)
{
    return launcher_path;
}

/**
 * core_path() - where qemu-mig-core is, for the launcher at @self
 * @self: the launcher's own path (/proc/self/exe resolved)
 *
 * Next to the launcher (a build tree), else in libexec relative to it
 * (an installed tree, also under a DESTDIR or a moved prefix), else in
 * the libexec directory it was built for.
 *
 * Return: newly allocated path of an executable file, or NULL
 */
static char *core_path(const char *self)
{
    g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
    char *candidates[3] = {
        dir ? g_build_filename(dir, "qemu-mig-core", NULL) : NULL,
        dir ? g_build_filename(dir, "..", "libexec", "qemu-mig",
                               "qemu-mig-core", NULL)
            : NULL,
        g_build_filename(QM_LIBEXECDIR, "qemu-mig", "qemu-mig-core", NULL),
    };
    char *found = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(candidates); i++) {
        if (found == NULL && candidates[i] != NULL &&
            access(candidates[i], X_OK) == 0)
            found = g_canonicalize_filename(candidates[i], NULL);
        g_free(candidates[i]);
        candidates[i] = NULL;
    }
    return found;
}

/**
 * qm_launch_core() - become qemu-mig-core, with the same arguments
 * @argv:  qemu-mig's whole argument vector, argv[0] included (a drop-in
 *         keeps its name)
 * @error: set with QM_ERROR_FAILED when there is no core or exec fails
 *
 * The launcher's way out of everything but a remembered launch: the core
 * reads the command line again from the start, so every message and exit
 * status is the one it alone would give.  The same PID goes on, as the
 * same PID goes on into QEMU.
 *
 * Return: only on failure, FALSE
 */
gboolean qm_launch_core(char **argv, GError **error)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *core = core_path(self);
    int saved;

    if (core == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "qemu-mig-core not found next to %s nor in %s/qemu-mig "
                    "(a broken installation)",
                    self ? self : "qemu-mig", QM_LIBEXECDIR);
        return FALSE;
    }
    if (self != NULL)
        g_setenv(LAUNCHER_ENV, self, TRUE);
    cloexec_ours();
    execv(core, argv);
    saved = errno;
    g_unsetenv(LAUNCHER_ENV);
    g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "cannot execute %s: %s", core,
                g_strerror(saved));
    return FALSE;
}
