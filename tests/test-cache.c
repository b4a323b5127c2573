/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig integration tests: the host-profile cache, through the real
 * qemu-mig binary against real OpenSSH sshd instances on 127.0.0.1.
 *
 * Each peer plays one recorded CPU through the fake QEMU and counts its
 * probes in a directory of its own (fake-qemu --count-dir, chosen by the
 * peer's sshd port); the local side plays a recorded CPU and counts
 * through FAKE_QEMU_COUNT_DIR.  Every test has its own scratch directory,
 * cache directory and count directories, so tests do not depend on each
 * other or on their order.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sshd.h"
#include "qmrun.h"
#include "testutil.h"
#include "wrapper/feature.h"
#include "wrapper/qmp.h"

#define PEERS 3

/* Concurrent cold launches in test_concurrent_cold() */
#define PARALLEL 32

/* The uid and gid of "nobody" on Debian: someone who is not us (root) */
#define OTHER_ID 65534

/* What the local host and each peer play */
static const char local_cpu[] = "EPYC-7713-64-Core";
static const char *const peer_cpus[PEERS + 1] = {
    "EPYC-7502-32-Core", "EPYC-9334-32-Core", "Ryzen-9-9950X-16-Core", NULL};

static QmTestSshd *peers[PEERS];
static char *ssh_config; /* all peers' Host blocks in one file */
static char *map_dir;    /* port-N files naming each peer's capture */
static char *skip_reason;

/**
 * Ctx - one test's private world
 * @dir:         scratch directory of the test
 * @cache_dir:   --cache-dir passed to every run (tests may change it)
 * @count_dir:   root of the probe count directories
 * @local_count: count directory of the local probes
 * @remote:      --remote-qemu value: replay the peer's capture, count
 * @qemu:        --qemu value
 * @runs:        runs so far (names their output files)
 */
typedef struct {
    char *dir;
    char *cache_dir;
    char *count_dir;
    char *local_count;
    char *remote;
    char *qemu;
    char *ssh_config;
    guint runs;
} Ctx;

/**
 * ctx_free() - free a Ctx (its files stay for QM_TEST_KEEP)
 * @ctx: context
 */
static void ctx_free(Ctx *ctx)
{
    g_free(ctx->dir);
    g_free(ctx->cache_dir);
    g_free(ctx->count_dir);
    g_free(ctx->local_count);
    g_free(ctx->remote);
    g_free(ctx->qemu);
    g_free(ctx->ssh_config);
    g_free(ctx);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ctx, ctx_free)

/**
 * peer_count_dir() - count directory of one peer's probes
 * @ctx:  context
 * @peer: peer index
 *
 * Return: newly allocated path
 */
static char *peer_count_dir(const Ctx *ctx, int peer)
{
    return g_strdup_printf("%s/port-%d", ctx->count_dir, peers[peer]->port);
}

/**
 * ctx_new() - a fresh scratch directory, cache directory and counters
 * @name: test name, unique among the tests
 *
 * Return: new context
 */
static Ctx *ctx_new(const char *name)
{
    Ctx *ctx = g_new0(Ctx, 1);

    ctx->dir = g_build_filename(qm_test_tmpdir(), name, NULL);
    g_assert_false(g_file_test(ctx->dir, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_mkdir_with_parents(ctx->dir, 0700), ==, 0);
    ctx->cache_dir = g_build_filename(ctx->dir, "cache", NULL);
    ctx->count_dir = g_build_filename(ctx->dir, "counts", NULL);
    ctx->local_count = g_build_filename(ctx->count_dir, "local", NULL);
    g_assert_cmpint(g_mkdir_with_parents(ctx->local_count, 0700), ==, 0);
    for (int i = 0; i < PEERS; i++) {
        g_autofree char *dir = peer_count_dir(ctx, i);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    }
    /* sshd puts its own port last in SSH_CONNECTION */
    ctx->remote =
        g_strdup_printf("%s --replay \"$(cat %s/port-${SSH_CONNECTION##* })\" "
                        "--count-dir %s/port-${SSH_CONNECTION##* }",
                        qm_test_env("QM_FAKE_QEMU"), map_dir, ctx->count_dir);
    ctx->qemu = g_strdup(qm_test_env("QM_FAKE_QEMU"));
    return ctx;
}

/**
 * read_text() - contents of a file, or "" when it cannot be read
 * @path: file name
 *
 * Return: newly allocated contents
 */
static char *read_text(const char *path)
{
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

/**
 * start_qm() - start the real qemu-mig binary
 * @ctx:       context (gives the local replay and count directory)
 * @extra_env: NULL-terminated KEY=VALUE list, or NULL
 * @args:      NULL-terminated qemu-mig arguments (without argv[0])
 * @out_path:  where to store the newly allocated stdout file name
 * @err_path:  where to store the newly allocated stderr file name
 *
 * Return: the running process
 */
static GSubprocess *start_qm(Ctx *ctx, const char *const *extra_env,
                             const char *const *args, char **out_path,
                             char **err_path)
{
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(GStrv) envp = g_get_environ();
    g_autofree char *replay = qm_run_capture(local_cpu);
    g_autoptr(GError) error = NULL;
    GSubprocess *proc;
    guint n = ctx->runs++;

    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);

    envp = g_environ_setenv(envp, "FAKE_QEMU_REPLAY", replay, TRUE);
    envp =
        g_environ_setenv(envp, "FAKE_QEMU_COUNT_DIR", ctx->local_count, TRUE);
    for (const char *const *e = extra_env; e && *e; e++) {
        g_auto(GStrv) kv = g_strsplit(*e, "=", 2);

        envp = g_environ_setenv(envp, kv[0], kv[1], TRUE);
    }
    *out_path = g_strdup_printf("%s/run-%u.out", ctx->dir, n);
    *err_path = g_strdup_printf("%s/run-%u.err", ctx->dir, n);
    g_subprocess_launcher_set_environ(launcher, envp);
    g_subprocess_launcher_set_stdout_file_path(launcher, *out_path);
    g_subprocess_launcher_set_stderr_file_path(launcher, *err_path);
    proc = g_subprocess_launcher_spawnv(
        launcher, (const char *const *)argv->pdata, &error);
    g_assert_no_error(error);
    return proc;
}

/**
 * finish_qm() - wait for a run started by start_qm() and collect it
 * @proc:     the process (unreferenced here)
 * @out_path: its stdout file (freed here)
 * @err_path: its stderr file (freed here)
 * @start:    g_get_monotonic_time() when it was started
 *
 * Return: what happened
 */
static QmRun *finish_qm(GSubprocess *proc, char *out_path, char *err_path,
                        gint64 start)
{
    g_autoptr(GError) error = NULL;
    QmRun *run = g_new0(QmRun, 1);

    g_subprocess_wait(proc, NULL, &error);
    g_assert_no_error(error);
    run->seconds = (g_get_monotonic_time() - start) / 1e6;
    if (g_subprocess_get_if_exited(proc))
        run->status = g_subprocess_get_exit_status(proc);
    else
        run->status = 128 + g_subprocess_get_term_sig(proc);
    run->out = read_text(out_path);
    run->out_len = strlen(run->out);
    run->err = read_text(err_path);
    g_test_message("exit %d after %.2fs; stderr: %s", run->status, run->seconds,
                   run->err);
    g_object_unref(proc);
    g_free(out_path);
    g_free(err_path);
    return run;
}

/**
 * run_qm() - run the real qemu-mig binary to completion
 * @ctx:       context
 * @extra_env: NULL-terminated KEY=VALUE list, or NULL
 * @args:      NULL-terminated qemu-mig arguments (without argv[0])
 *
 * Return: what happened
 */
static QmRun *run_qm(Ctx *ctx, const char *const *extra_env,
                     const char *const *args)
{
    char *out_path, *err_path;
    gint64 start = g_get_monotonic_time();
    GSubprocess *proc = start_qm(ctx, extra_env, args, &out_path, &err_path);

    return finish_qm(proc, out_path, err_path, start);
}

/**
 * add_all() - append a NULL-terminated list to an argument array
 * @args: array
 * @list: NULL-terminated strings (borrowed), or NULL
 */
static void add_all(GPtrArray *args, const char *const *list)
{
    for (const char *const *a = list; a && *a; a++)
        g_ptr_array_add(args, (char *)*a);
}

/**
 * base_args() - the options every run passes
 * @ctx:     context
 * @command: "explain", "probe" or "cache", or NULL to launch
 *
 * Return: new array (strings borrowed), not yet NULL-terminated
 */
static GPtrArray *base_args(const Ctx *ctx, const char *command)
{
    GPtrArray *args = g_ptr_array_new();

    if (command != NULL)
        g_ptr_array_add(args, (char *)command);
    g_ptr_array_add(args, "--ssh-config");
    g_ptr_array_add(args, ctx->ssh_config ? ctx->ssh_config : ssh_config);
    g_ptr_array_add(args, "--qemu");
    g_ptr_array_add(args, ctx->qemu);
    g_ptr_array_add(args, "--remote-qemu");
    g_ptr_array_add(args, ctx->remote);
    g_ptr_array_add(args, "--cache-dir");
    g_ptr_array_add(args, ctx->cache_dir);
    return args;
}

/**
 * peer_list() - the --peer value naming the first @npeers peers
 * @npeers: 1 to PEERS
 *
 * Return: newly allocated "peer0,peer1,..."
 */
static char *peer_list(int npeers)
{
    GString *s = g_string_new(NULL);

    for (int i = 0; i < npeers; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "", peers[i]->alias);
    return g_string_free(s, FALSE);
}

/**
 * launch_args() - a dry-run launch (or explain) with the first @npeers
 *                 peers, -cpu host
 * @ctx:     context
 * @command: "explain", or NULL for a --dry-run launch
 * @npeers:  number of peers
 * @opts:    NULL-terminated further qemu-mig options, or NULL
 * @list:    where to keep the --peer value alive (freed by the caller)
 *
 * Return: new NULL-terminated array (strings borrowed)
 */
static GPtrArray *launch_args(const Ctx *ctx, const char *command, int npeers,
                              const char *const *opts, char **list)
{
    GPtrArray *args = base_args(ctx, command);
    const char *qemu_args[] = {"--",   "-machine", "q35", "-cpu",
                               "host", "-m",       "512", NULL};

    *list = peer_list(npeers);
    add_all(args, opts);
    if (command == NULL)
        g_ptr_array_add(args, "--dry-run");
    g_ptr_array_add(args, "--peer");
    g_ptr_array_add(args, *list);
    add_all(args, qemu_args);
    g_ptr_array_add(args, NULL);
    return args;
}

/**
 * launch() - run a dry-run launch with the first @npeers peers
 * @ctx:    context
 * @npeers: number of peers
 * @opts:   NULL-terminated further qemu-mig options, or NULL
 *
 * Return: what happened
 */
static QmRun *launch(Ctx *ctx, int npeers, const char *const *opts)
{
    g_autofree char *list = NULL;
    g_autoptr(GPtrArray) args = launch_args(ctx, NULL, npeers, opts, &list);

    return run_qm(ctx, NULL, (const char *const *)args->pdata);
}

/**
 * cache_cmd() - run `qemu-mig cache ACTION [DEST...]`
 * @ctx:    context
 * @action: "list", "show" or "clear"
 * @dests:  NULL-terminated destinations, or NULL
 *
 * Return: what happened
 */
static QmRun *cache_cmd(Ctx *ctx, const char *action, const char *const *dests)
{
    g_autoptr(GPtrArray) args = base_args(ctx, "cache");

    g_ptr_array_add(args, (char *)action);
    add_all(args, dests);
    g_ptr_array_add(args, NULL);
    return run_qm(ctx, NULL, (const char *const *)args->pdata);
}

/**
 * load_features() - a capture's host features, parsed independently of
 *                   qemu-mig's decision code
 * @cpu: capture short name
 *
 * Return: new set of canonical feature names
 */
static GHashTable *load_features(const char *cpu)
{
    g_autoptr(QmRunCpuFacts) facts = qm_run_load_facts(cpu);

    return g_hash_table_ref(facts->features);
}

/**
 * count_lines() - number of '\n' in a text
 * @text: text
 *
 * Return: count
 */
static guint count_lines(const char *text)
{
    guint n = 0;

    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

/**
 * count_str() - occurrences of @needle in @text
 * @text:   text
 * @needle: non-empty string
 *
 * Return: count
 */
static guint count_str(const char *text, const char *needle)
{
    guint n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/**
 * assert_one_warning() - stderr is one warning line holding both needles
 * @run:     the run
 * @needle1: text the line must contain
 * @needle2: more text the line must contain, or NULL
 */
static void assert_one_warning(const QmRun *run, const char *needle1,
                               const char *needle2)
{
    g_assert_true(g_str_has_prefix(run->err, "qemu-mig: warning: "));
    g_assert_cmpuint(count_lines(run->err), ==, 1);
    g_assert_true(g_str_has_suffix(run->err, "\n"));
    g_assert_nonnull(strstr(run->err, needle1));
    if (needle2 != NULL)
        g_assert_nonnull(strstr(run->err, needle2));
}

/**
 * assert_one_line_error() - a refusal: one stderr line naming @needle
 * @run:    the run
 * @status: expected exit status
 * @needle: text the message must contain
 */
static void assert_one_line_error(const QmRun *run, int status,
                                  const char *needle)
{
    g_assert_cmpint(run->status, ==, status);
    g_assert_true(g_str_has_prefix(run->err, "qemu-mig: "));
    g_assert_false(g_str_has_prefix(run->err, "qemu-mig: warning: "));
    g_assert_nonnull(strstr(run->err, needle));
    g_assert_cmpuint(count_lines(run->err), ==, 1);
    g_assert_true(g_str_has_suffix(run->err, "\n"));
    g_assert_cmpstr(run->out, ==, "");
}

/**
 * assert_probes() - how often each host has been probed in this test
 * @ctx:   context
 * @local: expected local probes
 * @p0:    expected probes of peer 0
 * @p1:    expected probes of peer 1
 * @p2:    expected probes of peer 2
 */
static void assert_probes(const Ctx *ctx, guint local, guint p0, guint p1,
                          guint p2)
{
    const guint want[PEERS] = {p0, p1, p2};

    g_assert_cmpuint(qm_run_count_files(ctx->local_count), ==, local);
    for (int i = 0; i < PEERS; i++) {
        g_autofree char *dir = peer_count_dir(ctx, i);

        g_test_message("peer%d: %u probes", i, qm_run_count_files(dir));
        g_assert_cmpuint(qm_run_count_files(dir), ==, want[i]);
    }
}

/* reference_line[n]: the dry-run line of an uncached launch with n peers */
static char *reference_line[PEERS + 1];

/**
 * reference() - the command an uncached launch with the first @npeers
 *               peers prints: what every launch through the cache must
 *               print too
 * @npeers: number of peers
 *
 * The decision rules are test-cli-e2e's business; here the cache must not
 * change their outcome.  Made once, on a world of its own, with
 * --no-cache; test_no_cache() checks that this touches no cache.
 *
 * Return: the line (without its newline), valid until exit
 */
static const char *reference(int npeers)
{
    if (reference_line[npeers] == NULL) {
        g_autofree char *name = g_strdup_printf("reference-%d", npeers);
        g_autoptr(Ctx) ctx = ctx_new(name);
        const char *opts[] = {"--no-cache", NULL};
        g_autoptr(QmRun) run = launch(ctx, npeers, opts);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpstr(run->err, ==, "");
        g_assert_cmpuint(run->out_len, >, 0);
        g_assert_true(strchr(run->out, '\n') == run->out + run->out_len - 1);
        assert_probes(ctx, 1, npeers > 0, npeers > 1, npeers > 2);
        reference_line[npeers] = g_strndup(run->out, run->out_len - 1);
    }
    return reference_line[npeers];
}

/**
 * cpu_value() - the value of the last -cpu in a command
 * @words: argv
 *
 * Return: the value (borrowed); the test fails when there is no -cpu
 */
static const char *cpu_value(GPtrArray *words)
{
    const char *value = NULL;

    for (guint i = 0; i + 1 < words->len; i++) {
        if (strcmp(g_ptr_array_index(words, i), "-cpu") == 0)
            value = g_ptr_array_index(words, i + 1);
    }
    g_assert_nonnull(value);
    return value;
}

/**
 * assert_hides_differences() - independently of qemu-mig's decision code:
 * every feature the local capture has and one of the peers' lacks is
 * turned off in @value
 * @value:  -cpu value
 * @npeers: the run's peers were the first @npeers
 */
static void assert_hides_differences(const char *value, int npeers)
{
    g_autoptr(GHashTable) mine = load_features(local_cpu);
    g_autofree char *padded = g_strconcat(value, ",", NULL);
    GHashTableIter iter;
    gpointer key;
    guint hidden = 0;

    g_assert_true(g_str_has_prefix(value, "host,"));
    for (int i = 0; i < npeers; i++) {
        g_autoptr(GHashTable) theirs = load_features(peer_cpus[i]);

        g_hash_table_iter_init(&iter, mine);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
            g_autofree char *item = g_strdup_printf(",%s=off,", (char *)key);

            if (g_hash_table_contains(theirs, key))
                continue;
            g_assert_nonnull(strstr(padded, item));
            hidden++;
        }
    }
    g_assert_cmpuint(hidden, >, 0);
}

/**
 * assert_launch() - a successful dry run printing, as one line, the very
 *                   command an uncached launch prints
 * @ctx:    context (gives the local QEMU path)
 * @run:    the run
 * @npeers: the run's peers were the first @npeers
 */
static void assert_launch(const Ctx *ctx, const QmRun *run, int npeers)
{
    g_autoptr(GPtrArray) want = qm_run_eval_line(reference(npeers));
    g_autofree char *line = NULL;
    g_autoptr(GPtrArray) words = NULL;

    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpuint(run->out_len, >, 0);
    g_assert_true(strchr(run->out, '\n') == run->out + run->out_len - 1);
    line = g_strndup(run->out, run->out_len - 1);
    words = qm_run_eval_line(line);
    g_assert_cmpuint(words->len, ==, want->len);
    g_assert_cmpstr(g_ptr_array_index(words, 0), ==, ctx->qemu);
    for (guint i = 1; i < want->len; i++)
        g_assert_cmpstr(g_ptr_array_index(words, i), ==,
                        g_ptr_array_index(want, i));
    assert_hides_differences(cpu_value(words), npeers);
}

/**
 * entry_path() - the one cache entry of a kind in the cache directory
 * @ctx:  context
 * @kind: "local" or "peer"
 *
 * Return: newly allocated path; the test fails unless there is exactly one
 */
static char *entry_path(const Ctx *ctx, const char *kind)
{
    g_autoptr(GDir) dir = g_dir_open(ctx->cache_dir, 0, NULL);
    g_autofree char *prefix = g_strdup_printf("%s-", kind);
    char *found = NULL;
    const char *name;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (!g_str_has_prefix(name, prefix) || !g_str_has_suffix(name, ".json"))
            continue;
        g_assert_null(found);
        found = g_build_filename(ctx->cache_dir, name, NULL);
    }
    g_assert_nonnull(found);
    return found;
}

/**
 * need_sshd() - skip the current test when sshd is unavailable
 *
 * Return: TRUE when the test may go on
 */
static gboolean need_sshd(void)
{
    if (skip_reason != NULL) {
        g_test_skip(skip_reason);
        return FALSE;
    }
    return TRUE;
}

/**
 * pause_all() - freeze or thaw every peer's sshd
 * @paused: TRUE to freeze
 */
static void pause_all(gboolean paused)
{
    for (int i = 0; i < PEERS; i++)
        qm_test_sshd_pause(peers[i], paused);
}

/**
 * list_keys() - the keys `cache list` printed, in its order
 * @ctx:     context
 * @entries: how many entries the header must announce
 *
 * Return: new array of keys
 */
static GPtrArray *list_keys(Ctx *ctx, guint entries)
{
    g_autoptr(QmRun) run = cache_cmd(ctx, "list", NULL);
    g_autofree char *header =
        g_strdup_printf("# %s: %u entr%s\n", ctx->cache_dir, entries,
                        entries == 1 ? "y" : "ies");
    g_auto(GStrv) lines = NULL;
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);

    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpstr(run->err, ==, "");
    g_assert_true(g_str_has_prefix(run->out, header));
    g_assert_cmpuint(count_lines(run->out), ==, entries + 1);
    lines = g_strsplit(run->out + strlen(header), "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        const char *key = strstr(*l, " local ");

        if (key == NULL)
            key = strstr(*l, " peer ");
        g_assert_nonnull(key);
        g_ptr_array_add(keys, g_strdup(key + 1));
    }
    g_assert_cmpuint(keys->len, ==, entries);
    return keys;
}

/**
 * test_concurrent_cold() - PARALLEL launches race on a cold cache: all
 * agree on the right command, every host is probed exactly once, and the
 * cache is whole afterwards (the decision remembered once)
 */
static void test_concurrent_cold(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *list = NULL;
    g_autoptr(GPtrArray) args = NULL;
    const char *opts[] = {"--timeout", "60", NULL};
    GSubprocess *procs[PARALLEL];
    char *outs[PARALLEL], *errs[PARALLEL];
    g_autoptr(QmRun) first = NULL;
    g_autoptr(GPtrArray) keys = NULL;
    g_autoptr(GDir) dir = NULL;
    guint json = 0, lock = 0, decision = 0, other = 0;
    const char *name;
    gint64 start;

    if (!need_sshd())
        return;
    ctx = ctx_new("concurrent-cold");
    args = launch_args(ctx, NULL, PEERS, opts, &list);
    start = g_get_monotonic_time();
    for (int i = 0; i < PARALLEL; i++)
        procs[i] = start_qm(ctx, NULL, (const char *const *)args->pdata,
                            &outs[i], &errs[i]);
    for (int i = 0; i < PARALLEL; i++) {
        g_autoptr(QmRun) run = finish_qm(procs[i], outs[i], errs[i], start);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, PEERS);
        if (first == NULL)
            first = g_steal_pointer(&run);
        else
            g_assert_cmpstr(run->out, ==, first->out);
    }
    g_test_message("%d launches done after %.2fs", PARALLEL,
                   (g_get_monotonic_time() - start) / 1e6);
    assert_probes(ctx, 1, 1, 1, 1);

    /* four valid entries, their locks, no temporary files left over */
    dir = g_dir_open(ctx->cache_dir, 0, NULL);
    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (name[0] != '.' && g_str_has_suffix(name, ".json"))
            json++;
        else if (name[0] != '.' && g_str_has_suffix(name, ".lock"))
            lock++;
        else if (name[0] != '.' && g_str_has_prefix(name, "decision-") &&
                 g_str_has_suffix(name, ".conf"))
            decision++;
        else if (!(g_str_has_prefix(name, "ssh-") &&
                   g_str_has_suffix(name, ".conf")))
            other++;
    }
    g_assert_cmpuint(json, ==, PEERS + 1);
    /* the same launch PARALLEL times: one remembered decision */
    g_assert_cmpuint(decision, ==, 1);
    g_assert_cmpuint(lock, ==, PEERS + 1);
    g_assert_cmpuint(other, ==, 0);
    keys = list_keys(ctx, PEERS + 1);

    /* and loading them works: a warm launch reaches no peer */
    pause_all(TRUE);
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        pause_all(FALSE);
        g_assert_cmpstr(run->err, ==, "");
        g_assert_cmpstr(run->out, ==, first->out);
    }
    assert_probes(ctx, 1, 1, 1, 1);
}

/**
 * Untrusted - one way a cache entry can be unfit to use
 * @name:   test name
 * @needle: what the warning says about it
 * @spoil:  damage the entry at a path (the test's scratch dir given)
 */
typedef struct {
    const char *name;
    const char *needle;
    void (*spoil)(const char *path, const char *scratch, gboolean local);
} Untrusted;

/**
 * spoil_corrupt() - overwrite bytes in the middle of an entry with garbage
 * @path:    entry
 * @scratch: scratch directory (unused)
 * @local:   TRUE for the local entry (unused)
 *
 * The garbage replaces the "profile" member name, outside any string, so
 * the file is no longer JSON at all (inside a string it would merely fail
 * the checksum).
 */
static void spoil_corrupt(const char *path, const char *scratch, gboolean local)
{
    static const char garbage[] = "\x01#!{[";
    g_autofree char *text = NULL;
    const char *at;
    int fd;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    at = strstr(text, "\"profile\"");
    g_assert_nonnull(at);
    g_assert_cmpuint(at - text, >, 10);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, garbage, strlen(garbage), at - text), ==,
                    (int)strlen(garbage));
    close(fd);
}

/**
 * spoil_truncate() - cut an entry in half, as a crash mid-write would
 * @path:    entry
 * @scratch: scratch directory (unused)
 * @local:   TRUE for the local entry (unused)
 */
static void spoil_truncate(const char *path, const char *scratch,
                           gboolean local)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(truncate(path, st.st_size / 2), ==, 0);
}

/**
 * spoil_duplicate() - put a second "key" member in front of the real one
 * @path:    entry
 * @scratch: scratch directory (unused)
 * @local:   TRUE for the local entry (unused)
 *
 * json-glib alone keeps the last of two equal keys, so the entry would
 * still read as whole and valid: only refusing repeated keys makes this a
 * miss.
 */
static void spoil_duplicate(const char *path, const char *scratch,
                            gboolean local)
{
    g_autofree char *text = NULL;
    g_autofree char *spoilt = NULL;
    g_autoptr(GError) error = NULL;
    const char *brace;

    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    brace = strchr(text, '{');
    g_assert_nonnull(brace);
    spoilt = g_strdup_printf("{\"key\": \"someone-else\", %s", brace + 1);
    g_file_set_contents(path, spoilt, -1, &error);
    g_assert_no_error(error);
}

/**
 * load_record() - parse an entry as JSON
 * @path: entry
 *
 * Return: its root node
 */
static JsonNode *load_record(const char *path)
{
    JsonNode *root = qm_run_read_json(path);

    g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
    return root;
}

/**
 * save_record() - write an entry back in place, as an editor would
 * @path: entry
 * @root: record
 */
static void save_record(const char *path, JsonNode *root)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(GError) error = NULL;

    json_generator_set_root(gen, root);
    json_generator_to_file(gen, path, &error);
    g_assert_no_error(error);
}

/**
 * spoil_format() - claim the next format version, which this qemu-mig
 *                  does not know
 * @path:    entry
 * @scratch: scratch directory (unused)
 * @local:   TRUE for the local entry (unused)
 */
static void spoil_format(const char *path, const char *scratch, gboolean local)
{
    g_autoptr(JsonNode) root = load_record(path);
    JsonObject *obj = json_node_get_object(root);
    gint64 format = json_object_get_int_member(obj, "format");

    /* what a newer qemu-mig would write */
    g_assert_cmpint(format, >=, 1);
    json_object_set_int_member(obj, "format", format + 1);
    save_record(path, root);
}

/**
 * spoil_edit() - change the profile's features, leaving "checksum" alone
 * @path:    entry
 * @scratch: scratch directory (unused)
 * @local:   TRUE for the local entry
 *
 * The change would alter the command if it were believed: the local host
 * loses "vaes", which the peer lacks (so vaes=off would go), the peer
 * loses "avx2", which the local host has (so avx2=off would come).
 */
static void spoil_edit(const char *path, const char *scratch, gboolean local)
{
    g_autoptr(JsonNode) root = load_record(path);
    JsonObject *profile =
        json_object_get_object_member(json_node_get_object(root), "profile");
    JsonArray *features = json_object_get_array_member(profile, "features");
    const char *victim = local ? "vaes" : "avx2";
    guint n = json_array_get_length(features);
    guint i;

    for (i = 0; i < n; i++) {
        if (strcmp(json_array_get_string_element(features, i), victim) == 0)
            break;
    }
    g_assert_cmpuint(i, <, n);
    json_array_remove_element(features, i);
    save_record(path, root);
}

/**
 * spoil_owner() - give a (valid) entry to somebody else
 * @path:    entry
 * @scratch: scratch directory (unused)
 * @local:   TRUE for the local entry (unused)
 */
static void spoil_owner(const char *path, const char *scratch, gboolean local)
{
    g_assert_cmpint(chown(path, OTHER_ID, OTHER_ID), ==, 0);
}

/**
 * spoil_symlink() - replace an entry by a symlink to a valid copy of it
 * @path:    entry
 * @scratch: scratch directory, where the copy goes
 * @local:   TRUE for the local entry
 *
 * Following the link would find a perfectly good entry: only refusing
 * symlinks makes this a miss.
 */
static void spoil_symlink(const char *path, const char *scratch, gboolean local)
{
    g_autofree char *copy = g_strdup_printf("%s/elsewhere-%s.json", scratch,
                                            local ? "local" : "peer");
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;

    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    g_file_set_contents(copy, text, -1, &error);
    g_assert_no_error(error);
    g_assert_cmpint(unlink(path), ==, 0);
    g_assert_cmpint(symlink(copy, path), ==, 0);
}

static const Untrusted untrusted[] = {
    {"corrupt", "corrupt or truncated", spoil_corrupt},
    {"truncated", "corrupt or truncated", spoil_truncate},
    {"duplicate-key", "corrupt or truncated", spoil_duplicate},
    {"foreign-format", "foreign format version", spoil_format},
    {"hand-edited", "checksum", spoil_edit},
    {"wrong-owner", "not a regular file of yours", spoil_owner},
    {"symlink", "symlink", spoil_symlink},
};

/**
 * test_untrusted() - a damaged or foreign entry, of the peer and then of
 * the local host, is a miss with one warning naming the file; that host is
 * probed again, the launch is right, and the entry is whole again
 * @data: the Untrusted case
 */
static void test_untrusted(gconstpointer data)
{
    const Untrusted *u = data;
    g_autofree char *name = NULL;
    g_autoptr(Ctx) ctx = NULL;

    if (!need_sshd())
        return;
    name = g_strdup_printf("untrusted-%s", u->name);
    ctx = ctx_new(name);
    {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, 1);
    }
    assert_probes(ctx, 1, 1, 0, 0);

    for (int local = 0; local <= 1; local++) {
        g_autofree char *path = entry_path(ctx, local ? "local" : "peer");
        g_autoptr(QmRun) run = NULL;

        g_test_message("spoiling %s", path);
        u->spoil(path, ctx->dir, local);
        run = launch(ctx, 1, NULL);
        assert_launch(ctx, run, 1);
        assert_one_warning(run, path, u->needle);
        if (local)
            assert_probes(ctx, 2, 2, 0, 0);
        else
            assert_probes(ctx, 1, 2, 0, 0);
    }

    /* both entries were replaced by good ones */
    {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);
        g_autofree char *peer = entry_path(ctx, "peer");
        g_autofree char *local = entry_path(ctx, "local");

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, 1);
        g_assert_false(g_file_test(peer, G_FILE_TEST_IS_SYMLINK));
        g_assert_false(g_file_test(local, G_FILE_TEST_IS_SYMLINK));
    }
    assert_probes(ctx, 2, 2, 0, 0);
}

/**
 * assert_refused_dir() - a real launch with @ctx's cache directory is
 * refused with exit 8, naming @needle, before anything is probed or run
 * @ctx:    context
 * @needle: text the error must contain
 */
static void assert_refused_dir(Ctx *ctx, const char *needle)
{
    g_autofree char *record = g_build_filename(ctx->dir, "record.json", NULL);
    g_autofree char *record_env =
        g_strdup_printf("FAKE_QEMU_RECORD=%s", record);
    const char *env[] = {record_env, NULL};
    g_autofree char *list = peer_list(PEERS);
    const char *rest[] = {"--peer", list, "--", "-cpu", "host", NULL};
    g_autoptr(GPtrArray) args = base_args(ctx, NULL);
    g_autoptr(QmRun) run = NULL;

    add_all(args, rest);
    g_ptr_array_add(args, NULL);
    run = run_qm(ctx, env, (const char *const *)args->pdata);
    assert_one_line_error(run, 8, needle);
    g_assert_nonnull(strstr(run->err, ctx->cache_dir));
    g_assert_false(g_file_test(record, G_FILE_TEST_EXISTS));
    assert_probes(ctx, 0, 0, 0, 0);

    /* the cache commands refuse it too */
    {
        g_autoptr(QmRun) list_run = cache_cmd(ctx, "list", NULL);

        assert_one_line_error(list_run, 8, needle);
    }

    /* control: the same launch with a cache of our own does run (the
     * arguments borrow ctx->cache_dir: build them again) */
    g_clear_pointer(&args, g_ptr_array_unref);
    g_free(ctx->cache_dir);
    ctx->cache_dir = g_build_filename(ctx->dir, "control-cache", NULL);
    args = base_args(ctx, NULL);
    add_all(args, rest);
    g_ptr_array_add(args, NULL);
    g_clear_pointer(&run, qm_run_free);
    run = run_qm(ctx, env, (const char *const *)args->pdata);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_true(g_file_test(record, G_FILE_TEST_EXISTS));
}

/**
 * test_dir_symlink() - a cache directory that is a symlink (to a
 * directory of ours) is refused, and nothing is written through it
 */
static void test_dir_symlink(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *real = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("dir-symlink");
    real = g_build_filename(ctx->dir, "real-cache", NULL);
    g_assert_cmpint(g_mkdir(real, 0700), ==, 0);
    g_assert_cmpint(symlink(real, ctx->cache_dir), ==, 0);
    assert_refused_dir(ctx, "symlink");
    g_assert_cmpuint(qm_run_count_files(real), ==, 0);
}

/**
 * test_dir_foreign_owner() - a cache directory owned by somebody else is
 * refused, and left as it was
 */
static void test_dir_foreign_owner(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *theirs = NULL;
    struct stat st;

    if (!need_sshd())
        return;
    ctx = ctx_new("dir-foreign-owner");
    theirs = g_strdup(ctx->cache_dir);
    g_assert_cmpint(g_mkdir(theirs, 0755), ==, 0);
    g_assert_cmpint(chown(theirs, OTHER_ID, OTHER_ID), ==, 0);
    assert_refused_dir(ctx, "owned by uid 65534");
    g_assert_cmpint(stat(theirs, &st), ==, 0);
    g_assert_cmpuint(st.st_uid, ==, OTHER_ID);
    g_assert_cmpuint(st.st_mode & 07777, ==, 0755);
    g_assert_cmpuint(qm_run_count_files(theirs), ==, 0);
}

/**
 * test_dir_regular_file() - a cache directory that is a regular file is
 * refused (exit 8), saying so, and the file is left as it was
 */
static void test_dir_regular_file(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *contents = NULL;
    g_autofree char *file = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("dir-regular-file");
    file = g_strdup(ctx->cache_dir);
    g_assert_true(g_file_set_contents(file, "mine\n", -1, NULL));
    assert_refused_dir(ctx, "is not a directory");
    g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "mine\n");
}

/**
 * assert_uncached_launch() - a launch with a cache directory that cannot
 * be made: right command, every host warned about as not cached
 * @ctx:    context with the unusable --cache-dir set
 * @probes: how often each host has been probed before
 */
static void assert_uncached_launch(Ctx *ctx, guint probes)
{
    g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);
    g_auto(GStrv) lines = NULL;
    guint uncached = 0;

    assert_launch(ctx, run, PEERS);
    lines = g_strsplit(run->err, "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        g_assert_true(g_str_has_prefix(*l, "qemu-mig: warning: "));
        uncached += strstr(*l, "is not cached") != NULL;
    }
    g_assert_cmpuint(uncached, ==, PEERS + 1);
    g_assert_nonnull(strstr(run->err, "the profile of local is not cached"));
    for (int i = 0; i < PEERS; i++) {
        g_autofree char *needle =
            g_strdup_printf("the profile of %s is not cached", peers[i]->alias);

        g_assert_nonnull(strstr(run->err, needle));
    }
    g_assert_nonnull(strstr(run->err, ctx->cache_dir));
    /* nothing cached, so every launch probes */
    assert_probes(ctx, probes + 1, probes + 1, probes + 1, probes + 1);
}

/**
 * test_dir_unwritable() - a cache directory that cannot be created (in
 * /proc, or under a regular file) does not stop a correct launch
 */
static void test_dir_unwritable(void)
{
    static const char proc_dir[] = "/proc/qemu-mig-test";
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *plain = NULL;
    g_autofree char *contents = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("dir-unwritable");

    g_free(ctx->cache_dir);
    ctx->cache_dir = g_strdup(proc_dir);
    assert_uncached_launch(ctx, 0);
    assert_uncached_launch(ctx, 1);
    g_assert_false(g_file_test(proc_dir, G_FILE_TEST_EXISTS));

    plain = g_build_filename(ctx->dir, "plain-file", NULL);
    g_assert_true(g_file_set_contents(plain, "x", -1, NULL));
    g_free(ctx->cache_dir);
    ctx->cache_dir = g_build_filename(plain, "cache", NULL);
    assert_uncached_launch(ctx, 2);
    g_assert_true(g_file_get_contents(plain, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "x");
}

/**
 * test_expiry() - a peer's entry is used until --max-age, then the peer
 * is probed again; the local entry does not age
 */
static void test_expiry(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *cold = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("expiry");
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        assert_launch(ctx, run, PEERS);
        cold = g_strdup(run->out);
    }
    assert_probes(ctx, 1, 1, 1, 1);
    {
        /* default --max-age (1d), then an explicit one */
        const char *opts[] = {"--max-age", "1h", NULL};
        g_autoptr(QmRun) def = launch(ctx, PEERS, NULL);
        g_autoptr(QmRun) hour = launch(ctx, PEERS, opts);

        g_assert_cmpstr(def->err, ==, "");
        g_assert_cmpstr(def->out, ==, cold);
        g_assert_cmpstr(hour->err, ==, "");
        g_assert_cmpstr(hour->out, ==, cold);
    }
    assert_probes(ctx, 1, 1, 1, 1);
    {
        const char *opts[] = {"--max-age", "0s", NULL};
        g_autoptr(QmRun) run = launch(ctx, PEERS, opts);

        g_assert_cmpstr(run->err, ==, "");
        g_assert_cmpstr(run->out, ==, cold);
    }
    assert_probes(ctx, 1, 2, 2, 2);
    {
        const char *opts[] = {"--max-age=0", NULL};
        g_autoptr(QmRun) run = launch(ctx, PEERS, opts);

        g_assert_cmpstr(run->out, ==, cold);
    }
    assert_probes(ctx, 1, 3, 3, 3);
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        g_assert_cmpstr(run->out, ==, cold);
    }
    assert_probes(ctx, 1, 3, 3, 3);
}

/**
 * test_refresh() - --refresh probes every host although all are fresh,
 * and stores what it found
 */
static void test_refresh(void)
{
    const char *opts[] = {"--refresh", NULL};
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *cold = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("refresh");
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        assert_launch(ctx, run, PEERS);
        cold = g_strdup(run->out);
    }
    assert_probes(ctx, 1, 1, 1, 1);
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, opts);

        g_assert_cmpstr(run->err, ==, "");
        g_assert_cmpstr(run->out, ==, cold);
    }
    assert_probes(ctx, 2, 2, 2, 2);
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        g_assert_cmpstr(run->out, ==, cold);
    }
    assert_probes(ctx, 2, 2, 2, 2);
}

/**
 * test_offline() - --offline launches from the cache alone with every
 * sshd stopped; a host without an entry is refused by name
 */
static void test_offline(void)
{
    const char *opts[] = {"--offline", NULL};
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *cold = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("offline");
    {
        /* only peers 0 and 1 get an entry */
        g_autoptr(QmRun) run = launch(ctx, PEERS - 1, NULL);

        assert_launch(ctx, run, PEERS - 1);
        cold = g_strdup(run->out);
    }
    assert_probes(ctx, 1, 1, 1, 0);

    pause_all(TRUE);
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS - 1, opts);
        g_autoptr(QmRun) missing = launch(ctx, PEERS, opts);

        pause_all(FALSE);
        g_assert_cmpstr(run->err, ==, "");
        g_assert_cmpstr(run->out, ==, cold);
        g_assert_cmpfloat(run->seconds, <, 2.0 * qm_test_slow());

        assert_one_line_error(missing, 8, peers[2]->alias);
        g_assert_nonnull(strstr(missing->err, "--offline"));
        g_assert_null(strstr(missing->err, peers[0]->alias));
        g_assert_null(strstr(missing->err, peers[1]->alias));
        g_assert_cmpfloat(missing->seconds, <, 2.0 * qm_test_slow());
    }
    assert_probes(ctx, 1, 1, 1, 0);

    /* the local host without an entry is refused too */
    {
        g_autoptr(GPtrArray) args = base_args(ctx, "cache");
        g_autoptr(QmRun) clear = NULL;
        g_autoptr(QmRun) run = NULL;

        g_ptr_array_add(args, "clear");
        g_ptr_array_add(args, "local");
        g_ptr_array_add(args, NULL);
        clear = run_qm(ctx, NULL, (const char *const *)args->pdata);
        g_assert_cmpint(clear->status, ==, 0);
        run = launch(ctx, PEERS - 1, opts);
        assert_one_line_error(run, 8, "local");
    }
    assert_probes(ctx, 1, 1, 1, 0);
}

/**
 * test_on_unreachable() - an expired entry of a hanging peer: used with
 * one warning by default, refused with --on-unreachable=fail; without an
 * entry the hanging peer is refused
 */
static void test_on_unreachable(void)
{
    /*
     * Long enough for the peers that do answer (four probes at once on
     * two cores took 1.9 s once), short enough for a quick test
     */
    g_autofree char *timeout = g_strdup_printf("%u", 5 * qm_test_slow());
    const double max_s = 10.0 * qm_test_slow();
    const char *stale_opts[] = {"--timeout", timeout, "--max-age", "0s", NULL};
    const char *fail_opts[] = {
        "--timeout", timeout, "--max-age", "0s", "--on-unreachable=fail", NULL};
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *cold = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("on-unreachable");
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        assert_launch(ctx, run, PEERS);
        cold = g_strdup(run->out);
    }
    assert_probes(ctx, 1, 1, 1, 1);

    qm_test_sshd_pause(peers[1], TRUE);
    {
        g_autoptr(QmRun) stale = launch(ctx, PEERS, stale_opts);
        g_autoptr(QmRun) fail = launch(ctx, PEERS, fail_opts);
        g_autoptr(GRegex) age =
            g_regex_new("cached profile from [0-9]+[smhd] ago", 0, 0, NULL);
        g_autoptr(QmRun) none = NULL;
        g_autoptr(QmRun) clear = NULL;
        const char *dest[] = {peers[1]->alias, NULL};

        g_assert_cmpint(stale->status, ==, 0);
        g_assert_cmpstr(stale->out, ==, cold);
        assert_one_warning(stale, peers[1]->alias, "unreachable");
        g_assert_true(g_regex_match(age, stale->err, 0, NULL));
        g_assert_cmpfloat(stale->seconds, <, max_s);

        assert_one_line_error(fail, 3, peers[1]->alias);
        g_assert_cmpfloat(fail->seconds, <, max_s);

        /* no entry at all: nothing to fall back on */
        clear = cache_cmd(ctx, "clear", dest);
        g_assert_cmpint(clear->status, ==, 0);
        none = launch(ctx, PEERS, stale_opts);
        qm_test_sshd_pause(peers[1], FALSE);
        assert_one_line_error(none, 3, peers[1]->alias);
        g_assert_cmpfloat(none->seconds, <, max_s);
    }
    /* the reachable peers were probed again each time, the local host not */
    assert_probes(ctx, 1, 4, 1, 4);
}

/**
 * test_warm() - with every entry fresh and every sshd stopped, a launch
 * gives the cold command at once, probing nothing
 */
static void test_warm(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autoptr(QmRun) cold = NULL;
    g_autoptr(QmRun) warm = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("warm");
    cold = launch(ctx, PEERS, NULL);
    assert_launch(ctx, cold, PEERS);
    assert_probes(ctx, 1, 1, 1, 1);

    pause_all(TRUE);
    warm = launch(ctx, PEERS, NULL);
    pause_all(FALSE);
    g_assert_cmpint(warm->status, ==, 0);
    g_assert_cmpstr(warm->err, ==, "");
    g_assert_cmpstr(warm->out, ==, cold->out);
    g_assert_cmpfloat(warm->seconds, <, 1.0 * qm_test_slow());
    assert_probes(ctx, 1, 1, 1, 1);
}

/**
 * rewrite_in_place() - replace a file's contents, keeping its inode
 * @path: file
 * @text: new contents
 *
 * As an editor that writes in place does: only size, mtime and ctime say
 * that it changed.
 */
static void rewrite_in_place(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
    close(fd);
}

/**
 * test_ssh_config_edit() - the remembered ssh_config evaluation holds only
 * while the files ssh read are unchanged: once an Included file re-points
 * the alias (edited in place), the next run reaches, probes and caches the
 * new host
 */
static void test_ssh_config_edit(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *included = NULL;
    g_autofree char *text = NULL;
    g_autofree char *top = NULL;
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    g_autofree char *old_name = NULL;
    g_autoptr(GString) edited = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("ssh-config-edit");
    /* a directory of their own: a new entry beside them is a change too */
    dir = g_build_filename(ctx->dir, "ssh", NULL);
    g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
    included = g_build_filename(dir, "peers.conf", NULL);
    ctx->ssh_config = g_build_filename(dir, "ssh_config", NULL);
    g_assert_true(g_file_get_contents(ssh_config, &text, NULL, NULL));
    g_assert_true(g_file_set_contents(included, text, -1, NULL));
    top = g_strdup_printf("Include %s\n", included);
    g_assert_true(g_file_set_contents(ctx->ssh_config, top, -1, NULL));

    for (int i = 0; i < 2; i++) {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, 1);
    }
    assert_probes(ctx, 1, 1, 0, 0);

    /* peer1's block now answers to peer0's name as well */
    from = g_strdup_printf("Host %s\n", peers[0]->alias);
    old_name = g_strdup_printf("Host %s-old\n", peers[0]->alias);
    to = g_strdup_printf("Host %s %s\n", peers[1]->alias, peers[0]->alias);
    edited = g_string_new(text);
    g_assert_cmpuint(g_string_replace(edited, from, old_name, 1), ==, 1);
    g_free(from);
    from = g_strdup_printf("Host %s\n", peers[1]->alias);
    g_assert_cmpuint(g_string_replace(edited, from, to, 1), ==, 1);
    rewrite_in_place(included, edited->str);

    for (int i = 0; i < 2; i++) {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpstr(run->err, ==, "");
    }
    assert_probes(ctx, 1, 1, 1, 0);
}

/**
 * copy_file() - copy a file, keeping it executable
 * @from: source
 * @to:   destination
 */
static void copy_file(const char *from, const char *to)
{
    g_autofree char *data = NULL;
    gsize len;
    g_autoptr(GError) error = NULL;

    g_file_get_contents(from, &data, &len, &error);
    g_assert_no_error(error);
    g_file_set_contents(to, data, len, &error);
    g_assert_no_error(error);
    g_assert_cmpint(g_chmod(to, 0755), ==, 0);
}

/**
 * test_local_invalidation() - the local entry holds until the local QEMU
 * binary changes: a new mtime, or a new size
 */
static void test_local_invalidation(void)
{
    g_autoptr(Ctx) ctx = NULL;
    struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}};
    int fd;

    if (!need_sshd())
        return;
    ctx = ctx_new("local-invalidation");
    g_free(ctx->qemu);
    ctx->qemu = g_build_filename(ctx->dir, "qemu-system-x86_64", NULL);
    copy_file(qm_test_env("QM_FAKE_QEMU"), ctx->qemu);

    for (int i = 0; i < 2; i++) {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, 1);
    }
    assert_probes(ctx, 1, 1, 0, 0);

    /* an older mtime: different is what counts, not newer */
    times[1].tv_sec = time(NULL) - 3600;
    times[1].tv_nsec = 0;
    g_assert_cmpint(utimensat(AT_FDCWD, ctx->qemu, times, 0), ==, 0);
    for (int i = 0; i < 2; i++) {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, 1);
    }
    assert_probes(ctx, 2, 1, 0, 0);

    /* one more byte (and the mtime put back, so only the size differs) */
    fd = open(ctx->qemu, O_WRONLY | O_APPEND | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, "", 1), ==, 1);
    close(fd);
    g_assert_cmpint(utimensat(AT_FDCWD, ctx->qemu, times, 0), ==, 0);
    for (int i = 0; i < 2; i++) {
        g_autoptr(QmRun) run = launch(ctx, 1, NULL);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, 1);
    }
    assert_probes(ctx, 3, 1, 0, 0);
}

/**
 * test_commands() - cache list, show DEST, show local, clear DEST, clear
 */
static void test_commands(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autoptr(GPtrArray) keys = NULL;
    g_autofree char *local_key = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("commands");
    {
        /* an empty cache */
        g_autoptr(GPtrArray) none = list_keys(ctx, 0);
    }
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        assert_launch(ctx, run, PEERS);
    }
    assert_probes(ctx, 1, 1, 1, 1);

    /* list: one line per entry, sorted by key */
    keys = list_keys(ctx, PEERS + 1);
    local_key = g_strdup_printf("local %s", ctx->qemu);
    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);

        g_test_message("key %u: %s", i, key);
        if (i > 0)
            g_assert_cmpstr(g_ptr_array_index(keys, i - 1), <, key);
        if (i == 0)
            g_assert_cmpstr(key, ==, local_key);
        else
            g_assert_true(g_str_has_prefix(key, "peer root@127.0.0.1:"));
    }
    for (int i = 0; i < PEERS; i++) {
        g_autofree char *needle = g_strdup_printf("peer root@127.0.0.1:%d %s",
                                                  peers[i]->port, ctx->remote);
        gboolean found = FALSE;

        for (guint k = 0; k < keys->len; k++)
            found |= strcmp(g_ptr_array_index(keys, k), needle) == 0;
        g_assert_true(found);
    }

    /* show DEST: the stored profile, found through ssh_config */
    {
        const char *dest[] = {peers[1]->alias, NULL};
        g_autoptr(QmRun) run = cache_cmd(ctx, "show", dest);
        g_autofree char *head = g_strdup_printf("%s:\n", peers[1]->alias);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpstr(run->err, ==, "");
        g_assert_true(g_str_has_prefix(run->out, head));
        g_assert_nonnull(strstr(run->out, "vendor      AuthenticAMD\n"));
        /* Genoa (peer 1) has AVX-512 */
        g_assert_nonnull(strstr(run->out, "family 25 model 17"));
        g_assert_nonnull(strstr(run->out, "avx512f"));
        g_assert_nonnull(strstr(run->out, "probe       ssh-qmp\n"));
    }
    {
        const char *dest[] = {"local", NULL};
        g_autoptr(QmRun) run = cache_cmd(ctx, "show", dest);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpstr(run->err, ==, "");
        g_assert_true(g_str_has_prefix(run->out, "local:\n"));
        g_assert_nonnull(strstr(run->out, "vendor      AuthenticAMD\n"));
        g_assert_nonnull(strstr(run->out, "family 25 model 1 "));
        g_assert_nonnull(strstr(run->out, "probe       local-qmp\n"));
    }
    {
        /* a host never cached */
        const char *dest[] = {"root@127.0.0.1:1", NULL};
        g_autoptr(QmRun) run = cache_cmd(ctx, "show", dest);

        assert_one_line_error(run, 8, "root@127.0.0.1:1");
    }
    assert_probes(ctx, 1, 1, 1, 1);

    /* clear DEST: that entry goes, and only that host is probed next */
    {
        const char *dest[] = {peers[0]->alias, NULL};
        g_autoptr(QmRun) run = cache_cmd(ctx, "clear", dest);
        g_autoptr(QmRun) show = NULL;
        g_autoptr(GPtrArray) left = NULL;
        g_autofree char *gone =
            g_strdup_printf("peer root@127.0.0.1:%d ", peers[0]->port);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpstr(run->err, ==, "");
        g_assert_cmpstr(run->out, ==, "");
        left = list_keys(ctx, PEERS);
        for (guint k = 0; k < left->len; k++)
            g_assert_false(g_str_has_prefix(g_ptr_array_index(left, k), gone));
        show = cache_cmd(ctx, "show", dest);
        assert_one_line_error(show, 8, peers[0]->alias);
    }
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        assert_launch(ctx, run, PEERS);
    }
    assert_probes(ctx, 1, 2, 1, 1);

    /* clear: everything goes, and every host is probed next */
    {
        g_autoptr(QmRun) run = cache_cmd(ctx, "clear", NULL);
        g_autoptr(GPtrArray) left = NULL;

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpstr(run->err, ==, "");
        left = list_keys(ctx, 0);
    }
    {
        g_autoptr(QmRun) run = launch(ctx, PEERS, NULL);

        assert_launch(ctx, run, PEERS);
    }
    assert_probes(ctx, 2, 3, 2, 2);
    {
        g_autoptr(GPtrArray) all = list_keys(ctx, PEERS + 1);
    }
}

/**
 * explain_sources() - run explain --json and collect hosts[].source
 * @ctx:  context
 * @opts: NULL-terminated further options, or NULL
 *
 * Return: newly allocated "source,source,..." in host order
 */
static char *explain_sources(Ctx *ctx, const char *const *opts)
{
    g_autofree char *list = NULL;
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(QmRun) run = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    GString *out = g_string_new(NULL);
    JsonArray *hosts;
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    g_autoptr(GPtrArray) want = qm_run_eval_line(reference(PEERS));

    add_all(all, opts);
    g_ptr_array_add(all, "--json");
    g_ptr_array_add(all, NULL);
    args = launch_args(ctx, "explain", PEERS, (const char *const *)all->pdata,
                       &list);
    run = run_qm(ctx, NULL, (const char *const *)args->pdata);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpstr(run->err, ==, "");
    json_parser_load_from_data(parser, run->out, -1, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(
        json_object_get_string_member(
            json_object_get_object_member(
                json_node_get_object(json_parser_get_root(parser)), "cpu"),
            "final"),
        ==, cpu_value(want));
    hosts = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(parser)), "hosts");
    g_assert_cmpuint(json_array_get_length(hosts), ==, PEERS + 1);
    for (guint i = 0; i < json_array_get_length(hosts); i++) {
        JsonObject *host = json_array_get_object_element(hosts, i);

        g_string_append_printf(
            out, "%s%s", i ? "," : "",
            json_object_get_string_member_with_default(host, "source", "-"));
    }
    return g_string_free(out, FALSE);
}

/**
 * explain_text() - run explain and return its text
 * @ctx: context
 *
 * Return: newly allocated stdout
 */
static char *explain_text(Ctx *ctx)
{
    g_autofree char *list = NULL;
    g_autoptr(GPtrArray) args = launch_args(ctx, "explain", PEERS, NULL, &list);
    g_autoptr(QmRun) run = run_qm(ctx, NULL, (const char *const *)args->pdata);
    g_autoptr(GPtrArray) want = qm_run_eval_line(reference(PEERS));

    g_assert_cmpint(run->status, ==, 0);
    g_assert_cmpstr(run->err, ==, "");
    g_assert_nonnull(strstr(run->out, cpu_value(want)));
    return g_steal_pointer(&run->out);
}

/**
 * test_explain() - explain tells for each host whether its profile was
 * probed now or came from the cache, and how old it is
 */
static void test_explain(void)
{
    g_autoptr(Ctx) ctx = NULL;
    g_autoptr(GRegex) age = g_regex_new("\\(cache, [0-9]+s old\\)", 0, 0, NULL);

    if (!need_sshd())
        return;
    ctx = ctx_new("explain");
    {
        g_autofree char *cold = explain_text(ctx);
        g_autofree char *warm = explain_text(ctx);
        g_autoptr(GMatchInfo) match = NULL;
        guint matches = 0;

        g_test_message("cold:\n%s\nwarm:\n%s", cold, warm);
        g_assert_cmpuint(count_str(cold, "(probed now via "), ==, PEERS + 1);
        g_assert_cmpuint(count_str(cold, "(probed now via ssh-qmp)"), ==,
                         PEERS);
        g_assert_cmpuint(count_str(cold, "(probed now via local-qmp)"), ==, 1);
        g_assert_null(strstr(cold, "cache, "));

        g_assert_null(strstr(warm, "probed now via"));
        g_assert_cmpuint(count_str(warm, "(cache, "), ==, PEERS + 1);
        g_regex_match(age, warm, 0, &match);
        while (g_match_info_matches(match)) {
            matches++;
            g_match_info_next(match, NULL);
        }
        g_assert_cmpuint(matches, ==, PEERS + 1);
    }
    assert_probes(ctx, 1, 1, 1, 1);

    /* JSON, on a cache of its own */
    g_free(ctx->cache_dir);
    ctx->cache_dir = g_build_filename(ctx->dir, "cache-json", NULL);
    {
        const char *refresh[] = {"--refresh", NULL};
        g_autofree char *cold = explain_sources(ctx, NULL);
        g_autofree char *warm = explain_sources(ctx, NULL);
        g_autofree char *again = explain_sources(ctx, refresh);

        g_assert_cmpstr(cold, ==, "probe,probe,probe,probe");
        g_assert_cmpstr(warm, ==, "cache,cache,cache,cache");
        g_assert_cmpstr(again, ==, "probe,probe,probe,probe");
    }
    assert_probes(ctx, 3, 3, 3, 3);
}

/**
 * test_no_cache() - --no-cache neither reads nor writes the cache
 */
static void test_no_cache(void)
{
    const char *opts[] = {"--no-cache", NULL};
    g_autoptr(Ctx) ctx = NULL;

    if (!need_sshd())
        return;
    ctx = ctx_new("no-cache");
    for (int i = 0; i < 2; i++) {
        g_autoptr(QmRun) run = launch(ctx, PEERS, opts);

        g_assert_cmpstr(run->err, ==, "");
        assert_launch(ctx, run, PEERS);
    }
    assert_probes(ctx, 2, 2, 2, 2);
    g_assert_false(g_file_test(ctx->cache_dir, G_FILE_TEST_EXISTS));
}

/**
 * main() - start the peers, run the tests, stop the peers
 * @argc: argc
 * @argv: argv
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    int ret;

    qm_test_init(&argc, &argv);
    map_dir = g_build_filename(qm_test_tmpdir(), "cpu-map", NULL);
    g_mkdir_with_parents(map_dir, 0700);
    if (geteuid() != 0) {
        skip_reason = g_strdup("needs root (chown to another user)");
    } else if (qm_test_sshd_available(&skip_reason)) {
        ssh_config = qm_test_sshd_start_peers(peers, PEERS);
        for (int i = 0; i < PEERS; i++) {
            g_autofree char *file = NULL;
            g_autofree char *path = qm_run_capture(peer_cpus[i]);

            file = g_strdup_printf("%s/port-%d", map_dir, peers[i]->port);
            g_assert_true(g_file_set_contents(file, path, -1, NULL));
        }
    }

    g_test_add_func("/cache/concurrent-cold", test_concurrent_cold);
    for (gsize i = 0; i < G_N_ELEMENTS(untrusted); i++) {
        g_autofree char *path =
            g_strdup_printf("/cache/untrusted/%s", untrusted[i].name);

        g_test_add_data_func(path, &untrusted[i], test_untrusted);
    }
    g_test_add_func("/cache/dir-symlink", test_dir_symlink);
    g_test_add_func("/cache/dir-foreign-owner", test_dir_foreign_owner);
    g_test_add_func("/cache/dir-regular-file", test_dir_regular_file);
    g_test_add_func("/cache/dir-unwritable", test_dir_unwritable);
    g_test_add_func("/cache/expiry", test_expiry);
    g_test_add_func("/cache/refresh", test_refresh);
    g_test_add_func("/cache/offline", test_offline);
    g_test_add_func("/cache/on-unreachable", test_on_unreachable);
    g_test_add_func("/cache/warm", test_warm);
    g_test_add_func("/cache/ssh-config-edit", test_ssh_config_edit);
    g_test_add_func("/cache/local-invalidation", test_local_invalidation);
    g_test_add_func("/cache/commands", test_commands);
    g_test_add_func("/cache/explain", test_explain);
    g_test_add_func("/cache/no-cache", test_no_cache);
    ret = g_test_run();

    for (int i = 0; i < PEERS; i++)
        g_clear_pointer(&peers[i], qm_test_sshd_stop);
    return ret;
}
