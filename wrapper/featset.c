/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: feature sets - sets of canonical CPU feature names.
 */
#include <string.h>

#include "featset.h"

/**
 * qm_featset_new() - an empty feature set
 *
 * Return: new set; free with g_hash_table_unref()
 */
QmFeatureSet *qm_featset_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * qm_featset_add() - add a canonical name to a set
 * @set:  feature set
 * @name: canonical feature name (copied)
 */
void qm_featset_add(QmFeatureSet *set, const char *name)
{
    if (!g_hash_table_contains(set, name)) {
        char *copy = g_strdup(name);

        g_hash_table_insert(set, copy, copy);
    }
}

/**
 * qm_featset_has() - membership test
 * @set:  feature set, or NULL (empty)
 * @name: canonical feature name
 *
 * Return: TRUE if @name is in @set
 */
gboolean qm_featset_has(const QmFeatureSet *set, const char *name)
{
    return set != NULL && g_hash_table_contains((GHashTable *)set, name);
}

/**
 * cmp_strptr() - GCompareFunc for g_ptr_array_sort() over char *
 * @a: pointer to the first string pointer
 * @b: pointer to the second string pointer
 *
 * Return: strcmp() order
 */
static int cmp_strptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/**
 * qm_featset_sorted() - the set's names in byte order
 * @set: feature set, or NULL (empty)
 *
 * Sorted output makes -cpu values byte-identical on every host that
 * computes them, whatever the hash table's iteration order.
 *
 * Return: new array of borrowed names; free with g_ptr_array_unref()
 */
GPtrArray *qm_featset_sorted(const QmFeatureSet *set)
{
    GPtrArray *names = g_ptr_array_new();
    GHashTableIter iter;
    gpointer key;

    if (set == NULL)
        return names;
    g_hash_table_iter_init(&iter, (GHashTable *)set);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(names, key);
    g_ptr_array_sort(names, cmp_strptr);
    return names;
}
