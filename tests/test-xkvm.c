/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig xkvm tests: real live migrations under KVM between the two real
 * QEMUs, 7.2 (qemu-system-x86_64 on PATH) and 10.0 ($QM_QEMU_SECOND), with
 * the CPU and machine type qemu-mig decided, and every vCPU property
 * compared before and after (qm_vcpu_compare(), the comparison qemu-mig
 * itself uses).
 *
 * Peer B is a loopback sshd whose --remote-qemu is the other real QEMU: a
 * real host with a different QEMU.  The guest is started by qemu-mig on
 * one QEMU; the destination runs what `qemu-mig --dry-run --for B`
 * prints, on the other.  Negative controls show what happens without
 * qemu-mig: an unversioned machine type does not migrate, and with the
 * machine pinned, plain -cpu host migrates while the vCPU changes.  And a
 * peer whose cached profile claims a feature its QEMU cannot give gets a
 * command that QEMU refuses to start.
 *
 * Skipped, with the reason, where /dev/kvm, either QEMU or sshd is
 * unusable.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cache/entry.h"
#include "kvmutil.h"
#include "migutil.h"
#include "sshd.h"
#include "testutil.h"
#include "wrapper/feature.h"
#include "wrapper/vcpu.h"

#define START_TIMEOUT_US   (60 * G_USEC_PER_SEC)
#define QMP_TIMEOUT_US     (30 * G_USEC_PER_SEC)
#define MIGRATE_TIMEOUT_US (120 * G_USEC_PER_SEC)
#define EXIT_TIMEOUT_US    (20 * G_USEC_PER_SEC)

/* Peer B's ssh_config alias */
#define PEER "B"

/**
 * Qemu - one of the two real QEMUs
 * @label:   "7.2" or "10.0"
 * @path:    the binary (10.0: contrib/fetch-qemu's wrapper)
 * @version: its version
 */
typedef struct {
    const char *label;
    char *path;
    char *version;
} Qemu;

static Qemu qemu_old = {.label = "7.2"};
static Qemu qemu_new = {.label = "10.0"};
static char *skip_reason;
/* "host", or "host,arch-capabilities=off" where QEMU cannot start plain
 * -cpu host here ("failed to set MSR 0x10a" on nested AMD) */
static const char *cpu_host = "host";

/**
 * guest_starts() - can a QEMU start a KVM guest with this -cpu value?
 * @q:   QEMU
 * @cpu: -cpu value
 * @out: where to store QEMU's output when it cannot
 *
 * Return: TRUE when the guest came up
 */
static gboolean guest_starts(const Qemu *q, const char *cpu, char **out)
{
    g_autoptr(GPtrArray) args = qm_mig_test_guest_args("q35", "kvm", cpu);
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMigTestVm) vm = qm_mig_test_vm_start(
        q->label, q->path, (const char *const *)args->pdata,
        g_get_monotonic_time() + START_TIMEOUT_US, &error);

    if (vm == NULL) {
        *out = g_strdup(error->message);
        return FALSE;
    }
    qm_mig_test_vm_stop(vm);
    return TRUE;
}

/**
 * setup() - find both QEMUs and KVM, or say why not
 */
static void setup(void)
{
    g_autofree char *out = NULL;
    const char *second = g_getenv("QM_QEMU_SECOND");
    int fd;

    qemu_old.path = g_find_program_in_path("qemu-system-x86_64");
    qemu_new.path = g_strdup(second);
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        skip_reason = g_strdup_printf("/dev/kvm: %s", g_strerror(errno));
        return;
    }
    close(fd);
    if (qemu_old.path == NULL) {
        skip_reason = g_strdup("no qemu-system-x86_64 in PATH");
        return;
    }
    if (qemu_new.path == NULL ||
        !qm_mig_test_qemu_usable(qemu_new.path, &qemu_new.version,
                                 &skip_reason)) {
        if (skip_reason == NULL)
            skip_reason = g_strdup("QM_QEMU_SECOND is not set (run "
                                   "contrib/fetch-qemu)");
        return;
    }
    if (!qm_mig_test_qemu_usable(qemu_old.path, &qemu_old.version,
                                 &skip_reason))
        return;
    for (int i = 0; i < 2; i++) {
        const Qemu *q = i ? &qemu_new : &qemu_old;

        g_clear_pointer(&out, g_free);
        if (guest_starts(q, cpu_host, &out))
            continue;
        if (strstr(out, "MSR 0x10a") == NULL) {
            skip_reason = g_strdup_printf("QEMU %s cannot start a KVM guest "
                                          "here: %s",
                                          q->version, out);
            return;
        }
        /* the quirk: every guest of both QEMUs gets the same workaround */
        g_test_message("QEMU %s quirk: guests use arch-capabilities=off",
                       q->version);
        cpu_host = "host,arch-capabilities=off";
        g_clear_pointer(&out, g_free);
        if (!guest_starts(q, cpu_host, &out)) {
            skip_reason = g_strdup_printf("QEMU %s cannot start a KVM guest "
                                          "here: %s",
                                          q->version, out);
            return;
        }
    }
}

/**
 * usable() - skip the current test unless everything is there
 *
 * Return: TRUE when the test may go on
 */
static gboolean usable(void)
{
    g_autofree char *reason = NULL;

    if (skip_reason != NULL) {
        /* one TAP line: QEMU's output may hold several */
        g_strdelimit(skip_reason, "\r\n", ' ');
        g_test_skip(skip_reason);
        return FALSE;
    }
    if (!qm_test_sshd_available(&reason)) {
        g_test_skip(reason);
        return FALSE;
    }
    return TRUE;
}

/**
 * guest() - the QEMU arguments of the test guest
 * @machine: -machine value
 * @cpu:     -cpu value
 *
 * Return: new NULL-terminated vector (strings static)
 */
static GPtrArray *guest(const char *machine, const char *cpu)
{
    GPtrArray *args = g_ptr_array_new();
    const char *words[] = {"-machine", machine, "-accel",      "kvm",  "-m",
                           "128",      "-smp",  "1",           "-cpu", cpu,
                           "-display", "none",  "-nodefaults", NULL};

    for (gsize i = 0; words[i] != NULL; i++)
        g_ptr_array_add(args, (char *)words[i]);
    g_ptr_array_add(args, NULL);
    return args;
}

/**
 * qm_argv() - a qemu-mig command line around the guest's arguments
 * @local:  the QEMU this host runs
 * @sshd:   peer B
 * @remote: B's --remote-qemu (shell text)
 * @extra:  qemu-mig options (NULL-terminated), or NULL
 * @qargs:  the guest's QEMU arguments
 *
 * Return: new NULL-terminated vector, qemu-mig first
 */
static GPtrArray *qm_argv(const Qemu *local, const QmTestSshd *sshd,
                          const char *remote, const char *const *extra,
                          GPtrArray *qargs)
{
    GPtrArray *argv = g_ptr_array_new();
    const char *words[] = {qm_test_env("QM_BINARY"),
                           "--qemu",
                           local->path,
                           "--peer",
                           PEER,
                           "--ssh-config",
                           sshd->ssh_config,
                           "--remote-qemu",
                           remote,
                           "--timeout",
                           "60",
                           NULL};

    for (gsize i = 0; words[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)words[i]);
    for (gsize i = 0; extra != NULL && extra[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)extra[i]);
    g_ptr_array_add(argv, "--");
    for (guint i = 0; i < qargs->len && qargs->pdata[i] != NULL; i++)
        g_ptr_array_add(argv, qargs->pdata[i]);
    g_ptr_array_add(argv, NULL);
    return argv;
}

/**
 * dry_run_for() - the command `qemu-mig --dry-run [--for B]` prints
 * @local:  the QEMU this host runs
 * @sshd:   peer B
 * @remote: B's --remote-qemu
 * @for_b:  print B's command (its first word is then @remote)
 * @dst:    the QEMU B's command is run with
 * @qargs:  the guest's QEMU arguments
 *
 * Return: new NULL-terminated vector, the QEMU binary first
 */
static GStrv dry_run_for(const Qemu *local, const QmTestSshd *sshd,
                         const char *remote, gboolean for_b, const Qemu *dst,
                         GPtrArray *qargs)
{
    const char *extra[] = {"--dry-run", for_b ? "--for" : NULL, PEER, NULL};
    g_autoptr(GPtrArray) argv = qm_argv(local, sshd, remote, extra, qargs);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) words = NULL;
    g_autoptr(GStrvBuilder) result = g_strv_builder_new();
    const char *rest = NULL;
    int status;

    status =
        qm_kvm_spawn_capture((const char *const *)argv->pdata, "", &out, &err);
    if (status != 0)
        g_test_message("qemu-mig --dry-run: exit %d: %s", status, err);
    g_assert_cmpint(status, ==, 0);
    g_assert_true(g_str_has_suffix(out, "\n"));
    out[strlen(out) - 1] = '\0';
    g_test_message("dry-run%s: %s", for_b ? " --for B" : "", out);
    if (err != NULL && *err != '\0')
        g_test_message("its stderr: %s", err);
    if (for_b) {
        g_assert_true(g_str_has_prefix(out, remote));
        rest = out + strlen(remote);
        g_strv_builder_add(result, dst->path);
    } else {
        rest = out;
    }
    g_shell_parse_argv(rest, NULL, &words, &error);
    g_assert_no_error(error);
    /* the local command starts with the local QEMU itself */
    g_strv_builder_addv(result, (const char **)words + (for_b ? 0 : 1));
    return g_strv_builder_end(result);
}

/**
 * value_of() - the last value of an option in a command
 * @argv: NULL-terminated
 * @opt:  "-cpu", "-machine"
 *
 * Return: borrowed value, or NULL
 */
static const char *value_of(char *const *argv, const char *opt)
{
    const char *v = NULL;

    for (gsize i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++) {
        if (strcmp(argv[i], opt) == 0)
            v = argv[i + 1];
    }
    return v;
}

/**
 * read_vcpu() - every property of a QEMU's vCPU
 * @vm: the QEMU
 *
 * Return: new QmVcpu
 */
static QmVcpu *read_vcpu(QmMigTestVm *vm)
{
    g_autoptr(GError) error = NULL;
    QmVcpu *vcpu = NULL;

    g_assert_true(qm_vcpu_read(vm->mon, g_get_monotonic_time() + QMP_TIMEOUT_US,
                               &vcpu, &error));
    g_assert_no_error(error);
    return vcpu;
}

/**
 * report() - log a comparison in full
 * @what: which comparison
 * @c:    the comparison
 */
static void report(const char *what, const QmVcpuComparison *c)
{
    g_autofree char *text = qm_vcpu_comparison_describe(c, "A", "B");

    g_test_message("%s: %u properties compared\n%s", what, c->compared, text);
    for (guint i = 0; i < c->skipped->len; i++)
        g_test_message("  skipped %s",
                       (char *)g_ptr_array_index(c->skipped, i));
}

/**
 * start_vm() - start a QEMU (or qemu-mig, which becomes one)
 * @name: for messages
 * @argv: command, the binary first
 *
 * Return: the running QEMU
 */
static QmMigTestVm *start_vm(const char *name, char *const *argv)
{
    g_autoptr(GError) error = NULL;
    QmMigTestVm *vm =
        qm_mig_test_vm_start(name, argv[0], (const char *const *)argv + 1,
                             g_get_monotonic_time() + START_TIMEOUT_US, &error);

    g_assert_no_error(error);
    return vm;
}

/**
 * migrate() - migrate A to B over loopback TCP
 * @a:      source
 * @b:      destination, started with -incoming defer
 * @result: how it ended
 */
static void migrate(QmMigTestVm *a, QmMigTestVm *b, QmMigTestResult *result)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *uri = NULL;

    g_assert_true(qm_mig_test_incoming(
        b, g_get_monotonic_time() + QMP_TIMEOUT_US, &uri, &error));
    g_assert_no_error(error);
    g_assert_true(qm_mig_test_migrate(
        a, b, uri, g_get_monotonic_time() + MIGRATE_TIMEOUT_US, result,
        &error));
    g_assert_no_error(error);
}

/**
 * assert_same_cpu_value() - two -cpu values, each for its own QEMU, that
 *                           ask for the same CPU
 * @a: the source's value
 * @b: the value printed for the destination (--for)
 *
 * Not byte-equal across QEMU versions: "-cpu host" writes every feature
 * name its QEMU knows that is not given "=off", and a QEMU refuses names
 * it does not know; likewise guest-phys-bits exists from QEMU 9.1 (0 is
 * its "as phys-bits" value).  Every other item - each feature on, every
 * pinned value, enforce - must be in both.  The vCPUs themselves are then
 * compared property by property.
 */
static void assert_same_cpu_value(const char *a, const char *b)
{
    g_auto(GStrv) ia = g_strsplit(a, ",", -1);
    g_auto(GStrv) ib = g_strsplit(b, ",", -1);

    g_assert_cmpstr(ia[0], ==, ib[0]);
    for (int side = 0; side < 2; side++) {
        char **mine = side == 0 ? ia : ib;
        char **other = side == 0 ? ib : ia;

        for (char **it = mine + 1; *it != NULL; it++) {
            if (g_strv_contains((const char *const *)other, *it) ||
                g_str_has_suffix(*it, "=off") ||
                strcmp(*it, "guest-phys-bits=0") == 0)
                continue;
            g_test_message("-cpu %s\nvs -cpu %s", a, b);
            g_error("\"%s\" is only in the %s's -cpu", *it,
                    side == 0 ? "source" : "destination");
        }
    }
}

/**
 * test_cross() - a guest qemu-mig starts on one QEMU migrates to the other
 *                with not one vCPU property changed
 * @data: the source QEMU (Qemu *); the destination is the other
 */
static void test_cross(gconstpointer data)
{
    const Qemu *src = data;
    const Qemu *dst = src == &qemu_old ? &qemu_new : &qemu_old;
    g_autoptr(QmTestSshd) sshd = NULL;
    g_autofree char *remote = NULL;
    g_autoptr(GPtrArray) qargs = NULL;
    g_autoptr(GPtrArray) launch = NULL;
    g_auto(GStrv) local_cmd = NULL;
    g_auto(GStrv) b_cmd = NULL;
    g_autoptr(GStrvBuilder) incoming = g_strv_builder_new();
    g_auto(GStrv) b_argv = NULL;
    g_autoptr(QmMigTestVm) a = NULL;
    g_autoptr(QmMigTestVm) b = NULL;
    g_autoptr(QmVcpu) va = NULL;
    g_autoptr(QmVcpu) vb_paused = NULL;
    g_autoptr(QmVcpu) vb = NULL;
    g_autoptr(QmVcpuComparison) before = NULL;
    g_autoptr(QmVcpuComparison) after = NULL;
    g_auto(QmMigTestResult) result = {0};
    gboolean running = FALSE;
    g_autofree char *status = NULL;
    g_autoptr(GError) error = NULL;

    if (!usable())
        return;
    sshd = qm_test_sshd_start(PEER);
    remote = g_shell_quote(dst->path);
    qargs = guest("q35", cpu_host);

    /* A: started by qemu-mig on the source's QEMU, as a user would */
    local_cmd = dry_run_for(src, sshd, remote, FALSE, NULL, qargs);
    b_cmd = dry_run_for(src, sshd, remote, TRUE, dst, qargs);
    assert_same_cpu_value(value_of(local_cmd, "-cpu"), value_of(b_cmd, "-cpu"));
    g_assert_cmpstr(value_of(local_cmd, "-machine"), ==,
                    value_of(b_cmd, "-machine"));
    g_assert_true(g_str_has_prefix(value_of(local_cmd, "-machine"), "pc-q35-"));
    g_assert_nonnull(strstr(value_of(local_cmd, "-cpu"), ",enforce=on"));
    launch = qm_argv(src, sshd, remote, NULL, qargs);
    a = start_vm("A", (char *const *)launch->pdata);

    /* B': what --dry-run --for B prints, on the destination's QEMU */
    g_strv_builder_addv(incoming, (const char **)b_cmd);
    g_strv_builder_add_many(incoming, "-incoming", "defer", NULL);
    b_argv = g_strv_builder_end(incoming);
    b = start_vm("B", b_argv);

    /* the check qemu-mig migrate runs before a page moves */
    va = read_vcpu(a);
    vb_paused = read_vcpu(b);
    before = qm_vcpu_compare(va, vb_paused, 0);
    report("before migrating (A running, B paused)", before);
    g_assert_cmpuint(before->differences->len, ==, 0);

    migrate(a, b, &result);
    g_test_message(
        "QEMU %s -> %s: %s, total %" G_GINT64_FORMAT
        " ms, downtime %" G_GINT64_FORMAT " ms, setup %" G_GINT64_FORMAT " ms",
        src->version, dst->version, result.status, result.total_time_ms,
        result.downtime_ms, result.setup_time_ms);
    g_assert_cmpstr(result.status, ==, "completed");
    g_assert_false(result.dst_exited);
    /* A was running, so B resumes on its own */
    status = qm_mig_test_vm_status(b, g_get_monotonic_time() + QMP_TIMEOUT_US,
                                   &running, &error);
    g_assert_no_error(error);
    g_assert_true(running);
    vb = read_vcpu(b);
    after = qm_vcpu_compare(va, vb, QM_VCPU_COMPARE_TSC);
    report("after migrating", after);
    g_assert_cmpuint(after->differences->len, ==, 0);
    g_assert_cmpuint(after->compared, >, 300);
}

/**
 * start_pair() - the same guest, without qemu-mig, on 7.2 (A) and, waiting
 *                for it, on 10.0 (B)
 * @machine: -machine value
 * @a:       where to store A
 * @b:       where to store B
 */
static void start_pair(const char *machine, QmMigTestVm **a, QmMigTestVm **b)
{
    g_autoptr(GPtrArray) qargs = guest(machine, cpu_host);
    g_autoptr(GPtrArray) a_argv = g_ptr_array_new();
    g_autoptr(GPtrArray) b_argv = g_ptr_array_new();

    g_ptr_array_add(a_argv, qemu_old.path);
    g_ptr_array_add(b_argv, qemu_new.path);
    for (guint i = 0; qargs->pdata[i] != NULL; i++) {
        g_ptr_array_add(a_argv, qargs->pdata[i]);
        g_ptr_array_add(b_argv, qargs->pdata[i]);
    }
    g_ptr_array_add(b_argv, "-incoming");
    g_ptr_array_add(b_argv, "defer");
    g_ptr_array_add(a_argv, NULL);
    g_ptr_array_add(b_argv, NULL);
    *a = start_vm("A", (char *const *)a_argv->pdata);
    *b = start_vm("B", (char *const *)b_argv->pdata);
}

/**
 * test_control_machine_alias() - without qemu-mig: q35 means another
 *                                machine type on each QEMU, and the
 *                                migration fails
 */
static void test_control_machine_alias(void)
{
    g_autoptr(QmMigTestVm) a = NULL;
    g_autoptr(QmMigTestVm) b = NULL;
    g_auto(QmMigTestResult) result = {0};
    g_autofree char *status = NULL;
    gboolean running;
    g_autoptr(GError) error = NULL;

    if (!usable())
        return;
    start_pair("q35", &a, &b);
    migrate(a, b, &result);
    g_test_message("q35 on %s and %s: %s%s", qemu_old.version, qemu_new.version,
                   result.status,
                   result.dst_exited ? " (the destination refused and exited)"
                                     : "");
    g_assert_true(strcmp(result.status, "completed") != 0 || result.dst_exited);
    /* and the source is still there */
    status = qm_mig_test_vm_status(a, g_get_monotonic_time() + QMP_TIMEOUT_US,
                                   &running, &error);
    g_assert_no_error(error);
}

/**
 * test_control_plain_host() - without qemu-mig: the machine type pinned,
 *                             plain -cpu host migrates without complaint
 *                             while the vCPU changes
 */
static void test_control_plain_host(void)
{
    g_autoptr(QmMigTestVm) a = NULL;
    g_autoptr(QmMigTestVm) b = NULL;
    g_autoptr(QmVcpu) va = NULL;
    g_autoptr(QmVcpu) vb = NULL;
    g_autoptr(QmVcpuComparison) c = NULL;
    g_auto(QmMigTestResult) result = {0};

    if (!usable())
        return;
    start_pair("pc-q35-7.2", &a, &b);
    va = read_vcpu(a);
    migrate(a, b, &result);
    g_assert_cmpstr(result.status, ==, "completed");
    vb = read_vcpu(b);
    c = qm_vcpu_compare(va, vb, QM_VCPU_COMPARE_TSC);
    report("plain -cpu host, 7.2 -> 10.0", c);
    g_assert_cmpuint(c->differences->len, >, 0);
}

/**
 * absent_feature() - a plain CPUID feature the host model lacks
 * @p: the local profile
 *
 * One whose QEMU knows it, that is no setting and that has no parent in
 * QEMU's dependency table, so that only the host's lack of it can make
 * QEMU refuse it.
 *
 * Return: static name, or NULL
 */
static const char *absent_feature(const QmProfile *p)
{
    static const char *const candidates[] = {
        "avx512-fp16", "amx-tile",      "avx512-vp2intersect",
        "serialize",   "tsxldtrk",      "avx-vnni",
        "avx512-bf16", "cldemote",      "movdir64b",
        "movdiri",     "waitpkg",       "avx512vnni",
        "gfni",        "vaes",          "vpclmulqdq",
        "sha-ni",      "avx512f",       "avx2",
        "xop",         "fma4",          "tbm",
        "sse4a",       "3dnowprefetch", "pku",
    };
    g_autoptr(GHashTable) all = qm_featset_new();

    for (gsize i = 0; i < G_N_ELEMENTS(candidates); i++) {
        const char *f = candidates[i];

        g_hash_table_remove_all(all);
        qm_featset_add(all, f);
        if (qm_featset_has(p->known, f) && !qm_featset_has(p->features, f) &&
            qm_feature_parent_off(all, p->known, f) == NULL)
            return f;
    }
    return NULL;
}

/**
 * test_stale_profile_refused() - a destination whose cached profile claims
 *                                what its QEMU cannot give refuses to start
 *
 * Same QEMU on both sides (7.2): the cache for the local host and for B
 * is filled by a first run, then both entries are made to claim a feature
 * this host lacks - B lost it since it was probed.  The command for B
 * then asks for it by name under enforce, and B's QEMU refuses to start
 * rather than give the guest another CPU.  Before the edit, the same
 * command starts.
 */
static void test_stale_profile_refused(void)
{
    g_autoptr(QmTestSshd) sshd = NULL;
    g_autoptr(GPtrArray) qargs = NULL;
    g_auto(GStrv) before = NULL;
    g_auto(GStrv) after = NULL;
    g_autoptr(QmCache) cache = NULL;
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMigTestVm) ok = NULL;
    g_autoptr(QmMigTestVm) refused = NULL;
    g_autofree char *want = NULL;
    g_autofree char *local_key = NULL;
    g_autofree char *port = NULL;
    g_autofree char *remote = NULL;
    const char *feature = NULL;
    guint edited = 0;

    if (!usable())
        return;
    sshd = qm_test_sshd_start(PEER);
    qargs = guest("q35", cpu_host);
    remote = g_shell_quote(qemu_old.path);
    before = dry_run_for(&qemu_old, sshd, remote, TRUE, &qemu_old, qargs);
    ok = start_vm("B as probed", before);
    qm_mig_test_vm_stop(ok);

    cache = qm_cache_open(NULL, &error);
    g_assert_no_error(error);
    g_assert_true(qm_cache_list(cache, &entries, &error));
    g_assert_no_error(error);
    local_key = qm_cache_key_local(qemu_old.path);
    port = g_strdup_printf(":%d %s", sshd->port, remote);
    for (guint i = 0; i < entries->len; i++) {
        QmCacheEntry *e = g_ptr_array_index(entries, i);

        /* this host's and this B's, not those of the tests before */
        if (strcmp(e->key, local_key) != 0 &&
            !(g_str_has_prefix(e->key, "peer ") &&
              g_str_has_suffix(e->key, port)))
            continue;
        if (feature == NULL)
            feature = absent_feature(e->profile);
        if (feature == NULL)
            break;
        qm_featset_add(e->profile->features, feature);
        g_assert_true(
            qm_cache_store(cache, e->key, e->profile, e->fingerprint, &error));
        g_assert_no_error(error);
        edited++;
    }
    if (feature == NULL) {
        g_test_skip("this host has every candidate feature: nothing to "
                    "claim falsely");
        return;
    }
    g_assert_cmpuint(edited, ==, 2);
    g_test_message("cached profiles now claim %s", feature);

    after = dry_run_for(&qemu_old, sshd, remote, TRUE, &qemu_old, qargs);
    want = g_strdup_printf(",%s=on,", feature);
    g_assert_nonnull(strstr(value_of(after, "-cpu"), want));
    refused = qm_mig_test_vm_start(
        "B after the change", after[0], (const char *const *)after + 1,
        g_get_monotonic_time() + START_TIMEOUT_US, &error);
    g_assert_null(refused);
    g_assert_nonnull(error);
    g_test_message("B's QEMU refuses: %s", error->message);
    g_assert_nonnull(strstr(error->message, feature));
}

/**
 * main() - register and run the xkvm tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    setup();
    g_test_add_data_func("/xkvm/cross/7.2-to-10.0", &qemu_old, test_cross);
    g_test_add_data_func("/xkvm/cross/10.0-to-7.2", &qemu_new, test_cross);
    g_test_add_func("/xkvm/control/machine-alias", test_control_machine_alias);
    g_test_add_func("/xkvm/control/plain-host", test_control_plain_host);
    g_test_add_func("/xkvm/stale-profile-refused", test_stale_profile_refused);
    return g_test_run();
}
