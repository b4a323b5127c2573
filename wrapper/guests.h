/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: guests this host's qemu-mig started, found again later.
 */
#pragma once

#include <glib.h>

/* Bumped whenever the record's layout or meaning changes. */
#define QM_GUESTS_FORMAT 1

/**
 * QmGuest - one registered guest
 * @id:       random id, the stem of its two files
 * @record:   its record file, DIR/ID.json
 * @socket:   its QMP monitor socket, DIR/ID.qmp
 * @name:     the guest name of its -name, or NULL
 * @qemu:     the QEMU binary that was started
 * @argv:     the user's QEMU arguments as given to qemu-mig
 * @peers:    the --peer destinations
 * @cpu:      the -cpu value qemu-mig decided, or NULL (left alone)
 * @machine:  the -machine value qemu-mig decided, or NULL
 * @started:  wall-clock time of the launch, seconds since the epoch
 * @launcher: PID that exec'd QEMU (QEMU's own, unless it daemonized)
 * @launcher_start: the launcher's start time (/proc/PID/stat, clock ticks
 *            since boot), which tells it from a later process given the
 *            same PID; 0 when unknown
 * @pid:      QEMU's PID from the monitor socket (SO_PEERCRED), 0 when the
 *            monitor does not answer yet, -1 when it is busy with another
 *            client
 */
typedef struct {
    char *id;
    char *record;
    char *socket;
    char *name;
    char *qemu;
    char **argv;
    char **peers;
    char *cpu;
    char *machine;
    gint64 started;
    gint64 launcher;
    gint64 launcher_start;
    gint64 pid;
} QmGuest;

void qm_guest_free(QmGuest *guest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmGuest, qm_guest_free)

gboolean qm_guests_dir(const char *override, char **dir, GError **error);
char *qm_guests_name(int argc, char *const *argv);
gboolean qm_guests_register(const char *dir, QmGuest *guest, char **qmp_value,
                            GError **error);
void qm_guests_unregister(const QmGuest *guest);
char *qm_guests_json(const QmGuest *guest, gboolean listed, const char *indent);
char *qm_guests_record_text(const QmGuest *guest);
gint64 qm_guests_process_start(gint64 pid);
