/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what every launch does around the decision.
 */
#pragma once

#include <glib.h>

#include "cli.h"
#include "guestopts.h"
#include "guests.h"

/**
 * QmStartPlan - what a launch's command line leaves to decide
 * @cpu_index:      index of the -cpu value in QEMU's arguments, or -1
 * @cpu_value:      that value, or NULL
 * @machine_index:  index of the -machine value, or -1
 * @machine_value:  that value, or NULL
 * @query:          QEMU only prints information (-cpu help, -version...)
 * @decide_nothing: QEMU runs with the user's CPU and machine as given
 * @guest:          what qm_guestopts_check() found
 */
typedef struct {
    int cpu_index;
    const char *cpu_value;
    int machine_index;
    const char *machine_value;
    gboolean query;
    gboolean decide_nothing;
    QmGuestOpts guest;
} QmStartPlan;

gboolean qm_start_plan(QmOptions *opts, QmStartPlan *plan, GError **error);
gboolean qm_start_user_known(const QmOptions *opts, GError **error);
gboolean qm_start_may_recall(const QmOptions *opts);
gboolean qm_start_register(const QmOptions *opts, const char *qemu,
                           const char *cpu, const char *machine,
                           QmGuest **guest, char **qmp, GError **error);
char **qm_start_argv(const QmOptions *opts, const QmStartPlan *plan,
                     const char *cpu, const char *machine, gboolean decided,
                     const char *qmp);
