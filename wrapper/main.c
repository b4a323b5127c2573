/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: start QEMU with a guest CPU every migration peer can give.
 *
 * main() is a straight line: parse, resolve QEMU, probe, decide, rewrite,
 * exec.  Only main() prints errors and picks exit codes; every module
 * reports through GError (wrapper/error.h).
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/probe.h"
#include "wrapper/cli.h"
#include "wrapper/decide.h"
#include "wrapper/error.h"
#include "wrapper/launch.h"
#include "wrapper/qemuargs.h"
#include "wrapper/report.h"
#include "wrapper/shquote.h"

/**
 * fail() - print an error as one line on stderr and pick the exit status
 * @error: the error
 *
 * Return: exit status documented in qemu-mig(1)
 */
static int fail(const GError *error)
{
    g_autofree char *msg = g_strdup(error->message);

    /* One line, whatever a peer or library put in the message. */
    g_strdelimit(msg, "\r\n", ' ');
    fprintf(stderr, "qemu-mig: %s\n", msg);
    return qm_error_exit_code(error);
}

/**
 * print_stdout() - write a report to stdout and check it arrived
 * @text: text to print
 *
 * Return: 0, or 1 when stdout could not be written (e.g. a closed pipe)
 */
static int print_stdout(const char *text)
{
    if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "qemu-mig: cannot write to stdout\n");
        return 1;
    }
    return 0;
}

/**
 * ssh_options() - the SSH part of the parsed options
 * @opts: parsed options
 *
 * Return: options borrowing @opts' strings
 */
static QmSshOptions ssh_options(const QmOptions *opts)
{
    QmSshOptions ssh = {
        .ssh_config = opts->ssh_config,
        .identity = opts->identity,
        .known_hosts = opts->known_hosts,
    };
    return ssh;
}

/**
 * run_probe() - `qemu-mig probe [DEST...]`
 * @opts:     parsed options
 * @deadline: g_get_monotonic_time() deadline
 *
 * Return: exit status
 */
static int run_probe(const QmOptions *opts, gint64 deadline)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmProfile) local = NULL;
    g_autoptr(GPtrArray) remote = NULL;
    g_autofree char *qemu_path = NULL;
    g_autofree char *text = NULL;
    QmSshOptions ssh = ssh_options(opts);

    g_ptr_array_add(opts->dests, NULL);
    if (opts->dests->len == 1 &&
        !qm_launch_resolve(opts->qemu, &qemu_path, &error))
        return fail(error);
    if (!qm_probe_all(qemu_path, (char *const *)opts->dests->pdata, &ssh,
                      opts->remote_qemu, deadline, &local, &remote, &error))
        return fail(error);
    if (local != NULL)
        g_ptr_array_insert(remote, 0, g_steal_pointer(&local));
    text = opts->json ? qm_report_profiles_json(remote)
                      : qm_report_profiles_text(remote);
    return print_stdout(text);
}

/**
 * warn_all() - print the decision's warnings on stderr unless -q
 * @opts:     parsed options
 * @decision: the decision
 */
static void warn_all(const QmOptions *opts, const QmDecision *decision)
{
    if (opts->quiet)
        return;
    for (guint i = 0; i < decision->warnings->len; i++)
        fprintf(stderr, "qemu-mig: warning: %s\n",
                (char *)g_ptr_array_index(decision->warnings, i));
}

/**
 * main() - qemu-mig
 * @argc: argument count
 * @argv: arguments: qemu-mig's options, then QEMU's, untouched
 *
 * Return: exit status (only when not exec'ing QEMU)
 */
int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(QmProfile) local = NULL;
    g_autoptr(GPtrArray) peers = NULL;
    g_autoptr(QmDecision) decision = NULL;
    g_auto(GStrv) qemu_argv = NULL;
    g_autofree char *qemu_path = NULL;
    g_autoptr(GPtrArray) final = g_ptr_array_new();
    struct sigaction old_pipe, ignore = {.sa_handler = SIG_IGN};
    QmSshOptions ssh;
    const char *cpu_value;
    gint64 deadline;
    int cpu_index;
    gboolean decide_nothing;

    /* Phase 0: whatever fds we were given belong to QEMU. */
    qm_launch_record_inherited_fds();
    setlocale(LC_ALL, "");

    /* Phase 1: qemu-mig's own options; QEMU's words stay as they are. */
    if (!qm_cli_parse(argc, argv, &opts, &error))
        return fail(error);
    if (opts->command == QM_CMD_HELP)
        return print_stdout(qm_cli_usage());
    if (opts->command == QM_CMD_VERSION)
        return print_stdout("qemu-mig " QM_VERSION "\n");
    deadline = g_get_monotonic_time() + opts->timeout_ms * 1000;

    /* A peer or probe QEMU closing its pipe early must be an error, not a
     * silent death; QEMU gets our caller's disposition back at exec. */
    sigaction(SIGPIPE, &ignore, &old_pipe);
    if (opts->command == QM_CMD_PROBE)
        return run_probe(opts, deadline);

    /* Phase 2: the real QEMU (exit 127/126 before any network work). */
    if (!qm_launch_resolve(opts->qemu, &qemu_path, &error))
        return fail(error);

    /* Phase 3: probe every host, unless there is nothing to decide. */
    cpu_index = qm_qemuargs_find_cpu(opts->qemu_argc, opts->qemu_argv);
    cpu_value = cpu_index >= 0 ? opts->qemu_argv[cpu_index] : NULL;
    decide_nothing = opts->peers->len == 0 ||
                     qm_qemuargs_is_query(opts->qemu_argc, opts->qemu_argv);
    if (!decide_nothing) {
        ssh = ssh_options(opts);
        g_ptr_array_add(opts->peers, NULL);
        if (!qm_probe_all(qemu_path, (char *const *)opts->peers->pdata, &ssh,
                          opts->remote_qemu, deadline, &local, &peers, &error))
            return fail(error);

        /* Phase 4: decide (pure) and rewrite (pure). */
        if (!qm_decide(cpu_value, local, peers,
                       opts->allow_cross_vendor ? QM_DECIDE_ALLOW_CROSS_VENDOR
                                                : 0,
                       &decision, &error))
            return fail(error);
        qemu_argv = qm_qemuargs_rewrite(opts->qemu_argc, opts->qemu_argv,
                                        cpu_index, decision->cpu_value);
    } else {
        qemu_argv =
            qm_qemuargs_rewrite(opts->qemu_argc, opts->qemu_argv, -1, NULL);
    }

    g_ptr_array_add(final, qemu_path);
    for (char **a = qemu_argv; *a; a++)
        g_ptr_array_add(final, *a);
    g_ptr_array_add(final, NULL);

    /* Phase 5: show, or become QEMU. */
    if (opts->command == QM_CMD_EXPLAIN) {
        g_autofree char *text = NULL;

        if (decision == NULL) {
            text = qm_report_nothing(opts->json,
                                     opts->peers->len == 0 ? "no --peer"
                                                           : "QEMU only prints "
                                                             "information",
                                     (char *const *) final->pdata);
        } else if (opts->json) {
            text = qm_report_explain_json(local, peers, cpu_value, decision,
                                          (char *const *) final->pdata);
        } else {
            text = qm_report_explain_text(local, peers, cpu_value, decision,
                                          (char *const *) final->pdata);
        }
        return print_stdout(text);
    }
    if (decision != NULL)
        warn_all(opts, decision);
    if (decision != NULL && opts->verbose > 0)
        fprintf(stderr,
                "qemu-mig: %u feature(s) hidden for %u peer(s); "
                "-cpu %s\n",
                decision->hidden->len, peers->len,
                decision->cpu_value
                    ? decision->cpu_value
                    : (cpu_value ? cpu_value : "(QEMU default)"));
    if (opts->dry_run) {
        g_autofree char *line = qm_shquote_argv((char *const *) final->pdata);
        g_autofree char *with_nl = g_strconcat(line, "\n", NULL);

        return print_stdout(with_nl);
    }

    sigaction(SIGPIPE, &old_pipe, NULL);
    qm_launch_exec(qemu_path, qemu_argv, &error);
    return fail(error);
}
