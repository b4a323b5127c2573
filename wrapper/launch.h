/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: finding the real QEMU and becoming it.
 */
#pragma once

#include <glib.h>

void qm_launch_record_inherited_fds(void);
gboolean qm_launch_resolve(const char *qemu, char **path, GError **error);
gboolean qm_launch_exec(const char *path, char *const *qemu_argv,
                        GError **error);
void qm_launch_take_launcher(void);
const char *qm_launch_launcher(void);
gboolean qm_launch_core(char **argv, GError **error);
