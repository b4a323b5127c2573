/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig fuzzing: QMP replies from a peer, parsed into a host profile.
 *
 * Input: what a peer's QEMU wrote to stdout (or a libvirt capture file).
 * Runs qm_qmp_parse_transcript() (the live probe path: greeting, replies
 * in order, one per line) and qm_qmp_split() + qm_qmp_profile_from_replies()
 * with replies keyed by their "id" (the capture path, as tests/test-decide.c
 * loads tests/data).  Invariants: a failure sets an error; a profile holds
 * only canonical feature names that pass qm_feature_name_valid(), and a
 * vendor, CPU model, alias and machine names of [A-Za-z0-9._-] only - the
 * bytes that may reach QEMU's command line.
 */
#include "fuzz-common.h"

#include <json-glib/json-glib.h>

#include "wrapper/qmp.h"

/**
 * qmp_from_capture() - the capture path: split, key by id, build
 * @data: bytes
 * @size: length
 */
static void qmp_from_capture(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GHashTable) replies = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(QmProfile) profile = NULL;
    g_autoptr(GError) error = NULL;

    if (!qm_qmp_split((const char *)data, size, &docs, &error)) {
        QM_FUZZ_CHECK(error != NULL);
        return;
    }
    QM_FUZZ_CHECK(docs != NULL);
    for (guint i = 0; i < docs->len; i++) {
        JsonNode *doc = g_ptr_array_index(docs, i);
        JsonObject *obj;
        JsonNode *id;

        /* every document starts with '{', so it is an object */
        QM_FUZZ_CHECK(doc != NULL && JSON_NODE_HOLDS_OBJECT(doc));
        obj = json_node_get_object(doc);
        id = json_object_get_member(obj, "id");
        if (id != NULL && JSON_NODE_HOLDS_VALUE(id) &&
            json_node_get_value_type(id) == G_TYPE_STRING)
            g_hash_table_insert(replies, (gpointer)json_node_get_string(id),
                                doc);
    }
    if (qm_qmp_profile_from_replies("peer", replies, &profile, &error))
        qm_fuzz_profile_ok(profile, TRUE);
    else
        QM_FUZZ_CHECK(error != NULL);
}

/**
 * qm_fuzz_qmp() - one input
 * @data: bytes
 * @size: length
 *
 * Return: 0
 */
static int qm_fuzz_qmp(const uint8_t *data, size_t size)
{
    g_autoptr(QmProfile) profile = NULL;
    g_autoptr(GError) error = NULL;

    qm_fuzz_setup();
    if (qm_qmp_parse_transcript("peer", (const char *)data, size, &profile,
                                &error)) {
        QM_FUZZ_CHECK(error == NULL);
        qm_fuzz_profile_ok(profile, TRUE);
        QM_FUZZ_CHECK(strcmp(profile->name, "peer") == 0);
    } else {
        QM_FUZZ_CHECK(error != NULL && profile == NULL);
    }
    qmp_from_capture(data, size);
    return 0;
}

QM_FUZZ_ENTRY(qm_fuzz_qmp)
