/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: what qemu-mig migrate prints: the progress line, the
 * --json events and the summary.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "testutil.h"
#include "wrapper/migreport.h"

/**
 * parse_line() - one --json event, which must be one line of one object
 * @text: the event
 *
 * Return: the object's node
 */
static JsonNode *parse_line(const char *text)
{
    g_autoptr(GError) error = NULL;
    JsonNode *node;

    /* one line: its only newline ends it */
    g_assert_true(strchr(text, '\n') == text + strlen(text) - 1);
    node = json_from_string(text, &error);
    g_assert_no_error(error);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
    return node;
}

/**
 * test_progress_text() - the figures of the progress line: half of 1 GiB
 * left at 100 MiB/s is 50% and 5 s to go
 */
static void test_progress_text(void)
{
    QmMigrateProgress p = {
        .status = "active",
        .total = 1024 * 1024 * 1024,
        .transferred = 600 * 1024 * 1024,
        .remaining = 512 * 1024 * 1024,
        .rate = 100 * 1024 * 1024,
        .dirty_rate = 2 * 1024 * 1024,
        .expected_downtime_ms = 300,
        .elapsed = 6,
    };
    g_autofree char *text = qm_migreport_progress_text(&p, "hostB");

    g_assert_cmpstr(text, ==,
                    "qemu-mig:  50% of 1.0 GiB, 600.0 MiB sent, 100.0 MiB/s, "
                    "dirtied at 2.0 MiB/s, downtime ~300 ms, ETA 5 s");
    g_assert_null(strchr(text, '\n'));
    /* no rate yet: no ETA; no estimate: no downtime; another status shows */
    p.rate = 0;
    p.dirty_rate = 0;
    p.expected_downtime_ms = -1;
    p.status = "device";
    g_free(text);
    text = qm_migreport_progress_text(&p, "hostB");
    g_assert_cmpstr(text, ==,
                    "qemu-mig:  50% of 1.0 GiB, 600.0 MiB sent, 0 bytes/s "
                    "(device)");
    /* nothing known yet: 0%, not a division by zero */
    memset(&p, 0, sizeof(p));
    p.expected_downtime_ms = -1;
    g_free(text);
    text = qm_migreport_progress_text(&p, "hostB");
    g_assert_true(g_str_has_prefix(text, "qemu-mig:   0% of 0 bytes"));
}

/**
 * test_step_text() - each step says what it does, naming the destination
 */
static void test_step_text(void)
{
    static const char *const steps[] = {"source",    "storage",  "destination",
                                        "preflight", "transfer", "switch-over"};

    for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
        QmMigrateProgress p = {.step = steps[i]};
        g_autofree char *text = qm_migreport_progress_text(&p, "hostB");

        g_assert_true(g_str_has_prefix(text, "qemu-mig: "));
        g_assert_true(g_str_has_suffix(text, "..."));
    }
    {
        QmMigrateProgress p = {.step = "storage"};
        g_autofree char *text = qm_migreport_progress_text(&p, "hostB");

        g_assert_cmpstr(text, ==, "qemu-mig: checking storage on hostB...");
    }
}

/**
 * test_json_events() - steps, progress, completion and failure are one
 * JSON object per line with the documented members
 */
static void test_json_events(void)
{
    QmMigrateProgress step = {.step = "preflight"};
    QmMigrateProgress p = {
        .status = "active",
        .total = 1000,
        .transferred = 300,
        .remaining = 750,
        .rate = 50,
        .expected_downtime_ms = -1,
        .elapsed = 1.5,
    };
    g_autoptr(GPtrArray) notes = g_ptr_array_new();
    QmMigrateReport r = {
        .dest_dir = "/run/qemu-mig",
        .dest_id = "0123456789abcdef",
        .dest_pid = 4242,
        .seconds = 2.5,
        .downtime_ms = 12,
        .bytes = 123456,
        .notes = notes,
    };
    g_autofree char *a = qm_migreport_progress_json(&step);
    g_autofree char *b = qm_migreport_progress_json(&p);
    g_autofree char *c = NULL;
    g_autofree char *d = qm_migreport_failed_json("it \"failed\"", 9);
    g_autofree char *summary = NULL;
    g_autoptr(JsonNode) na = parse_line(a);
    g_autoptr(JsonNode) nb = parse_line(b);
    g_autoptr(JsonNode) nc = NULL;
    g_autoptr(JsonNode) nd = parse_line(d);
    JsonObject *o;

    o = json_node_get_object(na);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "step");
    g_assert_cmpstr(json_object_get_string_member(o, "step"), ==, "preflight");

    o = json_node_get_object(nb);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "progress");
    g_assert_cmpfloat(json_object_get_double_member(o, "percent"), ==, 25.0);
    g_assert_cmpfloat(json_object_get_double_member(o, "eta-s"), ==, 15.0);
    g_assert_cmpint(json_object_get_int_member(o, "transferred"), ==, 300);
    g_assert_cmpint(json_object_get_int_member(o, "expected-downtime-ms"), ==,
                    -1);

    g_ptr_array_add(notes, "-serial stdio: /run/qemu-mig/x.serial0");
    c = qm_migreport_done_json(&r, "hostB");
    nc = parse_line(c);
    o = json_node_get_object(nc);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "completed");
    g_assert_cmpint(json_object_get_int_member(o, "pid"), ==, 4242);
    g_assert_cmpint(json_object_get_int_member(o, "downtime-ms"), ==, 12);
    g_assert_cmpstr(json_object_get_string_member(o, "monitor"), ==,
                    "/run/qemu-mig/0123456789abcdef.qmp");
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(o, "notes")), ==, 1);

    o = json_node_get_object(nd);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "failed");
    g_assert_cmpstr(json_object_get_string_member(o, "error"), ==,
                    "it \"failed\"");
    g_assert_cmpint(json_object_get_int_member(o, "exit"), ==, 9);

    summary = qm_migreport_done_text(&r, "hostB");
    g_assert_cmpstr(summary, ==,
                    "qemu-mig: migrated to hostB in 2.5 s (123456 bytes, "
                    "downtime 12 ms); QEMU PID 4242 there, monitor "
                    "/run/qemu-mig/0123456789abcdef.qmp\n");
}

/**
 * main() - register and run the migreport tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);
    g_test_add_func("/migreport/progress-text", test_progress_text);
    g_test_add_func("/migreport/step-text", test_step_text);
    g_test_add_func("/migreport/json-events", test_json_events);
    return g_test_run();
}
