/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: real QEMUs for live migration tests - start one with
 * its QMP monitor connected, migrate one to another over loopback TCP.
 *
 * Nothing here chooses an accelerator, a machine or a CPU: the xversion
 * tests run TCG, the kvm suite KVM, on the same helpers.  Every QEMU dies
 * with the test process (PR_SET_PDEATHSIG), even when a failed assertion
 * aborts it before any cleanup runs, and keeps its socket and log in a
 * private directory under the test's scratch directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "migutil.h"
#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/profile.h"

/* How often a waiting loop looks again: a TCG migration takes ~15 ms */
#define POLL_US (5 * 1000)

/* How long a destination whose monitor closed may take to exit */
#define EXIT_GRACE_US (5 * G_USEC_PER_SEC)

/* Bound on `qemu -version`, which should take milliseconds */
#define VERSION_TIMEOUT_US (10 * G_USEC_PER_SEC)

/**
 * child_setup() - GSpawnChildSetupFunc: QEMU dies with the test
 * @data: PID of the test process, as a pointer
 *
 * A failed assertion aborts the test without running cleanups; the death
 * signal still takes every QEMU it started.  The parent may have died
 * between fork() and prctl(), hence the check.
 */
static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)GPOINTER_TO_INT(data))
        _exit(1);
}

/**
 * spawn_logged() - start a program with stdout and stderr in a file
 * @argv:  NULL-terminated command, program first
 * @log:   file to write its output to
 * @pid:   set to its PID (reap it with reap())
 * @error: set with QM_ERROR_QEMU when it cannot be started
 *
 * GLib closes every other descriptor in the child, so no QEMU inherits
 * another's monitor.
 *
 * Return: TRUE when started
 */
static gboolean spawn_logged(const char *const *argv, const char *log,
                             GPid *pid, GError **error)
{
    g_autoptr(GError) local = NULL;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    gboolean ok;

    if (fd < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "%s: %s", log,
                    g_strerror(errno));
        return FALSE;
    }
    ok = g_spawn_async_with_fds(NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                                child_setup, GINT_TO_POINTER(getpid()), pid, -1,
                                fd, fd, &local);
    close(fd);
    if (!ok)
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU, "cannot start %s: %s",
                    argv[0], local->message);
    return ok;
}

/**
 * reap() - collect a child's exit status
 * @pid:    the child
 * @status: set to its waitpid() status
 * @block:  wait for it to exit
 *
 * Return: TRUE when it has exited (or is no child of ours any more)
 */
static gboolean reap(GPid pid, int *status, gboolean block)
{
    pid_t r;

    do {
        r = waitpid(pid, status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    return r == pid || (r < 0 && errno == ECHILD);
}

/**
 * make_dir() - a fresh private directory in the test's scratch directory
 * @error: set when it cannot be created
 *
 * Short, for UNIX socket paths (108 bytes at most).
 *
 * Return: newly allocated path, or NULL
 */
static char *make_dir(GError **error)
{
    g_autofree char *path =
        g_build_filename(qm_test_tmpdir(), "vm-XXXXXX", NULL);

    if (g_mkdtemp(path) == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "%s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    return g_steal_pointer(&path);
}

/**
 * qm_mig_test_qemu_usable() - whether a QEMU binary runs at all
 * @qemu:    path of qemu-system-x86_64 (or a wrapper script)
 * @version: set to its version ("7.2.22") when usable
 * @reason:  set to why not otherwise, for g_test_skip()
 *
 * Runs `QEMU -version`, bounded: a wrapper whose unpacked QEMU is gone
 * fails here, where a test can still skip, not in the middle of a test.
 *
 * Return: TRUE when it printed its version and exited 0
 */
gboolean qm_mig_test_qemu_usable(const char *qemu, char **version,
                                 char **reason)
{
    static const char prefix[] = "QEMU emulator version ";
    const char *argv[] = {qemu, "-version", NULL};
    gint64 deadline = g_get_monotonic_time() + VERSION_TIMEOUT_US;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *log = NULL;
    g_autofree char *out = NULL;
    gboolean done = FALSE;
    int status = 0;
    const char *v;
    GPid pid;

    if (!g_file_test(qemu, G_FILE_TEST_IS_EXECUTABLE) ||
        g_file_test(qemu, G_FILE_TEST_IS_DIR)) {
        *reason = g_strdup_printf("%s is not an executable file", qemu);
        return FALSE;
    }
    dir = make_dir(&error);
    if (dir == NULL) {
        *reason = g_strdup(error->message);
        return FALSE;
    }
    log = g_build_filename(dir, "version.log", NULL);
    if (spawn_logged(argv, log, &pid, &error)) {
        while (!(done = reap(pid, &status, FALSE)) &&
               g_get_monotonic_time() < deadline)
            g_usleep(POLL_US);
        if (!done) {
            kill(pid, SIGKILL);
            reap(pid, &status, TRUE);
        }
    }
    if (!g_file_get_contents(log, &out, NULL, NULL))
        out = g_strdup("");
    g_unlink(log);
    g_rmdir(dir);

    if (error != NULL) {
        *reason = g_strdup(error->message);
        return FALSE;
    }
    v = strstr(out, prefix);
    if (!done || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || v == NULL) {
        g_strstrip(out);
        *reason = g_strdup_printf(
            "%s -version %s: %s", qemu,
            done ? "failed" : "did not finish within 10 s", out);
        return FALSE;
    }
    v += strlen(prefix);
    *version = g_strndup(v, strcspn(v, " \n"));
    return TRUE;
}

/**
 * qm_mig_test_args_new() - an empty NULL-terminated argument vector
 *
 * Return: array owning its strings; pdata is always NULL-terminated
 */
GPtrArray *qm_mig_test_args_new(void)
{
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(args, NULL);
    return args;
}

/**
 * qm_mig_test_args_add() - append words to an argument vector
 * @args:  from qm_mig_test_args_new()
 * @first: first word; further words follow, then NULL
 */
void qm_mig_test_args_add(GPtrArray *args, const char *first, ...)
{
    va_list ap;

    va_start(ap, first);
    for (const char *w = first; w != NULL; w = va_arg(ap, const char *))
        g_ptr_array_insert(args, args->len - 1, g_strdup(w));
    va_end(ap);
}

/**
 * qm_mig_test_guest_args() - QEMU arguments of a minimal paused guest
 * @machine: -machine type ("pc-q35-7.2", "q35")
 * @accel:   accelerator ("tcg", "kvm")
 * @cpu:     -cpu value
 *
 * 64 MiB, one vCPU, no default devices, no display, paused (-S: the test
 * sends `cont` when it wants the guest running).  More arguments may be
 * added; for most QEMU options the last one given wins.
 *
 * Return: new vector for qm_mig_test_vm_start() (QEMU binary not included)
 */
GPtrArray *qm_mig_test_guest_args(const char *machine, const char *accel,
                                  const char *cpu)
{
    GPtrArray *args = qm_mig_test_args_new();
    g_autofree char *machine_value =
        g_strdup_printf("%s,accel=%s", machine, accel);

    qm_mig_test_args_add(args, "-machine", machine_value, "-cpu", cpu, "-m",
                         "64", "-smp", "1", "-nodefaults", "-display", "none",
                         "-S", NULL);
    return args;
}

/**
 * qm_mig_test_vm_output() - what a QEMU printed so far
 * @vm: the QEMU
 *
 * Return: newly allocated text, whitespace-trimmed
 */
char *qm_mig_test_vm_output(QmMigTestVm *vm)
{
    char *text = NULL;

    if (!g_file_get_contents(vm->log, &text, NULL, NULL))
        text = g_strdup("");
    return g_strstrip(text);
}

/**
 * qm_mig_test_vm_exited() - whether a QEMU has exited; reaps it if so
 * @vm: the QEMU
 *
 * Return: TRUE when it is gone (@vm->wait_status then says how)
 */
gboolean qm_mig_test_vm_exited(QmMigTestVm *vm)
{
    if (vm->pid <= 0)
        return TRUE;
    if (!reap(vm->pid, &vm->wait_status, FALSE))
        return FALSE;
    vm->pid = 0;
    return TRUE;
}

/**
 * qm_mig_test_vm_wait_exit() - wait for a QEMU to exit on its own
 * @vm:       the QEMU
 * @deadline: g_get_monotonic_time() limit
 *
 * Return: TRUE when it exited by @deadline
 */
gboolean qm_mig_test_vm_wait_exit(QmMigTestVm *vm, gint64 deadline)
{
    while (!qm_mig_test_vm_exited(vm)) {
        if (g_get_monotonic_time() >= deadline)
            return FALSE;
        g_usleep(POLL_US);
    }
    return TRUE;
}

/**
 * qm_mig_test_vm_stop() - kill a QEMU and reap it; idempotent
 * @vm: the QEMU
 */
void qm_mig_test_vm_stop(QmMigTestVm *vm)
{
    g_clear_pointer(&vm->mon, qm_monitor_free);
    if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        reap(vm->pid, &vm->wait_status, TRUE);
        vm->pid = 0;
    }
}

/**
 * qm_mig_test_vm_free() - stop a QEMU, remove its directory, free it
 * @vm: the QEMU, or NULL
 */
void qm_mig_test_vm_free(QmMigTestVm *vm)
{
    if (vm == NULL)
        return;
    qm_mig_test_vm_stop(vm);
    if (vm->qmp != NULL)
        g_unlink(vm->qmp);
    if (vm->log != NULL)
        g_unlink(vm->log);
    if (vm->dir != NULL)
        g_rmdir(vm->dir);
    g_free(vm->name);
    g_free(vm->dir);
    g_free(vm->qmp);
    g_free(vm->log);
    g_free(vm);
}

/**
 * qm_mig_test_vm_start() - start a QEMU and connect to its QMP monitor
 * @name:     what messages call it
 * @qemu:     QEMU binary
 * @args:     its arguments (NULL-terminated), without any QMP option:
 *            `-qmp unix:PATH,server=on,wait=off` is added (7.2 and 10.0
 *            both take this spelling)
 * @deadline: g_get_monotonic_time() limit for QMP to answer
 * @error:    QM_ERROR_QEMU, with QEMU's output, when it exits first;
 *            QM_ERROR_UNREACHABLE when its QMP does not answer in time
 *
 * Return: the running QEMU with its monitor connected (free with
 * qm_mig_test_vm_free()), or NULL with nothing left behind
 */
QmMigTestVm *qm_mig_test_vm_start(const char *name, const char *qemu,
                                  const char *const *args, gint64 deadline,
                                  GError **error)
{
    g_autoptr(QmMigTestVm) vm = g_new0(QmMigTestVm, 1);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) last = NULL;
    g_autofree char *qmp_value = NULL;
    g_autofree char *line = NULL;

    vm->name = g_strdup(name);
    vm->dir = make_dir(error);
    if (vm->dir == NULL)
        return NULL;
    vm->qmp = g_build_filename(vm->dir, "qmp", NULL);
    vm->log = g_build_filename(vm->dir, "log", NULL);
    qmp_value = g_strdup_printf("unix:%s,server=on,wait=off", vm->qmp);

    g_ptr_array_add(argv, (char *)qemu);
    for (gsize i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, "-qmp");
    g_ptr_array_add(argv, qmp_value);
    g_ptr_array_add(argv, NULL);
    line = g_strjoinv(" ", (char **)argv->pdata);
    g_test_message("%s: starting %s", name, line);
    if (!spawn_logged((const char *const *)argv->pdata, vm->log, &vm->pid,
                      error))
        return NULL;

    /* QEMU creates the socket some milliseconds after it starts */
    for (;;) {
        g_clear_error(&last);
        if (g_file_test(vm->qmp, G_FILE_TEST_EXISTS)) {
            vm->mon = qm_monitor_connect_unix(vm->qmp, deadline, &last);
            if (vm->mon != NULL)
                break;
        }
        if (qm_mig_test_vm_exited(vm)) {
            g_autofree char *output = qm_mig_test_vm_output(vm);

            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU exited (wait status %d) before answering "
                        "on QMP; its output: %s",
                        name, vm->wait_status, output);
            return NULL;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_autofree char *output = qm_mig_test_vm_output(vm);

            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "%s: no QMP at %s in time (%s); its output: %s", name,
                        vm->qmp, last ? last->message : "no socket", output);
            return NULL;
        }
        g_usleep(POLL_US);
    }
    return g_steal_pointer(&vm);
}

/**
 * monitor_of() - a QEMU's monitor, which must still be connected
 * @vm:    the QEMU
 * @error: set with QM_ERROR_FAILED once the QEMU was stopped
 *
 * Return: the monitor (borrowed), or NULL
 */
static QmMonitor *monitor_of(QmMigTestVm *vm, GError **error)
{
    if (vm->mon == NULL)
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "%s: stopped", vm->name);
    return vm->mon;
}

/**
 * execute() - one QMP command, the error naming the QEMU
 * @vm:       the QEMU
 * @command:  QMP command
 * @args:     its arguments, or NULL
 * @deadline: g_get_monotonic_time() limit
 * @ret:      as for qm_monitor_execute()
 * @error:    as for qm_monitor_execute(), prefixed with @vm's name
 *
 * Return: TRUE on success
 */
static gboolean execute(QmMigTestVm *vm, const char *command, JsonNode *args,
                        gint64 deadline, JsonNode **ret, GError **error)
{
    QmMonitor *mon = monitor_of(vm, error);

    if (mon == NULL)
        return FALSE;
    if (qm_monitor_execute(mon, command, args, deadline, ret, error))
        return TRUE;
    g_prefix_error(error, "%s: ", vm->name);
    return FALSE;
}

/**
 * uri_args() - {"uri": URI}, the arguments of migrate and migrate-incoming
 * @uri: the URI
 *
 * Return: new object node
 */
static JsonNode *uri_args(const char *uri)
{
    JsonObject *obj = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_string_member(obj, "uri", uri);
    json_node_take_object(node, obj);
    return node;
}

/**
 * object_of() - a node's object, if it holds one
 * @node: node, or NULL
 *
 * Return: the object (borrowed), or NULL
 */
static JsonObject *object_of(JsonNode *node)
{
    return node != NULL && JSON_NODE_HOLDS_OBJECT(node)
               ? json_node_get_object(node)
               : NULL;
}

/**
 * string_of() - an object's string member
 * @obj:    object, or NULL
 * @member: member name
 *
 * Return: the string (borrowed), or NULL
 */
static const char *string_of(JsonObject *obj, const char *member)
{
    return obj ? qm_profile_json_string(json_object_get_member(obj, member))
               : NULL;
}

/**
 * qm_mig_test_vm_status() - query-status
 * @vm:       the QEMU
 * @deadline: g_get_monotonic_time() limit
 * @running:  set to "running", if not NULL
 * @error:    set on QMP failure or a malformed reply
 *
 * Return: newly allocated status ("prelaunch", "running", ...), or NULL
 */
char *qm_mig_test_vm_status(QmMigTestVm *vm, gint64 deadline, gboolean *running,
                            GError **error)
{
    g_autoptr(JsonNode) ret = NULL;
    JsonObject *obj;
    const char *status;
    JsonNode *run;

    if (!execute(vm, "query-status", NULL, deadline, &ret, error))
        return NULL;
    obj = object_of(ret);
    status = string_of(obj, "status");
    run = obj ? json_object_get_member(obj, "running") : NULL;
    if (status == NULL || run == NULL || !JSON_NODE_HOLDS_VALUE(run) ||
        json_node_get_value_type(run) != G_TYPE_BOOLEAN) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-status without status and running", vm->name);
        return NULL;
    }
    if (running != NULL)
        *running = json_node_get_boolean(run);
    return g_strdup(status);
}

/**
 * qm_mig_test_incoming() - make a QEMU started with -incoming defer listen
 * @dst:      the destination QEMU
 * @deadline: g_get_monotonic_time() limit
 * @uri:      set to the URI to migrate to ("tcp:127.0.0.1:PORT")
 * @error:    set on QMP failure, or when QEMU does not say its port
 *
 * Port 0 lets the kernel choose a free port, so that no other process
 * can take it between choosing and listening; QEMU 7.2 and 10.0 both
 * report the real one in the destination's query-migrate
 * "socket-address" list.
 *
 * Return: TRUE when it listens
 */
gboolean qm_mig_test_incoming(QmMigTestVm *dst, gint64 deadline, char **uri,
                              GError **error)
{
    g_autoptr(JsonNode) args = uri_args("tcp:127.0.0.1:0");
    g_autoptr(JsonNode) info = NULL;
    JsonNode *list;
    JsonArray *addrs;

    if (!execute(dst, "migrate-incoming", args, deadline, NULL, error) ||
        !execute(dst, "query-migrate", NULL, deadline, &info, error))
        return FALSE;
    list = object_of(info)
               ? json_object_get_member(object_of(info), "socket-address")
               : NULL;
    addrs =
        list && JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
    for (guint i = 0; addrs != NULL && i < json_array_get_length(addrs); i++) {
        JsonObject *addr = object_of(json_array_get_element(addrs, i));
        const char *port = string_of(addr, "port");

        if (g_strcmp0(string_of(addr, "type"), "inet") == 0 && port != NULL &&
            g_ascii_string_to_unsigned(port, 10, 1, 65535, NULL, NULL)) {
            *uri = g_strdup_printf("tcp:127.0.0.1:%s", port);
            return TRUE;
        }
    }
    g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                "%s: query-migrate names no TCP socket-address it listens on",
                dst->name);
    return FALSE;
}

/**
 * time_of() - an integer member of query-migrate's reply
 * @obj:    the reply
 * @member: member name
 *
 * Return: its value, -1 when absent
 */
static gint64 time_of(JsonObject *obj, const char *member)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_INT64)
        return -1;
    return json_node_get_int(node);
}

/**
 * qm_mig_test_result_clear() - free what a QmMigTestResult holds
 * @result: the result
 */
void qm_mig_test_result_clear(QmMigTestResult *result)
{
    g_clear_pointer(&result->status, g_free);
    g_clear_pointer(&result->error_desc, g_free);
}

/**
 * qm_mig_test_migrate() - migrate @src to @dst and wait for the end
 * @src:      the source QEMU
 * @dst:      the destination, listening (qm_mig_test_incoming())
 * @uri:      where @dst listens
 * @deadline: g_get_monotonic_time() limit for the whole migration
 * @result:   filled with how it ended (qm_mig_test_result_clear())
 * @error:    set on QMP failure, or when it does not end in time
 *
 * A migration that fails is no error here: @result says so, and the
 * caller decides whether that was expected.  After a completed one, waits
 * for @dst to leave "inmigrate": it finishes loading just after the
 * source says "completed".  The source does not wait for the destination
 * to accept what it sent, so a small guest can be "completed" on the
 * source while the destination refuses it and exits: @result's
 * dst_exited then says so.
 *
 * Return: TRUE when the migration ended (completed, failed or cancelled)
 */
gboolean qm_mig_test_migrate(QmMigTestVm *src, QmMigTestVm *dst,
                             const char *uri, gint64 deadline,
                             QmMigTestResult *result, GError **error)
{
    g_autoptr(JsonNode) args = uri_args(uri);
    gint64 start = g_get_monotonic_time();

    memset(result, 0, sizeof(*result));
    if (!execute(src, "migrate", args, deadline, NULL, error))
        return FALSE;
    for (;;) {
        g_autoptr(JsonNode) info = NULL;
        JsonObject *obj;
        const char *status;

        if (!execute(src, "query-migrate", NULL, deadline, &info, error))
            return FALSE;
        obj = object_of(info);
        status = string_of(obj, "status");
        if (g_strcmp0(status, "completed") == 0 ||
            g_strcmp0(status, "failed") == 0 ||
            g_strcmp0(status, "cancelled") == 0) {
            result->status = g_strdup(status);
            result->error_desc = g_strdup(string_of(obj, "error-desc"));
            result->total_time_ms = time_of(obj, "total-time");
            result->downtime_ms = time_of(obj, "downtime");
            result->setup_time_ms = time_of(obj, "setup-time");
            break;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "%s -> %s: migration still %s after %.1f s", src->name,
                        dst->name, status ? status : "(no status)",
                        (g_get_monotonic_time() - start) /
                            (double)G_USEC_PER_SEC);
            return FALSE;
        }
        g_usleep(POLL_US);
    }

    while (strcmp(result->status, "completed") == 0) {
        g_autoptr(GError) local = NULL;
        g_autofree char *status =
            qm_mig_test_vm_status(dst, deadline, NULL, &local);

        if (status == NULL) {
            if (!qm_mig_test_vm_wait_exit(
                    dst,
                    MIN(deadline, g_get_monotonic_time() + EXIT_GRACE_US))) {
                g_propagate_error(error, g_steal_pointer(&local));
                return FALSE;
            }
            result->dst_exited = TRUE;
            break;
        }
        if (strcmp(status, "inmigrate") != 0)
            break;
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "%s: still inmigrate after the source completed",
                        dst->name);
            return FALSE;
        }
        g_usleep(POLL_US);
    }
    result->wall_us = g_get_monotonic_time() - start;
    return TRUE;
}
