/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a unix socket or TCP port on a peer, reached through SSH as a
 * local fd.
 */
#pragma once

#include <glib.h>

#include "ssh.h"

typedef struct QmSshForward QmSshForward;

gboolean qm_ssh_forward_unix(const char *dest, const QmSshOptions *options,
                             const char *remote_path, gint64 deadline,
                             QmSshForward **forward, int *fd, GError **error);
gboolean qm_ssh_forward_tcp(const char *dest, const QmSshOptions *options,
                            const char *host, int port, gint64 deadline,
                            QmSshForward **forward, int *fd, GError **error);
gboolean qm_ssh_forward_exec(const char *dest, const QmSshOptions *options,
                             const char *command, gint64 deadline,
                             QmSshForward **forward, int *fd, GError **error);
void qm_ssh_forward_free(QmSshForward *forward);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshForward, qm_ssh_forward_free)
