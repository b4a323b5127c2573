/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig integration tests: the real qemu-mig binary against real
 * OpenSSH sshd instances on 127.0.0.1, each peer playing one recorded real
 * CPU through the fake QEMU.  The local host plays a recorded CPU too
 * (FAKE_QEMU_REPLAY), so the results do not depend on this machine.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sshd.h"
#include "qmrun.h"
#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/feature.h"
#include "wrapper/qmp.h"

#define PEERS 3

static QmTestSshd *peers[PEERS];
static char *ssh_config; /* all peers' Host blocks in one file */
static char *map_dir;    /* port-N files naming each peer's capture */
static char *skip_reason;

/**
 * fresh_cache() - point a run at a cache directory of its own
 * @envp: environment to change
 *
 * Every run here plays different CPUs through the same fake binary, which
 * real hosts never do: a shared cache would rightly serve one run's
 * profile to the next.  Tests of the cache itself pass --cache-dir.
 *
 * Return: the changed environment
 */
static char **fresh_cache(char **envp)
{
    static int n;
    g_autofree char *dir =
        g_strdup_printf("%s/cache-run-%d", qm_test_tmpdir(), n++);

    return g_environ_setenv(envp, "QEMU_MIG_CACHE_DIR", dir, TRUE);
}

/**
 * run_qm() - run the real qemu-mig binary
 * @local_cpu: capture the local fake QEMU replays, or NULL for no override
 * @extra_env: NULL-terminated KEY=VALUE list, or NULL
 * @args:      NULL-terminated qemu-mig arguments (without argv[0])
 *
 * Return: what happened
 */
static QmRun *run_qm(const char *local_cpu, const char *const *extra_env,
                     const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(GStrv) envp = g_get_environ();
    g_autoptr(GError) error = NULL;
    QmRun *run = g_new0(QmRun, 1);
    gint64 start;
    int wait_status = 0;

    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);

    envp = fresh_cache(envp);
    if (local_cpu != NULL) {
        g_autofree char *path = qm_run_capture(local_cpu);

        envp = g_environ_setenv(envp, "FAKE_QEMU_REPLAY", path, TRUE);
    }
    for (const char *const *e = extra_env; e && *e; e++) {
        g_auto(GStrv) kv = g_strsplit(*e, "=", 2);

        envp = g_environ_setenv(envp, kv[0], kv[1], TRUE);
    }

    start = g_get_monotonic_time();
    g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                 &run->out, &run->err, &wait_status, &error);
    g_assert_no_error(error);
    run->seconds = (g_get_monotonic_time() - start) / 1e6;
    run->out_len = strlen(run->out);
    if (WIFEXITED(wait_status))
        run->status = WEXITSTATUS(wait_status);
    else
        run->status = 128 + WTERMSIG(wait_status);
    g_test_message("exit %d after %.2fs; stderr: %s", run->status, run->seconds,
                   run->err);
    return run;
}

/**
 * remote_cmd() - --remote-qemu value replaying one capture on any peer
 * @cpu:   capture short name, or NULL to pick by the peer's port
 * @extra: extra fake-qemu options (e.g. "--mode hang"), or ""
 *
 * Several peers need different CPUs under one --remote-qemu, so by
 * default the peer's shell picks the capture named by its own sshd port,
 * from SSH_CONNECTION (set by sshd in every session).
 *
 * Return: newly allocated shell command
 */
static char *remote_cmd(const char *cpu, const char *extra)
{
    const char *fake = qm_test_env("QM_FAKE_QEMU");

    if (cpu != NULL) {
        g_autofree char *path = qm_run_capture(cpu);

        return g_strdup_printf("%s --replay %s %s", fake, path, extra);
    }
    return g_strdup_printf(
        "%s --replay \"$(cat %s/port-${SSH_CONNECTION##* })\" %s", fake,
        map_dir, extra);
}

/**
 * assign_cpu() - make a peer play a capture (for remote_cmd(NULL, ...))
 * @peer: peer
 * @cpu:  capture short name
 */
static void assign_cpu(QmTestSshd *peer, const char *cpu)
{
    g_autofree char *file = g_strdup_printf("%s/port-%d", map_dir, peer->port);
    g_autofree char *path = qm_run_capture(cpu);
    g_autoptr(GError) error = NULL;

    g_file_set_contents(file, path, -1, &error);
    g_assert_no_error(error);
}

/**
 * expected_host_value() - "-cpu host" value for local vs. peers, computed
 *                         from the captures by plain set arithmetic
 * @local:     local capture
 * @peer_cpus: NULL-terminated peer captures
 *
 * The documented rules: "=on" for every feature all hosts have (and the
 * local QEMU can name) but those whose parent QEMU would drop with it,
 * then "=off" for every other name the local QEMU knows, each sorted;
 * then the lowest signature and vendor; the smallest CPUID levels the
 * local QEMU has; pmu=off when family/model differ; lmce on only when
 * every host has it; QEMU's constant ucode-rev; the fakes' 46 bits as
 * phys-bits (and guest-phys-bits where the QEMU has it, 0 for one that
 * has not); enforce.
 *
 * Return: newly allocated value
 */
static char *expected_host_value(const char *local,
                                 const char *const *peer_cpus)
{
    static const char *const levels[] = {"level", "xlevel", "xlevel2",
                                         "level-func7"};
    g_autoptr(GPtrArray) hosts =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_run_cpu_facts_free);
    g_autoptr(GHashTable) on = qm_featset_new();
    g_autoptr(GList) known = NULL;
    GString *value = g_string_new("host");
    const QmRunCpuFacts *me, *pick;
    gboolean pmu = FALSE, lmce = TRUE, gpb_everywhere = TRUE;
    g_autofree char *id = NULL;
    GHashTableIter iter;
    gpointer key;

    g_ptr_array_add(hosts, qm_run_load_facts(local));
    for (const char *const *p = peer_cpus; *p; p++)
        g_ptr_array_add(hosts, qm_run_load_facts(*p));
    me = g_ptr_array_index(hosts, 0);
    pick = me;
    g_hash_table_iter_init(&iter, me->known);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        gboolean everywhere = TRUE;

        for (guint o = 0; o < hosts->len; o++)
            everywhere &= g_hash_table_contains(
                ((QmRunCpuFacts *)g_ptr_array_index(hosts, o))->features, key);
        if (everywhere)
            qm_featset_add(on, key);
    }
    qm_feature_drop_orphans(on, me->known, NULL);
    known = g_list_sort(g_hash_table_get_keys(me->known), (GCompareFunc)strcmp);
    for (GList *l = known; l; l = l->next) {
        if (g_hash_table_contains(on, l->data))
            g_string_append_printf(value, ",%s=on", (char *)l->data);
    }
    for (GList *l = known; l; l = l->next) {
        if (!g_hash_table_contains(on, l->data))
            g_string_append_printf(value, ",%s=off", (char *)l->data);
    }
    for (guint h = 0; h < hosts->len; h++) {
        const QmRunCpuFacts *f = g_ptr_array_index(hosts, h);

        if (f->family != me->family || f->model != me->model)
            pmu = TRUE;
        lmce &= qm_run_fact(f, "lmce") == 1;
        gpb_everywhere &= g_hash_table_contains(f->props, "guest-phys-bits");
        if (f->family < pick->family ||
            (f->family == pick->family &&
             (f->model < pick->model ||
              (f->model == pick->model &&
               (f->stepping < pick->stepping ||
                (f->stepping == pick->stepping &&
                 g_strcmp0(f->model_id, pick->model_id) < 0))))))
            pick = f;
    }
    id = g_strdelimit(g_strdup(pick->model_id), ",", ' ');
    g_string_append_printf(
        value,
        ",family=%" G_GINT64_FORMAT ",model=%" G_GINT64_FORMAT
        ",stepping=%" G_GINT64_FORMAT ",model-id=%s"
        ",vendor=%s",
        pick->family, pick->model, pick->stepping, id, pick->vendor);
    for (gsize k = 0; k < G_N_ELEMENTS(levels); k++) {
        gint64 lo = G_MAXINT64;

        for (guint h = 0; h < hosts->len; h++) {
            gint64 v = qm_run_fact(g_ptr_array_index(hosts, h), levels[k]);

            lo = v < 0 || lo < 0 ? -1 : MIN(lo, v);
        }
        if (lo >= 0 && g_hash_table_contains(me->props, levels[k]))
            g_string_append_printf(value, ",%s=%" G_GINT64_FORMAT, levels[k],
                                   lo);
    }
    if (pmu)
        g_string_append(value, ",pmu=off");
    if (g_hash_table_contains(me->props, "lmce"))
        g_string_append_printf(value, ",lmce=%s", lmce ? "on" : "off");
    if (g_hash_table_contains(me->props, "ucode-rev"))
        g_string_append_printf(value, ",ucode-rev=%s",
                               strcmp(pick->vendor, "AuthenticAMD") == 0
                                   ? "16777317"
                                   : "4294967296");
    g_string_append(value, ",host-phys-bits=off,phys-bits=46");
    if (g_hash_table_contains(me->props, "guest-phys-bits"))
        g_string_append_printf(value, ",guest-phys-bits=%d",
                               gpb_everywhere ? 46 : 0);
    g_string_append(value, ",enforce=on");
    return g_string_free(value, FALSE);
}

/**
 * dry_run_words() - check a run printed one line, and eval it
 * @run: a successful --dry-run
 *
 * Return: the argv the line stands for
 */
static GPtrArray *dry_run_words(const QmRun *run)
{
    g_autofree char *line = NULL;

    g_assert_cmpint(run->status, ==, 0);
    g_assert_true(g_str_has_suffix(run->out, "\n"));
    g_assert_null(strchr(run->out, '\n') == run->out + run->out_len - 1
                      ? NULL
                      : "more than one line");
    line = g_strndup(run->out, run->out_len - 1);
    return qm_run_eval_line(line);
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
    g_assert_nonnull(strstr(run->err, needle));
    g_assert_cmpint(strchr(run->err, '\n') - run->err, ==,
                    (int)strlen(run->err) - 1);
    g_assert_cmpstr(run->out, ==, "");
}

/**
 * base_args() - arguments every peer test passes, plus @rest
 * @command: "explain" or "probe", or NULL to launch
 * @remote: --remote-qemu value
 * @rest:   NULL-terminated further arguments
 *
 * Return: new NULL-terminated array (strings borrowed)
 */
static GPtrArray *base_args(const char *command, const char *remote,
                            const char *const *rest)
{
    GPtrArray *args = g_ptr_array_new();

    if (command != NULL)
        g_ptr_array_add(args, (char *)command);
    g_ptr_array_add(args, "--ssh-config");
    g_ptr_array_add(args, ssh_config);
    g_ptr_array_add(args, "--qemu");
    g_ptr_array_add(args, (char *)qm_test_env("QM_FAKE_QEMU"));
    g_ptr_array_add(args, "--remote-qemu");
    g_ptr_array_add(args, (char *)remote);
    for (const char *const *a = rest; *a; a++)
        g_ptr_array_add(args, (char *)*a);
    g_ptr_array_add(args, NULL);
    return args;
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

/* Captures with a full expansion, and their vendors (from tests/data). */
static const struct {
    const char *cpu;
    const char *vendor;
} full_captures[] = {
    {"Atom-P5362", "GenuineIntel"},
    {"Cooperlake", "GenuineIntel"},
    {"Core-i7-1270P", "GenuineIntel"},
    {"Core-i7-5600U", "GenuineIntel"},
    {"Core-i7-7700", "GenuineIntel"},
    {"Core-i7-8700", "GenuineIntel"},
    {"Core2-E6850", "GenuineIntel"},
    {"EPYC-7502-32-Core", "AuthenticAMD"},
    {"EPYC-7601-32-Core", "AuthenticAMD"},
    {"EPYC-7713-64-Core", "AuthenticAMD"},
    {"EPYC-9334-32-Core", "AuthenticAMD"},
    {"Hygon-C86-7185-32-core", "HygonGenuine"},
    {"Ice-Lake-Server", "GenuineIntel"},
    {"Opteron-2350", "AuthenticAMD"},
    {"Ryzen-9-9950X-16-Core", "AuthenticAMD"},
    {"Xeon-6788P", "GenuineIntel"},
    {"Xeon-E5-2650-v3", "GenuineIntel"},
    {"Xeon-E5-2650-v4", "GenuineIntel"},
    {"Xeon-Gold-6130", "GenuineIntel"},
    {"Xeon-Gold-6148", "GenuineIntel"},
    {"Xeon-Gold-6530", "GenuineIntel"},
    {"Xeon-Platinum-8268", "GenuineIntel"},
};

/**
 * assert_only_level_warnings() - stderr holds nothing but warnings that a
 *                                capture's (old) QEMU reported no CPUID
 *                                level, so it could not be pinned
 * @err: what qemu-mig wrote on stderr
 */
static void assert_only_level_warnings(const char *err)
{
    g_auto(GStrv) lines = g_strsplit(err, "\n", -1);

    for (char **l = lines; *l; l++) {
        if (**l == '\0')
            continue;
        g_assert_true(g_str_has_prefix(*l, "qemu-mig: warning: "));
        g_assert_nonnull(strstr(*l, ": CPUID "));
        g_assert_true(g_str_has_suffix(
            *l, " unknown (its QEMU does not report it); not pinned"));
    }
}

/**
 * test_dry_run_every_capture() - for every recorded CPU with a full
 * expansion, a loopback peer playing it yields exactly the intersection
 */
static void test_dry_run_every_capture(void)
{
    if (!need_sshd())
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(full_captures); i++) {
        const char *peer = full_captures[i].cpu;
        const char *vendor = full_captures[i].vendor;
        const char *local =
            strcmp(vendor, "GenuineIntel") == 0   ? "Xeon-Gold-6530"
            : strcmp(vendor, "AuthenticAMD") == 0 ? "EPYC-9334-32-Core"
                                                  : peer;
        const char *peer_list[] = {peer, NULL};
        g_autofree char *remote = remote_cmd(peer, "");
        const char *rest[] = {"--dry-run", "--peer",   peers[0]->alias,
                              "--",        "-machine", "q35",
                              "-cpu",      "host",     "-m",
                              "512",       NULL};
        g_autoptr(GPtrArray) args = base_args(NULL, remote, rest);
        g_autoptr(QmRun) run =
            run_qm(local, NULL, (const char *const *)args->pdata);
        g_autoptr(GPtrArray) words = NULL;
        g_autofree char *expected = expected_host_value(local, peer_list);

        g_test_message("local %s, peer %s", local, peer);
        assert_only_level_warnings(run->err);
        words = dry_run_words(run);
        /* no accelerator named: KVM's, which every profile describes */
        g_assert_cmpuint(words->len, ==, 9);
        g_assert_cmpstr(g_ptr_array_index(words, 0), ==,
                        qm_test_env("QM_FAKE_QEMU"));
        g_assert_cmpstr(g_ptr_array_index(words, 1), ==, "-machine");
        /* the fakes share QEMU 7.2's machine list: q35 is pc-q35-7.2 */
        g_assert_cmpstr(g_ptr_array_index(words, 2), ==, "pc-q35-7.2");
        g_assert_cmpstr(g_ptr_array_index(words, 3), ==, "-cpu");
        g_assert_cmpstr(g_ptr_array_index(words, 4), ==, expected);
        g_assert_cmpstr(g_ptr_array_index(words, 5), ==, "-m");
        g_assert_cmpstr(g_ptr_array_index(words, 6), ==, "512");
        g_assert_cmpstr(g_ptr_array_index(words, 7), ==, "-accel");
        g_assert_cmpstr(g_ptr_array_index(words, 8), ==, "kvm");
        if (strcmp(local, peer) == 0)
            g_assert_null(strstr(expected, "pmu=off"));
    }
}

/**
 * test_several_peers() - three peers at once, hostile arguments kept
 * byte-for-byte, and explain --json agreeing with --dry-run
 */
static void test_several_peers(void)
{
    g_autofree char *remote = NULL;
    g_autofree char *peer_arg = NULL;
    const char *peer_cpus[] = {"EPYC-7502-32-Core", "EPYC-9334-32-Core",
                               "Ryzen-9-9950X-16-Core", NULL};
    const char *qemu_args[] = {
        "disk image.qcow2",
        "-name",
        "a b,c",
        "-vga",
        "std",
        "-cpu",
        "EPYC",
        "-append",
        "\xff\xfe quote' \"dq\" $HOME `x` *",
        "",
        "-cpu",
        "host,pmu=off",
        "-serial",
        "stdio",
        "-enable-kvm",
        NULL,
    };
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(QmRun) run = NULL;
    g_autoptr(QmRun) explain = NULL;
    g_autoptr(GPtrArray) words = NULL;
    g_autofree char *expected = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *root;
    JsonArray *hidden, *hosts;

    if (!need_sshd())
        return;
    for (int i = 0; i < PEERS; i++)
        assign_cpu(peers[i], peer_cpus[i]);
    remote = remote_cmd(NULL, "");
    peer_arg = g_strdup_printf("%s,%s", peers[1]->alias, peers[2]->alias);

    g_ptr_array_add(rest, "--dry-run");
    g_ptr_array_add(rest, "--peer");
    g_ptr_array_add(rest, peers[0]->alias);
    g_ptr_array_add(rest, "--peer");
    g_ptr_array_add(rest, peer_arg);
    g_ptr_array_add(rest, "--");
    for (const char *const *a = qemu_args; *a; a++)
        g_ptr_array_add(rest, (char *)*a);
    g_ptr_array_add(rest, NULL);
    args = base_args(NULL, remote, (const char *const *)rest->pdata);
    run = run_qm("EPYC-7713-64-Core", NULL, (const char *const *)args->pdata);
    words = dry_run_words(run);

    expected = expected_host_value("EPYC-7713-64-Core", peer_cpus);
    /* the user's own settings stay, ours follow; their pmu=off stands */
    {
        char *pmu = strstr(expected, ",pmu=off,");
        char *joined = NULL;

        g_assert_nonnull(pmu);
        memmove(pmu, pmu + strlen(",pmu=off"), strlen(pmu + 8) + 1);
        joined = g_strconcat("host,pmu=off", expected + strlen("host"), NULL);
        g_free(expected);
        expected = joined;
    }
    /* every word kept, and QEMU's default machine pinned at the end */
    g_assert_cmpuint(words->len, ==, G_N_ELEMENTS(qemu_args) + 2);
    for (gsize i = 0; qemu_args[i]; i++) {
        const char *want = i == 11 ? expected : qemu_args[i];

        g_assert_cmpstr(g_ptr_array_index(words, i + 1), ==, want);
    }
    g_assert_cmpstr(g_ptr_array_index(words, words->len - 2), ==, "-machine");
    g_assert_cmpstr(g_ptr_array_index(words, words->len - 1), ==,
                    "pc-i440fx-7.2");
    g_assert_nonnull(strstr(expected, ",vaes=off"));

    /* explain --json: same decision, documented members */
    g_ptr_array_index(rest, 0) = "--json";
    {
        g_autoptr(GPtrArray) eargs =
            base_args("explain", remote, (const char *const *)rest->pdata);

        explain = run_qm("EPYC-7713-64-Core", NULL,
                         (const char *const *)eargs->pdata);
    }
    g_assert_cmpint(explain->status, ==, 0);
    g_assert_true(json_parser_load_from_data(parser, explain->out, -1, &error));
    root = json_node_get_object(json_parser_get_root(parser));
    hosts = json_object_get_array_member(root, "hosts");
    g_assert_cmpuint(json_array_get_length(hosts), ==, 4);
    g_assert_cmpstr(json_object_get_string_member(
                        json_array_get_object_element(hosts, 0), "role"),
                    ==, "local");
    hidden = json_object_get_array_member(root, "hidden");
    g_assert_cmpuint(json_array_get_length(hidden), >, 0);
    for (guint i = 0; i < json_array_get_length(hidden); i++) {
        JsonObject *h = json_array_get_object_element(hidden, i);
        g_autofree char *needle = g_strdup_printf(
            ",%s=off", json_object_get_string_member(h, "feature"));

        g_assert_nonnull(strstr(expected, needle));
        /* lacking somewhere, or needing a feature that is off */
        if (json_object_get_null_member(h, "needs"))
            g_assert_cmpuint(json_array_get_length(
                                 json_object_get_array_member(h, "lacking")),
                             >=, 1);
        else
            g_assert_cmpuint(json_array_get_length(
                                 json_object_get_array_member(h, "lacking")),
                             ==, 0);
    }
    g_assert_cmpstr(json_object_get_string_member(
                        json_object_get_object_member(root, "cpu"), "final"),
                    ==, expected);
}

/**
 * record_path() - a fresh path for the fake QEMU's exec record
 *
 * Return: newly allocated path that does not exist yet
 */
static char *record_path(void)
{
    static int n;

    return g_strdup_printf("%s/record-%d.json", qm_test_tmpdir(), n++);
}

/**
 * launch_refused() - run a launch (not a dry run) that must be refused
 * @local:   local capture
 * @remote:  --remote-qemu value
 * @extra:   NULL-terminated options before "--"
 * @status:  expected exit status
 * @needle:  text the one-line error must contain
 * @max_s:   the refusal must come within this many seconds
 */
static void launch_refused(const char *local, const char *remote,
                           const char *const *extra, int status,
                           const char *needle, double max_s)
{
    g_autofree char *record = record_path();
    g_autofree char *record_env =
        g_strdup_printf("FAKE_QEMU_RECORD=%s", record);
    const char *env[] = {record_env, NULL};
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(QmRun) run = NULL;

    for (const char *const *a = extra; *a; a++)
        g_ptr_array_add(rest, (char *)*a);
    g_ptr_array_add(rest, "--");
    g_ptr_array_add(rest, "-cpu");
    g_ptr_array_add(rest, "host");
    g_ptr_array_add(rest, NULL);
    args = base_args(NULL, remote, (const char *const *)rest->pdata);
    run = run_qm(local, env, (const char *const *)args->pdata);
    assert_one_line_error(run, status, needle);
    g_assert_cmpfloat(run->seconds, <, max_s * qm_test_slow());
    /* nothing launched */
    g_assert_false(g_file_test(record, G_FILE_TEST_EXISTS));
}

/**
 * test_hostkey_unknown() - a peer whose key is not in known_hosts is
 * refused with its SHA256 fingerprint, and nothing is added
 */
static void test_hostkey_unknown(void)
{
    g_autofree char *empty =
        g_build_filename(qm_test_tmpdir(), "empty_known_hosts", NULL);
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    const char *extra[] = {"--known-hosts", empty, "--peer", peers[0]->alias,
                           NULL};

    if (!need_sshd())
        return;
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    launch_refused("EPYC-7713-64-Core", remote, extra, 4, peers[0]->fingerprint,
                   10);
    g_file_get_contents(empty, &after, NULL, NULL);
    g_assert_cmpstr(after, ==, "");
}

/**
 * test_hostkey_changed() - a key other than the recorded one is refused
 */
static void test_hostkey_changed(void)
{
    g_autofree char *file =
        g_build_filename(qm_test_tmpdir(), "changed_known_hosts", NULL);
    g_autofree char *other = NULL;
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    g_auto(GStrv) fields = NULL;
    g_autofree char *line = NULL;
    const char *extra[] = {"--known-hosts", file, "--peer", peers[0]->alias,
                           NULL};

    if (!need_sshd())
        return;
    /* peer1's host key, recorded under peer0's address */
    g_assert_true(
        g_file_get_contents(peers[1]->known_hosts, &other, NULL, NULL));
    fields = g_strsplit(g_strstrip(other), " ", 2);
    line = g_strdup_printf("[127.0.0.1]:%d %s\n", peers[0]->port, fields[1]);
    g_assert_true(g_file_set_contents(file, line, -1, NULL));
    launch_refused("EPYC-7713-64-Core", remote, extra, 4, peers[0]->fingerprint,
                   10);
}

/**
 * test_unreachable() - nothing listening: a quick, clear refusal
 */
static void test_unreachable(void)
{
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *dest = NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);

    if (!need_sshd())
        return;
    /* a port that was free a moment ago and has no listener now */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    dest = g_strdup_printf("root@127.0.0.1:%d", ntohs(sa.sin_port));
    {
        const char *extra[] = {"--identity",
                               peers[0]->identity,
                               "--known-hosts",
                               peers[0]->known_hosts,
                               "--peer",
                               dest,
                               NULL};

        launch_refused("EPYC-7713-64-Core", remote, extra, 3, dest, 5);
    }
}

/**
 * test_hanging_peer() - a SIGSTOPped sshd: refused within --timeout
 */
static void test_hanging_peer(void)
{
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *timeout = g_strdup_printf("%u", 2 * qm_test_slow());
    const char *extra[] = {
        "--timeout", timeout,         "--peer", peers[2]->alias,
        "--peer",    peers[0]->alias, NULL};

    if (!need_sshd())
        return;
    qm_test_sshd_pause(peers[2], TRUE);
    launch_refused("EPYC-7713-64-Core", remote, extra, 3, peers[2]->alias, 5);
    qm_test_sshd_pause(peers[2], FALSE);
}

/**
 * test_bad_peer_qemu() - every way a peer's QEMU can be unusable or lie
 */
static void test_bad_peer_qemu(void)
{
    static const struct {
        const char *cpu;
        const char *extra;
        int status;
        const char *needle;
    } cases[] = {
        {NULL, "", 5, "not found"},
        {"EPYC-7502-32-Core", "--mode nokvm", 5, "KVM"},
        {"Core-i5-2500", "", 5, "too old"},
        {"EPYC-7502-32-Core", "--mode malformed", 6, "malformed"},
        {"EPYC-7502-32-Core", "--mode truncated", 6, "truncated"},
        {"EPYC-7502-32-Core", "--mode out-of-order", 6, "out of order"},
        {"EPYC-7502-32-Core", "--mode huge", 6, "16777216"},
        {"EPYC-7502-32-Core", "--mode badname", 6, "outside [a-z0-9._-]"},
        {"EPYC-7502-32-Core", "--mode badmodel", 6, "outside"},
        {"EPYC-7502-32-Core", "--mode exit-early", 6, ""},
        {"EPYC-7502-32-Core", "--mode noreply-id", 6, "no id"},
        {"EPYC-7502-32-Core", "--mode hang", 3, "timed out"},
    };

    if (!need_sshd())
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *plain =
            cases[i].cpu ? remote_cmd(cases[i].cpu, cases[i].extra)
                         : g_strdup("/nonexistent/qemu-system-x86_64");
        /* sshd will not signal a root session's command (OpenSSH refuses
         * without privilege separation): bound the hanging one ourselves,
         * as the README advises, so no fake QEMU outlives the test */
        g_autofree char *remote =
            strstr(cases[i].extra, "hang") != NULL
                ? g_strdup_printf("timeout -s KILL 30 %s", plain)
                : g_strdup(plain);
        g_autofree char *timeout = g_strdup_printf("%u", 3 * qm_test_slow());
        const char *extra[] = {"--timeout", timeout, "--peer", peers[0]->alias,
                               NULL};

        g_test_message("case %zu: %s %s", i, remote, cases[i].extra);
        launch_refused("EPYC-7713-64-Core", remote, extra, cases[i].status,
                       cases[i].needle, 8);
    }
}

/**
 * test_local_refusals() - local QEMU missing, not executable, without KVM;
 * an unknown option; a vendor mismatch; a requested feature a peer lacks
 */
static void test_local_refusals(void)
{
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *noexec =
        g_build_filename(qm_test_tmpdir(), "noexec", NULL);
    g_autofree char *remote_intel = remote_cmd("Xeon-Gold-6130", "");

    if (!need_sshd())
        return;
    g_assert_true(g_file_set_contents(noexec, "#!/bin/sh\n", -1, NULL));
    g_chmod(noexec, 0644);
    {
        const char *args[] = {"--qemu", "/nonexistent/qemu",
                              "--peer", peers[0]->alias,
                              "--",     "-cpu",
                              "host",   NULL};
        g_autoptr(QmRun) run = run_qm(NULL, NULL, args);

        assert_one_line_error(run, 127, "/nonexistent/qemu");
    }
    {
        const char *args[] = {"--qemu", noexec, "--", "-cpu", "host", NULL};
        g_autoptr(QmRun) run = run_qm(NULL, NULL, args);

        assert_one_line_error(run, 126, "noexec");
    }
    {
        const char *args[] = {"--peeer", "x", "--", "-cpu", "host", NULL};
        g_autoptr(QmRun) run = run_qm(NULL, NULL, args);

        assert_one_line_error(run, 2, "--peeer");
    }
    {
        const char *extra[] = {"--peer", peers[0]->alias, NULL};
        const char *env[] = {"FAKE_QEMU_MODE=nokvm", NULL};
        g_autoptr(GPtrArray) args = NULL;
        const char *rest[] = {"--peer", peers[0]->alias, "--",
                              "-cpu",   "host",          NULL};
        g_autoptr(QmRun) run = NULL;

        (void)extra;
        args = base_args(NULL, remote, rest);
        run =
            run_qm("EPYC-7713-64-Core", env, (const char *const *)args->pdata);
        assert_one_line_error(run, 5, "local: QEMU cannot use KVM");
    }
    {
        const char *extra[] = {"--peer", peers[0]->alias, NULL};

        launch_refused("EPYC-7713-64-Core", remote_intel, extra, 7,
                       "GenuineIntel", 10);
        launch_refused("EPYC-7713-64-Core", remote_intel, extra, 7,
                       "AuthenticAMD", 10);
    }
    {
        const char *rest[] = {"--dry-run", "--allow-cross-vendor",
                              "--peer",    peers[0]->alias,
                              "--",        "-cpu",
                              "host",      NULL};
        g_autoptr(GPtrArray) args = base_args(NULL, remote_intel, rest);
        g_autoptr(QmRun) run =
            run_qm("EPYC-7713-64-Core", NULL, (const char *const *)args->pdata);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_nonnull(strstr(run->err, "warning: CPU vendors differ"));
        g_assert_true(g_str_has_prefix(run->out, qm_test_env("QM_FAKE_QEMU")));
    }
    {
        /* Genoa has avx512f, Rome does not */
        const char *rest[] = {"--peer", peers[0]->alias, "--",
                              "-cpu",   "host,+avx512f", NULL};
        g_autoptr(GPtrArray) args = base_args(NULL, remote, rest);
        g_autoptr(QmRun) run =
            run_qm("EPYC-9334-32-Core", NULL, (const char *const *)args->pdata);

        assert_one_line_error(run, 7, "avx512f");
        g_assert_nonnull(strstr(run->err, peers[0]->alias));
    }
}

/**
 * exec_and_record() - run a real launch with fd 5 inherited, return the
 *                     fake QEMU's record and qemu-mig's PID
 * @args:   NULL-terminated qemu-mig arguments
 * @env:    NULL-terminated extra environment
 * @pid:    where to store the PID qemu-mig ran as
 * @out:    where to store everything written to stdout
 *
 * Return: the record
 */
static JsonNode *exec_and_record(const char *const *args,
                                 const char *const *env, GPid *pid, char **out)
{
    g_autofree char *record = record_path();
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(GStrv) envp = g_get_environ();
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) stdout_buf = g_string_new(NULL);
    int src = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int target = 5;
    int out_fd = -1, status = 0;
    char buf[4096];
    ssize_t r;

    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    envp = fresh_cache(envp);
    envp = g_environ_setenv(envp, "FAKE_QEMU_RECORD", record, TRUE);
    for (const char *const *e = env; e && *e; e++) {
        g_auto(GStrv) kv = g_strsplit(*e, "=", 2);

        envp = g_environ_setenv(envp, kv[0], kv[1], TRUE);
    }
    g_assert_true(g_spawn_async_with_pipes_and_fds(
        NULL, (const char *const *)argv->pdata, (const char *const *)envp,
        G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, -1, -1, -1, &src, &target, 1,
        pid, NULL, &out_fd, NULL, &error));
    g_assert_no_error(error);
    close(src);
    while ((r = read(out_fd, buf, sizeof(buf))) > 0)
        g_string_append_len(stdout_buf, buf, r);
    close(out_fd);
    g_assert_cmpint(waitpid(*pid, &status, 0), ==, *pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    *out = g_strdup(stdout_buf->str);
    return qm_run_read_json(record);
}

/**
 * assert_record() - the exec'd QEMU got exactly this argv (and the
 *                   monitor its guest is registered by), our PID, and
 *                   only the fds the caller gave qemu-mig
 * @record:   fake QEMU's record
 * @pid:      qemu-mig's PID
 * @expected: NULL-terminated argv expected (argv[0] included)
 * @registered: a guest was started: its registration monitor comes last
 */
static void assert_record(JsonNode *record, GPid pid,
                          const char *const *expected, gboolean registered)
{
    JsonObject *obj = json_node_get_object(record);
    g_autoptr(GPtrArray) argv = qm_run_record_argv(record);
    JsonArray *fds = json_object_get_array_member(obj, "fds");
    guint n = 0;

    if (registered)
        g_free(qm_run_take_registration(argv));

    g_assert_cmpint(json_object_get_int_member(obj, "pid"), ==, pid);
    for (; expected[n]; n++) {
        g_assert_cmpuint(argv->len, >, n);
        g_assert_cmpstr(g_ptr_array_index(argv, n), ==, expected[n]);
    }
    g_assert_cmpuint(argv->len, ==, n);
    /* 0-2 and the inherited fd 5; nothing of qemu-mig's */
    g_assert_cmpuint(json_array_get_length(fds), ==, 4);
    g_assert_cmpint(json_array_get_int_element(fds, 0), ==, 0);
    g_assert_cmpint(json_array_get_int_element(fds, 1), ==, 1);
    g_assert_cmpint(json_array_get_int_element(fds, 2), ==, 2);
    g_assert_cmpint(json_array_get_int_element(fds, 3), ==, 5);
}

/**
 * test_exec() - a real launch: same PID, rewritten argv, inherited fd
 * kept, nothing of ours leaked, stdout left to QEMU
 */
static void test_exec(void)
{
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    const char *rest[] = {
        "--peer",  peers[0]->alias, "--",   "-serial", "stdio",
        "-add-fd", "fd=5,set=1",    "-cpu", "host",    NULL};
    const char *peer_list[] = {"EPYC-7502-32-Core", NULL};
    g_autofree char *value = NULL;
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(JsonNode) record = NULL;
    g_autofree char *out = NULL;
    GPid pid;

    if (!need_sshd())
        return;
    value = expected_host_value("EPYC-7713-64-Core", peer_list);
    args = base_args(NULL, remote, rest);
    {
        g_autofree char *replay = qm_run_capture("EPYC-7713-64-Core");
        g_autofree char *env_replay =
            g_strdup_printf("FAKE_QEMU_REPLAY=%s", replay);
        const char *env[] = {env_replay, NULL};
        const char *expected[] = {qm_test_env("QM_FAKE_QEMU"),
                                  "-serial",
                                  "stdio",
                                  "-add-fd",
                                  "fd=5,set=1",
                                  "-cpu",
                                  value,
                                  "-machine",
                                  "pc-i440fx-7.2",
                                  "-accel",
                                  "kvm",
                                  NULL};

        record =
            exec_and_record((const char *const *)args->pdata, env, &pid, &out);
        assert_record(record, pid, expected, TRUE);
    }
    g_assert_cmpstr(out, ==, "fake-qemu: stdout belongs to QEMU\n");
}

/**
 * test_passthrough() - no --peer, or a query-only invocation: QEMU runs
 * with the arguments as given and nothing is probed
 */
static void test_passthrough(void)
{
    g_autofree char *count_dir =
        g_build_filename(qm_test_tmpdir(), "counts", NULL);
    g_autofree char *count_env =
        g_strdup_printf("FAKE_QEMU_COUNT_DIR=%s", count_dir);
    g_autofree char *extra = g_strdup_printf("--count-dir %s", count_dir);
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", extra);
    const char *env[] = {count_env, NULL};
    g_autofree char *out = NULL;
    GPid pid;

    if (!need_sshd())
        return;
    g_mkdir_with_parents(count_dir, 0700);
    {
        const char *args[] = {"--qemu", qm_test_env("QM_FAKE_QEMU"),
                              "-vga",   "std",
                              "-cpu",   "host",
                              "\xff",   NULL};
        const char *expected[] = {qm_test_env("QM_FAKE_QEMU"),
                                  "-vga",
                                  "std",
                                  "-cpu",
                                  "host",
                                  "\xff",
                                  NULL};
        g_autoptr(JsonNode) record = exec_and_record(args, env, &pid, &out);

        assert_record(record, pid, expected, TRUE);
    }
    g_clear_pointer(&out, g_free);
    {
        const char *rest[] = {"--peer", peers[0]->alias, "--",
                              "-cpu",   "help",          NULL};
        g_autoptr(GPtrArray) args = base_args(NULL, remote, rest);
        const char *expected[] = {qm_test_env("QM_FAKE_QEMU"), "-cpu", "help",
                                  NULL};
        g_autoptr(JsonNode) record =
            exec_and_record((const char *const *)args->pdata, env, &pid, &out);

        /* a query starts no guest: nothing registered */
        assert_record(record, pid, expected, FALSE);
    }
    g_assert_cmpuint(qm_run_count_files(count_dir), ==, 0);

    /* control: a real launch does probe, once locally and once remotely */
    {
        const char *rest[] = {
            "--dry-run", "--peer", peers[0]->alias, "--", "-cpu", "host", NULL};
        g_autoptr(GPtrArray) args = base_args(NULL, remote, rest);
        g_autoptr(QmRun) run =
            run_qm("EPYC-7713-64-Core", env, (const char *const *)args->pdata);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_cmpuint(qm_run_count_files(count_dir), ==, 2);
    }
}

/**
 * word_after() - the value of the last @opt in a command
 * @words: argv
 * @opt:   option, e.g. "-cpu"
 *
 * Return: the value (borrowed), or NULL
 */
static const char *word_after(GPtrArray *words, const char *opt)
{
    const char *found = NULL;

    for (guint i = 0; i + 1 < words->len; i++) {
        if (g_strcmp0(g_ptr_array_index(words, i), opt) == 0)
            found = g_ptr_array_index(words, i + 1);
    }
    return found;
}

/**
 * test_config_hosts() - one `--peer @lab` across hosts whose QEMU lives
 * in different places ([host NAME] remote-qemu): each is asked with its
 * own command (each plays its own CPU through it), the decision is the
 * one for both CPUs, and explain says the group; no option but the config
 */
static void test_config_hosts(void)
{
    g_autofree char *remote_a = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *remote_b = remote_cmd("Ryzen-9-9950X-16-Core", "");
    g_autofree char *file =
        g_build_filename(qm_test_tmpdir(), "lab.conf", NULL);
    g_autofree char *text = NULL;
    const char *peer_cpus[] = {"EPYC-7502-32-Core", "Ryzen-9-9950X-16-Core",
                               NULL};
    g_autofree char *expected = NULL;

    if (!need_sshd())
        return;
    text = g_strdup_printf("# two hosts, two QEMU commands\n"
                           "[defaults]\n"
                           "timeout=%u\n"
                           "ssh-config=%s\n"
                           "qemu=%s\n"
                           "[host %s]\n"
                           "remote-qemu=%s\n"
                           "[host %s]\n"
                           "remote-qemu=%s\n"
                           "[group lab]\n"
                           "hosts=%s;%s\n",
                           10 * qm_test_slow(), ssh_config,
                           qm_test_env("QM_FAKE_QEMU"), peers[0]->alias,
                           remote_a, peers[1]->alias, remote_b, peers[0]->alias,
                           peers[1]->alias);
    g_assert_true(g_file_set_contents(file, text, -1, NULL));
    g_assert_cmpint(chmod(file, 0600), ==, 0);
    expected = expected_host_value("EPYC-7713-64-Core", peer_cpus);
    {
        const char *args[] = {"--config", file,   "--dry-run", "--peer", "@lab",
                              "--",       "-cpu", "host",      NULL};
        g_autoptr(QmRun) run = run_qm("EPYC-7713-64-Core", NULL, args);
        g_autoptr(GPtrArray) words = dry_run_words(run);

        g_assert_cmpstr(word_after(words, "-cpu"), ==, expected);
    }
    {
        const char *args[] = {"explain", "--config", file,   "--peer", "@lab",
                              "--",      "-cpu",     "host", NULL};
        g_autoptr(QmRun) run = run_qm("EPYC-7713-64-Core", NULL, args);
        g_autofree char *a = g_strdup_printf("%s ", peers[0]->alias);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_nonnull(strstr(run->out, "from @lab"));
        g_assert_nonnull(
            strstr(strstr(run->out, "from @lab") + 1, "from @lab"));
        g_assert_nonnull(strstr(run->out, a));
    }
    {
        /* --remote-qemu on the command line wins over the hosts' own */
        const char *args[] = {
            "--config", file, "--dry-run", "--remote-qemu", remote_a, "--peer",
            "@lab",     "--", "-cpu",      "host",          NULL};
        const char *same[] = {"EPYC-7502-32-Core", NULL};
        g_autoptr(QmRun) run = run_qm("EPYC-7713-64-Core", NULL, args);
        g_autoptr(GPtrArray) words = dry_run_words(run);
        g_autofree char *want = expected_host_value("EPYC-7713-64-Core", same);

        g_assert_cmpstr(word_after(words, "-cpu"), ==, want);
    }
    {
        /* a broken config: one line naming file and line, nothing run */
        g_autofree char *bad =
            g_build_filename(qm_test_tmpdir(), "bad.conf", NULL);
        const char *args[] = {"--config", bad, "--", "-cpu", "host", NULL};
        g_autoptr(QmRun) run = NULL;
        g_autofree char *at = g_strdup_printf("%s:3:", bad);

        g_assert_true(g_file_set_contents(
            bad, "[defaults]\ntimeout=5\nremote_qemu=x\n", -1, NULL));
        g_assert_cmpint(chmod(bad, 0600), ==, 0);
        run = run_qm("EPYC-7713-64-Core", NULL, args);
        assert_one_line_error(run, 2, at);
        g_assert_nonnull(strstr(run->err, "remote_qemu"));
    }
}

/**
 * maps() - did qemu-mig ask the dynamic loader for a library?
 * @ld_debug: stderr of a run with LD_DEBUG=files
 * @lib:      library name prefix, e.g. "libssh"
 *
 * The loader says "file=LIB [0];  needed by PROGRAM [0]" for each library
 * it maps and who asked: only what qemu-mig asks for counts (the fake
 * QEMU exec'd after it maps json-glib and GIO for itself).
 *
 * Return: TRUE if qemu-mig did
 */
static gboolean maps(const char *ld_debug, const char *lib)
{
    g_autofree char *by =
        g_strdup_printf("needed by %s [", qm_test_env("QM_BINARY"));
    g_autofree char *file = g_strconcat("file=", lib, NULL);
    g_auto(GStrv) lines = g_strsplit(ld_debug, "\n", -1);

    for (char **l = lines; *l != NULL; l++) {
        if (strstr(*l, by) != NULL && strstr(*l, file) != NULL)
            return TRUE;
    }
    return FALSE;
}

/**
 * assert_maps_only_glib() - did qemu-mig map nothing of the probing side?
 * @ld_debug: stderr of a run with LD_DEBUG=files
 */
static void assert_maps_only_glib(const char *ld_debug)
{
    static const char *const probing[] = {"libssh", "libcrypto", "libcpuid",
                                          "libjson-glib", "libgio"};

    /* libglib itself: LD_DEBUG did speak */
    g_assert_true(maps(ld_debug, "libglib"));
    for (gsize i = 0; i < G_N_ELEMENTS(probing); i++)
        if (maps(ld_debug, probing[i]))
            g_error("the warm launch mapped %s", probing[i]);
}

/**
 * Launched - what one launch in test_recall() did
 * @cpu:     the -cpu value the fake QEMU was exec'd with
 * @decided: qemu-mig mapped libssh: it read profiles and decided, rather
 *           than start the remembered decision (LD_DEBUG=files)
 */
typedef struct {
    char *cpu;
    gboolean decided;
} Launched;

/**
 * launch() - one real launch of the fake QEMU, -cpu host, peers from the
 *            config or the environment
 * @file:      config file
 * @cache:     cache directory
 * @peers_env: QEMU_MIG_PEERS, or NULL
 *
 * Return: what it did (cpu to be freed)
 */
static Launched launch(const char *file, const char *cache,
                       const char *peers_env)
{
    g_autofree char *record =
        g_build_filename(qm_test_tmpdir(), "recall-record.json", NULL);
    g_autofree char *cache_env =
        g_strconcat("QEMU_MIG_CACHE_DIR=", cache, NULL);
    g_autofree char *record_env =
        g_strconcat("FAKE_QEMU_RECORD=", record, NULL);
    g_autofree char *peers_var =
        g_strconcat("QEMU_MIG_PEERS=", peers_env, NULL);
    const char *env[] = {cache_env, record_env, "LD_DEBUG=files",
                         peers_env ? peers_var : NULL, NULL};
    const char *args[] = {"--config", file, "--", "-cpu", "host", NULL};
    g_autoptr(QmRun) run = run_qm("EPYC-7713-64-Core", env, args);
    g_autoptr(JsonNode) rec = NULL;
    g_autoptr(GPtrArray) argv = NULL;
    Launched out = {0};

    g_assert_cmpint(run->status, ==, 0);
    rec = qm_run_read_json(record);
    argv = qm_run_record_argv(rec);
    g_free(qm_run_take_registration(argv));
    out.cpu = g_strdup(word_after(argv, "-cpu"));
    out.decided = maps(run->err, "libssh");
    g_unlink(record);
    return out;
}

/**
 * test_recall() - the same launch again is started from the remembered
 * decision (qemu-mig does not even map libssh) with the same -cpu; the
 * config file naming another peer, QEMU_MIG_PEERS, or `cache clear` each
 * make it decide afresh, for the hosts now named, and remember that
 */
static void test_recall(void)
{
    g_autofree char *remote_a = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *remote_b = remote_cmd("Ryzen-9-9950X-16-Core", "");
    g_autofree char *file =
        g_build_filename(qm_test_tmpdir(), "recall.conf", NULL);
    g_autofree char *cache =
        g_build_filename(qm_test_tmpdir(), "recall-cache", NULL);
    const char *cpus_a[] = {"EPYC-7502-32-Core", NULL};
    const char *cpus_b[] = {"Ryzen-9-9950X-16-Core", NULL};
    /* valgrind runs qemu-mig-core, which maps libssh whatever it does */
    gboolean launcher = g_getenv("QM_TEST_VALGRIND") == NULL;
    g_autofree char *want_a = NULL, *want_b = NULL, *text = NULL;
    g_autoptr(GString) other = NULL;
    struct {
        const char *what;
        const char *peers_env;
        gboolean rewrite, clear, decided;
        const char **want;
    } steps[] = {
        {"first launch", NULL, FALSE, FALSE, TRUE, (const char **)&want_a},
        {"the same again", NULL, FALSE, FALSE, FALSE, (const char **)&want_a},
        {"the config names peer 1", NULL, TRUE, FALSE, TRUE,
         (const char **)&want_b},
        {"the same again", NULL, FALSE, FALSE, FALSE, (const char **)&want_b},
        {"QEMU_MIG_PEERS names peer 0", peers[0]->alias, FALSE, FALSE, TRUE,
         (const char **)&want_a},
        {"the same again", peers[0]->alias, FALSE, FALSE, FALSE,
         (const char **)&want_a},
        {"after cache clear", peers[0]->alias, FALSE, TRUE, TRUE,
         (const char **)&want_a},
        {"the same again", peers[0]->alias, FALSE, FALSE, FALSE,
         (const char **)&want_a},
    };

    if (!need_sshd())
        return;
    want_a = expected_host_value("EPYC-7713-64-Core", cpus_a);
    want_b = expected_host_value("EPYC-7713-64-Core", cpus_b);
    text = g_strdup_printf(
        "[defaults]\n"
        "timeout=%u\n"
        "ssh-config=%s\n"
        "qemu=%s\n"
        "peers=%s\n"
        "[host %s]\n"
        "remote-qemu=%s\n"
        "[host %s]\n"
        "remote-qemu=%s\n",
        10 * qm_test_slow(), ssh_config, qm_test_env("QM_FAKE_QEMU"),
        peers[0]->alias, peers[0]->alias, remote_a, peers[1]->alias, remote_b);
    g_assert_true(g_file_set_contents(file, text, -1, NULL));
    g_assert_cmpint(chmod(file, 0600), ==, 0);
    other = g_string_new(text);
    {
        g_autofree char *line0 = g_strdup_printf("peers=%s\n", peers[0]->alias);
        g_autofree char *line1 = g_strdup_printf("peers=%s\n", peers[1]->alias);

        g_assert_cmpuint(g_string_replace(other, line0, line1, 1), ==, 1);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
        Launched l;

        g_test_message("step %zu: %s", i, steps[i].what);
        if (steps[i].rewrite) {
            g_assert_true(g_file_set_contents(file, other->str, -1, NULL));
            g_assert_cmpint(chmod(file, 0600), ==, 0);
        }
        if (steps[i].clear) {
            const char *clear[] = {"cache", "clear", "--cache-dir", cache,
                                   NULL};
            g_autoptr(QmRun) cleared = run_qm(NULL, NULL, clear);

            g_assert_cmpint(cleared->status, ==, 0);
        }
        l = launch(file, cache, steps[i].peers_env);
        g_assert_cmpstr(l.cpu, ==, *steps[i].want);
        if (launcher)
            g_assert_cmpint(l.decided, ==, steps[i].decided);
        g_free(l.cpu);
    }
}

/**
 * test_warm_launcher() - a launch remembered from last time is started
 * by the launcher alone: the same QEMU command line (registration
 * included), and none of the probing side's libraries loaded, where the
 * first launch, deciding, loaded libssh (the dynamic loader says which
 * files it maps, LD_DEBUG=files)
 */
static void test_warm_launcher(void)
{
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *cache =
        g_build_filename(qm_test_tmpdir(), "launcher-cache", NULL);
    g_autofree char *record =
        g_build_filename(qm_test_tmpdir(), "launcher-record.json", NULL);
    g_autofree char *cache_env =
        g_strconcat("QEMU_MIG_CACHE_DIR=", cache, NULL);
    g_autofree char *record_env =
        g_strconcat("FAKE_QEMU_RECORD=", record, NULL);
    g_autofree char *timeout = g_strdup_printf("%u", 10 * qm_test_slow());
    const char *env[] = {cache_env, record_env, "LD_DEBUG=files", NULL};
    const char *peer_cpus[] = {"EPYC-7502-32-Core", NULL};
    g_autofree char *expected = NULL;
    g_autofree char *first_cpu = NULL;

    if (g_getenv("QM_TEST_VALGRIND") != NULL) {
        /* valgrind runs qemu-mig-core itself (.ci/valgrind-wrap) */
        g_test_skip("the launcher is not what valgrind runs");
        return;
    }
    if (!need_sshd())
        return;
    expected = expected_host_value("EPYC-7713-64-Core", peer_cpus);
    for (int round = 0; round < 2; round++) {
        const char *args[] = {"--qemu",
                              qm_test_env("QM_FAKE_QEMU"),
                              "--timeout",
                              timeout,
                              "--ssh-config",
                              ssh_config,
                              "--remote-qemu",
                              remote,
                              "--peer",
                              peers[0]->alias,
                              "--",
                              "-cpu",
                              "host",
                              "-m",
                              "64",
                              NULL};
        g_autoptr(QmRun) run = run_qm("EPYC-7713-64-Core", env, args);
        g_autoptr(JsonNode) rec = NULL;
        g_autoptr(GPtrArray) argv = NULL;
        g_autofree char *qmp = NULL;

        g_assert_cmpint(run->status, ==, 0);
        rec = qm_run_read_json(record);
        argv = qm_run_record_argv(rec);
        qmp = qm_run_take_registration(argv);
        g_assert_nonnull(qmp);
        g_assert_cmpstr(word_after(argv, "-cpu"), ==, expected);
        g_assert_cmpstr(word_after(argv, "-m"), ==, "64");
        /* the first decided (and loaded libssh to probe); the second
         * did not even map it */
        if (round == 0)
            g_assert_true(maps(run->err, "libssh"));
        else
            assert_maps_only_glib(run->err);
        g_unlink(record);
    }
}

/**
 * run_dropin() - run a shell line whose `qemu-system-x86_64` is qemu-mig
 *                (first in PATH), the fake QEMU coming later in PATH
 * @line:  shell command
 * @peers_env: QEMU_MIG_PEERS, or NULL to leave it unset
 * @config: config file text for $XDG_CONFIG_HOME/qemu-mig/config
 * @real:  where to store the path of the "real" QEMU
 *
 * Return: the fake QEMU's record of how it was exec'd
 */
static JsonNode *run_dropin(const char *line, const char *peers_env,
                            const char *config, char **real)
{
    static int n;
    g_autofree char *root =
        g_strdup_printf("%s/dropin-%d", qm_test_tmpdir(), n++);
    g_autofree char *bin = g_build_filename(root, "local-bin", NULL);
    g_autofree char *usr = g_build_filename(root, "usr-bin", NULL);
    g_autofree char *xdg = g_build_filename(root, "xdg", NULL);
    g_autofree char *confdir = g_build_filename(xdg, "qemu-mig", NULL);
    g_autofree char *conf = g_build_filename(confdir, "config", NULL);
    g_autofree char *mine = g_build_filename(bin, "qemu-system-x86_64", NULL);
    g_autofree char *record = g_build_filename(root, "record.json", NULL);
    g_autofree char *path = NULL;
    g_autofree char *replay = qm_run_capture("EPYC-7713-64-Core");
    g_autofree char *out = NULL, *err = NULL;
    g_auto(GStrv) envp = g_get_environ();
    g_autoptr(GError) error = NULL;
    const char *argv[] = {"/bin/sh", "-c", line, NULL};
    int status = 0;

    *real = g_build_filename(usr, "qemu-system-x86_64", NULL);
    g_assert_cmpint(g_mkdir_with_parents(bin, 0755), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(usr, 0755), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(confdir, 0700), ==, 0);
    g_assert_cmpint(symlink(qm_test_env("QM_BINARY"), mine), ==, 0);
    g_assert_cmpint(symlink(qm_test_env("QM_FAKE_QEMU"), *real), ==, 0);
    g_assert_true(g_file_set_contents(conf, config, -1, NULL));
    g_assert_cmpint(chmod(conf, 0600), ==, 0);
    path = g_strdup_printf("%s:%s:%s", bin, usr, g_getenv("PATH"));
    envp = g_environ_setenv(envp, "PATH", path, TRUE);
    envp = g_environ_setenv(envp, "XDG_CONFIG_HOME", xdg, TRUE);
    envp = g_environ_setenv(envp, "FAKE_QEMU_RECORD", record, TRUE);
    envp = g_environ_setenv(envp, "FAKE_QEMU_REPLAY", replay, TRUE);
    envp = fresh_cache(envp);
    envp = peers_env ? g_environ_setenv(envp, "QEMU_MIG_PEERS", peers_env, TRUE)
                     : g_environ_unsetenv(envp, "QEMU_MIG_PEERS");
    g_assert_true(g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL,
                               NULL, &out, &err, &status, &error));
    g_assert_no_error(error);
    g_test_message("drop-in: %s; stderr: %s", line, err);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return qm_run_read_json(record);
}

/**
 * test_dropin() - a script that calls qemu-system-x86_64 unchanged, with
 * qemu-mig installed under that name ahead of QEMU in PATH: with
 * QEMU_MIG_PEERS its CPU is decided for the peers and the real QEMU (not
 * qemu-mig again) is exec'd; a query (-cpu help) and a run without peers
 * reach QEMU exactly as written
 */
static void test_dropin(void)
{
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", "");
    const char *peer_cpus[] = {"EPYC-7502-32-Core", NULL};
    g_autofree char *config = NULL;
    g_autofree char *expected = NULL;

    if (g_getenv("QM_TEST_VALGRIND") != NULL) {
        /* under valgrind QM_BINARY is .ci/valgrind-wrap, a script: the
         * drop-in first in PATH is then not qemu-mig's own file, so it
         * cannot skip itself and finds the script as "the real QEMU"
         * (each probe re-runs the wrapper until --timeout); the plain and
         * ASan passes run this case with the real binary */
        g_test_skip("drop-in under valgrind: PATH's first "
                    "qemu-system-x86_64 is the valgrind script");
        return;
    }
    if (!need_sshd())
        return;
    /* the built-in --timeout is too short for a probe under valgrind */
    config = g_strdup_printf(
        "[defaults]\ntimeout=%u\nssh-config=%s\nremote-qemu=%s\n",
        10 * qm_test_slow(), ssh_config, remote);
    expected = expected_host_value("EPYC-7713-64-Core", peer_cpus);
    {
        g_autofree char *real = NULL;
        g_autoptr(JsonNode) record =
            run_dropin("qemu-system-x86_64 -serial stdio -cpu host",
                       peers[0]->alias, config, &real);
        g_autoptr(GPtrArray) argv = qm_run_record_argv(record);

        /* the guest is registered: its monitor comes last */
        g_free(qm_run_take_registration(argv));
        g_assert_cmpstr(g_ptr_array_index(argv, 0), ==, real);
        g_assert_cmpstr(g_ptr_array_index(argv, 1), ==, "-serial");
        g_assert_cmpstr(word_after(argv, "-cpu"), ==, expected);
    }
    {
        g_autofree char *real = NULL;
        g_autoptr(JsonNode) record = run_dropin("qemu-system-x86_64 -cpu help",
                                                peers[0]->alias, config, &real);
        g_autoptr(GPtrArray) argv = qm_run_record_argv(record);

        g_assert_cmpuint(argv->len, ==, 3);
        g_assert_cmpstr(g_ptr_array_index(argv, 0), ==, real);
        g_assert_cmpstr(g_ptr_array_index(argv, 1), ==, "-cpu");
        g_assert_cmpstr(g_ptr_array_index(argv, 2), ==, "help");
    }
    {
        /* no peers anywhere: QEMU, unchanged, unregistered */
        g_autofree char *real = NULL;
        g_autoptr(JsonNode) record = run_dropin(
            "qemu-system-x86_64 -cpu host --peer x", NULL, config, &real);
        g_autoptr(GPtrArray) argv = qm_run_record_argv(record);

        g_assert_cmpuint(argv->len, ==, 5);
        g_assert_cmpstr(g_ptr_array_index(argv, 0), ==, real);
        g_assert_cmpstr(g_ptr_array_index(argv, 2), ==, "host");
        g_assert_cmpstr(g_ptr_array_index(argv, 3), ==, "--peer");
    }
}

/**
 * test_probe_progress() - a peer that takes seconds to answer: on a
 * terminal, a line rewritten in place says how many hosts are done and
 * which are awaited, and is erased before the result; nothing of it on a
 * pipe, or with -q
 */
static void test_probe_progress(void)
{
    g_autofree char *fake = remote_cmd("EPYC-7502-32-Core", "");
    g_autofree char *remote =
        g_build_filename(qm_test_tmpdir(), "slow-qemu", NULL);
    g_autofree char *script =
        g_strdup_printf("#!/bin/sh\nsleep 3\nexec %s \"$@\"\n", fake);
    const char *rest[] = {"--dry-run", "--no-cache", "--peer", peers[0]->alias,
                          "--",        "-cpu",       "host",   NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *replay = qm_run_capture("EPYC-7713-64-Core");
    g_auto(GStrv) envp = g_get_environ();

    if (!need_sshd())
        return;
    g_assert_true(g_file_set_contents(remote, script, -1, NULL));
    g_assert_cmpint(chmod(remote, 0755), ==, 0);
    args = base_args(NULL, remote, rest);
    envp = fresh_cache(envp);
    envp = g_environ_setenv(envp, "FAKE_QEMU_REPLAY", replay, TRUE);
    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (guint i = 0; g_ptr_array_index(args, i) != NULL; i++)
        g_ptr_array_add(argv, g_ptr_array_index(args, i));
    g_ptr_array_add(argv, NULL);
    {
        g_autofree char *tty = NULL;
        g_autofree char *alias = g_regex_escape_string(peers[0]->alias, -1);
        /* how many seconds have passed depends on how fast the local
         * probe is (seconds under valgrind): not asserted */
        g_autofree char *want = g_strdup_printf(
            "\r\033\\[Kqemu-mig: 1/2 hosts done after [0-9]+ s; "
            "waiting for %s\r",
            alias);
        int status = qm_test_run_tty(
            (const char *const *)argv->pdata, (const char *const *)envp,
            g_get_monotonic_time() + 60 * G_USEC_PER_SEC * qm_test_slow(),
            &tty);
        g_autofree char *shown = g_strescape(tty, NULL);

        g_test_message("terminal: %s", shown);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_assert_true(g_regex_match_simple(want, tty, 0, 0));
        /* erased at the end: nothing follows the last erase */
        g_assert_true(g_str_has_suffix(tty, "\r\033[K"));
    }
    {
        /* -q: not even on a terminal */
        g_autofree char *tty = NULL;
        int status;

        g_ptr_array_insert(argv, 1, "-q");
        status = qm_test_run_tty(
            (const char *const *)argv->pdata, (const char *const *)envp,
            g_get_monotonic_time() + 60 * G_USEC_PER_SEC * qm_test_slow(),
            &tty);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_assert_null(strstr(tty, "hosts done"));
    }
    {
        /* not a terminal: stderr stays quiet */
        g_autoptr(QmRun) run =
            run_qm("EPYC-7713-64-Core", NULL, (const char *const *)args->pdata);

        g_assert_cmpint(run->status, ==, 0);
        g_assert_null(strstr(run->err, "hosts done"));
        g_assert_cmpfloat(run->seconds, >=, 3.0);
    }
}

/**
 * test_guest_refusals() - a command line whose CPU qemu-mig cannot vouch
 * for (another accelerator, CPU properties outside -cpu, a -readconfig
 * file, the host's power management) is refused with one line naming the
 * option, before anything is probed, and nothing is launched
 */
static void test_guest_refusals(void)
{
    static const struct {
        const char *option;
        const char *value;
        int status;
    } cases[] = {
        {"-accel", "tcg", 2},
        {"-global", "host-x86_64-cpu.pmu=on", 2},
        {"-device", "host-x86_64-cpu,socket-id=1", 2},
        {"-readconfig", "/etc/qemu-mig-test.cfg", 2},
        {"-overcommit", "cpu-pm=on", 7},
    };
    g_autofree char *count_dir =
        g_build_filename(qm_test_tmpdir(), "counts-refusals", NULL);
    g_autofree char *count_env =
        g_strdup_printf("FAKE_QEMU_COUNT_DIR=%s", count_dir);
    g_autofree char *extra = g_strdup_printf("--count-dir %s", count_dir);
    g_autofree char *remote = remote_cmd("EPYC-7502-32-Core", extra);
    const char *env[] = {count_env, NULL};

    if (!need_sshd())
        return;
    g_mkdir_with_parents(count_dir, 0700);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *rest[] = {
            "--peer",       peers[0]->alias, "--",   cases[i].option,
            cases[i].value, "-cpu",          "host", NULL};
        g_autoptr(GPtrArray) args = base_args(NULL, remote, rest);
        g_autoptr(QmRun) run =
            run_qm("EPYC-7713-64-Core", env, (const char *const *)args->pdata);

        assert_one_line_error(run, cases[i].status, cases[i].value);
    }
    g_assert_cmpuint(qm_run_count_files(count_dir), ==, 0);
}

/**
 * test_probe_json() - probe --json reports every host's profile
 */
static void test_probe_json(void)
{
    g_autofree char *remote = remote_cmd("Xeon-Gold-6130", "");
    const char *rest[] = {"--json", peers[0]->alias, NULL};
    g_autoptr(GPtrArray) args = NULL;
    g_autoptr(QmRun) run = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *host;

    if (!need_sshd())
        return;
    args = base_args("probe", remote, rest);
    run = run_qm(NULL, NULL, (const char *const *)args->pdata);
    g_assert_cmpint(run->status, ==, 0);
    g_assert_true(json_parser_load_from_data(parser, run->out, -1, NULL));
    host = json_array_get_object_element(
        json_object_get_array_member(
            json_node_get_object(json_parser_get_root(parser)), "hosts"),
        0);
    g_assert_cmpstr(json_object_get_string_member(host, "name"), ==,
                    peers[0]->alias);
    g_assert_cmpstr(json_object_get_string_member(host, "vendor"), ==,
                    "GenuineIntel");
    g_assert_cmpint(json_object_get_int_member(host, "model"), ==, 85);
    g_assert_cmpstr(json_object_get_string_member(host, "probe-method"), ==,
                    "ssh-qmp");
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
    if (qm_test_sshd_available(&skip_reason)) {
        ssh_config = qm_test_sshd_start_peers(peers, PEERS);
    }

    g_test_add_func("/e2e/dry-run-every-capture", test_dry_run_every_capture);
    g_test_add_func("/e2e/several-peers", test_several_peers);
    g_test_add_func("/e2e/hostkey-unknown", test_hostkey_unknown);
    g_test_add_func("/e2e/hostkey-changed", test_hostkey_changed);
    g_test_add_func("/e2e/unreachable", test_unreachable);
    g_test_add_func("/e2e/hanging-peer", test_hanging_peer);
    g_test_add_func("/e2e/bad-peer-qemu", test_bad_peer_qemu);
    g_test_add_func("/e2e/local-refusals", test_local_refusals);
    g_test_add_func("/e2e/exec", test_exec);
    g_test_add_func("/e2e/passthrough", test_passthrough);
    g_test_add_func("/e2e/probe-json", test_probe_json);
    g_test_add_func("/e2e/guest-refusals", test_guest_refusals);
    g_test_add_func("/e2e/config-hosts", test_config_hosts);
    g_test_add_func("/e2e/recall", test_recall);
    g_test_add_func("/e2e/warm-launcher", test_warm_launcher);
    g_test_add_func("/e2e/dropin", test_dropin);
    g_test_add_func("/e2e/probe-progress", test_probe_progress);
    ret = g_test_run();

    for (int i = 0; i < PEERS; i++)
        g_clear_pointer(&peers[i], qm_test_sshd_stop);
    return ret;
}
