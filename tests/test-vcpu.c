/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig unit tests: the vCPU comparison (wrapper/vcpu.c) on synthetic
 * vCPU documents, and the QMP client (wrapper/monitor.c) against a fake
 * QMP server on a socketpair, run by a thread of the test.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/monitor.h"
#include "wrapper/vcpu.h"

/* ---- synthetic vCPU documents ---- */

/*
 * A small vCPU in qm_vcpu_to_json()'s form, shaped like QEMU 7.2's
 * qemu64 (single quotes stand for double quotes, see parse_doc()).
 */
static const char base_doc[] =
    "{'qemu-version': '7.2.22', 'qom-path': '/machine/unattached/device[0]',"
    " 'properties': {"
    "  'apic-id': {'type': 'uint32', 'value': 0},"
    "  'core-id': {'type': 'int32', 'value': 0},"
    "  'socket-id': {'type': 'int32', 'value': 0},"
    "  'hotplugged': {'type': 'bool', 'value': false},"
    "  'crash-information': {'type': 'GuestPanicInformation',"
    "                        'error': 'No crash occurred'},"
    "  'legacy-memory': {'type': 'link<memory-region>'},"
    "  'lapic': {'type': 'child<apic>'},"
    "  'family': {'type': 'uint32', 'value': 15},"
    "  'model-id': {'type': 'string',"
    "               'value': 'QEMU Virtual CPU version 2.5+'},"
    "  'pcid': {'type': 'bool', 'value': false},"
    "  'sse4.1': {'type': 'bool', 'value': true},"
    "  'sse4_1': {'type': 'bool', 'value': true},"
    "  'lbr-fmt': {'type': 'uint64', 'value': 0},"
    "  'lbr_fmt': {'type': 'uint64', 'value': 0},"
    "  'kvm-no-smi-migration': {'type': 'bool', 'value': false},"
    "  'tsc-frequency': {'type': 'int', 'value': 2000000000},"
    "  'unavailable-features': {'type': 'strList',"
    "                           'value': ['avx2', 'pcid', 'avx2']},"
    "  'feature-words': {'type': 'X86CPUFeatureWordInfo', 'value': ["
    "    {'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
    "     'features': 126614525},"
    "    {'cpuid-register': 'ECX', 'cpuid-input-eax': 1,"
    "     'features': 2155880449},"
    "    {'cpuid-register': 'EBX', 'cpuid-input-ecx': 0,"
    "     'cpuid-input-eax': 7, 'features': 0},"
    "    {'cpuid-register': 'ECX', 'cpuid-input-eax': 2147483649,"
    "     'features': 65}]},"
    "  'filtered-features': {'type': 'X86CPUFeatureWordInfo', 'value': ["
    "    {'cpuid-register': 'EDX', 'cpuid-input-eax': 1, 'features': 0}]}"
    " }}";

/**
 * parse_doc() - parse test JSON written with single quotes
 * @text: JSON text, ' for "
 *
 * Return: new mutable document
 */
static JsonNode *parse_doc(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autofree char *json = g_strdup(text);
    g_autoptr(GError) error = NULL;

    g_strdelimit(json, "'", '"');
    json_parser_load_from_data(parser, json, -1, &error);
    g_assert_no_error(error);
    return json_node_ref(json_parser_get_root(parser));
}

/**
 * props() - the properties object of a document
 * @doc: from parse_doc()
 *
 * Return: borrowed object
 */
static JsonObject *props(JsonNode *doc)
{
    return json_object_get_object_member(json_node_get_object(doc),
                                         "properties");
}

/**
 * set_prop() - replace or add one property of a document
 * @doc:  from parse_doc()
 * @name: property name
 * @spec: its {"type": ..., "value": ...} object, single-quoted
 */
static void set_prop(JsonNode *doc, const char *name, const char *spec)
{
    json_object_set_member(props(doc), name, parse_doc(spec));
}

/**
 * set_value() - replace one property's value, keeping its type
 * @doc:   from parse_doc()
 * @name:  property name
 * @value: JSON text of the value, single-quoted
 */
static void set_value(JsonNode *doc, const char *name, const char *value)
{
    json_object_set_member(json_object_get_object_member(props(doc), name),
                           "value", parse_doc(value));
}

/**
 * vcpu_of() - a QmVcpu from a document, asserting it is valid
 * @doc: the document
 *
 * Return: new vCPU
 */
static QmVcpu *vcpu_of(JsonNode *doc)
{
    g_autoptr(GError) error = NULL;
    QmVcpu *vcpu = qm_vcpu_from_json(doc, &error);

    g_assert_no_error(error);
    g_assert_nonnull(vcpu);
    return vcpu;
}

/**
 * compare_docs() - compare two documents, logging the result
 * @a:     side A
 * @b:     side B
 * @flags: QmVcpuCompareFlags
 *
 * Return: new comparison
 */
static QmVcpuComparison *compare_docs(JsonNode *a, JsonNode *b, unsigned flags)
{
    g_autoptr(QmVcpu) va = vcpu_of(a);
    g_autoptr(QmVcpu) vb = vcpu_of(b);
    QmVcpuComparison *c = qm_vcpu_compare(va, vb, flags);
    g_autofree char *text = qm_vcpu_comparison_describe(c, "A", "B");

    g_test_message("%s", text);
    return c;
}

/**
 * has_prefix_in() - whether a string array holds one starting with @prefix
 * @array:  char * array
 * @prefix: the start
 *
 * Return: TRUE if so
 */
static gboolean has_prefix_in(GPtrArray *array, const char *prefix)
{
    for (guint i = 0; i < array->len; i++) {
        if (g_str_has_prefix(g_ptr_array_index(array, i), prefix))
            return TRUE;
    }
    return FALSE;
}

/**
 * diff_at() - one difference of a comparison
 * @c: the comparison
 * @i: index
 *
 * Return: borrowed difference
 */
static const QmVcpuDiff *diff_at(const QmVcpuComparison *c, guint i)
{
    return g_ptr_array_index(c->differences, i);
}

/**
 * test_identical() - two equal vCPUs: no difference, and every property
 * not compared says why
 */
static void test_identical(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = compare_docs(a, b, QM_VCPU_COMPARE_TSC);
    g_autoptr(QmVcpu) va = vcpu_of(a);
    g_autoptr(QmVcpuComparison) self = qm_vcpu_compare(va, va, 0);

    g_assert_cmpuint(c->differences->len, ==, 0);
    g_assert_cmpuint(c->only_a->len, ==, 0);
    g_assert_cmpuint(c->only_b->len, ==, 0);
    /* family model-id pcid sse4.1 sse4_1 lbr-fmt lbr_fmt
     * kvm-no-smi-migration tsc-frequency unavailable-features
     * feature-words filtered-features */
    g_assert_cmpuint(c->compared, ==, 12);
    g_assert_true(has_prefix_in(c->skipped, "apic-id: per-instance identity"));
    g_assert_true(has_prefix_in(c->skipped, "hotplugged: per-instance state"));
    g_assert_true(has_prefix_in(c->skipped, "crash-information: runtime"));
    g_assert_true(has_prefix_in(c->skipped, "lapic: child<apic>, an object"));
    g_assert_true(
        has_prefix_in(c->skipped, "legacy-memory: link<memory-region>"));
    /* sorted */
    for (guint i = 1; i < c->skipped->len; i++)
        g_assert_cmpstr(g_ptr_array_index(c->skipped, i - 1), <,
                        g_ptr_array_index(c->skipped, i));
    /* comparing a vCPU with itself is fine too */
    g_assert_cmpuint(self->differences->len, ==, 0);
}

/**
 * test_bool() - one boolean differs: exactly that one difference
 */
static void test_bool(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;
    g_autofree char *text = NULL;

    set_value(b, "pcid", "true");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(c, 0)->name, ==, "pcid");
    g_assert_cmpstr(diff_at(c, 0)->a, ==, "false");
    g_assert_cmpstr(diff_at(c, 0)->b, ==, "true");
    text = qm_vcpu_comparison_describe(c, "7.2", "10.0");
    g_assert_nonnull(strstr(text, "  pcid: 7.2=false 10.0=true\n"));
    g_assert_nonnull(strstr(text, "1 difference in 11 properties compared"));
}

/**
 * test_aliases() - alias spellings are separate properties, each compared
 */
static void test_aliases(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;

    set_value(b, "lbr_fmt", "5");
    set_value(b, "sse4.1", "false");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 2);
    g_assert_cmpstr(diff_at(c, 0)->name, ==, "lbr_fmt");
    g_assert_cmpstr(diff_at(c, 1)->name, ==, "sse4.1");
}

/**
 * test_words_order() - feature words listed in another order are equal
 */
static void test_words_order(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;

    set_value(b, "feature-words",
              "[{'features': 65, 'cpuid-input-eax': 2147483649,"
              "  'cpuid-register': 'ECX'},"
              " {'cpuid-register': 'EBX', 'cpuid-input-eax': 7,"
              "  'cpuid-input-ecx': 0, 'features': 0},"
              " {'cpuid-register': 'ECX', 'cpuid-input-eax': 1,"
              "  'features': 2155880449},"
              " {'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 126614525}]");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 0);
}

/**
 * test_word_missing() - a word only one side lists counts as zeros
 */
static void test_word_missing(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) zero = NULL;
    g_autoptr(QmVcpuComparison) bit4 = NULL;
    JsonArray *words = json_object_get_array_member(
        json_object_get_object_member(props(b), "feature-words"), "value");

    /* B's QEMU knows a word A's does not, but sets no bit of it */
    json_array_add_element(words,
                           parse_doc("{'cpuid-register': 'EAX', "
                                     "'cpuid-input-eax': 13, "
                                     "'cpuid-input-ecx': 1, 'features': 0}"));
    zero = compare_docs(a, b, 0);
    g_assert_cmpuint(zero->differences->len, ==, 0);

    /* ... and now bit 4 of it */
    json_array_remove_element(words, json_array_get_length(words) - 1);
    json_array_add_element(words,
                           parse_doc("{'cpuid-register': 'EAX', "
                                     "'cpuid-input-eax': 13, "
                                     "'cpuid-input-ecx': 1, 'features': 16}"));
    bit4 = compare_docs(a, b, 0);
    g_assert_cmpuint(bit4->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(bit4, 0)->name, ==,
                    "feature-words CPUID[EAX=0xd,ECX=0x1].EAX");
    g_assert_cmpstr(diff_at(bit4, 0)->a, ==, "0x00000000");
    g_assert_cmpstr(diff_at(bit4, 0)->b, ==, "0x00000010 (+bit4)");
}

/**
 * test_word_bits() - bits B lacks and has more in one word, and words
 * without a subleaf named so
 */
static void test_word_bits(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;

    /* 65 = bits 0 and 6; 66 = bits 1 and 6 */
    set_value(b, "feature-words",
              "[{'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 126614525},"
              " {'cpuid-register': 'ECX', 'cpuid-input-eax': 1,"
              "  'features': 2155880449},"
              " {'cpuid-register': 'EBX', 'cpuid-input-ecx': 0,"
              "  'cpuid-input-eax': 7, 'features': 0},"
              " {'cpuid-register': 'ECX', 'cpuid-input-eax': 2147483649,"
              "  'features': 66}]");
    set_value(b, "filtered-features",
              "[{'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 2147483648}]");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 2);
    g_assert_cmpstr(diff_at(c, 0)->name, ==,
                    "feature-words CPUID[EAX=0x80000001].ECX");
    g_assert_cmpstr(diff_at(c, 0)->a, ==, "0x00000041");
    g_assert_cmpstr(diff_at(c, 0)->b, ==, "0x00000042 (-bit0 +bit1)");
    g_assert_cmpstr(diff_at(c, 1)->name, ==,
                    "filtered-features CPUID[EAX=0x1].EDX");
    g_assert_cmpstr(diff_at(c, 1)->b, ==, "0x80000000 (+bit31)");
}

/**
 * test_words_malformed() - a word list that is not one is compared as
 * JSON, so it cannot pass unseen; a word listed twice is malformed
 */
static void test_words_malformed(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(JsonNode) twice_a = parse_doc(base_doc);
    g_autoptr(JsonNode) twice_b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;
    g_autoptr(QmVcpuComparison) twice = NULL;
    set_value(b, "feature-words", "'none'");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(c, 0)->name, ==, "feature-words");
    g_assert_cmpstr(diff_at(c, 0)->b, ==, "\"none\"");

    set_value(twice_a, "filtered-features",
              "[{'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 0},"
              " {'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 1}]");
    set_value(twice_b, "filtered-features",
              "[{'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 0},"
              " {'cpuid-register': 'EDX', 'cpuid-input-eax': 1,"
              "  'features': 2}]");
    twice = compare_docs(twice_a, twice_b, 0);
    g_assert_cmpuint(twice->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(twice, 0)->name, ==, "filtered-features");
}

/**
 * test_identity() - per-vCPU identity differs: no difference, but listed
 * as skipped with the reason
 */
static void test_identity(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;

    set_value(b, "apic-id", "3");
    set_value(b, "core-id", "1");
    set_value(b, "socket-id", "1");
    set_value(b, "hotplugged", "true");
    set_prop(b, "crash-information",
             "{'type': 'GuestPanicInformation', 'value': {'type': 'hyper-v'}}");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 0);
    g_assert_true(has_prefix_in(c->skipped, "apic-id: per-instance identity"));
    g_assert_true(has_prefix_in(c->skipped, "core-id: per-instance identity"));
    g_assert_true(
        has_prefix_in(c->skipped, "socket-id: per-instance identity"));
    g_assert_true(has_prefix_in(c->skipped, "hotplugged: per-instance state"));
    g_assert_true(has_prefix_in(c->skipped, "crash-information: runtime"));
}

/**
 * test_tsc() - tsc-frequency counts only with QM_VCPU_COMPARE_TSC
 */
static void test_tsc(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) without = NULL;
    g_autoptr(QmVcpuComparison) with = NULL;

    set_value(b, "tsc-frequency", "2500000000");
    without = compare_docs(a, b, 0);
    g_assert_cmpuint(without->differences->len, ==, 0);
    g_assert_true(has_prefix_in(without->skipped,
                                "tsc-frequency: compared only with "
                                "QM_VCPU_COMPARE_TSC"));
    with = compare_docs(a, b, QM_VCPU_COMPARE_TSC);
    g_assert_cmpuint(with->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(with, 0)->name, ==, "tsc-frequency");
    g_assert_cmpstr(diff_at(with, 0)->a, ==, "2000000000");
    g_assert_cmpstr(diff_at(with, 0)->b, ==, "2500000000");
    g_assert_false(has_prefix_in(with->skipped, "tsc-frequency"));
    g_assert_cmpuint(with->compared, ==, without->compared + 1);
}

/**
 * test_only_one_side() - properties one QEMU lacks are listed, not
 * differences, even where the other side's value would be skipped
 */
static void test_only_one_side(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;

    set_prop(b, "fred", "{'type': 'bool', 'value': true}");
    set_prop(b, "module-id", "{'type': 'int32', 'value': 0}");
    json_object_remove_member(props(b), "kvm-no-smi-migration");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 0);
    g_assert_cmpuint(c->only_a->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(c->only_a, 0), ==,
                    "kvm-no-smi-migration");
    g_assert_cmpuint(c->only_b->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(c->only_b, 0), ==, "fred");
    g_assert_cmpstr(g_ptr_array_index(c->only_b, 1), ==, "module-id");
}

/**
 * test_unavailable_set() - unavailable-features is a set: order and
 * repeats do not count, a member more or less does
 */
static void test_unavailable_set(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) same = NULL;
    g_autoptr(QmVcpuComparison) other = NULL;

    set_value(b, "unavailable-features", "['pcid', 'avx2']");
    same = compare_docs(a, b, 0);
    g_assert_cmpuint(same->differences->len, ==, 0);

    set_value(b, "unavailable-features", "['pcid', 'x2apic']");
    other = compare_docs(a, b, 0);
    g_assert_cmpuint(other->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(other, 0)->a, ==, "[\"avx2\",\"pcid\"]");
    g_assert_cmpstr(diff_at(other, 0)->b, ==,
                    "[\"pcid\",\"x2apic\"] (+x2apic -avx2)");
}

/**
 * test_unreadable() - a property one side cannot read is a difference;
 * unreadable on both sides, it is skipped, saying why
 */
static void test_unreadable(void)
{
    g_autoptr(JsonNode) a = parse_doc(base_doc);
    g_autoptr(JsonNode) b = parse_doc(base_doc);
    g_autoptr(QmVcpuComparison) c = NULL;
    g_autoptr(QmVcpuComparison) both = NULL;

    set_prop(b, "family", "{'type': 'uint32', 'error': 'nope'}");
    c = compare_docs(a, b, 0);
    g_assert_cmpuint(c->differences->len, ==, 1);
    g_assert_cmpstr(diff_at(c, 0)->name, ==, "family");
    g_assert_cmpstr(diff_at(c, 0)->b, ==, "(unreadable: nope)");

    set_prop(a, "family", "{'type': 'uint32', 'error': 'nope'}");
    both = compare_docs(a, b, 0);
    g_assert_cmpuint(both->differences->len, ==, 0);
    g_assert_true(has_prefix_in(both->skipped, "family: unreadable on both "
                                               "sides: nope"));
}

/**
 * test_json_roundtrip() - qm_vcpu_to_json() and qm_vcpu_from_json() keep
 * everything, in a fixed order
 */
static void test_json_roundtrip(void)
{
    g_autoptr(JsonNode) doc = parse_doc(base_doc);
    g_autoptr(QmVcpu) first = vcpu_of(doc);
    g_autoptr(JsonNode) out1 = qm_vcpu_to_json(first);
    g_autoptr(QmVcpu) second = vcpu_of(out1);
    g_autoptr(JsonNode) out2 = qm_vcpu_to_json(second);
    g_autofree char *text1 = json_to_string(out1, FALSE);
    g_autofree char *text2 = json_to_string(out2, FALSE);
    g_autoptr(QmVcpuComparison) c = qm_vcpu_compare(first, second, 0);

    g_assert_cmpstr(text1, ==, text2);
    g_assert_cmpstr(second->qemu_version, ==, "7.2.22");
    g_assert_cmpstr(second->qom_path, ==, "/machine/unattached/device[0]");
    g_assert_cmpstr(
        g_hash_table_lookup(second->unreadable, "crash-information"), ==,
        "No crash occurred");
    g_assert_cmpstr(g_hash_table_lookup(second->types, "lapic"), ==,
                    "child<apic>");
    g_assert_false(g_hash_table_contains(second->values, "lapic"));
    g_assert_cmpuint(c->differences->len, ==, 0);
    g_assert_true(g_str_has_prefix(text1, "{\"qemu-version\":\"7.2.22\","));
}

/**
 * test_json_invalid() - malformed vCPU documents are refused
 */
static void test_json_invalid(void)
{
    static const char *const bad[] = {
        "[]",
        "{'qemu-version': '7.2.22'}",
        "{'properties': []}",
        "{'properties': {}, 'extra': 1}",
        "{'qemu-version': 7, 'properties': {}}",
        "{'properties': {'pcid': true}}",
        "{'properties': {'pcid': {'type': 'bool', 'value': true, 'x': 1}}}",
        "{'properties': {'pcid': {'type': 1, 'value': true}}}",
        "{'properties': {'pcid': {'value': true, 'error': 'both'}}}",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(JsonNode) doc = parse_doc(bad[i]);
        g_autoptr(GError) error = NULL;
        g_autoptr(QmVcpu) vcpu = qm_vcpu_from_json(doc, &error);

        g_assert_null(vcpu);
        g_assert_error(error, QM_ERROR, QM_ERROR_PROTOCOL);
    }
}

/* ---- a fake QMP server ---- */

/**
 * FakeStep - what the fake expects next and how it answers
 * @expect: the command the client must send
 * @reply:  lines to write, with "@ID@" standing for the request's id;
 *          NULL to close the connection instead, "" to fall silent
 *          (keeping the connection open until the client closes it), or
 *          "@HUGE@" for a line longer than QM_MONITOR_MAX_LINE.  A reply
 *          starting with '~' is written one byte at a time.
 */
typedef struct {
    const char *expect;
    const char *reply;
} FakeStep;

/**
 * Fake - a fake QMP server run by a thread
 * @fd:       its end of the connection
 * @greeting: the first line it writes
 * @steps:    the conversation, ended by a step with @expect NULL
 */
typedef struct {
    int fd;
    const char *greeting;
    const FakeStep *steps;
} Fake;

#define GREETING_10                                                            \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, "         \
    "\"major\": 10}, \"package\": \"Debian 1:10.0.2\"}, "                      \
    "\"capabilities\": [\"oob\"]}}\r\n"
#define CAPS_OK                                                                \
    {                                                                          \
        "qmp_capabilities", "{\"return\": {}, \"id\": \"@ID@\"}\r\n"           \
    }

/**
 * fake_write() - write all of a buffer, ignoring a client that left
 * @fd:      socket
 * @buf:     bytes
 * @len:     their length
 * @bytewise: one byte per send(), so that the client sees partial lines
 */
static void fake_write(int fd, const char *buf, gsize len, gboolean bytewise)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, bytewise ? 1 : len, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (gsize)w;
        if (bytewise)
            g_usleep(200);
    }
}

/**
 * fake_read_line() - read one request line, blocking
 * @fd: socket
 *
 * Return: the line without its newline, or NULL at end of stream
 */
static char *fake_read_line(int fd)
{
    g_autoptr(GString) line = g_string_new(NULL);
    char c;

    for (;;) {
        ssize_t r = read(fd, &c, 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        if (c == '\n')
            return g_string_free(g_steal_pointer(&line), FALSE);
        g_string_append_c(line, c);
    }
}

/**
 * fake_reply() - a reply template with the request's id filled in
 * @reply: template holding "@ID@" any number of times
 * @id:    the id
 *
 * Return: newly allocated text
 */
static char *fake_reply(const char *reply, const char *id)
{
    g_auto(GStrv) parts = g_strsplit(reply, "@ID@", -1);

    return g_strjoinv(id, parts);
}

/**
 * fake_run() - GThreadFunc: play one conversation, then wait for the
 * client to close the connection
 * @data: the Fake
 *
 * Return: NULL
 */
static gpointer fake_run(gpointer data)
{
    Fake *fake = data;
    gboolean silent = FALSE;
    char *line;

    fake_write(fake->fd, fake->greeting, strlen(fake->greeting), FALSE);
    for (const FakeStep *step = fake->steps; step->expect != NULL; step++) {
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autofree char *request = fake_read_line(fake->fd);
        g_autofree char *reply = NULL;
        JsonObject *obj;

        if (request == NULL)
            break;
        g_assert_true(json_parser_load_from_data(parser, request, -1, NULL));
        obj = json_node_get_object(json_parser_get_root(parser));
        g_assert_cmpstr(json_object_get_string_member(obj, "execute"), ==,
                        step->expect);
        if (step->reply == NULL)
            break;
        if (*step->reply == '\0') {
            silent = TRUE;
            break;
        }
        if (strcmp(step->reply, "@HUGE@") == 0) {
            gsize len = QM_MONITOR_MAX_LINE + 1024 * 1024;
            g_autofree char *huge = g_malloc(len);

            memset(huge, 'x', len);
            fake_write(fake->fd, huge, len, FALSE);
            continue;
        }
        reply = fake_reply(step->reply + (*step->reply == '~'),
                           json_object_get_string_member(obj, "id"));
        fake_write(fake->fd, reply, strlen(reply), *step->reply == '~');
    }
    /* the end of the conversation is the client's to choose */
    if (!silent)
        shutdown(fake->fd, SHUT_WR);
    while ((line = fake_read_line(fake->fd)) != NULL)
        g_free(line);
    close(fake->fd);
    return NULL;
}

/**
 * FakeRun - a fake server and the client's monitor on it
 * @fake:   the server's script
 * @thread: the thread running it
 * @mon:    the client, or NULL if connecting failed
 * @error:  why connecting failed
 */
typedef struct {
    Fake fake;
    GThread *thread;
    QmMonitor *mon;
    GError *error;
} FakeRun;

/**
 * fake_start() - start a fake server and connect a monitor to it
 * @greeting: the first line the server writes
 * @steps:    the conversation after it
 *
 * Return: the run; fake_end() it
 */
static FakeRun *fake_start(const char *greeting, const FakeStep *steps)
{
    FakeRun *run = g_new0(FakeRun, 1);
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==,
                    0);
    run->fake.fd = sv[1];
    run->fake.greeting = greeting;
    run->fake.steps = steps;
    run->thread = g_thread_new("fake-qmp", fake_run, &run->fake);
    run->mon = qm_monitor_new_fd(
        sv[0], g_get_monotonic_time() + 5 * G_USEC_PER_SEC, &run->error);
    return run;
}

/**
 * fake_end() - close the client and wait for the server
 * @run: from fake_start()
 */
static void fake_end(FakeRun *run)
{
    qm_monitor_free(run->mon);
    g_thread_join(run->thread);
    g_clear_error(&run->error);
    g_free(run);
}

/**
 * deadline_in() - a deadline some time from now
 * @ms: milliseconds
 *
 * Return: g_get_monotonic_time() deadline
 */
static gint64 deadline_in(int ms)
{
    return g_get_monotonic_time() + ms * (gint64)1000;
}

/**
 * test_monitor_basic() - greeting, capabilities, a reply after an
 * interleaved event, the event queued; a reply written byte by byte
 */
static void test_monitor_basic(void)
{
    static const FakeStep steps[] = {
        CAPS_OK,
        {"query-status",
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
         "\"event\": \"STOP\"}\r\n"
         "{\"return\": {\"status\": \"paused\", \"running\": false}, "
         "\"id\": \"@ID@\"}\r\n"},
        {"query-name",
         "~{\"return\": {\"name\": \"a\"}, \"id\": \"@ID@\"}\r\n"},
        {NULL, NULL},
    };
    FakeRun *run = fake_start(GREETING_10, steps);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonNode) name = NULL;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GPtrArray) none = NULL;

    g_assert_no_error(run->error);
    g_assert_cmpstr(qm_monitor_qemu_version(run->mon), ==, "10.0.2");
    g_assert_true(qm_monitor_execute(run->mon, "query-status", NULL,
                                     deadline_in(5000), &ret, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(
        json_object_get_string_member(json_node_get_object(ret), "status"), ==,
        "paused");
    g_assert_null(json_node_get_parent(ret));
    events = qm_monitor_take_events(run->mon);
    g_assert_cmpuint(events->len, ==, 1);
    g_assert_cmpstr(
        json_object_get_string_member(
            json_node_get_object(g_ptr_array_index(events, 0)), "event"),
        ==, "STOP");
    none = qm_monitor_take_events(run->mon);
    g_assert_cmpuint(none->len, ==, 0);
    g_assert_true(qm_monitor_execute(run->mon, "query-name", NULL,
                                     deadline_in(5000), &name, &error));
    g_assert_no_error(error);
    fake_end(run);
}

/**
 * test_monitor_qemu_error() - QEMU refusing a command is QM_ERROR_QEMU
 * with its description, and leaves the monitor usable
 */
static void test_monitor_qemu_error(void)
{
    static const FakeStep steps[] = {
        CAPS_OK,
        {"qom-get", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"No crash occurred\"}, \"id\": \"@ID@\"}\r\n"},
        {"query-status", "{\"return\": {}, \"id\": \"@ID@\"}\r\n"},
        {NULL, NULL},
    };
    FakeRun *run = fake_start(GREETING_10, steps);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) args = json_node_new(JSON_NODE_OBJECT);
    JsonNode *ret = NULL;

    json_node_take_object(args, json_object_new());
    g_assert_no_error(run->error);
    g_assert_false(qm_monitor_execute(run->mon, "qom-get", args,
                                      deadline_in(5000), &ret, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_QEMU);
    g_assert_cmpstr(error->message, ==, "qom-get: No crash occurred");
    g_assert_null(ret);
    g_clear_error(&error);
    g_assert_true(qm_monitor_execute(run->mon, "query-status", NULL,
                                     deadline_in(5000), NULL, &error));
    g_assert_no_error(error);
    fake_end(run);
}

/**
 * ProtocolCase - one malformed reply and the error it must give
 * @name:  test path component
 * @reply: the fake's reply
 * @code:  expected QM_ERROR code
 * @text:  a part of the expected message
 */
typedef struct {
    const char *name;
    const char *reply;
    int code;
    const char *text;
} ProtocolCase;

static const ProtocolCase protocol_cases[] = {
    {"garbage", "this is not json\r\n", QM_ERROR_PROTOCOL, "malformed JSON"},
    {"not-object", "[1, 2]\r\n", QM_ERROR_PROTOCOL, "not an object"},
    {"wrong-id", "{\"return\": {}, \"id\": \"qm-99\"}\r\n", QM_ERROR_PROTOCOL,
     "id \"qm-99\""},
    {"no-id", "{\"return\": {}}\r\n", QM_ERROR_PROTOCOL, "without a string id"},
    {"repeated-key", "{\"return\": {}, \"return\": 1, \"id\": \"@ID@\"}\r\n",
     QM_ERROR_PROTOCOL, "appears twice"},
    {"no-return", "{\"id\": \"@ID@\"}\r\n", QM_ERROR_PROTOCOL,
     "without exactly one"},
    {"two-docs", "{\"return\": {}, \"id\": \"@ID@\"} {}\r\n", QM_ERROR_PROTOCOL,
     "malformed JSON"},
    {"huge", "@HUGE@", QM_ERROR_PROTOCOL, "longer than 16777216 bytes"},
    {"eof", NULL, QM_ERROR_UNREACHABLE,
     "QMP monitor closed the connection while waiting for the reply to "
     "query-status"},
    {"eof-mid-line", "{\"return\": {}, ", QM_ERROR_UNREACHABLE,
     "closed the connection"},
};

/**
 * test_monitor_protocol() - a malformed or missing reply is an error,
 * and the monitor stays unusable afterwards
 * @data: the ProtocolCase
 */
static void test_monitor_protocol(gconstpointer data)
{
    const ProtocolCase *pc = data;
    FakeStep steps[] = {CAPS_OK, {"query-status", pc->reply}, {NULL, NULL}};
    FakeRun *run = fake_start(GREETING_10, steps);
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) again = NULL;

    g_assert_no_error(run->error);
    g_assert_false(qm_monitor_execute(run->mon, "query-status", NULL,
                                      deadline_in(10000), NULL, &error));
    g_assert_error(error, QM_ERROR, pc->code);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, pc->text));
    /* a late reply would be taken for the next command's */
    g_assert_false(qm_monitor_execute(run->mon, "query-status", NULL,
                                      deadline_in(1000), NULL, &again));
    g_assert_error(again, QM_ERROR, pc->code);
    g_assert_true(g_str_has_prefix(again->message,
                                   "QMP monitor unusable after an earlier"));
    fake_end(run);
}

/**
 * test_monitor_greeting() - a peer that does not greet like QEMU
 */
static void test_monitor_greeting(void)
{
    static const FakeStep steps[] = {{NULL, NULL}};
    FakeRun *run = fake_start("{\"hello\": {}}\r\n", steps);

    g_assert_null(run->mon);
    g_assert_error(run->error, QM_ERROR, QM_ERROR_PROTOCOL);
    g_assert_nonnull(strstr(run->error->message, "QMP banner"));
    fake_end(run);
}

/**
 * test_monitor_silence() - no reply: QM_ERROR_UNREACHABLE at the deadline,
 * not much later
 */
static void test_monitor_silence(void)
{
    static const FakeStep steps[] = {
        CAPS_OK, {"query-status", ""}, {NULL, NULL}};
    FakeRun *run = fake_start(GREETING_10, steps);
    g_autoptr(GError) error = NULL;
    gint64 deadline, late;

    g_assert_no_error(run->error);
    deadline = deadline_in(300);
    g_assert_false(qm_monitor_execute(run->mon, "query-status", NULL, deadline,
                                      NULL, &error));
    late = g_get_monotonic_time() - deadline;
    g_test_message("%s (%" G_GINT64_FORMAT " us after the deadline)",
                   error->message, late);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_cmpstr(error->message, ==,
                    "QMP monitor: timed out after 0.3 s waiting for the "
                    "reply to query-status");
    g_assert_cmpint(late, >=, 0);
    g_assert_cmpint(late, <, 300 * 1000);
    fake_end(run);
}

/**
 * test_monitor_pipelined() - three commands in one round trip, the second
 * failing: its reply is NULL and its error QEMU's description
 */
static void test_monitor_pipelined(void)
{
    static const FakeStep steps[] = {
        CAPS_OK,
        {"qom-get", "{\"return\": 1, \"id\": \"@ID@\"}\r\n"},
        {"qom-get",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": "
         "\"Property 'x.legacy-memory' is not readable\\u001b[0m\"}, "
         "\"id\": \"@ID@\"}\r\n"
         "{\"event\": \"RESUME\"}\r\n"},
        {"query-name", "{\"return\": {\"name\": \"a\"}, "
                       "\"id\": \"@ID@\"}\r\n"},
        {NULL, NULL},
    };
    static const char *const commands[] = {"qom-get", "qom-get", "query-name"};
    FakeRun *run = fake_start(GREETING_10, steps);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) replies = NULL;
    g_autoptr(GPtrArray) errors = NULL;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(JsonNode) args = json_node_new(JSON_NODE_OBJECT);
    JsonNode *arguments[] = {args, args, NULL};

    json_node_take_object(args, json_object_new());
    g_assert_no_error(run->error);
    g_assert_true(qm_monitor_execute_many(run->mon, 3, commands, arguments,
                                          deadline_in(5000), &replies, &errors,
                                          &error));
    g_assert_no_error(error);
    g_assert_cmpuint(replies->len, ==, 3);
    g_assert_cmpuint(errors->len, ==, 3);
    g_assert_cmpint(json_node_get_int(g_ptr_array_index(replies, 0)), ==, 1);
    g_assert_null(g_ptr_array_index(replies, 1));
    g_assert_nonnull(g_ptr_array_index(replies, 2));
    g_assert_null(g_ptr_array_index(errors, 0));
    g_assert_cmpstr(g_ptr_array_index(errors, 1), ==,
                    "Property 'x.legacy-memory' is not readable\\x1b[0m");
    g_assert_null(g_ptr_array_index(errors, 2));
    events = qm_monitor_take_events(run->mon);
    g_assert_cmpuint(events->len, ==, 1);
    fake_end(run);
}

/**
 * accept_one() - GThreadFunc: accept one client, then play a Fake on it
 * @data: the Fake, whose fd is the listening socket until accepted
 *
 * Return: NULL
 */
static gpointer accept_one(gpointer data)
{
    Fake *fake = data;
    int listener = fake->fd;

    fake->fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    close(listener);
    g_assert_cmpint(fake->fd, >=, 0);
    return fake_run(fake);
}

/**
 * test_monitor_unix() - qm_monitor_connect_unix() on a listening socket,
 * and on a path where nothing listens
 */
static void test_monitor_unix(void)
{
    static const FakeStep steps[] = {CAPS_OK, {NULL, NULL}};
    g_autofree char *path = g_build_filename(qm_test_tmpdir(), "qmp", NULL);
    g_autofree char *missing =
        g_build_filename(qm_test_tmpdir(), "missing", NULL);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    Fake fake = {.greeting = GREETING_10, .steps = steps};
    g_autoptr(GError) error = NULL;
    g_autoptr(QmMonitor) none = NULL;
    QmMonitor *mon;
    GThread *thread;

    g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
    strcpy(addr.sun_path, path);
    fake.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(fake.fd, >=, 0);
    g_assert_cmpint(bind(fake.fd, (struct sockaddr *)&addr, sizeof(addr)), ==,
                    0);
    g_assert_cmpint(listen(fake.fd, 1), ==, 0);
    thread = g_thread_new("fake-qmp", accept_one, &fake);
    mon = qm_monitor_connect_unix(path, deadline_in(5000), &error);
    g_assert_no_error(error);
    g_assert_cmpstr(qm_monitor_qemu_version(mon), ==, "10.0.2");
    qm_monitor_free(mon);
    g_thread_join(thread);
    unlink(path);

    none = qm_monitor_connect_unix(missing, deadline_in(5000), &error);
    g_assert_null(none);
    g_assert_error(error, QM_ERROR, QM_ERROR_UNREACHABLE);
    g_assert_nonnull(strstr(error->message, "cannot connect"));
}

int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);

    g_test_add_func("/vcpu/compare/identical", test_identical);
    g_test_add_func("/vcpu/compare/bool", test_bool);
    g_test_add_func("/vcpu/compare/aliases", test_aliases);
    g_test_add_func("/vcpu/compare/words-order", test_words_order);
    g_test_add_func("/vcpu/compare/word-missing", test_word_missing);
    g_test_add_func("/vcpu/compare/word-bits", test_word_bits);
    g_test_add_func("/vcpu/compare/words-malformed", test_words_malformed);
    g_test_add_func("/vcpu/compare/identity", test_identity);
    g_test_add_func("/vcpu/compare/tsc", test_tsc);
    g_test_add_func("/vcpu/compare/only-one-side", test_only_one_side);
    g_test_add_func("/vcpu/compare/unavailable-set", test_unavailable_set);
    g_test_add_func("/vcpu/compare/unreadable", test_unreadable);
    g_test_add_func("/vcpu/json/roundtrip", test_json_roundtrip);
    g_test_add_func("/vcpu/json/invalid", test_json_invalid);
    g_test_add_func("/monitor/basic", test_monitor_basic);
    g_test_add_func("/monitor/qemu-error", test_monitor_qemu_error);
    for (gsize i = 0; i < G_N_ELEMENTS(protocol_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/monitor/protocol/%s", protocol_cases[i].name);

        g_test_add_data_func(path, &protocol_cases[i], test_monitor_protocol);
    }
    g_test_add_func("/monitor/greeting", test_monitor_greeting);
    g_test_add_func("/monitor/silence", test_monitor_silence);
    g_test_add_func("/monitor/pipelined", test_monitor_pipelined);
    g_test_add_func("/monitor/unix", test_monitor_unix);
    return g_test_run();
}
