/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what the rest of QEMU's command line says about the guest CPU,
 * machine and accelerator, read before anything is probed.
 */
#pragma once

#include <glib.h>

/**
 * QmGuestOpts - the verdict on QEMU's options beyond -cpu and -machine's
 *               type
 * @no_guest:  -machine none: no guest CPU, nothing to decide
 * @add_accel: no accelerator is named: "-accel kvm" must be added, since
 *             qemu-system-x86_64 would otherwise run TCG
 */
typedef struct {
    gboolean no_guest;
    gboolean add_accel;
} QmGuestOpts;

gboolean qm_guestopts_check(int argc, char *const *argv, QmGuestOpts *out,
                            GError **error);
