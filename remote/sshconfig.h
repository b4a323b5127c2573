/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what a destination means after ssh_config, as OpenSSH's own
 * client evaluates it.
 */
#pragma once

#include <glib.h>

#include "ssh.h"

/**
 * QmSshConfig - one destination's settings after ssh_config
 * @dest:                the destination as the user wrote it
 * @alias:               its host part, before HostName (ssh's %n)
 * @user:                remote user
 * @hostname:            host name or address to connect to
 * @port:                port
 * @host_key_alias:      HostKeyAlias, NULL when none
 * @identity_files:      IdentityFile values, tokens and ~ expanded
 * @certificate_files:   CertificateFile values, tokens and ~ expanded
 * @identities_only:     IdentitiesOnly
 * @identity_agent:      IdentityAgent: NULL for $SSH_AUTH_SOCK, "none", or
 *                       a socket path
 * @known_hosts:         files to check host keys against, in order
 * @known_hosts_command: KnownHostsCommand (tokens unexpanded), NULL if none
 * @proxy_command:       command reaching the peer (tokens unexpanded), a
 *                       ProxyJump already turned into ssh(1)'s command;
 *                       NULL when reached directly
 * @address_family:      AF_UNSPEC, AF_INET or AF_INET6
 * @connect_timeout_s:   ConnectTimeout, 0 for none
 * @ran_commands:        a Match exec ran: the result may change with no
 *                       file changing, so it is never remembered
 * @by_openssh:          evaluated by ssh -G (else by libssh's parser)
 * @files:               what the evaluation read: "PATH\tSTAT" lines
 */
struct QmSshConfig {
    char *dest;
    char *alias;
    char *user;
    char *hostname;
    int port;
    char *host_key_alias;
    GStrv identity_files;
    GStrv certificate_files;
    gboolean identities_only;
    char *identity_agent;
    GStrv known_hosts;
    char *known_hosts_command;
    char *proxy_command;
    int address_family;
    int connect_timeout_s;
    gboolean ran_commands;
    gboolean by_openssh;
    char *files;
};

void qm_ssh_config_free(QmSshConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshConfig, qm_ssh_config_free)

gboolean qm_ssh_dest_parse(const char *dest, char **user, char **host,
                           int *port, GError **error);
char *qm_ssh_home_path(const char *path);
gboolean qm_ssh_config_evaluate(const char *dest, const QmSshOptions *options,
                                gint64 deadline, QmSshConfig **config,
                                GError **error);
char *qm_ssh_config_memo_name(const char *dest, const QmSshOptions *options);
char *qm_ssh_config_to_memo(const QmSshConfig *config,
                            const QmSshOptions *options);
QmSshConfig *qm_ssh_config_from_memo(const char *memo, const char *dest,
                                     const QmSshOptions *options);
char *qm_ssh_config_expand(const QmSshConfig *config, const char *value,
                           const char *allowed, GError **error);
gboolean qm_ssh_config_known_hosts_command(const QmSshConfig *config,
                                           const char *name, const char *type,
                                           const char *blob, const char *fp,
                                           gint64 deadline, char **lines,
                                           GError **error);
