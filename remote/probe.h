/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: probing one host - the local QEMU through a pipe, a peer over
 * SSH - and turning the conversation into a QmProfile.
 */
#pragma once

#include <glib.h>

#include "../wrapper/profile.h"
#include "ssh.h"

gboolean qm_probe_local(const char *qemu_path, gint64 deadline,
                        QmProfile **profile, GError **error);
gboolean qm_probe_peer(const char *dest, const QmSshOptions *ssh,
                       const char *remote_qemu, gint64 deadline,
                       QmProfile **profile, char **noise, GError **error);
