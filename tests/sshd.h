/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: real OpenSSH sshd instances on 127.0.0.1.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

/**
 * QmTestSshd - one running sshd, started by the test
 * @dir:          its private directory (keys, config, logs)
 * @port:         TCP port on 127.0.0.1
 * @pid:          sshd's PID
 * @dest:         "root@127.0.0.1:PORT"-style destination for qemu-mig
 * @alias:        Host alias written into @ssh_config ("peerN")
 * @ssh_config:   client ssh_config with the alias (HostName, Port, User,
 *                IdentityFile, UserKnownHostsFile)
 * @identity:     client private key accepted by this sshd
 * @known_hosts:  known_hosts file holding this sshd's host key
 * @fingerprint:  "SHA256:..." of the host key
 */
typedef struct {
    char *dir;
    int port;
    GPid pid;
    char *dest;
    char *alias;
    char *ssh_config;
    char *identity;
    char *known_hosts;
    char *fingerprint;
} QmTestSshd;

/**
 * QmTestSshdPrepare - qm_test_sshd_start_full() hook
 * @sshd: the instance, keys generated, sshd not started yet (@port,
 *        @pid, @dest and the client files are not set)
 * @data: the caller's data
 */
typedef void (*QmTestSshdPrepare)(const QmTestSshd *sshd, gpointer data);

gboolean qm_test_sshd_available(char **reason);
QmTestSshd *qm_test_sshd_start(const char *alias);
QmTestSshd *qm_test_sshd_start_with(const char *alias, const char *extra);
QmTestSshd *qm_test_sshd_start_full(const char *alias, const char *extra,
                                    QmTestSshdPrepare prepare, gpointer data);
char *qm_test_sshd_start_peers(QmTestSshd **peers, int n);
void qm_test_sshd_stop(QmTestSshd *sshd);
void qm_test_sshd_pause(QmTestSshd *sshd, gboolean paused);
guint qm_test_sshd_count_sessions(QmTestSshd *sshd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmTestSshd, qm_test_sshd_stop)
