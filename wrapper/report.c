/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what explain and probe print.  Builds strings only; main()
 * decides where they go.
 */
#include <string.h>

#include "report.h"
#include "shquote.h"

/**
 * origin_of() - where a launch got a profile: "probed now via ssh-qmp",
 *               "cache, 5m old", "stale cache, 2d old"
 * @profile: host profile
 *
 * Return: newly allocated text
 */
static char *origin_of(const QmProfile *profile)
{
    g_autofree char *age = qm_profile_age(profile);

    if (profile->source != NULL && strcmp(profile->source, "probe") != 0)
        return g_strdup_printf("%s, %s old", profile->source, age);
    return g_strdup_printf("probed now via %s",
                           profile->probe_method ? profile->probe_method : "?");
}

/**
 * host_line() - one readable line describing a host
 * @out:     string to append to
 * @profile: host profile
 * @groups:  host -> the config @group it came from, or NULL
 */
static void host_line(GString *out, const QmProfile *profile,
                      GHashTable *groups)
{
    const char *group = groups && profile->name
                            ? g_hash_table_lookup(groups, profile->name)
                            : NULL;
    g_autofree char *model_id =
        g_strstrip(g_strdup(profile->model_id ? profile->model_id : ""));
    g_autofree char *origin = origin_of(profile);

    g_string_append_printf(
        out,
        "  %-20s %-13s family %" G_GINT64_FORMAT " model %" G_GINT64_FORMAT
        " stepping %" G_GINT64_FORMAT "  \"%s\"  QEMU %s  %u features  "
        "(%s%s%s)\n",
        profile->name, profile->vendor ? profile->vendor : "?", profile->family,
        profile->model, profile->stepping, model_id,
        profile->qemu_version ? profile->qemu_version : "?",
        g_hash_table_size(profile->features), origin, group ? "; from @" : "",
        group ? group + 1 : "");
}

/**
 * join_lacking() - "hostB, hostC"
 * @lacking: host names
 *
 * Return: newly allocated string
 */
static char *join_lacking(GPtrArray *lacking)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < lacking->len; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "",
                               (char *)g_ptr_array_index(lacking, i));
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/**
 * qm_report_explain_text() - the human-readable decision
 * @local:        local profile
 * @peers:        peer profiles
 * @cpu_original: the user's -cpu value, or NULL
 * @decision:     the decision
 * @line:         final command as one shell line
 * @groups:       peer -> the config @group it came from, or NULL
 *
 * Return: newly allocated text
 */
char *qm_report_explain_text(const QmProfile *local, GPtrArray *peers,
                             const char *cpu_original,
                             const QmDecision *decision, const char *line,
                             GHashTable *groups)
{
    g_autoptr(GString) out = g_string_new("Hosts:\n");

    host_line(out, local, NULL);
    for (guint i = 0; i < peers->len; i++)
        host_line(out, g_ptr_array_index(peers, i), groups);

    g_string_append_printf(out, "\nCPU: %s%s (mode %s)\n",
                           cpu_original ? "-cpu " : "no -cpu, QEMU default ",
                           cpu_original ? cpu_original : decision->model,
                           decision->mode);
    if (decision->hidden->len == 0) {
        g_string_append(out, "Hidden features: none, every host provides "
                             "what the guest CPU needs\n");
    } else {
        g_string_append_printf(out, "Hidden features (%u):\n",
                               decision->hidden->len);
        for (guint i = 0; i < decision->hidden->len; i++) {
            const QmHidden *h = g_ptr_array_index(decision->hidden, i);
            g_autofree char *who = join_lacking(h->lacking);

            if (h->parent != NULL)
                g_string_append_printf(out, "  %-24s needs %s, which is off\n",
                                       h->name, h->parent);
            else
                g_string_append_printf(out, "  %-24s lacking on: %s\n", h->name,
                                       who);
        }
    }
    if (decision->settings->len > 0) {
        g_string_append(out, "Also set:\n");
        for (guint i = 0; i < decision->settings->len; i++)
            g_string_append_printf(
                out, "  %s\n",
                (char *)g_ptr_array_index(decision->settings, i));
    }
    if (decision->candidates->len > 0) {
        g_string_append(out, "-cpu auto candidates:\n");
        for (guint i = 0; i < decision->candidates->len; i++)
            g_string_append_printf(
                out, "  %s\n",
                (char *)g_ptr_array_index(decision->candidates, i));
    }
    g_string_append_printf(out, "Machine: %s\n",
                           decision->machine_value
                               ? decision->machine_value
                               : "as given (the same type on every host)");
    if (decision->warnings->len > 0) {
        g_string_append(out, "Warnings:\n");
        for (guint i = 0; i < decision->warnings->len; i++)
            g_string_append_printf(
                out, "  %s\n",
                (char *)g_ptr_array_index(decision->warnings, i));
    }
    g_string_append_printf(out, "\nCommand:\n  %s\n", line);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * add_host() - a host's object for explain --json
 * @builder: builder inside an array
 * @profile: host profile
 * @role:    "local" or "peer"
 * @groups:  host -> the config @group it came from, or NULL
 */
static void add_host(JsonBuilder *builder, const QmProfile *profile,
                     const char *role, GHashTable *groups)
{
    const char *group = groups && profile->name
                            ? g_hash_table_lookup(groups, profile->name)
                            : NULL;
    g_autoptr(JsonNode) node = qm_profile_to_json(profile);
    JsonObject *obj = json_node_get_object(node);

    /* explain shows what was decided from; the model and machine lists
     * are probe --json's business and would drown the answer. */
    json_object_remove_member(obj, "cpu-models");
    json_object_remove_member(obj, "machines");
    json_object_remove_member(obj, "known-features");
    json_object_set_string_member(obj, "role", role);
    if (group != NULL)
        json_object_set_string_member(obj, "group", group);
    json_object_set_string_member(obj, "source",
                                  profile->source ? profile->source : "probe");
    json_object_set_int_member(
        obj, "age-seconds",
        MAX(0, g_get_real_time() / G_USEC_PER_SEC - profile->probed_at));
    json_builder_add_value(builder, g_steal_pointer(&node));
}

/**
 * add_argv() - the "argv" member
 * @builder: builder inside an object
 * @argv:    NULL-terminated argv; words that are not UTF-8 get U+FFFD
 */
static void add_argv(JsonBuilder *builder, char *const *argv)
{
    json_builder_set_member_name(builder, "argv");
    json_builder_begin_array(builder);
    for (char *const *a = argv; *a; a++) {
        g_autofree char *valid = g_utf8_make_valid(*a, -1);

        json_builder_add_string_value(builder, valid);
    }
    json_builder_end_array(builder);
}

/**
 * to_json_text() - serialise a JSON node
 * @node: root node
 *
 * Return: newly allocated pretty-printed text with a final newline
 */
static char *to_json_text(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, node);
    text = json_generator_to_data(gen, NULL);
    return g_strconcat(text, "\n", NULL);
}

/**
 * qm_report_explain_json() - the decision as one JSON object
 * @local:        local profile
 * @peers:        peer profiles
 * @cpu_original: the user's -cpu value, or NULL
 * @decision:     the decision
 * @argv:         final command, NULL-terminated, QEMU path first
 * @line:         the same as one shell line
 * @groups:       peer -> the config @group it came from, or NULL
 *
 * Members: hosts (a peer from a config group has "group": "@NAME"), cpu {mode, model, original, final}, hidden [{feature,
 * lacking}], warnings, argv, command.  Strings that are not UTF-8 (QEMU
 * arguments may be anything) are made valid with U+FFFD; "command" keeps
 * the shell line, which is exact for ASCII.
 *
 * Return: newly allocated text
 */
char *qm_report_explain_json(const QmProfile *local, GPtrArray *peers,
                             const char *cpu_original,
                             const QmDecision *decision, char *const *argv,
                             const char *line, GHashTable *groups)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *line_utf8 = g_utf8_make_valid(line, -1);
    g_autofree char *orig =
        cpu_original ? g_utf8_make_valid(cpu_original, -1) : NULL;
    g_autofree char *final = NULL;

    if (decision->cpu_value != NULL)
        final = g_utf8_make_valid(decision->cpu_value, -1);
    else if (orig != NULL)
        final = g_strdup(orig);

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "hosts");
    json_builder_begin_array(builder);
    add_host(builder, local, "local", NULL);
    for (guint i = 0; i < peers->len; i++)
        add_host(builder, g_ptr_array_index(peers, i), "peer", groups);
    json_builder_end_array(builder);

    json_builder_set_member_name(builder, "cpu");
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "mode");
    json_builder_add_string_value(builder, decision->mode);
    json_builder_set_member_name(builder, "model");
    json_builder_add_string_value(builder, decision->model);
    json_builder_set_member_name(builder, "original");
    if (orig)
        json_builder_add_string_value(builder, orig);
    else
        json_builder_add_null_value(builder);
    json_builder_set_member_name(builder, "final");
    if (final)
        json_builder_add_string_value(builder, final);
    else
        json_builder_add_null_value(builder);
    json_builder_end_object(builder);

    json_builder_set_member_name(builder, "hidden");
    json_builder_begin_array(builder);
    for (guint i = 0; i < decision->hidden->len; i++) {
        const QmHidden *h = g_ptr_array_index(decision->hidden, i);

        json_builder_begin_object(builder);
        json_builder_set_member_name(builder, "feature");
        json_builder_add_string_value(builder, h->name);
        json_builder_set_member_name(builder, "lacking");
        json_builder_begin_array(builder);
        for (guint k = 0; k < h->lacking->len; k++)
            json_builder_add_string_value(builder,
                                          g_ptr_array_index(h->lacking, k));
        json_builder_end_array(builder);
        json_builder_set_member_name(builder, "needs");
        if (h->parent != NULL)
            json_builder_add_string_value(builder, h->parent);
        else
            json_builder_add_null_value(builder);
        json_builder_end_object(builder);
    }
    json_builder_end_array(builder);

    qm_profile_json_strings(builder, "absent", decision->absent);
    qm_profile_json_strings(builder, "settings", decision->settings);
    qm_profile_json_strings(builder, "candidates", decision->candidates);
    json_builder_set_member_name(builder, "machine");
    if (decision->machine_value != NULL)
        json_builder_add_string_value(builder, decision->machine_value);
    else
        json_builder_add_null_value(builder);
    json_builder_set_member_name(builder, "warnings");
    json_builder_begin_array(builder);
    for (guint i = 0; i < decision->warnings->len; i++)
        json_builder_add_string_value(builder,
                                      g_ptr_array_index(decision->warnings, i));
    json_builder_end_array(builder);

    add_argv(builder, argv);
    json_builder_set_member_name(builder, "command");
    json_builder_add_string_value(builder, line_utf8);
    json_builder_end_object(builder);

    root = json_builder_get_root(builder);
    return to_json_text(root);
}

/**
 * qm_report_profiles_text() - probe's readable output
 * @profiles: QmProfile array
 *
 * Return: newly allocated text
 */
char *qm_report_profiles_text(GPtrArray *profiles)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (guint i = 0; i < profiles->len; i++) {
        const QmProfile *p = g_ptr_array_index(profiles, i);
        g_autoptr(GPtrArray) features = qm_featset_sorted(p->features);
        g_autofree char *model_id =
            g_strstrip(g_strdup(p->model_id ? p->model_id : ""));

        g_string_append_printf(
            out,
            "%s:\n  vendor      %s\n  signature   family %" G_GINT64_FORMAT
            " model %" G_GINT64_FORMAT " stepping %" G_GINT64_FORMAT
            "\n  model-id    \"%s\"\n  QEMU        %s (%s)\n"
            "  KVM         %s\n  probe       %s\n  CPU models  %u\n"
            "  machines    %u\n  features    %u:",
            p->name, p->vendor, p->family, p->model, p->stepping, model_id,
            p->qemu_version ? p->qemu_version : "?",
            p->qemu_package ? p->qemu_package : "", p->kvm ? "yes" : "no",
            p->probe_method ? p->probe_method : "?",
            p->cpu_models ? p->cpu_models->len : 0,
            p->machines ? p->machines->len : 0, features->len);
        for (guint k = 0; k < features->len; k++)
            g_string_append_printf(out, "%s%s", k % 8 ? " " : "\n    ",
                                   (char *)g_ptr_array_index(features, k));
        g_string_append(out, i + 1 < profiles->len ? "\n\n" : "\n");
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * qm_report_profiles_json() - probe --json output
 * @profiles: QmProfile array
 *
 * Return: newly allocated text: {"hosts": [profile, ...]}
 */
char *qm_report_profiles_json(GPtrArray *profiles)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "hosts");
    json_builder_begin_array(builder);
    for (guint i = 0; i < profiles->len; i++)
        json_builder_add_value(
            builder, qm_profile_to_json(g_ptr_array_index(profiles, i)));
    json_builder_end_array(builder);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    return to_json_text(root);
}

/**
 * qm_report_nothing() - explain's output when there is nothing to decide
 * @json: TRUE for JSON (same members as a decision, empty)
 * @why:  reason, e.g. "no --peer"
 * @argv: the unchanged command, NULL-terminated, QEMU path first
 *
 * Return: newly allocated text
 */
char *qm_report_nothing(gboolean json, const char *why, char *const *argv)
{
    g_autofree char *line = qm_shquote_argv(argv);
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *valid = NULL;

    if (!json)
        return g_strdup_printf("Nothing to decide (%s): QEMU runs "
                               "unchanged.\n\nCommand:\n  %s\n",
                               why, line);

    valid = g_utf8_make_valid(line, -1);
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "hosts");
    json_builder_begin_array(builder);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "cpu");
    json_builder_add_null_value(builder);
    json_builder_set_member_name(builder, "hidden");
    json_builder_begin_array(builder);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "absent");
    json_builder_begin_array(builder);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "settings");
    json_builder_begin_array(builder);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "candidates");
    json_builder_begin_array(builder);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "machine");
    json_builder_add_null_value(builder);
    json_builder_set_member_name(builder, "warnings");
    json_builder_begin_array(builder);
    json_builder_add_string_value(builder, why);
    json_builder_end_array(builder);
    add_argv(builder, argv);
    json_builder_set_member_name(builder, "command");
    json_builder_add_string_value(builder, valid);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    return to_json_text(root);
}

/**
 * qm_report_cache_list() - `cache list` output
 * @dir:     cache directory
 * @entries: QmCacheEntry array
 *
 * Return: newly allocated text, one entry a line
 */
char *qm_report_cache_list(const char *dir, GPtrArray *entries)
{
    GString *out = g_string_new(NULL);

    g_string_append_printf(out, "# %s: %u entr%s\n", dir, entries->len,
                           entries->len == 1 ? "y" : "ies");
    for (guint i = 0; i < entries->len; i++) {
        const QmCacheEntry *entry = g_ptr_array_index(entries, i);
        g_autofree char *age = qm_profile_age(entry->profile);

        g_string_append_printf(
            out, "%-6s %-14s QEMU %-8s %s\n", age, entry->profile->vendor,
            entry->profile->qemu_version ? entry->profile->qemu_version : "?",
            entry->key);
    }
    return g_string_free(out, FALSE);
}

/**
 * qm_report_probe_progress() - the line shown on a terminal while hosts
 *                              are awaited
 * @done:    hosts done
 * @total:   hosts in all
 * @waiting: NULL-terminated hosts still awaited
 * @elapsed: seconds so far
 *
 * At most three names, so that the line fits a terminal.
 *
 * Return: newly allocated line, without a newline
 */
char *qm_report_probe_progress(guint done, guint total,
                               const char *const *waiting, double elapsed)
{
    GString *s = g_string_new(NULL);
    guint n = waiting ? g_strv_length((char **)waiting) : 0;

    g_string_append_printf(s, "qemu-mig: %u/%u hosts done after %.0f s", done,
                           total, elapsed);
    for (guint i = 0; i < n && i < 3; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "; waiting for ",
                               waiting[i]);
    if (n > 3)
        g_string_append_printf(s, " and %u more", n - 3);
    return g_string_free(s, FALSE);
}
