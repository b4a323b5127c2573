/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: qemu-mig migrate, for real, without KVM: a running TCG
 * guest of the real QEMU 7.2, started without qemu-mig (--qmp SOCKET),
 * moves to a loopback sshd "peer" whose QEMU is the same 7.2 or the
 * unpacked 10.0; the refusals leave the source running and nothing on
 * the destination.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "qmrun.h"
#include "sshd.h"
#include "testutil.h"
#include "wrapper/monitor.h"

#define TIMEOUT_US (60 * G_USEC_PER_SEC)

static QmTestSshd *peer;
static char *skip_reason;
static char *qemu;

/**
 * need_all() - the sshd peer and the real QEMU, or skip
 *
 * Return: TRUE when the test can run
 */
static gboolean need_all(void)
{
    if (qemu == NULL) {
        g_test_skip("no qemu-system-x86_64 in PATH");
        return FALSE;
    }
    if (skip_reason != NULL) {
        g_test_skip(skip_reason);
        return FALSE;
    }
    if (peer == NULL)
        peer = qm_test_sshd_start("mig-peer");
    return TRUE;
}

/**
 * Source - a guest QEMU started the way a user without qemu-mig would
 * @pid:    its PID
 * @socket: its QMP socket
 */
typedef struct {
    GPid pid;
    char *socket;
} Source;

/**
 * source_start() - start a running TCG guest with a QMP monitor
 * @name:  its -name, and its socket's name
 * @extra: NULL-terminated further QEMU arguments, or NULL
 *
 * Return: the guest
 */
static Source *source_start(const char *name, const char *const *extra)
{
    Source *s = g_new0(Source, 1);
    g_autofree char *qmp = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_US;

    s->socket = g_strdup_printf("%s/%s.sock", qm_test_tmpdir(), name);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", s->socket);
    for (const char *const *a =
             (const char *const[]){qemu, "-machine", "q35", "-accel", "tcg",
                                   "-m", "64", "-nodefaults", "-display",
                                   "none", "-name", name, "-qmp", qmp, NULL};
         *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    for (const char *const *a = extra; a != NULL && *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_true(
        g_spawn_async(NULL, (char **)argv->pdata, NULL,
                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &s->pid, &error));
    g_assert_no_error(error);
    while (!g_file_test(s->socket, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
    return s;
}

/**
 * source_status() - the source's run state, or NULL when it is gone
 * @s: the source
 *
 * Return: newly allocated status
 */
static char *source_status(Source *s)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMonitor) mon = qm_monitor_connect_unix(
        s->socket, g_get_monotonic_time() + TIMEOUT_US, &error);
    g_autoptr(JsonNode) ret = NULL;

    if (mon == NULL ||
        !qm_monitor_execute(mon, "query-status", NULL,
                            g_get_monotonic_time() + TIMEOUT_US, &ret, &error))
        return NULL;
    return g_strdup(
        json_object_get_string_member(json_node_get_object(ret), "status"));
}

/**
 * source_stop() - kill and reap the source, free it
 * @s: the source
 */
static void source_stop(Source *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    unlink(s->socket);
    g_free(s->socket);
    g_free(s);
}

/**
 * migrate() - run qemu-mig migrate --qmp
 * @s:       the source
 * @dir:     --remote-runtime-dir
 * @remote:  --remote-qemu, or NULL
 * @extra:   NULL-terminated further options, or NULL
 *
 * Return: what happened
 */
static QmRun *migrate(Source *s, const char *dir, const char *remote,
                      const char *const *extra)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    QmRun *run = g_new0(QmRun, 1);
    gint64 start = g_get_monotonic_time();
    int status = 0;

    for (const char *const *a =
             (const char *const[]){
                 qm_test_env("QM_BINARY"), "migrate", "--qmp", s->socket,
                 "--to", peer->alias, "--ssh-config", peer->ssh_config,
                 "--remote-runtime-dir", dir, "--timeout", "60", NULL};
         *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    if (remote != NULL) {
        g_ptr_array_add(argv, "--remote-qemu");
        g_ptr_array_add(argv, (char *)remote);
    }
    for (const char *const *a = extra; a != NULL && *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, 0, NULL, NULL,
                               &run->out, &run->err, &status, &error));
    g_assert_no_error(error);
    run->status =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run->seconds = (g_get_monotonic_time() - start) / 1e6;
    g_test_message("migrate: exit %d in %.2f s; stderr: %s", run->status,
                   run->seconds, run->err);
    return run;
}

/**
 * files_in() - the files in a directory
 * @dir: directory
 *
 * Return: their number (0 when there is no such directory)
 */
static guint files_in(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (d != NULL && g_dir_read_name(d) != NULL)
        n++;
    return n;
}

/**
 * dest_pid() - the destination QEMU's PID, from its pidfile
 * @dir: the destination's runtime directory
 *
 * Return: the PID, 0 when there is no pidfile
 */
static GPid dest_pid(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(name, ".pid")) {
            g_autofree char *path = g_build_filename(dir, name, NULL);
            g_autofree char *text = NULL;

            if (g_file_get_contents(path, &text, NULL, NULL))
                return (GPid)g_ascii_strtoll(text, NULL, 10);
        }
    }
    return 0;
}

/**
 * test_migrate_same() - a running guest moves to the peer: the source
 * QEMU is gone, the destination is a daemon that runs the guest, with
 * its monitor and the guest's record in the destination's directory
 */
static void test_migrate_same(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst1", NULL);
    g_autoptr(QmRun) run = NULL;
    g_autoptr(QmMonitor) mon = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *sock = NULL;
    g_autofree char *record = NULL;
    Source *s;
    GPid pid;

    if (!need_all())
        return;
    s = source_start("tcgvm", NULL);
    run = migrate(s, dir, NULL, NULL);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_nonnull(strstr(run->err, "migrated to"));
    /* the source quit by itself */
    g_assert_cmpint(waitpid(s->pid, NULL, 0), ==, s->pid);
    s->pid = 0;
    pid = dest_pid(dir);
    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(kill(pid, 0), ==, 0);
    {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        while ((name = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(name, ".qmp"))
                sock = g_build_filename(dir, name, NULL);
            if (g_str_has_suffix(name, ".json"))
                record = g_build_filename(dir, name, NULL);
        }
    }
    g_assert_nonnull(sock);
    g_assert_nonnull(record);
    mon = qm_monitor_connect_unix(sock, g_get_monotonic_time() + TIMEOUT_US,
                                  &error);
    g_assert_no_error(error);
    g_assert_true(qm_monitor_execute(mon, "query-status", NULL,
                                     g_get_monotonic_time() + TIMEOUT_US, &ret,
                                     &error));
    g_assert_cmpstr(
        json_object_get_string_member(json_node_get_object(ret), "status"), ==,
        "running");
    kill(pid, SIGKILL);
    g_free(s->socket);
    g_free(s);
}

/**
 * test_refuse_cpu() - a destination QEMU that gives another CPU (10.0's
 * -cpu max is not 7.2's): exit 7 listing the differences, the source
 * runs on as before, nothing is left on the destination
 */
static void test_refuse_cpu(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst2", NULL);
    const char *second = g_getenv("QM_QEMU_SECOND");
    const char *extra[] = {"-cpu", "max", NULL};
    g_autoptr(QmRun) run = NULL;
    g_autofree char *status = NULL;
    Source *s;

    if (!need_all())
        return;
    if (second == NULL || !g_file_test(second, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("QEMU 10.0 is not unpacked (contrib/fetch-qemu)");
        return;
    }
    s = source_start("maxvm", extra);
    run = migrate(s, dir, second, NULL);
    g_assert_cmpint(run->status, ==, 7);
    g_assert_nonnull(strstr(run->err, "another CPU"));
    g_assert_nonnull(strstr(run->err, "source"));
    g_assert_cmpuint(strchr(run->err, '\n') - run->err + 1, ==,
                     strlen(run->err));
    status = source_status(s);
    g_assert_cmpstr(status, ==, "running");
    g_assert_cmpuint(files_in(dir), ==, 0);
    source_stop(s);
}

/**
 * test_refuse_storage() - a disk the destination does not have: exit 7
 * naming it, before anything starts there; the source runs on
 */
static void test_refuse_storage(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst3", NULL);
    g_autofree char *disk =
        g_build_filename(qm_test_tmpdir(), "disk.img", NULL);
    g_autofree char *drive =
        g_strdup_printf("file=%s,format=raw,if=none,id=d0", disk);
    const char *extra[] = {"-drive", drive, NULL};
    g_autoptr(QmRun) run = NULL;
    g_autofree char *status = NULL;
    Source *s;

    if (!need_all())
        return;
    g_assert_true(g_file_set_contents(disk, "", -1, NULL));
    g_assert_cmpint(truncate(disk, 1024 * 1024), ==, 0);
    s = source_start("diskvm", extra);
    /* the source has it open; the "peer" (this machine) no longer does */
    g_assert_cmpint(unlink(disk), ==, 0);
    run = migrate(s, dir, NULL, NULL);
    g_assert_cmpint(run->status, ==, 7);
    g_assert_nonnull(strstr(run->err, disk));
    g_assert_nonnull(strstr(run->err, "shared storage"));
    status = source_status(s);
    g_assert_cmpstr(status, ==, "running");
    g_assert_cmpuint(files_in(dir), ==, 0);
    source_stop(s);
}

/**
 * test_refuse_usage() - a socket no QEMU serves is refused before
 * anything is done
 */
static void test_refuse_usage(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst4", NULL);
    Source fake = {.socket =
                       g_build_filename(qm_test_tmpdir(), "none.sock", NULL)};
    g_autoptr(QmRun) run = NULL;

    if (!need_all())
        return;
    run = migrate(&fake, dir, NULL, NULL);
    g_assert_cmpint(run->status, ==, 2);
    g_assert_nonnull(strstr(run->err, fake.socket));
    g_assert_cmpuint(files_in(dir), ==, 0);
    g_free(fake.socket);
}

int main(int argc, char **argv)
{
    int ret;

    qm_test_init(&argc, &argv);
    qm_test_sshd_available(&skip_reason);
    qemu = g_find_program_in_path("qemu-system-x86_64");
    g_test_add_func("/mig/usage", test_refuse_usage);
    g_test_add_func("/mig/same-qemu", test_migrate_same);
    g_test_add_func("/mig/refuse-cpu", test_refuse_cpu);
    g_test_add_func("/mig/refuse-storage", test_refuse_storage);
    ret = g_test_run();
    g_clear_pointer(&peer, qm_test_sshd_stop);
    return ret;
}
