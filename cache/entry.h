/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the cache's entries - one host's profile each.
 */
#pragma once

#include <glib.h>

#include "../wrapper/profile.h"
#include "cache.h"

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

gboolean qm_cache_load(QmCache *cache, const char *key, QmCacheEntry **entry,
                       GError **error);
gboolean qm_cache_store(QmCache *cache, const char *key,
                        const QmProfile *profile, const char *fingerprint,
                        GError **error);
gboolean qm_cache_list(QmCache *cache, GPtrArray **entries, GError **error);
