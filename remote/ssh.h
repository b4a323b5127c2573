/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: running one command on a peer over one libssh exec channel.
 */
#pragma once

#include <glib.h>

typedef struct QmSshConfig QmSshConfig;

/**
 * QmSshOptions - what the user said about SSH on the command line; every
 * NULL field means "whatever ssh_config (or libssh's default) says"
 * @ssh_config:  ssh_config file to read instead of ~/.ssh/config
 * @identity:    private key file to try (before the agent and defaults)
 * @known_hosts: known_hosts file to check host keys against
 * @config:      the destination's ssh_config, evaluated already
 *               (sshconfig.h); NULL: qm_ssh_run() evaluates it
 */
typedef struct {
    const char *ssh_config;
    const char *identity;
    const char *known_hosts;
    const QmSshConfig *config;
} QmSshOptions;

/**
 * QmSshResult - what the remote command did
 * @out:         everything it wrote to stdout
 * @err:         the first bytes of its stderr (bounded), NUL-terminated
 * @exit_status: its exit status, or -1 when the channel closed without one
 */
typedef struct {
    GByteArray *out;
    char *err;
    int exit_status;
} QmSshResult;

void qm_ssh_result_free(QmSshResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshResult, qm_ssh_result_free)

void qm_ssh_init(void);
gboolean qm_ssh_run(const char *dest, const QmSshOptions *options,
                    const char *command, const char *input, gsize input_len,
                    gsize max_out, gint64 deadline, QmSshResult **result,
                    GError **error);
