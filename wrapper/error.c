/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the single error domain shared by every module.
 */
#include "error.h"

G_DEFINE_QUARK(qemu - mig - error - quark, qm_error)

/**
 * qm_error_exit_code() - exit status documented for an error
 * @error: error raised by any qemu-mig module
 *
 * Return: the exit status main() must use; errors from foreign domains
 * (GLib I/O, json-glib) map to 1, as they mean qemu-mig let one through.
 */
int qm_error_exit_code(const GError *error)
{
    if (error == NULL || error->domain != QM_ERROR)
        return 1;

    switch ((QmErrorCode)error->code) {
    case QM_ERROR_USAGE:
        return 2;
    case QM_ERROR_UNREACHABLE:
        return 3;
    case QM_ERROR_HOSTKEY:
        return 4;
    case QM_ERROR_QEMU:
        return 5;
    case QM_ERROR_PROTOCOL:
        return 6;
    case QM_ERROR_INCOMPATIBLE:
        return 7;
    case QM_ERROR_CACHE:
        return 8;
    case QM_ERROR_MIGRATION:
        return 9;
    case QM_ERROR_NOT_EXECUTABLE:
        return 126;
    case QM_ERROR_NOT_FOUND:
        return 127;
    case QM_ERROR_FAILED:
    default:
        return 1;
    }
}
