/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: helpers shared by the tests that run the real qemu-mig
 * binary (test-cache.c and test-cli-e2e.c).
 */
#include <string.h>
#include <json-glib/json-glib.h>

#include "qmrun.h"
#include "testutil.h"
#include "wrapper/feature.h"
#include "wrapper/qmp.h"

/**
 * qm_run_free() - free a QmRun
 * @run: run
 */
void qm_run_free(QmRun *run)
{
    g_free(run->out);
    g_free(run->err);
    g_free(run);
}

/**
 * qm_run_capture() - path of a capture in tests/data
 * @name: short CPU name, e.g. "EPYC-7502-32-Core"
 *
 * Return: newly allocated path
 */
char *qm_run_capture(const char *name)
{
    g_autofree char *file = g_strdup_printf("x86_64-cpuid-%s.json", name);

    return qm_test_data_path(file);
}

/**
 * qm_run_cpu_facts_free() - free QmRunCpuFacts
 * @f: facts
 */
void qm_run_cpu_facts_free(QmRunCpuFacts *f)
{
    g_hash_table_unref(f->features);
    g_hash_table_unref(f->known);
    g_hash_table_unref(f->props);
    g_hash_table_unref(f->values);
    g_free(f->model_id);
    g_free(f->vendor);
    g_free(f);
}

/**
 * qm_run_fact() - an integer or boolean property of the expansion
 * @f:    facts
 * @prop: property name
 *
 * Return: its value (booleans 0/1), or -1 when the capture has none
 */
gint64 qm_run_fact(const QmRunCpuFacts *f, const char *prop)
{
    const gint64 *v = g_hash_table_lookup(f->values, prop);

    return v ? *v : -1;
}

/**
 * qm_run_load_facts() - read a capture's model-expansion reply
 * @cpu: capture short name
 *
 * Return: the facts
 */
QmRunCpuFacts *qm_run_load_facts(const char *cpu)
{
    g_autofree char *path = qm_run_capture(cpu);
    g_autofree char *text = NULL;
    gsize len;
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GError) error = NULL;
    QmRunCpuFacts *f = g_new0(QmRunCpuFacts, 1);

    f->features = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    f->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    f->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    f->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_file_get_contents(path, &text, &len, &error);
    g_assert_no_error(error);
    g_assert_true(qm_qmp_split(text, len, &docs, &error));
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *doc = json_node_get_object(g_ptr_array_index(docs, i));
        JsonObject *ret, *props;
        g_autoptr(GList) members = NULL;

        if (g_strcmp0(json_object_get_string_member_with_default(doc, "id", ""),
                      "model-expansion") != 0)
            continue;
        ret = json_object_get_object_member(doc, "return");
        props = json_object_get_object_member(
            json_object_get_object_member(ret, "model"), "props");
        f->family = json_object_get_int_member(props, "family");
        f->model = json_object_get_int_member(props, "model");
        f->stepping = json_object_get_int_member(props, "stepping");
        f->model_id =
            g_strdup(json_object_get_string_member(props, "model-id"));
        f->vendor = g_strdup(json_object_get_string_member(props, "vendor"));
        members = json_object_get_members(props);
        for (GList *l = members; l; l = l->next) {
            JsonNode *v = json_object_get_member(props, l->data);
            g_autofree char *canon = qm_feature_canon(l->data);
            GType type = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v)
                                                  : G_TYPE_INVALID;

            if (type != G_TYPE_BOOLEAN || qm_feature_is_option(canon)) {
                if (type == G_TYPE_INT64 || type == G_TYPE_BOOLEAN)
                    g_hash_table_insert(
                        f->values, g_strdup(canon),
                        g_memdup2(&(gint64){type == G_TYPE_INT64
                                                ? json_node_get_int(v)
                                                : json_node_get_boolean(v)},
                                  sizeof(gint64)));
                g_hash_table_add(f->props, g_steal_pointer(&canon));
                continue;
            }
            g_hash_table_add(f->known, g_strdup(canon));
            if (json_node_get_boolean(v))
                g_hash_table_add(f->features, g_steal_pointer(&canon));
        }
    }
    g_assert_cmpuint(g_hash_table_size(f->features), >, 10);
    return f;
}

/**
 * qm_run_unhex() - decode a hex string
 * @hex: lower- or upper-case hex digits
 *
 * Return: newly allocated NUL-terminated bytes
 */
char *qm_run_unhex(const char *hex)
{
    gsize n = strlen(hex) / 2;
    char *out = g_malloc0(n + 1);

    for (gsize i = 0; i < n; i++)
        out[i] = (char)(g_ascii_xdigit_value(hex[2 * i]) * 16 +
                        g_ascii_xdigit_value(hex[2 * i + 1]));
    return out;
}

/**
 * qm_run_eval_line() - what a POSIX shell makes of a --dry-run line
 * @line: the line (without its newline)
 *
 * The shell prints each resulting word in hex, one per line, so bytes that
 * are not UTF-8 (or are newlines) come back exactly.
 *
 * Return: the argv `eval` produces, byte-exact
 */
GPtrArray *qm_run_eval_line(const char *line)
{
    const char *argv[] = {
        "/bin/sh",
        "-c",
        "eval \"set -- $1\"; for a; do printf '%s' \"$a\" | od -An -v -tx1 "
        "| tr -d ' \\n'; echo; done",
        "sh",
        line,
        NULL,
    };
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    int status;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                 NULL, &status, &error);
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l && l[1]; l++)
        g_ptr_array_add(words, qm_run_unhex(*l));
    return words;
}

/**
 * qm_run_count_files() - number of entries in a directory
 * @dir: directory
 *
 * Return: count (0 when it does not exist)
 */
guint qm_run_count_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (d != NULL && g_dir_read_name(d) != NULL)
        n++;
    return n;
}

/**
 * qm_run_read_json() - parse a JSON file the test itself expects to be
 *                      valid (an exec record, a cache entry)
 * @path: file
 *
 * Return: the root (new reference), never NULL
 */
JsonNode *qm_run_read_json(const char *path)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;

    json_parser_load_from_file(parser, path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(json_parser_get_root(parser));
    return json_node_ref(json_parser_get_root(parser));
}

/**
 * qm_run_take_registration() - check and remove the monitor a real launch
 *                              registers its guest by
 * @argv: an exec'd argv; its last two words are removed
 *
 * The last two words must be "-qmp unix:DIR/ID.qmp,server=on,wait=off"
 * with DIR the runtime directory the test environment gives
 * ($XDG_RUNTIME_DIR/qemu-mig), where the record DIR/ID.json must be.
 *
 * Return: the record's path, newly allocated
 */
char *qm_run_take_registration(GPtrArray *argv)
{
    g_autofree char *dir =
        g_build_filename(g_getenv("XDG_RUNTIME_DIR"), "qemu-mig", NULL);
    g_autofree char *prefix = g_strdup_printf("unix:%s/", dir);
    const char *value;
    const char *end;
    g_autofree char *id = NULL;
    char *record;

    g_assert_cmpuint(argv->len, >=, 2);
    g_assert_cmpstr(g_ptr_array_index(argv, argv->len - 2), ==, "-qmp");
    value = g_ptr_array_index(argv, argv->len - 1);
    g_assert_true(g_str_has_prefix(value, prefix));
    g_assert_true(g_str_has_suffix(value, ".qmp,server=on,wait=off"));
    end = strstr(value, ".qmp,server=on,wait=off");
    id = g_strndup(value + strlen(prefix), end - value - strlen(prefix));
    g_assert_cmpuint(strspn(id, "0123456789abcdef"), ==, 16);
    g_assert_cmpuint(strlen(id), ==, 16);
    record = g_strdup_printf("%s/%s.json", dir, id);
    g_assert_true(g_file_test(record, G_FILE_TEST_IS_REGULAR));
    g_ptr_array_set_size(argv, argv->len - 2);
    return record;
}

/**
 * qm_run_record_argv() - the argv a fake QEMU's exec record holds
 * @record: the record root
 *
 * Return: new array of strings, byte for byte
 */
GPtrArray *qm_run_record_argv(JsonNode *record)
{
    JsonArray *hex =
        json_object_get_array_member(json_node_get_object(record), "argv_hex");
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < json_array_get_length(hex); i++)
        g_ptr_array_add(words,
                        qm_run_unhex(json_array_get_string_element(hex, i)));
    return words;
}
