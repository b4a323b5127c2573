// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qemu-mig: what every launch does around the decision - what there is to
 * decide, who the user is, registering the guest, the final command line.
 *
 * Shared by the two programs that launch: qemu-mig (launcher.c), which
 * starts a guest whose decision is remembered mapping GLib alone, and
 * qemu-mig-core (main.c), which does everything else.  Whatever one of
 * them starts, the other would have started the same way: this file is
 * that sameness.
 */
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "qemuargs.h"
#include "start.h"

/**
 * is_auto() - does a -cpu value ask for qemu-mig's named-model mode?
 * @cpu_value: -cpu value, or NULL
 *
 * Return: TRUE for "auto" and "auto,..."
 */
static gboolean is_auto(const char *cpu_value)
{
    return cpu_value != NULL && g_str_has_prefix(cpu_value, "auto") &&
           (cpu_value[4] == '\0' || cpu_value[4] == ',');
}

/**
 * qm_start_plan() - what a launch's command line leaves to decide
 * @opts:  parsed options (config applied); a drop-in without peers is
 *         marked not to be registered: it is QEMU, unchanged
 * @plan:  where to store the plan
 * @error: set when the command line sets the CPU or accelerator in a way
 *         qemu-mig refuses (before anything is probed)
 *
 * Nothing to decide: no peer and no -cpu auto (-cpu auto is qemu-mig's
 * word: QEMU must never see it, peers or not), a query such as -cpu help,
 * or a machine with no CPU (-machine none).
 *
 * Return: TRUE on success
 */
gboolean qm_start_plan(QmOptions *opts, QmStartPlan *plan, GError **error)
{
    memset(plan, 0, sizeof(*plan));
    if (opts->dropin && opts->peers->len == 0)
        opts->no_register = TRUE;
    plan->cpu_index = qm_qemuargs_find_cpu(opts->qemu_argc, opts->qemu_argv);
    plan->cpu_value =
        plan->cpu_index >= 0 ? opts->qemu_argv[plan->cpu_index] : NULL;
    plan->machine_index = qm_machine_find(opts->qemu_argc, opts->qemu_argv);
    plan->machine_value =
        plan->machine_index >= 0 ? opts->qemu_argv[plan->machine_index] : NULL;
    plan->query = qm_qemuargs_is_query(opts->qemu_argc, opts->qemu_argv);
    /* (opts->peers may be NULL-terminated by now) */
    plan->decide_nothing =
        ((opts->peers->len == 0 || opts->peers->pdata[0] == NULL) &&
         !is_auto(plan->cpu_value)) ||
        plan->query;
    /* A CPU set some other way, or another accelerator: refused before
     * anything is probed; -machine none has no CPU to decide. */
    if (!plan->decide_nothing) {
        if (!qm_guestopts_check(opts->qemu_argc, opts->qemu_argv, &plan->guest,
                                error))
            return FALSE;
        plan->decide_nothing = plan->guest.no_guest;
    }
    return TRUE;
}

/**
 * qm_start_user_known() - refuse to go on as a user with no home or no name
 * @opts:  parsed options
 * @error: set with QM_ERROR_USAGE when qemu-mig would need what is missing
 *
 * A container's arbitrary UID often has no passwd entry, and sometimes no
 * HOME either.  GLib's g_get_home_dir() and g_get_user_name() then print
 * multi-line warnings and make up "/" and "somebody"; ssh(1) refuses to
 * run at all ("No user exists for uid N").  qemu-mig needs a home for the
 * default cache and ~/.ssh, and, like ssh(1), a user name to log in as
 * by default: one line saying which is missing, before anything is asked.
 *
 * Return: TRUE when what this run needs is there
 */
gboolean qm_start_user_known(const QmOptions *opts, GError **error)
{
    const char *home = g_getenv("HOME");
    gboolean has_home = home != NULL && *home != '\0';
    /* (the arrays may be NULL-terminated by now) */
    gboolean ssh = (opts->peers->len > 0 && opts->peers->pdata[0] != NULL) ||
                   (opts->dests->len > 0 && opts->dests->pdata[0] != NULL);

    if ((has_home && !ssh) || getpwuid(getuid()) != NULL)
        return TRUE;
    if (ssh) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "UID %u has no passwd entry: SSH needs a local user "
                    "name, as ssh(1) does (add one, e.g. with nss_wrapper "
                    "or useradd)",
                    (unsigned)getuid());
    } else {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "HOME is not set and UID %u has no passwd entry: set "
                    "HOME (the cache lives under it)",
                    (unsigned)getuid());
    }
    return FALSE;
}

/**
 * qm_start_may_recall() - may this launch use (and leave) a remembered decision?
 * @opts:  parsed options
 *
 * Only a plain launch (or its --dry-run) that would decide from the cache
 * as usual, silently: not --no-cache; --refresh and --offline change how hosts are read,
 * --for prints another host's command, -v reports the decision's details.
 *
 * Return: TRUE when it may
 */
gboolean qm_start_may_recall(const QmOptions *opts)
{
    return !opts->no_cache && opts->command == QM_CMD_LAUNCH &&
           !opts->refresh && !opts->offline && opts->for_dest == NULL &&
           opts->verbose == 0;
}

/**
 * qm_start_register() - record the guest about to be started, and the
 *                       monitor it is found by
 * @opts:     parsed options
 * @qemu:     the local QEMU's path
 * @cpu:      the -cpu value written, or NULL
 * @machine:  the -machine value written, or NULL
 * @guest:    where to store the registered guest
 * @qmp:      where to store the -qmp value to add
 * @error:    set when the runtime directory or record is refused
 *
 * Return: TRUE on success
 */
gboolean qm_start_register(const QmOptions *opts, const char *qemu,
                           const char *cpu, const char *machine,
                           QmGuest **guest, char **qmp, GError **error)
{
    g_autoptr(QmGuest) g = g_new0(QmGuest, 1);
    g_autofree char *dir = NULL;
    g_autoptr(GStrvBuilder) peers = g_strv_builder_new();

    if (!qm_guests_dir(opts->runtime_dir, &dir, error))
        return FALSE;
    for (guint i = 0; i < opts->peers->len; i++) {
        const char *p = g_ptr_array_index(opts->peers, i);

        if (p != NULL)
            g_strv_builder_add(peers, p);
    }
    g->name = qm_guests_name(opts->qemu_argc, opts->qemu_argv);
    g->qemu = g_strdup(qemu);
    g->argv = g_strdupv(opts->qemu_argv);
    g->peers = g_strv_builder_end(peers);
    g->cpu = g_strdup(cpu);
    g->machine = g_strdup(machine);
    if (!qm_guests_register(dir, g, qmp, error))
        return FALSE;
    *guest = g_steal_pointer(&g);
    return TRUE;
}

/**
 * qm_start_argv() - QEMU's arguments as they will be exec'd
 * @opts:    parsed options
 * @plan:    the plan
 * @cpu:     the -cpu value decided, or NULL to leave -cpu alone
 * @machine: the -machine value decided, or NULL
 * @decided: a decision was made (for the accelerator it was made for)
 * @qmp:     the registered guest's -qmp value, or NULL
 *
 * Return: newly allocated NULL-terminated arguments (no argv[0])
 */
char **qm_start_argv(const QmOptions *opts, const QmStartPlan *plan,
                     const char *cpu, const char *machine, gboolean decided,
                     const char *qmp)
{
    QmArgEdit edits[] = {
        {plan->cpu_index, "-cpu", cpu},
        {plan->machine_index, "-machine", machine},
        /* qemu-system-x86_64 runs TCG unless told otherwise */
        {-1, "-accel", decided && plan->guest.add_accel ? "kvm" : NULL},
        /* one more monitor: nothing the guest sees changes */
        {-1, "-qmp", qmp},
    };

    return qm_qemuargs_edit(opts->qemu_argc, opts->qemu_argv, edits,
                            G_N_ELEMENTS(edits));
}
