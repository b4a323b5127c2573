/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: pinning the CPU values QEMU would otherwise take from the host
 * it runs on (signature, CPUID levels, LMCE, microcode revision, address
 * widths, TSC frequency, PMU) to one value every host can give.  Pure.
 */
#pragma once

#include <glib.h>

#include "profile.h"
#include "qemuargs.h"

/**
 * QmPinMode - how the guest CPU is built
 * @QM_PIN_HOST:  -cpu host or max: every value comes from the host
 * @QM_PIN_MODEL: a named model (the user's, qemu-mig's auto pick, or
 *                QEMU's default): values come from the model, a few from
 *                the host (vendor, guest-phys-bits)
 */
typedef enum {
    QM_PIN_HOST,
    QM_PIN_MODEL,
} QmPinMode;

/**
 * QmPin - what to pin, for whom
 * @spec:  the user's parsed -cpu value (the model already replaced for
 *         -cpu auto)
 * @hosts: every host's profile, the one whose command this is first
 * @mode:  how the guest CPU is built
 * @on:    the CPUID features the guest will have, or NULL when qemu-mig
 *         does not enumerate them (a named model)
 * @generic: the model is one of QEMU's generic ones (qemu64, kvm64, ...),
 *         whose vendor is always written
 */
typedef struct {
    const QmCpuSpec *spec;
    GPtrArray *hosts;
    QmPinMode mode;
    const QmFeatureSet *on;
    gboolean generic;
} QmPin;

gboolean qm_pin_user_sets(const QmCpuSpec *spec, const char *key);
void qm_pin_add(GString *extra, GPtrArray *settings, const char *key,
                const char *value, const char *why);
const char *qm_pin_guest_vendor(GPtrArray *hosts);
gboolean qm_pin_check(const QmPin *pin, GError **error);
gboolean qm_pin_values(const QmPin *pin, GString *extra, GPtrArray *settings,
                       GPtrArray *warnings, GError **error);
