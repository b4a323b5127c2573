/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: deciding what the guest CPU may contain, given every host's
 * profile.  Pure: no I/O, no clock.
 */
#pragma once

#include <glib.h>

#include "profile.h"
#include "qemuargs.h"

/**
 * QmHidden - a feature that will be turned off
 * @name:    canonical feature name
 * @lacking: names of the hosts that cannot provide it
 * @parent:  when every host has it but it needs a feature that is off:
 *           that feature ("a" or "a|b|c", static), else NULL
 */
typedef struct {
    char *name;
    GPtrArray *lacking;
    const char *parent;
} QmHidden;

/**
 * QmDecision - what qemu-mig will do to the command line
 * @mode:      "host", "max", "named" or "default" (no -cpu given)
 * @model:     the CPU model in effect ("host", "qemu64", ...)
 * @hidden:    QmHidden entries, sorted by name
 * @absent:    -cpu host: features written off that no host has (char *)
 * @warnings:  human-readable warnings (char *)
 * @cpu_value: new -cpu value, or NULL when nothing needs to change
 * @add_cpu:   TRUE when no -cpu was given and one must be appended
 * @settings:  what qemu-mig sets beyond hiding features, each with its
 *             reason ("family=6: ..."), for explain
 * @candidates: -cpu auto: every model runnable on every host with its
 *             rank, how many were not runnable, and the winner
 * @machine_value: new -machine value, or NULL when nothing changes
 */
typedef struct {
    char *mode;
    char *model;
    GPtrArray *hidden;
    GPtrArray *absent;
    GPtrArray *warnings;
    char *cpu_value;
    gboolean add_cpu;
    GPtrArray *settings;
    GPtrArray *candidates;
    char *machine_value;
} QmDecision;

/* Flags for qm_decide() */
#define QM_DECIDE_ALLOW_CROSS_VENDOR (1u << 0)

void qm_decision_free(QmDecision *decision);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmDecision, qm_decision_free)

gboolean qm_decide(const char *cpu_value, const char *machine_value,
                   const QmProfile *local, GPtrArray *peers, unsigned flags,
                   QmDecision **decision, GError **error);
gboolean qm_decide_machine(QmDecision *decision, const char *machine_value,
                           const QmProfile *local, GPtrArray *peers,
                           GError **error);
