/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig fuzzing: the QEMU argument rewrite.
 *
 * Input: QEMU's argv (without the binary), words separated by NUL bytes.
 * Runs what a launch runs on it: qm_qemuargs_is_query(),
 * qm_qemuargs_find_cpu(), qm_machine_find(), qm_cpuspec_parse() on the
 * effective -cpu value, qm_decide() + qm_decide_machine() against two real
 * Intel hosts (tests/data captures), and qm_qemuargs_edit() with the
 * decision.  Invariants: indexes point at the value of the right option;
 * a parsed -cpu has a model and only canonical on/off feature settings;
 * the rewritten argv is NULL-terminated, has exactly the expected length,
 * and every word not edited is byte-identical to the input.
 */
#include "fuzz-common.h"

#include <json-glib/json-glib.h>

#include "wrapper/decide.h"
#include "wrapper/machine.h"
#include "wrapper/qemuargs.h"
#include "wrapper/qmp.h"

/* At most this many words: argv scans are linear, nothing to gain beyond. */
#define ARGV_MAX_WORDS 512

static QmProfile *argv_local;
static GPtrArray *argv_peers;

/**
 * argv_load_capture() - a tests/data capture as a profile with machines
 * @file: capture file name
 * @host: profile name
 *
 * Return: new profile (aborts when the data is missing: a broken setup,
 * not a finding)
 */
static QmProfile *argv_load_capture(const char *file, const char *host)
{
    g_autofree char *path = g_build_filename(qm_fuzz_data_dir(), file, NULL);
    g_autofree char *mpath =
        g_build_filename(qm_fuzz_data_dir(), "qemu-7.2-machines.json", NULL);
    g_autofree char *text = NULL, *mtext = NULL;
    gsize len = 0, mlen = 0;
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GPtrArray) mdocs = NULL;
    g_autoptr(GHashTable) replies = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) error = NULL;
    QmProfile *profile = NULL;

    if (!g_file_get_contents(path, &text, &len, &error) ||
        !g_file_get_contents(mpath, &mtext, &mlen, &error) ||
        !qm_qmp_split(text, len, &docs, &error) ||
        !qm_qmp_split(mtext, mlen, &mdocs, &error)) {
        fprintf(stderr, "fuzz-argv: cannot load %s: %s\n", path,
                error->message);
        abort();
    }
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));
        const char *id = json_object_get_string_member(obj, "id");

        g_hash_table_insert(replies, (gpointer)id, g_ptr_array_index(docs, i));
    }
    g_hash_table_insert(replies, "machines", g_ptr_array_index(mdocs, 0));
    if (!qm_qmp_profile_from_replies(host, replies, &profile, &error)) {
        fprintf(stderr, "fuzz-argv: %s: %s\n", path, error->message);
        abort();
    }
    profile->qemu_version = g_strdup("7.2.0");
    return profile;
}

/**
 * argv_init() - the hosts every decision is made for, loaded once
 */
static void argv_init(void)
{
    if (argv_local != NULL)
        return;
    qm_fuzz_setup();
    argv_local = argv_load_capture("x86_64-cpuid-Core-i7-8700.json", "local");
    argv_peers =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_profile_free);
    g_ptr_array_add(
        argv_peers,
        argv_load_capture("x86_64-cpuid-Xeon-E5-2650-v4.json", "peer"));
}

/**
 * argv_is_option() - is @word "-NAME" or "--NAME" for one of @names?
 * @word:  argument
 * @names: NULL-terminated option names
 *
 * Return: TRUE if so
 */
static gboolean argv_is_option(const char *word, const char *const *names)
{
    if (word[0] != '-')
        return FALSE;
    word += word[1] == '-' ? 2 : 1;
    return g_strv_contains(names, word);
}

/**
 * argv_check_spec() - invariants of a successfully parsed -cpu value
 * @spec: parsed value
 */
static void argv_check_spec(const QmCpuSpec *spec)
{
    GHashTableIter iter;
    gpointer key, value;

    QM_FUZZ_CHECK(spec->model != NULL && *spec->model != '\0');
    QM_FUZZ_CHECK(strchr(spec->model, ',') == NULL &&
                  strchr(spec->model, '=') == NULL);
    g_hash_table_iter_init(&iter, spec->settings);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        g_autofree char *canon = qm_feature_canon(key);

        QM_FUZZ_CHECK(canon != NULL && strcmp(canon, key) == 0);
        QM_FUZZ_CHECK(strcmp(value, "on") == 0 || strcmp(value, "off") == 0);
    }
    g_hash_table_iter_init(&iter, spec->props);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        QM_FUZZ_CHECK(*(const char *)key != '\0');
        QM_FUZZ_CHECK(strchr(key, ',') == NULL && strchr(value, ',') == NULL);
    }
}

/**
 * argv_check_edit() - run qm_qemuargs_edit() and check its output
 * @argc:  number of words
 * @argv:  words
 * @edits: edits
 * @n:     number of edits
 */
static void argv_check_edit(int argc, char *const *argv, const QmArgEdit *edits,
                            gsize n)
{
    g_auto(GStrv) out = qm_qemuargs_edit(argc, argv, edits, n);
    int appended = 0;

    for (gsize e = 0; e < n; e++) {
        if (edits[e].index < 0 && edits[e].value != NULL)
            appended += 2;
    }
    QM_FUZZ_CHECK(out != NULL);
    QM_FUZZ_CHECK(g_strv_length(out) == (guint)(argc + appended));
    QM_FUZZ_CHECK(out[argc + appended] == NULL);
    for (int i = 0; i < argc; i++) {
        const char *expect = argv[i];

        for (gsize e = 0; e < n; e++) {
            if (edits[e].index == i && edits[e].value != NULL)
                expect = edits[e].value;
        }
        QM_FUZZ_CHECK(strcmp(out[i], expect) == 0);
        /* a copy, never the caller's word */
        QM_FUZZ_CHECK(out[i] != argv[i]);
    }
    for (gsize e = 0, k = argc; e < n; e++) {
        if (edits[e].index < 0 && edits[e].value != NULL) {
            QM_FUZZ_CHECK(strcmp(out[k++], edits[e].option) == 0);
            QM_FUZZ_CHECK(strcmp(out[k++], edits[e].value) == 0);
        }
    }
}

/**
 * argv_check_refind() - QEMU reads back what was written
 * @argc:  number of words
 * @argv:  words
 * @edits: the -cpu edit first, then the -machine edit
 * @n:     number of edits
 *
 * The value qemu-mig decided on must be the one QEMU takes as the
 * effective -cpu (an appended "-cpu X" must not become the argument of a
 * trailing option), and likewise the machine type.
 */
static void argv_check_refind(int argc, char *const *argv,
                              const QmArgEdit *edits, gsize n)
{
    g_auto(GStrv) out = qm_qemuargs_edit(argc, argv, edits, n);
    int outc = (int)g_strv_length(out);
    QmArgEdit probe = {-1, "-cpu", "probe"};
    g_auto(GStrv) probed = qm_qemuargs_edit(argc, argv, &probe, 1);

    /*
     * Known limitation, not checked: a command line ending in an option
     * that lacks its argument ("... -smp") is one QEMU refuses; whatever
     * qemu-mig appends becomes that argument (tests/fuzz/README.md).
     */
    if (qm_qemuargs_find_cpu(argc + 2, probed) != argc + 1)
        return;
    if (edits[0].value != NULL) {
        int cpu = qm_qemuargs_find_cpu(outc, out);

        QM_FUZZ_CHECK(cpu >= 0 && strcmp(out[cpu], edits[0].value) == 0);
    }
    if (n > 1 && edits[1].value != NULL) {
        int machine = qm_machine_find(outc, out);

        QM_FUZZ_CHECK(machine >= 0 &&
                      strcmp(out[machine], edits[1].value) == 0);
    }
}

/**
 * qm_fuzz_argv() - one input
 * @data: NUL-separated words
 * @size: length
 *
 * Return: 0
 */
static int qm_fuzz_argv(const uint8_t *data, size_t size)
{
    static const char *const cpu_names[] = {"cpu", NULL};
    static const char *const machine_names[] = {"machine", "M", NULL};
    g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(QmCpuSpec) spec = NULL;
    g_autoptr(QmDecision) decision = NULL;
    g_autoptr(GError) error = NULL;
    char *const *argv;
    int argc, cpu, machine;
    size_t start = 0;

    argv_init();
    /* "a\0b" is {"a", "b"}; a trailing NUL ends the last word */
    for (size_t i = 0; i <= size && words->len < ARGV_MAX_WORDS; i++) {
        if (i == size || data[i] == '\0') {
            if (i < size || i > start)
                g_ptr_array_add(
                    words, g_strndup((const char *)data + start, i - start));
            start = i + 1;
        }
    }
    argc = (int)words->len;
    g_ptr_array_add(words, NULL);
    argv = (char *const *)words->pdata;

    (void)qm_qemuargs_is_query(argc, argv);

    cpu = qm_qemuargs_find_cpu(argc, argv);
    QM_FUZZ_CHECK(cpu == -1 || (cpu >= 1 && cpu < argc));
    if (cpu >= 1)
        QM_FUZZ_CHECK(argv_is_option(argv[cpu - 1], cpu_names));

    machine = qm_machine_find(argc, argv);
    QM_FUZZ_CHECK(machine == -1 || (machine >= 1 && machine < argc));
    if (machine >= 1)
        QM_FUZZ_CHECK(argv_is_option(argv[machine - 1], machine_names));

    if (cpu >= 0 && qm_cpuspec_parse(argv[cpu], &spec, &error))
        argv_check_spec(spec);
    g_clear_error(&error);

    /* the plain rewrite: replace the value, append, or nothing */
    {
        QmArgEdit edits[] = {
            {cpu, "-cpu", "host,-fuzz"},
            {machine, "-machine", machine >= 0 ? NULL : "q35"},
            {cpu == 0 ? 1 : 0, "-x", NULL},
        };

        argv_check_edit(argc, argv, edits, G_N_ELEMENTS(edits));
    }

    /* what a launch does: decide, then edit */
    if (qm_decide(cpu >= 0 ? argv[cpu] : NULL,
                  machine >= 0 ? argv[machine] : NULL, argv_local, argv_peers,
                  0, &decision, &error)) {
        QM_FUZZ_CHECK(decision->mode != NULL && decision->model != NULL);
        for (guint i = 0; i < decision->hidden->len; i++) {
            const QmHidden *h = g_ptr_array_index(decision->hidden, i);

            QM_FUZZ_CHECK(qm_feature_name_valid(h->name));
        }
        if (qm_decide_machine(decision, machine >= 0 ? argv[machine] : NULL,
                              argv_local, argv_peers, &error)) {
            /* exactly what wrapper/main.c does */
            QmArgEdit edits[] = {
                {cpu, "-cpu", decision->cpu_value},
                {machine, "-machine", decision->machine_value},
            };

            QM_FUZZ_CHECK(!decision->add_cpu || cpu < 0);
            argv_check_edit(argc, argv, edits, G_N_ELEMENTS(edits));
            argv_check_refind(argc, argv, edits, G_N_ELEMENTS(edits));
        } else {
            QM_FUZZ_CHECK(error != NULL);
        }
    } else {
        QM_FUZZ_CHECK(error != NULL);
    }
    return 0;
}

QM_FUZZ_ENTRY(qm_fuzz_argv)
