/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the cache's entries - one host's profile each, as JSON.
 *
 * Apart from the directory, keys, memos and locks (cache.c), which a warm
 * launch uses without loading a JSON parser.
 */
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "../wrapper/error.h"
#include "cache.h"
#include "entry.h"

/* Bumped whenever the record layout or the profile's meaning changes. */
#define CACHE_FORMAT 5

/**
 * qm_cache_entry_free() - free a QmCacheEntry
 * @entry: entry, or NULL
 */
void qm_cache_entry_free(QmCacheEntry *entry)
{
    if (entry == NULL)
        return;
    g_free(entry->key);
    qm_profile_free(entry->profile);
    g_free(entry->fingerprint);
    g_free(entry);
}

/**
 * profile_region() - the raw bytes of a record's "profile" member
 * @text: record text, as qm_cache_store() writes it
 * @len:  where to store the region's length
 *
 * The profile is written last, so its bytes run from the first
 * "profile": (no earlier member can hold an unescaped quote) to the
 * record's closing brace.  Hashing those bytes, rather than re-serialising
 * the parsed profile, keeps the warm path cheap; a record laid out any
 * other way simply fails the checksum.
 *
 * Return: pointer into @text, or NULL when there is no such member
 */
static const char *profile_region(const char *text, gsize *len)
{
    const char *start = strstr(text, "\"profile\":");
    gsize end = strlen(text);

    while (end > 0 && g_ascii_isspace(text[end - 1]))
        end--;
    if (start == NULL || end == 0 || text[end - 1] != '}')
        return NULL;
    start += strlen("\"profile\":");
    if (start > text + end - 1)
        return NULL;
    *len = (gsize)(text + end - 1 - start);
    return start;
}

/**
 * parse_record() - validate and decode a cache record
 * @cache:    cache (for messages)
 * @name:     file name (for messages)
 * @text:     file contents
 * @key:      expected key, or NULL to accept the record's own (listing)
 * @entry:    where to store the entry
 * @error:    set with QM_ERROR_CACHE when the record cannot be trusted
 *
 * Return: TRUE on success
 */
static gboolean parse_record(QmCache *cache, const char *name, const char *text,
                             const char *key, QmCacheEntry **entry,
                             GError **error)
{
    static const char *const header_members[] = {
        "format", "key", "stored-at", "fingerprint", "checksum",
    };
    static const GType header_types[] = {
        G_TYPE_INT64, G_TYPE_STRING, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING,
    };
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(QmCacheEntry) out = g_new0(QmCacheEntry, 1);
    g_autofree char *expected_name = NULL;
    g_autofree char *sum = NULL;
    JsonObject *obj;
    JsonNode *profile;
    const char *why = NULL;
    const char *region;
    gsize region_len = 0;

    if (!qm_profile_json_parse(text, strlen(text), &root, &local) ||
        !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache entry %s/%s is corrupt or truncated",
                    qm_cache_dir(cache), name);
        return FALSE;
    }
    obj = json_node_get_object(root);
    /* json-glib's *_with_default() getters cannot be trusted with a
     * member of another type: "key": 5 reads as NULL, and an object or
     * array raises a CRITICAL */
    for (gsize i = 0; i < G_N_ELEMENTS(header_members); i++) {
        JsonNode *member = json_object_get_member(obj, header_members[i]);

        if (member != NULL &&
            (!JSON_NODE_HOLDS_VALUE(member) ||
             json_node_get_value_type(member) != header_types[i])) {
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cache entry %s/%s is corrupt or truncated",
                        qm_cache_dir(cache), name);
            return FALSE;
        }
    }
    profile = json_object_get_member(obj, "profile");
    out->key =
        g_strdup(json_object_get_string_member_with_default(obj, "key", ""));
    out->fingerprint = g_strdup(
        json_object_get_string_member_with_default(obj, "fingerprint", ""));
    out->stored_at =
        json_object_get_int_member_with_default(obj, "stored-at", 0);
    expected_name = qm_cache_file_name(out->key, ".json");

    if (json_object_get_int_member_with_default(obj, "format", 0) !=
        CACHE_FORMAT)
        why = "has a foreign format version";
    else if ((key != NULL && strcmp(out->key, key) != 0) ||
             strcmp(expected_name, name) != 0)
        why = "belongs to another key";
    else if (profile == NULL ||
             (region = profile_region(text, &region_len)) == NULL ||
             g_strcmp0(sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                                         (const guchar *)region,
                                                         region_len),
                       json_object_get_string_member_with_default(
                           obj, "checksum", "")) != 0)
        why = "fails its checksum (edited by hand?)";
    if (why != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE, "cache entry %s/%s %s",
                    qm_cache_dir(cache), name, why);
        return FALSE;
    }
    out->profile = qm_profile_from_json(profile, &local);
    if (out->profile == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache entry %s/%s holds an invalid profile: %s",
                    qm_cache_dir(cache), name, local->message);
        return FALSE;
    }
    *entry = g_steal_pointer(&out);
    return TRUE;
}

/**
 * qm_cache_load() - read a key's entry
 * @cache: cache
 * @key:   cache key
 * @entry: where to store the entry; NULL when there is none (a miss)
 * @error: set with QM_ERROR_CACHE when an entry exists but cannot be
 *         trusted (corrupt, truncated, foreign version, edited, wrong
 *         owner, symlink): callers warn and treat it as a miss
 *
 * Return: TRUE on a hit or a clean miss
 */
gboolean qm_cache_load(QmCache *cache, const char *key, QmCacheEntry **entry,
                       GError **error)
{
    g_autofree char *name = qm_cache_file_name(key, ".json");
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    *entry = NULL;
    if (!qm_cache_read_file(cache, name, &text, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    return parse_record(cache, name, text, key, entry, error);
}

/**
 * qm_cache_store() - write a key's entry atomically
 * @cache:       cache
 * @key:         cache key
 * @profile:     profile to store
 * @fingerprint: local fingerprint, or NULL for peers
 * @error:       set with QM_ERROR_CACHE when it cannot be written (the
 *               caller warns; the launch goes on)
 *
 * A reader sees the old entry or the new one, never a mix: temp file,
 * fsync, rename, fsync of the directory.
 *
 * Return: TRUE on success
 */
gboolean qm_cache_store(QmCache *cache, const char *key,
                        const QmProfile *profile, const char *fingerprint,
                        GError **error)
{
    g_autofree char *name = qm_cache_file_name(key, ".json");
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonNode) pnode = qm_profile_to_json(profile);
    g_autoptr(JsonGenerator) pgen = json_generator_new();
    g_autofree char *ptext = NULL;
    g_autofree char *sum = NULL;
    g_autofree char *header = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "format");
    json_builder_add_int_value(builder, CACHE_FORMAT);
    json_builder_set_member_name(builder, "key");
    json_builder_add_string_value(builder, key);
    json_builder_set_member_name(builder, "stored-at");
    json_builder_add_int_value(builder, profile->probed_at);
    json_builder_set_member_name(builder, "fingerprint");
    json_builder_add_string_value(builder, fingerprint ? fingerprint : "");
    json_generator_set_root(pgen, pnode);
    ptext = json_generator_to_data(pgen, NULL);
    sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, ptext, -1);
    json_builder_set_member_name(builder, "checksum");
    json_builder_add_string_value(builder, sum);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    json_generator_set_root(gen, root);
    header = json_generator_to_data(gen, NULL);
    /* the profile last, spliced in as hashed: see profile_region() */
    header[strlen(header) - 1] = '\0';
    text = g_strdup_printf("%s,\"profile\":%s}\n", header, ptext);

    return qm_cache_write_file(cache, name, text, error);
}

/**
 * cmp_entry_key() - GCompareFunc ordering QmCacheEntry pointers by key
 * @a: pointer to the first entry pointer
 * @b: pointer to the second entry pointer
 *
 * Return: strcmp() order of the keys
 */
static int cmp_entry_key(gconstpointer a, gconstpointer b)
{
    const QmCacheEntry *ea = *(QmCacheEntry *const *)a;
    const QmCacheEntry *eb = *(QmCacheEntry *const *)b;

    return strcmp(ea->key, eb->key);
}

/**
 * qm_cache_list() - every readable entry
 * @cache:   cache
 * @entries: where to store QmCacheEntry items, sorted by key; entries that
 *           cannot be trusted are skipped
 * @error:   unused today (listing a missing directory gives no entries)
 *
 * Return: TRUE
 */
gboolean qm_cache_list(QmCache *cache, GPtrArray **entries, GError **error)
{
    GPtrArray *out =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_cache_entry_free);
    g_autoptr(GDir) dir = g_dir_open(qm_cache_dir(cache), 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *text = NULL;
        QmCacheEntry *entry = NULL;

        if (name[0] == '.' || !g_str_has_suffix(name, ".json"))
            continue;
        if (qm_cache_read_file(cache, name, &text, NULL) &&
            parse_record(cache, name, text, NULL, &entry, NULL))
            g_ptr_array_add(out, entry);
    }
    /* readdir() order is the file system's: sort, as promised */
    g_ptr_array_sort(out, cmp_entry_key);
    *entries = out;
    return TRUE;
}
