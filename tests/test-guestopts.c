/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: what QEMU's options beyond -cpu and -machine's type say
 * about the guest CPU, machine and accelerator (wrapper/guestopts.c).
 */
#include <string.h>

#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/guestopts.h"

#define MAX_ARGS 12

/* expected outcomes */
enum { OK, ADD_ACCEL, NO_GUEST, USAGE, INCOMPATIBLE };

/**
 * Case - one QEMU command line (no binary) and the verdict
 * @name:   test name
 * @argv:   NULL-terminated arguments
 * @expect: OK (KVM named), ADD_ACCEL, NO_GUEST, or the error
 * @needle: text the error must contain (the culprit), or NULL
 */
typedef struct {
    const char *name;
    const char *argv[MAX_ARGS];
    int expect;
    const char *needle;
} Case;

static const Case cases[] = {
    /* accelerators */
    {"accel-kvm", {"-accel", "kvm", NULL}, OK, NULL},
    {"accel-kvm-props", {"-accel", "kvm,kernel-irqchip=split", NULL}, OK, NULL},
    {"accel-key", {"--accel", "accel=kvm", NULL}, OK, NULL},
    {"enable-kvm", {"-m", "1G", "-enable-kvm", NULL}, OK, NULL},
    {"enable-kvm-2dash", {"--enable-kvm", NULL}, OK, NULL},
    {"machine-accel", {"-machine", "q35,accel=kvm", NULL}, OK, NULL},
    {"machine-accel-list", {"-M", "accel=kvm:tcg", NULL}, OK, NULL},
    {"machine-accel-later-wins",
     {"-machine", "accel=tcg", "-machine", "q35,accel=kvm", NULL},
     OK,
     NULL},
    {"kvm-then-tcg", {"-accel", "kvm", "-accel", "tcg", NULL}, OK, NULL},
    {"none", {"-m", "1G", "-cpu", "host", NULL}, ADD_ACCEL, NULL},
    {"name-is-enable-kvm", {"-name", "-enable-kvm", NULL}, ADD_ACCEL, NULL},
    {"tcg", {"-accel", "tcg", NULL}, USAGE, "-accel tcg"},
    {"tcg-then-kvm",
     {"-accel", "tcg", "-accel", "kvm", NULL},
     USAGE,
     "-accel tcg"},
    {"machine-tcg", {"-machine", "q35,accel=tcg", NULL}, USAGE, "accel=tcg"},
    {"machine-tcg-first",
     {"-machine", "accel=tcg:kvm", NULL},
     USAGE,
     "accel=tcg:kvm"},
    {"machine-later-tcg",
     {"-machine", "accel=kvm", "-M", "accel=tcg", NULL},
     USAGE,
     "accel=tcg"},
    /* CPU properties outside -cpu */
    {"global-model",
     {"-enable-kvm", "-global", "EPYC-Rome-x86_64-cpu.avx512f=on", NULL},
     USAGE,
     "EPYC-Rome-x86_64-cpu.avx512f=on"},
    {"global-host",
     {"-enable-kvm", "-global", "host-x86_64-cpu.pmu=on", NULL},
     USAGE,
     "host-x86_64-cpu.pmu=on"},
    {"global-base",
     {"-enable-kvm", "-global", "x86_64-cpu.pmu=on", NULL},
     USAGE,
     "-global"},
    {"global-long-form",
     {"-enable-kvm", "-global", "driver=max-x86_64-cpu,property=pmu,value=on",
      NULL},
     USAGE,
     "driver=max-x86_64-cpu"},
    {"global-other",
     {"-enable-kvm", "-global", "kvm-pit.lost_tick_policy=discard", NULL},
     OK,
     NULL},
    {"device-cpu",
     {"-enable-kvm", "-device", "host-x86_64-cpu,socket-id=1,gfni=on", NULL},
     USAGE,
     "host-x86_64-cpu"},
    {"device-cpu-json",
     {"-enable-kvm", "-device",
      "{\"driver\": \"EPYC-x86_64-cpu\", \"socket-id\": 1}", NULL},
     USAGE,
     "EPYC-x86_64-cpu"},
    {"device-other",
     {"-enable-kvm", "-device", "virtio-net-pci,netdev=n0", NULL},
     OK,
     NULL},
    {"device-id-mentions-cpu",
     {"-enable-kvm", "-device", "virtio-blk-pci,id=host-x86_64-cpu", NULL},
     OK,
     NULL},
    /* the host's power management */
    {"cpu-pm",
     {"-enable-kvm", "-overcommit", "cpu-pm=on", NULL},
     INCOMPATIBLE,
     "cpu-pm=on"},
    {"cpu-pm-yes",
     {"-enable-kvm", "-overcommit", "mem-lock=off,cpu-pm=yes", NULL},
     INCOMPATIBLE,
     "cpu-pm"},
    {"cpu-pm-off",
     {"-enable-kvm", "-overcommit", "cpu-pm=off", NULL},
     OK,
     NULL},
    {"mem-lock", {"-enable-kvm", "-overcommit", "mem-lock=on", NULL}, OK, NULL},
    /* configuration files */
    {"readconfig",
     {"-enable-kvm", "-readconfig", "/etc/vm.cfg", NULL},
     USAGE,
     "-readconfig /etc/vm.cfg"},
    /* no guest CPU at all */
    {"machine-none", {"-M", "none", NULL}, NO_GUEST, NULL},
    {"machine-type-none",
     {"-machine", "type=none", "-accel", "tcg", NULL},
     NO_GUEST,
     NULL},
    {"machine-none-then-q35",
     {"-M", "none", "-M", "q35", NULL},
     ADD_ACCEL,
     NULL},
};

/**
 * test_case() - one command line
 * @data: Case
 */
static void test_case(gconstpointer data)
{
    const Case *c = data;
    int argc = 0;
    QmGuestOpts out = {TRUE, TRUE};
    g_autoptr(GError) error = NULL;
    gboolean ok;
    int code;

    while (c->argv[argc] != NULL)
        argc++;
    ok = qm_guestopts_check(argc, (char *const *)c->argv, &out, &error);
    switch (c->expect) {
    case OK:
    case ADD_ACCEL:
    case NO_GUEST:
        g_assert_no_error(error);
        g_assert_true(ok);
        g_assert_cmpint(out.add_accel, ==, c->expect == ADD_ACCEL);
        g_assert_cmpint(out.no_guest, ==, c->expect == NO_GUEST);
        break;
    default:
        code = c->expect == USAGE ? QM_ERROR_USAGE : QM_ERROR_INCOMPATIBLE;
        g_assert_false(ok);
        g_assert_error(error, QM_ERROR, code);
        g_test_message("%s", error->message);
        g_assert_nonnull(strstr(error->message, c->needle));
        g_assert_null(strchr(error->message, '\n'));
        break;
    }
}

/**
 * main() - register one test per case
 * @argc: argc
 * @argv: argv
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/guestopts/%s", cases[i].name);

        g_test_add_data_func(path, &cases[i], test_case);
    }
    return g_test_run();
}
