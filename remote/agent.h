/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: ssh-agent requests bounded by the deadline, and interruptible.
 */
#pragma once

#include <glib.h>

typedef struct QmAgentRelay QmAgentRelay;

gboolean qm_agent_relay_start(const char *dest, const char *path,
                              gint64 deadline, QmAgentRelay **relay, int *fd,
                              GError **error);
gboolean qm_agent_relay_stop(QmAgentRelay *relay, double elapsed_s,
                             GError **error);
void qm_agent_relay_free(QmAgentRelay *relay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmAgentRelay, qm_agent_relay_free)
