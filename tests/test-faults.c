/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig integration tests: the fault matrix (issue 5).
 *
 * Every case runs the real qemu-mig binary against real sshd peers on
 * 127.0.0.1 (tests/sshd.h) or against a local fake QEMU, makes one thing go
 * wrong, and asserts the exit status, the one stderr line, and that QEMU
 * was not exec'd - or, where going on is right, that it was exec'd with the
 * configuration a --dry-run of the same inputs prints.  Faults already
 * covered by test-cli-e2e.c and test-cache.c are not repeated unless this
 * suite checks something they do not (orphans, the exec record).
 *
 * Also here: what the exec'd QEMU inherits (fds, signal mask and
 * dispositions, umask, cwd, environment, CPU affinity), and that nothing a
 * user names - destination, ssh option, file - becomes shell syntax.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qmrun.h"
#include "sshd.h"
#include "testutil.h"

#define PEERS     2
#define LOCAL_CPU "EPYC-7713-64-Core"
#define PEER_CPU  "EPYC-7502-32-Core"

extern char **environ;

static QmTestSshd *peers[PEERS];
static char *ssh_config;
static char *skip_reason;

/* ---- running qemu-mig ------------------------------------------------- */

/**
 * Spec - one qemu-mig run
 * @args:      NULL-terminated qemu-mig arguments
 * @env:       NULL-terminated KEY=VALUE additions, or NULL
 * @cache_dir: --cache-dir, or NULL for a fresh one
 * @local_cpu: capture of the local fake QEMU, or NULL for LOCAL_CPU
 * @cwd:       working directory, or NULL for ours
 * @wrap:      NULL-terminated command to run qemu-mig under, or NULL
 */
typedef struct {
    const char *const *args;
    const char *const *env;
    const char *cache_dir;
    const char *local_cpu;
    const char *cwd;
    const char *const *wrap;
} Spec;

/**
 * Result - a QmRun plus where the fake QEMU would have recorded an exec
 */
typedef struct {
    QmRun *run;
    char *record;
    char *cache_dir;
} Result;

static void result_free(Result *r)
{
    if (r->run)
        qm_run_free(r->run);
    g_free(r->record);
    g_free(r->cache_dir);
    g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Result, result_free)

/**
 * fresh_path() - a path in the scratch directory that does not exist yet
 * @what: name prefix
 *
 * Return: newly allocated path
 */
static char *fresh_path(const char *what)
{
    static int n;

    return g_strdup_printf("%s/%s-%d", qm_test_tmpdir(), what, n++);
}

/**
 * build_env() - the environment for a run: ours, a capture, a record file
 * @spec:   the run
 * @record: FAKE_QEMU_RECORD
 *
 * Return: new environment
 */
static char **build_env(const Spec *spec, const char *record)
{
    g_autofree char *replay =
        qm_run_capture(spec->local_cpu ? spec->local_cpu : LOCAL_CPU);
    char **envp = g_get_environ();

    envp = g_environ_setenv(envp, "FAKE_QEMU_REPLAY", replay, TRUE);
    envp = g_environ_setenv(envp, "FAKE_QEMU_RECORD", record, TRUE);
    for (const char *const *e = spec->env; e && *e; e++) {
        g_auto(GStrv) kv = g_strsplit(*e, "=", 2);

        envp = g_environ_setenv(envp, kv[0], kv[1], TRUE);
    }
    return envp;
}

/**
 * timeout_s() - a --timeout value, scaled by qm_test_slow()
 * @s: seconds at normal speed
 *
 * Under valgrind (.ci/sanitize) qemu-mig runs several times slower, so a
 * bound meant for the fault under test must not catch the slow but
 * healthy parts of the run instead.
 *
 * Return: the value as a string (interned, never freed)
 */
static const char *timeout_s(guint s)
{
    g_autofree char *text = g_strdup_printf("%u", s * qm_test_slow());

    return g_intern_string(text);
}

/**
 * build_argv() - qemu-mig, --cache-dir, then the spec's arguments
 * @spec:      the run
 * @cache_dir: cache directory
 *
 * Return: new NULL-terminated array (strings borrowed)
 */
static GPtrArray *build_argv(const Spec *spec, const char *cache_dir)
{
    GPtrArray *argv = g_ptr_array_new();
    const char *const *a = spec->args;

    for (const char *const *w = spec->wrap; w && *w; w++)
        g_ptr_array_add(argv, (char *)*w);
    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    /* a subcommand must come first */
    if (*a && (strcmp(*a, "probe") == 0 || strcmp(*a, "explain") == 0))
        g_ptr_array_add(argv, (char *)*a++);
    g_ptr_array_add(argv, "--cache-dir");
    g_ptr_array_add(argv, (char *)cache_dir);
    /* qemu-mig's default 10 s, scaled like every other bound (valgrind);
     * a --timeout of the spec's own comes later and wins */
    g_ptr_array_add(argv, "--timeout");
    g_ptr_array_add(argv, (char *)timeout_s(10));
    for (; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    return argv;
}

/**
 * run() - run qemu-mig to completion
 * @spec: the run
 *
 * Return: what happened
 */
static Result *run(const Spec *spec)
{
    Result *r = g_new0(Result, 1);
    g_autoptr(GPtrArray) argv = NULL;
    g_auto(GStrv) envp = NULL;
    g_autoptr(GError) error = NULL;
    gint64 start;
    int wait_status = 0;

    r->run = g_new0(QmRun, 1);
    r->record = fresh_path("record");
    r->cache_dir =
        spec->cache_dir ? g_strdup(spec->cache_dir) : fresh_path("cache");
    argv = build_argv(spec, r->cache_dir);
    envp = build_env(spec, r->record);
    start = g_get_monotonic_time();
    g_spawn_sync(spec->cwd, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL,
                 NULL, &r->run->out, &r->run->err, &wait_status, &error);
    g_assert_no_error(error);
    r->run->seconds = (g_get_monotonic_time() - start) / 1e6;
    r->run->out_len = strlen(r->run->out);
    r->run->status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                            : 128 + WTERMSIG(wait_status);
    g_test_message("exit %d after %.2fs; stderr: %s", r->run->status,
                   r->run->seconds, r->run->err);
    return r;
}

/**
 * assert_one_line() - @text is exactly one line of printable text
 * @text: stderr
 */
static void assert_one_line(const char *text)
{
    g_assert_true(g_str_has_suffix(text, "\n"));
    g_assert_true(strchr(text, '\n') == text + strlen(text) - 1);
    /* no terminal escapes or other control bytes from a peer */
    for (const char *p = text; *p != '\n'; p++)
        g_assert_false(g_ascii_iscntrl(*p));
}

/**
 * assert_refused() - one "qemu-mig: " line naming @needle, @status, empty
 *                    stdout, and QEMU never exec'd
 * @r:      the run
 * @status: exit status
 * @needle: text the line must contain
 * @max_s:  the refusal must come within this many seconds (times
 *          qm_test_slow())
 */

static void assert_refused(const Result *r, int status, const char *needle,
                           double max_s)
{
    g_assert_cmpint(r->run->status, ==, status);
    g_assert_true(g_str_has_prefix(r->run->err, "qemu-mig: "));
    g_assert_false(g_str_has_prefix(r->run->err, "qemu-mig: warning: "));
    assert_one_line(r->run->err);
    if (strstr(r->run->err, needle) == NULL)
        g_error("stderr %s lacks \"%s\"", r->run->err, needle);
    g_assert_cmpstr(r->run->out, ==, "");
    g_assert_cmpfloat(r->run->seconds, <, max_s * qm_test_slow());
    g_assert_false(g_file_test(r->record, G_FILE_TEST_EXISTS));
}

/**
 * dry_run_words() - the argv a successful --dry-run printed
 * @r: the run
 *
 * Return: the words
 */
static GPtrArray *dry_run_words(const Result *r)
{
    g_autofree char *line = NULL;

    g_assert_cmpint(r->run->status, ==, 0);
    g_assert_true(g_str_has_suffix(r->run->out, "\n"));
    g_assert_true(strchr(r->run->out, '\n') ==
                  r->run->out + r->run->out_len - 1);
    line = g_strndup(r->run->out, r->run->out_len - 1);
    return qm_run_eval_line(line);
}

/**
 * assert_same_words() - two argvs are equal
 * @a: one
 * @b: other
 */
static void assert_same_words(GPtrArray *a, GPtrArray *b)
{
    g_assert_cmpuint(a->len, ==, b->len);
    for (guint i = 0; i < a->len; i++)
        g_assert_cmpstr(g_ptr_array_index(a, i), ==, g_ptr_array_index(b, i));
}

/**
 * cpu_value() - the value after the last -cpu
 * @words: argv
 *
 * Return: borrowed value, or NULL
 */
static const char *cpu_value(GPtrArray *words)
{
    const char *v = NULL;

    for (guint i = 0; i + 1 < words->len; i++) {
        if (strcmp(g_ptr_array_index(words, i), "-cpu") == 0)
            v = g_ptr_array_index(words, i + 1);
    }
    return v;
}

/**
 * has_item() - does a -cpu value have @item as a comma-separated item?
 * @value: -cpu value
 * @item:  e.g. "avx2=off"
 *
 * Return: TRUE if so
 */
static gboolean has_item(const char *value, const char *item)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);

    return g_strv_contains((const char *const *)items, item);
}

/* ---- peers ------------------------------------------------------------ */

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
 * remote_cmd() - --remote-qemu playing @cpu with extra fake options
 * @cpu:   capture short name
 * @extra: NULL-terminated extra fake-qemu arguments (quoted here), or NULL
 *
 * Return: newly allocated shell text
 */
static char *remote_cmd(const char *cpu, const char *const *extra)
{
    g_autofree char *path = qm_run_capture(cpu);
    g_autofree char *qfake = g_shell_quote(qm_test_env("QM_FAKE_QEMU"));
    g_autofree char *qpath = g_shell_quote(path);
    GString *cmd = g_string_new(NULL);

    g_string_printf(cmd, "%s --replay %s", qfake, qpath);
    for (const char *const *e = extra; e && *e; e++) {
        g_autofree char *q = g_shell_quote(*e);

        g_string_append_printf(cmd, " %s", q);
    }
    return g_string_free(cmd, FALSE);
}

/**
 * peer_argv_config() - --ssh-config @config, --qemu, --remote-qemu, then
 *                      @rest
 * @config: ssh_config file
 * @remote: --remote-qemu value
 * @rest:   NULL-terminated further arguments (the first may be "probe" or
 *          "explain")
 *
 * Return: new NULL-terminated array (strings borrowed)
 */
static GPtrArray *peer_argv_config(const char *config, const char *remote,
                                   const char *const *rest)
{
    GPtrArray *args = g_ptr_array_new();

    if (*rest && (strcmp(*rest, "explain") == 0 || strcmp(*rest, "probe") == 0))
        g_ptr_array_add(args, (char *)*rest++);
    g_ptr_array_add(args, "--ssh-config");
    g_ptr_array_add(args, (char *)config);
    g_ptr_array_add(args, "--qemu");
    g_ptr_array_add(args, (char *)qm_test_env("QM_FAKE_QEMU"));
    g_ptr_array_add(args, "--remote-qemu");
    g_ptr_array_add(args, (char *)remote);
    for (; *rest; rest++)
        g_ptr_array_add(args, (char *)*rest);
    g_ptr_array_add(args, NULL);
    return args;
}

/**
 * peer_argv() - peer_argv_config() with the peers' own ssh_config
 * @remote: --remote-qemu value
 * @rest:   NULL-terminated further arguments
 *
 * Return: new NULL-terminated array (strings borrowed)
 */
static GPtrArray *peer_argv(const char *remote, const char *const *rest)
{
    return peer_argv_config(ssh_config, remote, rest);
}

/* ---- processes -------------------------------------------------------- */

/**
 * pid_alive() - is a process still there (a zombie counts as gone)?
 * @pid: process
 *
 * Return: TRUE if it runs or sleeps
 */
static gboolean pid_alive(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    const char *close_paren;

    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return FALSE;
    close_paren = strrchr(stat, ')');
    return close_paren != NULL && close_paren[1] == ' ' &&
           close_paren[2] != 'Z' && close_paren[2] != 'X';
}

/**
 * kill_probe() - SIGKILL a probe QEMU this test started, if still there
 * @pid: PID from a count directory
 * @dir: that directory, which the process's command line names
 *
 * The command line check keeps a recycled PID safe.
 */
static void kill_probe(pid_t pid, const char *dir)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_autofree char *cmd = NULL;
    gsize len;

    if (!pid_alive(pid) || !g_file_get_contents(path, &cmd, &len, NULL))
        return;
    for (gsize i = 0; i + 1 < len; i++) {
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    }
    if (strstr(cmd, dir) != NULL)
        kill(pid, SIGKILL);
}

/**
 * count_dir_pids() - PIDs fake-qemu left in a --count-dir
 * @dir: directory
 *
 * Return: new array of GINT_TO_POINTER(pid)
 */
static GPtrArray *count_dir_pids(const char *dir)
{
    GPtrArray *pids = g_ptr_array_new();
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL) && *text)
            g_ptr_array_add(pids, GINT_TO_POINTER(atoi(text)));
    }
    return pids;
}

/**
 * wait_count_pids() - PIDs in a --count-dir, once @n have been written
 * @dir:   count directory
 * @n:     how many to wait for
 * @max_s: at most this long (a loaded machine starts processes late)
 *
 * Return: new array of GINT_TO_POINTER(pid), possibly fewer than @n
 */
static GPtrArray *wait_count_pids(const char *dir, guint n, double max_s)
{
    gint64 deadline =
        g_get_monotonic_time() + max_s * qm_test_slow() * G_USEC_PER_SEC;
    GPtrArray *pids = count_dir_pids(dir);

    while (pids->len < n && g_get_monotonic_time() < deadline) {
        g_ptr_array_unref(pids);
        g_usleep(20000);
        pids = count_dir_pids(dir);
    }
    return pids;
}

/**
 * assert_no_orphans() - every probe QEMU that wrote into @dir is gone
 *                       within @max_s seconds
 * @dir:    count directory
 * @expect: number of probes that must have started
 * @max_s:  grace period
 */
static void assert_no_orphans(const char *dir, guint expect, double max_s)
{
    g_autoptr(GPtrArray) pids = wait_count_pids(dir, expect, 2);
    gint64 deadline =
        g_get_monotonic_time() + max_s * qm_test_slow() * G_USEC_PER_SEC;

    g_assert_cmpuint(pids->len, ==, expect);
    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = GPOINTER_TO_INT(g_ptr_array_index(pids, i));

        while (pid_alive(pid) && g_get_monotonic_time() < deadline)
            g_usleep(20000);
        if (pid_alive(pid)) {
            kill_probe(pid, dir); /* do not leave it behind */
            g_error("probe QEMU %d outlived qemu-mig by %.1f s", (int)pid,
                    max_s * qm_test_slow());
        }
    }
}

/**
 * make_dir() - a fresh empty directory
 * @what: name prefix
 *
 * Return: newly allocated path
 */
static char *make_dir(const char *what)
{
    char *dir = fresh_path(what);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    return dir;
}

/* ---- peer QEMU faults ------------------------------------------------- */

/**
 * PeerFault - a peer whose QEMU misbehaves
 * @name:     test path component
 * @mode:     fake-qemu --mode, or NULL
 * @inject:   fake-qemu --inject-prop, or NULL
 * @status:   expected exit status
 * @needle:   text the error line must contain
 */
typedef struct {
    const char *name;
    const char *mode;
    const char *inject;
    int status;
    const char *needle;
} PeerFault;

static const PeerFault peer_faults[] = {
    /* the QEMU there prints nothing at all and hangs */
    {"silent", "silent", NULL, 3, "timed out"},
    {"no-greeting", "nogreeting", NULL, 5, "before answering QMP"},
    {"qmp-error-replies", "qmp-error", NULL, 5,
     "cannot expand the host CPU model: injected\\nfailure\\t\\033[31mred"},
    /* stops reading at 16 MiB; the peer's QEMU dies of EPIPE */
    {"reply-100MB", "flood", NULL, 6, "wrote more than 16777216 bytes"},
    {"nested-100000-deep", "deep", NULL, 6, "nested deeper than"},
    {"closes-mid-reply", "kill-parent", NULL, 3, "peer0"},
    {"invalid-utf8", NULL,
     "\"\xff\xfe"
     "evil\": true",
     6, "UTF-8"},
    /* json-glib would keep the last; no value is the honest one */
    {"feature-twice-conflicting", NULL, "\"avx2\": true, \"avx2\": false", 6,
     "key \"avx2\" appears twice in one object"},
    {"name-comma", NULL, "\"a,b\": true", 6, "\"a,b\" with characters outside"},
    {"name-equals", NULL, "\"a=on\": true", 6, "\"a=on\" with characters"},
    {"name-space", NULL, "\"a b\": true", 6, "\"a b\" with characters"},
    {"name-quotes", NULL, "\"a\\\"'b\": true", 6,
     "\"a\\\"'b\" with characters"},
    {"name-shell", NULL, "\"$(touch x);`id`|&<>\": true", 6,
     "\"$(touch x);`id`|&<>\" with characters"},
    {"name-non-ascii", NULL, "\"f\\u00e9ature\": true", 6,
     "\"f\\303\\251ature\" with characters"},
    {"name-control", NULL, "\"a\\u001b[2Jb\\n\": true", 6,
     "\"a\\033[2Jb\\n\" with characters"},
    {"name-empty", NULL, "\"\": true", 6, "\"\" with characters"},
    {"vendor-control", NULL, "\"vendor\": \"Genuine\\u0007Intel\\n\"", 6,
     "no valid vendor"},
    {"model-id-control", NULL,
     "\"model-id\": \"AMD \\u001b]0;title\\u0007EPYC\"", 6,
     "model-id with control characters"},
    {"vendor-comma", NULL, "\"vendor\": \"AuthenticAMD,x=y\"", 6,
     "no valid vendor"},
    {"family-negative", NULL, "\"family\": -1", 6, "family"},
    {"model-huge", NULL, "\"model\": 4294967296", 6, "model"},
    {"stepping-negative", NULL, "\"stepping\": -9223372036854775808", 6,
     "stepping"},
    {"family-beyond-int64", NULL, "\"family\": 99999999999999999999999", 6,
     "family"},
};

/**
 * test_peer_fault() - one row of peer_faults
 * @data: the PeerFault
 */
static void test_peer_fault(gconstpointer data)
{
    const PeerFault *f = data;
    g_autofree char *counts = NULL;
    g_autoptr(GPtrArray) extra = g_ptr_array_new();
    g_autofree char *remote = NULL;
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(Result) r = NULL;
    const char *rest[] = {"--timeout", timeout_s(3), "--peer", peers[0]->alias,
                          "--",        "-cpu",       "host",   NULL};

    if (!need_sshd())
        return;
    counts = make_dir("counts");
    g_ptr_array_add(extra, "--count-dir");
    g_ptr_array_add(extra, counts);
    if (f->mode) {
        g_ptr_array_add(extra, "--mode");
        g_ptr_array_add(extra, (char *)f->mode);
    }
    if (f->inject) {
        g_ptr_array_add(extra, "--inject-prop");
        g_ptr_array_add(extra, (char *)f->inject);
    }
    g_ptr_array_add(extra, NULL);
    remote = remote_cmd(PEER_CPU, (const char *const *)extra->pdata);
    args = peer_argv(remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata};

        r = run(&spec);
    }
    assert_refused(r, f->status, f->needle, 8);
    g_assert_true(g_str_has_prefix(r->run->err, "qemu-mig: peer0: "));
    /* finished, or killed by qemu-mig on its way out: never left */
    assert_no_orphans(counts, 1, 3);
}

/**
 * count_in_file() - occurrences of @needle in a file
 * @path:   file
 * @needle: text
 *
 * Return: count (0 when unreadable)
 */
static guint count_in_file(const char *path, const char *needle)
{
    g_autofree char *text = NULL;
    guint n = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/**
 * test_hung_peer_qemu_cleanup() - a peer QEMU that hangs (silent, or after
 * its greeting) is refused at --timeout, and gone by the time qemu-mig
 * exits: sshd is asked to SIGKILL the session, and since OpenSSH 9.2
 * refuses that for root sessions (no privilege-separated child), the
 * remote user's kill(1) ends the session's process group too.
 */
static void test_hung_peer_qemu_cleanup(void)
{
    static const char *const modes[] = {"silent", "hang"};
    g_autofree char *log = NULL;

    if (!need_sshd())
        return;
    log = g_build_filename(peers[0]->dir, "sshd.log", NULL);
    for (gsize m = 0; m < G_N_ELEMENTS(modes); m++) {
        g_autofree char *counts = make_dir("hung-counts");
        const char *extra[] = {"--mode", modes[m], "--count-dir", counts, NULL};
        g_autofree char *remote = remote_cmd(PEER_CPU, extra);
        const char *rest[] = {"--timeout",     timeout_s(3), "--peer",
                              peers[0]->alias, "--",         "-cpu",
                              "host",          NULL};
        g_autoptr(GPtrArray) args = peer_argv(remote, rest);
        Spec spec = {.args = (const char *const *)args->pdata};
        guint requests = count_in_file(log, "session_signal_req");
        g_autoptr(Result) r = run(&spec);
        g_autoptr(GPtrArray) pids = NULL;
        pid_t pid;

        g_test_message("mode %s", modes[m]);
        /* the QEMU there started (else nothing would be left to clean
         * up) and then hung; the clean-up costs at most 2 s more */
        assert_refused(r, 3, "while waiting for the remote command", 6);
        pids = wait_count_pids(counts, 1, 2);
        g_assert_cmpuint(pids->len, ==, 1);
        pid = GPOINTER_TO_INT(g_ptr_array_index(pids, 0));
        /* no grace: it was killed before qemu-mig exited */
        if (pid_alive(pid))
            g_usleep(100000);
        if (pid_alive(pid)) {
            kill_probe(pid, counts);
            g_error("hung probe QEMU %d outlived qemu-mig", (int)pid);
        }
        /* both ways were tried: the signal request reached sshd */
        for (int i = 0;
             i < 100 && count_in_file(log, "session_signal_req") == requests;
             i++)
            g_usleep(20000);
        g_assert_cmpuint(count_in_file(log, "session_signal_req"), >, requests);
    }
}

/*
 * A peer whose remote user's login shell talks, as ~/.bashrc and
 * ~/.ssh/rc so often do: sshd runs every command after a greeting on
 * stdout and a line on stderr (the same shell then evals the command, so
 * $$ is still the session's process group).
 */
#define NOISY_SHELL                                                            \
    "ForceCommand echo Welcome to the noisy peer; echo Last login: never "     \
    ">&2; eval \"$SSH_ORIGINAL_COMMAND\"\n"

/**
 * noisy_argv() - qemu-mig's arguments for the noisy peer
 * @sshd:   the noisy peer
 * @remote: --remote-qemu value
 * @rest:   NULL-terminated further arguments
 *
 * Return: new NULL-terminated array (strings borrowed)
 */
static GPtrArray *noisy_argv(const QmTestSshd *sshd, const char *remote,
                             const char *const *rest)
{
    GPtrArray *args = g_ptr_array_new();
    const char *words[] = {"--ssh-config",
                           sshd->ssh_config,
                           "--qemu",
                           qm_test_env("QM_FAKE_QEMU"),
                           "--remote-qemu",
                           remote,
                           "--peer",
                           sshd->alias,
                           NULL};

    for (gsize i = 0; words[i] != NULL; i++)
        g_ptr_array_add(args, (char *)words[i]);
    for (; *rest; rest++)
        g_ptr_array_add(args, (char *)*rest);
    g_ptr_array_add(args, NULL);
    return args;
}

/**
 * test_noisy_shell() - what the peer's login shell prints before QEMU's
 * greeting is skipped, with one warning naming the host and the text
 */
static void test_noisy_shell(void)
{
    g_autoptr(QmTestSshd) sshd = NULL;
    g_autofree char *remote = NULL;
    const char *rest[] = {"--dry-run", "--", "-cpu", "host", NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(Result) r = NULL;
    g_autofree char *want = NULL;

    if (!need_sshd())
        return;
    sshd = qm_test_sshd_start_with("noisy", NOISY_SHELL);
    remote = remote_cmd(PEER_CPU, NULL);
    args = noisy_argv(sshd, remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata};

        r = run(&spec);
    }
    g_assert_cmpint(r->run->status, ==, 0);
    g_assert_true(g_str_has_prefix(r->run->out, qm_test_env("QM_FAKE_QEMU")));
    want = g_strdup_printf("qemu-mig: warning: noisy: its login shell printed "
                           "\"Welcome to the noisy peer\" before QEMU's "
                           "greeting; skipped\n");
    g_assert_cmpstr(r->run->err, ==, want);
}

/**
 * test_noisy_shell_hung_qemu() - the process group is found after what the
 * login shell printed on stderr, so a hung root probe is still killed
 *
 * OpenSSH 9.2 refuses the signal request for root sessions: only the
 * kill(1) on the announced process group removes the QEMU here.
 */
static void test_noisy_shell_hung_qemu(void)
{
    g_autoptr(QmTestSshd) sshd = NULL;
    g_autofree char *counts = NULL;
    g_autofree char *remote = NULL;
    const char *rest[] = {"--timeout", timeout_s(3), "--",
                          "-cpu",      "host",       NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(Result) r = NULL;

    if (!need_sshd())
        return;
    sshd = qm_test_sshd_start_with("noisy", NOISY_SHELL);
    counts = make_dir("noisy-counts");
    {
        const char *extra[] = {"--mode", "hang", "--count-dir", counts, NULL};

        remote = remote_cmd(PEER_CPU, extra);
    }
    args = noisy_argv(sshd, remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata};

        r = run(&spec);
    }
    assert_refused(r, 3, "while waiting for the remote command", 6);
    /* no grace beyond qemu-mig's own clean-up */
    assert_no_orphans(counts, 1, 0.1);
}

/**
 * test_loglevel_quiet() - a LogLevel in ssh_config does not pour libssh's
 * log onto qemu-mig's (and QEMU's) stderr
 */
static void test_loglevel_quiet(void)
{
    g_autofree char *text = NULL;
    g_autofree char *config = NULL;
    g_autofree char *remote = NULL;
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autoptr(Result) r = NULL;

    if (!need_sshd())
        return;
    g_assert_true(g_file_get_contents(ssh_config, &text, NULL, NULL));
    config = fresh_path("ssh_config-loglevel");
    {
        g_autofree char *verbose =
            g_strconcat("Host *\n    LogLevel DEBUG3\n", text, NULL);

        g_assert_true(g_file_set_contents(config, verbose, -1, NULL));
    }
    remote = remote_cmd(PEER_CPU, NULL);
    {
        const char *words[] = {"--ssh-config",
                               config,
                               "--qemu",
                               qm_test_env("QM_FAKE_QEMU"),
                               "--remote-qemu",
                               remote,
                               "--dry-run",
                               "--peer",
                               peers[0]->alias,
                               "--",
                               "-cpu",
                               "host",
                               NULL};
        Spec spec = {.args = words};

        r = run(&spec);
    }
    g_assert_cmpint(r->run->status, ==, 0);
    g_assert_cmpstr(r->run->err, ==, "");
}

/**
 * test_peer_lies_accepted() - replies that are odd but safe: features the
 * local host lacks, names nobody knows, an odd model-id.
 * The launch goes on, exec'ing exactly what --dry-run prints.
 */
static void test_peer_lies_accepted(void)
{
    static const char inject[] =
        /* Genoa-only feature claimed by a Rome, and a name nobody knows */
        "\"avx512f\": true, \"qemu-mig-fake-feature\": true, "
        /* in [a-z0-9._-], so not refused; unknown locally, so not written */
        "\"-cpu\": true, "
        "\"model-id\": \"AMD \\u00e9EPYC, evil=on $(id) 'q'\"";
    const char *extra[] = {"--inject-prop", inject, NULL};
    g_autofree char *remote = NULL;
    const char *dry[] = {"--dry-run", "--peer", NULL, "--",
                         "-cpu",      "host",   NULL};
    const char *launch[] = {"--peer", NULL, "--", "-cpu", "host", NULL};
    g_autoptr(GPtrArray) dargs = NULL;
    g_autoptr(GPtrArray) largs = NULL;
    g_autoptr(Result) d = NULL;
    g_autoptr(Result) l = NULL;
    g_autoptr(GPtrArray) words = NULL;
    g_autoptr(GPtrArray) executed = NULL;
    g_autoptr(JsonNode) record = NULL;
    const char *value;

    if (!need_sshd())
        return;
    dry[2] = launch[1] = peers[0]->alias;
    remote = remote_cmd(PEER_CPU, extra);
    dargs = peer_argv(remote, dry);
    largs = peer_argv(remote, launch);
    {
        Spec spec = {.args = (const char *const *)dargs->pdata};

        d = run(&spec);
    }
    g_assert_cmpstr(d->run->err, ==, "");
    words = dry_run_words(d);
    value = cpu_value(words);
    g_test_message("-cpu %s", value);
    /* the local Milan lacks avx512f: hidden, never turned on */
    g_assert_true(has_item(value, "avx512f=off"));
    /* a name the local QEMU does not know is not written */
    g_assert_null(strstr(value, "qemu-mig-fake-feature"));
    g_assert_null(strstr(value, ",-cpu"));
    g_assert_null(strstr(value, "cpu=off"));
    /* model-id: commas became spaces, the rest is one opaque item */
    g_assert_nonnull(strstr(value, ",model-id=AMD \xc3\xa9"
                                   "EPYC  evil=on $(id) 'q',"));
    {
        Spec spec = {.args = (const char *const *)largs->pdata};

        l = run(&spec);
    }
    g_assert_cmpint(l->run->status, ==, 0);
    g_assert_cmpstr(l->run->err, ==, "fake-qemu: started\n");
    record = qm_run_read_json(l->record);
    executed = qm_run_record_argv(record);
    /* a real launch adds the monitor its guest is registered by */
    g_free(qm_run_take_registration(executed));
    assert_same_words(executed, words);
}

/* ---- local QEMU faults ------------------------------------------------ */

/**
 * local_run() - a launch with peer0 (sane) and a local QEMU @qemu
 * @qemu:  --qemu value
 * @env:   NULL-terminated environment additions, or NULL
 *
 * Return: the result
 */
static Result *local_run(const char *qemu, const char *const *env)
{
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    const char *rest[] = {"--timeout", timeout_s(3), "--peer", peers[0]->alias,
                          "--",        "-cpu",       "host",   NULL};
    g_autoptr(GPtrArray) args = peer_argv(remote, rest);
    Spec spec = {.args = (const char *const *)args->pdata, .env = env};

    /* peer_argv() set --qemu to the fake: the last --qemu wins? no - set
     * it explicitly instead */
    for (guint i = 0; i + 1 < args->len; i++) {
        if (g_strcmp0(g_ptr_array_index(args, i), "--qemu") == 0)
            args->pdata[i + 1] = (char *)qemu;
    }
    return run(&spec);
}

/**
 * test_local_qemu() - missing, not executable, unstartable, crashing,
 * hanging, without KVM
 */
static void test_local_qemu(void)
{
    g_autofree char *dir = make_dir("local-qemu");
    g_autofree char *noexec = g_build_filename(dir, "noexec", NULL);
    g_autofree char *badinterp = g_build_filename(dir, "badinterp", NULL);
    g_autofree char *counts = make_dir("local-counts");
    g_autofree char *count_env =
        g_strdup_printf("FAKE_QEMU_COUNT_DIR=%s", counts);
    const char *fake = qm_test_env("QM_FAKE_QEMU");

    if (!need_sshd())
        return;
    g_assert_true(g_file_set_contents(noexec, "#!/bin/sh\n", -1, NULL));
    g_assert_cmpint(g_chmod(noexec, 0644), ==, 0);
    g_assert_true(g_file_set_contents(badinterp, "#!/nonexistent/interpreter\n",
                                      -1, NULL));
    g_assert_cmpint(g_chmod(badinterp, 0755), ==, 0);
    {
        g_autofree char *missing = g_build_filename(dir, "missing", NULL);
        g_autoptr(Result) r = local_run(missing, NULL);

        assert_refused(r, 127, "missing", 5);
    }
    {
        g_autoptr(Result) r = local_run(noexec, NULL);

        assert_refused(r, 126, "is not an executable file", 5);
    }
    {
        g_autoptr(Result) r = local_run(dir, NULL);

        assert_refused(r, 126, "is not an executable file", 5);
    }
    if (g_getenv("QM_TEST_VALGRIND") != NULL) {
        /* valgrind cannot report an execve() that fails in a forked
         * child: the child exits 101 ("EXEC FAILED"), where GLib would
         * say why; this case runs in the plain and ASan passes */
        g_test_message("skipped under valgrind: bad interpreter");
    } else {
        g_autoptr(Result) r = local_run(badinterp, NULL);

        assert_refused(r, 5, "local: cannot start QEMU", 5);
    }
    {
        const char *env[] = {"FAKE_QEMU_MODE=crash", count_env, NULL};
        g_autoptr(Result) r = local_run(fake, env);

        assert_refused(r, 5, "local: QEMU died (status 139)", 5);
    }
    {
        const char *env[] = {"FAKE_QEMU_MODE=hang", count_env, NULL};
        g_autoptr(Result) r = local_run(fake, env);

        assert_refused(r, 3, "local: timed out waiting for QEMU", 5);
        g_assert_cmpfloat(r->run->seconds, >=, 2.9 * qm_test_slow());
    }
    {
        const char *env[] = {"FAKE_QEMU_MODE=silent", count_env, NULL};
        g_autoptr(Result) r = local_run(fake, env);

        assert_refused(r, 3, "local: timed out waiting for QEMU", 5);
    }
    {
        const char *env[] = {"FAKE_QEMU_MODE=nokvm", NULL};
        g_autoptr(Result) r = local_run(fake, env);

        assert_refused(r, 5, "local: QEMU cannot use KVM", 5);
    }
    /* crash, hang, silent: no probe QEMU left behind */
    assert_no_orphans(counts, 3, 2);
}

/**
 * test_real_kvm_unusable() - the real local QEMU, with /dev/kvm replaced
 * by /dev/null in a private mount namespace: KVM opens but answers no
 * ioctl
 */
static void test_real_kvm_unusable(void)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *unshare = g_find_program_in_path("unshare");
    const char *const wrap[] = {
        "unshare",
        "-m",
        "sh",
        "-c",
        "mount --bind /dev/null /dev/kvm && exec \"$@\"",
        "sh",
        NULL};
    int status = -1;

    if (!need_sshd())
        return;
    if (qemu == NULL || unshare == NULL ||
        !g_file_test("/dev/kvm", G_FILE_TEST_EXISTS)) {
        g_test_skip("needs qemu-system-x86_64, unshare(1) and /dev/kvm");
        return;
    }
    {
        const char *argv[] = {
            "unshare", "-m", "sh", "-c", "mount --bind /dev/null /dev/kvm",
            NULL};

        g_spawn_sync(NULL, (char **)argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                     NULL, NULL, NULL, &status, NULL);
        if (!g_spawn_check_wait_status(status, NULL)) {
            g_test_skip("cannot bind-mount over /dev/kvm in a private mount "
                        "namespace (needs CAP_SYS_ADMIN)");
            return;
        }
    }
    {
        g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
        g_autofree char *full_wrap0 = g_strdup(unshare);
        const char *rest[] = {"--timeout",     timeout_s(10), "--peer",
                              peers[0]->alias, "--",          "-cpu",
                              "host",          NULL};
        g_autoptr(GPtrArray) args = peer_argv(remote, rest);
        const char *w[G_N_ELEMENTS(wrap)];
        g_autoptr(Result) r = NULL;

        memcpy(w, wrap, sizeof(wrap));
        w[0] = full_wrap0;
        for (guint i = 0; i + 1 < args->len; i++) {
            if (g_strcmp0(g_ptr_array_index(args, i), "--qemu") == 0)
                args->pdata[i + 1] = qemu;
        }
        {
            Spec spec = {.args = (const char *const *)args->pdata, .wrap = w};

            r = run(&spec);
        }
        /* exec'd, the real QEMU would fail with its own status and lines */
        assert_refused(r, 5, "local: QEMU cannot use KVM", 15);
    }
}

/* ---- SSH faults ------------------------------------------------------- */

/**
 * listen_loopback() - a listening TCP socket on 127.0.0.1
 * @port: where to store its port
 *
 * Return: the socket
 */
static int listen_loopback(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 8), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/**
 * half_banner() - thread: accept one connection, send half an SSH banner,
 *                 close
 * @data: listening socket
 *
 * Return: NULL
 */
static gpointer half_banner(gpointer data)
{
    int lfd = GPOINTER_TO_INT(data);
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (c >= 0) {
        g_assert_cmpint(write(c, "SSH-2.0-Open", 12), ==, 12);
        g_usleep(100000);
        close(c);
    }
    return NULL;
}

/**
 * direct_run() - a launch against root@127.0.0.1:@port with peer0's key
 * @port:   TCP port
 * @extra:  NULL-terminated options before "--" (or NULL)
 *
 * Return: the result
 */
static Result *direct_run(int port, const char *const *extra)
{
    g_autofree char *dest = g_strdup_printf("root@127.0.0.1:%d", port);
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    g_autoptr(GPtrArray) args = NULL;
    gboolean own_known = FALSE, own_identity = FALSE;

    for (const char *const *e = extra; e && *e; e++) {
        own_known |= strcmp(*e, "--known-hosts") == 0;
        own_identity |= strcmp(*e, "--identity") == 0;
        g_ptr_array_add(rest, (char *)*e);
    }
    if (!own_known) {
        g_ptr_array_add(rest, "--known-hosts");
        g_ptr_array_add(rest, peers[0]->known_hosts);
    }
    if (!own_identity) {
        g_ptr_array_add(rest, "--identity");
        g_ptr_array_add(rest, peers[0]->identity);
    }
    g_ptr_array_add(rest, "--timeout");
    g_ptr_array_add(rest, (char *)timeout_s(2));
    g_ptr_array_add(rest, "--peer");
    g_ptr_array_add(rest, dest);
    g_ptr_array_add(rest, "--");
    g_ptr_array_add(rest, "-cpu");
    g_ptr_array_add(rest, "host");
    g_ptr_array_add(rest, NULL);
    args = peer_argv(remote, (const char *const *)rest->pdata);
    {
        Spec spec = {.args = (const char *const *)args->pdata};

        return run(&spec);
    }
}

/**
 * test_tcp_accept_then_hang() - the kernel accepts, nobody ever speaks
 */
static void test_tcp_accept_then_hang(void)
{
    int port, fd;

    if (!need_sshd())
        return;
    fd = listen_loopback(&port);
    {
        g_autoptr(Result) r = direct_run(port, NULL);

        assert_refused(r, 3, "timed out after", 4);
        g_assert_cmpfloat(r->run->seconds, >=, 1.9 * qm_test_slow());
    }
    close(fd);
}

/**
 * test_banner_cut() - the peer closes in the middle of its SSH banner
 */
static void test_banner_cut(void)
{
    int port, fd;
    GThread *t;

    if (!need_sshd())
        return;
    fd = listen_loopback(&port);
    t = g_thread_new("half-banner", half_banner, GINT_TO_POINTER(fd));
    {
        g_autoptr(Result) r = direct_run(port, NULL);

        assert_refused(r, 3, "127.0.0.1", 4);
    }
    g_thread_join(t);
    close(fd);
}

/**
 * test_known_hosts_missing() - no file, a directory, an empty file
 */
static void test_known_hosts_missing(void)
{
    g_autofree char *dir = make_dir("kh");
    g_autofree char *missing = g_build_filename(dir, "missing", NULL);
    g_autofree char *empty = g_build_filename(dir, "empty", NULL);
    const char *files[] = {missing, dir, empty};

    if (!need_sshd())
        return;
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        const char *extra[] = {"--known-hosts", files[i], NULL};
        g_autoptr(Result) r = direct_run(peers[0]->port, extra);

        assert_refused(r, 4, peers[0]->fingerprint, 4);
        g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
    }
}

/**
 * test_auth_refused() - a key the peer does not accept, nothing else
 */
static void test_auth_refused(void)
{
    const char *extra[] = {"--identity", peers[1]->identity, NULL};
    g_autoptr(Result) r = NULL;

    if (!need_sshd())
        return;
    r = direct_run(peers[0]->port, extra);
    assert_refused(r, 3, "SSH authentication failed", 4);
}

/**
 * test_unresolvable() - a name DNS cannot resolve (RFC 2606 .invalid)
 */
static void test_unresolvable(void)
{
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    const char *rest[] = {"--known-hosts",
                          peers[0]->known_hosts,
                          "--timeout",
                          timeout_s(3),
                          "--peer",
                          "root@qemu-mig-test.invalid",
                          "--",
                          "-cpu",
                          "host",
                          NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(Result) r = NULL;

    if (!need_sshd())
        return;
    args = peer_argv(remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata};

        r = run(&spec);
    }
    assert_refused(r, 3, "qemu-mig-test.invalid", 30);
}

/**
 * test_dns_silent() - the DNS server takes the query and never answers:
 * refused at --timeout, not after the resolver's own 5 s per try
 *
 * qemu-mig runs in a mount namespace of its own (unshare(1)) where
 * /etc/resolv.conf names a UDP socket of this test that reads nothing.
 */
static void test_dns_silent(void)
{
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    g_autofree char *resolv = fresh_path("resolv.conf");
    const char *rest[] = {"--known-hosts",
                          peers[0]->known_hosts,
                          "--timeout",
                          timeout_s(2),
                          "--peer",
                          "root@qemu-mig-dns-test.example",
                          "--",
                          "-cpu",
                          "host",
                          NULL};
    g_autofree char *unshare = NULL;
    const char *wrap[] = {NULL,
                          "--mount",
                          "/bin/sh",
                          "-c",
                          "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
                          resolv,
                          NULL};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(Result) r = NULL;
    int fd;

    if (!need_sshd())
        return;
    unshare = g_find_program_in_path("unshare");
    if (unshare == NULL) {
        g_test_skip("no unshare(1)");
        return;
    }
    wrap[0] = unshare;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(fd, >=, 0);
    /* not 127.0.0.53, where systemd-resolved may listen */
    sa.sin_addr.s_addr = htonl(0x7f0035fe);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        g_autofree char *why = g_strdup_printf(
            "cannot bind 127.0.53.254:53: %s", g_strerror(errno));

        close(fd);
        g_test_skip(why);
        return;
    }
    g_assert_true(g_file_set_contents(
        resolv, "nameserver 127.0.53.254\noptions timeout:5 attempts:2\n", -1,
        NULL));
    args = peer_argv(remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata, .wrap = wrap};

        r = run(&spec);
    }
    close(fd);
    /* without qemu-mig's own bound: 2 tries of 5 s each */
    assert_refused(r, 3, "resolving qemu-mig-dns-test.example", 3.5);
    g_assert_nonnull(strstr(r->run->err, "timed out after"));
    g_assert_cmpfloat(r->run->seconds, >=, 1.9 * qm_test_slow());
}

/**
 * test_hostkey_changed_between_runs() - run 1 launches and caches; the
 * peer's key then changes; run 2 (entry expired) is refused with exit 4 -
 * no fallback to the stale cached profile, which is left as it was
 */
static void test_hostkey_changed_between_runs(void)
{
    g_autofree char *kh = fresh_path("known_hosts");
    g_autofree char *cache = make_dir("hk-cache");
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    g_autofree char *other = NULL;
    g_autofree char *line = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_auto(GStrv) fields = NULL;
    g_autoptr(GPtrArray) args = NULL;
    g_autofree char *entry = NULL;
    const char *rest[] = {"--known-hosts", kh,   "--max-age", "0",    "--peer",
                          peers[0]->alias, "--", "-cpu",      "host", NULL};

    if (!need_sshd())
        return;
    g_assert_true(
        g_file_get_contents(peers[0]->known_hosts, &before, NULL, NULL));
    g_assert_true(g_file_set_contents(kh, before, -1, NULL));
    args = peer_argv(remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata,
                     .cache_dir = cache};
        g_autoptr(Result) r = run(&spec);

        g_assert_cmpint(r->run->status, ==, 0);
        g_assert_cmpstr(r->run->err, ==, "fake-qemu: started\n");
        g_assert_true(g_file_test(r->record, G_FILE_TEST_EXISTS));
    }
    {
        g_autoptr(GDir) d = g_dir_open(cache, 0, NULL);
        const char *name;

        while ((name = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(name, ".json") &&
                !g_str_has_prefix(name, "local"))
                entry = g_build_filename(cache, name, NULL);
        }
    }
    g_assert_nonnull(entry);
    g_free(before);
    g_assert_true(g_file_get_contents(entry, &before, NULL, NULL));

    /* the key now presented is not the one recorded (peer1's key) */
    g_assert_true(
        g_file_get_contents(peers[1]->known_hosts, &other, NULL, NULL));
    fields = g_strsplit(g_strstrip(other), " ", 2);
    line = g_strdup_printf("[127.0.0.1]:%d %s\n", peers[0]->port, fields[1]);
    g_assert_true(g_file_set_contents(kh, line, -1, NULL));
    g_usleep(1100000); /* so the entry is older than --max-age 0 */
    {
        Spec spec = {.args = (const char *const *)args->pdata,
                     .cache_dir = cache};
        g_autoptr(Result) r = run(&spec);

        assert_refused(r, 4, peers[0]->fingerprint, 10);
    }
    g_assert_true(g_file_get_contents(entry, &after, NULL, NULL));
    g_assert_cmpstr(after, ==, before);
}

/* ---- cache on a full or read-only file system -------------------------- */

static char *mounted;

/**
 * mount_tmpfs() - a small tmpfs at a fresh directory
 * @options: mount options, e.g. "size=16k" or "ro"
 *
 * Return: the mount point, or NULL (test skipped) when mounting fails
 */
static char *mount_tmpfs(const char *options)
{
    char *dir = make_dir("tmpfs");

    if (mount("qemu-mig-test", dir, "tmpfs", 0, options) != 0) {
        g_autofree char *why = g_strdup_printf(
            "cannot mount a tmpfs (%s): %s; needs root or CAP_SYS_ADMIN",
            options, g_strerror(errno));

        g_test_skip(why);
        g_free(dir);
        return NULL;
    }
    mounted = g_strdup(dir);
    return dir;
}

/**
 * unmount() - undo mount_tmpfs()
 * @dir: mount point
 */
static void unmount(const char *dir)
{
    g_assert_cmpint(umount2(dir, MNT_DETACH), ==, 0);
    g_clear_pointer(&mounted, g_free);
}

/**
 * assert_uncached_launch() - a launch with @cache: QEMU runs with what
 * --dry-run prints, and each host's "not cached" is one warning line
 * @cache: cache directory
 */
static void assert_uncached_launch(const char *cache)
{
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    const char *dry[] = {"--dry-run", "--no-cache", "--peer", NULL,
                         "--",        "-cpu",       "host",   NULL};
    const char *launch[] = {"--peer", NULL, "--", "-cpu", "host", NULL};
    g_autoptr(GPtrArray) dargs = NULL;
    g_autoptr(GPtrArray) largs = NULL;
    g_autoptr(GPtrArray) words = NULL;
    g_autoptr(GPtrArray) executed = NULL;
    g_autoptr(JsonNode) record = NULL;
    g_autoptr(Result) d = NULL;
    g_autoptr(Result) l = NULL;
    g_auto(GStrv) lines = NULL;
    guint n, uncached = 0;

    dry[3] = launch[1] = peers[0]->alias;
    dargs = peer_argv(remote, dry);
    largs = peer_argv(remote, launch);
    {
        Spec spec = {.args = (const char *const *)dargs->pdata};

        d = run(&spec);
    }
    words = dry_run_words(d);
    {
        Spec spec = {.args = (const char *const *)largs->pdata,
                     .cache_dir = cache};

        l = run(&spec);
    }
    g_assert_cmpint(l->run->status, ==, 0);
    lines = g_strsplit(l->run->err, "\n", -1);
    n = g_strv_length(lines);
    /* warnings, one line each, then QEMU's own line: per host one "not
     * cached", and one "probing without a lock" when no lock file fits */
    g_assert_cmpuint(n, >=, 4);
    g_assert_cmpstr(lines[n - 1], ==, "");
    g_assert_cmpstr(lines[n - 2], ==, "fake-qemu: started");
    for (guint i = 0; i + 2 < n; i++) {
        g_assert_true(g_str_has_prefix(lines[i], "qemu-mig: warning: "));
        uncached += strstr(lines[i], "is not cached") != NULL;
        g_assert_true(strstr(lines[i], "is not cached") != NULL ||
                      strstr(lines[i], "probing without a lock") != NULL);
    }
    g_assert_cmpuint(uncached, ==, 2);
    g_assert_nonnull(strstr(l->run->err, "the profile of local is not"));
    g_assert_nonnull(strstr(l->run->err, "the profile of peer0 is not"));
    record = qm_run_read_json(l->record);
    executed = qm_run_record_argv(record);
    /* a real launch adds the monitor its guest is registered by */
    g_free(qm_run_take_registration(executed));
    assert_same_words(executed, words);
}

/**
 * assert_no_partial_files() - no temporary or profile file in @dir
 * @dir: cache directory
 */
static void assert_no_partial_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_test_message("cache file: %s", name);
        g_assert_false(g_str_has_suffix(name, ".tmp"));
        g_assert_false(g_str_has_suffix(name, ".json"));
    }
}

/**
 * test_cache_read_only() - a cache on a read-only file system
 */
static void test_cache_read_only(void)
{
    g_autofree char *dir = NULL;

    if (!need_sshd() || (dir = mount_tmpfs("ro,mode=0700")) == NULL)
        return;
    assert_uncached_launch(dir);
    unmount(dir);
}

/**
 * test_cache_full() - a cache on a full file system: no entry, no
 * leftover temporary file
 */
static void test_cache_full(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *filler = NULL;
    g_autofree char *big = g_malloc0(64 * 1024);

    if (!need_sshd() || (dir = mount_tmpfs("size=64k,mode=0700")) == NULL)
        return;
    filler = g_build_filename(dir, "filler", NULL);
    /* fill it to the last block (the write stops short with ENOSPC) */
    {
        int fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        g_assert_cmpint(fd, >=, 0);
        while (write(fd, big, 4096) > 0)
            ;
        close(fd);
    }
    assert_uncached_launch(dir);
    g_assert_cmpint(g_unlink(filler), ==, 0);
    assert_no_partial_files(dir);
    unmount(dir);
}

/**
 * spawn_quiet() - start qemu-mig in the background, output discarded
 * @argv: from build_argv()
 * @envp: from build_env()
 *
 * Return: its PID, to waitpid() for
 */
static GPid spawn_quiet(GPtrArray *argv, char **envp)
{
    g_autoptr(GError) error = NULL;
    GPid pid = 0;

    g_spawn_async(NULL, (char **)argv->pdata, envp,
                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, &pid, &error);
    g_assert_no_error(error);
    return pid;
}

/* ---- a UID with no passwd entry --------------------------------------- */

/* A UID nobody has, as a container may run us with */
#define NO_SUCH_UID 54321

/**
 * become_nobody() - g_spawn child setup: drop to NO_SUCH_UID
 * @data: unused
 */
static void become_nobody(gpointer data G_GNUC_UNUSED)
{
    if (setgroups(0, NULL) < 0 || setgid(NO_SUCH_UID) < 0 ||
        setuid(NO_SUCH_UID) < 0)
        _exit(125);
}

/**
 * test_no_passwd_entry() - a UID with no passwd entry (and perhaps no
 * HOME) gets one line naming what is missing, exit 2, no GLib warnings;
 * a run that needs neither a home nor SSH still just runs
 */
static void test_no_passwd_entry(void)
{
    static const struct {
        gboolean home;
        const char *args[8];
        int status;
        const char *needle;
    } cases[] = {
        {FALSE,
         {"--peer", "127.0.0.1:1", "--dry-run", "--", "-cpu", "host"},
         2,
         "has no passwd entry: SSH needs a local user name"},
        {TRUE,
         {"--peer", "127.0.0.1:1", "--dry-run", "--", "-cpu", "host"},
         2,
         "has no passwd entry: SSH needs a local user name"},
        {FALSE, {"cache", "list"}, 2, "HOME is not set"},
        {FALSE, {"--dry-run", "--", "-cpu", "host"}, 0, NULL},
    };
    g_autofree char *dir = make_dir("no-passwd");
    g_autofree char *home_env = g_strdup_printf("HOME=%s", dir);

    if (geteuid() != 0) {
        g_test_skip("needs root to run qemu-mig as a UID with no passwd entry");
        return;
    }
    /* the environment is cleared, the valgrind wrapper's variables too;
     * the ASan pass covers it */
    if (g_getenv("QM_TEST_VALGRIND") != NULL) {
        g_test_skip("not under valgrind: it runs with an empty environment");
        return;
    }
    if (getpwuid(NO_SUCH_UID) != NULL) {
        g_test_skip("UID 54321 has a passwd entry here");
        return;
    }
    g_assert_cmpint(chmod(dir, 0777), ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        const char *envp[] = {"PATH=/usr/bin:/bin", NULL, NULL};
        int status = -1;

        if (cases[i].home)
            envp[1] = home_env;
        g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
        for (const char *const *a = cases[i].args; *a != NULL; a++)
            g_ptr_array_add(argv, (char *)*a);
        g_ptr_array_add(argv, NULL);
        if (!g_spawn_sync(dir, (char **)argv->pdata, (char **)envp, 0,
                          become_nobody, NULL, &out, &err, &status, &error)) {
            /* a build tree only root may enter */
            g_test_skip(error->message);
            return;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 125) {
            g_test_skip("cannot drop to UID 54321");
            return;
        }
        g_test_message("case %zu: status %d, stderr %s", i, status, err);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, cases[i].status);
        g_assert_null(strstr(err, "GLib"));
        if (cases[i].needle == NULL) {
            g_assert_cmpstr(err, ==, "");
            continue;
        }
        assert_one_line(err);
        g_assert_true(g_str_has_prefix(err, "qemu-mig: "));
        g_assert_nonnull(strstr(err, cases[i].needle));
        g_assert_cmpstr(out, ==, "");
    }
}

/* ---- a hung ssh-agent ------------------------------------------------ */

/**
 * hung_agent() - an "agent" socket that takes connections and never answers
 * @path: where to create it
 *
 * Nothing accept()s while a run waits: the kernel queues the connection,
 * takes the request into the socket buffer, and the client's read() waits,
 * as for gpg-agent waiting on a pinentry or "ssh-add -c" waiting for a
 * click.  Non-blocking, so that queued connections can be drained.
 *
 * Return: the listening socket
 */
static int hung_agent(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
    strcpy(addr.sun_path, path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(fd, 8), ==, 0);
    return fd;
}

/**
 * test_hung_agent() - an ssh-agent that never answers is bounded by
 * --timeout (exit 3 naming the agent), and SIGINT ends qemu-mig while it
 * waits, dying of the signal, as at any other point of a probe; with
 * IdentitiesOnly (the peers' own ssh_config) the agent is never asked
 *
 * The peers' stanzas say IdentitiesOnly yes, so the agent is put first by
 * a "Host *" block above them that says no (ssh_config: first value wins).
 */
static void test_hung_agent(void)
{
    g_autofree char *dir = make_dir("hung-agent");
    g_autofree char *sock = g_build_filename(dir, "agent.sock", NULL);
    g_autofree char *auth_env = g_strdup_printf("SSH_AUTH_SOCK=%s", sock);
    const char *env[] = {auth_env, NULL};
    g_autofree char *remote = NULL;
    const char *rest[] = {"--timeout", timeout_s(2), "--peer", NULL,
                          "--",        "-cpu",       "host",   NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(Result) r = NULL;
    g_autofree char *text = NULL;
    g_autofree char *config = NULL;
    int listener;

    if (!need_sshd())
        return;
    listener = hung_agent(sock);
    rest[3] = peers[0]->alias;
    remote = remote_cmd(PEER_CPU, NULL);

    /* IdentitiesOnly yes: the IdentityFile gets in without a question to
     * the agent (the relay connects, as ssh(1) does, in case a locked
     * IdentityFile's key is held there) */
    rest[1] = timeout_s(20); /* a healthy run, however loaded the box */
    args = peer_argv(remote, rest);
    rest[1] = timeout_s(2);
    {
        Spec spec = {.args = (const char *const *)args->pdata, .env = env};

        r = run(&spec);
        g_assert_cmpint(r->run->status, ==, 0);
        g_clear_pointer(&r, result_free);
    }

    g_assert_true(g_file_get_contents(ssh_config, &text, NULL, NULL));
    config = fresh_path("ssh_config-agent-first");
    {
        g_autofree char *agent_first =
            g_strconcat("Host *\n    IdentitiesOnly no\n", text, NULL);

        g_assert_true(g_file_set_contents(config, agent_first, -1, NULL));
    }
    g_clear_pointer(&args, g_ptr_array_unref);
    args = peer_argv_config(config, remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata, .env = env};

        r = run(&spec);
    }
    assert_refused(r, 3, "waiting for ssh-agent", 5);

    /* the same with SIGINT while it waits, and no --timeout to help */
    rest[1] = timeout_s(60);
    g_clear_pointer(&args, g_ptr_array_unref);
    args = peer_argv_config(config, remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata, .env = env};
        g_autofree char *cache = make_dir("hung-agent-cache");
        g_autofree char *record = fresh_path("record");
        g_autoptr(GPtrArray) argv = build_argv(&spec, cache);
        g_auto(GStrv) envp = build_env(&spec, record);
        struct pollfd pfd = {.fd = listener, .events = POLLIN};
        gint64 signalled;
        GPid pid;
        int status;

        /* the earlier runs' connections are still queued: take them
         * away, then wait for this run's */
        for (;;) {
            int old = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

            if (old < 0)
                break;
            close(old);
        }
        pid = spawn_quiet(argv, envp);
        g_assert_cmpint(poll(&pfd, 1, 10000 * (int)qm_test_slow()), ==, 1);
        g_usleep(200 * 1000); /* its request is written, its read() waits */
        signalled = g_get_monotonic_time();
        g_assert_cmpint(kill(pid, SIGINT), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_spawn_close_pid(pid);
        g_test_message("died %.2f s after the signal",
                       (g_get_monotonic_time() - signalled) / 1e6);
        g_assert_cmpfloat((g_get_monotonic_time() - signalled) / 1e6, <,
                          2.5 * qm_test_slow());
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGINT);
        /* nothing exec'd (the local profile may well be cached by then) */
        g_assert_false(g_file_test(record, G_FILE_TEST_EXISTS));
    }
    close(listener);
}

/* ---- signals during probing ------------------------------------------- */

/**
 * test_signal_during_probe() - SIGINT/SIGTERM while both probes hang:
 * qemu-mig stops both probes, removes the local and the peer's probe QEMU,
 * then dies of the signal; no cache entry or temporary file, nothing
 * exec'd
 * @data: the signal
 */
static void test_signal_during_probe(gconstpointer data)
{
    int sig = GPOINTER_TO_INT(data);
    g_autofree char *local_counts = make_dir("sig-local");
    g_autofree char *remote_counts = make_dir("sig-remote");
    g_autofree char *cache = make_dir("sig-cache");
    g_autofree char *record = fresh_path("record");
    g_autofree char *count_env =
        g_strdup_printf("FAKE_QEMU_COUNT_DIR=%s", local_counts);
    const char *env[] = {"FAKE_QEMU_MODE=hang", count_env, NULL};
    const char *extra[] = {"--mode", "hang", "--count-dir", remote_counts,
                           NULL};
    g_autofree char *remote = NULL;
    const char *rest[] = {"--timeout", timeout_s(60), "--peer", NULL,
                          "--",        "-cpu",        "host",   NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(GPtrArray) argv = NULL;
    g_auto(GStrv) envp = NULL;
    gint64 deadline, signalled;
    GPid pid;
    int status;

    if (!need_sshd())
        return;
    rest[3] = peers[0]->alias;
    remote = remote_cmd(PEER_CPU, extra);
    args = peer_argv(remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata, .env = env};

        argv = build_argv(&spec, cache);
        envp = build_env(&spec, record);
    }
    pid = spawn_quiet(argv, envp);
    deadline = g_get_monotonic_time() + 10 * qm_test_slow() * G_USEC_PER_SEC;
    while ((qm_run_count_files(local_counts) < 1 ||
            qm_run_count_files(remote_counts) < 1) &&
           g_get_monotonic_time() < deadline)
        g_usleep(20000);
    g_assert_cmpuint(qm_run_count_files(local_counts), ==, 1);
    g_assert_cmpuint(qm_run_count_files(remote_counts), ==, 1);
    g_usleep(200000); /* both are in the middle of their probe */
    signalled = g_get_monotonic_time();
    g_assert_cmpint(kill(pid, sig), ==, 0);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    /* well inside the 60 s --timeout: the probes stopped on the signal,
     * and the peer's clean-up is bounded by 2 s */
    g_test_message("died %.2f s after the signal",
                   (g_get_monotonic_time() - signalled) / 1e6);
    g_assert_cmpfloat((g_get_monotonic_time() - signalled) / 1e6, <,
                      2.5 * qm_test_slow());
    g_spawn_close_pid(pid);
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(WTERMSIG(status), ==, sig);
    /* qemu-mig removed both before it let the signal take it */
    assert_no_orphans(local_counts, 1, 0.2);
    assert_no_orphans(remote_counts, 1, 0.2);
    assert_no_partial_files(cache);
    g_assert_false(g_file_test(record, G_FILE_TEST_EXISTS));
}

/* ---- what QEMU inherits ----------------------------------------------- */

/**
 * Inherit - how the caller sets up qemu-mig's process
 * @name:     test path component
 * @fds:      descriptors the caller leaves open (-1 ends), 0-2 included
 *            only when open
 * @ignore:   signals the caller ignores (0 ends)
 * @block:    signals the caller blocks (0 ends)
 */
typedef struct {
    const char *name;
    int fds[6];
    int ignore[4];
    int block[4];
} Inherit;

static const Inherit inherits[] = {
    {"all-std-and-extra",
     {0, 1, 2, 5, 9, -1},
     {SIGUSR2, SIGHUP, 0},
     {SIGUSR1, SIGWINCH, 0}},
    {"stdin-closed", {1, 2, 7, -1}, {SIGPIPE, 0}, {0}},
    {"stdout-stderr-closed", {0, 5, -1}, {SIGINT, SIGQUIT, 0}, {SIGTERM, 0}},
    {"all-std-closed", {4, -1}, {0}, {SIGCHLD, 0}},
};

/**
 * sig_hex() - /proc/self/status form of a signal set
 * @sigs: 0-terminated signals
 *
 * Return: newly allocated 16 hex digits
 */
static char *sig_hex(const int *sigs)
{
    guint64 mask = 0;

    for (; *sigs; sigs++)
        mask |= G_GUINT64_CONSTANT(1) << (*sigs - 1);
    return g_strdup_printf("%016" G_GINT64_MODIFIER "x", mask);
}

/**
 * test_inherit() - one row of inherits: the exec'd QEMU sees exactly the
 * caller's fds, signal mask, ignored signals, umask, cwd, environment and
 * CPU affinity
 * @data: the Inherit
 */
static void test_inherit(gconstpointer data)
{
    const Inherit *in = data;
    g_autofree char *cache = fresh_path("inherit-cache");
    g_autofree char *record = fresh_path("record");
    g_autofree char *cwd = fresh_path("cwd with space;$(x)");
    g_autofree char *remote = remote_cmd(PEER_CPU, NULL);
    const char *rest[] = {"--peer",     NULL,   "--",   "-add-fd",
                          "fd=5,set=1", "-cpu", "host", NULL};
    const char *dry_rest[] = {"--dry-run",  "--peer", NULL,   "--", "-add-fd",
                              "fd=5,set=1", "-cpu",   "host", NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(GPtrArray) argv = NULL;
    g_autoptr(GPtrArray) words = NULL;
    g_autoptr(GPtrArray) executed = NULL;
    g_auto(GStrv) envp = NULL;
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *want_blk = sig_hex(in->block);
    g_autofree char *want_ign = sig_hex(in->ignore);
    g_autofree char *want_cpus = NULL;
    JsonObject *rec;
    JsonArray *fds, *env;
    cpu_set_t cpus;
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int chosen = ncpu > 1 ? ncpu - 1 : 0;
    guint nfds = 0;
    gboolean stderr_open = FALSE;
    pid_t pid;
    int status;

    if (!need_sshd())
        return;
    for (const int *f = in->fds; *f >= 0 && *f <= 2; f++)
        stderr_open |= *f == 2;
    if (!stderr_open && g_getenv("QM_TEST_VALGRIND") != NULL) {
        /* valgrind itself cannot run a program whose stderr is closed:
         * it fails to place its log fd and exits 3.  This row runs in the
         * plain and ASan passes. */
        g_test_skip("valgrind cannot run with stderr closed");
        return;
    }
    rest[1] = dry_rest[2] = peers[0]->alias;
    g_assert_cmpint(g_mkdir_with_parents(cwd, 0700), ==, 0);
    /* the command --dry-run prints is the one QEMU must get */
    args = peer_argv(remote, dry_rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata};
        g_autoptr(Result) d = run(&spec);

        words = dry_run_words(d);
    }
    g_ptr_array_unref(args);
    args = peer_argv(remote, rest);
    {
        Spec spec = {.args = (const char *const *)args->pdata};

        argv = build_argv(&spec, cache);
        envp = build_env(&spec, record);
    }
    envp = g_environ_setenv(envp, "QM_ODD_VALUE", "a\nb=c \xff", TRUE);
    envp = g_environ_setenv(envp, "LD_QM_TEST", "x", TRUE);
    want_cpus = g_strdup_printf("%d", chosen);

    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        sigset_t set;
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        struct sigaction ign = {.sa_handler = SIG_IGN};
        gboolean keep[64] = {FALSE};

        for (const int *f = in->fds; *f >= 0; f++) {
            keep[*f] = TRUE;
            if (dup2(devnull, 60) < 0 || dup2(60, *f) < 0)
                _exit(120);
        }
        for (int fd = 0; fd < 1024; fd++) {
            if (fd >= 64 || !keep[fd])
                close(fd);
        }
        for (int s = 1; s < NSIG; s++)
            sigaction(s, &dfl, NULL);
        for (const int *s = in->ignore; *s; s++)
            sigaction(*s, &ign, NULL);
        sigemptyset(&set);
        for (const int *s = in->block; *s; s++)
            sigaddset(&set, *s);
        sigprocmask(SIG_SETMASK, &set, NULL);
        umask(027);
        if (chdir(cwd) != 0)
            _exit(121);
        CPU_ZERO(&cpus);
        CPU_SET(chosen, &cpus);
        if (sched_setaffinity(0, sizeof(cpus), &cpus) != 0)
            _exit(122);
        execve(argv->pdata[0], (char **)argv->pdata, envp);
        _exit(123);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);

    root = qm_run_read_json(record);
    rec = json_node_get_object(root);
    g_assert_cmpint(json_object_get_int_member(rec, "pid"), ==, pid);
    executed = qm_run_record_argv(root);
    /* a real launch adds the monitor its guest is registered by */
    g_free(qm_run_take_registration(executed));
    assert_same_words(executed, words);
    fds = json_object_get_array_member(rec, "fds");
    for (const int *f = in->fds; *f >= 0; f++, nfds++) {
        g_assert_cmpuint(json_array_get_length(fds), >, nfds);
        g_assert_cmpint(json_array_get_int_element(fds, nfds), ==, *f);
    }
    g_assert_cmpuint(json_array_get_length(fds), ==, nfds);
    g_assert_cmpstr(json_object_get_string_member(rec, "sigblk"), ==, want_blk);
    g_assert_cmpstr(json_object_get_string_member(rec, "sigign"), ==, want_ign);
    g_assert_cmpstr(json_object_get_string_member(rec, "umask"), ==, "0027");
    g_assert_cmpstr(json_object_get_string_member(rec, "cwd"), ==, cwd);
    g_assert_cmpstr(json_object_get_string_member(rec, "cpus_allowed"), ==,
                    want_cpus);
    env = json_object_get_array_member(rec, "environ_hex");
    {
        g_autoptr(GPtrArray) want = g_ptr_array_new();
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);

        for (char **e = envp; *e; e++)
            g_ptr_array_add(want, *e);
        for (guint i = 0; i < json_array_get_length(env); i++)
            g_ptr_array_add(
                got, qm_run_unhex(json_array_get_string_element(env, i)));
        if (g_getenv("QM_TEST_VALGRIND") != NULL) {
            /* bash, running .ci/valgrind-wrap, rebuilds the environment
             * in its own order and resets PWD; valgrind adds its own
             * variables to its client's.  The plain and ASan passes check
             * the exact list, in order. */
            static const char *const tool_vars[] = {
                "GLIBCPP_FORCE_NEW=",
                "GLIBCXX_FORCE_NEW=",
                "LD_LIBRARY_PATH=",
                "LD_PRELOAD=",
                "PWD=",
            };

            for (guint i = want->len; i-- > 0;) {
                if (g_str_has_prefix(want->pdata[i], "PWD="))
                    g_ptr_array_remove_index(want, i);
            }
            for (guint i = got->len; i-- > 0;) {
                for (gsize v = 0; v < G_N_ELEMENTS(tool_vars); v++) {
                    if (g_str_has_prefix(got->pdata[i], tool_vars[v])) {
                        g_ptr_array_remove_index(got, i);
                        break;
                    }
                }
            }
            g_ptr_array_sort(want, qm_test_cmp_strptr);
            g_ptr_array_sort(got, qm_test_cmp_strptr);
        }
        for (guint i = 0; i < want->len; i++) {
            g_assert_cmpuint(got->len, >, i);
            g_assert_cmpstr(g_ptr_array_index(got, i), ==,
                            g_ptr_array_index(want, i));
        }
        g_assert_cmpuint(got->len, ==, want->len);
    }
}

/* ---- no shell injection ------------------------------------------------ */

/**
 * test_no_injection() - destinations, ssh option values and file names
 * never become shell syntax, locally (ProxyCommand) or on the peer
 */
static void test_no_injection(void)
{
    g_autofree char *dir = make_dir("inject");
    g_autofree char *mark = g_build_filename(dir, "pwned", NULL);
    g_autofree char *probe_record = g_build_filename(dir, "probe.json", NULL);
    g_autofree char *proxy_config = g_build_filename(dir, "proxy_config", NULL);
    g_autofree char *text = NULL;
    g_autofree char *evil_dir = NULL;
    g_autofree char *evil_id = NULL;
    g_autofree char *evil_kh = NULL;
    g_autofree char *evil_cfg = NULL;
    g_autofree char *touch = NULL;
    const char *extra[] = {"--probe-record", probe_record, NULL};
    g_autofree char *remote = NULL;
    g_autoptr(GPtrArray) hostile = g_ptr_array_new_with_free_func(g_free);

    if (!need_sshd())
        return;
    /* no blank (${IFS} is how an attacker spells one), no '/': the
     * mark is relative to qemu-mig's working directory */
    touch = g_strdup("touch${IFS}pwned");

    /* 1. hostile destinations, with an ssh_config whose ProxyCommand
     *    would hand %h and %r to /bin/sh */
    text = g_strdup_printf("Host *\n    ProxyCommand /bin/true %%h %%r\n");
    g_assert_true(g_file_set_contents(proxy_config, text, -1, NULL));
    g_ptr_array_add(hostile, g_strdup_printf("h$(%s)", touch));
    g_ptr_array_add(hostile, g_strdup_printf("h`%s`", touch));
    g_ptr_array_add(hostile, g_strdup_printf("h;%s", touch));
    g_ptr_array_add(hostile, g_strdup_printf("h|%s", touch));
    g_ptr_array_add(hostile, g_strdup_printf("h&&%s&&x", touch));
    g_ptr_array_add(hostile, g_strdup_printf("u$(%s)@h", touch));
    g_ptr_array_add(hostile, g_strdup_printf("u'\"%s@h", touch));
    g_ptr_array_add(hostile, g_strdup("h>x"));
    for (guint i = 0; i < hostile->len; i++) {
        const char *dest = g_ptr_array_index(hostile, i);
        const char *rest[] = {
            "--ssh-config", proxy_config, "--timeout", timeout_s(3), "--peer",
            dest,           "--",         "-cpu",      "host",       NULL};
        g_autofree char *rc = remote_cmd(PEER_CPU, NULL);
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        g_autoptr(Result) r = NULL;

        g_ptr_array_add(args, "--qemu");
        g_ptr_array_add(args, (char *)qm_test_env("QM_FAKE_QEMU"));
        g_ptr_array_add(args, "--remote-qemu");
        g_ptr_array_add(args, rc);
        for (const char *const *a = rest; *a; a++)
            g_ptr_array_add(args, (char *)*a);
        g_ptr_array_add(args, NULL);
        {
            Spec spec = {.args = (const char *const *)args->pdata, .cwd = dir};

            r = run(&spec);
        }
        assert_refused(r, 2, "invalid destination", 5);
        g_assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    }

    /* 2. hostile file names for every ssh option: used as names, and the
     *    peer runs exactly the fixed probe command */
    evil_dir = g_build_filename(dir, "d $(touch x);`y`'\"%d %h", NULL);
    g_assert_cmpint(g_mkdir_with_parents(evil_dir, 0700), ==, 0);
    evil_id = g_build_filename(evil_dir, "id;rm -rf", NULL);
    evil_kh = g_build_filename(evil_dir, "kh|x", NULL);
    evil_cfg = g_build_filename(evil_dir, "cfg&y", NULL);
    {
        g_autofree char *c = NULL;

        g_assert_true(g_file_get_contents(peers[0]->identity, &c, NULL, NULL));
        g_assert_true(g_file_set_contents(evil_id, c, -1, NULL));
        g_chmod(evil_id, 0600);
        g_free(c);
        g_assert_true(
            g_file_get_contents(peers[0]->known_hosts, &c, NULL, NULL));
        g_assert_true(g_file_set_contents(evil_kh, c, -1, NULL));
        g_free(c);
        c = g_strdup_printf("Host evil\n    HostName 127.0.0.1\n"
                            "    Port %d\n    User root\n",
                            peers[0]->port);
        g_assert_true(g_file_set_contents(evil_cfg, c, -1, NULL));
    }
    remote = remote_cmd(PEER_CPU, extra);
    {
        const char *args[] = {"--ssh-config",
                              evil_cfg,
                              "--identity",
                              evil_id,
                              "--known-hosts",
                              evil_kh,
                              "--qemu",
                              qm_test_env("QM_FAKE_QEMU"),
                              "--remote-qemu",
                              remote,
                              "--peer",
                              "evil",
                              "--",
                              "-cpu",
                              "host",
                              NULL};
        Spec spec = {.args = args};
        g_autoptr(Result) r = run(&spec);
        g_autoptr(JsonNode) rec = NULL;
        g_autoptr(GPtrArray) words = NULL;
        const char *const probe_words[] = {
            "-machine",    "q35,accel=kvm",
            "-cpu",        "base,lm=on,pae=on,host-phys-bits=on",
            "-m",          "16",
            "-nodefaults", "-nographic",
            "-S",          "-qmp",
            "stdio",       NULL};
        guint n = 0;

        g_assert_cmpint(r->run->status, ==, 0);
        g_assert_cmpstr(r->run->err, ==, "fake-qemu: started\n");
        rec = qm_run_read_json(probe_record);
        words = qm_run_record_argv(rec);
        /* fake, --replay FILE, --probe-record FILE, then the probe words */
        g_assert_cmpstr(g_ptr_array_index(words, 0), ==,
                        qm_test_env("QM_FAKE_QEMU"));
        for (; probe_words[n]; n++)
            g_assert_cmpstr(g_ptr_array_index(words, 5 + n), ==,
                            probe_words[n]);
        g_assert_cmpuint(words->len, ==, 5 + n);
    }
    g_assert_false(g_file_test(mark, G_FILE_TEST_EXISTS));
    {
        g_autofree char *x = g_build_filename(dir, "x", NULL);

        g_assert_false(g_file_test(x, G_FILE_TEST_EXISTS));
    }
}

/**
 * main() - start the peers, run the matrix, stop the peers
 * @argc: argc
 * @argv: argv
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    int ret;

    /* A private mount namespace, before any thread: the tmpfs mounts of
     * the cache tests vanish with this process, however it ends. */
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    qm_test_init(&argc, &argv);
    if (qm_test_sshd_available(&skip_reason)) {
        ssh_config = qm_test_sshd_start_peers(peers, PEERS);
    }

    for (gsize i = 0; i < G_N_ELEMENTS(peer_faults); i++) {
        g_autofree char *path =
            g_strdup_printf("/faults/peer-qemu/%s", peer_faults[i].name);

        g_test_add_data_func(path, &peer_faults[i], test_peer_fault);
    }
    g_test_add_func("/faults/peer-qemu/lies-accepted", test_peer_lies_accepted);
    g_test_add_func("/faults/peer-qemu/noisy-shell", test_noisy_shell);
    g_test_add_func("/faults/ssh/loglevel-quiet", test_loglevel_quiet);
    g_test_add_func("/faults/peer-qemu/noisy-shell-hung-qemu",
                    test_noisy_shell_hung_qemu);
    g_test_add_func("/faults/peer-qemu/hung-qemu-cleanup",
                    test_hung_peer_qemu_cleanup);
    g_test_add_func("/faults/local-qemu", test_local_qemu);
    g_test_add_func("/faults/local-qemu-real-kvm-unusable",
                    test_real_kvm_unusable);
    g_test_add_func("/faults/ssh/tcp-accept-then-hang",
                    test_tcp_accept_then_hang);
    g_test_add_func("/faults/ssh/banner-cut", test_banner_cut);
    g_test_add_func("/faults/ssh/known-hosts-missing",
                    test_known_hosts_missing);
    g_test_add_func("/faults/ssh/auth-refused", test_auth_refused);
    g_test_add_func("/faults/ssh/unresolvable", test_unresolvable);
    g_test_add_func("/faults/ssh/dns-silent", test_dns_silent);
    g_test_add_func("/faults/ssh/hostkey-changed-between-runs",
                    test_hostkey_changed_between_runs);
    g_test_add_func("/faults/cache/read-only", test_cache_read_only);
    g_test_add_func("/faults/cache/full", test_cache_full);
    g_test_add_func("/faults/signal/hung-agent", test_hung_agent);
    g_test_add_func("/faults/env/no-passwd-entry", test_no_passwd_entry);
    g_test_add_data_func("/faults/signal/SIGTERM", GINT_TO_POINTER(SIGTERM),
                         test_signal_during_probe);
    g_test_add_data_func("/faults/signal/SIGINT", GINT_TO_POINTER(SIGINT),
                         test_signal_during_probe);
    for (gsize i = 0; i < G_N_ELEMENTS(inherits); i++) {
        g_autofree char *path =
            g_strdup_printf("/faults/inherit/%s", inherits[i].name);

        g_test_add_data_func(path, &inherits[i], test_inherit);
    }
    g_test_add_func("/faults/no-injection", test_no_injection);
    ret = g_test_run();

    if (mounted != NULL)
        umount2(mounted, MNT_DETACH);
    for (int i = 0; i < PEERS; i++)
        g_clear_pointer(&peers[i], qm_test_sshd_stop);
    return ret;
}
