/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a live vCPU's QOM properties, and the one comparison of two.
 *
 * "The guest CPU stayed the same across a migration" is checked by reading
 * every QOM property of vCPU 0 on both sides and comparing them one by
 * one, by a single fixed set of rules (rules[] below), so that the test
 * suites and qemu-mig's own pre-flight check can never disagree on what
 * "the same" means.  Reading does QMP I/O; everything else is pure.
 */
#include <string.h>

#include "error.h"
#include "profile.h"
#include "vcpu.h"

/**
 * RuleKind - how one property is compared
 * @RULE_EXACT: JSON values equal (json_node_equal()); the default
 * @RULE_SKIP:  never compared, for the rule's reason
 * @RULE_WORDS: X86CPUFeatureWordInfo lists, word by word
 * @RULE_SET:   string lists, as sets
 * @RULE_TSC:   exact, but only with QM_VCPU_COMPARE_TSC
 */
typedef enum {
    RULE_EXACT,
    RULE_SKIP,
    RULE_WORDS,
    RULE_SET,
    RULE_TSC,
} RuleKind;

/**
 * Rule - the comparison of one property
 * @name: QOM property name
 * @kind: how it is compared
 * @why:  the reason, as it appears in QmVcpuComparison.skipped when the
 *        property is not compared
 */
typedef struct {
    const char *name;
    RuleKind kind;
    const char *why;
} Rule;

#define IDENTITY "per-instance identity: which vCPU of the guest this is"
#define INSTANCE "per-instance state of the QOM object, not the guest CPU"

/*
 * Every property not named here is compared exactly.  Alias spellings
 * (lbr-fmt and lbr_fmt, sse4.1, sse4-1 and sse4_1) are separate QOM
 * properties of one setting: each is compared, none needs a rule.
 */
static const Rule rules[] = {
    /* where this vCPU sits in the guest's topology: vCPU 1 differs from
     * vCPU 0 in these, so they do not describe what the CPU is */
    {"apic-id", RULE_SKIP, IDENTITY},
    {"socket-id", RULE_SKIP, IDENTITY},
    {"die-id", RULE_SKIP, IDENTITY},
    {"cluster-id", RULE_SKIP, IDENTITY},
    {"module-id", RULE_SKIP, IDENTITY},
    {"core-id", RULE_SKIP, IDENTITY},
    {"thread-id", RULE_SKIP, IDENTITY},
    {"node-id", RULE_SKIP, IDENTITY},
    {"cpu-index", RULE_SKIP, IDENTITY},
    /* how the object came to be: a hotplugged vCPU is the same CPU */
    {"realized", RULE_SKIP, INSTANCE},
    {"hotplugged", RULE_SKIP, INSTANCE},
    {"hotpluggable", RULE_SKIP, INSTANCE},
    {"parent_bus", RULE_SKIP, INSTANCE},
    {"start-powered-off", RULE_SKIP, INSTANCE},
    {"crash-information", RULE_SKIP,
     "runtime state (the guest's panic information), not the CPU"},
    {"tsc-frequency", RULE_TSC,
     "compared only with QM_VCPU_COMPARE_TSC: before a migration the "
     "destination shows its own host's TSC frequency"},
    /* a list of CPUID words: its order means nothing, a missing word is
     * a word of zeros */
    {"feature-words", RULE_WORDS, NULL},
    {"filtered-features", RULE_WORDS, NULL},
    /* QEMU lists names in no fixed order, sometimes one twice */
    {"unavailable-features", RULE_SET, NULL},
};

/* The rule of every property rules[] does not name */
static const Rule rule_exact = {NULL, RULE_EXACT, NULL};

/**
 * find_rule() - the rule a property is compared by
 * @name: property name
 *
 * Return: its entry in rules[], or rule_exact
 */
static const Rule *find_rule(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(rules); i++) {
        if (strcmp(rules[i].name, name) == 0)
            return &rules[i];
    }
    return &rule_exact;
}

/**
 * is_object_type() - whether a QOM type names an object, not a value
 * @type: QOM property type
 *
 * Return: TRUE for child<...> and link<...>
 */
static gboolean is_object_type(const char *type)
{
    return g_str_has_prefix(type, "child<") || g_str_has_prefix(type, "link<");
}

/**
 * cmp_str() - GCompareFunc for sorting char * arrays
 * @a: pointer to the first string
 * @b: pointer to the second string
 *
 * Return: strcmp() order
 */
static int cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/**
 * vcpu_new() - an empty QmVcpu
 *
 * Return: new vCPU with empty tables
 */
static QmVcpu *vcpu_new(void)
{
    QmVcpu *vcpu = g_new0(QmVcpu, 1);

    vcpu->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)json_node_unref);
    vcpu->types =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    vcpu->unreadable =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return vcpu;
}

/**
 * qm_vcpu_free() - free a QmVcpu
 * @vcpu: the vCPU, or NULL
 */
void qm_vcpu_free(QmVcpu *vcpu)
{
    if (vcpu == NULL)
        return;
    g_free(vcpu->qemu_version);
    g_free(vcpu->qom_path);
    g_hash_table_unref(vcpu->values);
    g_hash_table_unref(vcpu->types);
    g_hash_table_unref(vcpu->unreadable);
    g_free(vcpu);
}

/**
 * has_property() - whether a vCPU's QEMU has a property at all
 * @vcpu: the vCPU
 * @name: property name
 *
 * Return: TRUE when it is typed, read or unreadable
 */
static gboolean has_property(const QmVcpu *vcpu, const char *name)
{
    return g_hash_table_contains(vcpu->types, name) ||
           g_hash_table_contains(vcpu->values, name) ||
           g_hash_table_contains(vcpu->unreadable, name);
}

/**
 * add_names() - add a table's keys to a set of names
 * @set:   set of names (borrowed keys)
 * @table: table keyed by property name
 */
static void add_names(GHashTable *set, GHashTable *table)
{
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, table);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(set, key);
}

/**
 * sorted_keys() - the keys of a set, sorted
 * @set: hash table of strings
 *
 * Return: array of the borrowed keys, strcmp() order
 */
static GPtrArray *sorted_keys(GHashTable *set)
{
    GPtrArray *keys = g_ptr_array_sized_new(g_hash_table_size(set));
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, set);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(keys, key);
    g_ptr_array_sort(keys, cmp_str);
    return keys;
}

/**
 * all_names() - every property either vCPU has, sorted
 * @a: a vCPU
 * @b: another vCPU (may be @a), or NULL
 *
 * Return: array of borrowed names, valid while @a and @b live
 */
static GPtrArray *all_names(const QmVcpu *a, const QmVcpu *b)
{
    g_autoptr(GHashTable) set = g_hash_table_new(g_str_hash, g_str_equal);
    const QmVcpu *both[] = {a, b};

    for (gsize i = 0; i < G_N_ELEMENTS(both) && both[i] != NULL; i++) {
        add_names(set, both[i]->types);
        add_names(set, both[i]->values);
        add_names(set, both[i]->unreadable);
    }
    return sorted_keys(set);
}

/* ---- reading a live vCPU ---- */

/**
 * find_vcpu0() - the QOM path of the vCPU with cpu-index 0
 * @cpus:  query-cpus-fast's return
 * @error: set with QM_ERROR_PROTOCOL when there is none
 *
 * Return: the path (borrowed from @cpus), or NULL
 */
static const char *find_vcpu0(JsonNode *cpus, GError **error)
{
    JsonArray *list =
        JSON_NODE_HOLDS_ARRAY(cpus) ? json_node_get_array(cpus) : NULL;

    for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
        JsonNode *entry = json_array_get_element(list, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(entry) ? json_node_get_object(entry) : NULL;
        JsonNode *index = obj ? json_object_get_member(obj, "cpu-index") : NULL;
        const char *path = obj ? qm_profile_json_string(
                                     json_object_get_member(obj, "qom-path"))
                               : NULL;

        if (index != NULL && JSON_NODE_HOLDS_VALUE(index) &&
            json_node_get_value_type(index) == G_TYPE_INT64 &&
            json_node_get_int(index) == 0 && path != NULL)
            return path;
    }
    g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                "query-cpus-fast lists no vCPU with cpu-index 0 and a "
                "qom-path");
    return NULL;
}

/**
 * qom_args() - the arguments of qom-list or qom-get
 * @path:     QOM path
 * @property: property name, or NULL for qom-list
 *
 * Return: new object node
 */
static JsonNode *qom_args(const char *path, const char *property)
{
    JsonObject *obj = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_string_member(obj, "path", path);
    if (property != NULL)
        json_object_set_string_member(obj, "property", property);
    json_node_take_object(node, obj);
    return node;
}

/**
 * list_properties() - qom-list of the vCPU into @vcpu->types
 * @vcpu:  vCPU being read
 * @list:  qom-list's return
 * @error: set with QM_ERROR_PROTOCOL on a malformed list
 *
 * Return: TRUE on success
 */
static gboolean list_properties(QmVcpu *vcpu, JsonNode *list, GError **error)
{
    JsonArray *array =
        JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    if (array == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "qom-list of %s did not return a list", vcpu->qom_path);
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *entry = json_array_get_element(array, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(entry) ? json_node_get_object(entry) : NULL;
        const char *name =
            obj ? qm_profile_json_string(json_object_get_member(obj, "name"))
                : NULL;
        const char *type =
            obj ? qm_profile_json_string(json_object_get_member(obj, "type"))
                : NULL;

        if (name == NULL || type == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "qom-list of %s has an entry without a name and a "
                        "type",
                        vcpu->qom_path);
            return FALSE;
        }
        /* one object cannot have two properties of one name */
        if (!g_hash_table_insert(vcpu->types, g_strdup(name), g_strdup(type))) {
            g_autofree char *what = qm_profile_json_shown(name);

            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "qom-list of %s lists property %.64s twice",
                        vcpu->qom_path, what);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * qm_vcpu_read() - every QOM property of a live guest's vCPU 0
 * @mon:      monitor of the running QEMU
 * @deadline: g_get_monotonic_time() limit for the whole reading
 * @vcpu:     set to the result (qm_vcpu_free())
 * @error:    as for qm_monitor_execute(), or QM_ERROR_PROTOCOL on a
 *            malformed query-cpus-fast or qom-list
 *
 * A property that cannot be read is no error: QEMU refuses some on
 * purpose (crash-information without a crash, legacy-memory is
 * write-only), so its error is kept in @vcpu->unreadable.  The qom-gets
 * are pipelined: about 500 of them take one round trip.
 *
 * Return: TRUE on success
 */
gboolean qm_vcpu_read(QmMonitor *mon, gint64 deadline, QmVcpu **vcpu,
                      GError **error)
{
    g_autoptr(QmVcpu) out = vcpu_new();
    g_autoptr(JsonNode) cpus = NULL;
    g_autoptr(JsonNode) list = NULL;
    g_autoptr(JsonNode) list_args = NULL;
    g_autoptr(GPtrArray) names = NULL;
    g_autoptr(GPtrArray) commands = g_ptr_array_new();
    g_autoptr(GPtrArray) args =
        g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) replies = NULL;
    g_autoptr(GPtrArray) errors = NULL;
    const char *path;

    out->qemu_version = g_strdup(qm_monitor_qemu_version(mon));
    if (!qm_monitor_execute(mon, "query-cpus-fast", NULL, deadline, &cpus,
                            error))
        return FALSE;
    path = find_vcpu0(cpus, error);
    if (path == NULL)
        return FALSE;
    out->qom_path = g_strdup(path);
    list_args = qom_args(path, NULL);
    if (!qm_monitor_execute(mon, "qom-list", list_args, deadline, &list,
                            error) ||
        !list_properties(out, list, error))
        return FALSE;

    names = g_ptr_array_new();
    {
        g_autoptr(GPtrArray) listed = all_names(out, NULL);

        for (guint i = 0; i < listed->len; i++) {
            const char *name = g_ptr_array_index(listed, i);

            /* an object's properties are its own, not this vCPU's */
            if (is_object_type(g_hash_table_lookup(out->types, name)))
                continue;
            g_ptr_array_add(names, (char *)name);
            g_ptr_array_add(commands, "qom-get");
            g_ptr_array_add(args, qom_args(path, name));
        }
    }
    if (!qm_monitor_execute_many(
            mon, names->len, (const char *const *)commands->pdata,
            (JsonNode *const *)args->pdata, deadline, &replies, &errors, error))
        return FALSE;
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        JsonNode *value = g_ptr_array_index(replies, i);

        if (value != NULL)
            g_hash_table_insert(out->values, g_strdup(name),
                                json_node_ref(value));
        else
            g_hash_table_insert(out->unreadable, g_strdup(name),
                                g_strdup(g_ptr_array_index(errors, i)));
    }
    *vcpu = g_steal_pointer(&out);
    return TRUE;
}

/* ---- JSON form ---- */

/**
 * qm_vcpu_to_json() - a vCPU as a JSON document
 * @vcpu: the vCPU
 *
 * {"qemu-version": V, "qom-path": P, "properties": {NAME: {"type": T,
 * "value": V} or {"type": T, "error": E} or {"type": T}}}, names sorted.
 *
 * Return: new node, read back by qm_vcpu_from_json()
 */
JsonNode *qm_vcpu_to_json(const QmVcpu *vcpu)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(GPtrArray) names = all_names(vcpu, NULL);

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "qemu-version");
    if (vcpu->qemu_version != NULL)
        json_builder_add_string_value(builder, vcpu->qemu_version);
    else
        json_builder_add_null_value(builder);
    json_builder_set_member_name(builder, "qom-path");
    if (vcpu->qom_path != NULL)
        json_builder_add_string_value(builder, vcpu->qom_path);
    else
        json_builder_add_null_value(builder);
    json_builder_set_member_name(builder, "properties");
    json_builder_begin_object(builder);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        const char *type = g_hash_table_lookup(vcpu->types, name);
        JsonNode *value = g_hash_table_lookup(vcpu->values, name);
        const char *err = g_hash_table_lookup(vcpu->unreadable, name);

        json_builder_set_member_name(builder, name);
        json_builder_begin_object(builder);
        if (type != NULL) {
            json_builder_set_member_name(builder, "type");
            json_builder_add_string_value(builder, type);
        }
        if (value != NULL) {
            json_builder_set_member_name(builder, "value");
            json_builder_add_value(builder, json_node_copy(value));
        } else if (err != NULL) {
            json_builder_set_member_name(builder, "error");
            json_builder_add_string_value(builder, err);
        }
        json_builder_end_object(builder);
    }
    json_builder_end_object(builder);
    json_builder_end_object(builder);
    return json_builder_get_root(builder);
}

/**
 * optional_string() - a member that must be a string or null, if present
 * @obj:    JSON object
 * @member: member name
 * @value:  set to a copy of the string, NULL for null or absent
 *
 * Return: FALSE when present but neither string nor null
 */
static gboolean optional_string(JsonObject *obj, const char *member,
                                char **value)
{
    JsonNode *node = json_object_get_member(obj, member);

    *value = NULL;
    if (node == NULL || JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    if (qm_profile_json_string(node) == NULL)
        return FALSE;
    *value = g_strdup(json_node_get_string(node));
    return TRUE;
}

/**
 * only_members() - whether an object has no member outside a list
 * @obj:     JSON object
 * @allowed: NULL-terminated member names
 *
 * A document we do not fully understand is refused, not half-read.
 *
 * Return: the first other member's name (borrowed), or NULL
 */
static const char *only_members(JsonObject *obj, const char *const *allowed)
{
    JsonObjectIter iter;
    const char *name;

    json_object_iter_init(&iter, obj);
    while (json_object_iter_next(&iter, &name, NULL)) {
        if (!g_strv_contains(allowed, name))
            return name;
    }
    return NULL;
}

/**
 * qm_vcpu_from_json() - a vCPU from qm_vcpu_to_json()'s document
 * @node:  the document
 * @error: set with QM_ERROR_PROTOCOL when it is malformed
 *
 * Return: new vCPU, or NULL
 */
QmVcpu *qm_vcpu_from_json(JsonNode *node, GError **error)
{
    static const char *const top[] = {"qemu-version", "qom-path", "properties",
                                      NULL};
    static const char *const prop[] = {"type", "value", "error", NULL};
    g_autoptr(QmVcpu) vcpu = vcpu_new();
    JsonObject *obj = node && JSON_NODE_HOLDS_OBJECT(node)
                          ? json_node_get_object(node)
                          : NULL;
    JsonNode *props = obj ? json_object_get_member(obj, "properties") : NULL;
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;

    if (props == NULL || !JSON_NODE_HOLDS_OBJECT(props) ||
        only_members(obj, top) != NULL ||
        !optional_string(obj, "qemu-version", &vcpu->qemu_version) ||
        !optional_string(obj, "qom-path", &vcpu->qom_path)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "vCPU document is not an object of qemu-version, "
                    "qom-path and properties");
        return NULL;
    }
    json_object_iter_init(&iter, json_node_get_object(props));
    while (json_object_iter_next(&iter, &name, &member)) {
        JsonObject *p = JSON_NODE_HOLDS_OBJECT(member)
                            ? json_node_get_object(member)
                            : NULL;
        JsonNode *value = p ? json_object_get_member(p, "value") : NULL;
        char *type = NULL;
        char *err = NULL;

        if (p == NULL || only_members(p, prop) != NULL ||
            !optional_string(p, "type", &type) ||
            !optional_string(p, "error", &err) ||
            (value != NULL && err != NULL)) {
            g_autofree char *what = qm_profile_json_shown(name);

            g_free(type);
            g_free(err);
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "vCPU document: property %.64s is not an object of "
                        "a type and a value or an error",
                        what);
            return NULL;
        }
        if (type != NULL)
            g_hash_table_insert(vcpu->types, g_strdup(name), type);
        if (value != NULL)
            g_hash_table_insert(vcpu->values, g_strdup(name),
                                json_node_copy(value));
        if (err != NULL)
            g_hash_table_insert(vcpu->unreadable, g_strdup(name), err);
    }
    return g_steal_pointer(&vcpu);
}

/* ---- comparing ---- */

/**
 * Word - one CPUID feature word of an X86CPUFeatureWordInfo list
 * @eax:      CPUID leaf
 * @has_ecx:  whether the word names a subleaf
 * @ecx:      subleaf
 * @reg:      output register, "EAX" to "EDX" (borrowed from the list)
 * @features: the bits
 */
typedef struct {
    gint64 eax;
    gboolean has_ecx;
    gint64 ecx;
    const char *reg;
    guint64 features;
} Word;

/**
 * word_key() - hash key of a word: leaf, subleaf or none, register
 * @w: the word
 *
 * "ecx absent" and "ecx 0" are different keys: QEMU names a subleaf
 * exactly for the leaves that have them, the same way in every version.
 *
 * Return: newly allocated key
 */
static char *word_key(const Word *w)
{
    if (w->has_ecx)
        return g_strdup_printf("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%s",
                               w->eax, w->ecx, w->reg);
    return g_strdup_printf("%" G_GINT64_FORMAT "/-/%s", w->eax, w->reg);
}

/**
 * word_int() - a word's integer member, within 0 to @max
 * @obj:    the word
 * @member: member name
 * @max:    largest value allowed
 * @value:  where to store it
 *
 * Return: TRUE when present, integral and in range
 */
static gboolean word_int(JsonObject *obj, const char *member, gint64 max,
                         gint64 *value)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_INT64)
        return FALSE;
    *value = json_node_get_int(node);
    return *value >= 0 && *value <= max;
}

/**
 * parse_words() - an X86CPUFeatureWordInfo list by (leaf, subleaf, reg)
 * @node:  the property's value
 * @words: set to word_key() -> Word (both owned); borrows from @node
 *
 * Return: FALSE when the list is malformed or names a word twice
 */
static gboolean parse_words(JsonNode *node, GHashTable **words)
{
    g_autoptr(GHashTable) out =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    JsonArray *list =
        JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;

    for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
        JsonNode *entry = json_array_get_element(list, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(entry) ? json_node_get_object(entry) : NULL;
        g_autofree char *key = NULL;
        Word w = {0};
        gint64 features;
        Word *copy;

        if (obj == NULL)
            return FALSE;
        w.reg = qm_profile_json_string(
            json_object_get_member(obj, "cpuid-register"));
        w.has_ecx = json_object_has_member(obj, "cpuid-input-ecx");
        /* registers are 32 bits; the register name is printed */
        if (!word_int(obj, "cpuid-input-eax", G_MAXUINT32, &w.eax) ||
            (w.has_ecx &&
             !word_int(obj, "cpuid-input-ecx", G_MAXUINT32, &w.ecx)) ||
            !word_int(obj, "features", G_MAXUINT32, &features) ||
            w.reg == NULL || strlen(w.reg) == 0 || strlen(w.reg) > 8 ||
            strspn(w.reg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(w.reg))
            return FALSE;
        w.features = (guint64)features;
        key = word_key(&w);
        /* two values for one word: which one would the guest see? */
        if (g_hash_table_contains(out, key))
            return FALSE;
        copy = g_new(Word, 1);
        *copy = w;
        g_hash_table_insert(out, g_steal_pointer(&key), copy);
    }
    if (list == NULL)
        return FALSE;
    *words = g_steal_pointer(&out);
    return TRUE;
}

/**
 * cmp_word() - order of words: leaf, then no subleaf, subleaf, register
 * @a: pointer to the first Word pointer
 * @b: pointer to the second Word pointer
 *
 * Return: negative, 0 or positive
 */
static int cmp_word(gconstpointer a, gconstpointer b)
{
    const Word *x = *(const Word *const *)a;
    const Word *y = *(const Word *const *)b;

    if (x->eax != y->eax)
        return x->eax < y->eax ? -1 : 1;
    if (x->has_ecx != y->has_ecx)
        return x->has_ecx ? 1 : -1;
    if (x->ecx != y->ecx)
        return x->ecx < y->ecx ? -1 : 1;
    return strcmp(x->reg, y->reg);
}

/**
 * diff_add() - record one difference
 * @c:    the comparison
 * @name: property (or word) name
 * @a:    side A's text; ownership taken
 * @b:    side B's text; ownership taken
 */
static void diff_add(QmVcpuComparison *c, const char *name, char *a, char *b)
{
    QmVcpuDiff *d = g_new0(QmVcpuDiff, 1);

    d->name = g_strdup(name);
    d->a = a;
    d->b = b;
    g_ptr_array_add(c->differences, d);
}

/**
 * compare_exact() - compare two values as JSON
 * @c:    the comparison
 * @name: property name
 * @va:   side A's value
 * @vb:   side B's value
 */
static void compare_exact(QmVcpuComparison *c, const char *name, JsonNode *va,
                          JsonNode *vb)
{
    if (json_node_equal(va, vb))
        return;
    diff_add(c, name, json_to_string(va, FALSE), json_to_string(vb, FALSE));
}

/**
 * compare_words() - compare two X86CPUFeatureWordInfo lists word by word
 * @c:    the comparison
 * @name: property name
 * @va:   side A's list
 * @vb:   side B's list
 *
 * The order of the list is QEMU's hash order, not meaning, and a newer
 * QEMU lists words an older one does not know: to the guest, a word
 * nobody lists is zeros.  A list that is not well-formed is compared
 * exactly instead, so that nothing unexpected passes unseen.
 */
static void compare_words(QmVcpuComparison *c, const char *name, JsonNode *va,
                          JsonNode *vb)
{
    g_autoptr(GHashTable) wa = NULL;
    g_autoptr(GHashTable) wb = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    static const Word zero = {0};

    if (!parse_words(va, &wa) || !parse_words(vb, &wb)) {
        compare_exact(c, name, va, vb);
        return;
    }
    for (int side = 0; side < 2; side++) {
        GHashTableIter iter;
        gpointer key, word;

        g_hash_table_iter_init(&iter, side == 0 ? wa : wb);
        while (g_hash_table_iter_next(&iter, &key, &word)) {
            if (g_hash_table_add(seen, key))
                g_ptr_array_add(keys, word);
        }
    }
    g_ptr_array_sort(keys, cmp_word);
    for (guint i = 0; i < keys->len; i++) {
        const Word *w = g_ptr_array_index(keys, i);
        g_autofree char *key = word_key(w);
        const Word *a = g_hash_table_lookup(wa, key);
        const Word *b = g_hash_table_lookup(wb, key);
        guint64 fa = (a ? a : &zero)->features;
        guint64 fb = (b ? b : &zero)->features;
        g_autoptr(GString) bits = NULL;
        g_autofree char *word = NULL;

        if (fa == fb)
            continue;
        bits = g_string_new(NULL);
        for (int bit = 0; bit < 32; bit++) {
            if (((fa ^ fb) >> bit) & 1)
                g_string_append_printf(bits, " %cbit%d",
                                       (fb >> bit) & 1 ? '+' : '-', bit);
        }
        if (w->has_ecx)
            word = g_strdup_printf("%s CPUID[EAX=0x%" G_GINT64_MODIFIER
                                   "x,ECX=0x%" G_GINT64_MODIFIER "x].%s",
                                   name, w->eax, w->ecx, w->reg);
        else
            word = g_strdup_printf("%s CPUID[EAX=0x%" G_GINT64_MODIFIER "x].%s",
                                   name, w->eax, w->reg);
        diff_add(c, word, g_strdup_printf("0x%08" G_GINT64_MODIFIER "x", fa),
                 g_strdup_printf("0x%08" G_GINT64_MODIFIER "x (%s)", fb,
                                 bits->str + 1));
    }
}

/**
 * string_set() - a list of strings as a sorted set
 * @node: the value
 *
 * Return: sorted array of distinct borrowed strings, or NULL when @node
 * is not a list of strings
 */
static GPtrArray *string_set(JsonNode *node)
{
    JsonArray *list =
        JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
    g_autoptr(GHashTable) set = g_hash_table_new(g_str_hash, g_str_equal);

    if (list == NULL)
        return NULL;
    for (guint i = 0; i < json_array_get_length(list); i++) {
        const char *s = qm_profile_json_string(json_array_get_element(list, i));

        if (s == NULL)
            return NULL;
        g_hash_table_add(set, (char *)s);
    }
    return sorted_keys(set);
}

/**
 * set_text() - a sorted set as a JSON array
 * @set:   sorted strings
 * @other: the other side's set, or NULL; when given, the strings @set has
 *         more ("+name") or fewer ("-name") follow in parentheses
 *
 * Return: newly allocated text
 */
static char *set_text(GPtrArray *set, GPtrArray *other)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GString) changes = g_string_new(NULL);
    g_autofree char *list = NULL;

    json_builder_begin_array(builder);
    for (guint i = 0; i < set->len; i++)
        json_builder_add_string_value(builder, g_ptr_array_index(set, i));
    json_builder_end_array(builder);
    root = json_builder_get_root(builder);
    list = json_to_string(root, FALSE);
    for (guint i = 0; other != NULL && i < set->len; i++) {
        if (!g_ptr_array_find_with_equal_func(other, g_ptr_array_index(set, i),
                                              g_str_equal, NULL))
            g_string_append_printf(changes, " +%s",
                                   (char *)g_ptr_array_index(set, i));
    }
    for (guint i = 0; other != NULL && i < other->len; i++) {
        if (!g_ptr_array_find_with_equal_func(set, g_ptr_array_index(other, i),
                                              g_str_equal, NULL))
            g_string_append_printf(changes, " -%s",
                                   (char *)g_ptr_array_index(other, i));
    }
    if (changes->len == 0)
        return g_steal_pointer(&list);
    return g_strdup_printf("%s (%s)", list, changes->str + 1);
}

/**
 * compare_set() - compare two string lists as sets
 * @c:    the comparison
 * @name: property name
 * @va:   side A's list
 * @vb:   side B's list
 *
 * A value that is not a list of strings is compared exactly instead.
 */
static void compare_set(QmVcpuComparison *c, const char *name, JsonNode *va,
                        JsonNode *vb)
{
    g_autoptr(GPtrArray) sa = string_set(va);
    g_autoptr(GPtrArray) sb = string_set(vb);
    gboolean equal;

    if (sa == NULL || sb == NULL) {
        compare_exact(c, name, va, vb);
        return;
    }
    equal = sa->len == sb->len;
    for (guint i = 0; equal && i < sa->len; i++)
        equal = strcmp(g_ptr_array_index(sa, i), g_ptr_array_index(sb, i)) == 0;
    if (!equal)
        diff_add(c, name, set_text(sa, NULL), set_text(sb, sa));
}

/**
 * skip() - record a property that is not compared
 * @c:      the comparison
 * @name:   property name
 * @format: printf format of the reason
 * @...:    arguments
 */
static void G_GNUC_PRINTF(3, 4)
    skip(QmVcpuComparison *c, const char *name, const char *format, ...)
{
    g_autofree char *why = NULL;
    va_list ap;

    va_start(ap, format);
    why = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_ptr_array_add(c->skipped, g_strdup_printf("%s: %s", name, why));
}

/**
 * diff_free() - free a QmVcpuDiff
 * @d: the difference
 */
static void diff_free(QmVcpuDiff *d)
{
    g_free(d->name);
    g_free(d->a);
    g_free(d->b);
    g_free(d);
}

/**
 * qm_vcpu_comparison_free() - free a comparison
 * @c: the comparison, or NULL
 */
void qm_vcpu_comparison_free(QmVcpuComparison *c)
{
    if (c == NULL)
        return;
    g_ptr_array_unref(c->differences);
    g_ptr_array_unref(c->only_a);
    g_ptr_array_unref(c->only_b);
    g_ptr_array_unref(c->skipped);
    g_free(c);
}

/**
 * qm_vcpu_compare() - compare two vCPUs property by property
 * @a:     side A
 * @b:     side B
 * @flags: QmVcpuCompareFlags
 *
 * A property only one QEMU has is listed, not counted as a difference:
 * QEMU versions add properties, and what matters is that the ones both
 * know agree.  Properties of type child<...> or link<...>, ones rules[]
 * skips, and ones either side could not read are listed in skipped with
 * the reason.  Pure: no I/O.
 *
 * Return: new comparison; every list in property name order
 */
QmVcpuComparison *qm_vcpu_compare(const QmVcpu *a, const QmVcpu *b,
                                  unsigned flags)
{
    QmVcpuComparison *c = g_new0(QmVcpuComparison, 1);
    g_autoptr(GPtrArray) names = all_names(a, b);

    c->differences = g_ptr_array_new_with_free_func((GDestroyNotify)diff_free);
    c->only_a = g_ptr_array_new_with_free_func(g_free);
    c->only_b = g_ptr_array_new_with_free_func(g_free);
    c->skipped = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        const Rule *rule = find_rule(name);
        const char *ta = g_hash_table_lookup(a->types, name);
        const char *tb = g_hash_table_lookup(b->types, name);
        const char *ua = g_hash_table_lookup(a->unreadable, name);
        const char *ub = g_hash_table_lookup(b->unreadable, name);
        JsonNode *va = g_hash_table_lookup(a->values, name);
        JsonNode *vb = g_hash_table_lookup(b->values, name);

        if (!has_property(b, name)) {
            g_ptr_array_add(c->only_a, g_strdup(name));
            continue;
        }
        if (!has_property(a, name)) {
            g_ptr_array_add(c->only_b, g_strdup(name));
            continue;
        }
        if (rule->kind == RULE_SKIP ||
            (rule->kind == RULE_TSC && !(flags & QM_VCPU_COMPARE_TSC))) {
            skip(c, name, "%s", rule->why);
            continue;
        }
        if ((ta != NULL && is_object_type(ta)) ||
            (tb != NULL && is_object_type(tb))) {
            skip(c, name, "%s, an object rather than a value",
                 ta != NULL ? ta : tb);
            continue;
        }
        if (ua != NULL && ub != NULL) {
            if (g_strcmp0(ua, ub) == 0)
                skip(c, name, "unreadable on both sides: %s", ua);
            else
                skip(c, name, "unreadable: side A: %s; side B: %s", ua, ub);
            continue;
        }
        if (ua != NULL || ub != NULL) {
            /* one QEMU tells a value the other cannot: not the same CPU */
            c->compared++;
            diff_add(c, name,
                     ua ? g_strdup_printf("(unreadable: %s)", ua)
                        : json_to_string(va, FALSE),
                     ub ? g_strdup_printf("(unreadable: %s)", ub)
                        : json_to_string(vb, FALSE));
            continue;
        }
        if (va == NULL || vb == NULL) {
            skip(c, name, "no value on side %s", va == NULL ? "A" : "B");
            continue;
        }
        c->compared++;
        if (rule->kind == RULE_WORDS)
            compare_words(c, name, va, vb);
        else if (rule->kind == RULE_SET)
            compare_set(c, name, va, vb);
        else
            compare_exact(c, name, va, vb);
    }
    return c;
}

/**
 * qm_vcpu_comparison_describe() - a comparison as text for people
 * @c:      the comparison
 * @name_a: what to call side A ("7.2")
 * @name_b: what to call side B
 *
 * Return: newly allocated text, one line per difference
 * ("  PROP: A=... B=...") and then one line of counts
 */
char *qm_vcpu_comparison_describe(const QmVcpuComparison *c, const char *name_a,
                                  const char *name_b)
{
    GString *text = g_string_new(NULL);

    for (guint i = 0; i < c->differences->len; i++) {
        const QmVcpuDiff *d = g_ptr_array_index(c->differences, i);
        g_autofree char *name = qm_profile_json_shown(d->name);
        g_autofree char *a = qm_profile_json_shown(d->a);
        g_autofree char *b = qm_profile_json_shown(d->b);

        g_string_append_printf(text, "  %s: %s=%s %s=%s\n", name, name_a, a,
                               name_b, b);
    }
    g_string_append_printf(
        text,
        "%u difference%s in %u properties compared; "
        "%u skipped; %u only in %s, %u only in %s\n",
        c->differences->len, c->differences->len == 1 ? "" : "s", c->compared,
        c->skipped->len, c->only_a->len, name_a, c->only_b->len, name_b);
    return g_string_free(text, FALSE);
}
