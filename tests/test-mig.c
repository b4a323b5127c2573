/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: qemu-mig migrate, for real, without KVM: a running TCG
 * guest of the real QEMU 7.2, started without qemu-mig (--qmp SOCKET),
 * moves to a loopback sshd "peer" whose QEMU is the same 7.2 or the
 * unpacked 10.0; the refusals leave the source running and nothing on
 * the destination.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "kvmutil.h"
#include "qmrun.h"
#include "sshd.h"
#include "testutil.h"
#include "wrapper/monitor.h"

/* bounds, scaled like every other (qemu-mig under valgrind is slower) */
#define TIMEOUT_US ((gint64)60 * G_USEC_PER_SEC * qm_test_slow())

static QmTestSshd *peer;
static char *skip_reason;
static char *qemu;
/* the sources' -accel: tcg, but for the KVM variants */
static const char *source_accel = "tcg";

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
 * timeout_s() - qemu-mig's --timeout for these tests, scaled
 *
 * Return: static text
 */
static const char *timeout_s(void)
{
    static char text[16];

    g_snprintf(text, sizeof(text), "%u", 60 * qm_test_slow());
    return text;
}

/**
 * die_with_parent() - in a child: go when the test goes, even on an
 *                     assertion's abort
 * @data: unused
 */
static void die_with_parent(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/**
 * kill_dest() - g_test_queue_destroy() callback: kill what a test left
 *               running in a destination directory, by its pidfiles
 * @dir: the destination's runtime directory (freed)
 */
static void kill_dest(gpointer dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;

        if (g_str_has_suffix(name, ".pid") &&
            g_file_get_contents(path, &text, NULL, NULL))
            kill((pid_t)g_ascii_strtoll(text, NULL, 10), SIGKILL);
    }
    g_free(dir);
}

/**
 * Source - a guest QEMU started the way a user without qemu-mig would
 * @pid:    its PID
 * @socket: its QMP socket
 * @out:    its stdout (-serial stdio), or -1
 */
typedef struct {
    GPid pid;
    char *socket;
    int out;
} Source;

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
 * source_start() - start a running TCG guest with a QMP monitor
 * @name:  its -name, and its socket's name
 * @extra: NULL-terminated further QEMU arguments, or NULL
 * @piped: keep its stdout in @out rather than discard it
 *
 * Return: the guest
 */
static Source *source_start(const char *name, const char *const *extra,
                            gboolean piped)
{
    Source *s = g_new0(Source, 1);
    g_autofree char *qmp = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_US;

    s->socket = g_strdup_printf("%s/%s.sock", qm_test_tmpdir(), name);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", s->socket);
    for (const char *const *a =
             (const char *const[]){qemu, "-machine", "q35", "-accel",
                                   source_accel, "-m", "64", "-nodefaults",
                                   "-display", "none", "-name", name, "-qmp",
                                   qmp, NULL};
         *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    for (const char *const *a = extra; a != NULL && *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    s->out = -1;
    g_assert_true(g_spawn_async_with_pipes(
        NULL, (char **)argv->pdata, NULL,
        G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES |
            (piped ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL),
        die_with_parent, NULL, &s->pid, NULL, piped ? &s->out : NULL, NULL,
        &error));
    g_assert_no_error(error);
    /*
     * QEMU creates the monitor's socket before it opens drives: only a
     * monitor that answers means the whole command line took effect
     */
    for (;;) {
        g_autofree char *status = NULL;

        if (g_file_test(s->socket, G_FILE_TEST_EXISTS) &&
            (status = source_status(s)) != NULL)
            break;
        g_assert_cmpint(waitpid(s->pid, NULL, WNOHANG), ==, 0);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
    return s;
}

/**
 * source_stop() - kill and reap the source, free it
 * @s: the source
 */
static void source_stop(Source *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    if (s->out >= 0)
        close(s->out);
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

    g_test_queue_destroy(kill_dest, g_strdup(dir));
    for (const char *const *a =
             (const char *const[]){
                 qm_test_env("QM_BINARY"), "migrate", "--qmp", s->socket,
                 "--to", peer->alias, "--ssh-config", peer->ssh_config,
                 "--remote-runtime-dir", dir, "--timeout", timeout_s(), NULL};
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
    s = source_start("tcgvm", NULL, FALSE);
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
 * Rounds - what the counter guest printed on its serial port
 * @buf:   bytes not yet a whole line
 * @lines: whole report lines seen
 * @first: the first round seen
 * @last:  the last round seen
 * @cpuid: the CPUID words of the last line
 */
typedef struct {
    GString *buf;
    guint lines;
    guint64 first;
    guint64 last;
    char *cpuid;
} Rounds;

/**
 * rounds_read() - read the counter guest's lines until there are @want
 *                 more, the end of the stream, or the deadline
 * @r:        where lines are counted
 * @fd:       the serial port's stream
 * @want:     how many more lines to wait for (G_MAXUINT: to the end)
 * @deadline: g_get_monotonic_time() bound
 */
static void rounds_read(Rounds *r, int fd, guint want, gint64 deadline)
{
    guint had = r->lines;

    if (r->buf == NULL)
        r->buf = g_string_new(NULL);
    while (r->lines - had < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        char chunk[4096];
        ssize_t n;
        char *nl;

        if (left <= 0 || poll(&p, 1, (int)MIN(left, 1000)) < 0)
            break;
        if (p.revents == 0)
            continue;
        n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        g_string_append_len(r->buf, chunk, n);
        while ((nl = strchr(r->buf->str, '\n')) != NULL) {
            g_autofree char *line = g_strndup(r->buf->str, nl - r->buf->str);
            const char *at = strstr(line, "QMCPU ");
            const char *words = strstr(line, " cpuid:");

            g_string_erase(r->buf, 0, nl - r->buf->str + 1);
            /* whole lines only: a console joined mid-line starts with half */
            if (at == NULL || words == NULL || strstr(line, " END") == NULL)
                continue;
            r->last = g_ascii_strtoull(at + strlen("QMCPU "), NULL, 16);
            if (r->lines++ == 0)
                r->first = r->last;
            g_free(r->cpuid);
            r->cpuid = g_strdup(words);
        }
    }
}

/**
 * rounds_clear() - free what rounds_read() kept
 * @r: rounds
 */
static void rounds_clear(Rounds *r)
{
    if (r->buf != NULL)
        g_string_free(r->buf, TRUE);
    g_free(r->cpuid);
    memset(r, 0, sizeof(*r));
}

/**
 * machine_type() - the machine type a QEMU runs, through its monitor
 * @socket: its QMP socket
 *
 * Return: newly allocated QOM type, e.g. "pc-q35-7.2-machine"
 */
static char *machine_type(const char *socket)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMonitor) mon = qm_monitor_connect_unix(
        socket, g_get_monotonic_time() + TIMEOUT_US, &error);
    g_autoptr(JsonNode) args = json_from_string(
        "{\"path\": \"/machine\", \"property\": \"type\"}", NULL);
    g_autoptr(JsonNode) ret = NULL;

    g_assert_no_error(error);
    g_assert_true(qm_monitor_execute(mon, "qom-get", args,
                                     g_get_monotonic_time() + TIMEOUT_US, &ret,
                                     &error));
    g_assert_no_error(error);
    return g_strdup(json_node_get_string(ret));
}

/**
 * test_running_guest() - a guest that counts on its serial port (-serial
 * stdio, started without qemu-mig as "-machine q35") moves while it
 * counts: on the destination its console is a socket in the runtime
 * directory, the count goes on from where it was (not from 1) and keeps
 * rising after qemu-mig and its SSH sessions are gone, the guest's CPUID
 * words are the ones it saw on the source, and the destination runs the
 * machine type the source resolved "q35" to, whatever its own QEMU calls
 * q35
 * @data: "7.2" for the same QEMU as the destination, "10.0" for the
 *        unpacked QEMU 10.0; "kvm/7.2", "kvm/10.0" the same under KVM
 */
static void test_running_guest(gconstpointer data)
{
    gboolean kvm = g_str_has_prefix(data, "kvm/");
    const char *which = kvm ? (const char *)data + strlen("kvm/") : data;
    const char *second = g_getenv("QM_QEMU_SECOND");
    const char *remote = strcmp(which, "10.0") == 0 ? second : NULL;
    g_autofree char *dir = g_strdup_printf("%s/dst-run-%s%s", qm_test_tmpdir(),
                                           kvm ? "kvm-" : "", which);
    g_autofree char *image = NULL;
    g_autofree char *reason = NULL;
    g_autofree char *name =
        g_strdup_printf("countvm%s%s", kvm ? "-kvm-" : "", which);
    g_autofree char *src_type = NULL;
    g_autofree char *dst_type = NULL;
    g_autofree char *serial = NULL;
    g_autofree char *qmp = NULL;
    g_autoptr(QmRun) run = NULL;
    Rounds before = {0}, after = {0};
    gint64 deadline;
    Source *s;
    GPid pid;
    int fd;

    if (!need_all())
        return;
    if (remote != NULL && !g_file_test(remote, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("QEMU 10.0 is not unpacked (contrib/fetch-qemu)");
        return;
    }
    if (!qm_kvm_build_guest(&image, &reason)) {
        g_test_skip(reason);
        return;
    }
    if (kvm) {
        int dev = open("/dev/kvm", O_RDWR | O_CLOEXEC);

        if (dev < 0) {
            g_autofree char *why =
                g_strdup_printf("/dev/kvm: %s", g_strerror(errno));

            g_test_skip(why);
            return;
        }
        close(dev);
        source_accel = "kvm";
    }
    {
        const char *extra[] = {"-kernel", image,        "-serial",
                               "stdio",   "-no-reboot", NULL};

        s = source_start(name, extra, TRUE);
    }
    source_accel = "tcg";
    src_type = machine_type(s->socket);
    g_assert_true(g_str_has_prefix(src_type, "pc-q35-"));
    deadline = g_get_monotonic_time() + TIMEOUT_US;
    rounds_read(&before, s->out, 2, deadline);
    g_assert_cmpuint(before.lines, >=, 2);

    run = migrate(s, dir, remote, NULL);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpint(waitpid(s->pid, NULL, 0), ==, s->pid);
    s->pid = 0;
    /* what the source printed until it quit */
    rounds_read(&before, s->out, G_MAXUINT,
                g_get_monotonic_time() + TIMEOUT_US);

    pid = dest_pid(dir);
    g_assert_cmpint(pid, >, 0);
    {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *f;

        while ((f = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(f, ".serial0"))
                serial = g_build_filename(dir, f, NULL);
            if (g_str_has_suffix(f, ".qmp"))
                qmp = g_build_filename(dir, f, NULL);
        }
    }
    g_assert_nonnull(serial);
    g_assert_nonnull(strstr(run->err, serial));
    g_assert_nonnull(qmp);
    dst_type = machine_type(qmp);
    g_assert_cmpstr(dst_type, ==, src_type);
    {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};

        g_assert_cmpuint(strlen(serial), <, sizeof(sun.sun_path));
        strcpy(sun.sun_path, serial);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==,
                        0);
    }
    rounds_read(&after, fd, 3, g_get_monotonic_time() + TIMEOUT_US);
    close(fd);
    g_test_message("source rounds %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                   ", destination %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                   before.first, before.last, after.first, after.last);
    g_assert_cmpuint(after.lines, >=, 3);
    /* the same count, going on: not a guest that booted again */
    g_assert_cmpuint(after.first, >, before.last);
    g_assert_cmpuint(after.last, >, after.first);
    g_assert_cmpstr(after.cpuid, ==, before.cpuid);
    /* the daemon outlived qemu-mig and every SSH session */
    g_assert_cmpint(kill(pid, 0), ==, 0);
    rounds_clear(&before);
    rounds_clear(&after);
    source_stop(s);
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
    s = source_start("maxvm", extra, FALSE);
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
    s = source_start("diskvm", extra, FALSE);
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

/**
 * random_ram() - a file of random bytes to back guest RAM: a migration
 *                must send every page of it (none is zero)
 * @mib: size in MiB
 *
 * Return: newly allocated path
 */
static char *random_ram(guint mib)
{
    g_autofree char *path = g_strdup_printf("%s/ram-%u", qm_test_tmpdir(), mib);
    g_autofree char *data = g_malloc((gsize)mib << 20);

    if (g_file_test(path, G_FILE_TEST_EXISTS))
        return g_steal_pointer(&path);
    for (gsize i = 0; i < ((gsize)mib << 20) / sizeof(guint32); i++)
        ((guint32 *)data)[i] = g_random_int();
    g_assert_true(g_file_set_contents(path, data, (gssize)mib << 20, NULL));
    return g_steal_pointer(&path);
}

/**
 * Slow - a source whose migration takes seconds, watched through a
 *        second monitor of its own
 * @src:      the source
 * @observer: its second QMP socket, for the test
 */
typedef struct {
    Source *src;
    char *observer;
} Slow;

/**
 * slow_start() - a running guest with 64 MiB of random RAM
 * @name: its name
 *
 * Return: the source
 */
static Slow *slow_start(const char *name)
{
    g_autofree char *ram = random_ram(64);
    g_autofree char *backend = g_strdup_printf(
        "memory-backend-file,id=m0,size=64M,mem-path=%s,share=off", ram);
    Slow *s = g_new0(Slow, 1);
    g_autofree char *obs = NULL;

    s->observer = g_strdup_printf("%s/%s-obs.sock", qm_test_tmpdir(), name);
    obs = g_strdup_printf("unix:%s,server=on,wait=off", s->observer);
    {
        const char *extra[] = {
            "-object", backend, "-machine", "memory-backend=m0",
            "-qmp",    obs,     NULL};

        s->src = source_start(name, extra, FALSE);
    }
    return s;
}

/**
 * observe() - the source's migration status, through the test's monitor
 * @s: the source
 *
 * Return: newly allocated status ("none", "active", ...)
 */
static char *observe(Slow *s)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMonitor) mon = qm_monitor_connect_unix(
        s->observer, g_get_monotonic_time() + TIMEOUT_US, &error);
    g_autoptr(JsonNode) ret = NULL;

    g_assert_no_error(error);
    g_assert_true(qm_monitor_execute(mon, "query-migrate", NULL,
                                     g_get_monotonic_time() + TIMEOUT_US, &ret,
                                     &error));
    return g_strdup(json_object_get_string_member_with_default(
        json_node_get_object(ret), "status", "none"));
}

/**
 * start_migrate() - start qemu-mig migrate in the background
 * @src:   the source
 * @dir:   --remote-runtime-dir
 * @extra: NULL-terminated further options
 * @err:   where to store its stderr pipe
 *
 * Return: its PID
 */
static GPid start_migrate(Source *src, const char *dir,
                          const char *const *extra, int *err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    GPid pid;

    g_test_queue_destroy(kill_dest, g_strdup(dir));
    for (const char *const *a =
             (const char *const[]){
                 qm_test_env("QM_BINARY"), "migrate", "--qmp", src->socket,
                 "--to", peer->alias, "--ssh-config", peer->ssh_config,
                 "--remote-runtime-dir", dir, "--timeout", timeout_s(), NULL};
         *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    for (const char *const *a = extra; a != NULL && *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_async_with_pipes(
        NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
        &pid, NULL, NULL, err, &error));
    g_assert_no_error(error);
    return pid;
}

/**
 * wait_active() - wait until the source reports its migration active
 * @s: the source
 */
static void wait_active(Slow *s)
{
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_US;

    for (;;) {
        g_autofree char *status = observe(s);

        if (strcmp(status, "active") == 0)
            return;
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50000);
    }
}

/**
 * read_all() - everything left on a pipe, then close it
 * @fd: pipe
 *
 * Return: newly allocated text
 */
static char *read_all(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        g_string_append_len(s, buf, n);
    close(fd);
    return g_string_free(s, FALSE);
}

/**
 * assert_undone() - the source runs on (its migration cancelled or
 * failed), and nothing is left on the destination
 * @s:   the source
 * @dir: the destination's runtime directory
 */
static void assert_undone(Slow *s, const char *dir)
{
    g_autofree char *status = source_status(s->src);
    g_autofree char *mig = observe(s);

    g_assert_cmpstr(status, ==, "running");
    g_assert_true(strcmp(mig, "cancelled") == 0 || strcmp(mig, "failed") == 0);
    g_assert_cmpuint(files_in(dir), ==, 0);
}

/**
 * slow_stop() - stop and free a slow source
 * @s: the source
 */
static void slow_stop(Slow *s)
{
    unlink(s->observer);
    g_free(s->observer);
    source_stop(s->src);
    g_free(s);
}

/**
 * test_json_events() - --json: stdout is one JSON event per line, the
 * steps in order, progress with figures while the RAM moves, and a last
 * "completed" event naming the destination's QEMU; a refusal ends in a
 * "failed" event with the exit status
 */
static void test_json_events(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst8", NULL);
    const char *extra[] = {"--bandwidth", "32M", "--json", NULL};
    static const char *const steps[] = {"source",    "storage",  "destination",
                                        "preflight", "transfer", "switch-over"};
    g_autoptr(QmRun) run = NULL;
    g_auto(GStrv) lines = NULL;
    guint next = 0, progress = 0, n;
    JsonObject *last = NULL;
    g_autoptr(JsonNode) last_node = NULL;
    Slow *s;

    if (!need_all())
        return;
    s = slow_start("jsonvm");
    run = migrate(s->src, dir, NULL, extra);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpint(waitpid(s->src->pid, NULL, 0), ==, s->src->pid);
    s->src->pid = 0;
    lines = g_strsplit(run->out, "\n", -1);
    n = g_strv_length(lines);
    g_assert_cmpuint(n, >=, 2);
    g_assert_cmpstr(lines[n - 1], ==, "");
    for (guint i = 0; i + 1 < n; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) node = json_from_string(lines[i], &error);
        JsonObject *o;
        const char *event;

        g_assert_no_error(error);
        o = json_node_get_object(node);
        event = json_object_get_string_member(o, "event");
        if (strcmp(event, "step") == 0) {
            g_assert_cmpuint(next, <, G_N_ELEMENTS(steps));
            g_assert_cmpstr(json_object_get_string_member(o, "step"), ==,
                            steps[next]);
            next++;
        } else if (strcmp(event, "progress") == 0) {
            double pc = json_object_get_double_member(o, "percent");

            /* the transfer runs between its step and the switch-over */
            g_assert_cmpuint(next, ==, 5);
            g_assert_cmpfloat(pc, >=, 0);
            g_assert_cmpfloat(pc, <=, 100);
            /* QEMU's figures come with the "active" state */
            if (strcmp(json_object_get_string_member(o, "status"), "active") ==
                0) {
                g_assert_cmpint(json_object_get_int_member(o, "total"), >=,
                                64 << 20);
                progress++;
            }
        } else {
            g_assert_cmpuint(i, ==, n - 2);
            last_node = json_node_copy(node);
        }
    }
    g_assert_cmpuint(next, ==, G_N_ELEMENTS(steps));
    /* 64 MiB of random RAM at 32 MiB/s: a second or two, shown once a
     * second */
    g_assert_cmpuint(progress, >=, 1);
    g_assert_nonnull(last_node);
    last = json_node_get_object(last_node);
    g_assert_cmpstr(json_object_get_string_member(last, "event"), ==,
                    "completed");
    g_assert_cmpint(json_object_get_int_member(last, "pid"), ==, dest_pid(dir));
    g_assert_cmpint(json_object_get_int_member(last, "bytes"), >=, 48 << 20);
    /* stderr has the same summary line as without --json */
    g_assert_nonnull(strstr(run->err, "migrated to"));
    slow_stop(s);

    {
        g_autofree char *dir2 =
            g_build_filename(qm_test_tmpdir(), "dst8b", NULL);
        const char *json[] = {"--json", NULL};
        Source fake = {
            .socket = g_build_filename(qm_test_tmpdir(), "none.sock", NULL)};
        g_autoptr(QmRun) bad = migrate(&fake, dir2, NULL, json);
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) node = NULL;
        JsonObject *o;

        g_auto(GStrv) got = NULL;
        guint k;

        g_assert_cmpint(bad->status, ==, 2);
        got = g_strsplit(bad->out, "\n", -1);
        k = g_strv_length(got);
        g_assert_cmpuint(k, >=, 2);
        g_assert_cmpstr(got[k - 1], ==, "");
        node = json_from_string(got[k - 2], &error);
        g_assert_no_error(error);
        o = json_node_get_object(node);
        g_assert_cmpstr(json_object_get_string_member(o, "event"), ==,
                        "failed");
        g_assert_cmpint(json_object_get_int_member(o, "exit"), ==, 2);
        g_assert_nonnull(
            strstr(json_object_get_string_member(o, "error"), fake.socket));
        g_free(fake.socket);
    }
}

/**
 * test_progress_tty() - on a terminal, stderr carries a progress line
 * rewritten in place (carriage return, erase), cleared before the
 * summary line; not on a pipe (every other test)
 */
static void test_progress_tty(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst9", NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *tty = NULL;
    int status;
    Slow *s;

    if (!need_all())
        return;
    s = slow_start("ttyvm");
    g_test_queue_destroy(kill_dest, g_strdup(dir));
    for (const char *const *a =
             (const char *const[]){qm_test_env("QM_BINARY"), "migrate", "--qmp",
                                   s->src->socket, "--to", peer->alias,
                                   "--ssh-config", peer->ssh_config,
                                   "--remote-runtime-dir", dir, "--timeout",
                                   timeout_s(), "--bandwidth", "32M", NULL};
         *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    status = qm_test_run_tty((const char *const *)argv->pdata, NULL,
                             g_get_monotonic_time() + TIMEOUT_US, &tty);
    {
        g_autofree char *shown = g_strescape(tty, NULL);

        g_test_message("terminal: %s", shown);
    }
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(tty, "\r\033[Kqemu-mig: comparing the vCPUs"));
    g_assert_nonnull(strstr(tty, "% of 64."));
    g_assert_nonnull(strstr(tty, "MiB/s"));
    /* cleared, then the notes and the summary, each a line of its own */
    {
        const char *after = g_strrstr(tty, "\033[K") + strlen("\033[K");

        g_assert_null(strstr(after, "% of"));
        g_assert_null(strchr(after, '\033'));
        g_assert_nonnull(strstr(after, "qemu-mig: migrated to"));
        g_assert_true(g_str_has_suffix(after, "\r\n"));
    }
    g_assert_cmpint(waitpid(s->src->pid, NULL, 0), ==, s->src->pid);
    s->src->pid = 0;
    slow_stop(s);
}

/**
 * test_fault_load() - a destination that cannot load what the source sent
 * (it lacks a device the source has, which no vCPU comparison sees): the
 * source has sent it all and is paused; qemu-mig continues it, once the
 * destination is known gone, and says so; nothing is left there
 */
static void test_fault_load(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst11", NULL);
    g_autofree char *script =
        g_build_filename(qm_test_tmpdir(), "qemu-without-rng", NULL);
    g_autofree char *text = g_strdup_printf(
        "#!/bin/sh\n"
        "# the destination lacks the source's -device virtio-rng-pci\n"
        "first=1; prev=\n"
        "for a do\n"
        "  if [ -n \"$first\" ]; then set --; first=; fi\n"
        "  if [ \"$prev\" = -device ] && [ \"$a\" = virtio-rng-pci ]; then\n"
        "    prev=; continue\n"
        "  fi\n"
        "  if [ -n \"$prev\" ]; then set -- \"$@\" \"$prev\"; prev=; fi\n"
        "  if [ \"$a\" = -device ]; then prev=$a; else set -- \"$@\" \"$a\"; "
        "fi\n"
        "done\n"
        "if [ -n \"$prev\" ]; then set -- \"$@\" \"$prev\"; fi\n"
        "exec %s \"$@\"\n",
        qemu);
    const char *extra[] = {"-device", "virtio-rng-pci", NULL};
    g_autoptr(QmRun) run = NULL;
    g_autofree char *status = NULL;
    Source *s;

    if (!need_all())
        return;
    g_assert_true(g_file_set_contents(script, text, -1, NULL));
    g_assert_cmpint(chmod(script, 0755), ==, 0);
    s = source_start("loadvm", extra, FALSE);
    run = migrate(s, dir, script, NULL);
    g_assert_cmpint(run->status, ==, 9);
    g_assert_nonnull(strstr(run->err, "loading the guest"));
    g_assert_nonnull(strstr(run->err, "the guest runs on here"));
    g_assert_cmpuint(strchr(run->err, '\n') - run->err + 1, ==,
                     strlen(run->err));
    status = source_status(s);
    g_assert_cmpstr(status, ==, "running");
    g_assert_cmpuint(files_in(dir), ==, 0);
    source_stop(s);
}

/**
 * ppid_of() - a process's parent
 * @pid: process
 * @comm: where to store its command name (newly allocated), or NULL
 *
 * Return: the parent's PID, 0 when the process is gone
 */
static GPid ppid_of(GPid pid, char **comm)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    const char *open, *close;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        (open = strchr(text, '(')) == NULL ||
        (close = strrchr(text, ')')) == NULL)
        return 0;
    if (comm != NULL)
        *comm = g_strndup(open + 1, close - open - 1);
    /* ") S PPID" */
    return (GPid)g_ascii_strtoll(close + 4, NULL, 10);
}

/**
 * kill_sshd() - the peer's sshd dies: its listener and every sshd process
 * under it (the per-connection ones), leaving the users' commands with
 * nothing but closed pipes, as when the host's sshd crashes
 */
static void kill_sshd(void)
{
    g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
    const char *name;

    while ((name = g_dir_read_name(d)) != NULL) {
        GPid pid = (GPid)g_ascii_strtoll(name, NULL, 10);
        g_autofree char *comm = NULL;
        GPid up = pid > 0 ? ppid_of(pid, &comm) : 0;

        if (pid <= 0 || pid == peer->pid || g_strcmp0(comm, "sshd") != 0)
            continue;
        while (up > 1 && up != peer->pid)
            up = ppid_of(up, NULL);
        if (up == peer->pid)
            kill(pid, SIGKILL);
    }
    kill(peer->pid, SIGKILL);
    /* the next test gets a new peer */
    qm_test_sshd_stop(peer);
    peer = NULL;
}

/**
 * processes_naming() - how many processes have a path in their command
 *                      line
 * @path: e.g. a destination's runtime directory
 *
 * Return: the count
 */
static guint processes_naming(const char *path)
{
    g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
    const char *name;
    guint n = 0;

    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *file = g_strdup_printf("/proc/%s/cmdline", name);
        g_autofree char *cmdline = NULL;
        gsize len = 0;

        if (!g_ascii_isdigit(name[0]) ||
            !g_file_get_contents(file, &cmdline, &len, NULL))
            continue;
        for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1) {
            if (strstr(cmdline + i, path) != NULL) {
                n++;
                break;
            }
        }
    }
    return n;
}

/**
 * wait_nothing_left() - the destination cleans up after itself: wait
 *                       (bounded) until no file and no process of the
 *                       guest's is left there
 * @dir:    the destination's runtime directory
 * @marker: a file that must exist first (the destination got that far),
 *          or NULL
 */
static void wait_nothing_left(const char *dir, const char *marker)
{
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_US;

    while (!(marker == NULL || g_file_test(marker, G_FILE_TEST_EXISTS)) ||
           files_in(dir) != 0 || processes_naming(dir) != 0) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100000);
    }
}

/**
 * test_fault_sshd() - the destination's sshd dies mid-transfer (listener
 * and sessions): qemu-mig notices at once, the source's migration is
 * cancelled and it runs on; the destination, which qemu-mig can no longer
 * reach, kills its QEMU and removes its files by itself (the lease)
 */
static void test_fault_sshd(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst12", NULL);
    const char *extra[] = {"--bandwidth", "4M", NULL};
    g_autofree char *err = NULL;
    Slow *s;
    GPid pid;
    int fd, status;

    if (!need_all())
        return;
    s = slow_start("sshdvm");
    pid = start_migrate(s->src, dir, extra, &fd);
    wait_active(s);
    g_assert_cmpuint(files_in(dir), >, 0);
    kill_sshd();
    err = read_all(fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_test_message("stderr: %s", err);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
    g_assert_nonnull(strstr(err, "lost the SSH connection"));
    g_assert_cmpuint(strchr(err, '\n') - err + 1, ==, strlen(err));
    wait_nothing_left(dir, NULL);
    {
        g_autofree char *st = source_status(s->src);
        g_autofree char *mig = observe(s);

        g_assert_cmpstr(st, ==, "running");
        g_assert_true(strcmp(mig, "cancelled") == 0 ||
                      strcmp(mig, "failed") == 0);
    }
    slow_stop(s);
}

/**
 * test_fault_slow_start() - the destination QEMU takes longer to start
 * than --timeout: exit 3 naming it, the source untouched; the QEMU that
 * starts there later is killed, with its files, by the lease
 */
static void test_fault_slow_start(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst13", NULL);
    g_autofree char *script =
        g_build_filename(qm_test_tmpdir(), "qemu-slow", NULL);
    g_autofree char *marker =
        g_build_filename(qm_test_tmpdir(), "qemu-slow-went-on", NULL);
    g_autofree char *text =
        g_strdup_printf("#!/bin/sh\nsleep %u\ntouch %s\nexec %s \"$@\"\n",
                        4 * qm_test_slow(), marker, qemu);
    g_autofree char *timeout = g_strdup_printf("%u", 2 * qm_test_slow());
    const char *extra[] = {"--timeout", timeout, NULL};
    g_autoptr(QmRun) run = NULL;
    g_autofree char *status = NULL;
    Source *s;

    if (!need_all())
        return;
    g_assert_true(g_file_set_contents(script, text, -1, NULL));
    g_assert_cmpint(chmod(script, 0755), ==, 0);
    s = source_start("slowstartvm", NULL, FALSE);
    run = migrate(s, dir, script, extra);
    g_assert_cmpint(run->status, ==, 3);
    g_assert_nonnull(strstr(run->err, "--timeout"));
    status = source_status(s);
    g_assert_cmpstr(status, ==, "running");
    wait_nothing_left(dir, marker);
    source_stop(s);
}

/**
 * tcp_sockets_of() - how many TCP sockets a process holds
 * @pid: process
 *
 * Its fds that are sockets, looked up by inode in /proc/net/tcp and tcp6.
 *
 * Return: the count
 */
static guint tcp_sockets_of(GPid pid)
{
    g_autoptr(GHashTable) tcp =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *fds = g_strdup_printf("/proc/%d/fd", (int)pid);
    g_autoptr(GDir) d = g_dir_open(fds, 0, NULL);
    const char *name;
    guint n = 0;

    for (int v = 0; v < 2; v++) {
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents(v ? "/proc/net/tcp6" : "/proc/net/tcp", &text,
                                 NULL, NULL))
            continue;
        lines = g_strsplit(text, "\n", -1);
        for (guint i = 1; lines[i] != NULL; i++) {
            g_auto(GStrv) f = g_strsplit_set(g_strstrip(lines[i]), " ", -1);
            guint k = 0;

            /* the 10th non-empty field is the inode */
            for (guint j = 0; f[j] != NULL; j++) {
                if (*f[j] && ++k == 10)
                    g_hash_table_add(tcp, g_strdup(f[j]));
            }
        }
    }
    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(fds, name, NULL);
        g_autofree char *target = g_file_read_link(path, NULL);

        if (target != NULL && g_str_has_prefix(target, "socket:[")) {
            g_autofree char *inode =
                g_strndup(target + strlen("socket:["),
                          strlen(target) - strlen("socket:[") - 1);

            if (g_hash_table_contains(tcp, inode))
                n++;
        }
    }
    return n;
}

/**
 * test_tunnel() - --tunnel: the guest moves through qemu-mig's SSH
 * connection (the source QEMU holds no TCP socket while it sends, unlike
 * a direct migration) to the destination's loopback, and runs there
 */
static void test_tunnel(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst10", NULL);
    const char *extra[] = {"--tunnel", "--bandwidth", "16M", NULL};
    g_autofree char *err = NULL;
    g_autofree char *status = NULL;
    Slow *s;
    GPid pid, dest;
    int fd, st;

    if (!need_all())
        return;
    s = slow_start("tunnelvm");
    pid = start_migrate(s->src, dir, extra, &fd);
    wait_active(s);
    g_assert_cmpuint(tcp_sockets_of(s->src->pid), ==, 0);
    err = read_all(fd);
    g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
    g_test_message("stderr: %s", err);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    g_assert_nonnull(strstr(err, "migrated to"));
    g_assert_cmpint(waitpid(s->src->pid, NULL, 0), ==, s->src->pid);
    s->src->pid = 0;
    dest = dest_pid(dir);
    g_assert_cmpint(dest, >, 0);
    g_assert_cmpint(kill(dest, 0), ==, 0);
    {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *f;
        Source there = {0};

        while ((f = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(f, ".qmp"))
                there.socket = g_build_filename(dir, f, NULL);
        }
        g_assert_nonnull(there.socket);
        status = source_status(&there);
        g_free(there.socket);
    }
    g_assert_cmpstr(status, ==, "running");
    slow_stop(s);
}

/**
 * test_fault_sigint() - Ctrl-C during the transfer: cancelled, the
 * destination QEMU gone with its files, the source runs on; qemu-mig says
 * so in one line and dies of the signal
 */
static void test_fault_sigint(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst5", NULL);
    const char *extra[] = {"--bandwidth", "4M", NULL};
    g_autofree char *err = NULL;
    Slow *s;
    GPid pid;
    int fd, status;

    if (!need_all())
        return;
    s = slow_start("intvm");
    pid = start_migrate(s->src, dir, extra, &fd);
    wait_active(s);
    /* QEMU to QEMU: the source sends on a TCP socket of its own */
    g_assert_cmpuint(tcp_sockets_of(s->src->pid), >=, 1);
    kill(pid, SIGINT);
    err = read_all(fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_test_message("stderr: %s", err);
    g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
    g_assert_nonnull(strstr(err, "interrupted"));
    g_assert_nonnull(strstr(err, "the guest runs on here"));
    assert_undone(s, dir);
    slow_stop(s);
}

/**
 * test_fault_dest_killed() - the destination QEMU dies mid-transfer:
 * exit 9, the source runs on, nothing left there
 */
static void test_fault_dest_killed(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst6", NULL);
    const char *extra[] = {"--bandwidth", "4M", NULL};
    g_autofree char *err = NULL;
    Slow *s;
    GPid pid, dst;
    int fd, status;

    if (!need_all())
        return;
    s = slow_start("killvm");
    pid = start_migrate(s->src, dir, extra, &fd);
    wait_active(s);
    dst = dest_pid(dir);
    g_assert_cmpint(dst, >, 0);
    kill(dst, SIGKILL);
    err = read_all(fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_test_message("stderr: %s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 9);
    assert_undone(s, dir);
    slow_stop(s);
}

/**
 * test_fault_timeout() - --migrate-timeout passes: exit 9 naming it, the
 * source runs on, nothing left there
 */
static void test_fault_timeout(void)
{
    g_autofree char *dir = g_build_filename(qm_test_tmpdir(), "dst7", NULL);
    const char *extra[] = {"--bandwidth", "1M", "--migrate-timeout", "1s",
                           NULL};
    g_autoptr(QmRun) run = NULL;
    Slow *s;

    if (!need_all())
        return;
    s = slow_start("slowvm");
    run = migrate(s->src, dir, NULL, extra);
    g_assert_cmpint(run->status, ==, 9);
    g_assert_nonnull(strstr(run->err, "--migrate-timeout"));
    assert_undone(s, dir);
    slow_stop(s);
}

/**
 * test_registered() - a guest qemu-mig started (no peer: passed through,
 * registered) moves by its name; `list` on the destination shows it there
 * with the destination QEMU's PID; a name two guests share is refused
 */
static void test_registered(void)
{
    g_autofree char *here = g_build_filename(qm_test_tmpdir(), "rt-src", NULL);
    g_autofree char *there = g_build_filename(qm_test_tmpdir(), "rt-dst", NULL);
    const char *launch[] = {
        "--runtime-dir", here,     "--qemu", qemu, "--", "-machine",
        "q35",           "-accel", "tcg",    "-m", "64", "-nodefaults",
        "-display",      "none",   "-name",  NULL, NULL};
    GPid a, b;
    int i;

    if (!need_all())
        return;
    g_assert_cmpint(g_mkdir_with_parents(here, 0700), ==, 0);
    for (i = 0; launch[i] != NULL; i++)
        ;
    /* two guests named twin, one named regvm */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new();

        g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
        for (int k = 0; k < i; k++)
            g_ptr_array_add(argv, (char *)launch[k]);
        g_ptr_array_add(argv, "twin");
        g_ptr_array_add(argv, NULL);
        g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent,
                                    NULL, &a, &error));
        g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent,
                                    NULL, &b, &error));
        g_assert_no_error(error);
    }
    {
        g_autofree char *rt = g_strdup_printf("--runtime-dir=%s", here);
        const char *list[] = {"list", rt, NULL};
        gint64 deadline = g_get_monotonic_time() + TIMEOUT_US;

        for (;;) {
            g_autoptr(GPtrArray) argv = g_ptr_array_new();
            g_autofree char *out = NULL;
            g_autoptr(GError) error = NULL;
            int st;
            char *first;

            g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
            for (int k = 0; list[k]; k++)
                g_ptr_array_add(argv, (char *)list[k]);
            g_ptr_array_add(argv, NULL);
            g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, 0,
                                       NULL, NULL, &out, NULL, &st, &error));
            first = strstr(out, "twin");
            if (first != NULL && strstr(first + 1, "twin") != NULL &&
                strstr(out, "starting") == NULL)
                break;
            if (g_get_monotonic_time() >= deadline)
                g_test_message("list: %s", out);
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_usleep(50000);
        }
    }
    {
        g_autofree char *rt = g_strdup_printf("--runtime-dir=%s", here);
        g_autofree char *rdir =
            g_strdup_printf("--remote-runtime-dir=%s", there);
        const char *args[] = {qm_test_env("QM_BINARY"),
                              "migrate",
                              "twin",
                              rt,
                              "--to",
                              peer->alias,
                              "--ssh-config",
                              peer->ssh_config,
                              rdir,
                              NULL};
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        g_autoptr(GError) error = NULL;
        int st;

        g_assert_true(g_spawn_sync(NULL, (char **)args, NULL, 0, NULL, NULL,
                                   &out, &err, &st, &error));
        g_test_message("ambiguous: %s", err);
        g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
        g_assert_nonnull(strstr(err, "names 2 guests"));
        g_assert_cmpuint(files_in(there), ==, 0);

        /* by PID it is one of them: it moves */
        args[2] = g_strdup_printf("%d", (int)a);
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);
        g_assert_true(g_spawn_sync(NULL, (char **)args, NULL, 0, NULL, NULL,
                                   &out, &err, &st, &error));
        g_test_message("by PID: %s", err);
        g_free((char *)args[2]);
        g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        g_assert_cmpint(waitpid(a, NULL, 0), ==, a);
    }
    {
        g_autofree char *rt = g_strdup_printf("--runtime-dir=%s", there);
        const char *args[] = {qm_test_env("QM_BINARY"), "list", "--json", rt,
                              NULL};
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) list = NULL;
        JsonObject *g;
        int st;
        GPid moved;

        g_assert_true(g_spawn_sync(NULL, (char **)args, NULL, 0, NULL, NULL,
                                   &out, NULL, &st, &error));
        list = json_from_string(out, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(json_array_get_length(json_node_get_array(list)), ==,
                         1);
        g = json_array_get_object_element(json_node_get_array(list), 0);
        g_assert_cmpstr(json_object_get_string_member(g, "name"), ==, "twin");
        moved = dest_pid(there);
        g_assert_cmpint(json_object_get_int_member(g, "pid"), ==, moved);
        kill(moved, SIGKILL);
    }
    kill(b, SIGKILL);
    waitpid(b, NULL, 0);
}

int main(int argc, char **argv)
{
    int ret;

    qm_test_init(&argc, &argv);
    qm_test_sshd_available(&skip_reason);
    qemu = g_find_program_in_path("qemu-system-x86_64");
    g_test_add_func("/mig/usage", test_refuse_usage);
    g_test_add_func("/mig/same-qemu", test_migrate_same);
    g_test_add_data_func("/mig/running-guest/7.2", "7.2", test_running_guest);
    g_test_add_data_func("/mig/running-guest/10.0", "10.0", test_running_guest);
    g_test_add_data_func("/mig/running-guest/kvm-7.2", "kvm/7.2",
                         test_running_guest);
    g_test_add_data_func("/mig/running-guest/kvm-10.0", "kvm/10.0",
                         test_running_guest);
    g_test_add_func("/mig/refuse-cpu", test_refuse_cpu);
    g_test_add_func("/mig/refuse-storage", test_refuse_storage);
    g_test_add_func("/mig/registered", test_registered);
    g_test_add_func("/mig/json", test_json_events);
    g_test_add_func("/mig/progress-tty", test_progress_tty);
    g_test_add_func("/mig/tunnel", test_tunnel);
    g_test_add_func("/mig/fault/dest-cannot-load", test_fault_load);
    g_test_add_func("/mig/fault/sshd-killed", test_fault_sshd);
    g_test_add_func("/mig/fault/slow-start", test_fault_slow_start);
    g_test_add_func("/mig/fault/sigint", test_fault_sigint);
    g_test_add_func("/mig/fault/dest-killed", test_fault_dest_killed);
    g_test_add_func("/mig/fault/migrate-timeout", test_fault_timeout);
    ret = g_test_run();
    g_clear_pointer(&peer, qm_test_sshd_stop);
    return ret;
}
