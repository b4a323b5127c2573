/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig kvm tests: the real local QEMU with KVM.  A loopback peer plays
 * "this very machine minus a few features" (the one stand-in: there is no
 * second CPU here), qemu-mig starts a real paused guest, and QMP tells
 * whether the guest CPU really lacks what was hidden.
 *
 * Skipped, with the reason, where /dev/kvm or QEMU is unusable.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sshd.h"
#include "kvmutil.h"
#include "testutil.h"
#include "wrapper/qmp.h"

static char *skip_reason;
static char *qemu;

/**
 * kvm_usable() - can this machine run the kvm suite?
 * @reason: where to store why not
 *
 * Return: TRUE when /dev/kvm opens and QEMU answers a KVM probe
 */
static gboolean kvm_usable(char **reason)
{
    const char *argv[] = {NULL,          "-machine",   "none,accel=kvm",
                          "-nodefaults", "-nographic", "-S",
                          "-qmp",        "stdio",      NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    qemu = qm_kvm_find_qemu(reason);
    if (qemu == NULL)
        return FALSE;
    argv[0] = qemu;
    qm_kvm_spawn_capture(argv,
                         "{\"execute\":\"qmp_capabilities\"}\n"
                         "{\"execute\":\"quit\"}\n",
                         &out, &err);
    if (strstr(out, "\"QMP\"") == NULL) {
        *reason = g_strdup_printf("QEMU cannot use KVM here: %s", err);
        return FALSE;
    }
    return TRUE;
}

/**
 * guest_cpu() - start a guest through qemu-mig and read its CPU over QMP
 * @args:   qemu-mig arguments (NULL-terminated, without argv[0])
 * @err:    where to store stderr
 * @status: where to store the exit status
 *
 * Return: the QMP transcript (NULL when QEMU did not answer)
 */
static GPtrArray *guest_cpu(const char *const *args, char **err, int *status)
{
    const char *path = "/machine/unattached/device[0]";
    g_autofree char *input = g_strdup_printf(
        "{\"execute\":\"qmp_capabilities\"}\n"
        "{\"execute\":\"query-cpus-fast\",\"id\":\"cpus\"}\n"
        "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"%s\","
        "\"property\":\"feature-words\"},\"id\":\"words\"}\n"
        "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"%s\","
        "\"property\":\"filtered-features\"},\"id\":\"filtered\"}\n"
        "{\"execute\":\"quit\",\"id\":\"quit\"}\n",
        path, path);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL;
    GPtrArray *docs = NULL;

    g_ptr_array_add(argv, (char *)qm_test_env("QM_BINARY"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    *status = qm_kvm_spawn_capture((const char *const *)argv->pdata, input,
                                   &out, err);
    /* QEMU greets before creating the vCPU, so a greeting alone proves
     * nothing: only an answered qom-get means the guest CPU exists. */
    if (strstr(out, "\"id\": \"words\"") == NULL)
        return NULL;
    g_assert_true(qm_qmp_split(out, strlen(out), &docs, NULL));
    return docs;
}

/**
 * test_probe_local() - qemu-mig probe of the real local QEMU
 */
static void test_probe_local(void)
{
    const char *argv[] = {qm_test_env("QM_BINARY"), "probe", "--json", NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *cpuinfo = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *host;

    if (skip_reason) {
        g_test_skip(skip_reason);
        return;
    }
    g_assert_cmpint(qm_kvm_spawn_capture(argv, "", &out, &err), ==, 0);
    g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
    host = json_array_get_object_element(
        json_object_get_array_member(
            json_node_get_object(json_parser_get_root(parser)), "hosts"),
        0);
    g_assert_cmpstr(json_object_get_string_member(host, "name"), ==, "local");
    g_assert_true(json_object_get_boolean_member(host, "kvm"));
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(host, "features")),
        >, 20);
    /* the vendor QEMU reports is the vendor the kernel reports */
    g_assert_true(g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL));
    g_assert_nonnull(
        strstr(cpuinfo, json_object_get_string_member(host, "vendor")));
}

/**
 * test_launch_restricted() - a real guest started by qemu-mig lacks
 * exactly what the restricted peer lacks, and nothing is filtered
 */
static void test_launch_restricted(void)
{
    g_autoptr(GPtrArray) local = NULL;
    g_autoptr(GPtrArray) hidden = g_ptr_array_new();
    g_autofree char *capture = NULL;
    g_autofree char *remote = NULL;
    g_autoptr(QmTestSshd) peer = NULL;
    g_autofree char *sshd_reason = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GPtrArray) docs = NULL;
    const char *cpu = "host";
    int status, checked = 0;

    if (skip_reason) {
        g_test_skip(skip_reason);
        return;
    }
    if (!qm_test_sshd_available(&sshd_reason)) {
        g_test_skip(sshd_reason);
        return;
    }
    local = qm_kvm_local_transcript(qemu);
    capture = qm_kvm_write_restricted_capture(local, hidden);
    peer = qm_test_sshd_start("restricted");
    remote =
        g_strdup_printf("%s --replay %s --machines %s/machines.json",
                        qm_test_env("QM_FAKE_QEMU"), capture, qm_test_tmpdir());

    /*
     * QEMU 7.2 on some nested AMD hosts aborts a vCPU with plain -cpu host
     * ("failed to set MSR 0x10a").  That failure must reach the user as is:
     * try plain host first, and accept it only with that exact message.
     */
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *args[] = {"--ssh-config",
                              peer->ssh_config,
                              "--remote-qemu",
                              remote,
                              "--peer",
                              "restricted",
                              "--",
                              "-machine",
                              "pc,accel=kvm",
                              "-m",
                              "64",
                              "-S",
                              "-nodefaults",
                              "-display",
                              "none",
                              "-qmp",
                              "stdio",
                              "-cpu",
                              cpu,
                              NULL};

        g_clear_pointer(&err, g_free);
        g_clear_pointer(&docs, g_ptr_array_unref);
        docs = guest_cpu(args, &err, &status);
        if (docs != NULL)
            break;
        g_assert_nonnull(strstr(err, "MSR 0x10a"));
        g_assert_cmpint(status, !=, 0);
        g_test_message("QEMU quirk seen and reported: %s", err);
        cpu = "host,arch-capabilities=off";
    }
    g_assert_nonnull(docs);

    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));
        const char *id =
            json_object_get_string_member_with_default(obj, "id", "");

        checked += strcmp(id, "filtered") == 0 || strcmp(id, "words") == 0;
        if (strcmp(id, "filtered") == 0) {
            JsonArray *words = json_object_get_array_member(obj, "return");

            for (guint k = 0; k < json_array_get_length(words); k++)
                g_assert_cmpint(
                    json_object_get_int_member(
                        json_array_get_object_element(words, k), "features"),
                    ==, 0);
        } else if (strcmp(id, "words") == 0) {
            JsonArray *words = json_object_get_array_member(obj, "return");

            for (guint h = 0; h < hidden->len; h++) {
                g_test_message("hidden: %s",
                               (char *)g_ptr_array_index(hidden, h));
                g_assert_false(
                    qm_kvm_feature_bit(words, g_ptr_array_index(hidden, h)));
            }
        } else if (strcmp(id, "cpus") == 0) {
            JsonArray *cpus = json_object_get_array_member(obj, "return");

            g_assert_cmpstr(
                json_object_get_string_member(
                    json_array_get_object_element(cpus, 0), "qom-path"),
                ==, "/machine/unattached/device[0]");
        }
    }
    g_assert_cmpint(checked, ==, 2);
}

/**
 * test_control_plain_host() - negative control: the same guest started
 * without qemu-mig shows the features qemu-mig hid
 */
static void test_control_plain_host(void)
{
    g_autoptr(GPtrArray) local = NULL;
    g_autoptr(GPtrArray) hidden = g_ptr_array_new();
    g_autofree char *capture = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GPtrArray) docs = NULL;
    int status, checked = 0;
    const char *cpu = "host";

    if (skip_reason) {
        g_test_skip(skip_reason);
        return;
    }
    local = qm_kvm_local_transcript(qemu);
    capture = qm_kvm_write_restricted_capture(local, hidden);
    for (int attempt = 0; attempt < 2 && docs == NULL; attempt++) {
        /* no --peer: qemu-mig execs QEMU unchanged */
        const char *args[] = {"--",   "-machine", "pc,accel=kvm", "-m",
                              "64",   "-S",       "-nodefaults",  "-display",
                              "none", "-qmp",     "stdio",        "-cpu",
                              cpu,    NULL};

        g_clear_pointer(&err, g_free);
        docs = guest_cpu(args, &err, &status);
        cpu = "host,arch-capabilities=off";
    }
    g_assert_nonnull(docs);
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));

        if (g_strcmp0(json_object_get_string_member_with_default(obj, "id", ""),
                      "words") != 0)
            continue;
        checked++;
        for (guint h = 0; h < hidden->len; h++)
            g_assert_true(
                qm_kvm_feature_bit(json_object_get_array_member(obj, "return"),
                                   g_ptr_array_index(hidden, h)));
    }
    g_assert_cmpint(checked, ==, 1);
}

/**
 * main() - kvm suite
 * @argc: argc
 * @argv: argv
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    if (!kvm_usable(&skip_reason))
        g_test_message("skipping: %s", skip_reason);
    g_test_add_func("/kvm/probe-local", test_probe_local);
    g_test_add_func("/kvm/launch-restricted", test_launch_restricted);
    g_test_add_func("/kvm/control-plain-host", test_control_plain_host);
    return g_test_run();
}
