/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: SSH authentication by public key, never prompting.
 */
#pragma once

#include <stddef.h>

#include <glib.h>

#include "ssh.h"
#include "sshconn.h"

int qm_ssh_auth_refuse_passphrase(const char *prompt, char *buf, size_t len,
                                  int echo, int verify, void *userdata);
gboolean qm_ssh_auth_run(QmSshConn *c, const QmSshOptions *options,
                         GError **error);
