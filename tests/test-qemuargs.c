/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: reading QEMU's argv, the -cpu rewrite, -cpu value parsing.
 */
#include <string.h>

#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/qemuargs.h"

#define MAX_ARGS 16

/**
 * argv_len() - number of words in a NULL-terminated table row
 * @argv: row
 *
 * Return: count
 */
static int argv_len(const char *const *argv)
{
    int n = 0;

    while (argv[n] != NULL)
        n++;
    return n;
}

/* ---- qm_qemuargs_find_cpu() ---------------------------------------- */

/* A QEMU argv (no binary) and the index of the effective -cpu value. */
typedef struct {
    const char *name;
    const char *argv[MAX_ARGS];
    int expect;
} FindCase;

static const FindCase find_cases[] = {
    {"empty", {NULL}, -1},
    {"none", {"-m", "1G", "-enable-kvm", "disk.img", NULL}, -1},
    {"one", {"-cpu", "host", NULL}, 1},
    {"one-after-others", {"-m", "2G", "-smp", "4", "-cpu", "host", NULL}, 5},
    {"last-of-several",
     {"-cpu", "qemu64", "-m", "1G", "-cpu", "Skylake-Server", "-cpu",
      "host,+pcid", "-nographic", NULL},
     7},
    {"double-dash", {"--cpu", "host", NULL}, 1},
    {"mixed-dashes", {"-cpu", "a", "--cpu", "b", NULL}, 3},
    /* -name takes the word "-cpu" as its argument */
    {"name-eats-cpu", {"-name", "-cpu", "-cpu", "host", NULL}, 3},
    {"name-eats-only-cpu", {"-name", "-cpu", "host", NULL}, -1},
    {"nographic-noarg", {"-nographic", "-cpu", "host", NULL}, 2},
    {"enable-kvm-noarg", {"-enable-kvm", "-cpu", "host", NULL}, 2},
    {"S-noarg", {"-S", "-cpu", "host", NULL}, 2},
    {"trailing-cpu", {"-m", "1G", "-cpu", NULL}, -1},
    {"lone-cpu", {"-cpu", NULL}, -1},
    {"positional-disk-first", {"disk.img", "-cpu", "host", NULL}, 2},
    {"vga-std", {"-vga", "std", "-cpu", "host", NULL}, 3},
    /* "cpu" as the value of another option is not -cpu */
    {"device-value-cpu", {"-device", "-cpu", "-m", "1G", NULL}, -1},
    {"m-value-dashcpu", {"-m", "-cpu", NULL}, -1},
    {"spaces",
     {"-name", "my guest vm", "-cpu", "host,model-id=a b c", NULL},
     3},
    {"commas",
     {"-drive", "file=a,,b.img,if=virtio", "-cpu", "host,-pcid", NULL},
     3},
    {"non-utf8", {"-name", "\xff\xfe", "\xff\xfe", "-cpu", "host", NULL}, 4},
    {"non-utf8-value", {"-cpu", "\xff\xfe", NULL}, 1},
    {"empty-words", {"", "-name", "", "-cpu", "host", "", NULL}, 4},
    {"empty-cpu-value", {"-cpu", "", NULL}, 1},
    /* "--" is a plain word to QEMU's parser: what follows is still read */
    {"dashdash-inside", {"-m", "1G", "--", "-cpu", "host", NULL}, 4},
    {"lone-dash", {"-", "-cpu", "host", NULL}, 2},
    /* an option this table does not know: a following option is not eaten */
    {"unknown-then-option", {"-frobnicate", "-cpu", "host", NULL}, 2},
    {"unknown-with-value", {"-frobnicate", "x", "-cpu", "host", NULL}, 3},
    /* words that merely contain "cpu" */
    {"cpu-lookalikes",
     {"-cpus", "2", "-smp", "cpus=2", "cpu", "host", NULL},
     -1},
};

/**
 * test_find_cpu() - index of the effective -cpu value
 * @data: FindCase
 */
static void test_find_cpu(gconstpointer data)
{
    const FindCase *c = data;
    int argc = argv_len(c->argv);

    g_assert_cmpint(qm_qemuargs_find_cpu(argc, (char *const *)c->argv), ==,
                    c->expect);
    if (c->expect >= 0) {
        /* the word before the value is the -cpu option itself */
        g_assert_cmpint(c->expect, >=, 1);
        g_assert_true(strcmp(c->argv[c->expect - 1], "-cpu") == 0 ||
                      strcmp(c->argv[c->expect - 1], "--cpu") == 0);
    }
}

/**
 * test_find_cpu_argc() - only the first argc words are looked at
 */
static void test_find_cpu_argc(void)
{
    const char *argv[] = {"-m", "1G", "-cpu", "host", NULL};

    g_assert_cmpint(qm_qemuargs_find_cpu(4, (char *const *)argv), ==, 3);
    /* -cpu is now the last word: it has no value */
    g_assert_cmpint(qm_qemuargs_find_cpu(3, (char *const *)argv), ==, -1);
    g_assert_cmpint(qm_qemuargs_find_cpu(0, (char *const *)argv), ==, -1);
}

/* ---- qm_qemuargs_is_query() ---------------------------------------- */

/* A QEMU argv and whether it only asks QEMU for information. */
typedef struct {
    const char *name;
    const char *argv[MAX_ARGS];
    gboolean query;
} QueryCase;

static const QueryCase query_cases[] = {
    {"version", {"-version", NULL}, TRUE},
    {"version-2dash", {"--version", NULL}, TRUE},
    {"help", {"-help", NULL}, TRUE},
    {"help-2dash", {"--help", NULL}, TRUE},
    {"h", {"-h", NULL}, TRUE},
    {"cpu-help", {"-cpu", "help", NULL}, TRUE},
    {"cpu-question", {"-cpu", "?", NULL}, TRUE},
    {"machine-help", {"-machine", "help", NULL}, TRUE},
    {"M-question", {"-M", "?", NULL}, TRUE},
    {"device-prop-help", {"-device", "virtio-net-pci,help", NULL}, TRUE},
    {"device-help", {"-device", "help", NULL}, TRUE},
    {"accel-help", {"-accel", "help", NULL}, TRUE},
    {"help-after-launch",
     {"-m", "1G", "-enable-kvm", "-cpu", "host", "-machine", "help", NULL},
     TRUE},
    {"version-after-launch",
     {"-m", "1G", "-nographic", "-version", NULL},
     TRUE},
    {"name-help-desk", {"-name", "help-desk", NULL}, FALSE},
    {"drive-file-help", {"-drive", "file=help", NULL}, FALSE},
    {"drive-file-help-if",
     {"-drive", "file=help,if=virtio", "-cpu", "host", NULL},
     FALSE},
    {"name-is-dash-version", {"-name", "-version", NULL}, FALSE},
    {"name-is-dash-help", {"-name", "-help", "-cpu", "host", NULL}, FALSE},
    {"positional-help", {"-nographic", "help", NULL}, FALSE},
    {"cpu-helpful", {"-cpu", "helpful", NULL}, FALSE},
    /* values that are names, paths or ids: "help" is just a word there */
    {"name-help", {"-name", "help", "-cpu", "host", NULL}, FALSE},
    {"pidfile-help", {"-pidfile", "help", NULL}, FALSE},
    {"kernel-question", {"-kernel", "?", NULL}, FALSE},
    {"append-help", {"-append", "help", NULL}, FALSE},
    {"uuid-help", {"-L", "help", NULL}, FALSE},
    {"serial-help-file", {"-serial", "file:help", NULL}, FALSE},
    /* and where QEMU lists choices */
    {"netdev-help", {"-netdev", "help", NULL}, TRUE},
    {"object-help", {"-object", "memory-backend-ram,help", NULL}, TRUE},
    {"display-help", {"-display", "help", NULL}, TRUE},
    {"d-help", {"-d", "help", NULL}, TRUE},
    {"chardev-help", {"-chardev", "help", NULL}, TRUE},
    {"launch",
     {"-enable-kvm", "-m", "4G", "-cpu", "host", "-smp", "4", "-drive",
      "file=disk.qcow2,if=virtio", "-nographic", NULL},
     FALSE},
    {"empty", {NULL}, FALSE},
    {"non-utf8", {"-name", "\xff\xfe", "\xff", NULL}, FALSE},
};

/**
 * test_is_query() - help/version requests are recognised, launches are not
 * @data: QueryCase
 */
static void test_is_query(gconstpointer data)
{
    const QueryCase *c = data;
    int argc = argv_len(c->argv);

    g_assert_cmpint(qm_qemuargs_is_query(argc, (char *const *)c->argv), ==,
                    c->query);
}

/* ---- qm_qemuargs_rewrite() ----------------------------------------- */

/**
 * assert_copy() - @out is a NULL-terminated byte-exact copy of @expect
 * @out:    result of qm_qemuargs_rewrite()
 * @expect: expected words, NULL-terminated
 * @input:  the argv given to the rewrite; no output word may alias it
 */
static void assert_copy(char **out, const char *const *expect,
                        const char *const *input)
{
    int n = argv_len(expect);

    g_assert_nonnull(out);
    g_assert_cmpint(g_strv_length(out), ==, n);
    for (int i = 0; i < n; i++) {
        g_assert_nonnull(out[i]);
        g_assert_cmpmem(out[i], strlen(out[i]) + 1, expect[i],
                        strlen(expect[i]) + 1);
        for (int j = 0; input[j] != NULL; j++)
            g_assert_true(out[i] != input[j]);
    }
    g_assert_null(out[n]);
}

static const char *const rewrite_in[] = {
    "-name",         "\xff\xfe guest", "",   "-cpu", "host,+pcid", "-drive",
    "file=a,,b.img", "\xc3",           "-m", "1G",   NULL,
};

/**
 * test_rewrite_replace() - only the indexed word changes
 */
static void test_rewrite_replace(void)
{
    static const char *const expect[] = {
        "-name",  "\xff\xfe guest", "",     "-cpu", "host,+pcid,avx512f=off",
        "-drive", "file=a,,b.img",  "\xc3", "-m",   "1G",
        NULL,
    };
    int argc = argv_len(rewrite_in);
    int idx = qm_qemuargs_find_cpu(argc, (char *const *)rewrite_in);
    g_auto(GStrv) out = NULL;

    g_assert_cmpint(idx, ==, 4);
    out = qm_qemuargs_rewrite(argc, (char *const *)rewrite_in, idx,
                              "host,+pcid,avx512f=off");
    assert_copy(out, expect, rewrite_in);
    /* the input is untouched */
    g_assert_cmpstr(rewrite_in[4], ==, "host,+pcid");
}

/**
 * test_rewrite_append() - index -1 appends "-cpu VALUE" at the end
 */
static void test_rewrite_append(void)
{
    static const char *const in[] = {"-m", "1G", "", "\xff", NULL};
    static const char *const expect[] = {
        "-m", "1G", "", "\xff", "-cpu", "qemu64,la57=off", NULL,
    };
    g_auto(GStrv) out =
        qm_qemuargs_rewrite(4, (char *const *)in, -1, "qemu64,la57=off");

    assert_copy(out, expect, in);
}

/**
 * test_rewrite_append_empty() - appending to an empty argv
 */
static void test_rewrite_append_empty(void)
{
    static const char *const in[] = {NULL};
    static const char *const expect[] = {"-cpu", "qemu64,pcid=off", NULL};
    g_auto(GStrv) out =
        qm_qemuargs_rewrite(0, (char *const *)in, -1, "qemu64,pcid=off");

    assert_copy(out, expect, in);
}

/**
 * test_rewrite_null_value() - a NULL value copies argv unchanged
 */
static void test_rewrite_null_value(void)
{
    int argc = argv_len(rewrite_in);
    g_auto(GStrv) keep =
        qm_qemuargs_rewrite(argc, (char *const *)rewrite_in, 4, NULL);
    g_auto(GStrv) none =
        qm_qemuargs_rewrite(argc, (char *const *)rewrite_in, -1, NULL);
    static const char *const empty_in[] = {NULL};
    g_auto(GStrv) empty =
        qm_qemuargs_rewrite(0, (char *const *)empty_in, -1, NULL);

    assert_copy(keep, rewrite_in, rewrite_in);
    assert_copy(none, rewrite_in, rewrite_in);
    g_assert_nonnull(empty);
    g_assert_null(empty[0]);
}

/**
 * test_rewrite_first_word() - the value may sit at any index, even 0
 */
static void test_rewrite_first_word(void)
{
    static const char *const in[] = {"host", "-m", "1G", NULL};
    static const char *const expect[] = {"X", "-m", "1G", NULL};
    g_auto(GStrv) out = qm_qemuargs_rewrite(3, (char *const *)in, 0, "X");

    assert_copy(out, expect, in);
}

/* ---- qm_cpuspec_parse() -------------------------------------------- */

/* A -cpu value and what the parse must give (key/value pairs, NULL-ended) */
typedef struct {
    const char *name;
    const char *value;
    const char *model;
    const char *settings[12];
    const char *props[10];
} SpecCase;

static const SpecCase spec_cases[] = {
    {"model", "host", "host", {NULL}, {NULL}},
    {"model-versioned",
     "Skylake-Server-v4",
     "Skylake-Server-v4",
     {NULL},
     {NULL}},
    {"trailing-comma", "host,", "host", {NULL}, {NULL}},
    {"plus", "host,+pcid", "host", {"pcid", "on", NULL}, {NULL}},
    {"minus", "host,-pcid", "host", {"pcid", "off", NULL}, {NULL}},
    {"on", "host,pcid=on", "host", {"pcid", "on", NULL}, {NULL}},
    {"off", "host,pcid=off", "host", {"pcid", "off", NULL}, {NULL}},
    {"true", "host,pcid=true", "host", {"pcid", "on", NULL}, {NULL}},
    {"false", "host,pcid=false", "host", {"pcid", "off", NULL}, {NULL}},
    {"yes", "host,pcid=yes", "host", {"pcid", "on", NULL}, {NULL}},
    {"no", "host,pcid=no", "host", {"pcid", "off", NULL}, {NULL}},
    {"bare", "host,pcid", "host", {"pcid", "on", NULL}, {NULL}},
    /* qapi_bool_parse() takes y and n too */
    {"y", "host,avx512f=y", "host", {"avx512f", "on", NULL}, {NULL}},
    {"n", "host,pcid=n", "host", {"pcid", "off", NULL}, {NULL}},
    /* feat2prop(): '_' is '-' in every property name */
    {"underscore-props",
     "host,model_id=x,phys_bits=40,host_phys_bits=off,l3_cache=off",
     "host",
     {"host-phys-bits", "off", "l3-cache", "off", NULL},
     {"model-id", "x", "phys-bits", "40", NULL}},
    /* tsc-freq is tsc-frequency, in Hz, with metric suffixes */
    {"tsc-freq",
     "host,invtsc=on,tsc-freq=2.5G",
     "host",
     {"invtsc", "on", NULL},
     {"tsc-frequency", "2500000000", NULL}},
    {"tsc_freq-plain",
     "host,tsc_freq=2200000000",
     "host",
     {NULL},
     {"tsc-frequency", "2200000000", NULL}},
    {"tsc-freq-then-tsc-frequency",
     "host,tsc-freq=2200M,tsc-frequency=2000000000",
     "host",
     {NULL},
     {"tsc-frequency", "2000000000", NULL}},
    {"alias-sse4_1",
     "Skylake-Server,sse4_1=off",
     "Skylake-Server",
     {"sse4.1", "off", NULL},
     {NULL}},
    {"alias-mixed",
     "host,-sse3,+sse4-2,lahf_lm=on,-kvm_pv_eoi",
     "host",
     {"pni", "off", "sse4.2", "on", "lahf-lm", "on", "kvm-pv-eoi", "off", NULL},
     {NULL}},
    /* between settings of the same form, the last one wins */
    {"last-wins-off",
     "host,pcid=on,pcid=off",
     "host",
     {"pcid", "off", NULL},
     {NULL}},
    {"last-wins-on",
     "host,pcid=off,vmx=off,pcid",
     "host",
     {"pcid", "on", "vmx", "off", NULL},
     {NULL}},
    {"last-wins-alias",
     "host,sse4_1=off,sse4.1=on",
     "host",
     {"sse4.1", "on", NULL},
     {NULL}},
    {"minus-after-plus",
     "host,+pcid,-pcid",
     "host",
     {"pcid", "off", NULL},
     {NULL}},
    {"minus-after-on",
     "host,pcid=on,-pcid",
     "host",
     {"pcid", "off", NULL},
     {NULL}},
    {"plus-after-off",
     "host,pcid=off,+pcid",
     "host",
     {"pcid", "on", NULL},
     {NULL}},
    /* QEMU's x86 -cpu parser splits at every comma: ",," is no escape */
    {"double-comma-is-two-items",
     "host,model-id=a,,b",
     "host",
     {"b", "on", NULL},
     {"model-id", "a", NULL}},
    {"model-id-then-feature",
     "host,model-id=x,,+y,-pcid",
     "host",
     {"pcid", "off", "y", "on", NULL},
     {"model-id", "x", NULL}},
    {"family-prop", "host,family=6", "host", {NULL}, {"family", "6", NULL}},
    {"numeric-props",
     "EPYC,level=0xd,xlevel=0x8000001e,+svm",
     "EPYC",
     {"svm", "on", NULL},
     {"level", "0xd", "xlevel", "0x8000001e", NULL}},
    {"string-prop",
     "host,hv-vendor-id=KVMKVMKVM",
     "host",
     {NULL},
     {"hv-vendor-id", "KVMKVMKVM", NULL}},
    {"prop-last-wins",
     "host,family=6,family=15",
     "host",
     {NULL},
     {"family", "15", NULL}},
};

/*
 * Mixed "+f"/"-f" and "f=on|off" forms, in the order where QEMU does NOT
 * let the last one win: x86_cpu_parse_featurestr() registers f=on|off as
 * global properties and keeps +f/-f in lists that
 * x86_cpu_expand_features() applies afterwards, first every +f, then every
 * -f.  So -f beats +f, and both beat f=on|off, whatever their order.
 *
 * BUG (wrapper/qemuargs.c qm_cpuspec_parse()): it lets the last item win,
 * so these rows fail until that is fixed.  It matters: for
 * "host,+pcid,pcid=off" qemu-mig believes pcid is off, neither checks it
 * against the peers nor hides it, yet QEMU turns it on.
 */
static const SpecCase spec_qemu_order_cases[] = {
    {"plus-beats-later-off",
     "host,+pcid,pcid=off",
     "host",
     {"pcid", "on", NULL},
     {NULL}},
    {"minus-beats-later-plus",
     "host,-pcid,vmx=off,+pcid",
     "host",
     {"pcid", "off", "vmx", "off", NULL},
     {NULL}},
    {"minus-beats-later-on",
     "host,-pcid,pcid=on",
     "host",
     {"pcid", "off", NULL},
     {NULL}},
    {"plus-alias-beats-later-off",
     "host,+sse4_1,sse4.1=off",
     "host",
     {"sse4.1", "on", NULL},
     {NULL}},
};

/**
 * assert_table() - a hash table holds exactly the given pairs
 * @table: string -> string table
 * @pairs: key, value, key, value, ..., NULL
 */
static void assert_table(GHashTable *table, const char *const *pairs)
{
    guint n = 0;

    g_assert_nonnull(table);
    for (; pairs[2 * n] != NULL; n++) {
        const char *got = g_hash_table_lookup(table, pairs[2 * n]);

        if (got == NULL)
            g_test_message("missing key %s", pairs[2 * n]);
        g_assert_cmpstr(got, ==, pairs[2 * n + 1]);
    }
    g_assert_cmpuint(g_hash_table_size(table), ==, n);
}

/**
 * test_spec() - parse one -cpu value and compare everything
 * @data: SpecCase
 */
static void test_spec(gconstpointer data)
{
    const SpecCase *c = data;
    g_autoptr(QmCpuSpec) spec = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(qm_cpuspec_parse(c->value, &spec, &error));
    g_assert_no_error(error);
    g_assert_nonnull(spec);
    g_assert_cmpstr(spec->model, ==, c->model);
    assert_table(spec->settings, c->settings);
    assert_table(spec->props, c->props);
}

static const char *const spec_errors[] = {
    "",
    ",pcid",
    "=x",
    "=x,host",
    "model=host",
    ",host",
    /* QEMU: "bad numerical value" */
    "host,tsc-freq=fast",
    "host,tsc-freq",
    "host,tsc_freq=2.5",
};

/**
 * test_spec_error() - a value without a model name is a usage error
 * @data: the value
 */
static void test_spec_error(gconstpointer data)
{
    g_autoptr(QmCpuSpec) spec = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_false(qm_cpuspec_parse(data, &spec, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
    g_assert_null(spec);
    g_assert_cmpint(qm_error_exit_code(error), ==, 2);
}

/**
 * test_spec_qemu_order() - mixed setting forms resolve as QEMU does
 * @data: SpecCase
 */
static void test_spec_qemu_order(gconstpointer data)
{
    if (!qm_test_isolated())
        return;
    test_spec(data);
}

/**
 * test_known_option() - QEMU options written with two dashes are known
 */
static void test_known_option(void)
{
    static const char *const known[] = {
        "enable-kvm", "cpu",    "m",     "machine", "nographic", "name",
        "vga",        "device", "drive", "accel",   "smp",       "S",
    };
    static const char *const unknown[] = {
        "peer", "peeer", "dry-run", "json", "", "cpu=host", "CPU",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(known); i++)
        g_assert_true(qm_qemuargs_is_known_option(known[i]));
    for (gsize i = 0; i < G_N_ELEMENTS(unknown); i++)
        g_assert_false(qm_qemuargs_is_known_option(unknown[i]));
}

/**
 * main() - register and run the qemuargs tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_keep_going(&argc, &argv);
    qm_test_init(&argc, &argv);

    for (gsize i = 0; i < G_N_ELEMENTS(find_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/qemuargs/find-cpu/%s", find_cases[i].name);

        g_test_add_data_func(path, &find_cases[i], test_find_cpu);
    }
    g_test_add_func("/qemuargs/find-cpu/argc", test_find_cpu_argc);
    for (gsize i = 0; i < G_N_ELEMENTS(query_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/qemuargs/is-query/%s", query_cases[i].name);

        g_test_add_data_func(path, &query_cases[i], test_is_query);
    }
    g_test_add_func("/qemuargs/rewrite/replace", test_rewrite_replace);
    g_test_add_func("/qemuargs/rewrite/append", test_rewrite_append);
    g_test_add_func("/qemuargs/rewrite/append-empty",
                    test_rewrite_append_empty);
    g_test_add_func("/qemuargs/rewrite/null-value", test_rewrite_null_value);
    g_test_add_func("/qemuargs/rewrite/first-word", test_rewrite_first_word);
    for (gsize i = 0; i < G_N_ELEMENTS(spec_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/qemuargs/cpuspec/%s", spec_cases[i].name);

        g_test_add_data_func(path, &spec_cases[i], test_spec);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(spec_qemu_order_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/qemuargs/cpuspec/qemu-order/%s", spec_qemu_order_cases[i].name);

        g_test_add_data_func(path, &spec_qemu_order_cases[i],
                             test_spec_qemu_order);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(spec_errors); i++) {
        g_autofree char *path =
            g_strdup_printf("/qemuargs/cpuspec/error/%zu", i);

        g_test_add_data_func(path, spec_errors[i], test_spec_error);
    }
    g_test_add_func("/qemuargs/known-option", test_known_option);
    return g_test_run();
}
