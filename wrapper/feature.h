/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: CPU feature names - canonical spelling and classification.
 */
#pragma once

#include <glib.h>

gboolean qm_feature_name_valid(const char *name);
gboolean qm_feature_model_name_valid(const char *name, const char *alias);
char *qm_feature_canon(const char *name);
gboolean qm_feature_is_option(const char *canon);
