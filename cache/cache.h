/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the on-disk cache of host profiles.
 */
#pragma once

#include <glib.h>

#include "../wrapper/profile.h"

typedef struct QmCache QmCache;
typedef struct QmCacheLock QmCacheLock;

/**
 * QmCacheEntry - one cached profile
 * @key:         the key it was stored under
 * @profile:     the profile
 * @fingerprint: what made it true (local host: QEMU binary, kernel, CPU,
 *               microcode), as "name=value" lines; NULL for peers
 * @stored_at:   wall-clock time of the probe, seconds since the epoch
 */
typedef struct {
    char *key;
    QmProfile *profile;
    char *fingerprint;
    gint64 stored_at;
} QmCacheEntry;

void qm_cache_entry_free(QmCacheEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmCacheEntry, qm_cache_entry_free)

QmCache *qm_cache_open(const char *dir, GError **error);
void qm_cache_free(QmCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmCache, qm_cache_free)

const char *qm_cache_dir(const QmCache *cache);
char *qm_cache_default_dir(void);

char *qm_cache_key_local(const char *qemu_path);
char *qm_cache_key_peer(const char *user, const char *host, int port,
                        const char *key_alias, const char *route,
                        const char *remote_qemu);
char *qm_cache_local_fingerprint(const char *qemu_path);

gboolean qm_cache_load(QmCache *cache, const char *key, QmCacheEntry **entry,
                       GError **error);
gboolean qm_cache_store(QmCache *cache, const char *key,
                        const QmProfile *profile, const char *fingerprint,
                        GError **error);
gboolean qm_cache_read_memo(QmCache *cache, const char *name, char **text);
gboolean qm_cache_write_memo(QmCache *cache, const char *name, const char *text,
                             GError **error);
gboolean qm_cache_lock(QmCache *cache, const char *key, gint64 deadline,
                       QmCacheLock **lock, GError **error);
void qm_cache_unlock(QmCacheLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmCacheLock, qm_cache_unlock)

gboolean qm_cache_list(QmCache *cache, GPtrArray **entries, GError **error);
gboolean qm_cache_remove(QmCache *cache, const char *key, GError **error);
