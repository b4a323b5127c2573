/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the on-disk cache of host profiles: its directory, keys,
 * files beside the entries (ssh_config memos, remembered decisions) and
 * locks (entries: entry.h).
 */
#pragma once

#include <glib.h>

typedef struct QmCache QmCache;
typedef struct QmCacheLock QmCacheLock;

QmCache *qm_cache_open(const char *dir, GError **error);
void qm_cache_free(QmCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmCache, qm_cache_free)

const char *qm_cache_dir(const QmCache *cache);
char *qm_cache_entry_path(const QmCache *cache, const char *key);
char *qm_cache_default_dir(void);

char *qm_cache_key_local(const char *qemu_path);
char *qm_cache_key_peer(const char *user, const char *host, int port,
                        const char *key_alias, const char *route,
                        const char *remote_qemu);

char *qm_cache_file_name(const char *key, const char *suffix);
gboolean qm_cache_read_file(QmCache *cache, const char *name, char **text,
                            GError **error);
gboolean qm_cache_write_file(QmCache *cache, const char *name, const char *text,
                             GError **error);
gboolean qm_cache_lock(QmCache *cache, const char *key, gint64 deadline,
                       QmCacheLock **lock, GError **error);
void qm_cache_unlock(QmCacheLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmCacheLock, qm_cache_unlock)

gboolean qm_cache_remove_file(QmCache *cache, const char *name, GError **error);
gboolean qm_cache_remove(QmCache *cache, const char *key, GError **error);
