/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what a migration needs of the destination besides QEMU.
 */
#pragma once

#include <glib.h>

GPtrArray *qm_migcmd_storage_paths(int argc, char *const *argv);
char *qm_migcmd_missing_script(GPtrArray *paths);
GPtrArray *qm_migcmd_missing_parse(const char *out, gsize len);
char **qm_migcmd_detach(int argc, char *const *argv, const char *dir,
                        const char *id, GPtrArray *notes);
