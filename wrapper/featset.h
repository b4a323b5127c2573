/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: feature sets - sets of canonical CPU feature names.
 */
#pragma once

#include <glib.h>

/*
 * A feature set is a GHashTable used as a set of canonical feature names
 * (key == value, owned by the table).  Canonical means the spelling QEMU
 * prints under "Recognized CPUID flags" (see feature.h).
 */
typedef GHashTable QmFeatureSet;

QmFeatureSet *qm_featset_new(void);
void qm_featset_add(QmFeatureSet *set, const char *name);
gboolean qm_featset_has(const QmFeatureSet *set, const char *name);
GPtrArray *qm_featset_sorted(const QmFeatureSet *set);
