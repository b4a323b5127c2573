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

void qm_migrate_report_free(QmMigrateReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmMigrateReport, qm_migrate_report_free)

gboolean qm_migrate_run(const QmOptions *opts, QmMigrateReport **report,
                        GError **error);
