/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a small synchronous QMP client for a running QEMU.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* One QMP line (one JSON document) longer than this is refused. */
#define QM_MONITOR_MAX_LINE (16 * 1024 * 1024)

/* Events kept unread at most; older ones are dropped beyond this. */
#define QM_MONITOR_MAX_EVENTS 4096

typedef struct QmMonitor QmMonitor;

QmMonitor *qm_monitor_connect_unix(const char *path, gint64 deadline,
                                   GError **error);
QmMonitor *qm_monitor_new_fd(int fd, gint64 deadline, GError **error);
const char *qm_monitor_qemu_version(QmMonitor *mon);
gboolean qm_monitor_execute(QmMonitor *mon, const char *command,
                            JsonNode *arguments, gint64 deadline,
                            JsonNode **ret, GError **error);
gboolean qm_monitor_execute_fd(QmMonitor *mon, const char *command,
                               JsonNode *arguments, int fd, gint64 deadline,
                               JsonNode **ret, GError **error);
gboolean qm_monitor_execute_many(QmMonitor *mon, guint n,
                                 const char *const *commands,
                                 JsonNode *const *arguments, gint64 deadline,
                                 GPtrArray **replies, GPtrArray **errors,
                                 GError **error);
GPtrArray *qm_monitor_take_events(QmMonitor *mon);
void qm_monitor_free(QmMonitor *mon);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmMonitor, qm_monitor_free)
