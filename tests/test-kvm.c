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
#include "testutil.h"
#include "wrapper/qmp.h"

static char *skip_reason;
static char *qemu;

/*
 * CPUID location of features the test may hide: the guest's feature-words
 * must show these bits clear.  (leaf, subleaf, register, bit)
 */
static const struct {
    const char *name;
    guint32 eax;
    guint32 ecx;
    const char *reg;
    int bit;
} bits[] = {
    {"pcid", 1, 0, "ECX", 17},
    {"movbe", 1, 0, "ECX", 22},
    {"popcnt", 1, 0, "ECX", 23},
    {"rdrand", 1, 0, "ECX", 30},
    {"bmi1", 7, 0, "EBX", 3},
    {"avx2", 7, 0, "EBX", 5},
    {"bmi2", 7, 0, "EBX", 8},
    {"rdseed", 7, 0, "EBX", 18},
    {"adx", 7, 0, "EBX", 19},
    {"smap", 7, 0, "EBX", 20},
    {"clflushopt", 7, 0, "EBX", 23},
    {"sha-ni", 7, 0, "EBX", 29},
    {"rdtscp", 0x80000001, 0, "EDX", 27},
    {"gfni", 7, 0, "ECX", 8},
    {"clwb", 7, 0, "EBX", 24},
    {"umip", 7, 0, "ECX", 2},
    {"3dnowprefetch", 0x80000001, 0, "ECX", 8},
};

/**
 * spawn_capture() - run a program with stdin text, collect its output
 * @argv:  NULL-terminated argv
 * @input: stdin text
 * @out:   where to store stdout
 * @err:   where to store stderr
 *
 * Return: exit status (-1 if killed by a signal)
 */
static int spawn_capture(const char *const *argv, const char *input, char **out,
                         char **err)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) proc = g_subprocess_newv(
        argv,
        G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
            G_SUBPROCESS_FLAGS_STDERR_PIPE,
        &error);

    g_assert_no_error(error);
    g_subprocess_communicate_utf8(proc, input, NULL, out, err, &error);
    g_assert_no_error(error);
    g_test_message("%s: exit %d, stderr: %s", argv[0],
                   g_subprocess_get_if_exited(proc)
                       ? g_subprocess_get_exit_status(proc)
                       : -1,
                   *err);
    return g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc)
                                            : -1;
}

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
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        *reason = g_strdup_printf("/dev/kvm: %s", g_strerror(errno));
        return FALSE;
    }
    close(fd);
    qemu = g_find_program_in_path("qemu-system-x86_64");
    if (qemu == NULL) {
        *reason = g_strdup("qemu-system-x86_64 not installed");
        return FALSE;
    }
    argv[0] = qemu;
    spawn_capture(argv,
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
 * local_transcript() - the real local QEMU's answers to qemu-mig's probe
 *
 * Return: the JSON documents, greeting first
 */
static GPtrArray *local_transcript(void)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    GPtrArray *docs = NULL;

    g_ptr_array_add(argv, qemu);
    for (const char *const *a = qm_qmp_probe_argv(); *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_cmpint(spawn_capture((const char *const *)argv->pdata,
                                  qm_qmp_request(), &out, &err),
                    ==, 0);
    g_assert_true(qm_qmp_split(out, strlen(out), &docs, &error));
    g_assert_no_error(error);
    return docs;
}

/**
 * reply_by_id() - the reply with a given id
 * @docs: transcript
 * @id:   id
 *
 * Return: the reply object (borrowed)
 */
static JsonObject *reply_by_id(GPtrArray *docs, const char *id)
{
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));

        if (g_strcmp0(json_object_get_string_member_with_default(obj, "id", ""),
                      id) == 0)
            return obj;
    }
    g_assert_not_reached();
}

/**
 * write_restricted_capture() - a capture of this host minus some features
 * @docs:   real local transcript
 * @hidden: filled with the names turned off (three of bits[] that this
 *          host provides)
 *
 * Return: path of a capture file the fake QEMU can replay
 */
static char *write_restricted_capture(GPtrArray *docs, GPtrArray *hidden)
{
    JsonObject *expansion = reply_by_id(docs, "model-expansion");
    JsonObject *props = json_object_get_object_member(
        json_object_get_object_member(
            json_object_get_object_member(expansion, "return"), "model"),
        "props");
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *path =
        g_build_filename(qm_test_tmpdir(), "restricted.json", NULL);
    const char *ids[] = {"model-expansion", "definitions"};

    for (gsize i = 0; i < G_N_ELEMENTS(bits) && hidden->len < 3; i++) {
        if (json_object_has_member(props, bits[i].name) &&
            json_object_get_boolean_member(props, bits[i].name)) {
            json_object_set_boolean_member(props, bits[i].name, FALSE);
            g_ptr_array_add(hidden, (char *)bits[i].name);
        }
    }
    g_assert_cmpuint(hidden->len, >, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(ids); i++) {
        JsonNode *node = json_node_new(JSON_NODE_OBJECT);
        g_autofree char *doc = NULL;

        json_node_set_object(node, reply_by_id(docs, ids[i]));
        json_generator_set_root(gen, node);
        doc = json_generator_to_data(gen, NULL);
        g_string_append_printf(text, "%s\n\n", doc);
        json_node_unref(node);
    }
    g_assert_true(g_file_set_contents(path, text->str, -1, NULL));

    /* the fake replays machines from a file of their own */
    {
        JsonNode *node = json_node_new(JSON_NODE_OBJECT);
        g_autofree char *doc = NULL;
        g_autofree char *mpath =
            g_build_filename(qm_test_tmpdir(), "machines.json", NULL);

        json_node_set_object(node, reply_by_id(docs, "machines"));
        json_generator_set_root(gen, node);
        doc = json_generator_to_data(gen, NULL);
        g_assert_true(g_file_set_contents(mpath, doc, -1, NULL));
        json_node_unref(node);
    }
    return g_steal_pointer(&path);
}

/**
 * feature_bit() - is a feature's bit set in a guest's feature-words?
 * @words: qom-get feature-words reply's "return"
 * @name:  feature from bits[]
 *
 * Return: TRUE if set
 */
static gboolean feature_bit(JsonArray *words, const char *name)
{
    for (gsize b = 0; b < G_N_ELEMENTS(bits); b++) {
        if (strcmp(bits[b].name, name) != 0)
            continue;
        for (guint i = 0; i < json_array_get_length(words); i++) {
            JsonObject *w = json_array_get_object_element(words, i);

            if (json_object_get_int_member(w, "cpuid-input-eax") ==
                    bits[b].eax &&
                json_object_get_int_member_with_default(w, "cpuid-input-ecx",
                                                        0) == bits[b].ecx &&
                strcmp(json_object_get_string_member(w, "cpuid-register"),
                       bits[b].reg) == 0)
                return (json_object_get_int_member(w, "features") >>
                        bits[b].bit) &
                       1;
        }
    }
    g_assert_not_reached();
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
    *status = spawn_capture((const char *const *)argv->pdata, input, &out, err);
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
    g_assert_cmpint(spawn_capture(argv, "", &out, &err), ==, 0);
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
    local = local_transcript();
    capture = write_restricted_capture(local, hidden);
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
                    feature_bit(words, g_ptr_array_index(hidden, h)));
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
    local = local_transcript();
    capture = write_restricted_capture(local, hidden);
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
                feature_bit(json_object_get_array_member(obj, "return"),
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
