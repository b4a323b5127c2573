/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: getting every host's profile - from the cache when it can be
 * trusted, else by probing - all hosts in parallel.
 */
#pragma once

#include <glib.h>

#include "../cache/cache.h"
#include "../remote/ssh.h"
#include "profile.h"

/**
 * QmHostsProgressFunc - how far gathering is
 * @done:    hosts done
 * @total:   hosts in all
 * @waiting: NULL-terminated names of the hosts still awaited ("local"
 *           for this one)
 * @elapsed: seconds since gathering began
 * @data:    the caller's data
 */
typedef void (*QmHostsProgressFunc)(guint done, guint total,
                                    const char *const *waiting, double elapsed,
                                    gpointer data);

/**
 * QmHostsRequest - what to gather and how
 * @qemu_path:     local QEMU (absolute), or NULL to skip the local host
 * @peers:         NULL-terminated destinations
 * @ssh:           SSH options
 * @remote_qemu:   QEMU command on peers
 * @remote_qemus:  QEMU command on each peer (parallel to @peers), or NULL
 *                 for @remote_qemu on all
 * @cache:         cache, or NULL to always probe and store nothing
 * @max_age_s:     a peer's entry older than this is re-probed
 * @refresh:       ignore cached entries (still store new ones)
 * @offline:       never probe: use cached entries, stale ones with a warning
 * @stale_ok:      an unreachable peer with an expired entry uses it, with a
 *                 warning (--on-unreachable=stale)
 * @deadline:      g_get_monotonic_time() deadline for everything
 * @progress:      called from the calling thread about four times a second
 *                 while hosts are awaited, or NULL
 * @progress_data: its data
 */
typedef struct {
    const char *qemu_path;
    char *const *peers;
    const QmSshOptions *ssh;
    const char *remote_qemu;
    const char *const *remote_qemus;
    QmCache *cache;
    gint64 max_age_s;
    gboolean refresh;
    gboolean offline;
    gboolean stale_ok;
    gint64 deadline;
    QmHostsProgressFunc progress;
    gpointer progress_data;
} QmHostsRequest;

gboolean qm_hosts_peer_key(const char *dest, const QmSshOptions *ssh,
                           const char *remote_qemu, QmCache *cache,
                           gint64 deadline, char **key, QmSshConfig **config,
                           GError **error);
gboolean qm_hosts_gather(const QmHostsRequest *request, QmProfile **local,
                         GPtrArray **peers, GPtrArray *warnings,
                         GError **error);
