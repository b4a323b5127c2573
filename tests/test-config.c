/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: the config file - where it is read from, the
 * precedence of command line, environment, file and built-in defaults,
 * groups, per-host settings, and every way a file can be broken.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "wrapper/cli.h"
#include "wrapper/config.h"
#include "wrapper/error.h"

/**
 * write_config() - a config file of the test's, mode 0600
 * @name: file name in the test's directory
 * @text: contents
 *
 * Return: newly allocated path
 */
static char *write_config(const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(qm_test_tmpdir(), name, NULL);

    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_assert_cmpint(chmod(path, 0600), ==, 0);
    return g_steal_pointer(&path);
}

/**
 * parse() - what qemu-mig makes of a command line and its config
 * @args:  NULL-terminated arguments after "qemu-mig"
 * @error: where a failure goes
 *
 * Return: the options, or NULL on failure
 */
static QmOptions *parse(const char *const *args, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(QmOptions) opts = NULL;
    QmConfig *config = NULL;

    g_ptr_array_add(argv, "qemu-mig");
    for (guint i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    if (!qm_cli_parse((int)argv->len - 1, (char **)argv->pdata, &opts, error) ||
        !qm_config_load(opts->config, opts->no_config, &config, error) ||
        !qm_config_apply(config, opts, error))
        return NULL;
    return g_steal_pointer(&opts);
}

/**
 * peers_of() - the peers as one string
 * @opts: options
 *
 * Return: newly allocated "a,b,c"
 */
static char *peers_of(const QmOptions *opts)
{
    g_ptr_array_add(opts->peers, NULL);
    g_ptr_array_set_size(opts->peers, opts->peers->len - 1);
    return g_strjoinv(",", (char **)opts->peers->pdata);
}

/**
 * test_precedence() - command line > environment > file > built-in
 */
static void test_precedence(void)
{
    g_autofree char *file =
        write_config("prec.conf", "# a sysadmin's defaults\n"
                                  "[defaults]\n"
                                  "timeout = 20\n"
                                  "peers=fileA;fileB\n"
                                  "cache-dir=/from/file\n"
                                  "allow-cross-vendor=true\n"
                                  "on-unreachable=fail\n");
    g_autoptr(GError) error = NULL;

    g_unsetenv("QEMU_MIG_PEERS");
    g_unsetenv("QEMU_MIG_CACHE_DIR");
    {
        /* built-in */
        const char *args[] = {"--no-config", "--", "-m", "1G", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);
        g_autofree char *peers = NULL;

        g_assert_no_error(error);
        g_assert_cmpint(o->timeout_ms, ==, QM_DEFAULT_TIMEOUT_MS);
        peers = peers_of(o);
        g_assert_cmpstr(peers, ==, "");
        g_assert_null(o->cache_dir);
        g_assert_false(o->allow_cross_vendor);
        g_assert_true(o->stale_ok);
    }
    {
        /* the file */
        const char *args[] = {"--config", file, "--", "-m", "1G", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);
        g_autofree char *peers = NULL;

        g_assert_no_error(error);
        g_assert_cmpint(o->timeout_ms, ==, 20000);
        peers = peers_of(o);
        g_assert_cmpstr(peers, ==, "fileA,fileB");
        g_assert_cmpstr(o->cache_dir, ==, "/from/file");
        g_assert_true(o->allow_cross_vendor);
        g_assert_false(o->stale_ok);
    }
    {
        /* the environment over the file */
        const char *args[] = {"--config", file, NULL};
        g_autoptr(QmOptions) o = NULL;
        g_autofree char *peers = NULL;

        g_setenv("QEMU_MIG_PEERS", "envA,envB", TRUE);
        g_setenv("QEMU_MIG_CACHE_DIR", "/from/env", TRUE);
        o = parse(args, &error);
        g_assert_no_error(error);
        peers = peers_of(o);
        g_assert_cmpstr(peers, ==, "envA,envB");
        /* cache.c reads the variable: the file must not come first */
        g_assert_null(o->cache_dir);
    }
    {
        /* the command line over both */
        const char *args[] = {
            "--config",    file,        "--timeout",
            "5",           "--peer",    "cliA",
            "--cache-dir", "/from/cli", "--on-unreachable=stale",
            NULL};
        g_autoptr(QmOptions) o = parse(args, &error);
        g_autofree char *peers = NULL;

        g_assert_no_error(error);
        g_assert_cmpint(o->timeout_ms, ==, 5000);
        peers = peers_of(o);
        g_assert_cmpstr(peers, ==, "cliA");
        g_assert_cmpstr(o->cache_dir, ==, "/from/cli");
        g_assert_true(o->stale_ok);
    }
    g_unsetenv("QEMU_MIG_PEERS");
    g_unsetenv("QEMU_MIG_CACHE_DIR");
}

/**
 * test_where() - $XDG_CONFIG_HOME/qemu-mig/config by default; --no-config
 * reads none; a --config FILE that is missing is an error, a default file
 * that is missing is none
 */
static void test_where(void)
{
    g_autofree char *dir =
        g_build_filename(g_get_user_config_dir(), "qemu-mig", NULL);
    g_autofree char *path = g_build_filename(dir, "config", NULL);
    g_autoptr(GError) error = NULL;

    {
        const char *args[] = {"probe", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_cmpint(o->timeout_ms, ==, QM_DEFAULT_TIMEOUT_MS);
    }
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(
        g_file_set_contents(path, "[defaults]\ntimeout=33\n", -1, NULL));
    g_assert_cmpint(chmod(path, 0644), ==, 0);
    {
        const char *args[] = {"probe", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_cmpint(o->timeout_ms, ==, 33000);
        g_assert_cmpstr(qm_config_path(o->config_file), ==, path);
    }
    {
        const char *args[] = {"probe", "--no-config", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_cmpint(o->timeout_ms, ==, QM_DEFAULT_TIMEOUT_MS);
    }
    {
        g_autofree char *missing =
            g_build_filename(qm_test_tmpdir(), "no-such.conf", NULL);
        const char *args[] = {"probe", "--config", missing, NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_null(o);
        g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
        g_assert_nonnull(strstr(error->message, missing));
        g_clear_error(&error);
    }
    {
        const char *args[] = {"probe", "--config", path, "--no-config", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_null(o);
        g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
        g_clear_error(&error);
    }
    unlink(path);
}

/**
 * test_groups() - @groups expand (nested, each host once, in order) on
 * the command line, in [defaults] peers and in probe's destinations, and
 * each host remembers the group it came through
 */
static void test_groups(void)
{
    g_autofree char *file =
        write_config("groups.conf", "[group lab]\n"
                                    "hosts=deb1;@rhel\n"
                                    "\n"
                                    "[group rhel]\n"
                                    "hosts=rhel1;rhel2;deb1\n"
                                    "[defaults]\n"
                                    "peers=@rhel\n");
    g_autoptr(GError) error = NULL;

    g_unsetenv("QEMU_MIG_PEERS");
    {
        const char *args[] = {"--config", file, "--peer", "x,@lab", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);
        g_autofree char *peers = NULL;

        g_assert_no_error(error);
        peers = peers_of(o);
        g_assert_cmpstr(peers, ==, "x,deb1,rhel1,rhel2");
        g_assert_null(g_hash_table_lookup(o->peer_group, "x"));
        g_assert_cmpstr(g_hash_table_lookup(o->peer_group, "rhel2"), ==,
                        "@lab");
    }
    {
        const char *args[] = {"--config", file, NULL};
        g_autoptr(QmOptions) o = parse(args, &error);
        g_autofree char *peers = NULL;

        g_assert_no_error(error);
        peers = peers_of(o);
        g_assert_cmpstr(peers, ==, "rhel1,rhel2,deb1");
        g_assert_cmpstr(g_hash_table_lookup(o->peer_group, "deb1"), ==,
                        "@rhel");
    }
    {
        const char *args[] = {"probe", "--config", file, "@rhel", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_cmpuint(o->dests->len, ==, 3);
        g_assert_cmpstr(g_ptr_array_index(o->dests, 2), ==, "deb1");
    }
    {
        const char *args[] = {"--config", file, "--peer", "@nope", NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_null(o);
        g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
        g_assert_nonnull(strstr(error->message, "@nope"));
        g_clear_error(&error);
    }
}

/**
 * test_hosts() - [host NAME] settings apply to NAME however it is
 * written (user@NAME, NAME:port), not to others; the command line's
 * option wins over them
 */
static void test_hosts(void)
{
    g_autofree char *file = write_config(
        "hosts.conf", "[defaults]\n"
                      "remote-qemu=qemu-system-x86_64 -nodefaults\n"
                      "[host rhel1]\n"
                      "remote-qemu=/usr/libexec/qemu-kvm\n"
                      "remote-runtime-dir=/run/user/0/qm\n");
    g_autoptr(GError) error = NULL;

    {
        const char *args[] = {"--config", file, NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_cmpstr(qm_options_remote_qemu(o, "rhel1"), ==,
                        "/usr/libexec/qemu-kvm");
        g_assert_cmpstr(qm_options_remote_qemu(o, "root@rhel1:2222"), ==,
                        "/usr/libexec/qemu-kvm");
        g_assert_cmpstr(qm_options_remote_qemu(o, "deb2"), ==,
                        "qemu-system-x86_64 -nodefaults");
        g_assert_cmpstr(qm_options_host_value(o, "rhel1", "remote-runtime-dir"),
                        ==, "/run/user/0/qm");
        g_assert_null(qm_options_host_value(o, "deb2", "remote-runtime-dir"));
    }
    {
        const char *args[] = {"--config", file, "--remote-qemu", "/opt/q",
                              NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_cmpstr(qm_options_remote_qemu(o, "rhel1"), ==, "/opt/q");
        g_assert_cmpstr(qm_options_remote_qemu(o, "deb2"), ==, "/opt/q");
    }
}

/**
 * BrokenCase - a config file qemu-mig must refuse
 * @name: test name
 * @text: the file
 * @line: the line the error must name, 0 for none
 * @what: text the error must hold
 */
typedef struct {
    const char *name;
    const char *text;
    int line;
    const char *what;
} BrokenCase;

static const BrokenCase broken[] = {
    {"syntax", "[defaults]\ntimeout=3\nthis is not a key\n", 3, "key=value"},
    {"key-before-section", "timeout=3\n[defaults]\n", 1, "before any"},
    {"unclosed-section", "[defaults\ntimeout=3\n", 1, "']'"},
    {"duplicate-section", "[defaults]\n[host a]\n[defaults]\n", 3, "again"},
    {"unknown-section", "[defaults]\n\n[hosts a]\nremote-qemu=x\n", 3,
     "unknown section"},
    {"unknown-key", "[defaults]\ntimeout=3\ntimout=4\n", 3, "timout"},
    {"unknown-host-key", "[host a]\ntimeout=4\n", 2, "unknown key"},
    {"wrong-type", "[defaults]\n\ntimeout=soon\n", 3, "timeout"},
    {"wrong-bool", "[defaults]\nallow-cross-vendor=maybe\n", 2,
     "true or false"},
    {"wrong-choice", "[defaults]\non-unreachable=retry\n", 2, "stale or fail"},
    {"empty-value", "[defaults]\nqemu=\n", 2, "empty"},
    {"relative-dir", "[host a]\nremote-runtime-dir=run/qm\n", 2, "absolute"},
    {"unknown-group", "[group lab]\nhosts=a;@nowhere\n", 2, "@nowhere"},
    {"cycle", "[group a]\nhosts=x;@b\n[group b]\nhosts=@a\n", 0, "cycle"},
    {"group-without-hosts", "[group a]\nmembers=x\n", 2, "unknown key"},
    {"peers-unknown-group", "[defaults]\npeers=a;@lab\n", 2, "group"},
    {"not-utf8", "[defaults]\nqemu=\xff\n", 0, "UTF-8"},
};

/**
 * test_broken() - a broken file is exit 2 naming the file, the line and
 * the key, however little of it this run would use
 * @data: BrokenCase
 */
static void test_broken(gconstpointer data)
{
    const BrokenCase *c = data;
    g_autofree char *name = g_strdup_printf("broken-%s.conf", c->name);
    g_autofree char *file = write_config(name, c->text);
    g_autoptr(GError) error = NULL;
    const char *args[] = {"list", "--config", file, NULL};
    g_autoptr(QmOptions) o = parse(args, &error);

    g_assert_null(o);
    g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, file));
    g_assert_nonnull(strstr(error->message, c->what));
    if (c->line > 0) {
        g_autofree char *at = g_strdup_printf("%s:%d:", file, c->line);

        g_assert_nonnull(strstr(error->message, at));
    }
    g_assert_null(strchr(error->message, '\n'));
}

/**
 * test_permissions() - a file others may write, or someone else's, is
 * refused as the cache is (exit 8): it decides what runs
 */
static void test_permissions(void)
{
    g_autofree char *file = write_config("perm.conf", "[defaults]\n");
    g_autoptr(GError) error = NULL;
    const char *args[] = {"list", "--config", file, NULL};

    for (int k = 0; k < 3; k++) {
        g_autoptr(QmOptions) o = NULL;

        g_assert_cmpint(chmod(file, k == 0   ? 0664
                                    : k == 1 ? 0606
                                             : 0600),
                        ==, 0);
        if (k == 2) {
            /* owned by another user (the test may run as root: chown) */
            if (getuid() != 0) {
                g_test_message("not root: the other-owner case is skipped");
                break;
            }
            g_assert_cmpint(chown(file, 4242, 4242), ==, 0);
        }
        o = parse(args, &error);
        g_assert_null(o);
        g_assert_error(error, QM_ERROR, QM_ERROR_CACHE);
        g_assert_nonnull(strstr(error->message, file));
        g_clear_error(&error);
    }
    /* root's own file, read-only to others: fine */
    if (getuid() == 0) {
        g_autoptr(QmOptions) o = NULL;

        g_assert_cmpint(chown(file, 0, 0), ==, 0);
        g_assert_cmpint(chmod(file, 0644), ==, 0);
        o = parse(args, &error);
        g_assert_no_error(error);
    }
}

/**
 * test_dropin() - named qemu-system-x86_64, every argument is QEMU's,
 * "--peer" and "--help" included; peers come from the environment
 */
static void test_dropin(void)
{
    const char *argv[] = {"/usr/local/bin/qemu-system-x86_64",
                          "--peer",
                          "x",
                          "--help",
                          "-cpu",
                          "host",
                          NULL};
    g_autoptr(QmOptions) o = NULL;
    g_autoptr(GError) error = NULL;
    QmConfig *config = NULL;
    g_autofree char *peers = NULL;

    g_setenv("QEMU_MIG_PEERS", "hostB,hostC", TRUE);
    g_assert_true(qm_cli_parse(6, (char **)argv, &o, &error));
    g_assert_true(o->dropin);
    g_assert_cmpint(o->command, ==, QM_CMD_LAUNCH);
    g_assert_cmpint(o->qemu_argc, ==, 5);
    g_assert_cmpstr(o->qemu_argv[0], ==, "--peer");
    g_assert_true(qm_config_load(NULL, FALSE, &config, &error));
    g_assert_true(qm_config_apply(config, o, &error));
    peers = peers_of(o);
    g_assert_cmpstr(peers, ==, "hostB,hostC");
    g_unsetenv("QEMU_MIG_PEERS");
}

/**
 * test_example() - the installed example is a valid config as shipped,
 * and with every commented-out setting switched on
 */
static void test_example(void)
{
    g_autofree char *src = g_build_filename(g_getenv("G_TEST_SRCDIR"), "..",
                                            "contrib", "config.example", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) on = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_get_contents(src, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        const char *l = lines[i];

        /* "#key=value" and "#[section]" are settings; "# text" is prose */
        if (l[0] == '#' && (g_ascii_isalpha(l[1]) || l[1] == '['))
            l++;
        g_string_append_printf(on, "%s\n", l);
    }
    for (int k = 0; k < 2; k++) {
        g_autofree char *file = write_config(
            k ? "example-on.conf" : "example.conf", k ? on->str : text);
        const char *args[] = {"list", "--config", file, NULL};
        g_autoptr(QmOptions) o = parse(args, &error);

        g_assert_no_error(error);
        g_assert_nonnull(o);
        if (k == 1) {
            g_assert_cmpint(o->timeout_ms, ==, 20000);
            g_assert_cmpstr(qm_options_remote_qemu(o, "rhel1"), ==,
                            "sudo -n /usr/libexec/qemu-kvm");
        }
    }
}

/**
 * main() - register and run the config tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    g_test_add_func("/config/precedence", test_precedence);
    g_test_add_func("/config/where", test_where);
    g_test_add_func("/config/groups", test_groups);
    g_test_add_func("/config/hosts", test_hosts);
    g_test_add_func("/config/permissions", test_permissions);
    g_test_add_func("/config/dropin", test_dropin);
    g_test_add_func("/config/example", test_example);
    for (gsize i = 0; i < G_N_ELEMENTS(broken); i++) {
        g_autofree char *path =
            g_strdup_printf("/config/broken/%s", broken[i].name);

        g_test_add_data_func(path, &broken[i], test_broken);
    }
    return g_test_run();
}
