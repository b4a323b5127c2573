/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig xversion tests: real live migrations between two QEMU
 * versions, 7.2 (qemu-system-x86_64 from PATH) and 10.0 ($QM_QEMU_SECOND),
 * under TCG, so no KVM is needed.
 *
 * What they prove is what qemu-mig's decisions rest on: a guest whose
 * machine type is pinned to a version both QEMUs have and whose CPU model
 * both give in full migrates either way with every vCPU property both
 * QEMUs know unchanged (qm_vcpu_compare(), the comparison qemu-mig itself
 * will use); and, as negative controls, that an unversioned machine alias
 * makes the migration fail, and that -cpu max migrates without complaint
 * while the guest's CPU changes under it.
 *
 * Each case skips, saying why, when either QEMU is missing or does not
 * run.
 */
#include <string.h>
#include <sys/wait.h>

#include "migutil.h"
#include "testutil.h"
#include "wrapper/vcpu.h"

/* Bounds: each of these takes milliseconds under TCG here */
#define START_TIMEOUT_US   (30 * G_USEC_PER_SEC)
#define QMP_TIMEOUT_US     (10 * G_USEC_PER_SEC)
#define MIGRATE_TIMEOUT_US (60 * G_USEC_PER_SEC)
#define EXIT_TIMEOUT_US    (10 * G_USEC_PER_SEC)
/*
 * Reading ~440-510 properties is one pipelined round trip, yet takes
 * 0.55-0.65 s on this development machine: QEMU itself spends ~1.3 ms of
 * CPU on each qom-get (0.5 ms on a bare query-status), one after the
 * other, whether they come pipelined or not.  The bound catches a client
 * that waits per command (a 50 ms poll slice each would be 20 s).
 */
#define VCPU_READ_MAX_US (3 * G_USEC_PER_SEC)

/* The one machine type both QEMUs have and that means the same in both */
#define MACHINE_PINNED "pc-q35-7.2"

/**
 * Qemu - one of the two QEMUs under test
 * @label:   "7.2" or "10.0", as in the test names
 * @path:    the binary, or NULL when missing
 * @version: its version, when usable
 * @reason:  why it is not usable, or NULL
 */
typedef struct {
    const char *label;
    char *path;
    char *version;
    char *reason;
} Qemu;

static Qemu qemu_old = {.label = "7.2"};
static Qemu qemu_new = {.label = "10.0"};

/**
 * Direction - which QEMU is the source
 * @src: source A
 * @dst: destination B
 */
typedef struct {
    Qemu *src;
    Qemu *dst;
} Direction;

static const Direction old_to_new = {&qemu_old, &qemu_new};
static const Direction new_to_old = {&qemu_new, &qemu_old};

/**
 * find_qemus() - locate both QEMUs and check that they run
 *
 * Done once, before the tests: each case then skips with the reason.
 */
static void find_qemus(void)
{
    const char *second = g_getenv("QM_QEMU_SECOND");
    Qemu *both[] = {&qemu_old, &qemu_new};

    qemu_old.path = g_find_program_in_path("qemu-system-x86_64");
    if (qemu_old.path == NULL)
        qemu_old.reason = g_strdup("QEMU 7.2: no qemu-system-x86_64 in PATH");
    if (second == NULL || *second == '\0')
        qemu_new.reason = g_strdup("QEMU 10.0: QM_QEMU_SECOND is not set "
                                   "(run the tests through meson test)");
    else
        qemu_new.path = g_strdup(second);

    for (gsize i = 0; i < G_N_ELEMENTS(both); i++) {
        Qemu *q = both[i];
        g_autofree char *why = NULL;

        if (q->path == NULL)
            continue;
        if (!qm_mig_test_qemu_usable(q->path, &q->version, &why))
            q->reason = g_strdup_printf(
                "QEMU %s is not runnable%s: %s", q->label,
                q == &qemu_new ? " (build it with contrib/fetch-qemu)" : "",
                why);
    }
    if (qemu_old.reason == NULL && qemu_new.reason == NULL &&
        strcmp(qemu_old.version, qemu_new.version) == 0)
        qemu_new.reason = g_strdup_printf(
            "both QEMUs are version %s: nothing cross-version to test",
            qemu_old.version);
}

/**
 * skip_unless_usable() - skip the test when either QEMU is unusable
 *
 * Return: TRUE when the test can run
 */
static gboolean skip_unless_usable(void)
{
    const char *reason = qemu_old.reason ? qemu_old.reason : qemu_new.reason;

    if (reason == NULL)
        return TRUE;
    g_test_skip(reason);
    return FALSE;
}

/**
 * deadline_in() - a deadline from now
 * @us: microseconds
 *
 * Return: g_get_monotonic_time() deadline
 */
static gint64 deadline_in(gint64 us)
{
    return g_get_monotonic_time() + us * qm_test_slow();
}

/**
 * start_vm() - start a paused TCG guest, asserting it comes up
 * @role:     "A" or "B"
 * @q:        which QEMU
 * @machine:  -machine type
 * @cpu:      -cpu value
 * @incoming: start with -incoming defer
 *
 * Return: the guest; stopped, its directory removed, at the end of the
 * test whatever the outcome
 */
static QmMigTestVm *start_vm(const char *role, const Qemu *q,
                             const char *machine, const char *cpu,
                             gboolean incoming)
{
    g_autoptr(GPtrArray) args = qm_mig_test_guest_args(machine, "tcg", cpu);
    g_autofree char *name = g_strdup_printf("%s (%s)", role, q->version);
    g_autoptr(GError) error = NULL;
    QmMigTestVm *vm;

    if (incoming)
        qm_mig_test_args_add(args, "-incoming", "defer", NULL);
    vm = qm_mig_test_vm_start(name, q->path, (const char *const *)args->pdata,
                              deadline_in(START_TIMEOUT_US), &error);
    g_assert_no_error(error);
    g_assert_cmpstr(qm_monitor_qemu_version(vm->mon), ==, q->version);
    g_test_queue_destroy((GDestroyNotify)qm_mig_test_vm_free, vm);
    return vm;
}

/**
 * read_vcpu() - read a guest's vCPU 0, asserting it is read in time
 * @vm: the guest
 *
 * Return: the vCPU (qm_vcpu_free())
 */
static QmVcpu *read_vcpu(QmMigTestVm *vm)
{
    g_autoptr(GError) error = NULL;
    gint64 start = g_get_monotonic_time();
    QmVcpu *vcpu = NULL;
    gint64 took;

    g_assert_true(
        qm_vcpu_read(vm->mon, deadline_in(QMP_TIMEOUT_US), &vcpu, &error));
    g_assert_no_error(error);
    took = g_get_monotonic_time() - start;
    g_test_message("%s: read %u properties of %s (%u values, %u unreadable) "
                   "in %.1f ms",
                   vm->name, g_hash_table_size(vcpu->types), vcpu->qom_path,
                   g_hash_table_size(vcpu->values),
                   g_hash_table_size(vcpu->unreadable), took / 1000.0);
    g_assert_cmpint(took, <, VCPU_READ_MAX_US * qm_test_slow());
    return vcpu;
}

/**
 * log_list() - print a list of names into the test log
 * @what:  heading
 * @names: char * array
 */
static void log_list(const char *what, GPtrArray *names)
{
    g_autoptr(GString) line = g_string_new(NULL);

    for (guint i = 0; i < names->len; i++)
        g_string_append_printf(line, " %s",
                               (char *)g_ptr_array_index(names, i));
    g_test_message("%s (%u):%s", what, names->len, line->str);
}

/**
 * compare_logged() - compare two vCPUs and print everything about it
 * @a:   side A's vCPU
 * @b:   side B's vCPU
 * @vma: side A's guest, for its name
 * @vmb: side B's guest
 *
 * Return: the comparison, with QM_VCPU_COMPARE_TSC: a migrated guest
 * keeps its TSC frequency
 */
static QmVcpuComparison *compare_logged(const QmVcpu *a, const QmVcpu *b,
                                        QmMigTestVm *vma, QmMigTestVm *vmb)
{
    QmVcpuComparison *c = qm_vcpu_compare(a, b, QM_VCPU_COMPARE_TSC);
    g_autofree char *text =
        qm_vcpu_comparison_describe(c, vma->name, vmb->name);
    g_autofree char *only_a = g_strdup_printf("only %s has", vma->name);
    g_autofree char *only_b = g_strdup_printf("only %s has", vmb->name);

    log_list(only_a, c->only_a);
    log_list(only_b, c->only_b);
    for (guint i = 0; i < c->skipped->len; i++)
        g_test_message("not compared: %s",
                       (char *)g_ptr_array_index(c->skipped, i));
    g_test_message("vCPU comparison:\n%s", text);
    return c;
}

/**
 * migrate_logged() - migrate A to B over loopback TCP, printing timings
 * @a:      source
 * @b:      destination, started with -incoming defer
 * @result: filled with how it ended
 */
static void migrate_logged(QmMigTestVm *a, QmMigTestVm *b,
                           QmMigTestResult *result)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *uri = NULL;

    g_assert_true(
        qm_mig_test_incoming(b, deadline_in(QMP_TIMEOUT_US), &uri, &error));
    g_assert_no_error(error);
    g_test_message("%s listens on %s", b->name, uri);
    qm_mig_test_migrate(a, b, uri, deadline_in(MIGRATE_TIMEOUT_US), result,
                        &error);
    g_assert_no_error(error);
    g_test_message("%s -> %s: migration %s%s%s%s; QEMU: total-time "
                   "%" G_GINT64_FORMAT " ms, downtime %" G_GINT64_FORMAT
                   " ms, setup-time %" G_GINT64_FORMAT " ms; measured %.1f ms",
                   a->name, b->name, result->status,
                   result->dst_exited ? ", but the destination exited" : "",
                   result->error_desc ? ": " : "",
                   result->error_desc ? result->error_desc : "",
                   result->total_time_ms, result->downtime_ms,
                   result->setup_time_ms, result->wall_us / 1000.0);
}

/**
 * assert_status() - a guest's run state is one of some
 * @vm:      the guest
 * @running: the "running" it must report
 * @first:   first allowed status, then more, then NULL
 */
static void G_GNUC_NULL_TERMINATED assert_status(QmMigTestVm *vm,
                                                 gboolean running,
                                                 const char *first, ...)
{
    g_autoptr(GError) error = NULL;
    gboolean is_running = FALSE;
    g_autofree char *status = qm_mig_test_vm_status(
        vm, deadline_in(QMP_TIMEOUT_US), &is_running, &error);
    gboolean allowed = FALSE;
    va_list ap;

    g_assert_no_error(error);
    g_test_message("%s: status %s, running %s", vm->name, status,
                   is_running ? "yes" : "no");
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        allowed |= strcmp(s, status) == 0;
    va_end(ap);
    g_assert_true(allowed);
    g_assert_cmpint(is_running, ==, running);
}

/**
 * resume() - `cont` a guest and check that it runs
 * @vm: the guest
 */
static void resume(QmMigTestVm *vm)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(qm_monitor_execute(
        vm->mon, "cont", NULL, deadline_in(QMP_TIMEOUT_US), NULL, &error));
    g_assert_no_error(error);
    assert_status(vm, TRUE, "running", NULL);
}

/**
 * migrate_cpu() - migrate a paused guest from one QEMU to the other and
 * compare vCPU 0 before (on A) with after (on B, resumed)
 * @dir: which way
 * @cpu: -cpu value on both sides
 *
 * Return: the comparison
 */
static QmVcpuComparison *migrate_cpu(const Direction *dir, const char *cpu)
{
    QmMigTestVm *a = start_vm("A", dir->src, MACHINE_PINNED, cpu, FALSE);
    QmMigTestVm *b = start_vm("B", dir->dst, MACHINE_PINNED, cpu, TRUE);
    g_auto(QmMigTestResult) result = {0};
    g_autoptr(QmVcpu) before = read_vcpu(a);
    g_autoptr(QmVcpu) after = NULL;

    migrate_logged(a, b, &result);
    g_assert_cmpstr(result.status, ==, "completed");
    g_assert_false(result.dst_exited);
    assert_status(a, FALSE, "postmigrate", NULL);
    /* a guest that was never started arrives "prelaunch" (7.2 and 10.0) */
    assert_status(b, FALSE, "prelaunch", "paused", NULL);
    resume(b);
    after = read_vcpu(b);
    return compare_logged(before, after, a, b);
}

/**
 * test_same_cpu() - a pinned machine type and a CPU model both QEMUs
 * give in full: the migration completes, B runs the guest, and its vCPU
 * is A's, property for property
 * @data: the Direction
 */
static void test_same_cpu(gconstpointer data)
{
    g_autoptr(QmVcpuComparison) c = NULL;

    if (!skip_unless_usable())
        return;
    c = migrate_cpu(data, "qemu64");
    /* a real comparison: hundreds of properties, not a handful */
    g_assert_cmpuint(c->compared, >, 300);
    g_assert_cmpuint(c->differences->len, ==, 0);
}

/**
 * test_cpu_max() - negative control: -cpu max means something else in
 * each QEMU; QEMU migrates anyway, and the guest's CPU changes
 */
static void test_cpu_max(void)
{
    g_autoptr(QmVcpuComparison) c = NULL;

    if (!skip_unless_usable())
        return;
    c = migrate_cpu(&old_to_new, "max");
    g_assert_cmpuint(c->differences->len, >, 0);
}

/**
 * test_machine_alias() - negative control: "q35" is pc-q35-7.2 in one
 * QEMU and pc-q35-10.0 in the other; the migration fails, B's QEMU
 * exits with an error, and A carries on
 */
static void test_machine_alias(void)
{
    QmMigTestVm *a, *b;
    g_auto(QmMigTestResult) result = {0};
    g_autofree char *output = NULL;
    gboolean exited;

    if (!skip_unless_usable())
        return;
    a = start_vm("A", &qemu_old, "q35", "qemu64", FALSE);
    b = start_vm("B", &qemu_new, "q35", "qemu64", TRUE);
    migrate_logged(a, b, &result);

    /*
     * B refuses the stream at its first section and exits; A may still
     * have written a whole 64 MiB guest of zero pages into the socket by
     * then, so A saying "failed" is likely but not certain (it said
     * "completed" once when this test ran under valgrind) - B exiting
     * with an error is.
     */
    exited = qm_mig_test_vm_wait_exit(b, deadline_in(EXIT_TIMEOUT_US));
    output = qm_mig_test_vm_output(b);
    g_test_message("%s %s (wait status %d); its output: %s", b->name,
                   exited ? "exited" : "still runs", b->wait_status, output);
    g_assert_true(exited);
    g_assert_true(WIFEXITED(b->wait_status));
    g_assert_cmpint(WEXITSTATUS(b->wait_status), !=, 0);
    g_assert_nonnull(strstr(output, "pc-q35-7.2"));
    g_assert_true(strcmp(result.status, "failed") == 0 ||
                  strcmp(result.status, "completed") == 0);

    /* A keeps its guest: still answering, paused, and it can resume */
    assert_status(a, FALSE, "prelaunch", "paused", "postmigrate", NULL);
    resume(a);
}

/**
 * bool_prop() - a boolean property of a vCPU, asserting it is one
 * @vcpu: the vCPU
 * @name: property
 *
 * Return: its value
 */
static gboolean bool_prop(const QmVcpu *vcpu, const char *name)
{
    JsonNode *node = g_hash_table_lookup(vcpu->values, name);

    g_assert_nonnull(node);
    g_assert_true(JSON_NODE_HOLDS_VALUE(node) &&
                  json_node_get_value_type(node) == G_TYPE_BOOLEAN);
    return json_node_get_boolean(node);
}

/**
 * test_versioned_model() - why a named model is written versioned: under
 * pc-i440fx-3.1 both QEMUs give Skylake-Client MPX (a compat property of
 * the alias's type), but not Skylake-Client-v1, which has the very
 * feature words Skylake-Client has under q35, what the probe checked
 * @data: the QEMU (Qemu)
 */
static void test_versioned_model(gconstpointer data)
{
    const Qemu *q = data;
    QmMigTestVm *legacy, *versioned, *probed;
    g_autoptr(QmVcpu) l = NULL;
    g_autoptr(QmVcpu) v = NULL;
    g_autoptr(QmVcpu) p = NULL;
    g_autoptr(QmVcpuComparison) c = NULL;

    if (q->reason != NULL) {
        g_test_skip(q->reason);
        return;
    }
    legacy = start_vm("alias", q, "pc-i440fx-3.1", "Skylake-Client", FALSE);
    versioned =
        start_vm("versioned", q, "pc-i440fx-3.1", "Skylake-Client-v1", FALSE);
    probed = start_vm("probe", q, "q35", "Skylake-Client", FALSE);
    l = read_vcpu(legacy);
    v = read_vcpu(versioned);
    p = read_vcpu(probed);
    g_assert_true(bool_prop(l, "mpx"));
    g_assert_false(bool_prop(v, "mpx"));
    g_assert_false(bool_prop(p, "mpx"));
    c = compare_logged(v, p, versioned, probed);
    for (guint i = 0; i < c->differences->len; i++) {
        const QmVcpuDiff *d = g_ptr_array_index(c->differences, i);

        g_assert_false(g_str_has_prefix(d->name, "feature-words"));
    }
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    find_qemus();

    g_test_add_data_func("/xversion/same-cpu/7.2-to-10.0", &old_to_new,
                         test_same_cpu);
    g_test_add_data_func("/xversion/same-cpu/10.0-to-7.2", &new_to_old,
                         test_same_cpu);
    g_test_add_func("/xversion/control/machine-alias", test_machine_alias);
    g_test_add_func("/xversion/control/cpu-max", test_cpu_max);
    g_test_add_data_func("/xversion/versioned-model/7.2", &qemu_old,
                         test_versioned_model);
    g_test_add_data_func("/xversion/versioned-model/10.0", &qemu_new,
                         test_versioned_model);
    return g_test_run();
}
