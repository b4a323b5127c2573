/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a TCP connection to a peer, name resolution included, within a
 * deadline.
 */
#pragma once

#include <glib.h>

gboolean qm_tcp_connect(const char *who, const char *host, unsigned int port,
                        gint64 deadline, int *fd, GError **error);
