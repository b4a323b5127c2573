/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig accept tests: what qemu-mig writes into -cpu, real QEMU 7.2
 * and 10.0 take exactly as meant.
 *
 * For every pair of recorded CPUs of one vendor (tests/data), as each
 * real QEMU would see them (the capture's feature and property names cut
 * down to those that QEMU knows, which is what a probe through it would
 * report), qemu-mig decides -cpu host, -cpu host,arch-capabilities=off
 * (the quirk of nested AMD hosts), -cpu auto, -cpu auto with
 * arch-capabilities=off, and a named model; then the real QEMU expands
 * the value it would be given (query-cpu-model-expansion, "host" asked
 * as "max": no KVM is needed, and QEMU's property parsing and feature
 * dependency table are the same).  The expansion must succeed - every
 * name is a property of that QEMU, every value of its type - and give
 * back every item as written: a feature written "=on" that QEMU turns off
 * (its parent is off) would make the guest refuse to start under
 * enforce=on, as QEMU 7.2 did with "rdctl-no" under -cpu
 * auto,arch-capabilities=off.
 *
 * Each QEMU's part skips, saying why, when that QEMU is missing.
 */
#include <stdlib.h>
#include <string.h>

#include "migutil.h"
#include "profutil.h"
#include "testutil.h"
#include "wrapper/decide.h"
#include "wrapper/error.h"
#include "wrapper/feature.h"
#include "wrapper/qemuargs.h"

#define START_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define QMP_TIMEOUT_US   (20 * G_USEC_PER_SEC)

/* The -cpu values decided for each pair */
static const char *const values[] = {
    "host",   "host,arch-capabilities=off",
    "auto",   "auto,arch-capabilities=off",
    "qemu64",
};

/**
 * Qemu - one real QEMU under test
 * @label:  "7.2" or "10.0"
 * @env:    where its path comes from (NULL: qemu-system-x86_64 on PATH)
 * @path:   the binary
 * @vm:     the running QEMU (-machine none), NULL when unusable
 * @reason: why it is unusable
 * @types:  CPU property name -> its JSON type (G_TYPE_BOOLEAN, G_TYPE_INT64
 *          or G_TYPE_STRING), from the expansion of "max"
 * @known:  canonical CPUID features it knows
 * @props:  canonical names of its other CPU properties
 */
typedef struct {
    const char *label;
    const char *env;
    char *path;
    QmMigTestVm *vm;
    char *reason;
    GHashTable *types;
    GHashTable *known;
    GHashTable *props;
} Qemu;

static Qemu qemus[] = {
    {.label = "7.2", .env = NULL},
    {.label = "10.0", .env = "QM_QEMU_SECOND"},
};

/**
 * expand() - query-cpu-model-expansion, type full
 * @q:     QEMU
 * @model: model name
 * @props: properties (borrowed), or NULL
 * @ret:   where to store the reply's props object (new reference)
 * @error: set when QEMU refuses
 *
 * Return: TRUE on success
 */
static gboolean expand(Qemu *q, const char *model, JsonNode *props,
                       JsonNode **ret, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(JsonNode) reply = NULL;
    JsonObject *m;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "full");
    json_builder_set_member_name(b, "model");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, model);
    if (props != NULL) {
        json_builder_set_member_name(b, "props");
        json_builder_add_value(b, json_node_copy(props));
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    args = json_builder_get_root(b);
    if (!qm_monitor_execute(q->vm->mon, "query-cpu-model-expansion", args,
                            g_get_monotonic_time() + QMP_TIMEOUT_US, &reply,
                            error))
        return FALSE;
    m = json_object_get_object_member(json_node_get_object(reply), "model");
    *ret = json_node_copy(json_object_get_member(m, "props"));
    return TRUE;
}

/**
 * qemu_setup() - start one QEMU and learn its CPU vocabulary
 * @q: QEMU
 */
static void qemu_setup(Qemu *q)
{
    g_autoptr(GPtrArray) args = qm_mig_test_args_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) props = NULL;
    g_autofree char *version = NULL;
    g_autofree char *name = NULL;
    g_autoptr(GList) members = NULL;
    const char *env = q->env ? g_getenv(q->env) : NULL;
    JsonObject *obj;

    q->path =
        q->env ? g_strdup(env) : g_find_program_in_path("qemu-system-x86_64");
    if (q->path == NULL ||
        !qm_mig_test_qemu_usable(q->path, &version, &q->reason)) {
        if (q->reason == NULL)
            q->reason = g_strdup_printf("%s is not set or not in PATH",
                                        q->env ? q->env : "QEMU");
        return;
    }
    qm_mig_test_args_add(args, "-machine", "none", "-nodefaults", "-display",
                         "none", NULL);
    g_ptr_array_add(args, NULL);
    name = g_strdup_printf("QEMU %s", version);
    q->vm =
        qm_mig_test_vm_start(name, q->path, (const char *const *)args->pdata,
                             g_get_monotonic_time() + START_TIMEOUT_US, &error);
    if (q->vm == NULL) {
        q->reason =
            g_strdup_printf("%s does not start: %s", q->path, error->message);
        return;
    }
    g_assert_true(expand(q, "max", NULL, &props, &error));
    g_assert_no_error(error);
    q->types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    q->known = qm_featset_new();
    q->props = qm_featset_new();
    obj = json_node_get_object(props);
    members = json_object_get_members(obj);
    for (GList *l = members; l; l = l->next) {
        JsonNode *v = json_object_get_member(obj, l->data);
        GType type = json_node_get_value_type(v);
        g_autofree char *canon = qm_feature_canon(l->data);

        g_hash_table_insert(q->types, g_strdup(l->data),
                            GSIZE_TO_POINTER(type));
        if (canon == NULL)
            continue;
        if (type == G_TYPE_BOOLEAN && !qm_feature_is_option(canon))
            qm_featset_add(q->known, canon);
        else
            qm_featset_add(q->props, canon);
    }
    g_test_message("QEMU %s (%s): %u CPUID features, %u other properties",
                   q->label, version, g_hash_table_size(q->known),
                   g_hash_table_size(q->props));
}

/**
 * as_seen_by() - a capture as a probe through @q would report it
 * @q:    QEMU
 * @file: capture
 * @name: host name
 *
 * A QEMU reports only the names it knows, for features and properties
 * alike; the host's CPU is the capture's.  46 bits, as the fakes say.
 *
 * Return: new profile
 */
static QmProfile *as_seen_by(Qemu *q, const char *file, const char *name)
{
    QmProfile *p = qm_prof_load_capture(file, name);
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, p->known);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        if (!qm_featset_has(q->known, key)) {
            g_hash_table_remove(p->features, key);
            g_hash_table_iter_remove(&iter);
        }
    }
    g_hash_table_iter_init(&iter, p->props);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        if (!qm_featset_has(q->props, key))
            g_hash_table_iter_remove(&iter);
    }
    p->phys_bits = 46;
    if (qm_featset_has(p->props, "guest-phys-bits"))
        p->guest_phys_bits = 46;
    return p;
}

/**
 * to_props() - a -cpu value's items as the props of an expansion request
 * @q:     QEMU
 * @items: the value split at commas, the model first
 * @error: set naming an item that is no property of @q
 *
 * Items are typed as @q's expansion of max types them.  "+f"/"-f" are the
 * user's spelling and are left out.
 *
 * Return: new JSON object node, or NULL
 */
static JsonNode *to_props(Qemu *q, char **items, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    for (char **it = items + 1; *it; it++) {
        g_autofree char *key = NULL;
        const char *eq = strchr(*it, '=');
        const char *val = eq ? eq + 1 : "on";
        gpointer type;

        if (**it == '+' || **it == '-')
            continue;
        key = eq ? g_strndup(*it, eq - *it) : g_strdup(*it);
        if (!g_hash_table_lookup_extended(q->types, key, NULL, &type)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "QEMU %s has no CPU property %s", q->label, key);
            return NULL;
        }
        json_builder_set_member_name(b, key);
        if (GPOINTER_TO_SIZE(type) == G_TYPE_BOOLEAN)
            json_builder_add_boolean_value(b, strcmp(val, "on") == 0);
        else if (GPOINTER_TO_SIZE(type) == G_TYPE_INT64)
            json_builder_add_int_value(b, g_ascii_strtoll(val, NULL, 10));
        else
            json_builder_add_string_value(b, val);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/**
 * check_value() - @q expands a decided -cpu value exactly as written
 * @q:     QEMU
 * @what:  the case, for messages
 * @value: the -cpu value qemu-mig decided
 *
 * Return: TRUE when checked, FALSE when @q has no such model (a -cpu auto
 * winner or named model that only newer QEMUs have)
 */
static gboolean check_value(Qemu *q, const char *what, const char *value)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) props = NULL;
    g_autoptr(JsonNode) got = NULL;
    const char *model = items[0];
    JsonObject *want, *have;
    g_autoptr(GList) members = NULL;

    if (strcmp(model, "host") == 0)
        model = "max";
    props = to_props(q, items, &error);
    if (props == NULL)
        g_test_message("%s: %s", what, error->message);
    g_assert_no_error(error);
    if (!expand(q, model, props, &got, &error)) {
        if (strstr(error->message, "not found") != NULL &&
            strstr(error->message, "Property") == NULL)
            return FALSE;
        g_test_message("%s: QEMU %s refuses -cpu %s: %s", what, q->label, value,
                       error->message);
        g_assert_no_error(error);
    }
    want = json_node_get_object(props);
    have = json_node_get_object(got);
    members = json_object_get_members(want);
    for (GList *l = members; l; l = l->next) {
        JsonNode *w = json_object_get_member(want, l->data);
        JsonNode *h = json_object_get_member(have, l->data);

        /* without KVM (here), QEMU gives no KVM PV features: that is
         * the accelerator, not the value */
        if (qm_feature_is_kvm_pv(l->data) && json_node_get_boolean(w) &&
            h != NULL && !json_node_get_boolean(h))
            continue;
        if (h == NULL || !json_node_equal(w, h)) {
            g_autofree char *ws = json_to_string(w, FALSE);
            g_autofree char *hs = h ? json_to_string(h, FALSE) : NULL;

            g_test_message("%s: QEMU %s turns %s=%s into %s (-cpu %s)", what,
                           q->label, (char *)l->data, ws, hs ? hs : "(nothing)",
                           value);
            g_assert_not_reached();
        }
    }
    return TRUE;
}

/**
 * test_pairs() - every same-vendor pair, every value, through one QEMU
 * @data: Qemu
 */
static void test_pairs(gconstpointer data)
{
    Qemu *q = (Qemu *)data;
    guint checked = 0, missing = 0;

    if (q->vm == NULL) {
        g_test_skip(q->reason);
        return;
    }
    for (const QmProfCapture *i = qm_prof_captures; i->file; i++) {
        /* one order: both hosts see the same vocabulary here (that of
         * the real QEMU), so the other order gives the same value */
        for (const QmProfCapture *k = i + 1; k->file; k++) {
            g_autoptr(QmProfile) local = NULL;
            g_autoptr(QmProfile) peer = NULL;
            g_autoptr(GPtrArray) peers = NULL;

            if (strcmp(i->vendor, k->vendor) != 0)
                continue;
            local = as_seen_by(q, i->file, "local");
            peer = as_seen_by(q, k->file, "peer");
            peers = g_ptr_array_new();
            g_ptr_array_add(peers, peer);
            for (gsize v = 0; v < G_N_ELEMENTS(values); v++) {
                g_autoptr(QmDecision) d = NULL;
                g_autoptr(GError) error = NULL;
                g_autofree char *what = g_strdup_printf(
                    "%s + %s, -cpu %s", i->file + 13, k->file + 13, values[v]);

                /* -cpu auto and named models need both model lists */
                if (!g_str_has_prefix(values[v], "host") &&
                    (!i->definitions || !k->definitions))
                    continue;
                if (!qm_decide(values[v], NULL, local, peers, 0, &d, &error)) {
                    /* a model some host cannot run: refused, rightly */
                    g_assert_cmpint(error->code, ==, QM_ERROR_INCOMPATIBLE);
                    continue;
                }
                if (d->cpu_value == NULL)
                    continue;
                if (check_value(q, what, d->cpu_value))
                    checked++;
                else
                    missing++;
            }
        }
    }
    g_test_message("QEMU %s: %u decided values expanded as written; %u "
                   "named a model this QEMU does not have",
                   q->label, checked, missing);
    g_assert_cmpuint(checked, >, 300);
}

/**
 * test_dependency_control() - the rule this test catches: a child on with
 *                             its parent off is turned off by QEMU
 * @data: Qemu
 *
 * Negative control for check_value(): written by hand, rdctl-no=on with
 * arch-capabilities=off does not come back as written.
 */
static void test_dependency_control(gconstpointer data)
{
    Qemu *q = (Qemu *)data;
    g_autoptr(JsonNode) props = NULL;
    g_autoptr(JsonNode) got = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) items =
        g_strsplit("max,arch-capabilities=off,rdctl-no=on,enforce=on", ",", -1);

    if (q->vm == NULL) {
        g_test_skip(q->reason);
        return;
    }
    props = to_props(q, items, &error);
    g_assert_no_error(error);
    g_assert_true(expand(q, "max", props, &got, &error));
    g_assert_no_error(error);
    g_assert_false(
        json_object_get_boolean_member(json_node_get_object(got), "rdctl-no"));
}

/**
 * main() - register and run the accept tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    int status;

    qm_test_init(&argc, &argv);
    for (gsize i = 0; i < G_N_ELEMENTS(qemus); i++) {
        g_autofree char *pairs =
            g_strdup_printf("/accept/%s/pairs", qemus[i].label);
        g_autofree char *control =
            g_strdup_printf("/accept/%s/dependency-control", qemus[i].label);

        qemu_setup(&qemus[i]);
        g_test_add_data_func(control, &qemus[i], test_dependency_control);
        g_test_add_data_func(pairs, &qemus[i], test_pairs);
    }
    status = g_test_run();
    for (gsize i = 0; i < G_N_ELEMENTS(qemus); i++) {
        g_clear_pointer(&qemus[i].vm, qm_mig_test_vm_free);
        g_clear_pointer(&qemus[i].types, g_hash_table_unref);
        g_clear_pointer(&qemus[i].known, g_hash_table_unref);
        g_clear_pointer(&qemus[i].props, g_hash_table_unref);
        g_free(qemus[i].path);
        g_free(qemus[i].reason);
    }
    return status;
}
