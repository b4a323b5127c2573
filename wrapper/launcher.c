// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qemu-mig: the launcher - the program users run.
 *
 * Most launches are the same launch as last time: the same command line,
 * every profile cached, nothing changed.  This program starts such a
 * guest from the remembered decision (cache/recall.c) mapping GLib alone:
 * no libssh, OpenSSL, libcpuid, json-glib or GIO to load, no profile to
 * parse, no process, no connection - QEMU starts as if run directly.
 *
 * Anything else - another command, an option that changes how hosts are
 * read, a decision not remembered or no longer holding, any error at all -
 * execs qemu-mig-core with the same arguments and the same PID, which
 * reads them again from the start: every message and exit status is the
 * core's, so this program prints nothing of its own but --version and a
 * missing core.  The code that talks to peers never runs in the process
 * of a warm launch.
 */
#include <stdio.h>

#include "cache/recall.h"
#include "wrapper/config.h"
#include "wrapper/launch.h"
#include "wrapper/start.h"

/**
 * recalled_launch() - start the guest from its remembered decision
 * @argc: argument count
 * @argv: arguments
 *
 * Return: only when this launch is not one to start from here (or QEMU
 * could not be exec'd: the core then says why)
 */
static void recalled_launch(int argc, char **argv)
{
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(QmCache) cache = NULL;
    g_autoptr(QmRecall) recalled = NULL;
    g_autoptr(QmGuest) registered = NULL;
    g_autofree char *qemu_path = NULL;
    g_autofree char *inputs = NULL;
    g_autofree char *qmp = NULL;
    g_auto(GStrv) qemu_argv = NULL;
    QmConfig *config = NULL;
    QmStartPlan plan;

    if (!qm_cli_parse(argc, argv, &opts, NULL) ||
        opts->command != QM_CMD_LAUNCH || opts->dry_run ||
        !qm_config_load(opts->config, opts->no_config, &config, NULL) ||
        !qm_config_apply(config, opts, NULL) || !qm_start_may_recall(opts) ||
        !qm_launch_resolve(opts->qemu, &qemu_path, NULL) ||
        !qm_start_plan(opts, &plan, NULL) || plan.decide_nothing ||
        !qm_start_user_known(opts, NULL))
        return;
    cache = qm_cache_open(opts->cache_dir, NULL);
    inputs = qm_recall_inputs(argc, argv);
    if (cache == NULL || !qm_recall_lookup(cache, inputs, qemu_path, &recalled))
        return;
    /* Nothing of the cache stays open into QEMU. */
    g_clear_pointer(&cache, qm_cache_free);
    if (!opts->no_register &&
        !qm_start_register(opts, qemu_path, recalled->cpu, recalled->machine,
                           &registered, &qmp, NULL))
        return;
    qemu_argv =
        qm_start_argv(opts, &plan, recalled->cpu, recalled->machine, TRUE, qmp);
    qm_launch_exec(qemu_path, qemu_argv, NULL);
    if (registered != NULL)
        qm_guests_unregister(registered);
}

/**
 * main() - start a remembered launch, else become qemu-mig-core
 * @argc: argument count
 * @argv: arguments: qemu-mig's options, then QEMU's, untouched
 *
 * Return: exit status (only when neither QEMU nor the core could be run)
 */
int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;

    /* whatever fds we were given belong to QEMU (or to the core) */
    qm_launch_record_inherited_fds();
    if (argc == 2 && g_strcmp0(argv[1], "--version") == 0) {
        if (fputs(QM_CLI_VERSION_LINE, stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "qemu-mig: cannot write to stdout\n");
            return 1;
        }
        return 0;
    }
    recalled_launch(argc, argv);
    qm_launch_core(argv, &error);
    fprintf(stderr, "qemu-mig: %s\n", error->message);
    return 1;
}
