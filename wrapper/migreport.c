/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what qemu-mig migrate prints: the progress line on a
 * terminal, one JSON event per line for scripts (--json), and the final
 * summary.  Builds strings only; main() decides where they go.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "migreport.h"

/**
 * step_text() - what a step does, for the progress line
 * @step: QmMigrateProgress.step
 * @to:   the destination
 *
 * Return: newly allocated text
 */
static char *step_text(const char *step, const char *to)
{
    if (strcmp(step, "source") == 0)
        return g_strdup("reading the source");
    if (strcmp(step, "storage") == 0)
        return g_strdup_printf("checking storage on %s", to);
    if (strcmp(step, "destination") == 0)
        return g_strdup_printf("starting QEMU on %s", to);
    if (strcmp(step, "preflight") == 0)
        return g_strdup("comparing the vCPUs");
    if (strcmp(step, "transfer") == 0)
        return g_strdup_printf("migrating to %s", to);
    if (strcmp(step, "switch-over") == 0)
        return g_strdup_printf("switching over to %s", to);
    return g_strdup(step);
}

/**
 * eta_of() - seconds until the RAM is sent at the current rate
 * @p: progress
 *
 * Return: seconds, or -1 when it cannot be told
 */
static double eta_of(const QmMigrateProgress *p)
{
    return p->rate > 0 ? p->remaining / p->rate : -1;
}

/**
 * percent_of() - how much of the RAM is sent
 * @p: progress
 *
 * Return: 0..100
 */
static double percent_of(const QmMigrateProgress *p)
{
    if (p->total <= 0)
        return 0;
    return CLAMP(100.0 * (p->total - p->remaining) / p->total, 0, 100);
}

/**
 * size() - a byte count as people read it
 * @bytes: bytes
 *
 * Not g_format_size(): it joins number and unit with a no-break space,
 * which a terminal in the C locale shows as garbage.
 *
 * Return: newly allocated text, e.g. "1.0 GiB"
 */
static char *size(double bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    int u = -1;

    if (bytes < 1024)
        return g_strdup_printf("%.0f bytes", bytes < 0 ? 0 : bytes);
    while (bytes >= 1024 && u < (int)G_N_ELEMENTS(units) - 1) {
        bytes /= 1024;
        u++;
    }
    return g_strdup_printf("%.1f %s", bytes, units[u]);
}

/**
 * qm_migreport_progress_text() - the progress line on a terminal
 * @p:  a step, or how far the transfer is
 * @to: the destination
 *
 * Return: newly allocated line, without a newline
 */
char *qm_migreport_progress_text(const QmMigrateProgress *p, const char *to)
{
    g_autofree char *total = NULL;
    g_autofree char *sent = NULL;
    g_autofree char *rate = NULL;
    g_autofree char *dirty = NULL;
    GString *s;
    double eta;

    if (p->step != NULL) {
        g_autofree char *what = step_text(p->step, to);

        return g_strdup_printf("qemu-mig: %s...", what);
    }
    total = size(p->total);
    sent = size(p->transferred);
    rate = size(p->rate);
    dirty = size(p->dirty_rate);
    s = g_string_new(NULL);
    g_string_append_printf(s, "qemu-mig: %3.0f%% of %s, %s sent, %s/s",
                           percent_of(p), total, sent, rate);
    if (p->dirty_rate > 0)
        g_string_append_printf(s, ", dirtied at %s/s", dirty);
    if (p->expected_downtime_ms >= 0)
        g_string_append_printf(s, ", downtime ~%" G_GINT64_FORMAT " ms",
                               p->expected_downtime_ms);
    eta = eta_of(p);
    if (eta >= 0)
        g_string_append_printf(s, ", ETA %.0f s", eta);
    if (p->status != NULL && strcmp(p->status, "active") != 0)
        g_string_append_printf(s, " (%s)", p->status);
    return g_string_free(s, FALSE);
}

/**
 * to_line() - a JSON object as one line
 * @b: builder holding one object
 *
 * Return: newly allocated text, ending in a newline
 */
static char *to_line(JsonBuilder *b)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *text = json_to_string(root, FALSE);

    return g_strdup_printf("%s\n", text);
}

/**
 * qm_migreport_progress_json() - one --json event: a step, or progress
 * @p: a step, or how far the transfer is
 *
 * Return: newly allocated line
 */
char *qm_migreport_progress_json(const QmMigrateProgress *p)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "event");
    if (p->step != NULL) {
        json_builder_add_string_value(b, "step");
        json_builder_set_member_name(b, "step");
        json_builder_add_string_value(b, p->step);
    } else {
        json_builder_add_string_value(b, "progress");
        json_builder_set_member_name(b, "status");
        json_builder_add_string_value(b, p->status ? p->status : "");
        json_builder_set_member_name(b, "percent");
        json_builder_add_double_value(b, percent_of(p));
        json_builder_set_member_name(b, "total");
        json_builder_add_int_value(b, p->total);
        json_builder_set_member_name(b, "transferred");
        json_builder_add_int_value(b, p->transferred);
        json_builder_set_member_name(b, "remaining");
        json_builder_add_int_value(b, p->remaining);
        json_builder_set_member_name(b, "rate");
        json_builder_add_double_value(b, p->rate);
        json_builder_set_member_name(b, "dirty-rate");
        json_builder_add_double_value(b, p->dirty_rate);
        json_builder_set_member_name(b, "expected-downtime-ms");
        json_builder_add_int_value(b, p->expected_downtime_ms);
        json_builder_set_member_name(b, "eta-s");
        json_builder_add_double_value(b, eta_of(p));
        json_builder_set_member_name(b, "elapsed-s");
        json_builder_add_double_value(b, p->elapsed);
    }
    json_builder_end_object(b);
    return to_line(b);
}

/**
 * qm_migreport_done_text() - the summary line of a migration
 * @r:  what it did
 * @to: the destination
 *
 * Return: newly allocated line, ending in a newline
 */
char *qm_migreport_done_text(const QmMigrateReport *r, const char *to)
{
    return g_strdup_printf(
        "qemu-mig: migrated to %s in %.1f s (%" G_GINT64_FORMAT
        " bytes, downtime %" G_GINT64_FORMAT " ms); QEMU PID %" G_GINT64_FORMAT
        " there, monitor %s/%s.qmp\n",
        to, r->seconds, r->bytes, r->downtime_ms, r->dest_pid, r->dest_dir,
        r->dest_id);
}

/**
 * qm_migreport_done_json() - the last --json event of a migration that
 *                            worked
 * @r:  what it did
 * @to: the destination
 *
 * Return: newly allocated line
 */
char *qm_migreport_done_json(const QmMigrateReport *r, const char *to)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *monitor =
        g_strdup_printf("%s/%s.qmp", r->dest_dir, r->dest_id);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "event");
    json_builder_add_string_value(b, "completed");
    json_builder_set_member_name(b, "to");
    json_builder_add_string_value(b, to);
    json_builder_set_member_name(b, "seconds");
    json_builder_add_double_value(b, r->seconds);
    json_builder_set_member_name(b, "bytes");
    json_builder_add_int_value(b, r->bytes);
    json_builder_set_member_name(b, "downtime-ms");
    json_builder_add_int_value(b, r->downtime_ms);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, r->dest_pid);
    json_builder_set_member_name(b, "monitor");
    json_builder_add_string_value(b, monitor);
    json_builder_set_member_name(b, "notes");
    json_builder_begin_array(b);
    for (guint i = 0; r->notes != NULL && i < r->notes->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(r->notes, i));
    json_builder_end_array(b);
    json_builder_end_object(b);
    return to_line(b);
}

/**
 * qm_migreport_failed_json() - the last --json event of a migration that
 *                              did not happen
 * @message: the error, as the error line says it
 * @status:  the exit status
 *
 * Return: newly allocated line
 */
char *qm_migreport_failed_json(const char *message, int status)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "event");
    json_builder_add_string_value(b, "failed");
    json_builder_set_member_name(b, "error");
    json_builder_add_string_value(b, message);
    json_builder_set_member_name(b, "exit");
    json_builder_add_int_value(b, status);
    json_builder_end_object(b);
    return to_line(b);
}
