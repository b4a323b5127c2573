/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: profile builders shared by test-decide.c,
 * test-machine.c and test-accept.c.
 */
#include <string.h>
#include <json-glib/json-glib.h>

#include "profutil.h"
#include "testutil.h"
#include "wrapper/qmp.h"

/**
 * qm_prof_add_machines() - give a profile a hand-built machine list
 * @p:    profile
 * @list: "NAME[=ALIAS][*]" strings ('*' marks the default), NULL-terminated
 */
void qm_prof_add_machines(QmProfile *p, const char *const *list)
{
    p->machines =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_machine_free);
    for (gsize i = 0; list[i] != NULL; i++) {
        QmMachine *m = g_new0(QmMachine, 1);
        g_autofree char *spec = g_strdup(list[i]);
        gsize len = strlen(spec);
        char *eq;

        if (len > 0 && spec[len - 1] == '*') {
            m->is_default = TRUE;
            spec[len - 1] = '\0';
        }
        eq = strchr(spec, '=');
        if (eq != NULL) {
            *eq = '\0';
            m->alias = g_strdup(eq + 1);
        }
        m->name = g_strdup(spec);
        g_ptr_array_add(p->machines, m);
    }
}

/**
 * qm_prof_add_real_machines() - the machine list of a real QEMU 7.2
 * @p: profile
 *
 * tests/data/qemu-7.2-machines.json is a recorded query-machines reply;
 * name, alias, is-default and default-cpu-type are read, as the probe
 * does.
 */
void qm_prof_add_real_machines(QmProfile *p)
{
    g_autofree char *text = qm_test_read_data("qemu-7.2-machines.json", NULL);
    g_autoptr(JsonNode) root = json_from_string(text, NULL);
    JsonArray *list;

    g_assert_nonnull(root);
    list = json_object_get_array_member(json_node_get_object(root), "return");
    p->machines =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_machine_free);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonObject *o = json_array_get_object_element(list, i);
        QmMachine *m = g_new0(QmMachine, 1);

        m->name = g_strdup(json_object_get_string_member(o, "name"));
        m->alias = g_strdup(
            json_object_get_string_member_with_default(o, "alias", NULL));
        m->is_default =
            json_object_get_boolean_member_with_default(o, "is-default", FALSE);
        {
            const char *type = json_object_get_string_member_with_default(
                o, "default-cpu-type", NULL);

            if (type != NULL && g_str_has_suffix(type, "-x86_64-cpu"))
                m->default_cpu =
                    g_strndup(type, strlen(type) - strlen("-x86_64-cpu"));
        }
        g_ptr_array_add(p->machines, m);
    }
}

/**
 * qm_prof_load_capture() - a recorded capture as a host profile
 * @file: capture in tests/data
 * @name: host name to give the profile
 *
 * Captures do not say which QEMU recorded them: the profile claims 7.2.0.
 *
 * Return: new profile
 */
QmProfile *qm_prof_load_capture(const char *file, const char *name)
{
    gsize len;
    g_autofree char *text = qm_test_read_data(file, &len);
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GHashTable) replies = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) error = NULL;
    QmProfile *profile = NULL;

    g_assert_true(qm_qmp_split(text, len, &docs, &error));
    g_assert_no_error(error);
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));

        g_hash_table_insert(replies,
                            (gpointer)json_object_get_string_member(obj, "id"),
                            g_ptr_array_index(docs, i));
    }
    g_assert_true(qm_qmp_profile_from_replies(file, replies, &profile, &error));
    g_assert_no_error(error);
    g_free(profile->name);
    profile->name = g_strdup(name);
    profile->qemu_version = g_strdup("7.2.0");
    return profile;
}

/*
 * The captures in tests/data with a full expansion of the host model,
 * by vendor, and whether they hold the QEMU's CPU model list too.
 */
const QmProfCapture qm_prof_captures[] = {
    {"x86_64-cpuid-Atom-P5362.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Cooperlake.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Core-i7-1270P.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Core-i7-5600U.json", "GenuineIntel", FALSE},
    {"x86_64-cpuid-Core-i7-7700.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Core-i7-8700.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Core2-E6850.json", "GenuineIntel", FALSE},
    {"x86_64-cpuid-Ice-Lake-Server.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Xeon-6788P.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Xeon-E5-2650-v3.json", "GenuineIntel", FALSE},
    {"x86_64-cpuid-Xeon-E5-2650-v4.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Xeon-Gold-6130.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Xeon-Gold-6148.json", "GenuineIntel", FALSE},
    {"x86_64-cpuid-Xeon-Gold-6530.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-Xeon-Platinum-8268.json", "GenuineIntel", TRUE},
    {"x86_64-cpuid-EPYC-7502-32-Core.json", "AuthenticAMD", TRUE},
    {"x86_64-cpuid-EPYC-7601-32-Core.json", "AuthenticAMD", FALSE},
    {"x86_64-cpuid-EPYC-7713-64-Core.json", "AuthenticAMD", TRUE},
    {"x86_64-cpuid-EPYC-9334-32-Core.json", "AuthenticAMD", TRUE},
    {"x86_64-cpuid-Opteron-2350.json", "AuthenticAMD", FALSE},
    {"x86_64-cpuid-Ryzen-9-9950X-16-Core.json", "AuthenticAMD", TRUE},
    {NULL, NULL, FALSE},
};
