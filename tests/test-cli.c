/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: qemu-mig's own command line.
 */
#include <string.h>

#include "testutil.h"
#include "wrapper/cli.h"
#include "wrapper/error.h"

#define MAX_ARGS 20

/* An argv (argv[0] included) and the options it must give. */
typedef struct {
    const char *name;
    const char *argv[MAX_ARGS];
    QmCommand command;
    const char *peers[8];
    const char *dests[4];
    int qemu_start;    /* index of the first QEMU word; -1: none */
    gint64 timeout_ms; /* 0: the default */
    int verbose;
    gboolean quiet;
    gboolean json;
    gboolean dry_run;
} CliCase;

static const CliCase cli_cases[] = {
    /* before migrate, --qmp is QEMU's (its -qmp, two dashes) */
    {
        .name = "qmp-is-qemus",
        .argv = {"qemu-mig", "--peer", "b", "--qmp", "unix:/s,server=on", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"b", NULL},
        .dests = {NULL},
        .qemu_start = 3,
    },
    {
        .name = "list-json",
        .argv = {"qemu-mig", "list", "--json", NULL},
        .command = QM_CMD_LIST,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
        .json = TRUE,
    },
    {
        .name = "peers-then-dashdash",
        .argv = {"qemu-mig", "--peer", "a", "--peer", "b,c", "--", "-cpu",
                 "host", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", "b", "c", NULL},
        .dests = {NULL},
        .qemu_start = 6,
    },
    {
        .name = "peer-equals",
        .argv = {"qemu-mig", "--peer=a", "-cpu", "host", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 2,
    },
    {
        .name = "peer-forms",
        .argv = {"qemu-mig", "--peer", "root@host-c:2222",
                 "--peer=user@10.0.0.1", "--peer", "alias_from_ssh_config",
                 NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"root@host-c:2222", "user@10.0.0.1", "alias_from_ssh_config",
                  NULL},
        .dests = {NULL},
        .qemu_start = -1,
    },
    {
        .name = "duplicates-removed",
        .argv = {"qemu-mig", "--peer", "a,b", "--peer", "b", "--peer=a,c",
                 "--peer", "c,a", "--", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", "b", "c", NULL},
        .dests = {NULL},
        .qemu_start = -1,
    },
    {
        .name = "explain-json",
        .argv = {"qemu-mig", "explain", "--json", "--peer", "a", "-cpu", "host",
                 NULL},
        .command = QM_CMD_EXPLAIN,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 5,
        .json = TRUE,
    },
    {
        .name = "explain-dashdash",
        .argv = {"qemu-mig", "explain", "--peer", "a", "--", "-cpu", "host",
                 NULL},
        .command = QM_CMD_EXPLAIN,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 5,
    },
    {
        .name = "probe-json",
        .argv = {"qemu-mig", "probe", "--json", "hostA", "hostB", NULL},
        .command = QM_CMD_PROBE,
        .peers = {NULL},
        .dests = {"hostA", "hostB", NULL},
        .qemu_start = -1,
        .json = TRUE,
    },
    {
        .name = "probe-no-dest",
        .argv = {"qemu-mig", "probe", NULL},
        .command = QM_CMD_PROBE,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
    },
    {
        .name = "probe-options-between",
        .argv = {"qemu-mig", "probe", "hostA", "--timeout", "3", "root@hostB",
                 NULL},
        .command = QM_CMD_PROBE,
        .peers = {NULL},
        .dests = {"hostA", "root@hostB", NULL},
        .qemu_start = -1,
        .timeout_ms = 3000,
    },
    {
        .name = "single-dash-starts-qemu",
        .argv = {"qemu-mig", "--peer", "a", "-vga", "std", "-cpu", "host",
                 NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 3,
    },
    {
        .name = "enable-kvm-starts-qemu",
        .argv = {"qemu-mig", "--peer", "a", "--enable-kvm", "-m", "1G", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 3,
    },
    {
        .name = "double-dash-cpu-starts-qemu",
        .argv = {"qemu-mig", "--cpu", "host", "--peer", "a", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 1,
    },
    {
        .name = "positional-starts-qemu",
        .argv = {"qemu-mig", "--peer", "a", "disk.img", "--peer", "b", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 3,
    },
    {
        .name = "dashdash-then-peer-is-qemu",
        .argv = {"qemu-mig", "--", "--peer", "x", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 2,
    },
    {
        .name = "options-after-qemu-untouched",
        .argv = {"qemu-mig", "-cpu", "host", "-v", "--peer", "a", "--json",
                 NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 1,
    },
    {
        .name = "defaults",
        .argv = {"qemu-mig", "-cpu", "host", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 1,
    },
    {
        .name = "nothing",
        .argv = {"qemu-mig", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
    },
    {
        .name = "verbose-quiet",
        .argv = {"qemu-mig", "-v", "-v", "-q", "--peer", "a", "-cpu", "host",
                 NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 6,
        .verbose = 2,
        .quiet = TRUE,
    },
    {
        .name = "verbose-long",
        .argv = {"qemu-mig", "--verbose", "-v", "--verbose", "--quiet", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
        .verbose = 3,
        .quiet = TRUE,
    },
    {
        .name = "timeout-fraction",
        .argv = {"qemu-mig", "--timeout", "2.5", "-cpu", "host", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 3,
        .timeout_ms = 2500,
    },
    {
        .name = "timeout-equals",
        .argv = {"qemu-mig", "--timeout=1", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
        .timeout_ms = 1000,
    },
    {
        .name = "timeout-max",
        .argv = {"qemu-mig", "--timeout", "3600", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
        .timeout_ms = 3600000,
    },
    {
        .name = "dry-run",
        .argv = {"qemu-mig", "--dry-run", "--peer", "a", "-m", "1G", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 4,
        .dry_run = TRUE,
    },
    {
        .name = "help",
        .argv = {"qemu-mig", "--help", NULL},
        .command = QM_CMD_HELP,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
    },
    {
        .name = "version",
        .argv = {"qemu-mig", "--version", NULL},
        .command = QM_CMD_VERSION,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = -1,
    },
    /* a QEMU -h/-help/-version belongs to QEMU, not qemu-mig */
    {
        .name = "qemu-help",
        .argv = {"qemu-mig", "-help", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 1,
    },
    {
        .name = "qemu-h",
        .argv = {"qemu-mig", "-h", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {NULL},
        .dests = {NULL},
        .qemu_start = 1,
    },
    {
        .name = "non-utf8-qemu-word",
        .argv = {"qemu-mig", "--peer", "a", "-name", "\xff\xfe", NULL},
        .command = QM_CMD_LAUNCH,
        .peers = {"a", NULL},
        .dests = {NULL},
        .qemu_start = 3,
    },
};

/**
 * str_array_equal() - a GPtrArray of strings equals a NULL-ended list
 * @array:  array of char *
 * @expect: expected strings, NULL-terminated
 */
static void str_array_equal(GPtrArray *array, const char *const *expect)
{
    guint n = 0;

    g_assert_nonnull(array);
    while (expect[n] != NULL)
        n++;
    g_assert_cmpuint(array->len, ==, n);
    for (guint i = 0; i < n; i++)
        g_assert_cmpstr(g_ptr_array_index(array, i), ==, expect[i]);
}

/**
 * test_cli() - parse one argv and compare every field
 * @data: CliCase
 */
static void test_cli(gconstpointer data)
{
    const CliCase *c = data;
    char *argv[MAX_ARGS];
    int argc = 0;
    int start;
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(GError) error = NULL;

    for (; c->argv[argc] != NULL; argc++)
        argv[argc] = (char *)c->argv[argc];
    argv[argc] = NULL;
    start = c->qemu_start < 0 ? argc : c->qemu_start;

    g_assert_true(qm_cli_parse(argc, argv, &opts, &error));
    g_assert_no_error(error);
    g_assert_nonnull(opts);
    g_assert_cmpint(opts->command, ==, c->command);
    str_array_equal(opts->peers, c->peers);
    str_array_equal(opts->dests, c->dests);
    g_assert_cmpint(opts->timeout_ms, ==,
                    c->timeout_ms ? c->timeout_ms : QM_DEFAULT_TIMEOUT_MS);
    g_assert_cmpint(opts->verbose, ==, c->verbose);
    g_assert_cmpint(opts->quiet, ==, c->quiet);
    g_assert_cmpint(opts->json, ==, c->json);
    g_assert_cmpint(opts->dry_run, ==, c->dry_run);

    /* QEMU's words are the very same pointers, never copies */
    g_assert_cmpint(opts->qemu_argc, ==, argc - start);
    g_assert_true(opts->qemu_argv == argv + start);
    for (int i = 0; i < opts->qemu_argc; i++)
        g_assert_true(opts->qemu_argv[i] == c->argv[start + i]);
    g_assert_null(opts->qemu_argv[opts->qemu_argc]);
}

/**
 * test_defaults() - no option: the documented defaults
 */
static void test_defaults(void)
{
    char *argv[] = {"qemu-mig", "-cpu", "host", NULL};
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(qm_cli_parse(3, argv, &opts, &error));
    g_assert_cmpstr(opts->remote_qemu, ==, "qemu-system-x86_64");
    g_assert_cmpstr(opts->remote_qemu, ==, QM_DEFAULT_REMOTE_QEMU);
    g_assert_cmpint(opts->timeout_ms, ==, 10000);
    g_assert_null(opts->qemu);
    g_assert_null(opts->ssh_config);
    g_assert_null(opts->identity);
    g_assert_null(opts->known_hosts);
    g_assert_false(opts->allow_cross_vendor);
    g_assert_false(opts->dry_run);
    g_assert_null(opts->runtime_dir);
    g_assert_false(opts->no_register);
    g_assert_cmpuint(opts->peers->len, ==, 0);
    g_assert_true(opts->qemu_argv[0] == argv[1]);
}

/**
 * test_value_options() - every value option lands in its own field
 */
static void test_value_options(void)
{
    char *argv[] = {
        "qemu-mig",
        "--qemu",
        "/opt/qemu/bin/qemu-system-x86_64",
        "--remote-qemu",
        "/usr/libexec/qemu-kvm",
        "--ssh-config=/tmp/ssh config",
        "--identity",
        "/tmp/id_ed25519",
        "--known-hosts",
        "/tmp/kh",
        "--allow-cross-vendor",
        "--remote-qemu",
        "sudo qemu-system-x86_64",
        "--runtime-dir",
        "/run/user/0/qm",
        "--no-register",
        "--",
        NULL,
    };
    int argc = G_N_ELEMENTS(argv) - 1;
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(qm_cli_parse(argc, argv, &opts, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(opts->qemu, ==, "/opt/qemu/bin/qemu-system-x86_64");
    /* the later --remote-qemu wins */
    g_assert_cmpstr(opts->remote_qemu, ==, "sudo qemu-system-x86_64");
    g_assert_cmpstr(opts->ssh_config, ==, "/tmp/ssh config");
    g_assert_cmpstr(opts->identity, ==, "/tmp/id_ed25519");
    g_assert_cmpstr(opts->known_hosts, ==, "/tmp/kh");
    g_assert_true(opts->allow_cross_vendor);
    g_assert_cmpstr(opts->runtime_dir, ==, "/run/user/0/qm");
    g_assert_true(opts->no_register);
    g_assert_cmpint(opts->qemu_argc, ==, 0);
    g_assert_null(opts->qemu_argv[0]);
}

/**
 * test_migrate_options() - every migrate option lands in its own field
 */
static void test_migrate_options(void)
{
    char *argv[] = {"qemu-mig",
                    "migrate",
                    "vm1",
                    "--to",
                    "hostB",
                    "--bandwidth",
                    "500M",
                    "--downtime=300",
                    "--auto-converge",
                    "--keep-source",
                    "--force",
                    "--migrate-timeout",
                    "10m",
                    "--remote-runtime-dir",
                    "/r",
                    "--migrate-address",
                    "10.0.0.2",
                    NULL};
    g_autoptr(QmOptions) opts = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(qm_cli_parse(G_N_ELEMENTS(argv) - 1, argv, &opts, &error));
    g_assert_no_error(error);
    g_assert_cmpint(opts->command, ==, QM_CMD_MIGRATE);
    g_assert_cmpstr(opts->guest, ==, "vm1");
    g_assert_null(opts->qmp);
    g_assert_cmpstr(opts->to, ==, "hostB");
    g_assert_cmpint(opts->bandwidth, ==, 500 * 1024 * 1024);
    g_assert_cmpint(opts->downtime_ms, ==, 300);
    g_assert_true(opts->auto_converge);
    g_assert_true(opts->keep_source);
    g_assert_true(opts->force);
    g_assert_cmpint(opts->migrate_timeout_s, ==, 600);
    g_assert_cmpstr(opts->remote_runtime_dir, ==, "/r");
    g_assert_cmpstr(opts->migrate_address, ==, "10.0.0.2");
}

/* An argv that must be refused as a usage error. */
typedef struct {
    const char *name;
    const char *argv[8];
    const char *mention; /* text the message must contain, or NULL */
} BadCase;

static const BadCase bad_cases[] = {
    {"migrate-no-to", {"qemu-mig", "migrate", "vm1", NULL}, "migrate"},
    {"migrate-both",
     {"qemu-mig", "migrate", "vm1", "--qmp", "/s", "--to", "b", NULL},
     "migrate"},
    {"migrate-neither", {"qemu-mig", "migrate", "--to", "b", NULL}, "migrate"},
    {"to-not-migrate",
     {"qemu-mig", "--to", "b", "--", "-m", "1G", NULL},
     "for migrate"},
    {"bandwidth-bad",
     {"qemu-mig", "migrate", "--bandwidth", "fast", NULL},
     "bandwidth"},
    {"migrate-timeout-bad",
     {"qemu-mig", "migrate", "--migrate-timeout", "soon", NULL},
     "migrate-timeout"},
    {"list-argument", {"qemu-mig", "list", "vm1", NULL}, "vm1"},
    {"no-register-value", {"qemu-mig", "--no-register=yes", NULL}, "takes"},
    {"runtime-dir-empty", {"qemu-mig", "--runtime-dir=", NULL}, "runtime-dir"},
    {"misspelt", {"qemu-mig", "--peeer", "x", NULL}, "peeer"},
    {"peer-no-value", {"qemu-mig", "--peer", NULL}, "peer"},
    /* g_strsplit("", ",", -1) gives no item: must still be refused */
    {"peer-empty", {"qemu-mig", "--peer", "", NULL}, NULL},
    {"peer-equals-empty", {"qemu-mig", "--peer=", "-cpu", "host", NULL}, NULL},
    {"peer-dash", {"qemu-mig", "--peer", "-x", NULL}, "-x"},
    {"peer-space", {"qemu-mig", "--peer", "a b", NULL}, NULL},
    {"peer-tab", {"qemu-mig", "--peer", "a\tb", NULL}, NULL},
    {"peer-newline", {"qemu-mig", "--peer", "a\nb", NULL}, NULL},
    {"peer-empty-item", {"qemu-mig", "--peer", "a,,b", NULL}, NULL},
    {"peer-trailing-comma", {"qemu-mig", "--peer", "a,", NULL}, NULL},
    {"timeout-zero", {"qemu-mig", "--timeout", "0", NULL}, "timeout"},
    {"timeout-word", {"qemu-mig", "--timeout", "abc", NULL}, "timeout"},
    {"timeout-negative", {"qemu-mig", "--timeout", "-1", NULL}, "timeout"},
    {"timeout-huge", {"qemu-mig", "--timeout", "99999", NULL}, "timeout"},
    {"timeout-empty", {"qemu-mig", "--timeout=", NULL}, "timeout"},
    {"timeout-suffix", {"qemu-mig", "--timeout", "5s", NULL}, "timeout"},
    {"timeout-nan", {"qemu-mig", "--timeout", "nan", NULL}, "timeout"},
    {"timeout-inf", {"qemu-mig", "--timeout", "inf", NULL}, "timeout"},
    {"timeout-no-value", {"qemu-mig", "--timeout", NULL}, "timeout"},
    {"flag-with-value", {"qemu-mig", "--dry-run=1", NULL}, "dry-run"},
    {"json-with-value", {"qemu-mig", "explain", "--json=yes", NULL}, "json"},
    {"json-in-launch", {"qemu-mig", "--json", "-cpu", "host", NULL}, "json"},
    {"qemu-empty", {"qemu-mig", "--qemu", "", NULL}, "qemu"},
    {"remote-qemu-empty", {"qemu-mig", "--remote-qemu=", NULL}, NULL},
    {"probe-qemu-args",
     {"qemu-mig", "probe", "hostA", "-cpu", "host", NULL},
     NULL},
    {"probe-bad-dest", {"qemu-mig", "probe", "a b", NULL}, NULL},
    {"unknown-long", {"qemu-mig", "--frobnicate", NULL}, "frobnicate"},
};

/**
 * test_bad() - a refused argv gives QM_ERROR_USAGE and no options
 * @data: BadCase
 */
static void test_bad(gconstpointer data)
{
    const BadCase *c = data;
    char *argv[8];
    int argc = 0;
    QmOptions *opts = NULL;
    g_autoptr(GError) error = NULL;

    if (!qm_test_isolated())
        return;
    for (; c->argv[argc] != NULL; argc++)
        argv[argc] = (char *)c->argv[argc];
    argv[argc] = NULL;

    g_assert_false(qm_cli_parse(argc, argv, &opts, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
    g_assert_null(opts);
    g_assert_cmpint(qm_error_exit_code(error), ==, 2);
    if (c->mention != NULL)
        g_assert_nonnull(strstr(error->message, c->mention));
}

/**
 * test_usage() - the help text names every option the parser knows
 */
static void test_usage(void)
{
    static const char *const options[] = {
        "--peer",     "--qemu",        "--remote-qemu", "--ssh-config",
        "--identity", "--known-hosts", "--timeout",     "--allow-cross-vendor",
        "--dry-run",  "--json",        "--verbose",     "--quiet",
        "--help",     "--version",     "explain",       "probe",
    };
    const char *text = qm_cli_usage();

    g_assert_nonnull(text);
    for (gsize i = 0; i < G_N_ELEMENTS(options); i++)
        g_assert_nonnull(strstr(text, options[i]));
}

/**
 * main() - register and run the cli tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_keep_going(&argc, &argv);
    qm_test_init(&argc, &argv);

    for (gsize i = 0; i < G_N_ELEMENTS(cli_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/cli/parse/%s", cli_cases[i].name);

        g_test_add_data_func(path, &cli_cases[i], test_cli);
    }
    g_test_add_func("/cli/defaults", test_defaults);
    g_test_add_func("/cli/value-options", test_value_options);
    g_test_add_func("/cli/migrate-options", test_migrate_options);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/cli/usage-error/%s", bad_cases[i].name);

        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    g_test_add_func("/cli/usage-text", test_usage);
    return g_test_run();
}
