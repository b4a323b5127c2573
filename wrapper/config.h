/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the config file: defaults, per-host settings, host groups.
 */
#pragma once

#include <glib.h>

#include "cli.h"

typedef struct QmConfig QmConfig;

gboolean qm_config_load(const char *path, gboolean none, QmConfig **config,
                        GError **error);
const char *qm_config_path(const QmConfig *config);
void qm_config_files(const char *path, gboolean none, GHashTable *set);
gboolean qm_config_apply(QmConfig *config, QmOptions *options, GError **error);
const char *qm_options_remote_qemu(const QmOptions *options, const char *dest);
const char *qm_options_host_value(const QmOptions *options, const char *dest,
                                  const char *key);
void qm_config_free(QmConfig *config);
