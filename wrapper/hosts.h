/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: getting every host's profile - from the cache when it can be
 * trusted, else by probing - all hosts in parallel.
 */
#pragma once

#include <glib.h>

#include "../cache/entry.h"
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
 * QmHostsTrace - what a gathering's result depends on, so that a decision
 *                made from it can be remembered (cache/recall.c)
 * @files:   paths whose change makes the result void (a set, owned keys):
 *           every cache entry used or stored, every ssh_config memo used
 *           or written and the files that evaluation read
 * @host:    the local fingerprint the local entry was judged by, or NULL
 * @expires: wall-clock second from which a peer's entry is too old
 *           (G_MAXINT64 when no entry ages)
 * @exact:   a launch that finds the same files, fingerprint and time would
 *           gather the same, silently: every host from a fresh entry or
 *           a stored probe, every ssh_config from a memo, no warning
 */
typedef struct {
    GHashTable *files;
    char *host;
    gint64 expires;
    gboolean exact;
} QmHostsTrace;

void qm_hosts_trace_clear(QmHostsTrace *trace);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(QmHostsTrace, qm_hosts_trace_clear)

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
 * @trace:         filled in when not NULL (initialised by the caller to
 *                 zeroes)
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
    QmHostsTrace *trace;
} QmHostsRequest;

gboolean qm_hosts_peer_key(const char *dest, const QmSshOptions *ssh,
                           const char *remote_qemu, QmCache *cache,
                           gint64 deadline, char **key, QmSshConfig **config,
                           char **memo, GError **error);
gboolean qm_hosts_gather(const QmHostsRequest *request, QmProfile **local,
                         GPtrArray **peers, GPtrArray *warnings,
                         GError **error);
