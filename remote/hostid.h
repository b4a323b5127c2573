/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: identifying the local CPU with libcpuid (labels, not features).
 */
#pragma once

#include <glib.h>

/**
 * QmHostId - the local CPU as libcpuid sees it
 * @vendor:   CPUID vendor string
 * @brand:    brand string, trimmed
 * @family:   display family
 * @model:    display model
 * @stepping: stepping
 */
typedef struct {
    char *vendor;
    char *brand;
    int family;
    int model;
    int stepping;
} QmHostId;

void qm_hostid_free(QmHostId *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmHostId, qm_hostid_free)

gboolean qm_hostid_read(QmHostId **id, GError **error);
