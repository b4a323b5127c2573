/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: one versioned machine type for every host
 * (qm_machine_decide(), qm_machine_version_cmp()).
 */
#include <string.h>

#include "profutil.h"
#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/machine.h"

/* ---- hand-built machine lists ------------------------------------------ */

/*
 * A list is written as NULL-terminated strings "NAME[=ALIAS][*]": "=ALIAS"
 * is QEMU's alias for the type, a trailing '*' marks QEMU's default.
 */
static const char *const qemu72[] = {
    "pc-i440fx-7.0",
    "pc-i440fx-7.1",
    "pc-i440fx-7.2=pc*",
    "pc-q35-7.0",
    "pc-q35-7.1",
    "pc-q35-7.2=q35",
    "microvm",
    "isapc",
    "none",
    "x-remote",
    NULL,
};
static const char *const qemu82[] = {
    "pc-i440fx-7.1",
    "pc-i440fx-7.2",
    "pc-i440fx-8.0",
    "pc-i440fx-8.1",
    "pc-i440fx-8.2=pc*",
    "pc-q35-7.1",
    "pc-q35-7.2",
    "pc-q35-8.0",
    "pc-q35-8.1",
    "pc-q35-8.2=q35",
    "microvm",
    "none",
    NULL,
};
static const char *const qemu82_only[] = {
    "pc-i440fx-8.2=pc*",
    "pc-q35-8.2=q35",
    "none",
    NULL,
};
static const char *const qemu80[] = {
    "pc-i440fx-7.2",  "pc-i440fx-8.0=pc*", "pc-q35-7.1", "pc-q35-7.2",
    "pc-q35-8.0=q35", "microvm",           "none",       NULL,
};
static const char *const q35_710[] = {
    "pc-q35-7.2", "pc-q35-7.9", "pc-q35-7.10=q35*", "none", NULL,
};
static const char *const q35_100[] = {
    "pc-q35-7.2", "pc-q35-7.9", "pc-q35-7.10", "pc-q35-10.0=q35*", "none", NULL,
};
static const char *const rhel94[] = {
    "pc-q35-rhel9.0.0",
    "pc-q35-rhel9.2.0",
    "pc-q35-rhel9.4.0=q35*",
    "none",
    NULL,
};
static const char *const rhel92[] = {
    "pc-q35-rhel8.6.0",
    "pc-q35-rhel9.0.0",
    "pc-q35-rhel9.2.0=q35*",
    "none",
    NULL,
};
/* Ubuntu-style: a release-named default beside the upstream types */
static const char *const jammy[] = {
    "pc-i440fx-6.1",
    "pc-i440fx-6.2=pc",
    "pc-i440fx-7.2",
    "pc-i440fx-jammy=ubuntu*",
    "pc-i440fx-jammy-hpb",
    "pc-q35-6.1",
    "pc-q35-6.2=q35",
    "pc-q35-7.2",
    "pc-q35-jammy=ubuntu-q35",
    "pc-q35-jammy-hpb",
    "microvm",
    "none",
    NULL,
};
static const char *const lunar[] = {
    "pc-i440fx-7.1",
    "pc-i440fx-7.2=pc",
    "pc-i440fx-lunar=ubuntu*",
    "pc-q35-7.1",
    "pc-q35-7.2=q35",
    "pc-q35-lunar=ubuntu-q35",
    "none",
    NULL,
};
/* a RHEL-style QEMU that still has i440fx, q35 by default */
static const char *const rhel8[] = {
    "pc-i440fx-rhel7.6.0=pc",
    "pc-q35-rhel8.6.0",
    "pc-q35-7.2",
    "pc-q35-rhel9.0.0=q35*",
    "none",
    NULL,
};
static const char *const no_default[] = {
    "pc-q35-7.2=q35",
    "none",
    NULL,
};

/**
 * machine_profile() - a profile holding only a machine list
 * @name:    host name
 * @version: QEMU version for messages
 * @list:    "NAME[=ALIAS][*]" strings, NULL-terminated; NULL for a profile
 *           whose QEMU did not answer query-machines
 *
 * Return: new profile
 */
static QmProfile *machine_profile(const char *name, const char *version,
                                  const char *const *list)
{
    QmProfile *p = qm_profile_new(name);

    p->vendor = g_strdup("GenuineIntel");
    p->qemu_version = g_strdup(version);
    if (list == NULL)
        return p;
    qm_prof_add_machines(p, list);
    return p;
}

/**
 * real_72_profile() - a profile with the machine list of a real QEMU 7.2
 * @name: host name
 *
 * tests/data/qemu-7.2-machines.json is a recorded query-machines reply;
 * only name, alias and is-default are read, as the probe does.
 *
 * Return: new profile
 */
static QmProfile *real_72_profile(const char *name)
{
    g_autofree char *text = qm_test_read_data("qemu-7.2-machines.json", NULL);
    g_autoptr(JsonNode) root = json_from_string(text, NULL);
    QmProfile *p = machine_profile(name, "7.2.22", NULL);

    qm_prof_add_real_machines(p);
    return p;
}

/**
 * decide() - run qm_machine_decide() with one or two peers
 * @value:    -machine value, or NULL
 * @local:    local profile
 * @peer:     first peer
 * @peer2:    second peer, or NULL
 * @out:      where to store the new value
 * @warnings: warnings array to fill
 * @error:    error
 *
 * Return: qm_machine_decide()'s result
 */
static gboolean decide(const char *value, QmProfile *local, QmProfile *peer,
                       QmProfile *peer2, char **out, GPtrArray *warnings,
                       GError **error)
{
    g_autoptr(GPtrArray) peers = g_ptr_array_new();

    g_ptr_array_add(peers, peer);
    if (peer2 != NULL)
        g_ptr_array_add(peers, peer2);
    return qm_machine_decide(value, local, peers, out, warnings, error);
}

/**
 * warned() - does some warning mention every given string?
 * @warnings: warnings
 * @a:        string
 * @b:        string, or NULL
 *
 * Return: TRUE if one warning contains both
 */
static gboolean warned(GPtrArray *warnings, const char *a, const char *b)
{
    for (guint i = 0; i < warnings->len; i++) {
        const char *w = g_ptr_array_index(warnings, i);

        if (strstr(w, a) != NULL && (b == NULL || strstr(w, b) != NULL))
            return TRUE;
    }
    return FALSE;
}

/* ---- the table -------------------------------------------------------- */

/**
 * MachineCase - one qm_machine_decide() expectation
 * @path:    test path suffix
 * @local:   local list
 * @peer:    peer list (NULL: the peer did not answer query-machines)
 * @peer2:   second peer list, or NULL for none
 * @value:   the user's -machine value, or NULL
 * @expect:  expected new value (NULL: no change), when @code is 0
 * @warn:    a warning is expected; it must name @mention
 * @code:    expected QmErrorCode, or 0 for success
 * @mention: a string the error or warning must contain, or NULL
 */
typedef struct {
    const char *path;
    const char *const *local;
    const char *const *peer;
    const char *const *peer2;
    const char *value;
    const char *expect;
    gboolean warn;
    int code;
    const char *mention;
} MachineCase;

static const MachineCase cases[] = {
    /* the alias means the same type everywhere: written resolved */
    {"alias-agreed", qemu82, qemu82, NULL, "q35", "pc-q35-8.2", FALSE, 0, NULL},
    {"alias-agreed-pc", qemu72, qemu72, NULL, "pc", "pc-i440fx-7.2", FALSE, 0,
     NULL},
    /* 7.2 vs 8.2: both have pc-q35-7.2, the newest common one */
    {"alias-differs", qemu72, qemu82, NULL, "q35", "pc-q35-7.2", TRUE, 0,
     "pc-q35-7.2"},
    {"alias-differs-reverse", qemu82, qemu72, NULL, "q35", "pc-q35-7.2", TRUE,
     0, "pc-q35-7.2"},
    {"alias-three-hosts", qemu82, qemu80, qemu72, "q35", "pc-q35-7.2", TRUE, 0,
     "q35"},
    {"alias-differs-8.0", qemu82, qemu80, NULL, "q35", "pc-q35-8.0", TRUE, 0,
     "pc-q35-8.0"},
    /* numeric: 7.10 is newer than 7.9 and 7.2 */
    {"numeric-versions", q35_710, q35_100, NULL, "q35", "pc-q35-7.10", TRUE, 0,
     "pc-q35-7.10"},
    {"downstream-versions", rhel94, rhel92, NULL, "q35", "pc-q35-rhel9.2.0",
     TRUE, 0, "pc-q35-rhel9.2.0"},
    /* no version of the family on every host */
    {"none-common", qemu72, qemu82_only, NULL, "q35", NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "q35"},
    {"none-common-default", qemu72, qemu82_only, NULL, NULL, NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "pc-i440fx-7.2"},
    /* no -machine: QEMU's default, resolved on every host */
    {"default-same", qemu72, qemu72, NULL, NULL, "pc-i440fx-7.2", FALSE, 0,
     NULL},
    {"default-differs", qemu82, qemu72, NULL, NULL, "pc-i440fx-7.2", TRUE, 0,
     "pc-i440fx-7.2"},
    {"default-three-hosts", qemu72, qemu82, qemu80, NULL, "pc-i440fx-7.2", TRUE,
     0, "pc-i440fx-7.2"},
    {"no-default", no_default, qemu72, NULL, NULL, NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "local"},
    /* sub-options stay, after the type */
    {"type-key", qemu72, qemu82, NULL, "type=q35,accel=kvm",
     "pc-q35-7.2,accel=kvm", TRUE, 0, "q35"},
    {"suboptions", qemu72, qemu82, NULL, "q35,accel=kvm,kernel-irqchip=split",
     "pc-q35-7.2,accel=kvm,kernel-irqchip=split", TRUE, 0, "q35"},
    {"suboptions-agreed", qemu82, qemu82, NULL, "q35,accel=kvm",
     "pc-q35-8.2,accel=kvm", FALSE, 0, NULL},
    {"type-key-later", qemu72, qemu72, NULL, "accel=kvm,type=q35,smm=off",
     "pc-q35-7.2,accel=kvm,smm=off", FALSE, 0, NULL},
    {"only-suboptions", qemu82, qemu72, NULL, "accel=kvm,usb=off",
     "pc-i440fx-7.2,accel=kvm,usb=off", TRUE, 0, "pc-i440fx-7.2"},
    /* an exact type every host has: left as written */
    {"exact-kept", qemu72, qemu82, NULL, "pc-q35-7.2", NULL, FALSE, 0, NULL},
    {"exact-kept-suboptions", qemu72, qemu82, NULL,
     "pc-q35-7.1,accel=kvm,smm=off", NULL, FALSE, 0, NULL},
    {"exact-type-key", qemu72, qemu82, NULL, "type=pc-q35-7.1,accel=kvm",
     "pc-q35-7.1,accel=kvm", FALSE, 0, NULL},
    /* unversioned types: kept when every host has them */
    {"microvm", qemu72, qemu82, NULL, "microvm", NULL, FALSE, 0, NULL},
    {"microvm-suboptions", qemu72, qemu82, qemu80,
     "microvm,x-option-roms=off,rtc=on", NULL, FALSE, 0, NULL},
    {"none", qemu72, qemu82, NULL, "none", NULL, FALSE, 0, NULL},
    {"isapc-missing", qemu72, qemu82, NULL, "isapc", NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "peer"},
    /* an exact version a host lacks is not replaced by another one */
    {"exact-unknown-to-peer", qemu82, qemu72, NULL, "pc-q35-8.2", NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "peer"},
    {"exact-unknown-to-local", qemu72, qemu82, NULL, "pc-q35-8.1", NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "local"},
    {"unknown-everywhere", qemu72, qemu82, NULL, "no-such-board", NULL, FALSE,
     QM_ERROR_INCOMPATIBLE, "no-such-board"},
    {"unknown-to-second-peer", qemu82, qemu82, qemu72, "pc-q35-8.0", NULL,
     FALSE, QM_ERROR_INCOMPATIBLE, "peer2"},
    /* a profile without query-machines */
    {"peer-no-machines", qemu72, NULL, NULL, "q35", NULL, FALSE, QM_ERROR_QEMU,
     "peer"},
    {"local-no-machines", NULL, qemu72, NULL, NULL, NULL, FALSE, QM_ERROR_QEMU,
     "local"},
};

/**
 * test_case() - one row of the table
 * @data: MachineCase
 */
static void test_case(gconstpointer data)
{
    const MachineCase *c = data;
    g_autoptr(QmProfile) local = machine_profile("local", "8.2.0", c->local);
    g_autoptr(QmProfile) peer = machine_profile("peer", "7.2.0", c->peer);
    g_autoptr(QmProfile) peer2 =
        c->peer2 ? machine_profile("peer2", "8.0.0", c->peer2) : NULL;
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    gboolean ok = decide(c->value, local, peer, peer2, &out, warnings, &error);

    if (c->code != 0) {
        g_assert_false(ok);
        g_assert_error(error, QM_ERROR, c->code);
        g_assert_null(out);
        if (c->mention != NULL) {
            if (strstr(error->message, c->mention) == NULL)
                g_test_message("\"%s\" not in: %s", c->mention, error->message);
            g_assert_nonnull(strstr(error->message, c->mention));
        }
        return;
    }
    g_assert_no_error(error);
    g_assert_true(ok);
    g_assert_cmpstr(out, ==, c->expect);
    if (c->warn) {
        g_assert_cmpuint(warnings->len, ==, 1);
        g_assert_true(warned(warnings, c->mention, NULL));
    } else {
        g_assert_cmpuint(warnings->len, ==, 0);
    }
}

/**
 * test_symmetric() - every host computes the same value
 *
 * With --for DEST the decision is made with DEST as local: swapping local
 * and peer must not change the answer.
 */
static void test_symmetric(void)
{
    static const char *const values[] = {
        NULL, "q35", "pc", "q35,accel=kvm", "type=pc,usb=off", "microvm",
    };
    const char *const *lists[][3] = {
        {qemu72, qemu82, qemu80},
        {qemu82, qemu80, qemu82},
        {q35_710, q35_100, q35_710},
        {rhel94, rhel92, rhel94},
    };

    for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
        for (gsize v = 0; v < G_N_ELEMENTS(values); v++) {
            g_autoptr(QmProfile) a = machine_profile("a", "8.2.0", lists[l][0]);
            g_autoptr(QmProfile) b = machine_profile("b", "7.2.0", lists[l][1]);
            g_autoptr(QmProfile) c = machine_profile("c", "8.0.0", lists[l][2]);
            g_autoptr(GPtrArray) w1 = g_ptr_array_new_with_free_func(g_free);
            g_autoptr(GPtrArray) w2 = g_ptr_array_new_with_free_func(g_free);
            g_autoptr(GPtrArray) w3 = g_ptr_array_new_with_free_func(g_free);
            g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
            g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL;
            gboolean ok1 = decide(values[v], a, b, c, &o1, w1, &e1);
            gboolean ok2 = decide(values[v], b, a, c, &o2, w2, &e2);
            gboolean ok3 = decide(values[v], c, b, a, &o3, w3, &e3);

            g_test_message("lists %zu, -machine %s: %s", l,
                           values[v] ? values[v] : "(none)",
                           ok1 ? (o1 ? o1 : "(unchanged)") : e1->message);
            g_assert_cmpint(ok1, ==, ok2);
            g_assert_cmpint(ok1, ==, ok3);
            if (!ok1) {
                g_assert_cmpint(e1->code, ==, e2->code);
                g_assert_cmpint(e1->code, ==, e3->code);
                continue;
            }
            g_assert_cmpstr(o1, ==, o2);
            g_assert_cmpstr(o1, ==, o3);
            g_assert_cmpuint(w1->len, ==, w2->len);
            g_assert_cmpuint(w1->len, ==, w3->len);
        }
    }
}

/**
 * test_every_pair() - whichever host computes it, the same answer (or
 * the same refusal), for every pair of machine lists: Debian's, newer
 * upstream ones, Ubuntu-style release-named defaults, RHEL's
 *
 * A q35-by-default host and an i440fx-by-default one used to get a q35
 * from one side and a refusal from the other; an Ubuntu default
 * (pc-i440fx-jammy) against Debian's got exit 7 on one side and
 * pc-i440fx-7.2 on the other.
 */
static void test_every_pair(void)
{
    static const char *const values[] = {NULL, "q35", "pc", "ubuntu",
                                         "pc,usb=off"};
    const char *const *lists[] = {qemu72, qemu82, qemu80, q35_710, q35_100,
                                  rhel94, rhel92, jammy,  lunar,   rhel8};
    guint chosen = 0, refused = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
        for (gsize j = i + 1; j < G_N_ELEMENTS(lists); j++) {
            for (gsize v = 0; v < G_N_ELEMENTS(values); v++) {
                g_autoptr(QmProfile) a =
                    machine_profile("a", "8.2.0", lists[i]);
                g_autoptr(QmProfile) b =
                    machine_profile("b", "7.2.0", lists[j]);
                g_autoptr(GPtrArray) w1 =
                    g_ptr_array_new_with_free_func(g_free);
                g_autoptr(GPtrArray) w2 =
                    g_ptr_array_new_with_free_func(g_free);
                g_autoptr(GError) e1 = NULL, e2 = NULL;
                g_autofree char *o1 = NULL, *o2 = NULL;
                gboolean ok1 = decide(values[v], a, b, NULL, &o1, w1, &e1);
                gboolean ok2 = decide(values[v], b, a, NULL, &o2, w2, &e2);

                g_test_message("lists %zu+%zu, -machine %s: %s / %s", i, j,
                               values[v] ? values[v] : "(none)",
                               ok1 ? (o1 ? o1 : "(unchanged)") : e1->message,
                               ok2 ? (o2 ? o2 : "(unchanged)") : e2->message);
                g_assert_cmpint(ok1, ==, ok2);
                if (!ok1) {
                    g_assert_cmpint(e1->code, ==, e2->code);
                    refused++;
                    continue;
                }
                chosen++;
                /* unchanged on one side means the value names it there */
                if (o1 != NULL && o2 != NULL)
                    g_assert_cmpstr(o1, ==, o2);
            }
        }
    }
    g_test_message("%u chosen, %u refused alike", chosen, refused);
    g_assert_cmpuint(chosen, >, 0);
    g_assert_cmpuint(refused, >, 0);
}

/**
 * test_real_72() - the recorded QEMU 7.2 list, against itself and newer
 *
 * The real list holds pc-q35-2.9 .. pc-q35-2.12 and pc-q35-4.0.1, where
 * byte order and version order differ.
 */
static void test_real_72(void)
{
    static const char *const old_q35[] = {
        "pc-q35-2.9", "pc-q35-2.10", "pc-q35-2.12=q35*", "none", NULL,
    };
    static const char *const q35_401[] = {
        "pc-q35-4.0",
        "pc-q35-4.0.1=q35*",
        "none",
        NULL,
    };
    g_autoptr(QmProfile) real = real_72_profile("local");
    g_autoptr(QmProfile) twin = real_72_profile("twin");
    g_autoptr(QmProfile) newer = machine_profile("newer", "8.2.0", qemu82);
    g_autoptr(QmProfile) old = machine_profile("old", "2.12.0", old_q35);
    g_autoptr(QmProfile) p401 = machine_profile("p401", "4.1.0", q35_401);
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL;
    g_autofree char *o5 = NULL;

    g_assert_cmpuint(real->machines->len, ==, 59);
    g_assert_true(decide(NULL, real, twin, NULL, &o1, w, &error));
    g_assert_cmpstr(o1, ==, "pc-i440fx-7.2");
    g_assert_true(decide("q35,accel=kvm", real, twin, NULL, &o2, w, &error));
    g_assert_cmpstr(o2, ==, "pc-q35-7.2,accel=kvm");
    g_assert_cmpuint(w->len, ==, 0);
    g_assert_true(decide("q35", real, newer, NULL, &o3, w, &error));
    g_assert_cmpstr(o3, ==, "pc-q35-7.2");
    g_assert_cmpuint(w->len, ==, 1);
    /* by byte order "pc-q35-2.9" would be the newest of these three */
    g_assert_true(decide("q35", real, old, NULL, &o4, w, &error));
    g_assert_cmpstr(o4, ==, "pc-q35-2.12");
    /* three components: pc-q35-4.0.1 is newer than pc-q35-4.0 */
    g_assert_true(decide("q35", real, p401, NULL, &o5, w, &error));
    g_assert_cmpstr(o5, ==, "pc-q35-4.0.1");
    g_assert_no_error(error);
}

/**
 * test_warning_names() - the replacement warning names request and result
 */
static void test_warning_names(void)
{
    g_autoptr(QmProfile) a = machine_profile("a", "7.2.0", qemu72);
    g_autoptr(QmProfile) b = machine_profile("b", "8.2.0", qemu82);
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) w2 = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autofree char *o1 = NULL, *o2 = NULL;

    g_assert_true(decide("q35,accel=kvm", a, b, NULL, &o1, w, &error));
    g_assert_cmpuint(w->len, ==, 1);
    g_assert_true(warned(w, "q35", "pc-q35-7.2"));
    /* the warning goes after what is already there */
    g_ptr_array_add(w2, g_strdup("earlier"));
    g_assert_true(decide(NULL, a, b, NULL, &o2, w2, &error));
    g_assert_cmpuint(w2->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(w2, 0), ==, "earlier");
    g_assert_true(warned(w2, "pc-i440fx-7.2", NULL));
}

/**
 * test_no_peers() - alone, the host's own resolution is written
 */
static void test_no_peers(void)
{
    g_autoptr(QmProfile) a = machine_profile("local", "8.2.0", qemu82);
    g_autoptr(GPtrArray) peers = g_ptr_array_new();
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autofree char *o1 = NULL, *o2 = NULL;

    g_assert_true(qm_machine_decide("q35", a, peers, &o1, w, &error));
    g_assert_cmpstr(o1, ==, "pc-q35-8.2");
    g_assert_true(qm_machine_decide("pc-q35-8.0", a, peers, &o2, w, &error));
    g_assert_null(o2);
    g_assert_cmpuint(w->len, ==, 0);
}

/* ---- qm_machine_version_cmp() ------------------------------------------ */

/**
 * sign() - -1, 0 or 1
 * @v: value
 *
 * Return: the sign of @v
 */
static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/**
 * test_version_cmp() - numeric order, component by component
 */
static void test_version_cmp(void)
{
    static const struct {
        const char *a;
        const char *b;
        int want;
    } pairs[] = {
        {"7.2", "7.10", -1},
        {"7.10", "10.0", -1},
        {"7.2", "10.0", -1},
        {"10.0", "7.2", 1},
        {"7.10", "7.9", 1},
        {"2.12", "2.9", 1},
        {"7.2", "7.2", 0},
        {"7.2.0", "7.2.0", 0},
        {"8.2.1", "8.2.0", 1},
        {"4.0", "4.0.1", -1},
        {"4.0.1", "4.1", -1},
        {"rhel9.2.0", "rhel9.4.0", -1},
        {"rhel9.4.0", "rhel9.2.0", 1},
        {"rhel8.6.0", "rhel9.0.0", -1},
        {"rhel9.4.0", "rhel9.4.0", 0},
        {"9.2.0", "10.0.0", -1},
    };
    static const char *const sorted[] = {
        "2.9", "2.10", "2.12", "4.0", "4.0.1", "4.1",
        "7.2", "7.9",  "7.10", "8.0", "10.0",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++) {
        int got = sign(qm_machine_version_cmp(pairs[i].a, pairs[i].b));
        int back = sign(qm_machine_version_cmp(pairs[i].b, pairs[i].a));

        g_test_message("%s vs %s: %d", pairs[i].a, pairs[i].b, got);
        g_assert_cmpint(got, ==, pairs[i].want);
        g_assert_cmpint(back, ==, -pairs[i].want);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(sorted); i++) {
        for (gsize k = 0; k < G_N_ELEMENTS(sorted); k++) {
            int want = i < k ? -1 : i > k ? 1 : 0;

            g_assert_cmpint(sign(qm_machine_version_cmp(sorted[i], sorted[k])),
                            ==, want);
        }
    }
}

/**
 * test_with_type() - the type is replaced wherever it was written; every
 * other item stays
 */
static void test_with_type(void)
{
    static const struct {
        const char *value, *want;
    } kinds[] = {
        {NULL, "pc-q35-7.2"},
        {"q35", "pc-q35-7.2"},
        {"q35,accel=kvm", "pc-q35-7.2,accel=kvm"},
        {"accel=kvm,type=q35,usb=off", "pc-q35-7.2,accel=kvm,usb=off"},
        {"accel=kvm", "pc-q35-7.2,accel=kvm"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autofree char *got =
            qm_machine_with_type(kinds[i].value, "pc-q35-7.2");

        g_assert_cmpstr(got, ==, kinds[i].want);
    }
}

/**
 * main() - register and run the machine tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/machine/decide/%s", cases[i].path);

        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/machine/symmetric", test_symmetric);
    g_test_add_func("/machine/every-pair", test_every_pair);
    g_test_add_func("/machine/real-7.2", test_real_72);
    g_test_add_func("/machine/warning-names", test_warning_names);
    g_test_add_func("/machine/no-peers", test_no_peers);
    g_test_add_func("/machine/version-cmp", test_version_cmp);
    g_test_add_func("/machine/with-type", test_with_type);
    return g_test_run();
}
