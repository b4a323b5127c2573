/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the probe's QMP conversation - what is sent, and turning what
 * comes back into a host profile.
 *
 * Every reply is untrusted: it comes from a peer over the network and its
 * feature names end up on QEMU's command line.  Anything unexpected is a
 * QM_ERROR_PROTOCOL error naming the host, never a guess.
 */
#include <string.h>

#include "error.h"
#include "profile.h"
#include "feature.h"
#include "qmp.h"

/*
 * The whole conversation is written at once: QEMU reads the monitor's
 * commands in order and answers each before reading the next, so one
 * round trip is enough even over a slow SSH link.  The ids both match
 * replies to requests and are the ids libvirt's capture files use.
 */
static const char probe_request[] =
    "{\"execute\": \"qmp_capabilities\", \"id\": \"capabilities\"}\n"
    "{\"execute\": \"query-version\", \"id\": \"version\"}\n"
    "{\"execute\": \"query-kvm\", \"id\": \"kvm\"}\n"
    "{\"execute\": \"query-cpu-model-expansion\", \"arguments\": "
    "{\"type\": \"full\", \"model\": {\"name\": \"host\"}}, "
    "\"id\": \"model-expansion\"}\n"
    "{\"execute\": \"query-cpu-definitions\", \"id\": \"definitions\"}\n"
    "{\"execute\": \"query-machines\", \"id\": \"machines\"}\n"
    /* libvirt's trick: what migratable=off adds is what cannot migrate */
    "{\"execute\": \"query-cpu-model-expansion\", \"arguments\": "
    "{\"type\": \"full\", \"model\": {\"name\": \"host\", \"props\": "
    "{\"migratable\": false}}}, \"id\": \"model-expansion-all\"}\n"
    "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
    "\"/machine/unattached/device[0]\", \"property\": \"phys-bits\"}, "
    "\"id\": \"phys-bits\"}\n"
    "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
    "\"/machine/unattached/device[0]\", \"property\": \"tsc-frequency\"}, "
    "\"id\": \"tsc-frequency\"}\n"
    /* QEMU 9.1+ takes it from KVM at realize; an older one has none */
    "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
    "\"/machine/unattached/device[0]\", \"property\": \"guest-phys-bits\"}, "
    "\"id\": \"guest-phys-bits\"}\n"
    "{\"execute\": \"quit\", \"id\": \"quit\"}\n";

static const char *const reply_order[] = {
    "capabilities",        "version",     "kvm",
    "model-expansion",     "definitions", "machines",
    "model-expansion-all", "phys-bits",   "tsc-frequency",
    "guest-phys-bits",     "quit",
};

/*
 * A paused q35 guest with one vCPU of model "base" (no CPUID features at
 * all, so no host quirk such as QEMU 7.2 failing to set MSR 0x10a on
 * nested AMD can bite) and 16 MiB: KVM then reports what only a vCPU can
 * tell - the host's TSC frequency, and with host-phys-bits its physical
 * address width (lm/pae make QEMU use it rather than 32) - while the host
 * model is computed exactly as for a real guest.  ~40 ms more than
 * -machine none, once per cache refresh.
 */
static const char *const probe_argv[] = {
    "-machine",    "q35,accel=kvm",
    "-cpu",        "base,lm=on,pae=on,host-phys-bits=on",
    "-m",          "16",
    "-nodefaults", "-nographic",
    "-S",          "-qmp",
    "stdio",       NULL,
};

/**
 * qm_qmp_request() - the QMP commands a probe writes to QEMU's stdin
 *
 * Return: static NUL-terminated text, one command per line
 */
const char *qm_qmp_request(void)
{
    return probe_request;
}

/**
 * qm_qmp_probe_argv() - QEMU arguments that start a probe
 *
 * Return: static NULL-terminated array (QEMU binary not included)
 */
const char *const *qm_qmp_probe_argv(void)
{
    return probe_argv;
}

/**
 * printable() - a string safe to put inside an error message
 * @s:   untrusted bytes
 * @len: length, or -1 for NUL-terminated
 *
 * Return: newly allocated string with control and non-ASCII bytes escaped
 */
static char *printable(const char *s, gssize len)
{
    g_autofree char *copy = g_strndup(s, len < 0 ? strlen(s) : (gsize)len);
    g_autofree char *escaped = g_strescape(copy, NULL);

    if (strlen(escaped) > 80)
        return g_strdup_printf("%.77s...", escaped);
    return g_steal_pointer(&escaped);
}

/**
 * qm_qmp_find_greeting() - where QEMU's output starts on a peer
 * @buf:   what the peer's command wrote on stdout
 * @len:   its length
 * @noise: where to store what came before the greeting, escaped and cut
 *         short for a message, or NULL when nothing did
 *
 * A peer runs the probe through the remote user's login shell, and the
 * shell's startup files (Debian's bash reads ~/.bashrc for ssh commands,
 * sshd runs ~/.ssh/rc) often print a banner, a fortune, "Welcome!".  QEMU
 * writes its QMP greeting first of all, so whatever precedes the first
 * {"QMP": is the shell's: skipped, up to QM_QMP_MAX_NOISE bytes.  Found
 * nowhere within that bound, nothing is skipped and the parser says what
 * is wrong with the output.
 *
 * Return: the offset of the greeting (0 when the output starts with it or
 * holds none)
 */
gsize qm_qmp_find_greeting(const char *buf, gsize len, char **noise)
{
    static const char greeting[] = "{\"QMP\":";
    gsize window = MIN(len, QM_QMP_MAX_NOISE + sizeof(greeting) - 1);
    g_autofree char *text = NULL;
    const char *at;
    gsize offset;

    *noise = NULL;
    /* A peer that printed nothing leaves @buf NULL: memmem() wants none */
    if (len == 0)
        return 0;
    at = memmem(buf, window, greeting, sizeof(greeting) - 1);
    offset = at != NULL ? (gsize)(at - buf) : 0;
    if (offset == 0)
        return 0;
    text = g_strstrip(g_strndup(buf, MIN(offset, 200)));
    *noise = printable(text, -1);
    return offset;
}

/**
 * qm_qmp_split() - split a QMP byte stream into JSON documents
 * @buf:   the bytes QEMU wrote
 * @len:   their length
 * @docs:  filled with one JsonNode per document (free with
 *         g_ptr_array_unref())
 * @error: set when the stream is malformed or ends inside a document
 *
 * QEMU writes one document per line, but libvirt's captures are
 * pretty-printed and concatenated, so documents are delimited by bracket
 * depth (outside strings), not by newlines.
 *
 * Return: TRUE on success
 */
gboolean qm_qmp_split(const char *buf, gsize len, GPtrArray **docs,
                      GError **error)
{
    g_autoptr(GPtrArray) out =
        g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    gsize i = 0;

    if (len > QM_QMP_MAX_REPLY) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "QMP conversation is larger than %d bytes",
                    QM_QMP_MAX_REPLY);
        return FALSE;
    }

    while (i < len) {
        gsize start, doc_len;
        g_autoptr(GError) local = NULL;
        JsonNode *doc = NULL;

        while (i < len && g_ascii_isspace(buf[i]))
            i++;
        if (i == len)
            break;
        if (buf[i] != '{') {
            g_autofree char *what = printable(buf + i, MIN(len - i, 40));

            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "malformed QMP output at byte %zu: \"%s\"", i, what);
            return FALSE;
        }
        start = i;
        qm_profile_json_scan(buf + start, len - start, TRUE, &doc_len, NULL);
        if (doc_len == 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "QMP output is truncated (ends inside a reply "
                        "after %zu bytes)",
                        len);
            return FALSE;
        }
        i = start + doc_len;

        if (!qm_profile_json_parse(buf + start, i - start, &doc, &local)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "malformed QMP reply at byte %zu: %s", start,
                        local->message);
            return FALSE;
        }
        g_ptr_array_add(out, doc);
    }

    *docs = g_steal_pointer(&out);
    return TRUE;
}

/**
 * array_member() - an object member that must be an array
 * @obj:    JSON object, or NULL
 * @member: member name
 *
 * Return: the array (borrowed), or NULL
 */
static JsonArray *array_member(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    return node != NULL && JSON_NODE_HOLDS_ARRAY(node)
               ? json_node_get_array(node)
               : NULL;
}

/**
 * string_member() - an object member that must be a string
 * @obj:    JSON object, or NULL
 * @member: member name
 *
 * Return: the string (borrowed), or NULL
 */
static const char *string_member(JsonObject *obj, const char *member)
{
    return qm_profile_json_string(obj ? json_object_get_member(obj, member)
                                      : NULL);
}

/**
 * bool_member() - an optional object member that must be a boolean
 * @obj:    JSON object, or NULL
 * @member: member name
 * @value:  where to store it; left alone when the member is absent
 *
 * Return: FALSE when the member is present but not a boolean
 */
static gboolean bool_member(JsonObject *obj, const char *member,
                            gboolean *value)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    if (node == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return FALSE;
    *value = json_node_get_boolean(node);
    return TRUE;
}

/**
 * reply_error() - the error object of a QMP reply, if it failed
 * @reply: reply document
 *
 * Return: the "error" object (borrowed), or NULL for a successful reply
 */
static JsonObject *reply_error(JsonNode *reply)
{
    return qm_profile_json_object(json_node_get_object(reply), "error");
}

/**
 * reply_return() - the "return" member of a successful reply
 * @reply: reply document
 *
 * Return: the node (borrowed), or NULL
 */
static JsonNode *reply_return(JsonNode *reply)
{
    return json_object_get_member(json_node_get_object(reply), "return");
}

/**
 * parse_version() - QEMU version from a query-version reply or greeting
 * @profile: profile to fill
 * @version: object holding "qemu" {major, minor, micro} and "package"
 */
static void parse_version(QmProfile *profile, JsonObject *version)
{
    JsonObject *qemu = qm_profile_json_object(version, "qemu");
    gint64 major, minor, micro;
    const char *package = string_member(version, "package");

    if (qm_profile_json_int(qemu, "major", &major) &&
        qm_profile_json_int(qemu, "minor", &minor) &&
        qm_profile_json_int(qemu, "micro", &micro)) {
        g_free(profile->qemu_version);
        profile->qemu_version = g_strdup_printf(
            "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
            major, minor, micro);
    }
    if (package != NULL) {
        g_free(profile->qemu_package);
        profile->qemu_package = g_strdup(package);
    }
}

/**
 * parse_values() - the host model's numbers a decision pins
 * @profile: profile to fill
 * @props:   the expansion's props
 * @error:   set when one is present but of the wrong type or range
 *
 * Each may be absent (an older QEMU has no level-func7, 10.0 is the
 * first with avx10-version): the profile then says -1, unknown.
 *
 * Return: TRUE on success
 */
static gboolean parse_values(QmProfile *profile, JsonObject *props,
                             GError **error)
{
    for (gsize i = 0; i < qm_profile_n_values; i++) {
        const QmProfileValue *v = &qm_profile_values[i];
        JsonNode *node = json_object_get_member(props, v->prop);
        gint64 *value = &G_STRUCT_MEMBER(gint64, profile, v->offset);
        gboolean flag;

        if (node == NULL)
            continue;
        if (v->max == 1 && bool_member(props, v->prop, &flag)) {
            *value = flag;
            continue;
        }
        if (!qm_profile_json_int(props, v->prop, value) || *value < 0 ||
            *value > v->max) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: query-cpu-model-expansion reply has %s "
                        "outside 0 to %" G_GINT64_FORMAT,
                        profile->name, v->prop, v->max);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * parse_expansion() - host features and identity from the expansion
 * @profile: profile to fill
 * @ret:     "return" of query-cpu-model-expansion
 * @error:   set on a malformed reply or an unsafe name
 *
 * Return: TRUE on success
 */
static gboolean parse_expansion(QmProfile *profile, JsonNode *ret,
                                GError **error)
{
    JsonObject *model = qm_profile_json_object(
        ret && JSON_NODE_HOLDS_OBJECT(ret) ? json_node_get_object(ret) : NULL,
        "model");
    JsonObject *props = qm_profile_json_object(model, "props");
    g_autoptr(GList) members = NULL;

    if (props == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-cpu-model-expansion reply has no model props",
                    profile->name);
        return FALSE;
    }

    members = json_object_get_members(props);
    for (GList *l = members; l != NULL; l = l->next) {
        const char *name = l->data;
        JsonNode *value = json_object_get_member(props, name);
        g_autofree char *canon = qm_feature_canon(name);

        if (canon == NULL) {
            g_autofree char *what = printable(name, -1);

            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: QMP reply names CPU property \"%s\" with "
                        "characters outside [a-z0-9._-]",
                        profile->name, what);
            return FALSE;
        }
        if (!JSON_NODE_HOLDS_VALUE(value) ||
            json_node_get_value_type(value) != G_TYPE_BOOLEAN ||
            qm_feature_is_option(canon)) {
            /* a setting such as level or lmce: what this QEMU can be told */
            qm_featset_add(profile->props, canon);
            continue;
        }
        qm_featset_add(profile->known, canon);
        /*
         * Alias spellings are one QOM property, so they never disagree in
         * a real reply; should they, any "true" wins because QEMU would
         * accept the bit under that spelling.
         */
        if (json_node_get_boolean(value))
            qm_featset_add(profile->features, canon);
    }

    g_free(profile->vendor);
    profile->vendor = g_strdup(string_member(props, "vendor"));
    g_free(profile->model_id);
    profile->model_id = g_strdup(string_member(props, "model-id"));
    /* printed on terminals (--dry-run, explain): no escape sequences */
    for (const char *c = profile->model_id; c != NULL && *c; c++) {
        if (g_ascii_iscntrl(*c)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: query-cpu-model-expansion reply has a "
                        "model-id with control characters",
                        profile->name);
            return FALSE;
        }
    }
    /* written into -cpu as is: only what QEMU's properties accept */
    {
        const struct {
            const char *name;
            gint64 max;
            gint64 *value;
        } sig[] = {
            {"family", 0xff + 0xf, &profile->family},
            {"model", 0xff, &profile->model},
            {"stepping", 0xf, &profile->stepping},
        };

        for (gsize k = 0; k < G_N_ELEMENTS(sig); k++) {
            if (json_object_get_member(props, sig[k].name) != NULL &&
                (!qm_profile_json_int(props, sig[k].name, sig[k].value) ||
                 *sig[k].value < 0 || *sig[k].value > sig[k].max)) {
                g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                            "%s: query-cpu-model-expansion reply has %s "
                            "outside 0 to %" G_GINT64_FORMAT,
                            profile->name, sig[k].name, sig[k].max);
                return FALSE;
            }
        }
    }
    qm_profile_json_int(props, "phys-bits", &profile->phys_bits);
    if (!parse_values(profile, props, error))
        return FALSE;
    if (profile->vendor == NULL ||
        !qm_feature_model_name_valid(profile->vendor, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-cpu-model-expansion reply has no valid vendor",
                    profile->name);
        return FALSE;
    }
    return TRUE;
}

/**
 * cmp_str() - GCompareFunc for sorting char * arrays
 * @a: pointer to first string
 * @b: pointer to second string
 *
 * Return: strcmp() order
 */
static int cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/**
 * parse_model() - one query-cpu-definitions entry
 * @host:  host name, for messages
 * @entry: the entry
 * @error: set on a malformed entry or an unsafe name
 *
 * Real captures repeat names in unavailable-features (avx512f four times)
 * and old QEMU lists "" for bits it has no name for.  Repeats are merged;
 * "" is kept as a flag, because such a bit cannot be turned off by name and
 * the decision must refuse the model rather than silently lose it.
 *
 * Return: new model, or NULL on error
 */
static QmCpuModel *parse_model(const char *host, JsonNode *entry,
                               GError **error)
{
    JsonObject *obj =
        JSON_NODE_HOLDS_OBJECT(entry) ? json_node_get_object(entry) : NULL;
    const char *name = string_member(obj, "name");
    const char *alias = string_member(obj, "alias-of");
    JsonArray *unavailable = array_member(obj, "unavailable-features");
    g_autoptr(GHashTable) seen = qm_featset_new();
    QmCpuModel *model;

    if (!qm_feature_model_name_valid(name, alias)) {
        g_autofree char *what = printable(name ? name : "(none)", -1);

        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-cpu-definitions names CPU model \"%s\" with "
                    "characters outside [A-Za-z0-9._-]",
                    host, what);
        return NULL;
    }

    model = g_new0(QmCpuModel, 1);
    model->name = g_strdup(name);
    model->alias_of = g_strdup(alias);
    model->unavailable = g_ptr_array_new_with_free_func(g_free);
    if (!bool_member(obj, "migration-safe", &model->migration_safe) ||
        !bool_member(obj, "deprecated", &model->deprecated)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-cpu-definitions entry %s has a non-boolean "
                    "flag",
                    host, name);
        qm_cpu_model_free(model);
        return NULL;
    }
    for (guint i = 0; unavailable && i < json_array_get_length(unavailable);
         i++) {
        JsonNode *elem = json_array_get_element(unavailable, i);
        const char *feat = qm_profile_json_string(elem);
        g_autofree char *canon = NULL;

        if (feat != NULL && *feat == '\0') {
            model->unnamed_unavailable = TRUE;
            continue;
        }
        canon = qm_feature_canon(feat);
        if (canon == NULL) {
            g_autofree char *what = printable(feat ? feat : "(none)", -1);

            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: CPU model %s lists unavailable feature \"%s\" "
                        "with characters outside [a-z0-9._-]",
                        host, name, what);
            qm_cpu_model_free(model);
            return NULL;
        }
        if (!qm_featset_has(seen, canon)) {
            qm_featset_add(seen, canon);
            g_ptr_array_add(model->unavailable, g_steal_pointer(&canon));
        }
    }
    g_ptr_array_sort(model->unavailable, cmp_str);
    return model;
}

/**
 * parse_definitions() - CPU models from query-cpu-definitions
 * @profile: profile to fill
 * @ret:     "return" of the reply
 * @error:   set on a malformed reply
 *
 * Return: TRUE on success
 */
static gboolean parse_definitions(QmProfile *profile, JsonNode *ret,
                                  GError **error)
{
    JsonArray *list =
        ret && JSON_NODE_HOLDS_ARRAY(ret) ? json_node_get_array(ret) : NULL;
    g_autoptr(GPtrArray) models = NULL;

    if (list == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-cpu-definitions reply is not a list",
                    profile->name);
        return FALSE;
    }
    models = g_ptr_array_new_with_free_func((GDestroyNotify)qm_cpu_model_free);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        QmCpuModel *model =
            parse_model(profile->name, json_array_get_element(list, i), error);

        if (model == NULL)
            return FALSE;
        g_ptr_array_add(models, model);
    }
    profile->cpu_models = g_steal_pointer(&models);
    return TRUE;
}

/**
 * cpu_model_of() - the -cpu model a QOM CPU type name stands for
 * @type: "qemu64-x86_64-cpu", "486-x86_64-cpu", or NULL
 *
 * Return: newly allocated model name ("qemu64"), or NULL when @type is
 * NULL or not an x86 CPU type
 */
static char *cpu_model_of(const char *type)
{
    static const char *const suffixes[] = {"-x86_64-cpu", "-i386-cpu"};

    for (gsize i = 0; type != NULL && i < G_N_ELEMENTS(suffixes); i++) {
        if (g_str_has_suffix(type, suffixes[i]) &&
            strlen(type) > strlen(suffixes[i]))
            return g_strndup(type, strlen(type) - strlen(suffixes[i]));
    }
    return NULL;
}

/**
 * parse_machines() - machine types from query-machines
 * @profile: profile to fill
 * @ret:     "return" of the reply
 * @error:   set on a malformed reply
 *
 * Return: TRUE on success
 */
static gboolean parse_machines(QmProfile *profile, JsonNode *ret,
                               GError **error)
{
    JsonArray *list =
        ret && JSON_NODE_HOLDS_ARRAY(ret) ? json_node_get_array(ret) : NULL;
    g_autoptr(GPtrArray) machines = NULL;

    if (list == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: query-machines reply is not a list", profile->name);
        return FALSE;
    }
    machines = g_ptr_array_new_with_free_func((GDestroyNotify)qm_machine_free);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *entry = json_array_get_element(list, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(entry) ? json_node_get_object(entry) : NULL;
        const char *name = string_member(obj, "name");
        const char *alias = string_member(obj, "alias");
        QmMachine *machine;

        if (!qm_feature_model_name_valid(name, alias)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: query-machines names a machine type with "
                        "characters outside [A-Za-z0-9._-]",
                        profile->name);
            return FALSE;
        }
        machine = g_new0(QmMachine, 1);
        machine->name = g_strdup(name);
        machine->alias = g_strdup(alias);
        machine->default_cpu =
            cpu_model_of(string_member(obj, "default-cpu-type"));
        if (machine->default_cpu != NULL &&
            !qm_feature_model_name_valid(machine->default_cpu, NULL)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: query-machines gives %s a default CPU type with "
                        "characters outside [A-Za-z0-9._-]",
                        profile->name, name);
            qm_machine_free(machine);
            return FALSE;
        }
        if (!bool_member(obj, "is-default", &machine->is_default)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: query-machines entry %s has a non-boolean "
                        "is-default",
                        profile->name, name);
            qm_machine_free(machine);
            return FALSE;
        }
        g_ptr_array_add(machines, machine);
    }
    profile->machines = g_steal_pointer(&machines);
    return TRUE;
}

/**
 * int_reply() - the integer a successful reply returned
 * @reply: reply, or NULL
 * @value: where to store it
 *
 * Return: TRUE when @reply succeeded with an integer
 */
static gboolean int_reply(JsonNode *reply, gint64 *value)
{
    JsonNode *ret = reply ? reply_return(reply) : NULL;

    if (reply == NULL || reply_error(reply) != NULL || ret == NULL ||
        !JSON_NODE_HOLDS_VALUE(ret) ||
        json_node_get_value_type(ret) != G_TYPE_INT64)
        return FALSE;
    *value = json_node_get_int(ret);
    return TRUE;
}

/**
 * parse_vcpu_facts() - phys-bits, TSC frequency and unmigratable features
 * @prof:    profile to fill
 * @replies: id -> reply
 * @error:   set on a malformed migratable=off expansion
 *
 * All optional: captures and old QEMUs lack them, and the decision says
 * so when it needs one.
 *
 * Return: TRUE on success
 */
static gboolean parse_vcpu_facts(QmProfile *prof, GHashTable *replies,
                                 GError **error)
{
    JsonNode *all = g_hash_table_lookup(replies, "model-expansion-all");
    gint64 value;

    if (int_reply(g_hash_table_lookup(replies, "phys-bits"), &value) &&
        value > 0 && value <= 64)
        prof->phys_bits = value;
    if (int_reply(g_hash_table_lookup(replies, "tsc-frequency"), &value) &&
        value > 0)
        prof->tsc_hz = value;
    if (int_reply(g_hash_table_lookup(replies, "guest-phys-bits"), &value) &&
        value >= 0 && value <= 64)
        prof->guest_phys_bits = value;
    if (all != NULL && reply_error(all) == NULL) {
        g_autoptr(QmProfile) every = qm_profile_new(prof->name);
        g_autoptr(GPtrArray) names = NULL;

        if (!parse_expansion(every, reply_return(all), error))
            return FALSE;
        names = qm_featset_sorted(every->features);
        for (guint i = 0; i < names->len; i++) {
            const char *name = g_ptr_array_index(names, i);

            if (!qm_featset_has(prof->features, name))
                qm_featset_add(prof->unmigratable, name);
        }
    }
    return TRUE;
}

/**
 * qm_qmp_profile_from_replies() - build a profile from replies by id
 * @host:    host name for the profile and for messages
 * @replies: id -> reply JsonNode; "model-expansion" is required, "version",
 *           "kvm", "definitions" and "machines" are used when present
 * @profile: where to store the new profile
 * @error:   set when the host's QEMU cannot be used or a reply is bad
 *
 * Return: TRUE on success
 */
gboolean qm_qmp_profile_from_replies(const char *host, GHashTable *replies,
                                     QmProfile **profile, GError **error)
{
    g_autoptr(QmProfile) prof = qm_profile_new(host);
    JsonNode *expansion = g_hash_table_lookup(replies, "model-expansion");
    JsonNode *version = g_hash_table_lookup(replies, "version");
    JsonNode *kvm = g_hash_table_lookup(replies, "kvm");
    JsonNode *definitions = g_hash_table_lookup(replies, "definitions");
    JsonNode *machines = g_hash_table_lookup(replies, "machines");
    JsonObject *err;

    if (version != NULL && reply_error(version) == NULL) {
        JsonNode *ret = reply_return(version);

        if (ret != NULL && JSON_NODE_HOLDS_OBJECT(ret))
            parse_version(prof, json_node_get_object(ret));
    }

    if (expansion == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                    "%s: QEMU %s is too old: it does not answer "
                    "query-cpu-model-expansion%s",
                    host, prof->qemu_version ? prof->qemu_version : "",
                    g_hash_table_contains(replies, "feature-words")
                        ? " (only raw feature-words were recorded)"
                        : "");
        return FALSE;
    }
    err = reply_error(expansion);
    if (err != NULL) {
        const char *cls = string_member(err, "class");
        g_autofree char *desc =
            printable(string_member(err, "desc") ? string_member(err, "desc")
                                                 : "no description",
                      -1);

        if (g_strcmp0(cls, "CommandNotFound") == 0)
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU %s is too old: it does not support "
                        "query-cpu-model-expansion (QEMU 2.9 or newer needed)",
                        host, prof->qemu_version ? prof->qemu_version : "");
        else
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU cannot expand the host CPU model: %s", host,
                        desc);
        return FALSE;
    }
    if (!parse_expansion(prof, reply_return(expansion), error))
        return FALSE;

    /*
     * The probe starts QEMU with accel=kvm and no fallback, so getting
     * this far already means KVM opened; query-kvm double-checks it where
     * answered (a capture file has no such reply).
     */
    prof->kvm = TRUE;
    if (kvm != NULL && reply_error(kvm) == NULL) {
        JsonNode *ret = reply_return(kvm);
        JsonObject *obj = ret && JSON_NODE_HOLDS_OBJECT(ret)
                              ? json_node_get_object(ret)
                              : NULL;

        prof->kvm = FALSE;
        if (!bool_member(obj, "enabled", &prof->kvm)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: query-kvm reply has a non-boolean \"enabled\"",
                        host);
            return FALSE;
        }
        if (!prof->kvm) {
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU runs but KVM is not enabled", host);
            return FALSE;
        }
    }

    if (definitions != NULL && reply_error(definitions) == NULL &&
        !parse_definitions(prof, reply_return(definitions), error))
        return FALSE;
    if (!parse_vcpu_facts(prof, replies, error))
        return FALSE;
    if (machines != NULL && reply_error(machines) == NULL &&
        !parse_machines(prof, reply_return(machines), error))
        return FALSE;

    *profile = g_steal_pointer(&prof);
    return TRUE;
}

/**
 * split_lines() - split a live QMP stream into JSON documents
 * @buf:   the bytes QEMU wrote
 * @len:   their length
 * @docs:  filled with one JsonNode per line
 * @error: set on a malformed line, or a last line cut short
 *
 * A live QEMU writes exactly one document per line (ending in CRLF), so a
 * line that does not parse is malformed, and an unterminated last line
 * means the stream was cut: both are told apart for the message.
 *
 * Return: TRUE on success
 */
static gboolean split_lines(const char *buf, gsize len, GPtrArray **docs,
                            GError **error)
{
    g_autoptr(GPtrArray) out =
        g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    gsize start = 0;
    guint line = 0;

    if (len > QM_QMP_MAX_REPLY) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "QMP conversation is larger than %d bytes",
                    QM_QMP_MAX_REPLY);
        return FALSE;
    }
    while (start < len) {
        const char *nl = memchr(buf + start, '\n', len - start);
        gsize end = nl ? (gsize)(nl - buf) : len;
        g_autoptr(GPtrArray) one = NULL;
        g_autoptr(GError) local = NULL;
        gsize n = end - start;

        line++;
        while (n > 0 && g_ascii_isspace(buf[start + n - 1]))
            n--;
        if (n == 0) {
            start = end + 1;
            continue;
        }
        /* exactly one document per line: json-glib alone would silently
         * ignore a second one after the first */
        if (!qm_qmp_split(buf + start, n, &one, &local) || one->len != 1) {
            if (nl == NULL)
                g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                            "QMP output is truncated (line %u ends after "
                            "%zu bytes)",
                            line, len);
            else
                g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                            "malformed QMP reply on line %u: %s", line,
                            local ? local->message
                                  : "not exactly one JSON object");
            return FALSE;
        }
        g_ptr_array_add(out, json_node_ref(g_ptr_array_index(one, 0)));
        start = end + 1;
    }
    *docs = g_steal_pointer(&out);
    return TRUE;
}

/**
 * qm_qmp_parse_transcript() - turn a whole probe conversation into a profile
 * @host:    host name for the profile and for messages
 * @buf:     everything QEMU wrote to stdout
 * @len:     its length
 * @profile: where to store the new profile
 * @error:   set when the conversation is malformed, truncated, out of
 *           order, oversized, or the host's QEMU cannot be used
 *
 * QMP answers commands strictly in order, so a reply whose id is not the
 * next one expected means the stream cannot be trusted.  Events may be
 * interleaved anywhere and are skipped.
 *
 * Return: TRUE on success
 */
gboolean qm_qmp_parse_transcript(const char *host, const char *buf, gsize len,
                                 QmProfile **profile, GError **error)
{
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GHashTable) replies = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) local = NULL;
    gsize next = 0;
    JsonObject *greeting;

    if (!split_lines(buf, len, &docs, &local)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL, "%s: %s", host,
                    local->message);
        return FALSE;
    }
    if (docs->len == 0 || (greeting = qm_profile_json_object(
                               json_node_get_object(g_ptr_array_index(docs, 0)),
                               "QMP")) == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: QEMU did not greet with a QMP banner", host);
        return FALSE;
    }

    for (guint i = 1; i < docs->len; i++) {
        JsonNode *doc = g_ptr_array_index(docs, i);
        JsonObject *obj = json_node_get_object(doc);
        const char *id = string_member(obj, "id");

        if (json_object_has_member(obj, "event"))
            continue;
        if (id == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: QMP reply %u carries no id", host, i);
            return FALSE;
        }
        if (next >= G_N_ELEMENTS(reply_order) ||
            strcmp(id, reply_order[next]) != 0) {
            g_autofree char *what = printable(id, -1);

            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: QMP replies out of order: got \"%s\", expected "
                        "\"%s\"",
                        host, what,
                        next < G_N_ELEMENTS(reply_order) ? reply_order[next]
                                                         : "(nothing)");
            return FALSE;
        }
        g_hash_table_insert(replies, (char *)reply_order[next], doc);
        next++;
    }

    /* quit's own reply may be lost when QEMU exits first; all else counts. */
    if (next < G_N_ELEMENTS(reply_order) - 1) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    "%s: QMP conversation is truncated: no reply to %s", host,
                    reply_order[next]);
        return FALSE;
    }

    {
        g_autoptr(QmProfile) prof = NULL;
        JsonNode *version = g_hash_table_lookup(replies, "version");

        if (!qm_qmp_profile_from_replies(host, replies, &prof, error))
            return FALSE;
        if (prof->qemu_version == NULL || version == NULL)
            parse_version(prof, qm_profile_json_object(greeting, "version"));
        *profile = g_steal_pointer(&prof);
    }
    return TRUE;
}

/*
 * The model catalogue: what each named model has, asked of the local QEMU
 * in a run of its own once its models are known (-cpu auto ranks by it).
 * A model's definition does not depend on the host nor on the
 * accelerator, so -machine none (TCG, no KVM needed) is enough; it only
 * changes what an alias resolves to, and aliases are not asked.
 */
static const char *const models_argv[] = {
    "-machine", "none", "-nodefaults", "-nographic",
    "-S",       "-qmp", "stdio",       NULL,
};

/**
 * qm_qmp_models_argv() - QEMU arguments that start the catalogue run
 *
 * Return: static NULL-terminated array (QEMU binary not included)
 */
const char *const *qm_qmp_models_argv(void)
{
    return models_argv;
}

/**
 * asks_model() - is this model one the catalogue asks about?
 * @model: a query-cpu-definitions entry
 *
 * Return: TRUE for a versioned or unaliased named model
 */
static gboolean asks_model(const QmCpuModel *model)
{
    return model->alias_of == NULL && strcmp(model->name, "host") != 0 &&
           strcmp(model->name, "max") != 0 && strcmp(model->name, "base") != 0;
}

/**
 * qm_qmp_models_request() - the catalogue run's QMP conversation
 * @profile: the local profile, with its CPU models
 *
 * One static expansion per model, each with the id "model:NAME".  Names
 * were checked to be [A-Za-z0-9._-] when parsed, so they need no quoting.
 *
 * Return: newly allocated text, or NULL when there is nothing to ask
 */
char *qm_qmp_models_request(const QmProfile *profile)
{
    g_autoptr(GString) s = NULL;
    guint n = 0;

    if (profile->cpu_models == NULL)
        return NULL;
    s = g_string_new("{\"execute\": \"qmp_capabilities\"}\n");
    for (guint i = 0; i < profile->cpu_models->len; i++) {
        const QmCpuModel *m = g_ptr_array_index(profile->cpu_models, i);

        if (!asks_model(m))
            continue;
        g_string_append_printf(s,
                               "{\"execute\": \"query-cpu-model-expansion\", "
                               "\"arguments\": {\"type\": \"static\", "
                               "\"model\": {\"name\": \"%s\"}}, "
                               "\"id\": \"model:%s\"}\n",
                               m->name, m->name);
        n++;
    }
    g_string_append(s, "{\"execute\": \"quit\"}\n");
    return n > 0 ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

/**
 * qm_qmp_models_from_transcript() - give each model the features the
 *                                   catalogue run reported for it
 * @profile: the local profile
 * @buf:     what QEMU wrote
 * @len:     its length
 *
 * Only features @profile knows are kept (a static expansion also lists
 * family, model-id and the like); a model without a well-formed reply
 * keeps no feature list, so it is ranked without one.
 *
 * Return: the number of models that got their features
 */
guint qm_qmp_models_from_transcript(QmProfile *profile, const char *buf,
                                    gsize len)
{
    g_autoptr(GPtrArray) docs = NULL;
    guint n = 0;

    if (profile->cpu_models == NULL || !qm_qmp_split(buf, len, &docs, NULL))
        return 0;
    for (guint i = 0; i < docs->len; i++) {
        JsonNode *doc = g_ptr_array_index(docs, i);
        JsonObject *obj =
            JSON_NODE_HOLDS_OBJECT(doc) ? json_node_get_object(doc) : NULL;
        const char *id = obj ? string_member(obj, "id") : NULL;
        JsonObject *ret, *model, *props;
        QmCpuModel *m;
        g_autoptr(GList) names = NULL;

        if (id == NULL || !g_str_has_prefix(id, "model:"))
            continue;
        m = (QmCpuModel *)qm_profile_find_model(profile, id + strlen("model:"));
        ret = qm_profile_json_object(obj, "return");
        model = ret ? qm_profile_json_object(ret, "model") : NULL;
        props = model ? qm_profile_json_object(model, "props") : NULL;
        if (m == NULL || !asks_model(m) || props == NULL || m->features)
            continue;
        m->features = qm_featset_new();
        names = json_object_get_members(props);
        for (GList *l = names; l != NULL; l = l->next) {
            JsonNode *v = json_object_get_member(props, l->data);
            g_autofree char *canon = qm_feature_canon(l->data);

            if (canon != NULL && JSON_NODE_HOLDS_VALUE(v) &&
                json_node_get_value_type(v) == G_TYPE_BOOLEAN &&
                json_node_get_boolean(v) &&
                qm_featset_has(profile->known, canon))
                qm_featset_add(m->features, canon);
        }
        n++;
    }
    return n;
}
