/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the data model every layer shares - host profiles and feature
 * sets - and its JSON form (probe --json, explain --json, the cache).
 */
#include <string.h>

#include "error.h"
#include "feature.h"
#include "profile.h"

/* QMP replies nest a few levels; json-glib recurses once per level */
#define QM_PROFILE_JSON_MAX_DEPTH 128

/*
 * The host model's numbers that -cpu host takes from the host and that
 * a decision pins (see decide.c): read from the expansion by property
 * name, kept in the profile under a member name.  lmce is a boolean
 * property, kept as 0/1.
 */
const QmProfileValue qm_profile_values[] = {
    {"level", "cpuid-level", G_STRUCT_OFFSET(QmProfile, cpuid_level),
     G_MAXUINT32},
    {"xlevel", "cpuid-xlevel", G_STRUCT_OFFSET(QmProfile, cpuid_xlevel),
     G_MAXUINT32},
    {"xlevel2", "cpuid-xlevel2", G_STRUCT_OFFSET(QmProfile, cpuid_xlevel2),
     G_MAXUINT32},
    {"level-func7", "cpuid-level-func7",
     G_STRUCT_OFFSET(QmProfile, cpuid_level_func7), G_MAXUINT32},
    {"lmce", "lmce", G_STRUCT_OFFSET(QmProfile, lmce), 1},
    {"avx10-version", "avx10-version",
     G_STRUCT_OFFSET(QmProfile, avx10_version), G_MAXUINT8},
};
const gsize qm_profile_n_values = G_N_ELEMENTS(qm_profile_values);

/**
 * qm_cpu_model_free() - free a QmCpuModel
 * @model: model, or NULL
 */
void qm_cpu_model_free(QmCpuModel *model)
{
    if (model == NULL)
        return;
    g_free(model->name);
    g_free(model->alias_of);
    g_clear_pointer(&model->unavailable, g_ptr_array_unref);
    g_clear_pointer(&model->features, g_hash_table_unref);
    g_free(model);
}

/**
 * qm_machine_free() - free a QmMachine
 * @machine: machine, or NULL
 */
void qm_machine_free(QmMachine *machine)
{
    if (machine == NULL)
        return;
    g_free(machine->name);
    g_free(machine->alias);
    g_free(machine->default_cpu);
    g_free(machine);
}

/**
 * qm_profile_new() - an empty profile
 * @name: host name as the user knows it ("local" for this host)
 *
 * Return: new profile with empty feature sets
 */
QmProfile *qm_profile_new(const char *name)
{
    QmProfile *profile = g_new0(QmProfile, 1);

    profile->name = g_strdup(name);
    profile->features = qm_featset_new();
    profile->known = qm_featset_new();
    profile->unmigratable = qm_featset_new();
    profile->props = qm_featset_new();
    for (gsize i = 0; i < qm_profile_n_values; i++)
        G_STRUCT_MEMBER(gint64, profile, qm_profile_values[i].offset) = -1;
    profile->guest_phys_bits = -1;
    return profile;
}

/**
 * qm_profile_free() - free a profile
 * @profile: profile, or NULL
 */
void qm_profile_free(QmProfile *profile)
{
    if (profile == NULL)
        return;
    g_free(profile->name);
    g_free(profile->vendor);
    g_free(profile->model_id);
    g_clear_pointer(&profile->features, g_hash_table_unref);
    g_clear_pointer(&profile->known, g_hash_table_unref);
    g_clear_pointer(&profile->unmigratable, g_hash_table_unref);
    g_clear_pointer(&profile->props, g_hash_table_unref);
    g_clear_pointer(&profile->cpu_models, g_ptr_array_unref);
    g_clear_pointer(&profile->machines, g_ptr_array_unref);
    g_free(profile->qemu_version);
    g_free(profile->qemu_package);
    g_free(profile->probe_method);
    g_free(profile->cpu_brand);
    g_free(profile->source);
    g_free(profile);
}

/**
 * qm_profile_find_model() - look up a CPU model by exact name
 * @profile: host profile
 * @name:    model name
 *
 * Return: the model, or NULL when the host's QEMU does not list it (or did
 * not answer query-cpu-definitions)
 */
const QmCpuModel *qm_profile_find_model(const QmProfile *profile,
                                        const char *name)
{
    if (profile->cpu_models == NULL)
        return NULL;
    for (guint i = 0; i < profile->cpu_models->len; i++) {
        const QmCpuModel *model = g_ptr_array_index(profile->cpu_models, i);

        if (strcmp(model->name, name) == 0)
            return model;
    }
    return NULL;
}

/**
 * qm_profile_age() - how old a profile is, for people
 * @profile: host profile
 *
 * Return: newly allocated text such as "42s", "5m", "3h", "2d"
 */
char *qm_profile_age(const QmProfile *profile)
{
    gint64 age =
        MAX(0, g_get_real_time() / G_USEC_PER_SEC - profile->probed_at);

    if (age < 120)
        return g_strdup_printf("%" G_GINT64_FORMAT "s", age);
    if (age < 7200)
        return g_strdup_printf("%" G_GINT64_FORMAT "m", age / 60);
    if (age < 172800)
        return g_strdup_printf("%" G_GINT64_FORMAT "h", age / 3600);
    return g_strdup_printf("%" G_GINT64_FORMAT "d", age / 86400);
}

/**
 * qm_profile_json_string() - a JSON node's string, if it holds one
 * @node: node from a reply or a cache file, or NULL
 *
 * json_node_get_string() on anything else is a GLib critical; untrusted
 * input must make that an error, not a warning.
 *
 * Return: the string (borrowed), or NULL
 */
const char *qm_profile_json_string(JsonNode *node)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

/**
 * DupCheck - what the parser signal handlers of repeated_key() keep
 * @members: members seen so far, one counter per object being parsed
 * @dup:     the first member name seen twice in one object, or NULL
 */
typedef struct {
    GArray *members;
    char *dup;
} DupCheck;

/**
 * qm_profile_json_object() - an object member that must itself be an object
 * @obj:    JSON object, or NULL
 * @member: member name
 *
 * Return: the member object (borrowed), or NULL
 */
JsonObject *qm_profile_json_object(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    return node != NULL && JSON_NODE_HOLDS_OBJECT(node)
               ? json_node_get_object(node)
               : NULL;
}

/**
 * qm_profile_json_int() - an object member that must be an integer
 * @obj:    JSON object, or NULL
 * @member: member name
 * @value:  where to store it
 *
 * json_object_get_int_member() turns a string or a float into a number,
 * and raises a CRITICAL on anything else: untrusted JSON must be refused.
 *
 * Return: TRUE when present and integral
 */
gboolean qm_profile_json_int(JsonObject *obj, const char *member, gint64 *value)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_INT64)
        return FALSE;
    *value = json_node_get_int(node);
    return TRUE;
}

/**
 * qm_profile_json_shown() - untrusted text made safe for a message or a
 *                           terminal
 * @s: untrusted string
 *
 * Return: newly allocated valid UTF-8 with control characters escaped
 */
char *qm_profile_json_shown(const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    GString *out = g_string_new(NULL);

    for (const char *c = valid; *c != '\0'; c++) {
        if ((guchar)*c < 0x20 || *c == 0x7f)
            g_string_append_printf(out, "\\x%02x", (guchar)*c);
        else
            g_string_append_c(out, *c);
    }
    return g_string_free(out, FALSE);
}

/**
 * on_object_start() - JsonParser::object-start: a new innermost object
 * @parser: the parser
 * @data:   the DupCheck
 */
static void on_object_start(JsonParser *parser, gpointer data)
{
    DupCheck *check = data;
    guint zero = 0;

    g_array_append_val(check->members, zero);
}

/**
 * on_object_member() - JsonParser::object-member, emitted after the member
 * was stored
 * @parser: the parser
 * @obj:    the innermost object
 * @name:   member name
 * @data:   the DupCheck
 */
static void on_object_member(JsonParser *parser, JsonObject *obj,
                             const char *name, gpointer data)
{
    DupCheck *check = data;
    guint *seen;

    if (check->members->len == 0)
        return;
    seen = &g_array_index(check->members, guint, check->members->len - 1);
    if (json_object_get_size(obj) < ++*seen && check->dup == NULL)
        check->dup = g_strdup(name);
}

/**
 * on_object_end() - JsonParser::object-end: back to the enclosing object
 * @parser: the parser
 * @obj:    the finished object
 * @data:   the DupCheck
 */
static void on_object_end(JsonParser *parser, JsonObject *obj, gpointer data)
{
    DupCheck *check = data;

    if (check->members->len > 0)
        g_array_set_size(check->members, check->members->len - 1);
}

/**
 * repeated_key() - parse again, to name the key a document repeats
 * @text: a document qm_profile_json_parse() found a repeated key in
 * @len:  its length
 *
 * Only for the error message: the handlers cost about a third of a
 * parse, too much for every cache read on the launch path.
 *
 * Return: newly allocated key name, or NULL
 */
static char *repeated_key(const char *text, gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GArray) members = g_array_new(FALSE, FALSE, sizeof(guint));
    DupCheck check = {.members = members};

    g_signal_connect(parser, "object-start", G_CALLBACK(on_object_start),
                     &check);
    g_signal_connect(parser, "object-member", G_CALLBACK(on_object_member),
                     &check);
    g_signal_connect(parser, "object-end", G_CALLBACK(on_object_end), &check);
    json_parser_load_from_data(parser, text, (gssize)len, NULL);
    return check.dup;
}

/**
 * count_members() - members held by every object in a parsed document
 * @node: document or part of it
 *
 * Return: the sum of json_object_get_size() over all objects
 */
static gsize count_members(JsonNode *node)
{
    gsize n = 0;

    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *obj = json_node_get_object(node);
        JsonObjectIter iter;
        JsonNode *member;

        n = json_object_get_size(obj);
        json_object_iter_init(&iter, obj);
        while (json_object_iter_next(&iter, NULL, &member))
            n += count_members(member);
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *array = json_node_get_array(node);

        for (guint i = 0; i < json_array_get_length(array); i++)
            n += count_members(json_array_get_element(array, i));
    }
    return n;
}

/**
 * qm_profile_json_scan() - how deep JSON text nests, and how many object
 *                          members it writes, brackets and colons inside
 *                          strings aside
 * @text:       the bytes
 * @len:        their length
 * @first_only: stop where the first top-level value closes
 * @closed_at:  if not NULL, set to the offset just past the bracket that
 *              closes the first top-level value, 0 if none does
 * @members:    if not NULL, set to the number of ':' outside strings in
 *              the first top-level value (in all of @text if @closed_at
 *              is NULL), i.e. of object members written there
 *
 * Cheap enough to run before json-glib, and the way to cut a stream of
 * concatenated documents without parsing it.
 *
 * Return: the deepest nesting seen (within the first value if
 * @first_only)
 */
gsize qm_profile_json_scan(const char *text, gsize len, gboolean first_only,
                           gsize *closed_at, gsize *members)
{
    gboolean in_string = FALSE, escaped = FALSE;
    gsize depth = 0, deepest = 0, colons = 0;

    if (closed_at != NULL)
        *closed_at = 0;
    for (gsize i = 0; i < len; i++) {
        char c = text[i];

        if (in_string) {
            if (escaped)
                escaped = FALSE;
            else if (c == '\\')
                escaped = TRUE;
            else if (c == '"')
                in_string = FALSE;
        } else if (c == '"') {
            in_string = TRUE;
        } else if (c == ':') {
            colons += closed_at == NULL || *closed_at == 0;
        } else if (c == '{' || c == '[') {
            depth++;
            deepest = MAX(deepest, depth);
        } else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
            if (closed_at != NULL && *closed_at == 0)
                *closed_at = i + 1;
            if (first_only)
                break;
        }
    }
    if (members != NULL)
        *members = colons;
    return deepest;
}

/**
 * qm_profile_json_parse() - parse one untrusted JSON document strictly
 * @text:  the bytes (need not be NUL-terminated)
 * @len:   their length
 * @root:  set to the document, never NULL on success (json_node_unref())
 * @error: set with QM_ERROR_PROTOCOL
 *
 * Stricter than json_parser_load_from_data() in two ways that matter for
 * bytes from a peer or a cache file: nesting is capped before json-glib,
 * which recurses once per level, can run out of stack, and a key repeated
 * within one object is refused instead of silently letting the last one
 * win - `"pcid": true, "pcid": false` has no honest meaning.  json-glib
 * keeps one member per key, so a repeat shows as objects holding fewer
 * members than the text writes.
 *
 * Return: TRUE on success
 */
gboolean qm_profile_json_parse(const char *text, gsize len, JsonNode **root,
                               GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    gsize end, written;

    if (qm_profile_json_scan(text, len, FALSE, &end, &written) >
        QM_PROFILE_JSON_MAX_DEPTH) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "nested deeper than %d levels", QM_PROFILE_JSON_MAX_DEPTH);
        return FALSE;
    }
    /* json-glib would parse a second document and keep only the first */
    for (gsize i = end; end > 0 && i < len; i++) {
        if (!g_ascii_isspace(text[i])) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "data after the JSON document at byte %zu", i);
            return FALSE;
        }
    }
    if (!json_parser_load_from_data(parser, text, (gssize)len, &local)) {
        g_set_error_literal(error, QM_ERROR, QM_ERROR_PROTOCOL, local->message);
        return FALSE;
    }
    /* an empty or all-blank text parses, with no root at all */
    if (json_parser_get_root(parser) == NULL) {
        g_set_error_literal(error, QM_ERROR, QM_ERROR_PROTOCOL,
                            "no JSON document");
        return FALSE;
    }
    if (count_members(json_parser_get_root(parser)) != written) {
        g_autofree char *dup = repeated_key(text, len);
        g_autofree char *shown = g_strescape(dup ? dup : "?", NULL);

        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "key \"%.64s\" appears twice in one object", shown);
        return FALSE;
    }
    *root = json_node_ref(json_parser_get_root(parser));
    return TRUE;
}

/**
 * qm_profile_json_strings() - add a JSON array of strings to a builder
 * @builder: builder positioned inside an object
 * @member:  member name
 * @names:   array of char *
 */
void qm_profile_json_strings(JsonBuilder *builder, const char *member,
                             GPtrArray *names)
{
    json_builder_set_member_name(builder, member);
    json_builder_begin_array(builder);
    for (guint i = 0; i < names->len; i++)
        json_builder_add_string_value(builder, g_ptr_array_index(names, i));
    json_builder_end_array(builder);
}

/**
 * add_featset() - add a feature set as a sorted JSON array
 * @builder: builder positioned inside an object
 * @member:  member name
 * @set:     feature set
 */
static void add_featset(JsonBuilder *builder, const char *member,
                        const QmFeatureSet *set)
{
    g_autoptr(GPtrArray) names = qm_featset_sorted(set);

    qm_profile_json_strings(builder, member, names);
}

/**
 * qm_profile_json_nullable_string() - add a string member, or null
 * @builder: builder positioned inside an object
 * @member:  member name
 * @value:   string, or NULL for JSON null
 */
void qm_profile_json_nullable_string(JsonBuilder *builder, const char *member,
                                     const char *value)
{
    json_builder_set_member_name(builder, member);
    if (value != NULL)
        json_builder_add_string_value(builder, value);
    else
        json_builder_add_null_value(builder);
}

/**
 * add_models() - add the cpu-models member
 * @builder: builder positioned inside an object
 * @models:  QmCpuModel array
 */
static void add_models(JsonBuilder *builder, GPtrArray *models)
{
    json_builder_set_member_name(builder, "cpu-models");
    json_builder_begin_array(builder);
    for (guint i = 0; i < models->len; i++) {
        const QmCpuModel *model = g_ptr_array_index(models, i);

        json_builder_begin_object(builder);
        qm_profile_json_nullable_string(builder, "name", model->name);
        qm_profile_json_nullable_string(builder, "alias-of", model->alias_of);
        qm_profile_json_strings(builder, "unavailable-features",
                                model->unavailable);
        json_builder_set_member_name(builder, "unnamed-unavailable");
        json_builder_add_boolean_value(builder, model->unnamed_unavailable);
        json_builder_set_member_name(builder, "migration-safe");
        json_builder_add_boolean_value(builder, model->migration_safe);
        json_builder_set_member_name(builder, "deprecated");
        json_builder_add_boolean_value(builder, model->deprecated);
        if (model->features != NULL)
            add_featset(builder, "features", model->features);
        json_builder_end_object(builder);
    }
    json_builder_end_array(builder);
}

/**
 * add_machines() - add the machines member
 * @builder:  builder positioned inside an object
 * @machines: QmMachine array
 */
static void add_machines(JsonBuilder *builder, GPtrArray *machines)
{
    json_builder_set_member_name(builder, "machines");
    json_builder_begin_array(builder);
    for (guint i = 0; i < machines->len; i++) {
        const QmMachine *machine = g_ptr_array_index(machines, i);

        json_builder_begin_object(builder);
        qm_profile_json_nullable_string(builder, "name", machine->name);
        qm_profile_json_nullable_string(builder, "alias", machine->alias);
        json_builder_set_member_name(builder, "default");
        json_builder_add_boolean_value(builder, machine->is_default);
        qm_profile_json_nullable_string(builder, "default-cpu",
                                        machine->default_cpu);
        json_builder_end_object(builder);
    }
    json_builder_end_array(builder);
}

/**
 * qm_profile_to_json() - a profile as one JSON object
 * @profile: host profile
 *
 * The object's members are documented in qemu-mig(1) under JSON OUTPUT.
 *
 * Return: new JSON node; free with json_node_unref()
 */
JsonNode *qm_profile_to_json(const QmProfile *profile)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();

    json_builder_begin_object(builder);
    qm_profile_json_nullable_string(builder, "name", profile->name);
    qm_profile_json_nullable_string(builder, "vendor", profile->vendor);
    json_builder_set_member_name(builder, "family");
    json_builder_add_int_value(builder, profile->family);
    json_builder_set_member_name(builder, "model");
    json_builder_add_int_value(builder, profile->model);
    json_builder_set_member_name(builder, "stepping");
    json_builder_add_int_value(builder, profile->stepping);
    qm_profile_json_nullable_string(builder, "model-id", profile->model_id);
    json_builder_set_member_name(builder, "phys-bits");
    json_builder_add_int_value(builder, profile->phys_bits);
    qm_profile_json_nullable_string(builder, "qemu-version",
                                    profile->qemu_version);
    qm_profile_json_nullable_string(builder, "qemu-package",
                                    profile->qemu_package);
    json_builder_set_member_name(builder, "kvm");
    json_builder_add_boolean_value(builder, profile->kvm);
    qm_profile_json_nullable_string(builder, "probe-method",
                                    profile->probe_method);
    json_builder_set_member_name(builder, "probed-at");
    json_builder_add_int_value(builder, profile->probed_at);
    qm_profile_json_nullable_string(builder, "cpu-brand", profile->cpu_brand);
    add_featset(builder, "features", profile->features);
    add_featset(builder, "known-features", profile->known);
    add_featset(builder, "unmigratable-features", profile->unmigratable);
    json_builder_set_member_name(builder, "tsc-hz");
    json_builder_add_int_value(builder, profile->tsc_hz);
    for (gsize i = 0; i < qm_profile_n_values; i++) {
        json_builder_set_member_name(builder, qm_profile_values[i].member);
        json_builder_add_int_value(
            builder,
            G_STRUCT_MEMBER(gint64, profile, qm_profile_values[i].offset));
    }
    json_builder_set_member_name(builder, "guest-phys-bits");
    json_builder_add_int_value(builder, profile->guest_phys_bits);
    add_featset(builder, "cpu-props", profile->props);
    if (profile->cpu_models != NULL)
        add_models(builder, profile->cpu_models);
    if (profile->machines != NULL)
        add_machines(builder, profile->machines);
    json_builder_end_object(builder);
    return json_builder_get_root(builder);
}

/**
 * get_string() - optional string member
 * @obj:    JSON object
 * @member: member name
 *
 * Return: newly allocated copy, or NULL when absent, null or not a string
 */
static char *get_string(JsonObject *obj, const char *member)
{
    return g_strdup(
        qm_profile_json_string(json_object_get_member(obj, member)));
}

/**
 * check_types() - optional members are absent, null or of the given type
 * @obj:     JSON object
 * @members: member names
 * @types:   their GTypes (G_TYPE_STRING, G_TYPE_INT64, G_TYPE_BOOLEAN)
 * @n:       number of members
 * @error:   set naming the first member of the wrong type
 *
 * json_object_get_*_member_with_default() silently turns "6" into 0 and
 * raises a CRITICAL on an object or array: a hand-edited profile must be
 * refused instead.
 *
 * Return: TRUE when every member is acceptable
 */
static gboolean check_types(JsonObject *obj, const char *const *members,
                            const GType *types, gsize n, GError **error)
{
    for (gsize i = 0; i < n; i++) {
        JsonNode *node = json_object_get_member(obj, members[i]);

        if (node == NULL || JSON_NODE_HOLDS_NULL(node))
            continue;
        if (JSON_NODE_HOLDS_VALUE(node) &&
            json_node_get_value_type(node) == types[i])
            continue;
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "profile member '%s' is not a %s", members[i],
                    types[i] == G_TYPE_STRING  ? "string"
                    : types[i] == G_TYPE_INT64 ? "integer"
                                               : "boolean");
        return FALSE;
    }
    return TRUE;
}

/**
 * array_or_absent() - an optional member that, when present, is an array
 * @obj:    JSON object
 * @member: member name
 * @array:  where to store the array, or NULL when absent or null
 * @error:  set when the member is of another type
 *
 * Return: TRUE on success
 */
static gboolean array_or_absent(JsonObject *obj, const char *member,
                                JsonArray **array, GError **error)
{
    JsonNode *node = json_object_get_member(obj, member);

    *array = NULL;
    if (node == NULL || JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    if (!JSON_NODE_HOLDS_ARRAY(node)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "profile member '%s' is not an array", member);
        return FALSE;
    }
    *array = json_node_get_array(node);
    return TRUE;
}

/**
 * get_array() - optional array member, type-checked
 * @obj:    JSON object
 * @member: member name
 *
 * json_object_get_array_member() warns on a wrong type; a hand-edited
 * profile must be an error, not a critical warning.
 *
 * Return: the array (borrowed), or NULL when absent or not an array
 */
static JsonArray *get_array(JsonObject *obj, const char *member)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return NULL;
    return json_node_get_array(node);
}

/**
 * load_names() - read a JSON array of valid canonical names
 * @obj:    JSON object holding the array
 * @member: member name
 * @add:    called for each name
 * @data:   passed to @add
 * @error:  set when a name is missing or not canonical
 *
 * Return: TRUE on success
 */
static gboolean load_names(JsonObject *obj, const char *member,
                           void (*add)(gpointer data, const char *name),
                           gpointer data, GError **error)
{
    JsonArray *array = get_array(obj, member);

    if (array == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "profile has no '%s' array", member);
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *elem = json_array_get_element(array, i);
        const char *name = qm_profile_json_string(elem);
        g_autofree char *canon = qm_feature_canon(name);

        if (canon == NULL || strcmp(canon, name) != 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "profile member '%s' holds a non-canonical name",
                        member);
            return FALSE;
        }
        add(data, name);
    }
    return TRUE;
}

/**
 * add_to_set() - load_names() callback filling a QmFeatureSet
 * @data: the set
 * @name: canonical name
 */
static void add_to_set(gpointer data, const char *name)
{
    qm_featset_add(data, name);
}

/**
 * add_to_array() - load_names() callback filling a GPtrArray of char *
 * @data: the array
 * @name: canonical name
 */
static void add_to_array(gpointer data, const char *name)
{
    g_ptr_array_add(data, g_strdup(name));
}

/**
 * load_models() - read the cpu-models member back
 * @profile: profile to fill
 * @array:   JSON array written by add_models()
 * @error:   set on malformed entries
 *
 * Return: TRUE on success
 */
static gboolean load_models(QmProfile *profile, JsonArray *array,
                            GError **error)
{
    static const char *const model_members[] = {
        "name",           "alias-of",   "unnamed-unavailable",
        "migration-safe", "deprecated",
    };
    static const GType model_types[] = {
        G_TYPE_STRING,  G_TYPE_STRING,  G_TYPE_BOOLEAN,
        G_TYPE_BOOLEAN, G_TYPE_BOOLEAN,
    };

    profile->cpu_models =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_cpu_model_free);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *node = json_array_get_element(array, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
        QmCpuModel *model;

        if (obj == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "profile cpu-models entry %u is not an object", i);
            return FALSE;
        }
        if (!check_types(obj, model_members, model_types,
                         G_N_ELEMENTS(model_members), error))
            return FALSE;
        model = g_new0(QmCpuModel, 1);
        g_ptr_array_add(profile->cpu_models, model);
        model->name = get_string(obj, "name");
        model->alias_of = get_string(obj, "alias-of");
        model->unavailable = g_ptr_array_new_with_free_func(g_free);
        model->unnamed_unavailable =
            json_object_get_boolean_member_with_default(
                obj, "unnamed-unavailable", FALSE);
        model->migration_safe = json_object_get_boolean_member_with_default(
            obj, "migration-safe", FALSE);
        model->deprecated = json_object_get_boolean_member_with_default(
            obj, "deprecated", FALSE);
        if (model->name == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "profile cpu-models entry %u has no name", i);
            return FALSE;
        }
        /* as wrapper/qmp.c checks them: these reach -cpu */
        if (!qm_feature_model_name_valid(model->name, model->alias_of)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "profile cpu-models entry %u has a name with "
                        "characters outside [A-Za-z0-9._-]",
                        i);
            return FALSE;
        }
        if (!load_names(obj, "unavailable-features", add_to_array,
                        model->unavailable, error))
            return FALSE;
        if (json_object_has_member(obj, "features")) {
            model->features = qm_featset_new();
            if (!load_names(obj, "features", add_to_set, model->features,
                            error))
                return FALSE;
        }
    }
    return TRUE;
}

/**
 * load_machines() - read the machines member back
 * @profile: profile to fill
 * @array:   JSON array written by add_machines()
 * @error:   set on malformed entries
 *
 * Return: TRUE on success
 */
static gboolean load_machines(QmProfile *profile, JsonArray *array,
                              GError **error)
{
    static const char *const machine_members[] = {"name", "alias", "default",
                                                  "default-cpu"};
    static const GType machine_types[] = {G_TYPE_STRING, G_TYPE_STRING,
                                          G_TYPE_BOOLEAN, G_TYPE_STRING};

    profile->machines =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_machine_free);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *node = json_array_get_element(array, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
        g_autofree char *name = obj != NULL ? get_string(obj, "name") : NULL;
        QmMachine *machine;

        if (name == NULL ||
            !check_types(obj, machine_members, machine_types,
                         G_N_ELEMENTS(machine_members), error)) {
            if (error != NULL && *error == NULL)
                g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                            "profile machines entry %u is not an object "
                            "with a name",
                            i);
            return FALSE;
        }
        machine = g_new0(QmMachine, 1);
        machine->name = g_steal_pointer(&name);
        machine->alias = get_string(obj, "alias");
        machine->is_default =
            json_object_get_boolean_member_with_default(obj, "default", FALSE);
        machine->default_cpu = get_string(obj, "default-cpu");
        g_ptr_array_add(profile->machines, machine);
        /* as wrapper/qmp.c checks them: these reach -machine and -cpu */
        if (!qm_feature_model_name_valid(machine->name, machine->alias) ||
            (machine->default_cpu != NULL &&
             !qm_feature_model_name_valid(machine->default_cpu, NULL))) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "profile machines entry %u has a name with "
                        "characters outside [A-Za-z0-9._-]",
                        i);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * load_values() - read the host model's numbers back
 * @profile: profile to fill
 * @obj:     the profile's JSON object
 * @error:   set when one is missing, not an integer or out of range
 *
 * They are written into -cpu values, so a hand-edited or damaged entry
 * must not smuggle in a negative or oversized number: -1 (unknown) or
 * 0 to the property's maximum.
 *
 * Return: TRUE on success
 */
static gboolean load_values(QmProfile *profile, JsonObject *obj, GError **error)
{
    for (gsize i = 0; i <= qm_profile_n_values; i++) {
        const char *member = i < qm_profile_n_values
                                 ? qm_profile_values[i].member
                                 : "guest-phys-bits";
        gint64 max = i < qm_profile_n_values ? qm_profile_values[i].max : 64;
        gint64 *value =
            i < qm_profile_n_values
                ? &G_STRUCT_MEMBER(gint64, profile, qm_profile_values[i].offset)
                : &profile->guest_phys_bits;
        JsonNode *node = json_object_get_member(obj, member);

        if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
            json_node_get_value_type(node) != G_TYPE_INT64 ||
            json_node_get_int(node) < -1 || json_node_get_int(node) > max) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "profile member '%s' is missing or not an integer "
                        "from -1 to %" G_GINT64_FORMAT,
                        member, max);
            return FALSE;
        }
        *value = json_node_get_int(node);
    }
    return TRUE;
}

/**
 * qm_profile_from_json() - read back what qm_profile_to_json() wrote
 * @node:  JSON node
 * @error: set when the node is not a well-formed profile
 *
 * Names are re-validated: a profile file is input like any other.
 *
 * Return: new profile, or NULL on error
 */
QmProfile *qm_profile_from_json(JsonNode *node, GError **error)
{
    static const char *const profile_members[] = {
        "name",         "vendor",    "family",       "model",        "stepping",
        "model-id",     "phys-bits", "qemu-version", "qemu-package", "kvm",
        "probe-method", "probed-at", "cpu-brand",    "tsc-hz",
    };
    static const GType profile_types[] = {
        G_TYPE_STRING, G_TYPE_STRING,  G_TYPE_INT64,  G_TYPE_INT64,
        G_TYPE_INT64,  G_TYPE_STRING,  G_TYPE_INT64,  G_TYPE_STRING,
        G_TYPE_STRING, G_TYPE_BOOLEAN, G_TYPE_STRING, G_TYPE_INT64,
        G_TYPE_STRING, G_TYPE_INT64,
    };
    JsonArray *models, *machines, *unmigratable;
    JsonObject *obj;
    g_autoptr(QmProfile) profile = NULL;
    g_autofree char *name = NULL;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "profile is not a JSON object");
        return NULL;
    }
    obj = json_node_get_object(node);
    if (!check_types(obj, profile_members, profile_types,
                     G_N_ELEMENTS(profile_members), error))
        return NULL;
    name = get_string(obj, "name");
    if (name == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL, "profile has no name");
        return NULL;
    }
    profile = qm_profile_new(name);
    profile->vendor = get_string(obj, "vendor");
    profile->family = json_object_get_int_member_with_default(obj, "family", 0);
    profile->model = json_object_get_int_member_with_default(obj, "model", 0);
    profile->stepping =
        json_object_get_int_member_with_default(obj, "stepping", 0);
    profile->model_id = get_string(obj, "model-id");
    profile->phys_bits =
        json_object_get_int_member_with_default(obj, "phys-bits", 0);
    profile->qemu_version = get_string(obj, "qemu-version");
    profile->qemu_package = get_string(obj, "qemu-package");
    profile->kvm =
        json_object_get_boolean_member_with_default(obj, "kvm", FALSE);
    profile->probe_method = get_string(obj, "probe-method");
    profile->probed_at =
        json_object_get_int_member_with_default(obj, "probed-at", 0);
    profile->cpu_brand = get_string(obj, "cpu-brand");
    profile->tsc_hz = json_object_get_int_member_with_default(obj, "tsc-hz", 0);
    if (!load_values(profile, obj, error))
        return NULL;
    if (profile->vendor == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "profile of %s has no vendor", name);
        return NULL;
    }
    if (!load_names(obj, "features", add_to_set, profile->features, error) ||
        !load_names(obj, "known-features", add_to_set, profile->known, error) ||
        !load_names(obj, "cpu-props", add_to_set, profile->props, error))
        return NULL;
    if (!array_or_absent(obj, "cpu-models", &models, error) ||
        !array_or_absent(obj, "machines", &machines, error) ||
        !array_or_absent(obj, "unmigratable-features", &unmigratable, error))
        return NULL;
    if (unmigratable != NULL &&
        !load_names(obj, "unmigratable-features", add_to_set,
                    profile->unmigratable, error))
        return NULL;
    if (models != NULL && !load_models(profile, models, error))
        return NULL;
    if (machines != NULL && !load_machines(profile, machines, error))
        return NULL;
    return g_steal_pointer(&profile);
}
