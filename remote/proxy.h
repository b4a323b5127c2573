/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the ProxyCommand or ProxyJump that reaches a peer, run by us.
 */
#pragma once

#include <glib.h>

/**
 * QmProxyTarget - what a ProxyCommand's % tokens stand for
 * @host:  HostName the config resolved (%h)
 * @alias: host as the user wrote it (%n)
 * @port:  port (%p)
 * @user:  remote user (%r)
 */
typedef struct {
    const char *host;
    const char *alias;
    int port;
    const char *user;
} QmProxyTarget;

typedef struct QmProxy QmProxy;

char *qm_proxy_jump_command(const char *libssh_command, const char *ssh_config,
                            const char *known_hosts);
char *qm_proxy_jump_hops(const char *jump, const char *ssh_config,
                         const char *known_hosts);
char *qm_proxy_expand(const char *dest, const char *command,
                      const QmProxyTarget *target, GError **error);
gboolean qm_proxy_start(const char *dest, const char *command, QmProxy **proxy,
                        int *fd, GError **error);
char *qm_proxy_said(QmProxy *proxy);
void qm_proxy_free(QmProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmProxy, qm_proxy_free)
