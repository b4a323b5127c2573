/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: profile builders shared by test-decide.c and
 * test-machine.c.
 */
#include <string.h>
#include <json-glib/json-glib.h>

#include "profutil.h"
#include "testutil.h"

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
 * only name, alias and is-default are read, as the probe does.
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
        g_ptr_array_add(p->machines, m);
    }
}
