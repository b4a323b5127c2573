/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a TCP connection to a peer, name resolution included, within a
 * deadline.
 */
#pragma once

#include <glib.h>

/**
 * QmTcpOptions - how to connect, from ssh_config
 * @family:             AF_UNSPEC, AF_INET or AF_INET6 (AddressFamily)
 * @connect_timeout_us: most time for one address (ConnectTimeout), 0: none
 */
typedef struct {
    int family;
    gint64 connect_timeout_us;
} QmTcpOptions;

gboolean qm_tcp_connect(const char *who, const char *host, unsigned int port,
                        const QmTcpOptions *options, gint64 deadline, int *fd,
                        GError **error);
