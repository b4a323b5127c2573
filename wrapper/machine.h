/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: one versioned machine type that every host has.  Pure.
 */
#pragma once

#include <glib.h>

#include "profile.h"

gboolean qm_machine_decide(const char *machine_value, const QmProfile *local,
                           GPtrArray *peers, char **new_value,
                           GPtrArray *warnings, GError **error);
int qm_machine_find(int argc, char *const *argv);
char *qm_machine_with_type(const char *value, const char *type);
const char *qm_machine_default_cpu(const char *machine_value,
                                   const QmProfile *profile);
int qm_machine_version_cmp(const char *a, const char *b);
