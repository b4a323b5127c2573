/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: qemu-mig migrate, one guest to one peer.
 */
#pragma once

#include <glib.h>

#include "cli.h"

/**
 * QmMigrateReport - what a migration did, for the summary line
 * @dest_dir:    the destination's runtime directory
 * @dest_id:     the guest's id there
 * @dest_pid:    the destination QEMU's PID
 * @seconds:     wall-clock time of the transfer
 * @downtime_ms: QEMU's downtime, -1 when not reported
 * @bytes:       bytes transferred
 * @notes:       where the destination's terminal options went
 */
typedef struct {
    char *dest_dir;
    char *dest_id;
    gint64 dest_pid;
    double seconds;
    gint64 downtime_ms;
    gint64 bytes;
    GPtrArray *notes;
} QmMigrateReport;

/**
 * QmMigrateProgress - one step of a migration, or how far its transfer is
 * @step:        "source", "storage", "destination", "preflight",
 *               "transfer" or "switch-over" when a step begins, or NULL
 *               for a progress report of the transfer:
 * @status:      QEMU's migration status ("active", "device", ...)
 * @total:       guest RAM, bytes
 * @transferred: bytes sent so far
 * @remaining:   RAM bytes still to send
 * @rate:        transfer rate, bytes/s
 * @dirty_rate:  rate the guest dirties RAM at, bytes/s
 * @expected_downtime_ms: QEMU's estimate, -1 when it has none
 * @elapsed:     seconds since the transfer began
 */
typedef struct {
    const char *step;
    const char *status;
    gint64 total;
    gint64 transferred;
    gint64 remaining;
    double rate;
    double dirty_rate;
    gint64 expected_downtime_ms;
    double elapsed;
} QmMigrateProgress;

/**
 * QmMigrateProgressFunc - told of each step and, while the transfer runs,
 *                         of its progress (about ten times a second)
 * @progress: what happened
 * @data:     the caller's data
 */
typedef void (*QmMigrateProgressFunc)(const QmMigrateProgress *progress,
                                      gpointer data);

void qm_migrate_report_free(QmMigrateReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmMigrateReport, qm_migrate_report_free)

gboolean qm_migrate_run(const QmOptions *opts, QmMigrateProgressFunc progress,
                        gpointer data, QmMigrateReport **report,
                        GError **error);
