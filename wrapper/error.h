/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the single error domain shared by every module.
 */
#pragma once

#include <glib.h>

#define QM_ERROR (qm_error_quark())

/**
 * QmErrorCode - what went wrong, chosen so that main() can map each code to
 * one documented exit status (see qemu-mig(1), EXIT STATUS).
 */
typedef enum {
    QM_ERROR_FAILED = 1,   /* internal error, exit 1 */
    QM_ERROR_USAGE,        /* bad qemu-mig option, exit 2 */
    QM_ERROR_UNREACHABLE,  /* connect/auth failure or timeout, exit 3 */
    QM_ERROR_HOSTKEY,      /* unknown or changed host key, exit 4 */
    QM_ERROR_QEMU,         /* a QEMU missing, too old, no KVM, exit 5 */
    QM_ERROR_PROTOCOL,     /* malformed/oversized QMP conversation, exit 6 */
    QM_ERROR_INCOMPATIBLE, /* hosts cannot give one guest CPU, exit 7 */
    QM_ERROR_CACHE, /* cache refused (owner, symlink, offline miss), exit 8 */
    QM_ERROR_MIGRATION,      /* migration failed, the guest runs on, exit 9 */
    QM_ERROR_NOT_EXECUTABLE, /* local QEMU not executable, exit 126 */
    QM_ERROR_NOT_FOUND,      /* local QEMU not found, exit 127 */
} QmErrorCode;

GQuark qm_error_quark(void);
int qm_error_exit_code(const GError *error);
