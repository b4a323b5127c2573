/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: real QEMUs for live migration tests - start one with
 * its QMP monitor connected, migrate one to another over loopback TCP.
 * Accelerator, machine and CPU are always the caller's.
 */
#pragma once

#include <glib.h>

#include "wrapper/monitor.h"

/**
 * QmMigTestVm - one QEMU process started by a test
 * @name:        what messages call it ("A (7.2.22)")
 * @pid:         the process, 0 once reaped
 * @wait_status: its waitpid() status once reaped
 * @dir:         private scratch directory: QMP socket and log
 * @qmp:         QMP socket path
 * @log:         file holding its stdout and stderr
 * @mon:         connected monitor, NULL once stopped
 */
typedef struct {
    char *name;
    GPid pid;
    int wait_status;
    char *dir;
    char *qmp;
    char *log;
    QmMonitor *mon;
} QmMigTestVm;

/**
 * QmMigTestResult - how a migration ended, as the source saw it
 * @status:        "completed", "failed" or "cancelled"
 * @error_desc:    the source's error-desc, or NULL
 * @total_time_ms: QEMU's total-time, -1 if not reported
 * @downtime_ms:   QEMU's downtime, -1 if not reported
 * @setup_time_ms: QEMU's setup-time, -1 if not reported
 * @wall_us:       measured from the migrate command to the end (for a
 *                 completed one: until the destination left "inmigrate")
 * @dst_exited:    the source said "completed", but the destination's QEMU
 *                 exited instead of leaving "inmigrate": it refused what
 *                 the source had already written into the socket
 */
typedef struct {
    char *status;
    char *error_desc;
    gint64 total_time_ms;
    gint64 downtime_ms;
    gint64 setup_time_ms;
    gint64 wall_us;
    gboolean dst_exited;
} QmMigTestResult;

gboolean qm_mig_test_qemu_usable(const char *qemu, char **version,
                                 char **reason);
GPtrArray *qm_mig_test_args_new(void);
void qm_mig_test_args_add(GPtrArray *args, const char *first,
                          ...) G_GNUC_NULL_TERMINATED;
GPtrArray *qm_mig_test_guest_args(const char *machine, const char *accel,
                                  const char *cpu);
QmMigTestVm *qm_mig_test_vm_start(const char *name, const char *qemu,
                                  const char *const *args, gint64 deadline,
                                  GError **error);
char *qm_mig_test_vm_output(QmMigTestVm *vm);
gboolean qm_mig_test_vm_exited(QmMigTestVm *vm);
gboolean qm_mig_test_vm_wait_exit(QmMigTestVm *vm, gint64 deadline);
char *qm_mig_test_vm_status(QmMigTestVm *vm, gint64 deadline, gboolean *running,
                            GError **error);
gboolean qm_mig_test_incoming(QmMigTestVm *dst, gint64 deadline, char **uri,
                              GError **error);
gboolean qm_mig_test_migrate(QmMigTestVm *src, QmMigTestVm *dst,
                             const char *uri, gint64 deadline,
                             QmMigTestResult *result, GError **error);
void qm_mig_test_result_clear(QmMigTestResult *result);
void qm_mig_test_vm_stop(QmMigTestVm *vm);
void qm_mig_test_vm_free(QmMigTestVm *vm);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmMigTestVm, qm_mig_test_vm_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(QmMigTestResult, qm_mig_test_result_clear)
