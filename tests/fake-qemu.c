/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: fake-qemu, a stand-in for qemu-system-x86_64 that plays
 * OTHER hardware by replaying the QMP replies recorded on a real CPU.
 *
 * Usage: fake-qemu [FAKE OPTIONS] QEMU-ARGUMENTS...
 *
 * Fake options come first; parsing stops at the first argument that is not
 * one of them.  Each can also be set through the environment, because
 * qemu-mig runs the local QEMU with QEMU arguments only; the options exist
 * because SSH does not pass the environment to a peer.  Options win.
 * "--opt VALUE" and "--opt=VALUE" both work; an empty value means unset.
 *
 *   --replay FILE      FAKE_QEMU_REPLAY     libvirt capture to replay
 *                                           (tests/data/x86_64-cpuid-*.json)
 *   --qemu-version V   FAKE_QEMU_VERSION    X.Y.Z to claim (default 7.2.0)
 *   --package STR      FAKE_QEMU_PACKAGE    QMP "package" (default "fake")
 *   --machines FILE    FAKE_QEMU_MACHINES   query-machines reply (default:
 *                                           qemu-7.2-machines.json next to
 *                                           the replay file)
 *   --models FILE      FAKE_QEMU_MODELS     static expansions of named
 *                                           models, one reply per line with
 *                                           the id "model:NAME", as real
 *                                           QEMU wrote them (default:
 *                                           qemu-10.0-cpu-models.qmp next
 *                                           to the replay file)
 *   --mode MODE        FAKE_QEMU_MODE       misbehaviour, see below
 *   --count-dir DIR    FAKE_QEMU_COUNT_DIR  one new file per probe start
 *   --record FILE      FAKE_QEMU_RECORD     exec mode: what was launched
 *   --exit N           FAKE_QEMU_EXIT       exec mode: exit status (0-255)
 *   --phys-bits N      FAKE_QEMU_PHYS_BITS  qom-get phys-bits (default 46)
 *   --tsc-hz N         FAKE_QEMU_TSC_HZ     qom-get tsc-frequency
 *                                           (default 2100000000)
 *   --inject-prop TEXT FAKE_QEMU_INJECT_PROP raw JSON member(s) appended,
 *                                           byte for byte, as the last
 *                                           members of the expansion's props,
 *                                           replacing recorded members of
 *                                           the same names
 *   --probe-record FILE FAKE_QEMU_PROBE_RECORD probe: write the same record
 *                                           as exec mode when a probe starts
 *
 * What it does depends on the QEMU arguments:
 *
 *   -version anywhere  print "QEMU emulator version X.Y.Z (fake-qemu)" and
 *                      QEMU's copyright line, exit 0.
 *   -machine none with -qmp stdio: the local probe's model catalogue run
 *                      (wrapper/qmp.c): as a probe, but neither counted
 *                      nor recorded, and a named model's expansion is
 *                      answered from the models file.
 *   -qmp stdio         probe: QMP greeting on stdout, then one reply line
 *                      per command line read from stdin, flushed each time,
 *                      exit 0 at EOF or after "quit".  Like QEMU, commands
 *                      other than qmp_capabilities are refused until
 *                      capabilities are negotiated.  Replies are formatted
 *                      as QEMU formats them ({"return": ..., "id": ...},
 *                      {"id": ..., "error": ...}, ", " and ": " spacing)
 *                      and every line ends in "\r\n": QEMU's monitor
 *                      turns each '\n' it prints into CRLF.
 *   anything else      exec (the real launch): write the record file if
 *                      configured, print "fake-qemu: stdout belongs to QEMU"
 *                      to stdout and "fake-qemu: started" to stderr, exit N.
 *
 * Recorded replies are replayed from their raw text, never through a
 * JsonNode: json-glib stores integers as gint64, so the recorded
 * "lbr-fmt": 18446744073709551552 would come back as -64.
 *
 * Replay layouts (see tests/data/README.md):
 *   A  model-expansion + definitions documents
 *   B  model-expansion only: query-cpu-definitions fails with GenericError
 *   C  qom-get replies only (QEMU without query-cpu-model-expansion):
 *      query-cpu-model-expansion fails with CommandNotFound
 *
 * Probe modes (--mode / FAKE_QEMU_MODE), for the caller's bad-input tests:
 *   ok            behave like QEMU on the recorded CPU.
 *   nokvm         no greeting; QEMU's two "failed to initialize kvm" lines
 *                 on stderr; exit 1.
 *   malformed     the query-cpu-model-expansion reply line is replaced by
 *                 invalid JSON ({"return": {"model": {"name": "host",
 *                 "props": {"pcid": tru), then carry on normally.
 *   truncated     write the first half of the query-cpu-model-expansion
 *                 reply, without a newline, and exit 0 at once.
 *   out-of-order  the replies to query-cpu-model-expansion and
 *                 query-cpu-definitions come out swapped: the first one is
 *                 held back until the second is sent (or another command,
 *                 quit or EOF comes first, which releases it in order).
 *   huge          the expansion's props gain "fake-huge-prop", a string of
 *                 20 MiB.
 *   badname       the expansion's props gain
 *                 "evil flag;touch /tmp/pwned": true.
 *   badmodel      query-cpu-definitions gains the entry "Evil Model;rm" with
 *                 unavailable-features ["x y"].
 *   hang          greeting, then sleep forever without reading stdin.
 *   events        valid, but an RTC_CHANGE event line precedes every reply.
 *   exit-early    greeting, read the first command, then exit 1 with
 *                 "fake-qemu: crashed on purpose" on stderr.
 *   noreply-id    replies carry no "id".
 *   deep          the expansion's props gain "fake-deep": 100000 nested
 *                 arrays (valid JSON, 200 kB).
 *   flood         answer qmp_capabilities with one reply line of 100 MiB
 *                 (written in pieces, never held in memory); exit 1 as soon
 *                 as the reader goes away.
 *   qmp-error     every command is answered with a GenericError whose desc
 *                 holds a newline, a tab and an ESC byte.
 *   nogreeting    no greeting line; everything else as ok.
 *   silent        no greeting, no reply: sleep forever.
 *   crash         greeting, read the first command, then die of SIGSEGV.
 *   kill-parent   greeting and replies up to half of the expansion reply,
 *                 then SIGKILL the parent process (on a peer: the sshd
 *                 session process, so the connection drops mid-reply) and
 *                 exit.  Never use it for a local probe: the parent is
 *                 qemu-mig.
 * huge, badname, deep and --inject-prop need recorded props (layouts A, B),
 * badmodel a recorded definitions reply (layout A); elsewhere they note on
 * stderr that they change nothing.  Exec mode ignores the mode.
 *
 * The record (exec mode, and probes with --probe-record) is one JSON object:
 * "pid", "ppid", "argv_hex" (every argument, hex), "fds" (open descriptors,
 * sorted), "cwd", "sigblk", "sigign" (the SigBlk and SigIgn hex masks of
 * /proc/self/status), "umask" (octal text, e.g. "0027"), "cpus_allowed"
 * (Cpus_allowed_list) and "environ_hex" (every environment entry, hex, in
 * order).
 *
 * Probe starts are counted, nokvm ones included, before any data is read.
 * Misconfiguration (bad option, unreadable or unknown data) is reported as
 * "fake-qemu: ..." on stderr with exit status 2.
 */
#include <glib.h>
#include <json-glib/json-glib.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define FAKE_EXIT_CONFIG  2
#define HUGE_PROP_LEN     (20 * 1024 * 1024)
#define MACHINES_BASENAME "qemu-7.2-machines.json"
#define MODELS_BASENAME   "qemu-10.0-cpu-models.qmp"
#define MALFORMED_REPLY                                                        \
    "{\"return\": {\"model\": {\"name\": \"host\", \"props\": {\"pcid\": tru"
#define BADNAME_PROP "\"evil flag;touch /tmp/pwned\": true"
#define BADMODEL_ENTRY                                                         \
    "{\"name\": \"Evil Model;rm\", \"typename\": "                             \
    "\"Evil Model;rm-x86_64-cpu\", \"unavailable-features\": [\"x y\"], "      \
    "\"static\": false, \"migration-safe\": true}"
#define RTC_CHANGE_DATA                                                        \
    "{\"offset\": 0, \"qom-path\": \"/machine/unattached/device[0]\"}"
#define SHUTDOWN_DATA "{\"guest\": false, \"reason\": \"host-qmp-quit\"}"

typedef enum {
    MODE_OK,
    MODE_NOKVM,
    MODE_MALFORMED,
    MODE_TRUNCATED,
    MODE_OUT_OF_ORDER,
    MODE_HUGE,
    MODE_BADNAME,
    MODE_BADMODEL,
    MODE_HANG,
    MODE_EVENTS,
    MODE_EXIT_EARLY,
    MODE_NOREPLY_ID,
    MODE_DEEP,
    MODE_FLOOD,
    MODE_QMP_ERROR,
    MODE_NOGREETING,
    MODE_SILENT,
    MODE_CRASH,
    MODE_KILL_PARENT,
    MODE__MAX,
} FakeMode;

static const char *const mode_names[MODE__MAX] = {
    [MODE_OK] = "ok",
    [MODE_NOKVM] = "nokvm",
    [MODE_MALFORMED] = "malformed",
    [MODE_TRUNCATED] = "truncated",
    [MODE_OUT_OF_ORDER] = "out-of-order",
    [MODE_HUGE] = "huge",
    [MODE_BADNAME] = "badname",
    [MODE_BADMODEL] = "badmodel",
    [MODE_HANG] = "hang",
    [MODE_EVENTS] = "events",
    [MODE_EXIT_EARLY] = "exit-early",
    [MODE_NOREPLY_ID] = "noreply-id",
    [MODE_DEEP] = "deep",
    [MODE_FLOOD] = "flood",
    [MODE_QMP_ERROR] = "qmp-error",
    [MODE_NOGREETING] = "nogreeting",
    [MODE_SILENT] = "silent",
    [MODE_CRASH] = "crash",
    [MODE_KILL_PARENT] = "kill-parent",
};

#define DEEP_LEVELS    100000
#define FLOOD_BYTES    (100 * 1024 * 1024)
#define QMP_ERROR_DESC "injected\\nfailure\\t\\u001b[31mred"

typedef struct {
    /* Raw settings, from the environment, then the options. */
    char *replay;
    char *version;
    char *package;
    char *machines;
    char *models;
    char *mode_name;
    char *count_dir;
    char *record;
    char *exit_status;
    char *phys_bits;
    char *tsc_hz;
    char *inject_prop;
    char *probe_record;

    /* Derived from the raw settings by config_validate(). */
    FakeMode mode;
    int major, minor, micro;
    int exit_code;

    /* The QEMU arguments: argv past the fake options (not owned). */
    int qemu_argc;
    char **qemu_argv;
} FakeConfig;

typedef struct {
    const char *option;
    const char *env;
    size_t offset;
} OptionSpec;

static const OptionSpec option_specs[] = {
    {"--replay", "FAKE_QEMU_REPLAY", offsetof(FakeConfig, replay)},
    {"--qemu-version", "FAKE_QEMU_VERSION", offsetof(FakeConfig, version)},
    {"--package", "FAKE_QEMU_PACKAGE", offsetof(FakeConfig, package)},
    {"--machines", "FAKE_QEMU_MACHINES", offsetof(FakeConfig, machines)},
    {"--models", "FAKE_QEMU_MODELS", offsetof(FakeConfig, models)},
    {"--mode", "FAKE_QEMU_MODE", offsetof(FakeConfig, mode_name)},
    {"--count-dir", "FAKE_QEMU_COUNT_DIR", offsetof(FakeConfig, count_dir)},
    {"--record", "FAKE_QEMU_RECORD", offsetof(FakeConfig, record)},
    {"--exit", "FAKE_QEMU_EXIT", offsetof(FakeConfig, exit_status)},
    {"--phys-bits", "FAKE_QEMU_PHYS_BITS", offsetof(FakeConfig, phys_bits)},
    {"--tsc-hz", "FAKE_QEMU_TSC_HZ", offsetof(FakeConfig, tsc_hz)},
    {"--inject-prop", "FAKE_QEMU_INJECT_PROP",
     offsetof(FakeConfig, inject_prop)},
    {"--probe-record", "FAKE_QEMU_PROBE_RECORD",
     offsetof(FakeConfig, probe_record)},
};

/* The kinds of recorded document fake-qemu knows. */
typedef enum {
    DOC_UNKNOWN,
    DOC_EXPANSION,
    DOC_DEFINITIONS,
    DOC_QOM,
    DOC_MACHINES,
    DOC__MAX,
} DocKind;

typedef struct {
    gboolean is_error; /* text is the "error" member, not "return" */
    GString *text;     /* compact JSON of that member; NULL: not recorded */
} Recorded;

typedef struct {
    Recorded docs[DOC__MAX];
    guint count; /* documents recognised */
} Replay;

typedef struct {
    const FakeConfig *cfg;
    Replay replay;
    GString *machines;  /* compact "return" of the machines file */
    GHashTable *models; /* model name -> raw "return" text, or NULL */
    gboolean negotiated;
    GString *held;    /* out-of-order: reply waiting for its partner */
    JsonObject *args; /* the current command's "arguments", or NULL */
} Probe;

/**
 * die() - report a fake-qemu misconfiguration and exit
 * @fmt: printf format of the message
 *
 * For mistakes in the test set-up, never for simulated QEMU failures.
 */
static void G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) die(const char *fmt, ...)
{
    va_list ap;

    fputs("fake-qemu: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(FAKE_EXIT_CONFIG);
}

/* ---- raw JSON text ---------------------------------------------------- */

/**
 * is_json_ws() - whether a byte is JSON whitespace
 * @c: the byte
 *
 * Return: TRUE for space, tab, CR and LF
 */
static gboolean is_json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/**
 * raw_skip_ws() - skip JSON whitespace
 * @s: text
 * @len: length of @s
 * @pos: where to start
 *
 * Return: the offset of the first non-whitespace byte at or after @pos, or
 * @len
 */
static gsize raw_skip_ws(const char *s, gsize len, gsize pos)
{
    while (pos < len && is_json_ws(s[pos])) {
        pos++;
    }
    return pos;
}

/**
 * raw_value_end() - find where the JSON value starting at @pos ends
 * @s: text
 * @len: length of @s
 * @pos: offset of the value's first byte (not whitespace)
 * @end: set to the offset just past the value
 *
 * Only strings and bracket nesting are tracked, so this splits text that is
 * then validated by JsonParser; it does not validate anything itself.
 *
 * Return: FALSE if the value is empty or not closed before @len
 */
static gboolean raw_value_end(const char *s, gsize len, gsize pos, gsize *end)
{
    gsize depth = 0;
    gboolean in_string = FALSE;
    gboolean escaped = FALSE;
    gsize i;

    if (pos >= len) {
        return FALSE;
    }
    if (s[pos] != '{' && s[pos] != '[' && s[pos] != '"') {
        for (i = pos; i < len && !strchr(" \t\r\n,:[]{}\"", s[i]); i++) {
            /* a number or a literal: ends at the next delimiter */
        }
        *end = i;
        return i > pos;
    }
    for (i = pos; i < len; i++) {
        char c = s[i];

        if (in_string) {
            if (escaped) {
                escaped = FALSE;
            } else if (c == '\\') {
                escaped = TRUE;
            } else if (c == '"') {
                in_string = FALSE;
                if (depth == 0) {
                    *end = i + 1;
                    return TRUE;
                }
            }
        } else if (c == '"') {
            in_string = TRUE;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) {
                return FALSE;
            }
            if (--depth == 0) {
                *end = i + 1;
                return TRUE;
            }
        }
    }
    return FALSE;
}

/**
 * raw_key_equals() - compare a raw JSON member name with @key
 * @s: text
 * @start: offset of the name's opening quote
 * @end: offset just past its closing quote
 * @key: the name wanted
 *
 * Names with escapes are decoded by JsonParser, so "i\u0064" is "id".
 *
 * Return: TRUE if the decoded name is @key
 */
static gboolean raw_key_equals(const char *s, gsize start, gsize end,
                               const char *key)
{
    g_autoptr(JsonParser) parser = NULL;
    gsize n = end - start - 2;

    if (!memchr(s + start, '\\', end - start)) {
        return n == strlen(key) && memcmp(s + start + 1, key, n) == 0;
    }
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, s + start, end - start, NULL) ||
        json_node_get_value_type(json_parser_get_root(parser)) !=
            G_TYPE_STRING) {
        return FALSE;
    }
    return strcmp(json_node_get_string(json_parser_get_root(parser)), key) == 0;
}

/**
 * raw_member() - locate a member's value in the raw text of an object
 * @s: text, valid JSON (checked by JsonParser beforehand)
 * @len: length of @s
 * @obj: offset of the object's '{'
 * @key: member name
 * @start: set to the offset of the value's first byte
 * @end: set to the offset just past the value
 *
 * Return: FALSE if @obj is not an object or has no member @key
 */
static gboolean raw_member(const char *s, gsize len, gsize obj, const char *key,
                           gsize *start, gsize *end)
{
    gsize pos = obj + 1;

    if (obj >= len || s[obj] != '{') {
        return FALSE;
    }
    for (;;) {
        gsize kend, vstart, vend;

        pos = raw_skip_ws(s, len, pos);
        if (pos >= len || s[pos] != '"' || !raw_value_end(s, len, pos, &kend)) {
            return FALSE;
        }
        vstart = raw_skip_ws(s, len, kend);
        if (vstart >= len || s[vstart] != ':') {
            return FALSE;
        }
        vstart = raw_skip_ws(s, len, vstart + 1);
        if (!raw_value_end(s, len, vstart, &vend)) {
            return FALSE;
        }
        if (raw_key_equals(s, pos, kend, key)) {
            *start = vstart;
            *end = vend;
            return TRUE;
        }
        pos = raw_skip_ws(s, len, vend);
        if (pos >= len || s[pos] != ',') {
            return FALSE;
        }
        pos++;
    }
}

/**
 * append_json_string() - append @s as a JSON string, escaped like QEMU
 * @out: where to append
 * @s: NUL-terminated text; invalid UTF-8 becomes U+FFFD
 *
 * QEMU escapes control characters and everything outside ASCII as \uXXXX.
 */
static void append_json_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    while (*s) {
        gunichar c = g_utf8_get_char_validated(s, -1);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append(out, "\\uFFFD");
            s++;
            continue;
        }
        s = g_utf8_next_char(s);
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (c > 0xFFFF) {
                c -= 0x10000;
                g_string_append_printf(out, "\\u%04X\\u%04X",
                                       0xD800 + (c >> 10),
                                       0xDC00 + (c & 0x3FF));
            } else if (c < 0x20 || c > 0x7F) {
                g_string_append_printf(out, "\\u%04X", c);
            } else {
                g_string_append_c(out, (char)c);
            }
        }
    }
    g_string_append_c(out, '"');
}

/**
 * raw_append_string() - append a raw JSON string token, escaped like QEMU
 * @out: where to append
 * @tok: the token, quotes included (valid JSON)
 * @len: its length
 *
 * Plain printable ASCII is copied; anything with escapes, control bytes or
 * non-ASCII is decoded and re-escaped the way QEMU would print it.
 */
static void raw_append_string(GString *out, const char *tok, gsize len)
{
    g_autoptr(JsonParser) parser = NULL;
    JsonNode *root;
    gsize i;

    for (i = 1; i + 1 < len; i++) {
        guchar c = tok[i];

        if (c == '\\' || c < 0x20 || c > 0x7e) {
            break;
        }
    }
    if (i + 1 >= len) {
        g_string_append_len(out, tok, len);
        return;
    }
    parser = json_parser_new();
    if (json_parser_load_from_data(parser, tok, len, NULL) &&
        (root = json_parser_get_root(parser)) != NULL &&
        json_node_get_value_type(root) == G_TYPE_STRING) {
        append_json_string(out, json_node_get_string(root));
    } else {
        g_string_append_len(out, tok, len);
    }
}

/**
 * raw_compact() - re-space raw JSON the way QEMU prints a QMP line
 * @s: text of one valid JSON value
 * @len: length of @s
 *
 * Whitespace outside strings is dropped and ", " and ": " separate items,
 * as in QEMU's compact output.  Numbers are copied verbatim, strings too
 * unless QEMU would escape them differently (see raw_append_string()).
 *
 * Return: a new GString
 */
static GString *raw_compact(const char *s, gsize len)
{
    GString *out = g_string_sized_new(len);
    gsize i = 0;

    while (i < len) {
        char c = s[i];
        gsize end;

        if (c == '"' && raw_value_end(s, len, i, &end)) {
            raw_append_string(out, s + i, end - i);
            i = end;
            continue;
        }
        i++;
        if (is_json_ws(c)) {
            continue;
        }
        g_string_append_c(out, c);
        if (c == ',' || c == ':') {
            g_string_append_c(out, ' ');
        }
    }
    return out;
}

/**
 * raw_insert_first() - insert an item at the front of a compact container
 * @json: compact JSON text (from raw_compact())
 * @open: offset of the container's '{' or '['
 * @item: text of the new member ("name": value) or element
 */
static void raw_insert_first(GString *json, gsize open, const char *item)
{
    gboolean empty = json->str[open + 1] == '}' || json->str[open + 1] == ']';

    g_string_insert(json, open + 1, empty ? "" : ", ");
    g_string_insert(json, open + 1, item);
}

/* ---- recorded data ---------------------------------------------------- */

/**
 * array_first_object() - first element of an array node, if an object
 * @node: any node
 *
 * Return: the object, or NULL
 */
static JsonObject *array_first_object(JsonNode *node)
{
    JsonArray *array;

    if (!JSON_NODE_HOLDS_ARRAY(node)) {
        return NULL;
    }
    array = json_node_get_array(node);
    if (json_array_get_length(array) == 0 ||
        !JSON_NODE_HOLDS_OBJECT(json_array_get_element(array, 0))) {
        return NULL;
    }
    return json_array_get_object_element(array, 0);
}

/**
 * doc_classify() - tell what a recorded document answers
 * @id: the document's "id", or NULL
 * @value: its "return" or "error" value
 * @is_error: whether @value is an "error"
 *
 * Known ids decide; documents without one (or with an unknown one) are
 * recognised by the shape of their "return".
 *
 * Return: the kind, DOC_UNKNOWN if not recognised
 */
static DocKind doc_classify(const char *id, JsonNode *value, gboolean is_error)
{
    static const char *const qom_ids[] = {
        "feature-words", "family", "model", "stepping", "model-id",
    };
    JsonObject *first;
    gsize i;

    if (id) {
        if (strcmp(id, "model-expansion") == 0) {
            return DOC_EXPANSION;
        }
        if (strcmp(id, "definitions") == 0) {
            return DOC_DEFINITIONS;
        }
        if (strcmp(id, "machines") == 0) {
            return DOC_MACHINES;
        }
        for (i = 0; i < G_N_ELEMENTS(qom_ids); i++) {
            if (strcmp(id, qom_ids[i]) == 0) {
                return DOC_QOM;
            }
        }
    }
    if (is_error) {
        return DOC_UNKNOWN;
    }
    if (JSON_NODE_HOLDS_OBJECT(value) &&
        json_object_has_member(json_node_get_object(value), "model")) {
        return DOC_EXPANSION;
    }
    first = array_first_object(value);
    if (first && json_object_has_member(first, "cpuid-register")) {
        return DOC_QOM;
    }
    if (first && json_object_has_member(first, "cpu-max")) {
        return DOC_MACHINES;
    }
    if (first && json_object_has_member(first, "name") &&
        (json_object_has_member(first, "unavailable-features") ||
         json_object_has_member(first, "typename"))) {
        return DOC_DEFINITIONS;
    }
    return DOC_UNKNOWN;
}

/**
 * replay_add_document() - validate, classify and store one document
 * @r: where recognised documents go (a later one replaces an earlier one)
 * @doc: the document's raw text
 * @len: its length
 * @error: set on failure
 *
 * Return: FALSE if the document is not a QMP reply object
 */
static gboolean replay_add_document(Replay *r, const char *doc, gsize len,
                                    GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    const char *member = "return";
    const char *id = NULL;
    JsonObject *obj;
    gsize start, end;
    DocKind kind;

    if (!json_parser_load_from_data(parser, doc, len, error)) {
        return FALSE;
    }
    obj = json_node_get_object(json_parser_get_root(parser));
    if (!json_object_has_member(obj, "return")) {
        member = "error";
        if (!json_object_has_member(obj, "error")) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "document has neither \"return\" nor \"error\"");
            return FALSE;
        }
    }
    if (json_object_has_member(obj, "id") &&
        json_node_get_value_type(json_object_get_member(obj, "id")) ==
            G_TYPE_STRING) {
        id = json_object_get_string_member(obj, "id");
    }
    kind = doc_classify(id, json_object_get_member(obj, member),
                        strcmp(member, "error") == 0);
    if (kind == DOC_UNKNOWN) {
        return TRUE;
    }
    if (!raw_member(doc, len, 0, member, &start, &end)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "cannot locate \"%s\" in the document text", member);
        return FALSE;
    }
    if (r->docs[kind].text) {
        g_string_free(r->docs[kind].text, TRUE);
    }
    r->docs[kind].is_error = strcmp(member, "error") == 0;
    r->docs[kind].text = raw_compact(doc + start, end - start);
    r->count++;
    return TRUE;
}

/**
 * replay_load() - read a file of concatenated QMP reply documents
 * @r: zero-initialised; receives the recognised documents
 * @path: the file (a libvirt capture or a query-machines reply)
 *
 * Documents are top-level objects separated by any whitespace; they are
 * split by raw_value_end() and each checked by JsonParser.  Exits through
 * die() on any problem, including a file with no recognised document.
 */
static void replay_load(Replay *r, const char *path)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize len, pos = 0, end;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        die("%s", err->message);
    }
    for (;;) {
        pos = raw_skip_ws(data, len, pos);
        if (pos >= len) {
            break;
        }
        if (data[pos] != '{' || !raw_value_end(data, len, pos, &end)) {
            die("%s: byte %" G_GSIZE_FORMAT ": expected a JSON object", path,
                pos);
        }
        if (!replay_add_document(r, data + pos, end - pos, &err)) {
            die("%s: byte %" G_GSIZE_FORMAT ": %s", path, pos, err->message);
        }
        pos = end;
    }
    if (r->count == 0) {
        die("%s: no recognised QMP reply in the file", path);
    }
}

/**
 * replay_clear() - free the recorded texts
 * @r: a Replay filled by replay_load()
 */
static void replay_clear(Replay *r)
{
    gsize i;

    for (i = 0; i < DOC__MAX; i++) {
        if (r->docs[i].text) {
            g_string_free(r->docs[i].text, TRUE);
            r->docs[i].text = NULL;
        }
    }
}

/**
 * expansion_props_offset() - find the props object of the recorded expansion
 * @r: loaded replay
 * @open: set to the offset of the props' '{' in the compact text
 *
 * Return: FALSE if there is no recorded return.model.props object
 */
static gboolean expansion_props_offset(const Replay *r, gsize *open)
{
    const Recorded *rec = &r->docs[DOC_EXPANSION];
    gsize model, props, end;

    if (!rec->text || rec->is_error) {
        return FALSE;
    }
    if (!raw_member(rec->text->str, rec->text->len, 0, "model", &model, &end) ||
        !raw_member(rec->text->str, rec->text->len, model, "props", &props,
                    &end) ||
        rec->text->str[props] != '{') {
        return FALSE;
    }
    *open = props;
    return TRUE;
}

/**
 * raw_drop_named() - remove the members of a compact object that @text
 * names again
 * @json: compact JSON text (from raw_compact())
 * @open: offset of the object's '{'
 * @text: raw member text about to be added
 *
 * qemu-mig refuses an object with a repeated key, so an injected member
 * must replace the recorded one of the same name, not follow it.
 */
static void raw_drop_named(GString *json, gsize open, const char *text)
{
    gsize pos = open + 1;

    while (pos < json->len && json->str[pos] == '"') {
        gsize key_end, value_end, next;
        g_autofree char *key = NULL;
        const char *hit;
        gboolean named = FALSE;

        if (!raw_value_end(json->str, json->len, pos, &key_end) ||
            key_end + 2 > json->len ||
            !raw_value_end(json->str, json->len, key_end + 2, &value_end)) {
            return;
        }
        key = g_strndup(json->str + pos, key_end - pos);
        for (hit = strstr(text, key); hit && !named;
             hit = strstr(hit + 1, key)) {
            const char *after = hit + strlen(key);

            while (*after == ' ') {
                after++;
            }
            named = *after == ':';
        }
        next = value_end;
        if (next + 1 < json->len && json->str[next] == ',') {
            next += 2;
        }
        if (!named) {
            pos = next;
            continue;
        }
        if (json->str[next] == '}' && pos > open + 1) {
            /* the last member: drop the ", " before it instead */
            g_string_erase(json, pos - 2, next - pos + 2);
            return;
        }
        g_string_erase(json, pos, next - pos);
    }
}

/**
 * replay_inject_prop() - append raw members to the expansion's props
 * @r: loaded replay
 * @text: raw member text, e.g. "\"a,b\": true", copied byte for byte
 */
static void replay_inject_prop(Replay *r, const char *text)
{
    GString *exp = r->docs[DOC_EXPANSION].text;
    gsize open, end;

    if (!expansion_props_offset(r, &open) ||
        !raw_value_end(exp->str, exp->len, open, &end)) {
        fprintf(stderr, "fake-qemu: --inject-prop changes nothing: no props "
                        "recorded\n");
        return;
    }
    raw_drop_named(exp, open, text);
    if (!raw_value_end(exp->str, exp->len, open, &end)) {
        return;
    }
    /* end is just past the props' '}': insert before it */
    g_string_insert(exp, end - 1, text);
    if (exp->str[end - 2] != '{')
        g_string_insert(exp, end - 1, ", ");
}

/**
 * replay_apply_mode() - make the recorded replies misbehave for @mode
 * @r: loaded replay
 * @mode: the configured mode; only huge, badname and badmodel edit data
 */
static void replay_apply_mode(Replay *r, FakeMode mode)
{
    Recorded *defs = &r->docs[DOC_DEFINITIONS];
    gsize open;

    if (mode == MODE_DEEP) {
        if (!expansion_props_offset(r, &open)) {
            fprintf(stderr, "fake-qemu: mode deep changes nothing: no props "
                            "recorded\n");
        } else {
            g_autoptr(GString) prop = g_string_new("\"fake-deep\": ");

            for (guint i = 0; i < DEEP_LEVELS; i++)
                g_string_append_c(prop, '[');
            for (guint i = 0; i < DEEP_LEVELS; i++)
                g_string_append_c(prop, ']');
            raw_insert_first(r->docs[DOC_EXPANSION].text, open, prop->str);
        }
        return;
    }

    if (mode == MODE_HUGE || mode == MODE_BADNAME) {
        if (!expansion_props_offset(r, &open)) {
            fprintf(stderr,
                    "fake-qemu: mode %s changes nothing: no props recorded\n",
                    mode_names[mode]);
        } else if (mode == MODE_BADNAME) {
            raw_insert_first(r->docs[DOC_EXPANSION].text, open, BADNAME_PROP);
        } else {
            g_autoptr(GString) prop = g_string_new("\"fake-huge-prop\": \"");
            gsize head = prop->len;

            g_string_set_size(prop, head + HUGE_PROP_LEN);
            memset(prop->str + head, 'x', HUGE_PROP_LEN);
            g_string_append_c(prop, '"');
            raw_insert_first(r->docs[DOC_EXPANSION].text, open, prop->str);
        }
    } else if (mode == MODE_BADMODEL) {
        if (!defs->text || defs->is_error || defs->text->str[0] != '[') {
            fprintf(stderr, "fake-qemu: mode badmodel changes nothing: no "
                            "CPU definitions recorded\n");
        } else {
            raw_insert_first(defs->text, 0, BADMODEL_ENTRY);
        }
    }
}

/* ---- QMP output ------------------------------------------------------- */

/**
 * write_line() - write one line to stdout, ended by CRLF, and flush it
 * @text: the line, without its line ending
 * @len: length of @text
 *
 * A caller that stopped reading makes fake-qemu exit 1, as a dead monitor
 * would end QEMU's conversation.
 */
static void write_line(const char *text, gsize len)
{
    if (fwrite(text, 1, len, stdout) != len || fputs("\r\n", stdout) == EOF ||
        fflush(stdout) != 0) {
        exit(1);
    }
}

/**
 * write_event() - write a QMP event line stamped with the current time
 * @event: event name
 * @data: compact JSON of the event's "data"
 */
static void write_event(const char *event, const char *data)
{
    gint64 now = g_get_real_time();
    g_autofree char *line = g_strdup_printf(
        "{\"timestamp\": {\"seconds\": %" G_GINT64_FORMAT
        ", \"microseconds\": %" G_GINT64_FORMAT "}, \"event\": \"%s\", "
        "\"data\": %s}",
        now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, event, data);

    write_line(line, strlen(line));
}

/**
 * probe_send() - write one reply line, with the events mode's noise
 * @p: probe state
 * @reply: the reply text
 */
static void probe_send(Probe *p, const GString *reply)
{
    if (p->cfg->mode == MODE_EVENTS) {
        write_event("RTC_CHANGE", RTC_CHANGE_DATA);
    }
    write_line(reply->str, reply->len);
}

/**
 * probe_release_held() - send the reply held back by the out-of-order mode
 * @p: probe state
 */
static void probe_release_held(Probe *p)
{
    if (p->held) {
        probe_send(p, p->held);
        g_string_free(p->held, TRUE);
        p->held = NULL;
    }
}

/**
 * reply_return() - build {"return": VALUE, "id": ID}
 * @value: compact JSON of the return value
 * @id: compact JSON of the command's id, or NULL to omit it
 *
 * Return: a new GString
 */
static GString *reply_return(const char *value, const char *id)
{
    GString *r = g_string_new("{\"return\": ");

    g_string_append(r, value);
    if (id) {
        g_string_append(r, ", \"id\": ");
        g_string_append(r, id);
    }
    g_string_append_c(r, '}');
    return r;
}

/**
 * reply_error_raw() - build {"id": ID, "error": ERROR}
 * @error: compact JSON of the error object
 * @id: compact JSON of the command's id, or NULL to omit it
 *
 * Return: a new GString
 */
static GString *reply_error_raw(const char *error, const char *id)
{
    GString *r = g_string_new("{");

    if (id) {
        g_string_append(r, "\"id\": ");
        g_string_append(r, id);
        g_string_append(r, ", ");
    }
    g_string_append(r, "\"error\": ");
    g_string_append(r, error);
    g_string_append_c(r, '}');
    return r;
}

/**
 * reply_error() - build a QMP error reply
 * @cls: error class, e.g. "GenericError"
 * @desc: human-readable description
 * @id: compact JSON of the command's id, or NULL to omit it
 *
 * Return: a new GString
 */
static GString *reply_error(const char *cls, const char *desc, const char *id)
{
    g_autoptr(GString) error = g_string_new("{\"class\": ");

    append_json_string(error, cls);
    g_string_append(error, ", \"desc\": ");
    append_json_string(error, desc);
    g_string_append_c(error, '}');
    return reply_error_raw(error->str, id);
}

/**
 * reply_recorded() - build the reply replaying a recorded document
 * @rec: the recorded return or error
 * @id: compact JSON of the command's id, or NULL to omit it
 *
 * Return: a new GString
 */
static GString *reply_recorded(const Recorded *rec, const char *id)
{
    if (rec->is_error) {
        return reply_error_raw(rec->text->str, id);
    }
    return reply_return(rec->text->str, id);
}

/* ---- QMP commands ----------------------------------------------------- */

typedef GString *(*CommandFunc)(Probe *p, const char *id);

/**
 * cmd_qmp_capabilities() - leave capabilities negotiation mode
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Return: the reply
 */
static GString *cmd_qmp_capabilities(Probe *p, const char *id)
{
    if (p->negotiated) {
        return reply_error("CommandNotFound",
                           "Capabilities negotiation is already complete, "
                           "command ignored",
                           id);
    }
    p->negotiated = TRUE;
    return reply_return("{}", id);
}

/**
 * cmd_query_version() - the configured QEMU version and package
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Return: the reply
 */
static GString *cmd_query_version(Probe *p, const char *id)
{
    g_autoptr(GString) value = g_string_new(NULL);

    g_string_append_printf(value,
                           "{\"qemu\": {\"micro\": %d, \"minor\": %d, "
                           "\"major\": %d}, \"package\": ",
                           p->cfg->micro, p->cfg->minor, p->cfg->major);
    append_json_string(value, p->cfg->package);
    g_string_append_c(value, '}');
    return reply_return(value->str, id);
}

/**
 * cmd_query_kvm() - KVM is always present and enabled (see nokvm mode)
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Return: the reply
 */
static GString *cmd_query_kvm(Probe *p G_GNUC_UNUSED, const char *id)
{
    return reply_return("{\"enabled\": true, \"present\": true}", id);
}

/**
 * cmd_qom_get() - the vCPU facts a probe reads: phys-bits, tsc-frequency,
 *                 guest-phys-bits
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Captures hold neither, so they come from --phys-bits / --tsc-hz (or
 * FAKE_QEMU_PHYS_BITS / FAKE_QEMU_TSC_HZ), with defaults every fake shares.
 *
 * Return: the reply
 */
static GString *cmd_qom_get(Probe *p, const char *id)
{
    const char *prop = p->args && json_object_has_member(p->args, "property")
                           ? json_object_get_string_member(p->args, "property")
                           : "";

    if (g_strcmp0(prop, "phys-bits") == 0)
        return reply_return(p->cfg->phys_bits ? p->cfg->phys_bits : "46", id);
    if (g_strcmp0(prop, "tsc-frequency") == 0)
        return reply_return(p->cfg->tsc_hz ? p->cfg->tsc_hz : "2100000000", id);
    /* QEMU 9.1+ has it (its expansion lists it) and sets it from KVM: the
     * host's width, as on the hosts the captures came from */
    if (g_strcmp0(prop, "guest-phys-bits") == 0 &&
        p->replay.docs[DOC_EXPANSION].text != NULL &&
        strstr(p->replay.docs[DOC_EXPANSION].text->str,
               "\"guest-phys-bits\"") != NULL)
        return reply_return(p->cfg->phys_bits ? p->cfg->phys_bits : "46", id);
    return reply_error("GenericError", "Property not found", id);
}

/**
 * cmd_query_cpu_model_expansion() - replay the recorded expansion
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * The arguments are ignored: the capture holds one full expansion.  The
 * malformed and truncated modes act on this reply.
 *
 * Return: the reply (truncated mode exits instead)
 */
static GString *cmd_query_cpu_model_expansion(Probe *p, const char *id)
{
    const Recorded *rec = &p->replay.docs[DOC_EXPANSION];
    JsonObject *model = p->args && json_object_has_member(p->args, "model")
                            ? json_object_get_object_member(p->args, "model")
                            : NULL;
    const char *name =
        model ? json_object_get_string_member_with_default(model, "name", NULL)
              : NULL;
    GString *reply;

    /* a named model is QEMU's definition, not this host's: the models
     * file answers, as QEMU would for a model it does not know */
    if (name != NULL && strcmp(name, "host") != 0) {
        const char *ret =
            p->models ? g_hash_table_lookup(p->models, name) : NULL;
        g_autofree char *desc =
            g_strdup_printf("The CPU definition '%s' not found.", name);

        return ret ? reply_return(ret, id)
                   : reply_error("GenericError", desc, id);
    }
    if (rec->text) {
        reply = reply_recorded(rec, id);
    } else {
        reply = reply_error("CommandNotFound",
                            "The command query-cpu-model-expansion has not "
                            "been found",
                            id);
    }
    if (p->cfg->mode == MODE_MALFORMED) {
        g_string_assign(reply, MALFORMED_REPLY);
    } else if (p->cfg->mode == MODE_TRUNCATED) {
        if (fwrite(reply->str, 1, reply->len / 2, stdout) != reply->len / 2 ||
            fflush(stdout) != 0) {
            exit(1);
        }
        exit(0);
    }
    return reply;
}

/**
 * cmd_query_cpu_definitions() - replay the recorded CPU model list
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Return: the reply; an error for captures without definitions
 */
static GString *cmd_query_cpu_definitions(Probe *p, const char *id)
{
    const Recorded *rec = &p->replay.docs[DOC_DEFINITIONS];

    if (!rec->text) {
        return reply_error("GenericError",
                           "fake-qemu: no CPU definitions recorded for this "
                           "CPU",
                           id);
    }
    return reply_recorded(rec, id);
}

/**
 * cmd_query_machines() - replay the machines file
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Return: the reply
 */
static GString *cmd_query_machines(Probe *p, const char *id)
{
    return reply_return(p->machines->str, id);
}

/**
 * cmd_quit() - acknowledge quit; the caller emits SHUTDOWN and exits
 * @p: probe state
 * @id: compact JSON id or NULL
 *
 * Return: the reply
 */
static GString *cmd_quit(Probe *p G_GNUC_UNUSED, const char *id)
{
    return reply_return("{}", id);
}

static const struct {
    const char *name;
    CommandFunc func;
} commands[] = {
    {"qmp_capabilities", cmd_qmp_capabilities},
    {"query-version", cmd_query_version},
    {"query-kvm", cmd_query_kvm},
    {"query-cpu-model-expansion", cmd_query_cpu_model_expansion},
    {"query-cpu-definitions", cmd_query_cpu_definitions},
    {"query-machines", cmd_query_machines},
    {"qom-get", cmd_qom_get},
    {"quit", cmd_quit},
};

/**
 * request_check() - QEMU's checks on the shape of a QMP request
 * @obj: the request
 *
 * Return: NULL if valid, else the GenericError description (newly allocated)
 */
static char *request_check(JsonObject *obj)
{
    static const char *const allowed[] = {
        "execute", "exec-oob", "arguments", "id", "control",
    };
    g_autoptr(GList) names = json_object_get_members(obj);
    GList *l;

    for (l = names; l; l = l->next) {
        gsize i;

        for (i = 0; i < G_N_ELEMENTS(allowed); i++) {
            if (strcmp(l->data, allowed[i]) == 0) {
                break;
            }
        }
        if (i == G_N_ELEMENTS(allowed)) {
            return g_strdup_printf("QMP input member '%s' is unexpected",
                                   (const char *)l->data);
        }
    }
    if (!json_object_has_member(obj, "execute")) {
        return g_strdup("QMP input lacks member 'execute'");
    }
    if (json_node_get_value_type(json_object_get_member(obj, "execute")) !=
        G_TYPE_STRING) {
        return g_strdup("QMP input member 'execute' must be a string");
    }
    if (json_object_has_member(obj, "arguments") &&
        !JSON_NODE_HOLDS_OBJECT(json_object_get_member(obj, "arguments"))) {
        return g_strdup("QMP input member 'arguments' must be an object");
    }
    return NULL;
}

/**
 * probe_dispatch() - turn one command line into its reply
 * @p: probe state
 * @line: the line, without surrounding whitespace
 * @len: its length
 * @name: set to the command name (owned by @parser) when there is one
 * @parser: parser that keeps @name alive
 *
 * Return: the reply (never NULL)
 */
static GString *probe_dispatch(Probe *p, const char *line, gsize len,
                               const char **name, JsonParser *parser)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) id = NULL;
    g_autofree char *bad = NULL;
    JsonObject *obj;
    gsize start, end, i;

    *name = NULL;
    if (!json_parser_load_from_data(parser, line, len, &err)) {
        g_autofree char *desc =
            g_strdup_printf("JSON parse error, %s", err->message);

        return reply_error("GenericError", desc, NULL);
    }
    if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        return reply_error("GenericError", "QMP input must be a JSON object",
                           NULL);
    }
    obj = json_node_get_object(json_parser_get_root(parser));
    if (p->cfg->mode != MODE_NOREPLY_ID &&
        raw_member(line, len, 0, "id", &start, &end)) {
        id = raw_compact(line + start, end - start);
    }
    bad = request_check(obj);
    if (bad) {
        return reply_error("GenericError", bad, id ? id->str : NULL);
    }
    if (p->cfg->mode == MODE_QMP_ERROR) {
        return reply_error_raw(
            "{\"class\": \"GenericError\", \"desc\": \"" QMP_ERROR_DESC "\"}",
            id ? id->str : NULL);
    }
    *name = json_object_get_string_member(obj, "execute");
    if (!p->negotiated && strcmp(*name, "qmp_capabilities") != 0) {
        return reply_error("CommandNotFound",
                           "Expecting capabilities negotiation with "
                           "'qmp_capabilities'",
                           id ? id->str : NULL);
    }
    for (i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(*name, commands[i].name) == 0) {
            p->args = json_object_has_member(obj, "arguments")
                          ? json_object_get_object_member(obj, "arguments")
                          : NULL;
            return commands[i].func(p, id ? id->str : NULL);
        }
    }
    {
        g_autofree char *desc =
            g_strdup_printf("The command %s has not been found", *name);

        return reply_error("CommandNotFound", desc, id ? id->str : NULL);
    }
}

/**
 * probe_handle_line() - answer one command line
 * @p: probe state
 * @line: the line, without surrounding whitespace
 * @len: its length
 *
 * Return: FALSE once quit has been answered
 */
static gboolean probe_handle_line(Probe *p, const char *line, gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    const char *name;
    g_autoptr(GString) reply = probe_dispatch(p, line, len, &name, parser);
    gboolean negotiated = p->negotiated && name;
    gboolean quit = negotiated && strcmp(name, "quit") == 0;
    gboolean swappable =
        negotiated && (strcmp(name, "query-cpu-model-expansion") == 0 ||
                       strcmp(name, "query-cpu-definitions") == 0);

    if (p->cfg->mode == MODE_KILL_PARENT && negotiated &&
        strcmp(name, "query-cpu-model-expansion") == 0) {
        if (fwrite(reply->str, 1, reply->len / 2, stdout) != reply->len / 2 ||
            fflush(stdout) != 0) {
            exit(1);
        }
        kill(getppid(), SIGKILL);
        exit(0);
    }
    if (p->cfg->mode == MODE_OUT_OF_ORDER && swappable) {
        if (!p->held) {
            p->held = g_steal_pointer(&reply);
            return TRUE;
        }
        probe_send(p, reply);
        probe_release_held(p);
        return TRUE;
    }
    probe_release_held(p);
    if (quit) {
        write_event("SHUTDOWN", SHUTDOWN_DATA);
    }
    probe_send(p, reply);
    return !quit;
}

/**
 * flood() - one reply line of FLOOD_BYTES, written piece by piece
 *
 * Exits 1 as soon as a write fails (the reader went away).
 */
static void flood(void)
{
    static const char head[] = "{\"return\": {}, \"id\": \"capabilities\", "
                               "\"pad\": \"";
    char chunk[65536];
    gsize done = 0;

    memset(chunk, 'x', sizeof(chunk));
    if (fwrite(head, 1, strlen(head), stdout) != strlen(head)) {
        exit(1);
    }
    while (done < FLOOD_BYTES) {
        if (fwrite(chunk, 1, sizeof(chunk), stdout) != sizeof(chunk)) {
            exit(1);
        }
        done += sizeof(chunk);
    }
    write_line("\"}", 2);
}

static GArray *list_open_fds(void);
static void write_record(const char *path, int argc, char **argv, GArray *fds);

/**
 * count_probe() - leave one new file in the count directory
 * @dir: the directory, or NULL to count nothing
 *
 * mkstemp() creates the file atomically under a unique name, so parallel
 * probes never collide and a test can count the files.
 */
static void count_probe(const char *dir)
{
    g_autofree char *tmpl = NULL;
    g_autofree char *pid = NULL;
    int fd;

    if (!dir) {
        return;
    }
    tmpl = g_strdup_printf("%s/probe.%ld.XXXXXX", dir, (long)getpid());
    fd = g_mkstemp(tmpl);
    if (fd < 0) {
        die("--count-dir %s: %s", dir, g_strerror(errno));
    }
    pid = g_strdup_printf("%ld\n", (long)getpid());
    if (write(fd, pid, strlen(pid)) < 0) {
        die("%s: %s", tmpl, g_strerror(errno));
    }
    close(fd);
}

/**
 * print_nokvm() - what QEMU prints when /dev/kvm cannot be opened
 * @cfg: configuration; its -machine argument is echoed like QEMU does
 */
static void print_nokvm(const FakeConfig *cfg)
{
    const char *machine = "none,accel=kvm";
    int i;

    for (i = 0; i + 1 < cfg->qemu_argc; i++) {
        if (strcmp(cfg->qemu_argv[i], "-machine") == 0) {
            machine = cfg->qemu_argv[i + 1];
        }
    }
    fprintf(stderr, "Could not access KVM kernel module: No such file or "
                    "directory\n");
    fprintf(stderr,
            "qemu-system-x86_64: -machine %s: failed to initialize kvm: "
            "No such file or directory\n",
            machine);
}

/**
 * has_arg() - whether a QEMU argument is present, in - or -- form
 * @cfg: configuration
 * @name: the option without dashes
 * @value: required next argument, or NULL
 *
 * Return: TRUE if found
 */
static gboolean has_arg(const FakeConfig *cfg, const char *name,
                        const char *value)
{
    int i;

    for (i = 0; i < cfg->qemu_argc; i++) {
        const char *a = cfg->qemu_argv[i];

        if (a[0] != '-') {
            continue;
        }
        a += a[1] == '-' ? 2 : 1;
        if (strcmp(a, name) == 0 &&
            (!value || (i + 1 < cfg->qemu_argc &&
                        strcmp(cfg->qemu_argv[i + 1], value) == 0))) {
            return TRUE;
        }
    }
    return FALSE;
}

/**
 * load_models() - index the models file by model name
 * @cfg: configuration (its replay file locates the default models file)
 *
 * Return: model name -> raw "return" text of its expansion; empty when
 * there is no such file (every named model is then unknown)
 */
static GHashTable *load_models(const FakeConfig *cfg)
{
    GHashTable *models =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (cfg->models) {
        path = g_strdup(cfg->models);
    } else if (cfg->replay) {
        g_autofree char *dir = g_path_get_dirname(cfg->replay);

        path = g_build_filename(dir, MODELS_BASENAME, NULL);
    }
    if (!path || !g_file_get_contents(path, &text, NULL, NULL)) {
        return models;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        gsize len = strlen(*l), s, e, is, ie;
        g_autofree char *id = NULL;

        /* raw text, never through a JsonNode (see the header) */
        if (!raw_member(*l, len, 0, "id", &is, &ie) ||
            !raw_member(*l, len, 0, "return", &s, &e) || ie - is < 2) {
            continue;
        }
        id = g_strndup(*l + is + 1, ie - is - 2);
        if (g_str_has_prefix(id, "model:")) {
            g_hash_table_replace(models, g_strdup(id + strlen("model:")),
                                 g_strndup(*l + s, e - s));
        }
    }
    return models;
}

/**
 * probe_run() - act as QEMU with "-qmp stdio"
 * @cfg: configuration
 *
 * Return: exit status
 */
static int probe_run(const FakeConfig *cfg, int argc, char **argv)
{
    gboolean catalogue = has_arg(cfg, "machine", "none");
    Probe p = {.cfg = cfg};
    Replay machines = {0};
    g_autofree char *machines_path = NULL;
    g_autoptr(GString) greeting = g_string_new(NULL);
    g_autofree char *buf = NULL;
    size_t cap = 0;
    ssize_t n;

    if (catalogue) {
        p.models = load_models(cfg);
    } else {
        count_probe(cfg->count_dir);
    }
    if (cfg->probe_record && !catalogue) {
        g_autoptr(GArray) fds = list_open_fds();

        write_record(cfg->probe_record, argc, argv, fds);
    }
    if (cfg->mode == MODE_SILENT) {
        for (;;) {
            pause();
        }
    }
    if (cfg->mode == MODE_NOKVM) {
        print_nokvm(cfg);
        return 1;
    }

    if (!cfg->replay) {
        die("probe needs a capture: --replay FILE or FAKE_QEMU_REPLAY");
    }
    replay_load(&p.replay, cfg->replay);
    replay_apply_mode(&p.replay, cfg->mode);
    if (cfg->inject_prop) {
        replay_inject_prop(&p.replay, cfg->inject_prop);
    }
    if (cfg->machines) {
        machines_path = g_strdup(cfg->machines);
    } else {
        g_autofree char *dir = g_path_get_dirname(cfg->replay);

        machines_path = g_build_filename(dir, MACHINES_BASENAME, NULL);
    }
    replay_load(&machines, machines_path);
    if (!machines.docs[DOC_MACHINES].text ||
        machines.docs[DOC_MACHINES].is_error) {
        die("%s: no query-machines reply in the file", machines_path);
    }
    p.machines = g_steal_pointer(&machines.docs[DOC_MACHINES].text);
    replay_clear(&machines);

    signal(SIGPIPE, SIG_IGN);
    g_string_append_printf(greeting,
                           "{\"QMP\": {\"version\": {\"qemu\": "
                           "{\"micro\": %d, \"minor\": %d, \"major\": %d}, "
                           "\"package\": ",
                           cfg->micro, cfg->minor, cfg->major);
    append_json_string(greeting, cfg->package);
    g_string_append(greeting, "}, \"capabilities\": [\"oob\"]}}");
    if (cfg->mode != MODE_NOGREETING) {
        write_line(greeting->str, greeting->len);
    }

    if (cfg->mode == MODE_HANG) {
        for (;;) {
            pause();
        }
    }

    while ((n = getline(&buf, &cap, stdin)) >= 0) {
        gsize start = raw_skip_ws(buf, n, 0);
        gsize end = n;

        while (end > start && is_json_ws(buf[end - 1])) {
            end--;
        }
        if (start == end) {
            continue;
        }
        if (cfg->mode == MODE_EXIT_EARLY) {
            fprintf(stderr, "fake-qemu: crashed on purpose\n");
            return 1;
        }
        if (cfg->mode == MODE_CRASH) {
            signal(SIGSEGV, SIG_DFL);
            raise(SIGSEGV);
            return 139;
        }
        if (cfg->mode == MODE_FLOOD) {
            flood();
            return 1;
        }
        if (!probe_handle_line(&p, buf + start, end - start)) {
            break;
        }
    }
    probe_release_held(&p);
    replay_clear(&p.replay);
    g_string_free(p.machines, TRUE);
    g_clear_pointer(&p.models, g_hash_table_unref);
    return 0;
}

/* ---- exec mode -------------------------------------------------------- */

/**
 * compare_ints() - qsort-style comparison of two gint
 * @a: first
 * @b: second
 *
 * Return: <0, 0 or >0
 */
static gint compare_ints(gconstpointer a, gconstpointer b)
{
    gint x = *(const gint *)a;
    gint y = *(const gint *)b;

    return (x > y) - (x < y);
}

/**
 * list_open_fds() - the file descriptors open in this process
 *
 * The descriptor of the /proc/self/fd directory itself is left out.
 *
 * Return: a sorted GArray of gint
 */
static GArray *list_open_fds(void)
{
    GArray *fds = g_array_new(FALSE, FALSE, sizeof(gint));
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int self;

    if (!dir) {
        die("/proc/self/fd: %s", g_strerror(errno));
    }
    self = dirfd(dir);
    while ((ent = readdir(dir)) != NULL) {
        guint64 fd;

        if (g_ascii_string_to_unsigned(ent->d_name, 10, 0, G_MAXINT, &fd,
                                       NULL) &&
            (gint)fd != self) {
            gint v = (gint)fd;

            g_array_append_val(fds, v);
        }
    }
    closedir(dir);
    g_array_sort(fds, compare_ints);
    return fds;
}

/**
 * record_status_fields() - add sigblk, sigign, umask and cpus_allowed
 * @b: builder inside the record object
 *
 * Read from /proc/self/status, as the kernel sees this process; a missing
 * line is recorded as null.
 */
static void record_status_fields(JsonBuilder *b)
{
    static const struct {
        const char *line;
        const char *member;
    } wanted[] = {
        {"SigBlk:", "sigblk"},
        {"SigIgn:", "sigign"},
        {"Umask:", "umask"},
        {"Cpus_allowed_list:", "cpus_allowed"},
    };
    g_autofree char *status = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
        die("/proc/self/status: cannot read");
    }
    lines = g_strsplit(status, "\n", -1);
    for (gsize w = 0; w < G_N_ELEMENTS(wanted); w++) {
        const char *value = NULL;

        for (char **l = lines; *l; l++) {
            if (g_str_has_prefix(*l, wanted[w].line)) {
                value = *l + strlen(wanted[w].line);
                break;
            }
        }
        json_builder_set_member_name(b, wanted[w].member);
        if (value) {
            g_autofree char *v = g_strstrip(g_strdup(value));

            json_builder_add_string_value(b, v);
        } else {
            json_builder_add_null_value(b);
        }
    }
}

/**
 * write_record() - record how the real launch was made, atomically
 * @path: the record file
 * @argc: number of arguments
 * @argv: all arguments, argv[0] and fake options included
 * @fds: open descriptors, listed before anything else was opened
 *
 * g_file_set_contents_full() writes a temporary file and renames it over
 * @path, so a test never sees a partial record.
 */
static void write_record(const char *path, int argc, char **argv, GArray *fds)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *text = NULL;
    guint i;
    int a;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, getpid());
    json_builder_set_member_name(b, "ppid");
    json_builder_add_int_value(b, getppid());
    json_builder_set_member_name(b, "argv_hex");
    json_builder_begin_array(b);
    for (a = 0; a < argc; a++) {
        GString *hex = g_string_new(NULL);
        const guchar *c;

        for (c = (const guchar *)argv[a]; *c; c++) {
            g_string_append_printf(hex, "%02x", *c);
        }
        json_builder_add_string_value(b, hex->str);
        g_string_free(hex, TRUE);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "fds");
    json_builder_begin_array(b);
    for (i = 0; i < fds->len; i++) {
        json_builder_add_int_value(b, g_array_index(fds, gint, i));
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "cwd");
    json_builder_add_string_value(b, cwd);
    record_status_fields(b);
    json_builder_set_member_name(b, "environ_hex");
    json_builder_begin_array(b);
    for (char **e = environ; *e; e++) {
        GString *hex = g_string_new(NULL);
        const guchar *c;

        for (c = (const guchar *)*e; *c; c++) {
            g_string_append_printf(hex, "%02x", *c);
        }
        json_builder_add_string_value(b, hex->str);
        g_string_free(hex, TRUE);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    text = json_generator_to_data(gen, NULL);
    if (!g_file_set_contents_full(path, text, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, &err)) {
        die("%s", err->message);
    }
}

/**
 * exec_run() - act as the real QEMU launch
 * @cfg: configuration
 * @argc: number of arguments
 * @argv: all arguments
 *
 * Return: the configured exit status
 */
static int exec_run(const FakeConfig *cfg, int argc, char **argv)
{
    g_autoptr(GArray) fds = list_open_fds();

    if (cfg->record) {
        write_record(cfg->record, argc, argv, fds);
    }
    printf("fake-qemu: stdout belongs to QEMU\n");
    fflush(stdout);
    fprintf(stderr, "fake-qemu: started\n");
    return cfg->exit_code;
}

/* ---- configuration ---------------------------------------------------- */

/**
 * config_field() - the FakeConfig string an option sets
 * @cfg: configuration
 * @spec: the option
 *
 * Return: pointer to the field
 */
static char **config_field(FakeConfig *cfg, const OptionSpec *spec)
{
    return (char **)((char *)cfg + spec->offset);
}

/**
 * config_set() - store a setting, an empty value meaning unset
 * @cfg: configuration
 * @spec: the option
 * @value: new value; replaces an earlier one
 */
static void config_set(FakeConfig *cfg, const OptionSpec *spec,
                       const char *value)
{
    char **field = config_field(cfg, spec);

    g_free(*field);
    *field = value && *value ? g_strdup(value) : NULL;
}

/**
 * config_parse() - read the environment, then the leading fake options
 * @cfg: zero-initialised configuration
 * @argc: number of arguments
 * @argv: all arguments
 *
 * Sets cfg->qemu_argc/qemu_argv to the arguments left for QEMU.
 */
static void config_parse(FakeConfig *cfg, int argc, char **argv)
{
    gsize s;
    int i = 1;

    for (s = 0; s < G_N_ELEMENTS(option_specs); s++) {
        config_set(cfg, &option_specs[s], g_getenv(option_specs[s].env));
    }
    while (i < argc) {
        const OptionSpec *spec = NULL;
        const char *value = NULL;

        for (s = 0; s < G_N_ELEMENTS(option_specs) && !spec; s++) {
            gsize n = strlen(option_specs[s].option);

            if (strcmp(argv[i], option_specs[s].option) == 0) {
                spec = &option_specs[s];
                if (i + 1 >= argc) {
                    die("%s needs a value", argv[i]);
                }
                value = argv[++i];
            } else if (strncmp(argv[i], option_specs[s].option, n) == 0 &&
                       argv[i][n] == '=') {
                spec = &option_specs[s];
                value = argv[i] + n + 1;
            }
        }
        if (!spec) {
            break;
        }
        config_set(cfg, spec, value);
        i++;
    }
    cfg->qemu_argc = argc - i;
    cfg->qemu_argv = argv + i;
}

/**
 * config_validate() - check the settings and derive the typed values
 * @cfg: configuration filled by config_parse()
 */
static void config_validate(FakeConfig *cfg)
{
    g_auto(GStrv) parts = NULL;
    guint64 v[3] = {0, 0, 0};
    guint n, i;

    if (!cfg->version) {
        cfg->version = g_strdup("7.2.0");
    }
    if (!cfg->package) {
        cfg->package = g_strdup("fake");
    }
    parts = g_strsplit(cfg->version, ".", -1);
    n = g_strv_length(parts);
    for (i = 0; i < n && n <= 3; i++) {
        if (!g_ascii_string_to_unsigned(parts[i], 10, 0, 9999, &v[i], NULL)) {
            break;
        }
    }
    if (n < 2 || n > 3 || i != n) {
        die("bad QEMU version \"%s\" (want X.Y.Z)", cfg->version);
    }
    cfg->major = (int)v[0];
    cfg->minor = (int)v[1];
    cfg->micro = (int)v[2];

    cfg->mode = MODE_OK;
    if (cfg->mode_name) {
        for (i = 0; i < MODE__MAX; i++) {
            if (strcmp(cfg->mode_name, mode_names[i]) == 0) {
                break;
            }
        }
        if (i == MODE__MAX) {
            die("unknown mode \"%s\"", cfg->mode_name);
        }
        cfg->mode = i;
    }

    cfg->exit_code = 0;
    if (cfg->exit_status) {
        guint64 code;

        if (!g_ascii_string_to_unsigned(cfg->exit_status, 10, 0, 255, &code,
                                        NULL)) {
            die("bad exit status \"%s\" (want 0-255)", cfg->exit_status);
        }
        cfg->exit_code = (int)code;
    }
    /* both go into replies verbatim: digits only */
    if ((cfg->phys_bits &&
         !g_ascii_string_to_unsigned(cfg->phys_bits, 10, 1, 64, NULL, NULL)) ||
        (cfg->tsc_hz && !g_ascii_string_to_unsigned(cfg->tsc_hz, 10, 1,
                                                    G_MAXINT64, NULL, NULL))) {
        die("bad --phys-bits or --tsc-hz");
    }
}

/**
 * config_clear() - free the settings
 * @cfg: configuration
 */
static void config_clear(FakeConfig *cfg)
{
    gsize s;

    for (s = 0; s < G_N_ELEMENTS(option_specs); s++) {
        config_set(cfg, &option_specs[s], NULL);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FakeConfig, config_clear)

/**
 * main() - pick -version, probe or exec behaviour from the QEMU arguments
 * @argc: number of arguments
 * @argv: fake options, then QEMU arguments
 *
 * Return: exit status
 */
int main(int argc, char **argv)
{
    g_auto(FakeConfig) cfg = {0};

    config_parse(&cfg, argc, argv);
    config_validate(&cfg);

    if (has_arg(&cfg, "version", NULL)) {
        printf("QEMU emulator version %d.%d.%d (fake-qemu)\n"
               "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project "
               "developers\n",
               cfg.major, cfg.minor, cfg.micro);
        return 0;
    }
    if (has_arg(&cfg, "qmp", "stdio")) {
        return probe_run(&cfg, argc, argv);
    }
    return exec_run(&cfg, argc, argv);
}
