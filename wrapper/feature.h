/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: CPU feature names - canonical spelling and classification.
 */
#pragma once

#include <glib.h>

#include "profile.h"

gboolean qm_feature_name_valid(const char *name);
gboolean qm_feature_model_name_valid(const char *name, const char *alias);
char *qm_feature_canon(const char *name);
gboolean qm_feature_is_option(const char *canon);
gboolean qm_feature_is_kvm_pv(const char *canon);
guint qm_feature_drop_orphans(QmFeatureSet *on, const QmFeatureSet *known,
                              GHashTable *removed);
const char *qm_feature_parent_off(const QmFeatureSet *on,
                                  const QmFeatureSet *known, const char *name);
