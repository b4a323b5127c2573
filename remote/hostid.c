/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: identifying the local CPU with libcpuid (labels, not features).
 *
 * libcpuid reads the bare-metal (or outer hypervisor's) CPUID, not what KVM
 * can give a guest, so it is never consulted for features: only to label
 * the local profile and, later, to notice that the CPU changed.
 */
#include <libcpuid/libcpuid.h>

#include "../wrapper/error.h"
#include "hostid.h"

/**
 * qm_hostid_free() - free a QmHostId
 * @id: id, or NULL
 */
void qm_hostid_free(QmHostId *id)
{
    if (id == NULL)
        return;
    g_free(id->vendor);
    g_free(id->brand);
    g_free(id);
}

/**
 * qm_hostid_read() - identify the CPU this process runs on
 * @id:    where to store the result
 * @error: set when libcpuid cannot identify it
 *
 * Return: TRUE on success
 */
gboolean qm_hostid_read(QmHostId **id, GError **error)
{
    struct cpu_id_t data = {0};
    g_autoptr(QmHostId) out = g_new0(QmHostId, 1);

    if (!cpuid_present() || cpu_identify(NULL, &data) != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "libcpuid cannot identify this CPU: %s", cpuid_error());
        return FALSE;
    }
    out->vendor = g_strdup(data.vendor_str);
    out->brand = g_strstrip(g_strdup(data.brand_str));
    out->family = data.ext_family;
    out->model = data.ext_model;
    out->stepping = data.stepping;
    *id = g_steal_pointer(&out);
    return TRUE;
}
