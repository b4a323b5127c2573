/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: qemu-mig migrate, one guest to one peer.
 *
 * The destination QEMU runs the source's own command line (its -cpu and
 * -machine are what the guest has), in its daemon form (migcmd.c), paused
 * and waiting for the stream (-incoming defer), with a QMP monitor of
 * qemu-mig's on a unix socket in the destination's runtime directory,
 * reached through SSH (sshforward.c).  Before a page moves, every vCPU
 * property of the running source is compared with the paused destination
 * (vcpu.c, the comparison the test suites prove migrations with): any
 * difference, and the destination is torn down and the source left as it
 * was.  Then QEMU migrates to QEMU over TCP, the destination continues
 * the guest and the source quits.
 *
 * Every failure before the switch-over leaves the source running as
 * before and nothing on the destination: the guest is never lost, and
 * never runs twice.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../remote/ssh.h"
#include "../remote/sshconfig.h"
#include "../remote/sshforward.h"
#include "config.h"
#include "error.h"
#include "guestlist.h"
#include "interrupt.h"
#include "machine.h"
#include "migcmd.h"
#include "migrate.h"
#include "monitor.h"
#include "qemuargs.h"
#include "shquote.h"
#include "vcpu.h"

/* Bound on what a set-up command on the destination prints */
#define QM_MIG_MAX_OUT (1024 * 1024)

/* How often the transfer is looked at */
#define QM_MIG_POLL_US (100 * 1000)

/* Differences listed in the refusal at most */
#define QM_MIG_MAX_LISTED 12

/**
 * Mig - one migration under way
 * @opts:         the user's options
 * @ssh:          SSH options for the destination, its ssh_config
 *                evaluated once (@cfg) for every connection there
 * @cfg:          what ssh_config says for the destination
 * @deadline:     g_get_monotonic_time() deadline of the current set-up step
 * @socket:       the source's QMP socket
 * @src:          the source's monitor
 * @src_pid:      the source QEMU's PID
 * @args:         the source's QEMU arguments, without the monitor we use
 * @src_running:  the guest was running when we came
 * @dir:          the destination's runtime directory
 * @id:           the guest's id on the destination
 * @started:      a destination QEMU may run: tear it down on failure
 * @fwd:          the forward to the destination's monitor
 * @tunnel:       with --tunnel, the forward carrying the stream
 * @lease:        the command on the destination that started its QEMU and
 *                kills it again unless told "commit" (see start_dest())
 * @lease_fd:     its stdin and stdout, -1 when there is none
 * @lease_buf:    what it printed that is not yet a whole line
 * @dst:          the destination's monitor
 * @migrating:    the source was told to migrate: cancel on failure
 * @cont_sent:    the destination was told to continue: it may run the
 *                guest, unless known gone
 * @report:       what to tell the user
 * @progress:     told of each step and of the transfer's progress
 * @progress_data: its data
 */
typedef struct {
    const QmOptions *opts;
    QmSshOptions ssh;
    QmSshConfig *cfg;
    gint64 deadline;
    char *socket;
    QmMonitor *src;
    gint64 src_pid;
    GPtrArray *args;
    gboolean src_running;
    char *dir;
    char *id;
    gboolean started;
    QmSshForward *fwd;
    QmSshForward *tunnel;
    QmSshForward *lease;
    int lease_fd;
    GString *lease_buf;
    QmMonitor *dst;
    gboolean migrating;
    gboolean cont_sent;
    QmMigrateReport *report;
    QmMigrateProgressFunc progress;
    gpointer progress_data;
} Mig;

/**
 * qm_migrate_report_free() - free a report
 * @report: report, or NULL
 */
void qm_migrate_report_free(QmMigrateReport *report)
{
    if (report == NULL)
        return;
    g_free(report->dest_dir);
    g_free(report->dest_id);
    if (report->notes != NULL)
        g_ptr_array_unref(report->notes);
    g_free(report);
}

/**
 * host_option() - an option as it applies to the destination
 * @m:     migration
 * @key:   the option's long name, a [host NAME] key of the config file
 * @value: the option's value (command line, else [defaults]), or NULL
 *
 * Return: the command line's value if given there, else the
 * destination's own in the config file, else @value
 */
static const char *host_option(const Mig *m, const char *key, const char *value)
{
    const char *own = qm_options_host_value(m->opts, m->opts->to, key);

    return own ? own : value;
}

/**
 * step_deadline() - a fresh --timeout for the next set-up step
 * @m: migration
 */
static void step_deadline(Mig *m)
{
    m->deadline = g_get_monotonic_time() + m->opts->timeout_ms * 1000;
}

/**
 * step() - a step begins: it gets its own --timeout; the caller is told
 * @m:    migration
 * @name: the step
 *
 * Return: TRUE, to chain with the steps
 */
static gboolean step(Mig *m, const char *name)
{
    QmMigrateProgress p = {.step = name, .expected_downtime_ms = -1};

    step_deadline(m);
    if (m->progress != NULL)
        m->progress(&p, m->progress_data);
    return TRUE;
}

/**
 * tell_progress() - tell the caller how far the transfer is
 * @m:       migration
 * @info:    query-migrate's answer
 * @elapsed: seconds since the transfer began
 *
 * QEMU says "mbps" for the rate (megabits: 10^6 bits) and the dirty rate
 * in pages per second.
 */
static void tell_progress(Mig *m, JsonObject *info, double elapsed)
{
    JsonObject *ram = json_object_has_member(info, "ram")
                          ? json_object_get_object_member(info, "ram")
                          : NULL;
    QmMigrateProgress p = {
        .status =
            json_object_get_string_member_with_default(info, "status", ""),
        .expected_downtime_ms = json_object_get_int_member_with_default(
            info, "expected-downtime", -1),
        .elapsed = elapsed,
    };

    /* before "active" there are no figures to show */
    if (m->progress == NULL || ram == NULL)
        return;
    p.total = json_object_get_int_member_with_default(ram, "total", 0);
    p.transferred =
        json_object_get_int_member_with_default(ram, "transferred", 0);
    p.remaining = json_object_get_int_member_with_default(ram, "remaining", 0);
    p.rate =
        json_object_get_double_member_with_default(ram, "mbps", 0) * 1e6 / 8;
    p.dirty_rate =
        (double)json_object_get_int_member_with_default(ram, "dirty-pages-rate",
                                                        0) *
        json_object_get_int_member_with_default(ram, "page-size", 4096);
    m->progress(&p, m->progress_data);
}

/**
 * find_socket() - the monitor socket of the guest the user named
 * @m:     migration
 * @error: QM_ERROR_USAGE when no guest, or more than one, is named so
 *
 * Return: TRUE with @m->socket set
 */
static gboolean find_socket(Mig *m, GError **error)
{
    const char *want = m->opts->guest;
    g_autoptr(GPtrArray) guests = NULL;
    g_autoptr(GString) pids = g_string_new(NULL);
    g_autofree char *dir = NULL;
    const QmGuest *found = NULL;
    guint64 pid = 0;
    guint removed, n = 0;

    if (m->opts->qmp != NULL) {
        m->socket = g_strdup(m->opts->qmp);
        return TRUE;
    }
    if (!qm_guests_dir(m->opts->runtime_dir, &dir, error) ||
        !qm_guestlist_list(dir, &guests, &removed, error))
        return FALSE;
    g_ascii_string_to_unsigned(want, 10, 1, G_MAXINT, &pid, NULL);
    for (guint i = 0; i < guests->len; i++) {
        const QmGuest *g = g_ptr_array_index(guests, i);

        if (g->pid > 0 &&
            ((guint64)g->pid == pid || g_strcmp0(g->name, want) == 0)) {
            found = g;
            n++;
            g_string_append_printf(pids, "%s%" G_GINT64_FORMAT,
                                   pids->len ? ", " : "", g->pid);
        }
    }
    if (n == 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "no guest %s here (qemu-mig list shows them; --qmp "
                    "SOCKET for one qemu-mig did not start)",
                    want);
        return FALSE;
    }
    if (n > 1) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s names %u guests (PIDs %s): give the PID", want, n,
                    pids->str);
        return FALSE;
    }
    m->socket = g_strdup(found->socket);
    return TRUE;
}

/**
 * drops_monitor() - is this option the monitor qemu-mig talks through?
 * @opt:    option word
 * @value:  its value
 * @socket: the socket path
 *
 * Return: TRUE for -qmp/-monitor unix:@socket[,...]
 */
static gboolean drops_monitor(const char *opt, const char *value,
                              const char *socket)
{
    gsize n = strlen(socket);

    opt += opt[0] == '-' && opt[1] == '-' ? 2 : 1;
    if (strcmp(opt, "qmp") != 0 && strcmp(opt, "monitor") != 0)
        return FALSE;
    if (!g_str_has_prefix(value, "unix:"))
        return FALSE;
    value += strlen("unix:");
    return strncmp(value, socket, n) == 0 &&
           (value[n] == '\0' || value[n] == ',');
}

/**
 * read_source() - connect to the source and read its command line
 * @m:     migration with @socket
 * @error: set on failure
 *
 * The command line is the running one (/proc/PID/cmdline of the PID
 * behind the socket), so the destination gets exactly what the guest
 * has.  The monitor qemu-mig talks through is left out: the destination
 * gets its own.
 *
 * Return: TRUE on success
 */
static gboolean read_source(Mig *m, GError **error)
{
    g_autofree char *proc = NULL;
    g_autofree char *cmdline = NULL;
    g_autoptr(JsonNode) status = NULL;
    g_autoptr(JsonNode) mig = NULL;
    g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
    const char *state;
    gsize len = 0;

    m->src_pid = qm_guestlist_socket_pid(m->socket);
    if (m->src_pid < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "the monitor on %s is busy with another client", m->socket);
        return FALSE;
    }
    if (m->src_pid == 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "no QEMU answers on %s",
                    m->socket);
        return FALSE;
    }
    proc = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", m->src_pid);
    if (!g_file_get_contents(proc, &cmdline, &len, NULL) || len == 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "cannot read the command line of PID %" G_GINT64_FORMAT,
                    m->src_pid);
        return FALSE;
    }
    for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1)
        g_ptr_array_add(words, g_strdup(cmdline + off));
    m->args = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 1; i < words->len; i++) {
        const char *w = g_ptr_array_index(words, i);

        if (i + 1 < words->len && w[0] == '-' &&
            drops_monitor(w, g_ptr_array_index(words, i + 1), m->socket)) {
            i++;
            continue;
        }
        g_ptr_array_add(m->args, g_strdup(w));
    }
    m->src = qm_monitor_connect_unix(m->socket, m->deadline, error);
    if (m->src == NULL ||
        !qm_monitor_execute(m->src, "query-status", NULL, m->deadline, &status,
                            error) ||
        !qm_monitor_execute(m->src, "query-migrate", NULL, m->deadline, &mig,
                            error))
        return FALSE;
    m->src_running = json_object_get_boolean_member_with_default(
        json_node_get_object(status), "running", FALSE);
    state = json_object_get_string_member_with_default(
        json_node_get_object(mig), "status", "none");
    if (strcmp(state, "none") != 0 && strcmp(state, "completed") != 0 &&
        strcmp(state, "failed") != 0 && strcmp(state, "cancelled") != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "the guest is already migrating (%s)", state);
        return FALSE;
    }
    return TRUE;
}

/**
 * pin_machine() - the destination gets the machine type the guest has
 * @m:     migration, its source connected
 * @error: set when the source does not say
 *
 * A command line may name an alias ("q35", or no -machine at all: "pc"),
 * which another QEMU version resolves to another machine type, and that
 * is another guest: QEMU refuses the stream, or worse, takes it.  The
 * running source knows the type its alias became (its /machine object's
 * QOM type, "pc-q35-7.2-machine"): that type, and every other -machine
 * item as written, goes to the destination.
 *
 * Return: TRUE on success
 */
static gboolean pin_machine(Mig *m, GError **error)
{
    g_autoptr(JsonNode) args = json_from_string(
        "{\"path\": \"/machine\", \"property\": \"type\"}", NULL);
    g_autoptr(JsonNode) ret = NULL;
    g_autofree char *type = NULL;
    int index;

    if (!qm_monitor_execute(m->src, "qom-get", args, m->deadline, &ret, error))
        return FALSE;
    if (!JSON_NODE_HOLDS_VALUE(ret) ||
        json_node_get_value_type(ret) != G_TYPE_STRING ||
        !g_str_has_suffix(json_node_get_string(ret), "-machine")) {
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                    "the source QEMU did not say which machine type the "
                    "guest has");
        return FALSE;
    }
    type = g_strndup(json_node_get_string(ret),
                     strlen(json_node_get_string(ret)) - strlen("-machine"));
    index = qm_machine_find((int)m->args->len, (char *const *)m->args->pdata);
    if (index >= 0) {
        char *value =
            qm_machine_with_type(g_ptr_array_index(m->args, index), type);

        g_free(g_ptr_array_index(m->args, index));
        g_ptr_array_index(m->args, index) = value;
    } else {
        g_ptr_array_add(m->args, g_strdup("-machine"));
        g_ptr_array_add(m->args, g_steal_pointer(&type));
    }
    return TRUE;
}

/**
 * remote() - run a set-up command on the destination
 * @m:       migration
 * @command: shell command
 * @input:   its stdin, or NULL
 * @result:  where to store what it did, or NULL
 * @what:    what it does, for messages
 * @code:    the error code when it exits non-zero
 * @error:   set on failure
 *
 * Return: TRUE when it ran and exited 0
 */
static gboolean remote(Mig *m, const char *command, const char *input,
                       QmSshResult **result, const char *what, QmErrorCode code,
                       GError **error)
{
    g_autoptr(QmSshResult) r = NULL;

    if (!qm_ssh_run(m->opts->to, &m->ssh, command, input,
                    input ? strlen(input) : 0, QM_MIG_MAX_OUT, m->deadline, &r,
                    error))
        return FALSE;
    if (r->exit_status != 0) {
        g_autofree char *said = g_strstrip(g_strdup(r->err));
        char *nl = strchr(said, '\n');

        if (nl != NULL)
            *nl = '\0';
        g_set_error(error, QM_ERROR, code, "%s: %s failed (exit status %d)%s%s",
                    m->opts->to, what, r->exit_status, *said ? ": " : "", said);
        return FALSE;
    }
    if (result != NULL)
        *result = g_steal_pointer(&r);
    return TRUE;
}

/**
 * check_storage() - every file the guest opens is on the destination
 * @m:     migration
 * @error: QM_ERROR_INCOMPATIBLE naming every missing path
 *
 * Return: TRUE when all are there
 */
static gboolean check_storage(Mig *m, GError **error)
{
    g_autoptr(GPtrArray) paths = qm_migcmd_storage_paths(
        (int)m->args->len, (char *const *)m->args->pdata);
    g_autofree char *script = qm_migcmd_missing_script(paths);
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GPtrArray) missing = NULL;
    g_autoptr(GString) list = g_string_new(NULL);

    if (paths->len == 0)
        return TRUE;
    if (!remote(m, script, NULL, &r, "checking storage", QM_ERROR_FAILED,
                error))
        return FALSE;
    missing = qm_migcmd_missing_parse((const char *)r->out->data, r->out->len);
    if (missing->len == 0)
        return TRUE;
    for (guint i = 0; i < missing->len; i++) {
        g_autofree char *q = g_strescape(g_ptr_array_index(missing, i), NULL);

        g_string_append_printf(list, "%s%s", i ? ", " : "", q);
    }
    g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                "%s lacks what the guest opens (a migration moves no disk: "
                "it needs shared storage; copying local disks is not "
                "supported yet): %s",
                m->opts->to, list->str);
    return FALSE;
}

/**
 * prepare_dir() - the destination's runtime directory, made and checked
 * @m:     migration
 * @error: QM_ERROR_CACHE when it is refused
 *
 * --remote-runtime-dir, else the remote user's $XDG_RUNTIME_DIR/qemu-mig,
 * else /run/qemu-mig: asked of the destination's own shell.
 *
 * Return: TRUE with @m->dir set
 */
static gboolean prepare_dir(Mig *m, GError **error)
{
    const char *dir =
        host_option(m, "remote-runtime-dir", m->opts->remote_runtime_dir);
    g_autofree char *given = dir ? qm_shquote_word(dir) : NULL;
    g_autofree char *choose =
        given ? g_strdup_printf("d=%s", given)
              : g_strdup("d=\"${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/qemu-mig}\"; "
                         "[ -n \"$d\" ] || d=/run/qemu-mig");
    g_autofree char *command = g_strdup_printf(
        "%s; mkdir -p \"$d\" && [ -d \"$d\" ] && [ ! -L \"$d\" ] && "
        "[ -O \"$d\" ] && chmod 0700 \"$d\" && printf '%%s' \"$d\"",
        choose);
    g_autoptr(QmSshResult) r = NULL;

    if (!remote(m, command, NULL, &r, "preparing the runtime directory",
                QM_ERROR_CACHE, error))
        return FALSE;
    m->dir = g_strndup((const char *)r->out->data, r->out->len);
    if (!g_path_is_absolute(m->dir) || strchr(m->dir, ',') != NULL ||
        strchr(m->dir, '\n') != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "%s: runtime directory '%s' cannot hold QEMU's sockets "
                    "(use --remote-runtime-dir)",
                    m->opts->to, m->dir);
        return FALSE;
    }
    return TRUE;
}

/**
 * dest_file() - a file of the guest in the destination's runtime dir
 * @m:   migration
 * @ext: extension, e.g. "qmp"
 *
 * Return: newly allocated path
 */
static char *dest_file(const Mig *m, const char *ext)
{
    return g_strdup_printf("%s/%s.%s", m->dir, m->id, ext);
}

/* What the lease prints: see start_dest() */
#define LEASE_STARTED   "qemu-mig-lease-started"
#define LEASE_FAILED    "qemu-mig-lease-failed"
#define LEASE_COMMITTED "qemu-mig-lease-committed"

/**
 * lease_line() - the lease's next line
 * @m:     migration, its lease open
 * @line:  where to store the line (newly allocated, no newline), NULL at
 *         its end
 * @error: set at the deadline, on a signal, or when reading fails
 *
 * Return: TRUE when a line, or the end, was read
 */
static gboolean lease_line(Mig *m, char **line, GError **error)
{
    for (;;) {
        char *nl = strchr(m->lease_buf->str, '\n');
        struct pollfd p = {.fd = m->lease_fd, .events = POLLIN};
        char chunk[4096];
        ssize_t n;

        if (nl != NULL) {
            *line = g_strndup(m->lease_buf->str, nl - m->lease_buf->str);
            g_string_erase(m->lease_buf, 0, nl - m->lease_buf->str + 1);
            return TRUE;
        }
        if (!qm_interrupt_check("migrate", error))
            return FALSE;
        if (g_get_monotonic_time() >= m->deadline) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "%s: starting QEMU took longer than --timeout",
                        m->opts->to);
            return FALSE;
        }
        if (poll(&p, 1, qm_interrupt_poll_ms(m->deadline)) <= 0)
            continue;
        n = read(m->lease_fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            *line = NULL;
            return TRUE;
        }
        /* a bounded tail is all that is looked at */
        if (m->lease_buf->len > QM_MIG_MAX_OUT)
            g_string_erase(m->lease_buf, 0, m->lease_buf->len / 2);
        g_string_append_len(m->lease_buf, chunk, n);
    }
}

/**
 * lease_lost() - has the lease ended (the SSH connection to the
 *                destination is gone)?
 * @m: migration
 *
 * It prints nothing between starting QEMU and its commit: anything to
 * read is its end.
 *
 * Return: TRUE if so
 */
static gboolean lease_lost(Mig *m)
{
    struct pollfd p = {.fd = m->lease_fd, .events = POLLIN};

    return m->lease_fd >= 0 && poll(&p, 1, 0) > 0;
}

/**
 * lease_commit() - tell the lease to keep the destination QEMU
 * @m:     migration
 * @error: QM_ERROR_MIGRATION when it did not confirm
 *
 * Only a confirmed commit makes the destination permanent: a connection
 * lost before it leaves a destination that kills its QEMU (which was
 * never told to continue) on its own.
 *
 * Return: TRUE when committed
 */
static gboolean lease_commit(Mig *m, GError **error)
{
    g_autofree char *line = NULL;

    if (send(m->lease_fd, "commit\n", 7, MSG_NOSIGNAL) != 7 ||
        !lease_line(m, &line, error) || line == NULL ||
        strcmp(line, LEASE_COMMITTED) != 0) {
        g_clear_error(error);
        g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                    "%s: lost the SSH connection at the switch-over; the "
                    "guest runs on here",
                    m->opts->to);
        return FALSE;
    }
    return TRUE;
}

/**
 * start_dest() - start the destination QEMU, paused, waiting for the
 *                stream, as a daemon
 * @m:     migration
 * @error: QM_ERROR_QEMU when it does not start
 *
 * Started by a lease: a shell on the destination that starts QEMU, says
 * so, and then waits for one line on its stdin.  "commit" (the guest is
 * all there, switch_over()) and QEMU stays; anything else, including the
 * end of its stdin because the SSH connection broke or qemu-mig was
 * killed, and it kills QEMU and removes its files.  A destination is
 * never left behind, whatever happens to this side.
 *
 * Return: TRUE when it runs
 */
static gboolean start_dest(Mig *m, GError **error)
{
    static const char *const incoming[] = {"incoming", NULL};
    g_autoptr(GArray) drop = qm_qemuargs_find_options(
        (int)m->args->len, (char *const *)m->args->pdata, incoming);
    g_autoptr(GPtrArray) kept = g_ptr_array_new();
    g_auto(GStrv) detached = NULL;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_auto(GStrv) argv = NULL;
    g_autofree char *pidfile = dest_file(m, "pid");
    g_autofree char *sock = dest_file(m, "qmp");
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    g_autofree char *words = NULL;
    g_autofree char *command = NULL;
    g_autofree char *qdir = NULL;
    g_autoptr(GString) said = g_string_new(NULL);
    guint k = 0;

    /* the source's own -incoming (a guest that came in) does not apply */
    for (guint i = 0; i < m->args->len; i++) {
        if (k < drop->len && g_array_index(drop, int, k) == (int)i) {
            k++;
            i++;
            continue;
        }
        g_ptr_array_add(kept, g_ptr_array_index(m->args, i));
    }
    g_ptr_array_add(kept, NULL);
    detached = qm_migcmd_detach((int)kept->len - 1, (char *const *)kept->pdata,
                                m->dir, m->id, m->report->notes);
    g_strv_builder_addv(b, (const char **)detached);
    /* -S: the guest continues only once it is all there (libvirt's way) */
    g_strv_builder_add_many(b, "-S", "-daemonize", "-pidfile", pidfile, "-qmp",
                            qmp, "-incoming", "defer", NULL);
    argv = g_strv_builder_end(b);
    words = qm_shquote_argv(argv);
    qdir = qm_shquote_word(m->dir);
    /*
     * --remote-qemu is shell text of its own ("sudo qemu-kvm").  QEMU's
     * stdin is not the lease's: the "commit" line is for the shell.  A
     * lease whose qemu-mig went away must still get to its `read`: no
     * SIGPIPE when it says "started" to nobody.
     * The id is hex: safe unquoted, and it makes the glob ours.
     */
    command = g_strdup_printf(
        "exec 2>&1; trap '' PIPE; p=%s/%s.pid; "
        "%s %s </dev/null || { echo; echo " LEASE_FAILED "; exit 1; }; "
        "echo " LEASE_STARTED "; "
        "if read a && [ \"$a\" = commit ]; then echo " LEASE_COMMITTED "; "
        "exit 0; fi; "
        "if [ -f \"$p\" ]; then kill -9 \"$(cat \"$p\")\" 2>/dev/null; fi; "
        "rm -f %s/%s.*",
        qdir, m->id, qm_options_remote_qemu(m->opts, m->opts->to), words, qdir,
        m->id);
    m->started = TRUE;
    if (!qm_ssh_forward_exec(m->opts->to, &m->ssh, command, m->deadline,
                             &m->lease, &m->lease_fd, error))
        return FALSE;
    for (;;) {
        g_autofree char *line = NULL;

        if (!lease_line(m, &line, error))
            return FALSE;
        if (line == NULL || strcmp(line, LEASE_FAILED) == 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: starting QEMU failed%s%s", m->opts->to,
                        said->len ? ": " : "", said->str);
            return FALSE;
        }
        if (strcmp(line, LEASE_STARTED) == 0)
            return TRUE;
        /* QEMU's complaint is its last line; a chatty shell's come first */
        if (*g_strstrip(line) != '\0')
            g_string_assign(said, line);
    }
}

/**
 * connect_dest() - the destination's monitor, through SSH
 * @m:     migration
 * @error: set on failure
 *
 * Return: TRUE on success
 */
static gboolean connect_dest(Mig *m, GError **error)
{
    g_autofree char *sock = dest_file(m, "qmp");
    int fd = -1;

    if (!qm_ssh_forward_unix(m->opts->to, &m->ssh, sock, m->deadline, &m->fwd,
                             &fd, error))
        return FALSE;
    m->dst = qm_monitor_new_fd(fd, m->deadline, error);
    return m->dst != NULL;
}

/**
 * ReadJob - one vCPU read on a thread of its own
 * @mon:      the monitor (used by that thread only meanwhile)
 * @deadline: g_get_monotonic_time() bound
 * @vcpu:     result
 * @error:    failure
 */
typedef struct {
    QmMonitor *mon;
    gint64 deadline;
    QmVcpu *vcpu;
    GError *error;
} ReadJob;

/**
 * read_vcpu() - thread body: qm_vcpu_read() of a ReadJob
 * @data: the ReadJob
 *
 * Return: NULL
 */
static gpointer read_vcpu(gpointer data)
{
    ReadJob *job = data;

    qm_vcpu_read(job->mon, job->deadline, &job->vcpu, &job->error);
    return NULL;
}

/**
 * preflight() - the two vCPUs, property by property
 * @m:     migration
 * @error: QM_ERROR_INCOMPATIBLE listing the differences
 *
 * The same comparison the test suites prove migrations with
 * (qm_vcpu_compare()): a property only one QEMU version has is no
 * difference, and the TSC frequency is left out (a destination shows its
 * own host's until the guest's arrives with it).
 *
 * Return: TRUE when they are the same, or --force
 */
static gboolean preflight(Mig *m, GError **error)
{
    g_autoptr(QmVcpu) a = NULL;
    g_autoptr(QmVcpu) b = NULL;
    g_autoptr(QmVcpuComparison) c = NULL;
    g_autoptr(GString) list = g_string_new(NULL);

    /*
     * Both at once: a QEMU answers a qom-get per main-loop turn, and a
     * vCPU has hundreds of properties (under TCG, ~0.7 s a side).
     */
    {
        ReadJob job = {.mon = m->dst, .deadline = m->deadline};
        GThread *t = g_thread_new("qm-vcpu-read", read_vcpu, &job);
        gboolean ok = qm_vcpu_read(m->src, m->deadline, &a, error);

        g_thread_join(t);
        b = g_steal_pointer(&job.vcpu);
        if (!ok)
            return FALSE;
        if (job.error != NULL) {
            g_propagate_error(error, g_steal_pointer(&job.error));
            return FALSE;
        }
    }
    c = qm_vcpu_compare(a, b, 0);
    if (c->differences->len == 0)
        return TRUE;
    for (guint i = 0; i < c->differences->len; i++) {
        const QmVcpuDiff *d = g_ptr_array_index(c->differences, i);

        if (i == QM_MIG_MAX_LISTED) {
            g_string_append_printf(list, "; and %u more",
                                   c->differences->len - i);
            break;
        }
        g_string_append_printf(list, "%s%s: source %s, destination %s",
                               i ? "; " : "", d->name, d->a, d->b);
    }
    if (m->opts->force) {
        g_ptr_array_add(m->report->notes,
                        g_strdup_printf("--force: migrating although %u vCPU "
                                        "properties differ: %s",
                                        c->differences->len, list->str));
        return TRUE;
    }
    g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                "%s would give the guest another CPU (%u of %u vCPU "
                "properties differ; nothing was migrated): %s",
                m->opts->to, c->differences->len, c->compared, list->str);
    return FALSE;
}

/**
 * listen_dest() - make the destination listen, and where
 * @m:     migration
 * @host:  where to store the address it listens at (newly allocated,
 *         IPv6 in brackets)
 * @port:  where to store the port
 * @error: set on failure
 *
 * Port 0: the destination's kernel picks a free port, which QEMU reports
 * in query-migrate's socket-address.  With --tunnel the stream arrives
 * through SSH, from the destination itself: its loopback is enough, and
 * nothing else can reach it.
 *
 * Return: TRUE on success
 */
static gboolean listen_dest(Mig *m, char **host, int *port, GError **error)
{
    const char *given =
        host_option(m, "migrate-address", m->opts->migrate_address);
    const char *addr = given             ? given
                       : m->opts->tunnel ? "127.0.0.1"
                                         : m->cfg->hostname;
    g_autofree char *listen_uri = NULL;
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonNode) info = NULL;
    JsonArray *sockets;
    const char *text;
    guint64 number = 0;

    *host = strchr(addr, ':') ? g_strdup_printf("[%s]", addr) : g_strdup(addr);
    listen_uri = g_strdup_printf("tcp:%s:0", *host);
    args = json_from_string("{}", NULL);
    json_object_set_string_member(json_node_get_object(args), "uri",
                                  listen_uri);
    if (!qm_monitor_execute(m->dst, "migrate-incoming", args, m->deadline, &ret,
                            error) ||
        !qm_monitor_execute(m->dst, "query-migrate", NULL, m->deadline, &info,
                            error))
        return FALSE;
    sockets = json_object_get_array_member(json_node_get_object(info),
                                           "socket-address");
    text = sockets && json_array_get_length(sockets) > 0
               ? json_object_get_string_member_with_default(
                     json_array_get_object_element(sockets, 0), "port", NULL)
               : NULL;
    if (text == NULL ||
        !g_ascii_string_to_unsigned(text, 10, 1, 65535, &number, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                    "%s: QEMU did not say which port it listens on",
                    m->opts->to);
        return FALSE;
    }
    *port = (int)number;
    return TRUE;
}

/**
 * stream_uri() - where the source sends the guest
 * @m:     migration
 * @host:  where the destination listens
 * @port:  its port
 * @uri:   where to store the URI for `migrate`
 * @error: set on failure
 *
 * Directly: tcp:HOST:PORT.  With --tunnel: a direct-tcpip channel to that
 * port, seen from the destination, whose local end the source QEMU gets
 * over its monitor (getfd) and sends to (fd:NAME): QEMU needs no route to
 * the destination, only qemu-mig's SSH connection.
 *
 * Return: TRUE on success
 */
static gboolean stream_uri(Mig *m, const char *host, int port, char **uri,
                           GError **error)
{
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autofree char *bare = NULL;
    int fd = -1;
    gboolean ok;

    if (!m->opts->tunnel) {
        *uri = g_strdup_printf("tcp:%s:%d", host, port);
        return TRUE;
    }
    /* SSH names IPv6 addresses bare */
    bare =
        host[0] == '[' ? g_strndup(host + 1, strlen(host) - 2) : g_strdup(host);
    if (!qm_ssh_forward_tcp(m->opts->to, &m->ssh, bare, port, m->deadline,
                            &m->tunnel, &fd, error))
        return FALSE;
    args = json_from_string("{\"fdname\": \"qemu-mig-tunnel\"}", NULL);
    ok = qm_monitor_execute_fd(m->src, "getfd", args, fd, m->deadline, &ret,
                               error);
    close(fd);
    if (!ok)
        return FALSE;
    *uri = g_strdup("fd:qemu-mig-tunnel");
    return TRUE;
}

/**
 * set_parameters() - --bandwidth, --downtime and --auto-converge, as
 *                    QEMU's migration parameters and capability
 * @m:     migration
 * @error: set when QEMU refuses one
 *
 * Set on the source, which sends; auto-converge throttles its vCPUs.
 *
 * Return: TRUE on success
 */
static gboolean set_parameters(Mig *m, GError **error)
{
    g_autoptr(JsonNode) params = json_from_string("{}", NULL);
    JsonObject *p = json_node_get_object(params);
    g_autoptr(JsonNode) ret = NULL;

    if (m->opts->bandwidth > 0)
        json_object_set_int_member(p, "max-bandwidth", m->opts->bandwidth);
    if (m->opts->downtime_ms > 0)
        json_object_set_int_member(p, "downtime-limit", m->opts->downtime_ms);
    if (json_object_get_size(p) > 0 &&
        !qm_monitor_execute(m->src, "migrate-set-parameters", params,
                            m->deadline, &ret, error))
        return FALSE;
    if (m->opts->auto_converge) {
        g_autoptr(JsonNode) caps = json_from_string(
            "{\"capabilities\": [{\"capability\": \"auto-converge\", "
            "\"state\": true}]}",
            NULL);
        g_autoptr(JsonNode) r2 = NULL;

        if (!qm_monitor_execute(m->src, "migrate-set-capabilities", caps,
                                m->deadline, &r2, error))
            return FALSE;
    }
    return TRUE;
}

/**
 * transfer() - migrate, and wait for the end of it
 * @m:     migration
 * @uri:   where the destination listens
 * @error: QM_ERROR_MIGRATION when QEMU reports failure, the transfer takes
 *         longer than --migrate-timeout, or a signal comes
 *
 * Return: TRUE when QEMU reports it completed
 */
static gboolean transfer(Mig *m, const char *uri, GError **error)
{
    g_autoptr(JsonNode) args = json_from_string("{}", NULL);
    g_autoptr(JsonNode) ret = NULL;
    gint64 start = g_get_monotonic_time();
    gint64 limit = m->opts->migrate_timeout_s > 0
                       ? start + m->opts->migrate_timeout_s * G_USEC_PER_SEC
                       : G_MAXINT64;

    json_object_set_string_member(json_node_get_object(args), "uri", uri);
    if (!set_parameters(m, error) ||
        !qm_monitor_execute(m->src, "migrate", args, m->deadline, &ret, error))
        return FALSE;
    m->migrating = TRUE;
    for (;;) {
        g_autoptr(JsonNode) info = NULL;
        g_autoptr(GError) local = NULL;
        JsonObject *o;
        const char *status;

        if (!qm_interrupt_pending() &&
            !qm_monitor_execute(m->src, "query-migrate", NULL,
                                g_get_monotonic_time() +
                                    m->opts->timeout_ms * 1000,
                                &info, &local)) {
            if (!qm_interrupt_pending()) {
                g_propagate_error(error, g_steal_pointer(&local));
                return FALSE;
            }
        }
        if (qm_interrupt_pending()) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "migration to %s interrupted; the guest runs on here",
                        m->opts->to);
            return FALSE;
        }
        if (lease_lost(m)) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "migration to %s: lost the SSH connection there "
                        "(its QEMU stops by itself); the guest runs on here",
                        m->opts->to);
            return FALSE;
        }
        o = json_node_get_object(info);
        status = json_object_get_string_member_with_default(o, "status", "");
        tell_progress(m, o, (g_get_monotonic_time() - start) / 1e6);
        if (strcmp(status, "completed") == 0) {
            JsonObject *ram = json_object_has_member(o, "ram")
                                  ? json_object_get_object_member(o, "ram")
                                  : NULL;

            m->report->seconds = (g_get_monotonic_time() - start) / 1e6;
            m->report->downtime_ms =
                json_object_get_int_member_with_default(o, "downtime", -1);
            m->report->bytes = ram ? json_object_get_int_member_with_default(
                                         ram, "transferred", 0)
                                   : 0;
            return TRUE;
        }
        if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "migration to %s %s%s%s; the guest runs on here",
                        m->opts->to, status,
                        json_object_has_member(o, "error-desc") ? ": " : "",
                        json_object_get_string_member_with_default(
                            o, "error-desc", ""));
            return FALSE;
        }
        if (g_get_monotonic_time() >= limit) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "migration to %s did not end within %" G_GINT64_FORMAT
                        " s (--migrate-timeout); the guest runs on here",
                        m->opts->to, m->opts->migrate_timeout_s);
            return FALSE;
        }
        g_usleep(QM_MIG_POLL_US);
    }
}

/**
 * dest_loaded() - wait until the destination holds the whole guest
 * @m:     migration
 * @error: QM_ERROR_MIGRATION when it could not load it
 *
 * The source says "completed" once it has sent the last byte; the
 * destination may still be reading it (more so through --tunnel, whose
 * channel buffers), and a `cont` then would only be remembered for later.
 * Its own status says when it is done, or that it failed.
 *
 * Return: TRUE when it completed
 */
static gboolean dest_loaded(Mig *m, GError **error)
{
    for (;;) {
        g_autoptr(JsonNode) info = NULL;
        JsonObject *o;
        const char *status;

        g_autoptr(GError) local = NULL;

        /* QEMU exits when it cannot load what it got */
        if (!qm_monitor_execute(m->dst, "query-migrate", NULL, m->deadline,
                                &info, &local)) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "%s: QEMU ended while loading the guest (%s); the "
                        "guest runs on here",
                        m->opts->to, local->message);
            return FALSE;
        }
        o = json_node_get_object(info);
        status = json_object_get_string_member_with_default(o, "status", "");
        if (strcmp(status, "completed") == 0)
            return TRUE;
        if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "%s could not load the guest%s%s; the guest runs on "
                        "here",
                        m->opts->to,
                        json_object_has_member(o, "error-desc") ? ": " : "",
                        json_object_get_string_member_with_default(
                            o, "error-desc", ""));
            return FALSE;
        }
        if (g_get_monotonic_time() >= m->deadline) {
            g_set_error(error, QM_ERROR, QM_ERROR_MIGRATION,
                        "%s did not finish loading the guest within "
                        "--timeout (status %s); the guest runs on here",
                        m->opts->to, status);
            return FALSE;
        }
        g_usleep(QM_MIG_POLL_US / 10);
    }
}

/**
 * switch_over() - the destination continues the guest; the source quits
 * @m:     migration
 * @error: set when the destination cannot continue
 *
 * Return: TRUE on success
 */
static gboolean switch_over(Mig *m, GError **error)
{
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(QmGuest) g = g_new0(QmGuest, 1);
    g_autoptr(QmSshResult) r = NULL;
    g_autofree char *pidfile = dest_file(m, "pid");
    g_autofree char *qpid = qm_shquote_word(pidfile);
    g_autofree char *cat = g_strdup_printf("cat %s", qpid);
    g_autofree char *record = NULL;
    g_autofree char *qrecord = NULL;
    g_autofree char *write = NULL;

    if (!dest_loaded(m, error) || !lease_commit(m, error))
        return FALSE;
    m->cont_sent = m->src_running;
    if (m->src_running &&
        !qm_monitor_execute(m->dst, "cont", NULL, m->deadline, &ret, error))
        return FALSE;
    /* the guest is there now: whatever follows, never undo it */
    m->started = FALSE;
    m->migrating = FALSE;
    if (!m->opts->keep_source) {
        g_autoptr(GError) ignored = NULL;
        g_autoptr(JsonNode) q = NULL;

        qm_monitor_execute(m->src, "quit", NULL, m->deadline, &q, &ignored);
    }
    if (remote(m, cat, NULL, &r, "reading the pidfile", QM_ERROR_FAILED,
               NULL)) {
        g_autofree char *text =
            g_strndup((const char *)r->out->data, r->out->len);

        m->report->dest_pid = g_ascii_strtoll(text, NULL, 10);
    }
    /* the guest's record there, so that it can move on from there */
    g->id = g_strdup(m->id);
    g->socket = dest_file(m, "qmp");
    g->name = qm_guests_name((int)m->args->len, (char *const *)m->args->pdata);
    g->qemu = g_strdup(qm_options_remote_qemu(m->opts, m->opts->to));
    g_ptr_array_add(m->args, NULL);
    g->argv = g_strdupv((char **)m->args->pdata);
    g_ptr_array_set_size(m->args, m->args->len - 1);
    g->started = g_get_real_time() / G_USEC_PER_SEC;
    g->launcher = m->report->dest_pid;
    record = dest_file(m, "json");
    qrecord = qm_shquote_word(record);
    write = g_strdup_printf("umask 077 && cat > %s.tmp && mv %s.tmp %s",
                            qrecord, qrecord, qrecord);
    {
        g_autofree char *text = qm_guests_record_text(g);
        g_autoptr(GError) ignored = NULL;

        if (!remote(m, write, text, NULL, "writing the guest's record",
                    QM_ERROR_FAILED, &ignored))
            g_ptr_array_add(m->report->notes,
                            g_strdup_printf("the guest's record on %s was not "
                                            "written: %s",
                                            m->opts->to, ignored->message));
    }
    return TRUE;
}

/**
 * teardown() - undo what a failed migration did
 * @m: migration
 *
 * The source's migration is cancelled (QEMU keeps the guest running
 * there), the destination QEMU is killed and its files removed.  A
 * source whose transfer had completed is paused ("postmigrate"): it is
 * continued once the destination is known not to run the guest (it never
 * got `cont`: -S keeps it paused; or it was killed), never before, so
 * that the guest never runs twice.  Runs with any interruption set aside:
 * undoing is what an interruption asks for.
 *
 * Return: what the user must still do, or NULL (newly allocated)
 */
static char *teardown(Mig *m)
{
    int sig = qm_interrupt_take();
    gboolean dest_gone = !m->cont_sent;
    char *left = NULL;

    step_deadline(m);
    if (m->migrating && m->src != NULL) {
        g_autoptr(GError) ignored = NULL;
        g_autoptr(JsonNode) ret = NULL;

        /* a monitor an interruption cut short mid-command is of no more
         * use (monitor.c): the cancel goes through a new connection */
        if (!qm_monitor_execute(m->src, "migrate_cancel", NULL, m->deadline,
                                &ret, &ignored)) {
            g_clear_pointer(&m->src, qm_monitor_free);
            g_clear_error(&ignored);
            m->src = qm_monitor_connect_unix(m->socket, m->deadline, &ignored);
            if (m->src != NULL)
                qm_monitor_execute(m->src, "migrate_cancel", NULL, m->deadline,
                                   &ret, NULL);
        }
    }
    if (m->dst != NULL) {
        g_autoptr(GError) ignored = NULL;
        g_autoptr(JsonNode) ret = NULL;

        if (qm_monitor_execute(m->dst, "quit", NULL, m->deadline, &ret,
                               &ignored))
            dest_gone = TRUE;
    }
    g_clear_pointer(&m->dst, qm_monitor_free);
    g_clear_pointer(&m->fwd, qm_ssh_forward_free);
    g_clear_pointer(&m->tunnel, qm_ssh_forward_free);
    /* its stdin closed: the lease kills the destination QEMU by itself,
     * even when the cleanup below cannot reach it */
    g_clear_pointer(&m->lease, qm_ssh_forward_free);
    if (m->started && m->dir != NULL) {
        g_autofree char *qdir = qm_shquote_word(m->dir);
        /* the id is hex: safe unquoted, and it makes the glob ours */
        g_autofree char *command = g_strdup_printf(
            "p=%s/%s.pid; if [ -f \"$p\" ]; then kill -9 \"$(cat \"$p\")\" "
            "2>/dev/null; fi; rm -f %s/%s.*",
            qdir, m->id, qdir, m->id);
        g_autoptr(GError) ignored = NULL;

        if (remote(m, command, NULL, NULL, "cleaning up", QM_ERROR_FAILED,
                   &ignored))
            dest_gone = TRUE;
    }
    if (m->src_running && m->src != NULL) {
        g_autoptr(GError) ignored = NULL;
        g_autoptr(JsonNode) status = NULL;
        g_autoptr(JsonNode) ret = NULL;

        if (qm_monitor_execute(m->src, "query-status", NULL, m->deadline,
                               &status, &ignored) &&
            !json_object_get_boolean_member_with_default(
                json_node_get_object(status), "running", TRUE)) {
            if (!dest_gone)
                left = g_strdup_printf(
                    "the source QEMU stays paused: %s was told to continue "
                    "the guest and could not be stopped; check there "
                    "before you resume it here (QMP cont)",
                    m->opts->to);
            else if (!qm_monitor_execute(m->src, "cont", NULL, m->deadline,
                                         &ret, &ignored))
                left = g_strdup_printf("the source QEMU is paused and did "
                                       "not continue: %s",
                                       ignored->message);
        }
    }
    qm_interrupt_put(sig);
    return left;
}

/**
 * qm_migrate_run() - qemu-mig migrate
 * @opts:     options: --to, GUEST or --qmp, and the rest
 * @progress: told of each step and of the transfer's progress, or NULL
 * @data:     its data
 * @report: where to store what happened, on success
 * @error:  set on failure; the guest then runs on the source as before
 *
 * Return: TRUE when the guest runs on the destination
 */
gboolean qm_migrate_run(const QmOptions *opts, QmMigrateProgressFunc progress,
                        gpointer data, QmMigrateReport **report, GError **error)
{
    Mig m = {.opts = opts,
             .progress = progress,
             .progress_data = data,
             .lease_fd = -1,
             .lease_buf = g_string_new(NULL)};
    g_autofree char *uri = NULL;
    g_autofree char *host = NULL;
    int port = 0;
    gboolean ok;

    m.ssh = (QmSshOptions){
        .ssh_config = opts->ssh_config,
        .identity = opts->identity,
        .known_hosts = opts->known_hosts,
    };
    m.report = g_new0(QmMigrateReport, 1);
    m.report->notes = g_ptr_array_new_with_free_func(g_free);
    m.report->downtime_ms = -1;
    m.id = g_strdup_printf("%08x%08x", g_random_int(), g_random_int());
    step_deadline(&m);
    /* once: every connection to the destination (about six) uses it */
    ok = qm_ssh_config_evaluate(opts->to, &m.ssh, m.deadline, &m.cfg, error);
    m.ssh.config = m.cfg;
    ok = ok && step(&m, "source") && find_socket(&m, error) &&
         read_source(&m, error) && pin_machine(&m, error) &&
         step(&m, "storage") && check_storage(&m, error) &&
         step(&m, "destination") && prepare_dir(&m, error) &&
         start_dest(&m, error);
    if (ok) {
        step_deadline(&m);
        ok = connect_dest(&m, error) && step(&m, "preflight") &&
             preflight(&m, error) && step(&m, "transfer") &&
             listen_dest(&m, &host, &port, error) &&
             stream_uri(&m, host, port, &uri, error) &&
             transfer(&m, uri, error);
    }
    if (ok) {
        step_deadline(&m);
        ok = step(&m, "switch-over") && switch_over(&m, error);
    }
    if (!ok) {
        g_autofree char *left = teardown(&m);

        /* the error said the guest runs on here: not so, say what is */
        if (left != NULL && error != NULL && *error != NULL) {
            char *msg = (*error)->message;
            char *cut = strstr(msg, "; the guest runs on here");

            if (cut != NULL)
                *cut = '\0';
            (*error)->message = g_strdup_printf("%s; %s", msg, left);
            g_free(msg);
        }
    }
    g_clear_pointer(&m.dst, qm_monitor_free);
    g_clear_pointer(&m.fwd, qm_ssh_forward_free);
    g_clear_pointer(&m.tunnel, qm_ssh_forward_free);
    g_clear_pointer(&m.lease, qm_ssh_forward_free);
    if (m.lease_fd >= 0)
        close(m.lease_fd);
    g_string_free(m.lease_buf, TRUE);
    g_clear_pointer(&m.src, qm_monitor_free);
    if (m.args != NULL)
        g_ptr_array_unref(m.args);
    g_free(m.socket);
    qm_ssh_config_free(m.cfg);
    if (ok) {
        m.report->dest_dir = g_steal_pointer(&m.dir);
        m.report->dest_id = g_steal_pointer(&m.id);
        *report = g_steal_pointer(&m.report);
    }
    qm_migrate_report_free(m.report);
    g_free(m.dir);
    g_free(m.id);
    return ok;
}
