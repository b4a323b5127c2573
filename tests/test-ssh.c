/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: qm_ssh_run() against real OpenSSH sshd instances.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "../remote/ssh.h"
#include "../remote/sshforward.h"
#include "../wrapper/monitor.h"
#include "../wrapper/hosts.h"
#include "../wrapper/error.h"
#include "sshd.h"
#include "testutil.h"

#define TIMEOUT_US (20 * G_USEC_PER_SEC)
#define MAX_OUT    (16 * 1024 * 1024)

static char *skip_reason;
static QmTestSshd *peer1;
static QmTestSshd *peer2;

/**
 * need_peers() - start the two shared sshd instances on first use
 *
 * Lazily, so that listing tests (-l) starts nothing.
 *
 * Return: FALSE (test skipped) when sshd is not available
 */
static gboolean need_peers(void)
{
    if (skip_reason != NULL) {
        g_test_skip(skip_reason);
        return FALSE;
    }
    if (peer1 == NULL) {
        peer1 = qm_test_sshd_start("peer1");
        peer2 = qm_test_sshd_start("peer2");
    }
    return TRUE;
}

/**
 * scratch_path() - a file name in this test process's scratch directory
 * @name: base name
 *
 * Return: newly allocated path
 */
static char *scratch_path(const char *name)
{
    return g_build_filename(qm_test_tmpdir(), name, NULL);
}

/**
 * write_scratch() - write a file into the scratch directory
 * @name:     base name
 * @contents: NUL-terminated contents
 *
 * Return: newly allocated path of the file
 */
static char *write_scratch(const char *name, const char *contents)
{
    g_autoptr(GError) error = NULL;
    char *path = scratch_path(name);

    g_file_set_contents(path, contents, -1, &error);
    g_assert_no_error(error);
    return path;
}

/**
 * host_key_of() - "TYPE BASE64" host key of an instance, from its
 *                 known_hosts
 * @sshd: instance
 *
 * Return: newly allocated key
 */
static char *host_key_of(const QmTestSshd *sshd)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *line = NULL;
    char *space;

    g_file_get_contents(sshd->known_hosts, &line, NULL, &error);
    g_assert_no_error(error);
    space = strchr(g_strstrip(line), ' ');
    g_assert_nonnull(space);
    return g_strdup(space + 1);
}

/**
 * options_for() - explicit identity and known_hosts options for a peer
 * @sshd: instance
 *
 * Return: options pointing into @sshd
 */
static QmSshOptions options_for(const QmTestSshd *sshd)
{
    return (QmSshOptions){
        .identity = sshd->identity,
        .known_hosts = sshd->known_hosts,
    };
}

/**
 * run() - qm_ssh_run() plus the checks every call must pass
 * @dest:      destination
 * @options:   SSH options
 * @command:   remote command
 * @input:     stdin bytes
 * @input_len: how many
 * @max_out:   stdout bound
 * @timeout:   microseconds from now to the deadline
 * @result:    set on success
 * @error:     set on failure
 *
 * No descriptor may outlive the call, a result comes exactly with success,
 * and an error is one line that starts with the destination.
 *
 * Return: what qm_ssh_run() returned
 */
static gboolean run(const char *dest, const QmSshOptions *options,
                    const char *command, const void *input, gsize input_len,
                    gsize max_out, gint64 timeout, QmSshResult **result,
                    GError **error)
{
    guint fds = qm_test_count_fds();
    gint64 start = g_get_monotonic_time();
    gboolean ok;

    /* A result left from an earlier call would leak */
    g_assert_null(*result);
    ok = qm_ssh_run(dest, options, command, input, input_len, max_out,
                    start + timeout, result, error);
    g_test_message("%s: %s in %.3f s%s%s", dest, ok ? "ok" : "failed",
                   (g_get_monotonic_time() - start) / 1e6, ok ? "" : ": ",
                   ok ? "" : (*error)->message);

    g_assert_cmpuint(qm_test_count_fds(), ==, fds);
    if (ok) {
        g_assert_null(*error);
        g_assert_nonnull(*result);
        g_assert_nonnull((*result)->out);
        g_assert_nonnull((*result)->err);
    } else {
        g_assert_nonnull(*error);
        g_assert_null(*result);
        g_assert_true(g_str_has_prefix((*error)->message, dest));
        g_assert_null(strchr((*error)->message, '\n'));
        g_assert_false(g_str_has_suffix((*error)->message, "."));
    }
    return ok;
}

/**
 * test_basic() - stdout, stderr and exit status come back separately
 */
static void test_basic(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;
    guint sessions;

    if (!need_peers())
        return;
    o = options_for(peer1);
    sessions = qm_test_sshd_count_sessions(peer1);
    run(peer1->dest, &o, "echo hello; echo err >&2; exit 3", NULL, 0, MAX_OUT,
        TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "hello\n", 6);
    g_assert_cmpstr(r->err, ==, "err\n");
    g_assert_cmpint(r->exit_status, ==, 3);
    g_assert_cmpuint(qm_test_sshd_count_sessions(peer1), ==, sessions + 1);
}

/**
 * test_exit_zero_no_input() - stdin gets EOF even when there is no input
 */
static void test_exit_zero_no_input(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    /* cat only ends if stdin gets EOF */
    run(peer1->dest, &o, "cat", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(r->out->len, ==, 0);
    g_assert_cmpstr(r->err, ==, "");
    g_assert_cmpint(r->exit_status, ==, 0);
}

/**
 * test_exit_signal() - a command killed by a signal has no exit status
 */
static void test_exit_signal(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    run(peer1->dest, &o, "echo before; kill -KILL $$", NULL, 0, MAX_OUT,
        TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "before\n", 7);
    g_assert_cmpint(r->exit_status, ==, -1);
}

/**
 * test_connection_lost() - a peer dropping the connection mid-command
 *                          fails as unreachable, without waiting
 */
static void test_connection_lost(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;
    gint64 elapsed;

    if (!need_peers())
        return;
    o = options_for(peer1);
    elapsed = g_get_monotonic_time();
    /* The shell's parent is the sshd process serving this connection */
    run(peer1->dest, &o, "echo started; exec kill -KILL $PPID", NULL, 0,
        MAX_OUT, TIMEOUT_US, &r, &error);
    elapsed = g_get_monotonic_time() - elapsed;
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "connection lost"));
    g_assert_cmpint(elapsed, <, 5 * G_USEC_PER_SEC);
}

/**
 * test_cat_binary() - 1 MiB of every byte value goes through cat intact
 *
 * Bigger than both SSH windows, so it also proves input and output flow
 * at the same time instead of deadlocking.
 */
static void test_cat_binary(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GRand) rand = g_rand_new_with_seed(42);
    gsize len = 1024 * 1024;
    g_autofree guint8 *data = g_malloc(len);
    QmSshOptions o;

    if (!need_peers())
        return;
    for (gsize i = 0; i < len; i++)
        data[i] = i < 256 ? (guint8)i : (guint8)g_rand_int_range(rand, 0, 256);
    o = options_for(peer1);
    run(peer1->dest, &o, "cat", data, len, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, data, len);
    g_assert_cmpint(r->exit_status, ==, 0);
}

/**
 * test_unread_input() - a command may exit without reading its input
 */
static void test_unread_input(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    gsize len = 8 * 1024 * 1024;
    g_autofree char *data = g_malloc0(len);
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    run(peer1->dest, &o, "echo early", data, len, MAX_OUT, TIMEOUT_US, &r,
        &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "early\n", 6);
    g_assert_cmpint(r->exit_status, ==, 0);
}

/**
 * test_alias_config() - a Host alias resolved through options->ssh_config
 */
static void test_alias_config(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o = {0};
    guint sessions1, sessions2;

    if (!need_peers())
        return;
    o.ssh_config = peer2->ssh_config;
    sessions1 = qm_test_sshd_count_sessions(peer1);
    sessions2 = qm_test_sshd_count_sessions(peer2);
    run(peer2->alias, &o, "echo $USER", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
        &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "root\n", 5);
    g_assert_cmpuint(qm_test_sshd_count_sessions(peer2), ==, sessions2 + 1);
    g_assert_cmpuint(qm_test_sshd_count_sessions(peer1), ==, sessions1);
}

/**
 * test_explicit_beats_config() - user@ and :port in the destination win
 *                                over User and Port from ssh_config
 */
static void test_explicit_beats_config(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *contents = NULL;
    g_autofree char *config = NULL;
    g_autofree char *dest = NULL;
    QmSshOptions o = {0};

    if (!need_peers())
        return;
    contents = g_strdup_printf("Host wrongpeer\n"
                               "    HostName 127.0.0.1\n"
                               "    Port 1\n"
                               "    User nobody\n"
                               "    IdentityFile \"%s\"\n"
                               "    UserKnownHostsFile \"%s\"\n",
                               peer1->identity, peer1->known_hosts);
    config = write_scratch("ssh_config-wrongpeer", contents);
    o.ssh_config = config;

    /* Control: the config's Port is honoured, and nothing listens there */
    run("wrongpeer", &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "port 1"));
    g_clear_error(&error);

    dest = g_strdup_printf("root@wrongpeer:%d", peer1->port);
    run(dest, &o, "echo $USER", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "root\n", 5);
}

/**
 * test_home_dot_ssh() - with no options, $HOME/.ssh (not the passwd home
 *                       directory) provides config, key and known_hosts
 */
static void test_home_dot_ssh(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dot_ssh = NULL;
    g_autofree char *config = NULL;
    g_autofree char *config_path = NULL;
    g_autofree char *key = NULL;
    g_autofree char *key_path = NULL;
    g_autofree char *known = NULL;
    g_autofree char *known_path = NULL;
    QmSshOptions o = {0};

    if (!need_peers())
        return;
    dot_ssh = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    g_assert_cmpint(g_mkdir_with_parents(dot_ssh, 0700), ==, 0);

    /* Without anything in $HOME/.ssh, the host key is unknown */
    run(peer2->dest, NULL, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_HOSTKEY);
    g_assert_nonnull(strstr(error->message, dot_ssh));
    g_assert_nonnull(strstr(error->message, "does not exist"));
    g_clear_error(&error);

    config = g_strdup_printf("Host homepeer\n"
                             "    HostName 127.0.0.1\n"
                             "    Port %d\n"
                             "    User root\n",
                             peer2->port);
    config_path = g_build_filename(dot_ssh, "config", NULL);
    g_assert_true(g_file_set_contents(config_path, config, -1, NULL));
    g_assert_true(g_file_get_contents(peer2->identity, &key, NULL, NULL));
    key_path = g_build_filename(dot_ssh, "id_ed25519", NULL);
    g_assert_true(g_file_set_contents(key_path, key, -1, NULL));
    g_assert_cmpint(g_chmod(key_path, 0600), ==, 0);
    g_assert_true(g_file_get_contents(peer2->known_hosts, &known, NULL, NULL));
    known_path = g_build_filename(dot_ssh, "known_hosts", NULL);
    g_assert_true(g_file_set_contents(known_path, known, -1, NULL));

    run("homepeer", NULL, "echo home", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
        &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "home\n", 5);
    g_clear_pointer(&r, qm_ssh_result_free);

    /* "~" in a file option also means $HOME */
    o.identity = peer2->identity;
    o.known_hosts = "~/.ssh/known_hosts";
    g_assert_cmpint(g_unlink(config_path), ==, 0);
    g_assert_cmpint(g_unlink(key_path), ==, 0);
    run(peer2->dest, &o, "echo tilde", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
        &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "tilde\n", 6);

    /* Later tests expect an empty $HOME/.ssh */
    g_assert_cmpint(g_unlink(known_path), ==, 0);
}

/**
 * test_hostkey_unknown() - a host key missing from known_hosts is refused,
 *                          naming the host and the key's fingerprint
 */
static void test_hostkey_unknown(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *empty = NULL;
    g_autofree char *host = NULL;
    QmSshOptions o;
    guint sessions;

    if (!need_peers())
        return;
    empty = write_scratch("known_hosts-empty", "");
    o = options_for(peer1);
    o.known_hosts = empty;
    sessions = qm_test_sshd_count_sessions(peer1);
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_HOSTKEY);
    host = g_strdup_printf("[127.0.0.1]:%d", peer1->port);
    g_assert_nonnull(strstr(error->message, "unknown host key"));
    g_assert_nonnull(strstr(error->message, host));
    g_assert_nonnull(strstr(error->message, peer1->fingerprint));
    /* Refused before authentication: no key of ours was offered */
    g_assert_cmpuint(qm_test_sshd_count_sessions(peer1), ==, sessions);
}

/**
 * test_key_route() - the cache key tells hosts behind different proxies
 *                    or with different HostKeyAliases apart, and two
 *                    aliases of one direct host not
 *
 * 10.0.0.5 at site A and 10.0.0.5 at site B, each behind its own jump
 * host, are two hosts: they must not share a cached profile.
 */
static void test_key_route(void)
{
    static const char config_text[] =
        "Host site-a\n"
        "    HostName 10.0.0.5\n"
        "    User root\n"
        "    ProxyCommand ssh -W %h:%p jump-a.example\n"
        "Host site-b\n"
        "    HostName 10.0.0.5\n"
        "    User root\n"
        "    ProxyJump jump-b.example\n"
        "Host direct-1 direct-2\n"
        "    HostName 10.0.0.5\n"
        "    User root\n"
        "Host forwarded-x\n"
        "    HostName 10.0.0.5\n"
        "    User root\n"
        "    HostKeyAlias x.example\n";
    g_autofree char *config = write_scratch("config-routes", config_text);
    QmSshOptions o = {.ssh_config = config};
    const char *dests[] = {"site-a", "site-b", "direct-1", "direct-2",
                           "forwarded-x"};
    char *keys[G_N_ELEMENTS(dests)];

    for (gsize i = 0; i < G_N_ELEMENTS(dests); i++) {
        g_autoptr(GError) error = NULL;

        g_assert_true(qm_hosts_peer_key(
            dests[i], &o, "qemu-system-x86_64", NULL,
            g_get_monotonic_time() + TIMEOUT_US, &keys[i], NULL, NULL, &error));
        g_assert_no_error(error);
        g_test_message("%s: %s", dests[i], keys[i]);
    }
    g_assert_cmpstr(keys[0], !=, keys[1]);
    g_assert_cmpstr(keys[0], !=, keys[2]);
    g_assert_cmpstr(keys[1], !=, keys[2]);
    g_assert_nonnull(strstr(keys[0], "jump-a.example"));
    g_assert_nonnull(strstr(keys[1], "jump-b.example"));
    g_assert_cmpstr(keys[2], ==, keys[3]);
    /* the same address, where another host key is expected */
    g_assert_cmpstr(keys[4], !=, keys[2]);
    g_assert_nonnull(strstr(keys[4], "x.example"));
    for (gsize i = 0; i < G_N_ELEMENTS(dests); i++)
        g_free(keys[i]);
}

/**
 * ssh_succeeds() - run OpenSSH's ssh(1), the reference, quietly
 * @argv: its command line, "ssh" first
 *
 * Return: TRUE when it exited 0
 */
static gboolean ssh_succeeds(const char *const *argv)
{
    int status = -1;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                               G_SPAWN_SEARCH_PATH |
                                   G_SPAWN_STDOUT_TO_DEV_NULL |
                                   G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
    return g_spawn_check_wait_status(status, NULL);
}

/**
 * openssh_accepts() - does OpenSSH's own ssh(1) accept peer1's host key
 *                     with this known_hosts file?
 * @known_hosts: the only known_hosts file
 *
 * The reference for the rules qemu-mig follows: BatchMode, strict host
 * key checking, no other file.
 *
 * Return: TRUE when ssh ran the command
 */
static gboolean openssh_accepts(const char *known_hosts)
{
    g_autofree char *port = g_strdup_printf("%d", peer1->port);
    g_autofree char *ukh =
        g_strdup_printf("UserKnownHostsFile=%s", known_hosts);
    const char *argv[] = {"ssh",
                          "-F",
                          "/dev/null",
                          "-o",
                          "BatchMode=yes",
                          "-o",
                          "StrictHostKeyChecking=yes",
                          "-o",
                          ukh,
                          "-o",
                          "GlobalKnownHostsFile=/dev/null",
                          "-i",
                          peer1->identity,
                          "-p",
                          port,
                          "root@127.0.0.1",
                          "true",
                          NULL};

    return ssh_succeeds(argv);
}

/**
 * test_hostkey_openssh_rules() - known_hosts means what it means to ssh(1):
 *                                a @revoked key, a host only a negated
 *                                pattern names, hashed names, known_hosts2
 */
static void test_hostkey_openssh_rules(void)
{
    g_autofree char *line = NULL;
    g_autofree char *ssh = NULL;
    g_autofree char *pub = NULL;
    g_autofree char *key = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;
    struct {
        const char *what;
        char *text;
        gboolean accept;
        const char *why;
    } cases[4];

    if (!need_peers())
        return;
    ssh = g_find_program_in_path("ssh");
    if (ssh == NULL) {
        g_test_skip("no ssh(1) to compare with");
        return;
    }
    g_assert_true(g_file_get_contents(peer1->known_hosts, &line, NULL, NULL));
    g_strstrip(line);
    /* "[127.0.0.1]:PORT TYPE BASE64" */
    key = g_strdup(strchr(line, ' ') + 1);
    cases[0].what = "plain";
    cases[0].text = g_strdup_printf("%s\n", line);
    cases[0].accept = TRUE;
    cases[0].why = NULL;
    cases[1].what = "revoked";
    cases[1].text = g_strdup_printf("%s\n@revoked * %s\n", line, key);
    cases[1].accept = FALSE;
    cases[1].why = "REVOKED";
    cases[2].what = "negated";
    cases[2].text = g_strdup_printf("[127.0.0.*]:%d,![127.0.0.1]:%d %s\n",
                                    peer1->port, peer1->port, key);
    cases[2].accept = FALSE;
    cases[2].why = "unknown host key";
    cases[3].what = "hashed";
    cases[3].text = g_strdup_printf("%s\n", line);
    cases[3].accept = TRUE;
    cases[3].why = NULL;
    o = options_for(peer1);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(QmSshResult) r = NULL;
        g_autofree char *name = g_strdup_printf("kh-%s", cases[i].what);
        g_autofree char *file = write_scratch(name, cases[i].text);

        if (strcmp(cases[i].what, "hashed") == 0) {
            const char *argv[] = {"ssh-keygen", "-q", "-H", "-f", file, NULL};
            g_autofree char *hashed = NULL;

            g_assert_true(
                g_spawn_sync(NULL, (char **)argv, NULL,
                             G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                             NULL, NULL, NULL, NULL, NULL, NULL));
            g_assert_true(g_file_get_contents(file, &hashed, NULL, NULL));
            g_assert_true(g_str_has_prefix(hashed, "|1|"));
        }
        g_test_message("%s: ssh(1) %s", cases[i].what,
                       openssh_accepts(file) ? "accepts" : "refuses");
        g_assert_cmpint(openssh_accepts(file), ==, cases[i].accept);
        o.known_hosts = file;
        run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
        if (cases[i].accept) {
            g_assert_no_error(error);
        } else {
            g_assert_error(error, QM_ERROR, QM_ERROR_HOSTKEY);
            g_assert_nonnull(strstr(error->message, cases[i].why));
            g_assert_cmpint(qm_error_exit_code(error), ==, 4);
            g_clear_error(&error);
        }
        g_free(cases[i].text);
    }
}

/**
 * test_hostkey_known_hosts2() - without --known-hosts, ~/.ssh/known_hosts2
 *                               counts too, as for ssh(1)
 */
static void test_hostkey_known_hosts2(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *dot_ssh = NULL;
    g_autofree char *file = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    o.known_hosts = NULL;
    dot_ssh = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    g_assert_cmpint(g_mkdir_with_parents(dot_ssh, 0700), ==, 0);
    file = g_build_filename(dot_ssh, "known_hosts2", NULL);
    g_assert_true(g_file_get_contents(peer1->known_hosts, &text, NULL, NULL));
    g_assert_true(g_file_set_contents(file, text, -1, NULL));
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_cmpint(g_unlink(file), ==, 0);
    g_assert_no_error(error);
}

/**
 * test_hostkey_changed() - another key under the host's name is refused
 *                          loudly
 */
static void test_hostkey_changed(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *other = NULL;
    g_autofree char *line = NULL;
    g_autofree char *known = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    other = host_key_of(peer2);
    line = g_strdup_printf("[127.0.0.1]:%d %s\n", peer1->port, other);
    known = write_scratch("known_hosts-changed", line);
    o = options_for(peer1);
    o.known_hosts = known;
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_HOSTKEY);
    g_assert_nonnull(strstr(error->message, "CHANGED"));
    g_assert_nonnull(strstr(error->message, "man-in-the-middle"));
    g_assert_nonnull(strstr(error->message, peer1->fingerprint));
}

/**
 * test_hostkey_other_type() - known_hosts listing only another key type
 *                             for the host is refused
 */
static void test_hostkey_other_type(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) spawn_error = NULL;
    g_autofree char *key = scratch_path("ecdsa-key");
    g_autofree char *pub_path = g_strdup_printf("%s.pub", key);
    g_autofree char *pub = NULL;
    g_autofree char *line = NULL;
    g_autofree char *known = NULL;
    const char *argv[] = {"ssh-keygen", "-q", "-t", "ecdsa", "-N",
                          "",           "-f", key,  NULL};
    int status = -1;
    QmSshOptions o;

    if (!need_peers())
        return;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 NULL, NULL, &status, &spawn_error);
    g_assert_no_error(spawn_error);
    g_assert_cmpint(status, ==, 0);
    g_assert_true(g_file_get_contents(pub_path, &pub, NULL, NULL));
    line = g_strdup_printf("[127.0.0.1]:%d %s", peer1->port, pub);
    known = write_scratch("known_hosts-other-type", line);

    o = options_for(peer1);
    o.known_hosts = known;
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_HOSTKEY);
    g_assert_nonnull(strstr(error->message, "different key type"));
    g_assert_nonnull(strstr(error->message, peer1->fingerprint));
}

/**
 * test_hostkey_global() - a global known_hosts vouches for a key unless
 *                         the user named a known_hosts file explicitly
 */
static void test_hostkey_global(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *empty = write_scratch("known_hosts-empty2", "");
    g_autofree char *contents = NULL;
    g_autofree char *config = NULL;
    QmSshOptions o = {0};

    if (!need_peers())
        return;
    contents = g_strdup_printf("Host globalpeer\n"
                               "    HostName 127.0.0.1\n"
                               "    Port %d\n"
                               "    User root\n"
                               "    IdentityFile \"%s\"\n"
                               "    UserKnownHostsFile \"%s\"\n"
                               "    GlobalKnownHostsFile \"%s\"\n",
                               peer1->port, peer1->identity, empty,
                               peer1->known_hosts);
    config = write_scratch("ssh_config-global", contents);
    o.ssh_config = config;

    run("globalpeer", &o, "echo global", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
        &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "global\n", 7);
    g_clear_pointer(&r, qm_ssh_result_free);

    o.known_hosts = empty;
    run("globalpeer", &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_HOSTKEY);
    g_assert_nonnull(strstr(error->message, "unknown host key"));
}

/**
 * test_wrong_identity() - a key the server does not accept fails as
 *                         unreachable, naming the user
 */
static void test_wrong_identity(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    o.identity = peer2->identity;
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "authentication failed"));
    g_assert_nonnull(strstr(error->message, "as root"));
    g_clear_error(&error);

    o.identity = "/nonexistent/id_ed25519";
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "cannot read identity"));
}

/**
 * spawn_tool() - run a helper program, failing the test if it fails
 * @argv: command, looked up in PATH
 */
static void spawn_tool(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;
    int status = -1;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 NULL, &err, &status, &error);
    g_assert_no_error(error);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        g_error("%s failed (wait status %d): %s", argv[0], status, err);
}

/**
 * authorize() - let a public key log in to an instance as well
 * @sshd:     instance
 * @pub_path: public key file
 */
static void authorize(const QmTestSshd *sshd, const char *pub_path)
{
    g_autofree char *path =
        g_build_filename(sshd->dir, "authorized_keys", NULL);
    g_autofree char *keys = NULL;
    g_autofree char *pub = NULL;
    g_autofree char *all = NULL;

    g_assert_true(g_file_get_contents(path, &keys, NULL, NULL));
    g_assert_true(g_file_get_contents(pub_path, &pub, NULL, NULL));
    all = g_strconcat(keys, pub, NULL);
    g_assert_true(g_file_set_contents(path, all, -1, NULL));
}

/**
 * test_no_passphrase_prompt() - a passphrase-protected key is skipped, its
 *                               passphrase never read
 *
 * Left alone, libssh hands PEM keys to OpenSSL without a password callback,
 * and OpenSSL then reads the passphrase from /dev/tty or, without one,
 * from stdin.  With the right passphrase waiting on stdin, a regression
 * logs in (or, on a terminal, hangs).
 */
static void test_no_passphrase_prompt(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *key = scratch_path("pem-key");
    g_autofree char *pub = g_strdup_printf("%s.pub", key);
    const char *argv[] = {"ssh-keygen", "-q",     "-t", "ecdsa", "-m", "PEM",
                          "-N",         "secret", "-f", key,     NULL};
    int fds[2];
    int saved_stdin;
    QmSshOptions o;

    if (!need_peers())
        return;
    spawn_tool(argv);
    authorize(peer1, pub);

    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_cmpint(write(fds[1], "secret\nsecret\nsecret\n", 21), ==, 21);
    close(fds[1]);
    saved_stdin = dup(STDIN_FILENO);
    g_assert_cmpint(dup2(fds[0], STDIN_FILENO), ==, STDIN_FILENO);
    close(fds[0]);

    o = options_for(peer1);
    o.identity = key;
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);

    g_assert_cmpint(dup2(saved_stdin, STDIN_FILENO), ==, STDIN_FILENO);
    close(saved_stdin);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "cannot load identity"));
}

/**
 * test_locked_identity_file() - an IdentityFile the server accepts but
 * that needs a passphrase (and no agent holds): the failure says so
 */
static void test_locked_identity_file(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *key = scratch_path("locked-key");
    g_autofree char *pub = g_strdup_printf("%s.pub", key);
    g_autofree char *text = NULL;
    g_autofree char *config = NULL;
    const char *argv[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N",
                          "secret",     "-f", key,  NULL};
    QmSshOptions o = {0};

    if (!need_peers())
        return;
    spawn_tool(argv);
    authorize(peer1, pub);
    text = g_strdup_printf("Host locked\n"
                           "    HostName 127.0.0.1\n"
                           "    Port %d\n"
                           "    User root\n"
                           "    IdentityFile %s\n"
                           "    UserKnownHostsFile %s\n",
                           peer1->port, key, peer1->known_hosts);
    config = write_scratch("config-locked", text);
    o.ssh_config = config;
    g_unsetenv("SSH_AUTH_SOCK");
    run("locked", &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "passphrase-protected"));
    g_assert_nonnull(strstr(error->message, "ssh-agent"));
}

/**
 * test_agent() - keys held by ssh-agent (SSH_AUTH_SOCK) are used
 */
static void test_agent(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *agent = g_find_program_in_path("ssh-agent");
    g_autofree char *sock = scratch_path("agent.sock");
    const char *agent_argv[] = {"ssh-agent", "-D", "-a", sock, NULL};
    const char *add_argv[] = {"ssh-add", "-q", NULL, NULL};
    QmSshOptions o = {0};
    GPid pid;
    int status;

    if (!need_peers())
        return;
    if (agent == NULL) {
        g_test_skip("ssh-agent not found in PATH");
        return;
    }
    g_spawn_async(NULL, (char **)agent_argv, NULL,
                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                      G_SPAWN_STDOUT_TO_DEV_NULL,
                  NULL, NULL, &pid, &error);
    g_assert_no_error(error);
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10 * 1000);
    g_setenv("SSH_AUTH_SOCK", sock, TRUE);
    add_argv[2] = peer2->identity;
    spawn_tool(add_argv);

    /* Nothing but the agent knows a key */
    o.known_hosts = peer2->known_hosts;
    run(peer2->dest, &o, "echo agent", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
        &error);

    g_unsetenv("SSH_AUTH_SOCK");
    kill(pid, SIGTERM);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "agent\n", 6);
}

/**
 * test_refused() - nothing listening fails fast as unreachable
 */
static void test_refused(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dest = NULL;
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QmSshOptions o;
    gint64 start;

    if (!need_peers())
        return;
    /* A port that was just free, and has no listener */
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
    close(fd);
    dest = g_strdup_printf("root@127.0.0.1:%d", ntohs(addr.sin_port));

    o = options_for(peer1);
    start = g_get_monotonic_time();
    run(dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "cannot connect"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
}

/**
 * test_paused_sshd() - a server that accepts TCP but never speaks costs
 *                      the deadline and no more
 */
static void test_paused_sshd(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;
    gint64 elapsed;

    if (!need_peers())
        return;
    o = options_for(peer1);
    qm_test_sshd_pause(peer1, TRUE);
    elapsed = g_get_monotonic_time();
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, 2 * G_USEC_PER_SEC, &r,
        &error);
    elapsed = g_get_monotonic_time() - elapsed;
    qm_test_sshd_pause(peer1, FALSE);

    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "timed out"));
    g_assert_cmpint(elapsed, >=, 19 * G_USEC_PER_SEC / 10);
    g_assert_cmpint(elapsed, <, 6 * G_USEC_PER_SEC);
    g_clear_error(&error);

    /* Thawed, it serves again */
    run(peer1->dest, &o, "echo back", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "back\n", 5);
}

/**
 * test_command_timeout() - a remote command that never finishes costs the
 *                          deadline and no more
 */
static void test_command_timeout(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;
    gint64 elapsed;

    if (!need_peers())
        return;
    o = options_for(peer1);
    elapsed = g_get_monotonic_time();
    /*
     * Sleeps forever, but not as "sleep inf": sshd leaves a command
     * running when the client goes away, and this one ends by itself as
     * soon as its stderr is gone.
     */
    run(peer1->dest, &o, "while echo tick >&2; do sleep 0.2; done", NULL, 0,
        MAX_OUT, 2 * G_USEC_PER_SEC, &r, &error);
    elapsed = g_get_monotonic_time() - elapsed;
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "timed out"));
    g_assert_cmpint(elapsed, >=, 19 * G_USEC_PER_SEC / 10);
    g_assert_cmpint(elapsed, <, 6 * G_USEC_PER_SEC);
}

/**
 * test_input_timeout() - a command that never reads its input costs the
 *                        deadline and no more, once the window is full
 */
static void test_input_timeout(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    gsize len = 16 * 1024 * 1024;
    g_autofree char *data = g_malloc0(len);
    QmSshOptions o;
    gint64 elapsed;

    if (!need_peers())
        return;
    o = options_for(peer1);
    elapsed = g_get_monotonic_time();
    run(peer1->dest, &o, "while echo tick >&2; do sleep 0.2; done", data, len,
        MAX_OUT, 2 * G_USEC_PER_SEC, &r, &error);
    elapsed = g_get_monotonic_time() - elapsed;
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "timed out"));
    g_assert_cmpint(elapsed, >=, 19 * G_USEC_PER_SEC / 10);
    g_assert_cmpint(elapsed, <, 6 * G_USEC_PER_SEC);
}

/**
 * test_expired_deadline() - a deadline already past fails at once without
 *                           contacting the peer
 */
static void test_expired_deadline(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;
    guint sessions;
    gint64 elapsed;

    if (!need_peers())
        return;
    o = options_for(peer1);
    sessions = qm_test_sshd_count_sessions(peer1);
    elapsed = g_get_monotonic_time();
    run(peer1->dest, &o, "true", NULL, 0, MAX_OUT, -1, &r, &error);
    elapsed = g_get_monotonic_time() - elapsed;
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "timed out"));
    g_assert_cmpint(elapsed, <, G_USEC_PER_SEC / 2);
    g_assert_cmpuint(qm_test_sshd_count_sessions(peer1), ==, sessions);
}

/**
 * test_max_out() - output up to max_out bytes is fine, one more is a
 *                  protocol error naming the bound
 */
static void test_max_out(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    run(peer1->dest, &o, "head -c 100000 /dev/zero", NULL, 0, 100000,
        TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(r->out->len, ==, 100000);
    g_clear_pointer(&r, qm_ssh_result_free);

    run(peer1->dest, &o, "head -c 100000 /dev/zero", NULL, 0, 99999, TIMEOUT_US,
        &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_PROTOCOL);
    g_assert_nonnull(strstr(error->message, "99999"));
}

/**
 * test_stderr_bounded() - only the first 64 KiB of stderr are kept, and
 *                         the command still runs to completion
 */
static void test_stderr_bounded(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    run(peer1->dest, &o, "head -c 300000 /dev/zero | tr '\\0' e >&2; echo done",
        NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(r->out->data, r->out->len, "done\n", 5);
    g_assert_cmpuint(strlen(r->err), ==, 64 * 1024);
    g_assert_cmpint(r->err[0], ==, 'e');
    g_assert_cmpint(r->exit_status, ==, 0);
}

/**
 * test_bad_dest() - unparseable destinations and unreadable ssh_config are
 *                   usage errors, found without connecting
 */
static void test_bad_dest(void)
{
    static const char *const bad[] = {
        "",
        "root@",
        "@host",
        "host:",
        "host:0",
        "host:65536",
        "host:22x",
        "[::1",
        "[::1]x",
        "[]:22",
        "-oProxyCommand=x",
        "ho st",
        "a@b:c:d@",
        "ssh://",
        "ssh://host/path",
        "ssh://ssh://host",
        "ssh://host:0",
    };
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    QmSshOptions o = {.ssh_config = "/nonexistent/ssh_config"};

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        run(bad[i], NULL, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
        g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
        g_clear_error(&error);
    }

    run("somehost", &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
    g_assert_nonnull(strstr(error->message, "/nonexistent/ssh_config"));
    g_clear_error(&error);

    o.ssh_config = qm_test_tmpdir();
    run("somehost", &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
}

/**
 * test_ipv6_dest() - "user@[v6addr]:port" is parsed, not refused as usage
 *
 * The test sshd listens on 127.0.0.1 only, so ::1 cannot answer: what
 * matters is that the error is about the connection.
 */
static void test_ipv6_dest(void)
{
    g_autoptr(QmSshResult) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *dest = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    dest = g_strdup_printf("root@[::1]:%d", peer1->port);
    run(dest, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "::1"));
}

/**
 * test_config_refused() - an ssh_config others may write, or one libssh
 *                         cannot parse, is a usage error naming the file
 *                         (exit 2), never an outage
 */
static void test_config_refused(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QmSshResult) r = NULL;
    g_autofree char *config = NULL;
    g_autofree char *text = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    g_assert_true(g_file_get_contents(peer1->ssh_config, &text, NULL, NULL));
    config = g_build_filename(qm_test_tmpdir(), "config-666", NULL);
    g_assert_true(g_file_set_contents(config, text, -1, NULL));
    g_assert_cmpint(chmod(config, 0666), ==, 0);
    o.ssh_config = config;
    run(peer1->alias, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_error(error, QM_ERROR, QM_ERROR_USAGE);
    g_assert_nonnull(strstr(error->message, config));
    g_assert_nonnull(strstr(error->message, "permissions"));
    g_assert_cmpint(qm_error_exit_code(error), ==, 2);
    g_clear_error(&error);
    g_clear_pointer(&r, qm_ssh_result_free);

    /* mode 0644 is what ssh(1) accepts */
    g_assert_cmpint(chmod(config, 0644), ==, 0);
    run(peer1->alias, &o, "true", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
    g_assert_no_error(error);
}

/**
 * test_ssh_uri() - "ssh://user@host:port" reaches the same peer as
 *                  "user@host:port", as it does for ssh(1)
 */
static void test_ssh_uri(void)
{
    g_autoptr(GError) error = NULL;
    QmSshOptions o;

    if (!need_peers())
        return;
    o = options_for(peer1);
    for (int slash = 0; slash < 2; slash++) {
        g_autoptr(QmSshResult) r = NULL;
        g_autofree char *dest = g_strdup_printf("ssh://root@127.0.0.1:%d%s",
                                                peer1->port, slash ? "/" : "");

        run(dest, &o, "echo uri", NULL, 0, MAX_OUT, TIMEOUT_US, &r, &error);
        g_assert_no_error(error);
        g_assert_cmpmem(r->out->data, r->out->len, "uri\n", 4);
    }
}

/**
 * count_children() - this process's children other than the test sshds
 *
 * Return: how many (a ProxyCommand left running or unreaped counts)
 */
static guint count_children(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;
    guint n = 0;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = NULL;
        g_autofree char *stat = NULL;
        const char *close_paren;
        char state;
        int ppid;

        if (!g_ascii_isdigit(name[0]))
            continue;
        path = g_build_filename("/proc", name, "stat", NULL);
        if (!g_file_get_contents(path, &stat, NULL, NULL))
            continue;
        /* "PID (COMM) STATE PPID ...": COMM may hold anything but ")" last */
        close_paren = strrchr(stat, ')');
        if (close_paren == NULL ||
            sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2 ||
            ppid != (int)getpid())
            continue;
        if (strstr(stat, "(sshd)") != NULL)
            continue;
        g_test_message("child left: %s", stat);
        n++;
    }
    return n;
}

/**
 * ssh_reaches() - does OpenSSH's ssh(1), with this config, run a command
 *                 on @dest?
 * @config: the only ssh_config
 * @dest:   destination
 *
 * Return: TRUE when ssh ran "true" there
 */
static gboolean ssh_reaches(const char *config, const char *dest)
{
    const char *argv[] = {"ssh", "-F", config, "-o", "BatchMode=yes",
                          "--",  dest, "true", NULL};

    return ssh_succeeds(argv);
}

/**
 * test_proxy_jump() - ProxyJump a,b goes through a, then b, as ssh(1)
 *                     does; a jump host that refuses says why, at once
 *
 * Each jump host may only forward to the next hop (PermitOpen): the
 * reverse order libssh 0.10 writes ("ssh -J b a") is refused by b.  The
 * jump ssh gets our -F (the hops are only known there) and BatchMode: a
 * jump host whose key is unknown fails without a prompt, and its words
 * reach the error.  No process of the jump path outlives the call.
 */
static void test_proxy_jump(void)
{
    g_autoptr(QmTestSshd) b = NULL;
    g_autoptr(QmTestSshd) a = NULL;
    g_autofree char *permit_b = NULL;
    g_autofree char *permit_a = NULL;
    g_autofree char *text = NULL;
    g_autofree char *config = NULL;
    g_autofree char *cfg_a = NULL, *cfg_b = NULL, *cfg_t = NULL;
    g_autofree char *saved = NULL;
    g_autofree char *ssh = g_find_program_in_path("ssh");
    QmSshOptions o = {0};

    if (!need_peers())
        return;
    if (ssh == NULL) {
        g_test_skip("no ssh(1) for the jump hosts");
        return;
    }
    permit_b = g_strdup_printf("PermitOpen 127.0.0.1:%d\n", peer2->port);
    b = qm_test_sshd_start_with("jb", permit_b);
    permit_a = g_strdup_printf("PermitOpen 127.0.0.1:%d\n", b->port);
    a = qm_test_sshd_start_with("ja", permit_a);
    g_assert_true(g_file_get_contents(a->ssh_config, &cfg_a, NULL, NULL));
    g_assert_true(g_file_get_contents(b->ssh_config, &cfg_b, NULL, NULL));
    g_assert_true(g_file_get_contents(peer2->ssh_config, &cfg_t, NULL, NULL));
    text = g_strdup_printf("Host %s\n    ProxyJump ja,jb\n%s%s%s", peer2->alias,
                           cfg_a, cfg_b, cfg_t);
    config = write_scratch("config-jump", text);
    o.ssh_config = config;

    /* the reference: ssh goes a, b, target */
    g_assert_true(ssh_reaches(config, peer2->alias));
    {
        g_autoptr(QmSshResult) r = NULL;
        g_autoptr(GError) error = NULL;

        run(peer2->alias, &o, "echo jumped", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
            &error);
        g_assert_no_error(error);
        g_assert_cmpmem(r->out->data, r->out->len, "jumped\n", 7);
    }

    /* the first jump host's key unknown: refused by both, no prompt */
    g_assert_true(g_file_get_contents(a->known_hosts, &saved, NULL, NULL));
    g_assert_true(g_file_set_contents(a->known_hosts, "", 0, NULL));
    g_assert_false(ssh_reaches(config, peer2->alias));
    {
        g_autoptr(QmSshResult) r = NULL;
        g_autoptr(GError) error = NULL;
        gint64 t0 = g_get_monotonic_time();

        run(peer2->alias, &o, "echo jumped", NULL, 0, MAX_OUT, TIMEOUT_US, &r,
            &error);
        g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
        g_test_message("%s", error->message);
        g_assert_true(g_str_has_prefix(error->message, peer2->alias));
        g_assert_nonnull(
            strstr(error->message, "Host key verification failed"));
        g_assert_cmpint(g_get_monotonic_time() - t0, <, TIMEOUT_US / 2);
    }
    g_assert_true(g_file_set_contents(a->known_hosts, saved, -1, NULL));
    /* every jump ssh is gone: no session left on either jump host */
    g_assert_cmpuint(count_children(), ==, 0);
}

/**
 * Worker - one thread of test_parallel()
 * @peer:   server to talk to
 * @input:  what to send through cat
 * @runs:   how many calls succeeded with intact output
 * @error:  first failure
 */
typedef struct {
    QmTestSshd *peer;
    GBytes *input;
    guint runs;
    GError *error;
} Worker;

#define WORKER_RUNS 3

/**
 * worker() - GThreadFunc: run cat a few times, checking the output
 * @data: the Worker
 *
 * Return: NULL; results go into the Worker, assertions stay in the main
 * thread
 */
static gpointer worker(gpointer data)
{
    Worker *w = data;
    QmSshOptions o = options_for(w->peer);
    gsize len;
    const void *input = g_bytes_get_data(w->input, &len);

    for (int i = 0; i < WORKER_RUNS && w->error == NULL; i++) {
        g_autoptr(QmSshResult) r = NULL;

        if (qm_ssh_run(w->peer->dest, &o, "cat", input, len, MAX_OUT,
                       g_get_monotonic_time() + TIMEOUT_US, &r, &w->error) &&
            r->exit_status == 0 && r->out->len == len &&
            memcmp(r->out->data, input, len) == 0) {
            w->runs++;
        }
    }
    return NULL;
}

/**
 * test_parallel() - two threads, two peers, sessions at the same time
 */
static void test_parallel(void)
{
    Worker w[2] = {{0}};
    GThread *threads[2];
    guint fds;

    if (!need_peers())
        return;
    fds = qm_test_count_fds();
    for (int i = 0; i < 2; i++) {
        gsize len = 512 * 1024;
        guint8 *data = g_malloc(len);

        memset(data, 'a' + i, len);
        w[i].peer = i == 0 ? peer1 : peer2;
        w[i].input = g_bytes_new_take(data, len);
        threads[i] = g_thread_new("ssh-worker", worker, &w[i]);
    }
    for (int i = 0; i < 2; i++) {
        g_thread_join(threads[i]);
        g_bytes_unref(w[i].input);
    }
    for (int i = 0; i < 2; i++) {
        g_assert_no_error(w[i].error);
        g_assert_cmpuint(w[i].runs, ==, WORKER_RUNS);
    }
    g_assert_cmpuint(qm_test_count_fds(), ==, fds);
}

/**
 * CloexecRun - the session test_cloexec() watches
 * @done:  set once qm_ssh_run() returned
 * @error: its error
 */
typedef struct {
    gint done;
    GError *error;
} CloexecRun;

/**
 * cloexec_runner() - GThreadFunc: keep one session open for a while
 * @data: the CloexecRun
 *
 * Return: NULL
 */
static gpointer cloexec_runner(gpointer data)
{
    CloexecRun *run_state = data;
    QmSshOptions o = options_for(peer1);
    g_autoptr(QmSshResult) r = NULL;

    qm_ssh_run(peer1->dest, &o, "sleep 1; echo done", NULL, 0, MAX_OUT,
               g_get_monotonic_time() + TIMEOUT_US, &r, &run_state->error);
    g_atomic_int_set(&run_state->done, 1);
    return NULL;
}

/**
 * socket_fds_cloexec() - check every socket in this process for
 *                        FD_CLOEXEC
 * @sockets: incremented for every socket seen
 *
 * Return: FALSE if any socket would be inherited across exec
 */
static gboolean socket_fds_cloexec(guint *sockets)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    const char *name;
    gboolean ok = TRUE;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename("/proc/self/fd", name, NULL);
        g_autofree char *target = g_file_read_link(path, NULL);
        int flags;

        if (target == NULL || !g_str_has_prefix(target, "socket:"))
            continue;
        flags = fcntl(atoi(name), F_GETFD);
        if (flags < 0)
            continue;
        (*sockets)++;
        if (!(flags & FD_CLOEXEC))
            ok = FALSE;
    }
    return ok;
}

/**
 * test_cloexec() - while a session is open, its socket is close-on-exec
 */
static void test_cloexec(void)
{
    CloexecRun run_state = {0};
    GThread *thread;
    guint sockets = 0;
    gboolean ok = TRUE;

    if (!need_peers())
        return;
    thread = g_thread_new("ssh-cloexec", cloexec_runner, &run_state);
    while (!g_atomic_int_get(&run_state.done)) {
        ok = socket_fds_cloexec(&sockets) && ok;
        g_usleep(10 * 1000);
    }
    g_thread_join(thread);
    g_assert_no_error(run_state.error);
    g_assert_cmpuint(sockets, >, 0);
    g_assert_true(ok);
}

/**
 * start_qemu_monitor() - a real QEMU (TCG, no guest) serving QMP on a unix
 *                        socket, as a destination QEMU would
 * @path: socket path
 *
 * Return: its PID, or 0 when there is no QEMU here (the test skips)
 */
static GPid start_qemu_monitor(const char *path)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off", path);
    const char *argv[] = {qemu,  "-machine",    "none",     "-accel",
                          "tcg", "-nodefaults", "-display", "none",
                          "-S",  "-qmp",        qmp,        NULL};
    g_autoptr(GError) error = NULL;
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_US;
    GPid pid;

    if (qemu == NULL) {
        g_test_skip("no qemu-system-x86_64 in PATH");
        return 0;
    }
    g_assert_true(
        g_spawn_async(NULL, (char **)argv, NULL,
                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &pid, &error));
    g_assert_no_error(error);
    while (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
    return pid;
}

/**
 * test_forward_unix() - a QMP monitor on the peer, reached through a
 * direct-streamlocal channel: the greeting, a command and its reply go
 * through; freeing the forward leaves no fd and the QEMU untouched; a
 * socket that is not there is an error naming it
 */
static void test_forward_unix(void)
{
    g_autofree char *path =
        g_build_filename(qm_test_tmpdir(), "fwd-qmp.sock", NULL);
    g_autofree char *missing =
        g_build_filename(qm_test_tmpdir(), "no-such.sock", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = NULL;
    QmSshForward *fwd = NULL;
    QmMonitor *mon;
    QmSshOptions o;
    GPid pid;
    guint fds;
    int fd = -1;

    if (!need_peers())
        return;
    pid = start_qemu_monitor(path);
    if (pid == 0)
        return;
    o = options_for(peer1);
    fds = qm_test_count_fds();
    g_assert_true(qm_ssh_forward_unix(peer1->dest, &o, path,
                                      g_get_monotonic_time() + TIMEOUT_US, &fwd,
                                      &fd, &error));
    g_assert_no_error(error);
    g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    mon = qm_monitor_new_fd(fd, g_get_monotonic_time() + TIMEOUT_US, &error);
    g_assert_no_error(error);
    g_assert_nonnull(mon);
    g_assert_true(g_str_has_prefix(qm_monitor_qemu_version(mon), "7.") ||
                  g_str_has_prefix(qm_monitor_qemu_version(mon), "1"));
    g_assert_true(qm_monitor_execute(mon, "query-status", NULL,
                                     g_get_monotonic_time() + TIMEOUT_US, &ret,
                                     &error));
    g_assert_no_error(error);
    g_assert_cmpstr(
        json_object_get_string_member(json_node_get_object(ret), "status"), ==,
        "prelaunch");
    qm_monitor_free(mon);
    qm_ssh_forward_free(fwd);
    g_assert_cmpuint(qm_test_count_fds(), ==, fds);
    /* the QEMU behind it is still there */
    g_assert_cmpint(kill(pid, 0), ==, 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    fwd = NULL;
    fd = -1;
    g_assert_false(qm_ssh_forward_unix(peer1->dest, &o, missing,
                                       g_get_monotonic_time() + TIMEOUT_US,
                                       &fwd, &fd, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, missing));
    g_assert_true(g_str_has_prefix(error->message, peer1->dest));
    g_assert_null(fwd);
    g_assert_cmpint(fd, ==, -1);
    g_assert_cmpuint(qm_test_count_fds(), ==, fds);
}

/**
 * main() - run the qm_ssh_run() integration tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s result
 */
int main(int argc, char **argv)
{
    int ret;

    qm_test_init(&argc, &argv);
    qm_test_sshd_available(&skip_reason);
    qm_ssh_init();

    g_test_add_func("/ssh/run/basic", test_basic);
    g_test_add_func("/ssh/run/no-input", test_exit_zero_no_input);
    g_test_add_func("/ssh/run/exit-signal", test_exit_signal);
    g_test_add_func("/ssh/run/connection-lost", test_connection_lost);
    g_test_add_func("/ssh/run/cat-binary", test_cat_binary);
    g_test_add_func("/ssh/run/unread-input", test_unread_input);
    g_test_add_func("/ssh/config/alias", test_alias_config);
    g_test_add_func("/ssh/config/explicit-wins", test_explicit_beats_config);
    g_test_add_func("/ssh/config/home", test_home_dot_ssh);
    g_test_add_func("/ssh/hostkey/unknown", test_hostkey_unknown);
    g_test_add_func("/ssh/hostkey/changed", test_hostkey_changed);
    g_test_add_func("/ssh/hostkey/openssh-rules", test_hostkey_openssh_rules);
    g_test_add_func("/ssh/hostkey/known-hosts2", test_hostkey_known_hosts2);
    g_test_add_func("/ssh/hostkey/other-type", test_hostkey_other_type);
    g_test_add_func("/ssh/hostkey/global", test_hostkey_global);
    g_test_add_func("/ssh/auth/wrong-identity", test_wrong_identity);
    g_test_add_func("/ssh/auth/no-passphrase-prompt",
                    test_no_passphrase_prompt);
    g_test_add_func("/ssh/auth/agent", test_agent);
    g_test_add_func("/ssh/auth/locked-identity-file",
                    test_locked_identity_file);
    g_test_add_func("/ssh/connect/refused", test_refused);
    g_test_add_func("/ssh/connect/ipv6-dest", test_ipv6_dest);
    g_test_add_func("/ssh/connect/bad-dest", test_bad_dest);
    g_test_add_func("/ssh/connect/ssh-uri", test_ssh_uri);
    g_test_add_func("/ssh/connect/proxy-jump", test_proxy_jump);
    g_test_add_func("/ssh/key-route", test_key_route);
    g_test_add_func("/ssh/connect/config-refused", test_config_refused);
    g_test_add_func("/ssh/timeout/paused-sshd", test_paused_sshd);
    g_test_add_func("/ssh/timeout/command", test_command_timeout);
    g_test_add_func("/ssh/timeout/input", test_input_timeout);
    g_test_add_func("/ssh/timeout/expired", test_expired_deadline);
    g_test_add_func("/ssh/output/max-out", test_max_out);
    g_test_add_func("/ssh/output/stderr-bounded", test_stderr_bounded);
    g_test_add_func("/ssh/threads/parallel", test_parallel);
    g_test_add_func("/ssh/fd/cloexec", test_cloexec);
    g_test_add_func("/ssh/forward/unix", test_forward_unix);

    ret = g_test_run();
    g_clear_pointer(&peer1, qm_test_sshd_stop);
    g_clear_pointer(&peer2, qm_test_sshd_stop);
    g_free(skip_reason);
    return ret;
}
