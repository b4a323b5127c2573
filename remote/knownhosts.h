/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: known_hosts files read with OpenSSH's rules.
 */
#pragma once

#include <glib.h>

/**
 * QmHostKeyState - what the known_hosts files say of a host's key
 * @QM_HOSTKEY_OK:      a line for the host lists this very key
 * @QM_HOSTKEY_UNKNOWN: no line for the host lists a key of that type
 * @QM_HOSTKEY_CHANGED: lines for the host list another key of that type
 * @QM_HOSTKEY_OTHER:   lines for the host list only keys of other types
 * @QM_HOSTKEY_REVOKED: a @revoked line for the host lists this key
 * @QM_HOSTKEY_CA_ONLY: only @cert-authority lines name the host
 */
typedef enum {
    QM_HOSTKEY_OK,
    QM_HOSTKEY_UNKNOWN,
    QM_HOSTKEY_CHANGED,
    QM_HOSTKEY_OTHER,
    QM_HOSTKEY_REVOKED,
    QM_HOSTKEY_CA_ONLY,
} QmHostKeyState;

QmHostKeyState qm_known_hosts_check(const char *const *files, const char *name,
                                    const char *type, const char *blob,
                                    char **where);
gboolean qm_known_hosts_name_matches(const char *patterns, const char *name);
char *qm_known_hosts_name(const char *host, unsigned int port);
