/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: an SSH peer's host key, checked strictly against known_hosts.
 */
#pragma once

#include <glib.h>

#include "sshconn.h"

gboolean qm_ssh_hostkey_check(QmSshConn *c, GError **error);
