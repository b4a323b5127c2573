/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: helpers shared by the kvm suite (test-kvm.c and
 * test-migrate.c): the real local QEMU and its restricted stand-in peer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "kvmutil.h"
#include "testutil.h"
#include "wrapper/qmp.h"

/*
 * CPUID location of features the tests may hide: QOM feature-words and
 * the guest's own CPUID must show these bits clear.  (leaf, subleaf,
 * register, bit)
 */
const QmKvmBit qm_kvm_bits[] = {
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

const gsize qm_kvm_n_bits = G_N_ELEMENTS(qm_kvm_bits);

/**
 * qm_kvm_bit_index() - qm_kvm_bits[] entry of a feature
 * @name: QEMU feature name
 *
 * Return: index into qm_kvm_bits[]; aborts for names not in the table
 */
gsize qm_kvm_bit_index(const char *name)
{
    for (gsize b = 0; b < qm_kvm_n_bits; b++) {
        if (strcmp(qm_kvm_bits[b].name, name) == 0)
            return b;
    }
    g_assert_not_reached();
}

/**
 * qm_kvm_word_of() - a feature word from a feature-words array
 * @words: qom-get feature-words reply
 * @eax:   CPUID leaf
 * @ecx:   CPUID subleaf
 * @reg:   "EAX".."EDX"
 * @found: where to store whether the word exists
 *
 * Return: the word's features
 */
guint64 qm_kvm_word_of(JsonArray *words, gint64 eax, gint64 ecx,
                       const char *reg, gboolean *found)
{
    *found = FALSE;
    for (guint i = 0; i < json_array_get_length(words); i++) {
        JsonObject *w = json_array_get_object_element(words, i);

        if (json_object_get_int_member(w, "cpuid-input-eax") == eax &&
            json_object_get_int_member_with_default(w, "cpuid-input-ecx", 0) ==
                ecx &&
            strcmp(json_object_get_string_member(w, "cpuid-register"), reg) ==
                0) {
            *found = TRUE;
            return json_object_get_int_member(w, "features");
        }
    }
    return 0;
}

/**
 * qm_kvm_feature_bit() - is a feature's bit set in a guest's feature-words?
 * @words: qom-get feature-words reply's "return"
 * @name:  feature from qm_kvm_bits[]
 *
 * Return: TRUE if set; aborts when the feature or its word is missing
 */
gboolean qm_kvm_feature_bit(JsonArray *words, const char *name)
{
    const QmKvmBit *b = &qm_kvm_bits[qm_kvm_bit_index(name)];
    gboolean found;
    guint64 word = qm_kvm_word_of(words, b->eax, b->ecx, b->reg, &found);

    g_assert_true(found);
    return (word >> b->bit) & 1;
}

/**
 * qm_kvm_spawn_capture() - run a program with stdin text, collect its output
 * @argv:  NULL-terminated argv
 * @input: stdin text
 * @out:   where to store stdout
 * @err:   where to store stderr
 *
 * Logs the exit status and stderr when stderr is not empty or the exit
 * status is not 0.
 *
 * Return: exit status (-1 if killed by a signal)
 */
int qm_kvm_spawn_capture(const char *const *argv, const char *input, char **out,
                         char **err)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) proc = g_subprocess_newv(
        argv,
        G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
            G_SUBPROCESS_FLAGS_STDERR_PIPE,
        &error);
    int status;

    g_assert_no_error(error);
    g_subprocess_communicate_utf8(proc, input, NULL, out, err, &error);
    g_assert_no_error(error);
    status = g_subprocess_get_if_exited(proc)
                 ? g_subprocess_get_exit_status(proc)
                 : -1;
    if (**err || status != 0)
        g_test_message("%s: exit %d, stderr: %s", argv[0], status, *err);
    return status;
}

/**
 * qm_kvm_find_qemu() - /dev/kvm opens and qemu-system-x86_64 is installed
 * @reason: where to store why not
 *
 * Return: newly allocated path of qemu-system-x86_64, or NULL
 */
char *qm_kvm_find_qemu(char **reason)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    char *qemu;

    if (fd < 0) {
        *reason = g_strdup_printf("/dev/kvm: %s", g_strerror(errno));
        return NULL;
    }
    close(fd);
    qemu = g_find_program_in_path("qemu-system-x86_64");
    if (qemu == NULL)
        *reason = g_strdup("qemu-system-x86_64 not installed");
    return qemu;
}

/**
 * qm_kvm_local_transcript() - the real local QEMU's answers to qemu-mig's
 * probe
 * @qemu: path of the local QEMU
 *
 * Return: the JSON documents, greeting first
 */
GPtrArray *qm_kvm_local_transcript(const char *qemu)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    GPtrArray *docs = NULL;

    g_ptr_array_add(argv, (char *)qemu);
    for (const char *const *a = qm_qmp_probe_argv(); *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_assert_cmpint(qm_kvm_spawn_capture((const char *const *)argv->pdata,
                                         qm_qmp_request(), &out, &err),
                    ==, 0);
    g_assert_true(qm_qmp_split(out, strlen(out), &docs, &error));
    g_assert_no_error(error);
    return docs;
}

/**
 * qm_kvm_reply_by_id() - the reply with a given id
 * @docs: transcript
 * @id:   id
 *
 * Return: the reply object (borrowed)
 */
JsonObject *qm_kvm_reply_by_id(GPtrArray *docs, const char *id)
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
 * qm_kvm_write_doc() - write one QMP reply document to a file
 * @obj:    the reply
 * @path:   file name
 * @append: add to the file rather than replace it
 */
void qm_kvm_write_doc(JsonObject *obj, const char *path, gboolean append)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autofree char *doc = NULL;
    g_autofree char *old = NULL;
    g_autofree char *text = NULL;

    json_node_set_object(node, obj);
    json_generator_set_root(gen, node);
    doc = json_generator_to_data(gen, NULL);
    if (append)
        g_assert_true(g_file_get_contents(path, &old, NULL, NULL));
    text = g_strconcat(old ? old : "", doc, "\n\n", NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/**
 * qm_kvm_write_restricted_capture() - a capture of this host minus some
 * features
 * @docs:   real local transcript; its host model is edited in place
 * @hidden: filled with the names turned off (up to three of qm_kvm_bits[]
 *          that this host provides, static strings)
 *
 * Writes restricted.json (model expansion and definitions) and
 * machines.json (the machines reply, which the fake replays from a file
 * of its own) in qm_test_tmpdir().
 *
 * Return: newly allocated path of the capture file the fake QEMU replays
 */
char *qm_kvm_write_restricted_capture(GPtrArray *docs, GPtrArray *hidden)
{
    JsonObject *props = json_object_get_object_member(
        json_object_get_object_member(
            json_object_get_object_member(
                qm_kvm_reply_by_id(docs, "model-expansion"), "return"),
            "model"),
        "props");
    g_autofree char *path =
        g_build_filename(qm_test_tmpdir(), "restricted.json", NULL);
    g_autofree char *machines =
        g_build_filename(qm_test_tmpdir(), "machines.json", NULL);

    for (gsize i = 0; i < qm_kvm_n_bits && hidden->len < 3; i++) {
        const char *name = qm_kvm_bits[i].name;

        if (json_object_has_member(props, name) &&
            json_object_get_boolean_member(props, name)) {
            json_object_set_boolean_member(props, name, FALSE);
            g_ptr_array_add(hidden, (char *)name);
        }
    }
    g_assert_cmpuint(hidden->len, >, 0);
    qm_kvm_write_doc(qm_kvm_reply_by_id(docs, "model-expansion"), path, FALSE);
    qm_kvm_write_doc(qm_kvm_reply_by_id(docs, "definitions"), path, TRUE);
    qm_kvm_write_doc(qm_kvm_reply_by_id(docs, "machines"), machines, FALSE);
    return g_steal_pointer(&path);
}

/*
 * The test guest: a flat multiboot image (QEMU's -kernel loads it without
 * firmware tricks) that, once a second by the RTC, writes one line to
 * COM1: "QMCPU <round> cpuid: <12 words> END", the words being EAX, EBX,
 * ECX and EDX of CPUID leaves 1, 7 (subleaf 0) and 0x80000001 as the
 * guest's CPUID instruction returns them at that moment.  Assembled at
 * test time with binutils, so the suite ships no binary and downloads
 * nothing.  (A Linux guest cannot be used on every KVM host this runs on:
 * on the nested host this was written on, Debian's kernel took 150 s to
 * decompress and then hit a KVM emulation failure.)
 */
static const char guest_asm[] =
    "/* tests/kvmutil.c: a guest reporting its own CPUID */\n"
    "    .code32\n"
    "    .text\n"
    "    .globl start\n"
    "    .set LOAD, 0x100000\n"
    "header:             # multiboot 1 with the address fields: flat binary\n"
    "    .long 0x1BADB002\n"
    "    .long 0x00010000\n"
    "    .long -(0x1BADB002 + 0x00010000)\n"
    "    .long LOAD      # header_addr\n"
    "    .long LOAD      # load_addr\n"
    "    .long 0         # load_end_addr: the whole file\n"
    "    .long 0         # bss_end_addr: none\n"
    "    .long start     # entry_addr\n"
    "start:\n"
    "    cld\n"
    "    mov $stack_top, %esp\n"
    "    xor %edi, %edi  # round number\n"
    "round:\n"
    "    inc %edi\n"
    "    mov $s_start, %esi\n"
    "    call puts\n"
    "    mov %edi, %eax\n"
    "    call puthex\n"
    "    mov $s_cpuid, %esi\n"
    "    call puts\n"
    "    mov $1, %eax\n"
    "    call leaf\n"
    "    mov $7, %eax\n"
    "    call leaf\n"
    "    mov $0x80000001, %eax\n"
    "    call leaf\n"
    "    mov $s_end, %esi\n"
    "    call puts\n"
    "    call rtc_sec    # next round when the RTC's seconds change\n"
    "    mov %al, %bl\n"
    "1:  call rtc_sec\n"
    "    cmp %al, %bl\n"
    "    je 1b\n"
    "    jmp round\n"
    "leaf:               # print ' EAX EBX ECX EDX' of leaf %eax, subleaf 0\n"
    "    xor %ecx, %ecx\n"
    "    cpuid\n"
    "    push %edx\n"
    "    push %ecx\n"
    "    push %ebx\n"
    "    push %eax\n"
    "    mov $4, %ebp\n"
    "2:  mov $0x20, %al\n"
    "    call putc\n"
    "    pop %eax\n"
    "    call puthex\n"
    "    dec %ebp\n"
    "    jnz 2b\n"
    "    ret\n"
    "puthex:             # print %eax as 8 hex digits\n"
    "    push %ebx\n"
    "    push %ecx\n"
    "    mov %eax, %ebx\n"
    "    mov $8, %ecx\n"
    "3:  rol $4, %ebx\n"
    "    mov %ebx, %eax\n"
    "    and $0xf, %eax\n"
    "    movb hex(%eax), %al\n"
    "    call putc\n"
    "    loop 3b\n"
    "    pop %ecx\n"
    "    pop %ebx\n"
    "    ret\n"
    "puts:               # print the NUL-terminated string at %esi\n"
    "    lodsb\n"
    "    test %al, %al\n"
    "    jz 5f\n"
    "    call putc\n"
    "    jmp puts\n"
    "5:  ret\n"
    "putc:               # print %al on COM1 once its THR is empty\n"
    "    push %edx\n"
    "    push %eax\n"
    "    mov $0x3fd, %dx\n"
    "4:  in %dx, %al\n"
    "    test $0x20, %al\n"
    "    jz 4b\n"
    "    pop %eax\n"
    "    mov $0x3f8, %dx\n"
    "    out %al, %dx\n"
    "    pop %edx\n"
    "    ret\n"
    "rtc_sec:            # %al = the RTC's seconds register\n"
    "    mov $0, %al\n"
    "    out %al, $0x70\n"
    "    in $0x71, %al\n"
    "    ret\n"
    "hex:     .ascii \"0123456789abcdef\"\n"
    "s_start: .asciz \"QMCPU \"\n"
    "s_cpuid: .asciz \" cpuid:\"\n"
    "s_end:   .asciz \" END\\r\\n\"\n"
    "    .balign 16\n"
    "    .space 256\n"
    "stack_top:\n";

/**
 * qm_kvm_build_guest() - assemble the test guest
 * @image:  where to store the path of the flat multiboot image
 * @reason: where to store why it cannot be built here
 *
 * Return: TRUE on success
 */
gboolean qm_kvm_build_guest(char **image, char **reason)
{
    g_autofree char *as = g_find_program_in_path("as");
    g_autofree char *ld = g_find_program_in_path("ld");
    g_autofree char *src = g_build_filename(qm_test_tmpdir(), "guest.s", NULL);
    g_autofree char *obj = g_build_filename(qm_test_tmpdir(), "guest.o", NULL);
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *out2 = NULL, *err2 = NULL;

    *image = g_build_filename(qm_test_tmpdir(), "guest.bin", NULL);
    if (as == NULL || ld == NULL) {
        *reason = g_strdup("binutils (as, ld) not installed: cannot "
                           "assemble the test guest");
        return FALSE;
    }
    g_assert_true(g_file_set_contents(src, guest_asm, -1, NULL));
    {
        const char *argv[] = {as, "--32", "-o", obj, src, NULL};

        g_assert_cmpint(qm_kvm_spawn_capture(argv, "", &out, &err), ==, 0);
    }
    {
        const char *argv[] = {ld,   "-m",    "elf_i386",  "-Ttext=0x100000",
                              "-e", "start", "--oformat", "binary",
                              "-o", *image,  obj,         NULL};

        g_assert_cmpint(qm_kvm_spawn_capture(argv, "", &out2, &err2), ==, 0);
    }
    return TRUE;
}
