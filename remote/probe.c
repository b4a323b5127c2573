/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: probing one host - the local QEMU through a pipe, a peer over
 * one SSH channel - and turning the conversation into a QmProfile.
 *
 * A probe is the same on every host: start QEMU with the arguments from
 * qm_qmp_probe_argv(), write the whole QMP conversation at once, read
 * until QEMU exits.  wrapper/hosts.c runs one probe per thread, so the
 * total is the slowest host, not the sum.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"
#include "../wrapper/qmp.h"
#include "hostid.h"
#include "probe.h"

/* stderr is only for messages: keep enough to quote, no more. */
#define MAX_STDERR (64 * 1024)

/**
 * telling_line() - the most telling line of a program's stderr
 * @err: stderr text, or NULL
 *
 * QEMU prints the reason it failed last; shells print "not found" first.
 *
 * Return: newly allocated line (empty if none), control bytes escaped
 */
static char *telling_line(const char *err)
{
    g_auto(GStrv) lines = g_strsplit(err ? err : "", "\n", -1);
    const char *pick = "";

    for (char **l = lines; *l; l++) {
        if (**l != '\0')
            pick = *l;
    }
    {
        g_autofree char *escaped = g_strescape(pick, NULL);

        if (strlen(escaped) > 200)
            escaped[200] = '\0';
        return g_steal_pointer(&escaped);
    }
}

/**
 * interpret() - turn what a probe's QEMU did into a profile or an error
 * @host:    host name
 * @qemu:    the QEMU command, for messages
 * @out:     its stdout
 * @len:     length of @out
 * @err:     its stderr (may be NULL)
 * @status:  its exit status (-1 if unknown)
 * @profile: where to store the profile
 * @error:   set on failure
 *
 * Return: TRUE on success
 */
static gboolean interpret(const char *host, const char *qemu, const char *out,
                          gsize len, const char *err, int status,
                          QmProfile **profile, GError **error)
{
    g_autofree char *line = telling_line(err);
    g_autofree char *lower = g_ascii_strdown(err ? err : "", -1);

    if (len == 0 || g_strstr_len(out, len, "\"QMP\"") == NULL) {
        if (status == 127 || strstr(lower, "not found") != NULL)
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU command '%s' not found: %s", host, qemu,
                        line);
        else if (status == 126)
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU command '%s' cannot be executed: %s", host,
                        qemu, line);
        else if (strstr(lower, "kvm") != NULL)
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU cannot use KVM: %s", host, line);
        else
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU exited (status %d) before answering QMP: %s",
                        host, status, *line ? line : "no message");
        return FALSE;
    }
    /* QEMU greeted, then died of a signal (128+N: locally, or from a
     * peer's sudo or shell): say so rather than blame the half
     * conversation it left */
    if (status > 128 && status < 128 + 65) {
        if (qm_qmp_parse_transcript(host, out, len, profile, NULL))
            return TRUE;
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                    "%s: QEMU died (status %d) during the probe: %s", host,
                    status, *line ? line : "no message");
        return FALSE;
    }
    return qm_qmp_parse_transcript(host, out, len, profile, error);
}

/**
 * child_setup() - runs in the probe's QEMU between fork and exec
 * @data: unused
 *
 * If qemu-mig dies, so does the probe: no QEMU left behind.
 */
static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/**
 * pump() - feed a child's stdin and drain its stdout and stderr
 * @fds:    stdin, stdout, stderr pipe fds (closed here as they finish)
 * @input:  bytes for stdin
 * @out:    stdout bytes
 * @err:    stderr bytes
 * @deadline: g_get_monotonic_time() deadline
 * @error:  set on timeout or an oversized reply
 *
 * Return: TRUE when both output pipes reached EOF in time
 */
static gboolean pump(int fds[3], const char *input, GByteArray *out,
                     GByteArray *err, gint64 deadline, GError **error)
{
    gsize written = 0, in_len = strlen(input);

    while (fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd pfd[3];
        int n;

        for (int k = 0; k < 3; k++) {
            pfd[k].fd = fds[k];
            pfd[k].events = k == 0 ? POLLOUT : POLLIN;
            pfd[k].revents = 0;
        }
        if (!qm_interrupt_check("local QEMU", error))
            return FALSE;
        n = poll(pfd, 3, qm_interrupt_poll_ms(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && g_get_monotonic_time() < deadline)
            continue;
        if (n <= 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "timed out waiting for QEMU to answer");
            return FALSE;
        }
        if (fds[0] >= 0 && pfd[0].revents) {
            ssize_t w = write(fds[0], input + written, in_len - written);

            if (w > 0)
                written += w;
            if (w < 0 || written == in_len) {
                close(fds[0]);
                fds[0] = -1;
            }
        }
        for (int k = 1; k < 3; k++) {
            char buf[65536];
            ssize_t r;
            GByteArray *dst = k == 1 ? out : err;

            if (fds[k] < 0 || !pfd[k].revents)
                continue;
            r = read(fds[k], buf, sizeof(buf));
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                close(fds[k]);
                fds[k] = -1;
                continue;
            }
            if (k == 1 && out->len + r > QM_QMP_MAX_REPLY) {
                g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                            "QMP conversation is larger than %d bytes",
                            QM_QMP_MAX_REPLY);
                return FALSE;
            }
            if (k == 2 && err->len + r > MAX_STDERR)
                r = MAX_STDERR - err->len;
            g_byte_array_append(dst, (const guint8 *)buf, r);
        }
    }
    return TRUE;
}

/**
 * reap() - wait for a probe's QEMU, killing it at the deadline or when
 *          interrupted
 * @pid:      child PID
 * @deadline: g_get_monotonic_time() deadline
 *
 * Return: its exit status, 128+signal if killed by one
 */
static int reap(GPid pid, gint64 deadline)
{
    int wstatus = 0;

    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);

        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (g_get_monotonic_time() >= deadline || qm_interrupt_pending()) {
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            break;
        }
        g_usleep(2000);
    }
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : -1;
}

/**
 * run_local() - run the local QEMU with a QMP conversation on its stdin
 * @qemu_path: absolute path of the local QEMU
 * @args:      its arguments (NULL-terminated)
 * @request:   what to write to its stdin
 * @deadline:  g_get_monotonic_time() deadline
 * @out:       its stdout
 * @err:       its stderr, NUL-terminated
 * @status:    its exit status (see reap())
 * @error:     set when it cannot start, times out or is interrupted
 *
 * Return: TRUE when it ran to its end
 */
static gboolean run_local(const char *qemu_path, const char *const *args,
                          const char *request, gint64 deadline, GByteArray *out,
                          GByteArray *err, int *status, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) local = NULL;
    int fds[3] = {-1, -1, -1};
    GPid pid;
    gboolean ok;

    g_ptr_array_add(argv, (char *)qemu_path);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);

    /*
     * GLib closes every other fd in the child, so a peer's SSH socket
     * opened by a sibling thread cannot leak into the probe.
     */
    if (!g_spawn_async_with_pipes(
            NULL, (char **)argv->pdata, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES, child_setup,
            NULL, &pid, &fds[0], &fds[1], &fds[2], &local)) {
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                    "local: cannot start QEMU %s: %s", qemu_path,
                    local->message);
        return FALSE;
    }

    ok = pump(fds, request, out, err, deadline, &local);
    for (int k = 0; k < 3; k++) {
        if (fds[k] >= 0)
            close(fds[k]);
    }
    if (!ok)
        kill(pid, SIGKILL);
    *status = reap(pid, ok ? deadline : 0);
    g_spawn_close_pid(pid);
    if (!ok) {
        g_set_error(error, QM_ERROR, local->code, "local: %s", local->message);
        return FALSE;
    }
    g_byte_array_append(err, (const guint8 *)"", 1);
    return TRUE;
}

/**
 * probe_models() - ask the local QEMU what each of its CPU models has
 * @qemu_path: absolute path of the local QEMU
 * @profile:   the local profile, its models' features filled in
 * @deadline:  g_get_monotonic_time() deadline
 *
 * A second, short run (-machine none: no guest, no KVM), once per local
 * probe: ~100 static expansions.  Without it -cpu auto ranks by
 * generation only, so a failure here is not the probe's failure.
 */
static void probe_models(const char *qemu_path, QmProfile *profile,
                         gint64 deadline)
{
    g_autofree char *request = qm_qmp_models_request(profile);
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GByteArray) err = g_byte_array_new();
    g_autoptr(GError) error = NULL;
    int status;

    if (request == NULL)
        return;
    if (!run_local(qemu_path, qm_qmp_models_argv(), request, deadline, out, err,
                   &status, &error)) {
        g_debug("local: CPU model catalogue not read: %s", error->message);
        return;
    }
    g_debug("local: features of %u CPU models read (QEMU exit status %d)",
            qm_qmp_models_from_transcript(profile, (const char *)out->data,
                                          out->len),
            status);
}

/**
 * qm_probe_local() - probe this host through its own QEMU
 * @qemu_path: absolute path of the local QEMU
 * @deadline:  g_get_monotonic_time() deadline
 * @profile:   where to store the profile (named "local")
 * @error:     set on failure
 *
 * Return: TRUE on success
 */
gboolean qm_probe_local(const char *qemu_path, gint64 deadline,
                        QmProfile **profile, GError **error)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GByteArray) err = g_byte_array_new();
    g_autoptr(QmProfile) prof = NULL;
    g_autoptr(QmHostId) id = NULL;
    int status;

    if (!run_local(qemu_path, qm_qmp_probe_argv(), qm_qmp_request(), deadline,
                   out, err, &status, error))
        return FALSE;
    if (!interpret("local", qemu_path, (const char *)out->data, out->len,
                   (const char *)err->data, status, &prof, error))
        return FALSE;
    probe_models(qemu_path, prof, deadline);
    prof->probe_method = g_strdup("local-qmp");
    prof->probed_at = g_get_real_time() / G_USEC_PER_SEC;
    if (qm_hostid_read(&id, NULL))
        prof->cpu_brand = g_strdup(id->brand);
    *profile = g_steal_pointer(&prof);
    return TRUE;
}

/**
 * qm_probe_peer() - probe a peer through its QEMU over one SSH channel
 * @dest:        destination as the user wrote it
 * @ssh:         SSH options
 * @remote_qemu: shell command starting QEMU on the peer
 * @deadline:    g_get_monotonic_time() deadline
 * @profile:     where to store the profile (named @dest)
 * @noise:       where to store what the remote login shell printed before
 *               QEMU's greeting (skipped; see qm_qmp_find_greeting()), or
 *               NULL when it printed nothing
 * @error:       set on failure
 *
 * Return: TRUE on success
 */
gboolean qm_probe_peer(const char *dest, const QmSshOptions *ssh,
                       const char *remote_qemu, gint64 deadline,
                       QmProfile **profile, char **noise, GError **error)
{
    g_autoptr(GString) command = g_string_new("exec ");
    g_autoptr(QmSshResult) result = NULL;
    g_autoptr(QmProfile) prof = NULL;
    const char *request = qm_qmp_request();
    gsize skip;

    *noise = NULL;
    /* The probe arguments are fixed shell-safe words; remote_qemu is the
     * user's own shell text ("sudo /usr/libexec/qemu-kvm") on purpose. */
    g_string_append(command, remote_qemu);
    for (const char *const *a = qm_qmp_probe_argv(); *a; a++)
        g_string_append_printf(command, " %s", *a);

    if (!qm_ssh_run(dest, ssh, command->str, request, strlen(request),
                    QM_QMP_MAX_REPLY, deadline, &result, error))
        return FALSE;
    skip = qm_qmp_find_greeting((const char *)result->out->data,
                                result->out->len, noise);
    if (!interpret(dest, remote_qemu, (const char *)result->out->data + skip,
                   result->out->len - skip, result->err, result->exit_status,
                   &prof, error))
        return FALSE;
    prof->probe_method = g_strdup("ssh-qmp");
    prof->probed_at = g_get_real_time() / G_USEC_PER_SEC;
    *profile = g_steal_pointer(&prof);
    return TRUE;
}
