/*
 * native_image_agent_standin.c -- a STAND-IN for GraalVM's native-image tracing agent.
 *
 * This is NOT GraalVM's agent. CI machines cannot install GraalVM, so this small JVMTI agent
 * is built as libnative-image-agent.so and loaded by a plain OpenJDK with the real option
 * syntax (-agentlib:native-image-agent=config-output-dir=...). It reproduces the behaviours
 * the metadata pipeline relies on (options, {pid}/{datetime}, the .lock protocol, final write
 * at VM death, periodic snapshots through a temp dir, the six legacy files) and records what
 * the program really did through breakpoints on the reflection, resource and proxy APIs.
 * See README.md next to this file for what it does not do.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <jvmti.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "native-image-agent (stand-in): "
#define LOCK_NAME ".lock"
#define ACC_PUBLIC 0x0001
#define ACC_STATIC 0x0008
#define ACC_INTERFACE 0x0200

/* ---------------------------------------------------------------------------------------
 * Small utilities
 * ------------------------------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, PREFIX "Error: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, PREFIX "Error: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PREFIX, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static void buf_reserve(Buf *b, size_t extra)
{
    if (b->n + extra + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + extra + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
}

static void buf_putn(Buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_putn(b, s, strlen(s)); }
static void buf_putc(Buf *b, char c) { buf_putn(b, &c, 1); }

static void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

static char *buf_take(Buf *b)
{
    if (!b->p)
        return xstrdup("");
    char *p = b->p;
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}

/* JVMTI and JNI hand out *modified* UTF-8: NUL is C0 80 and supplementary characters are
 * surrogate pairs encoded as two 3-byte sequences. Escaping those as \u keeps the JSON valid. */
static void buf_json_string(Buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    buf_putc(b, '"');
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)c);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\b': buf_puts(b, "\\b"); break;
            case '\f': buf_puts(b, "\\f"); break;
            case '\n': buf_puts(b, "\\n"); break;
            case '\r': buf_puts(b, "\\r"); break;
            case '\t': buf_puts(b, "\\t"); break;
            default: buf_printf(b, "\\u%04x", c);
            }
            p++;
        } else if (c < 0x80) {
            buf_putc(b, (char)c);
            p++;
        } else if (c == 0xC0 && p[1] == 0x80) {
            buf_puts(b, "\\u0000");
            p += 2;
        } else if (c == 0xED && (p[1] & 0xE0) == 0xA0 && (p[2] & 0xC0) == 0x80) {
            unsigned cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            buf_printf(b, "\\u%04x", cp);
            p += 3;
        } else {
            int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            int ok = len > 0;
            for (int i = 1; ok && i < len; i++)
                ok = (p[i] & 0xC0) == 0x80;
            if (ok) {
                buf_putn(b, (const char *)p, (size_t)len);
                p += len;
            } else {
                buf_puts(b, "\\ufffd");
                p++;
            }
        }
    }
    buf_putc(b, '"');
}

/* java.util.regex.Pattern.quote: \Q...\E, with any "\E" inside split out. */
static char *regex_quote(const char *s)
{
    Buf b = {0};
    buf_puts(&b, "\\Q");
    for (const char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] == 'E') {
            buf_puts(&b, "\\E\\\\E\\Q");
            p++;
        } else {
            buf_putc(&b, *p);
        }
    }
    buf_puts(&b, "\\E");
    return buf_take(&b);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* A set of strings: chained hash buckets, grown when it gets dense. */
typedef struct SetNode {
    char *s;
    struct SetNode *next;
} SetNode;

typedef struct {
    SetNode **b;
    size_t nb, n;
} StrSet;

static int set_add(StrSet *set, const char *s)
{
    if (set->n + 1 > set->nb) {
        size_t nb = set->nb ? set->nb * 4 : 256;
        SetNode **nbk = calloc(nb, sizeof *nbk);
        if (!nbk)
            abort();
        for (size_t i = 0; i < set->nb; i++) {
            for (SetNode *e = set->b[i], *next; e; e = next) {
                next = e->next;
                size_t h = hash_str(e->s) % nb;
                e->next = nbk[h];
                nbk[h] = e;
            }
        }
        free(set->b);
        set->b = nbk;
        set->nb = nb;
    }
    size_t h = hash_str(s) % set->nb;
    for (SetNode *e = set->b[h]; e; e = e->next)
        if (strcmp(e->s, s) == 0)
            return 0;
    SetNode *e = xmalloc(sizeof *e);
    e->s = xstrdup(s);
    e->next = set->b[h];
    set->b[h] = e;
    set->n++;
    return 1;
}

static int set_has(const StrSet *set, const char *s)
{
    if (!set->nb)
        return 0;
    for (SetNode *e = set->b[hash_str(s) % set->nb]; e; e = e->next)
        if (strcmp(e->s, s) == 0)
            return 1;
    return 0;
}

static void set_free(StrSet *set)
{
    for (size_t i = 0; i < set->nb; i++) {
        for (SetNode *e = set->b[i], *next; e; e = next) {
            next = e->next;
            free(e->s);
            free(e);
        }
    }
    free(set->b);
    memset(set, 0, sizeof *set);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted copy of a set's strings (pointers into the set). */
static char **set_sorted(const StrSet *set)
{
    char **v = xmalloc(set->n * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < set->nb; i++)
        for (SetNode *e = set->b[i]; e; e = e->next)
            v[k++] = e->s;
    qsort(v, k, sizeof *v, cmp_str_ptr);
    return v;
}

/* ---------------------------------------------------------------------------------------
 * Class names: JVM signatures -> legacy config names and Java source names
 * ------------------------------------------------------------------------------------- */

/* "Lpkg/Cls;" -> "pkg.Cls", "[Ljava/lang/String;" -> "[Ljava.lang.String;", "[B" -> "[B";
 * primitives -> NULL (they never need metadata). */
static char *legacy_name_of_signature(const char *sig)
{
    if (sig[0] == 'L') {
        size_t n = strlen(sig);
        if (n < 3 || sig[n - 1] != ';')
            return NULL;
        char *r = xmalloc(n - 1);
        memcpy(r, sig + 1, n - 2);
        r[n - 2] = '\0';
        for (char *p = r; *p; p++)
            if (*p == '/')
                *p = '.';
        return r;
    }
    if (sig[0] == '[') {
        char *r = xstrdup(sig);
        for (char *p = r; *p; p++)
            if (*p == '/')
                *p = '.';
        return r;
    }
    return NULL;
}

static const char *primitive_name(char c)
{
    switch (c) {
    case 'Z': return "boolean";
    case 'B': return "byte";
    case 'C': return "char";
    case 'S': return "short";
    case 'I': return "int";
    case 'J': return "long";
    case 'F': return "float";
    case 'D': return "double";
    case 'V': return "void";
    default: return NULL;
    }
}

/* A JVM descriptor with '/' or '.' separators -> source name ("[[I" -> "int[][]"). */
static char *source_name_of_descriptor(const char *d)
{
    int dims = 0;
    while (d[dims] == '[')
        dims++;
    const char *elem = d + dims;
    Buf b = {0};
    const char *prim = elem[1] == '\0' ? primitive_name(elem[0]) : NULL;
    if (prim) {
        buf_puts(&b, prim);
    } else if (elem[0] == 'L' && dims > 0) {
        size_t n = strlen(elem);
        buf_putn(&b, elem + 1, n >= 2 && elem[n - 1] == ';' ? n - 2 : n - 1);
    } else if (elem[0] == 'L' && strchr(elem, ';')) {
        size_t n = strlen(elem);
        buf_putn(&b, elem + 1, n - 2);
    } else {
        buf_puts(&b, elem);
    }
    for (char *p = b.p; p && *p; p++)
        if (*p == '/')
            *p = '.';
    for (int i = 0; i < dims; i++)
        buf_puts(&b, "[]");
    return buf_take(&b);
}

/* Name used for filter matching: source form, so "[Lpkg.A;" is matched as "pkg.A[]". */
static char *filter_name(const char *legacy)
{
    return legacy[0] == '[' ? source_name_of_descriptor(legacy) : xstrdup(legacy);
}

/* ---------------------------------------------------------------------------------------
 * A small JSON reader, for filter files
 * ------------------------------------------------------------------------------------- */

typedef struct JV {
    char t; /* 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null */
    char *s;
    size_t n, cap;
    struct JV **v;
    char **k;
} JV;

typedef struct {
    const char *p, *start;
    char err[200];
} JP;

static void jv_free(JV *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        jv_free(j->v[i]);
        if (j->k)
            free(j->k[i]);
    }
    free(j->v);
    free(j->k);
    free(j->s);
    free(j);
}

static void jp_ws(JP *jp)
{
    while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
        jp->p++;
}

static int jp_fail(JP *jp, const char *what)
{
    if (!jp->err[0])
        snprintf(jp->err, sizeof jp->err, "%s at offset %ld", what, (long)(jp->p - jp->start));
    return 0;
}

static void put_utf8(Buf *b, unsigned cp)
{
    char o[4];
    if (cp < 0x80) {
        o[0] = (char)cp;
        buf_putn(b, o, 1);
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        buf_putn(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        buf_putn(b, o, 3);
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        buf_putn(b, o, 4);
    }
}

static int jp_hex4(JP *jp, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = jp->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return jp_fail(jp, "bad \\u escape");
    }
    jp->p += 4;
    *out = v;
    return 1;
}

static char *jp_string(JP *jp)
{
    Buf b = {0};
    jp->p++; /* opening quote */
    for (;;) {
        unsigned char c = (unsigned char)*jp->p;
        if (c == '"') {
            jp->p++;
            return buf_take(&b);
        }
        if (c == '\0' || c < 0x20) {
            jp_fail(jp, "unterminated string");
            free(b.p);
            return NULL;
        }
        if (c != '\\') {
            buf_putc(&b, (char)c);
            jp->p++;
            continue;
        }
        jp->p++;
        char e = *jp->p++;
        unsigned cp;
        switch (e) {
        case '"': buf_putc(&b, '"'); break;
        case '\\': buf_putc(&b, '\\'); break;
        case '/': buf_putc(&b, '/'); break;
        case 'b': buf_putc(&b, '\b'); break;
        case 'f': buf_putc(&b, '\f'); break;
        case 'n': buf_putc(&b, '\n'); break;
        case 'r': buf_putc(&b, '\r'); break;
        case 't': buf_putc(&b, '\t'); break;
        case 'u':
            if (!jp_hex4(jp, &cp)) {
                free(b.p);
                return NULL;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && jp->p[0] == '\\' && jp->p[1] == 'u') {
                unsigned lo;
                jp->p += 2;
                if (!jp_hex4(jp, &lo)) {
                    free(b.p);
                    return NULL;
                }
                if (lo >= 0xDC00 && lo < 0xE000)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&b, cp);
            break;
        default:
            jp->p--;
            jp_fail(jp, "bad escape");
            free(b.p);
            return NULL;
        }
    }
}

static JV *jv_new(char t)
{
    JV *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->t = t;
    return j;
}

static void jv_push(JV *j, char *key, JV *v)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 4;
        j->v = xrealloc(j->v, j->cap * sizeof *j->v);
        if (j->t == 'o')
            j->k = xrealloc(j->k, j->cap * sizeof *j->k);
    }
    if (j->t == 'o')
        j->k[j->n] = key;
    j->v[j->n++] = v;
}

static JV *jp_value(JP *jp, int depth)
{
    jp_ws(jp);
    if (depth > 64) {
        jp_fail(jp, "nesting too deep");
        return NULL;
    }
    char c = *jp->p;
    if (c == '{' || c == '[') {
        JV *j = jv_new(c == '{' ? 'o' : 'a');
        char close = c == '{' ? '}' : ']';
        jp->p++;
        jp_ws(jp);
        if (*jp->p == close) {
            jp->p++;
            return j;
        }
        for (;;) {
            char *key = NULL;
            jp_ws(jp);
            if (j->t == 'o') {
                if (*jp->p != '"') {
                    jp_fail(jp, "expected a string key");
                    jv_free(j);
                    return NULL;
                }
                key = jp_string(jp);
                if (!key) {
                    jv_free(j);
                    return NULL;
                }
                jp_ws(jp);
                if (*jp->p != ':') {
                    free(key);
                    jp_fail(jp, "expected ':'");
                    jv_free(j);
                    return NULL;
                }
                jp->p++;
            }
            JV *v = jp_value(jp, depth + 1);
            if (!v) {
                free(key);
                jv_free(j);
                return NULL;
            }
            jv_push(j, key, v);
            jp_ws(jp);
            if (*jp->p == ',') {
                jp->p++;
                continue;
            }
            if (*jp->p == close) {
                jp->p++;
                return j;
            }
            jp_fail(jp, j->t == 'o' ? "expected ',' or '}'" : "expected ',' or ']'");
            jv_free(j);
            return NULL;
        }
    }
    if (c == '"') {
        char *s = jp_string(jp);
        if (!s)
            return NULL;
        JV *j = jv_new('s');
        j->s = s;
        return j;
    }
    if (strncmp(jp->p, "true", 4) == 0 || strncmp(jp->p, "false", 5) == 0) {
        JV *j = jv_new('b');
        jp->p += c == 't' ? 4 : 5;
        return j;
    }
    if (strncmp(jp->p, "null", 4) == 0) {
        jp->p += 4;
        return jv_new('z');
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        while (strchr("+-0123456789.eE", *jp->p) && *jp->p)
            jp->p++;
        return jv_new('n');
    }
    jp_fail(jp, "unexpected character");
    return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Filters: include/exclude rules, later rules win, unmatched names are included
 * ------------------------------------------------------------------------------------- */

typedef struct {
    int include;
    int is_regex;
    char *pattern;
    regex_t re;
} Rule;

typedef struct {
    Rule *r;
    size_t n, cap;
} RuleList;

static void rules_add(RuleList *l, int include, const char *pattern)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->r = xrealloc(l->r, l->cap * sizeof *l->r);
    }
    Rule *r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    r->include = include;
    r->pattern = xstrdup(pattern);
}

/* "**" any class; "pkg.**" classes in pkg and its sub-packages; "pkg.*" classes directly in
 * pkg (nested classes included: '$' is not a package separator); anything else: that name. */
static int glob_rule_matches(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (strcmp(pat, "**") == 0)
        return 1;
    if (strcmp(pat, "*") == 0)
        return strchr(name, '.') == NULL;
    if (n >= 3 && strcmp(pat + n - 3, ".**") == 0)
        return strncmp(name, pat, n - 2) == 0 && name[n - 2] != '\0';
    if (n >= 2 && strcmp(pat + n - 2, ".*") == 0)
        return strncmp(name, pat, n - 1) == 0 && name[n - 1] != '\0' && strchr(name + n - 1, '.') == NULL;
    return strcmp(pat, name) == 0;
}

static int rules_include(const RuleList *l, const char *name)
{
    int included = 1;
    for (size_t i = 0; i < l->n; i++) {
        const Rule *r = &l->r[i];
        int m = r->is_regex ? regexec(&r->re, name, 0, NULL, 0) == 0 : glob_rule_matches(r->pattern, name);
        if (m)
            included = r->include;
    }
    return included;
}

static int parse_rule_array(const char *file, JV *arr, int regex, RuleList *out)
{
    const char *what = regex ? "regexRules" : "rules";
    if (arr->t != 'a') {
        say("Error: cannot parse filter file %s: '%s' must be an array", file, what);
        return 0;
    }
    for (size_t i = 0; i < arr->n; i++) {
        JV *o = arr->v[i];
        if (o->t != 'o' || o->n != 1) {
            say("Error: cannot parse filter file %s: %s[%zu] must be an object with exactly one of "
                "'includeClasses' or 'excludeClasses'", file, what, i);
            return 0;
        }
        int include;
        if (strcmp(o->k[0], "includeClasses") == 0)
            include = 1;
        else if (strcmp(o->k[0], "excludeClasses") == 0)
            include = 0;
        else {
            say("Error: cannot parse filter file %s: %s[%zu] has unknown key '%s'", file, what, i, o->k[0]);
            return 0;
        }
        if (o->v[0]->t != 's') {
            say("Error: cannot parse filter file %s: %s[%zu].%s must be a string", file, what, i, o->k[0]);
            return 0;
        }
        rules_add(out, include, o->v[0]->s);
        if (regex) {
            Rule *r = &out->r[out->n - 1];
            Buf b = {0};
            buf_printf(&b, "^(%s)$", r->pattern);
            int rc = regcomp(&r->re, b.p, REG_EXTENDED | REG_NOSUB);
            free(b.p);
            if (rc != 0) {
                say("Error: cannot parse filter file %s: %s[%zu]: invalid regular expression '%s'", file, what,
                    i, r->pattern);
                out->n--;
                free(r->pattern);
                return 0;
            }
            r->is_regex = 1;
        }
    }
    return 1;
}

static int load_filter_file(const char *file, RuleList *out)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        say("Error: cannot parse filter file %s: %s", file, strerror(errno));
        return 0;
    }
    Buf text = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_putn(&text, chunk, got);
    fclose(f);
    if (!text.p)
        buf_puts(&text, "");
    if (strlen(text.p) != text.n) {
        say("Error: cannot parse filter file %s: contains a NUL byte", file);
        free(text.p);
        return 0;
    }
    JP jp = {text.p, text.p, {0}};
    JV *root = jp_value(&jp, 0);
    if (root) {
        jp_ws(&jp);
        if (*jp.p) {
            jp_fail(&jp, "trailing characters");
            jv_free(root);
            root = NULL;
        }
    }
    free(text.p);
    if (!root) {
        say("Error: cannot parse filter file %s: %s", file, jp.err);
        return 0;
    }
    int ok = 1;
    if (root->t != 'o') {
        say("Error: cannot parse filter file %s: the top level must be an object", file);
        ok = 0;
    }
    for (size_t i = 0; ok && i < root->n; i++) {
        if (strcmp(root->k[i], "rules") == 0)
            ok = parse_rule_array(file, root->v[i], 0, out);
        else if (strcmp(root->k[i], "regexRules") == 0)
            ok = parse_rule_array(file, root->v[i], 1, out);
        else {
            say("Error: cannot parse filter file %s: unknown key '%s' (expected 'rules' or 'regexRules')", file,
                root->k[i]);
            ok = 0;
        }
    }
    jv_free(root);
    return ok;
}

/* ---------------------------------------------------------------------------------------
 * Agent state
 * ------------------------------------------------------------------------------------- */

static jvmtiEnv *jvmti;

static struct {
    char *out_dir;
    char *lock_path;
    int period_secs; /* -1: no periodic snapshots */
    int initial_delay_secs;
    int heuristic_filter;
    RuleList caller_rules;
    RuleList access_rules;
} opt;

enum {
    F_ALL_DECLARED_FIELDS = 1 << 0,
    F_ALL_PUBLIC_FIELDS = 1 << 1,
    F_QUERY_DECLARED_METHODS = 1 << 2,
    F_QUERY_PUBLIC_METHODS = 1 << 3,
    F_QUERY_DECLARED_CONSTRUCTORS = 1 << 4,
    F_QUERY_PUBLIC_CONSTRUCTORS = 1 << 5,
    F_ALL_DECLARED_CLASSES = 1 << 6,
    F_ALL_PUBLIC_CLASSES = 1 << 7,
};

/* Output order of the flags, as the GraalVM for JDK 17/21 agents print them. */
static const struct {
    unsigned bit;
    const char *key;
} FLAG_KEYS[] = {
    {F_ALL_DECLARED_FIELDS, "allDeclaredFields"},
    {F_ALL_PUBLIC_FIELDS, "allPublicFields"},
    {F_QUERY_DECLARED_METHODS, "queryAllDeclaredMethods"},
    {F_QUERY_PUBLIC_METHODS, "queryAllPublicMethods"},
    {F_QUERY_DECLARED_CONSTRUCTORS, "queryAllDeclaredConstructors"},
    {F_QUERY_PUBLIC_CONSTRUCTORS, "queryAllPublicConstructors"},
    {F_ALL_DECLARED_CLASSES, "allDeclaredClasses"},
    {F_ALL_PUBLIC_CLASSES, "allPublicClasses"},
};

typedef struct {
    char *name;
    char **params;
    int nparams;
    char *key; /* name + rendered parameter list: identity and sort key */
} MethodRec;

typedef struct TypeRec {
    char *name;
    unsigned flags;
    int confirmed; /* 0: only a Class.forName(name) was seen; kept once such a class is loaded */
    MethodRec *methods;
    size_t nm, cm;
    char **fields;
    size_t nf, cf;
    struct TypeRec *next;
} TypeRec;

/* Everything below is guarded by data_mon. */
static jrawMonitorID data_mon;
static TypeRec **type_b;
static size_t type_nb, type_n, unconfirmed_n;
static StrSet resources, proxies;

/* Lookups on classes that were not yet linked at the call: resolved at the next write. */
typedef struct {
    jclass cls; /* global ref */
    int kind;
    char *name;
    char *pdesc;
    char **params;
    int nparams;
} Pending;
static Pending *pending;
static size_t npending, cpending;

static jrawMonitorID write_mon; /* one write at a time; guards final_done */
static int final_done;
static int lock_held; /* D/.lock is ours: only then may we write into D and remove it */
static jrawMonitorID state_mon; /* wakes the periodic writer; guards stopping */
static int stopping;
static volatile int live;

static void mon_enter(jrawMonitorID m) { (*jvmti)->RawMonitorEnter(jvmti, m); }
static void mon_exit(jrawMonitorID m) { (*jvmti)->RawMonitorExit(jvmti, m); }
static void jfree(void *p)
{
    if (p)
        (*jvmti)->Deallocate(jvmti, (unsigned char *)p);
}

static TypeRec *type_get(const char *name, int create)
{
    if (create && type_n + 1 > type_nb) {
        size_t nb = type_nb ? type_nb * 4 : 512;
        TypeRec **nbk = calloc(nb, sizeof *nbk);
        if (!nbk)
            abort();
        for (size_t i = 0; i < type_nb; i++) {
            for (TypeRec *t = type_b[i], *next; t; t = next) {
                next = t->next;
                size_t h = hash_str(t->name) % nb;
                t->next = nbk[h];
                nbk[h] = t;
            }
        }
        free(type_b);
        type_b = nbk;
        type_nb = nb;
    }
    if (!type_nb)
        return NULL;
    size_t h = hash_str(name) % type_nb;
    for (TypeRec *t = type_b[h]; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    if (!create)
        return NULL;
    TypeRec *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->name = xstrdup(name);
    t->next = type_b[h];
    type_b[h] = t;
    type_n++;
    unconfirmed_n++;
    return t;
}

static void type_confirm(TypeRec *t)
{
    if (!t->confirmed) {
        t->confirmed = 1;
        unconfirmed_n--;
    }
}

static int access_included(const char *legacy)
{
    char *fname = filter_name(legacy);
    int ok = rules_include(&opt.access_rules, fname);
    free(fname);
    return ok;
}

/* The built-in heuristic filter: classes the JVM generates at run time (hidden classes such as
 * lambdas, dynamic proxy classes, reflection accessors) cannot be named in metadata. */
static int heuristic_excluded(const char *legacy)
{
    if (!opt.heuristic_filter)
        return 0;
    const char *simple = strrchr(legacy, '.');
    simple = simple ? simple + 1 : legacy;
    return strstr(legacy, ".0x") != NULL || starts_with(simple, "$Proxy") ||
           starts_with(legacy, "jdk.internal.reflect.Generated") || strstr(legacy, "$$Lambda$") != NULL;
}

static int type_wanted(const char *legacy)
{
    return !heuristic_excluded(legacy) && access_included(legacy);
}

/* --- recording (callers hold data_mon) --- */

static void rec_type(const char *legacy, unsigned flags, int confirmed)
{
    TypeRec *t = type_get(legacy, 1);
    t->flags |= flags;
    if (confirmed)
        type_confirm(t);
}

static char *method_key(const char *name, char **params, int n)
{
    Buf b = {0};
    buf_puts(&b, name);
    buf_putc(&b, '(');
    for (int i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        buf_puts(&b, params[i]);
    }
    buf_putc(&b, ')');
    return buf_take(&b);
}

static void rec_method(const char *legacy, const char *name, char **params, int n)
{
    TypeRec *t = type_get(legacy, 1);
    type_confirm(t);
    char *key = method_key(name, params, n);
    for (size_t i = 0; i < t->nm; i++) {
        if (strcmp(t->methods[i].key, key) == 0) {
            free(key);
            return;
        }
    }
    if (t->nm == t->cm) {
        t->cm = t->cm ? t->cm * 2 : 4;
        t->methods = xrealloc(t->methods, t->cm * sizeof *t->methods);
    }
    MethodRec *m = &t->methods[t->nm++];
    m->name = xstrdup(name);
    m->key = key;
    m->nparams = n;
    m->params = xmalloc((size_t)(n ? n : 1) * sizeof *m->params);
    for (int i = 0; i < n; i++)
        m->params[i] = xstrdup(params[i]);
}

static void rec_field(const char *legacy, const char *name)
{
    TypeRec *t = type_get(legacy, 1);
    type_confirm(t);
    for (size_t i = 0; i < t->nf; i++)
        if (strcmp(t->fields[i], name) == 0)
            return;
    if (t->nf == t->cf) {
        t->cf = t->cf ? t->cf * 2 : 4;
        t->fields = xrealloc(t->fields, t->cf * sizeof *t->fields);
    }
    t->fields[t->nf++] = xstrdup(name);
}

/* ---------------------------------------------------------------------------------------
 * JVMTI helpers
 * ------------------------------------------------------------------------------------- */

static char *class_signature(jclass k)
{
    char *sig = NULL;
    if (!k || (*jvmti)->GetClassSignature(jvmti, k, &sig, NULL) != JVMTI_ERROR_NONE)
        return NULL;
    char *r = xstrdup(sig);
    jfree(sig);
    return r;
}

static char *class_legacy_name(jclass k)
{
    char *sig = class_signature(k);
    if (!sig)
        return NULL;
    char *r = legacy_name_of_signature(sig);
    free(sig);
    return r;
}

static char *java_string(JNIEnv *env, jobject s)
{
    if (!s)
        return NULL;
    const char *u = (*env)->GetStringUTFChars(env, s, NULL);
    if (!u)
        return NULL;
    char *r = xstrdup(u);
    (*env)->ReleaseStringUTFChars(env, s, u);
    return r;
}

/* Parameter types of a Class[] argument: source names plus the JVM descriptor "(...)".
 * Returns -1 when the array holds a null (the call itself will throw). */
static int class_array_types(JNIEnv *env, jobjectArray arr, char ***names_out, char **desc_out)
{
    int n = arr ? (int)(*env)->GetArrayLength(env, arr) : 0;
    char **names = xmalloc((size_t)(n ? n : 1) * sizeof *names);
    Buf desc = {0};
    buf_putc(&desc, '(');
    for (int i = 0; i < n; i++) {
        jclass k = (*env)->GetObjectArrayElement(env, arr, i);
        char *sig = class_signature(k);
        if (k)
            (*env)->DeleteLocalRef(env, k);
        if (!sig) {
            for (int j = 0; j < i; j++)
                free(names[j]);
            free(names);
            free(desc.p);
            return -1;
        }
        buf_puts(&desc, sig);
        names[i] = source_name_of_descriptor(sig);
        free(sig);
    }
    buf_putc(&desc, ')');
    *names_out = names;
    *desc_out = buf_take(&desc);
    return n;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* --- finding the member a lookup returns, the way java.lang.Class searches --- */

enum { K_FORNAME, K_METHOD, K_DECL_METHOD, K_CTOR, K_DECL_CTOR, K_FIELD, K_DECL_FIELD, K_QUERY, K_RESOURCE, K_PROXY };

static int declares_method(jclass k, const char *name, const char *pdesc, int public_only, int inherited_via_interface)
{
    jint n = 0;
    jmethodID *ms = NULL;
    int found = 0;
    if ((*jvmti)->GetClassMethods(jvmti, k, &n, &ms) != JVMTI_ERROR_NONE)
        return 0;
    size_t plen = strlen(pdesc);
    for (jint i = 0; i < n && !found; i++) {
        char *mname = NULL, *msig = NULL;
        if ((*jvmti)->GetMethodName(jvmti, ms[i], &mname, &msig, NULL) != JVMTI_ERROR_NONE)
            continue;
        if (strcmp(mname, name) == 0 && strncmp(msig, pdesc, plen) == 0) {
            jint mods = 0;
            (*jvmti)->GetMethodModifiers(jvmti, ms[i], &mods);
            found = (!public_only || (mods & ACC_PUBLIC)) && !(inherited_via_interface && (mods & ACC_STATIC));
        }
        jfree(mname);
        jfree(msig);
    }
    jfree(ms);
    return found;
}

static int declares_field(jclass k, const char *name, int public_only)
{
    jint n = 0;
    jfieldID *fs = NULL;
    int found = 0;
    if ((*jvmti)->GetClassFields(jvmti, k, &n, &fs) != JVMTI_ERROR_NONE)
        return 0;
    for (jint i = 0; i < n && !found; i++) {
        char *fname = NULL;
        if ((*jvmti)->GetFieldName(jvmti, k, fs[i], &fname, NULL, NULL) != JVMTI_ERROR_NONE)
            continue;
        if (strcmp(fname, name) == 0) {
            jint mods = 0;
            (*jvmti)->GetFieldModifiers(jvmti, k, fs[i], &mods);
            found = !public_only || (mods & ACC_PUBLIC);
        }
        jfree(fname);
    }
    jfree(fs);
    return found;
}

static int is_interface(jclass k)
{
    jint mods = 0;
    (*jvmti)->GetClassModifiers(jvmti, k, &mods);
    return (mods & ACC_INTERFACE) != 0;
}

/* Public method search of Class.getMethod: the class, its superclasses, then interfaces.
 * Returns the legacy name of the declaring class, or NULL. */
static char *find_public_method(JNIEnv *env, jclass k, const char *name, const char *pdesc, int depth)
{
    if (!k || depth > 64)
        return NULL;
    if (declares_method(k, name, pdesc, 1, depth > 0 && is_interface(k)))
        return class_legacy_name(k);
    char *r = NULL;
    jclass sup = (*env)->GetSuperclass(env, k);
    if (sup) {
        r = find_public_method(env, sup, name, pdesc, depth + 1);
        (*env)->DeleteLocalRef(env, sup);
    }
    jint ni = 0;
    jclass *ifs = NULL;
    if ((*jvmti)->GetImplementedInterfaces(jvmti, k, &ni, &ifs) == JVMTI_ERROR_NONE) {
        for (jint i = 0; i < ni; i++) {
            if (!r)
                r = find_public_method(env, ifs[i], name, pdesc, depth + 1);
            (*env)->DeleteLocalRef(env, ifs[i]);
        }
        jfree(ifs);
    }
    return r;
}

/* Public field search of Class.getField: the class, its interfaces, then the superclass. */
static char *find_public_field(JNIEnv *env, jclass k, const char *name, int depth)
{
    if (!k || depth > 64)
        return NULL;
    if (declares_field(k, name, 1))
        return class_legacy_name(k);
    char *r = NULL;
    jint ni = 0;
    jclass *ifs = NULL;
    if ((*jvmti)->GetImplementedInterfaces(jvmti, k, &ni, &ifs) == JVMTI_ERROR_NONE) {
        for (jint i = 0; i < ni; i++) {
            if (!r)
                r = find_public_field(env, ifs[i], name, depth + 1);
            (*env)->DeleteLocalRef(env, ifs[i]);
        }
        jfree(ifs);
    }
    jclass sup = r ? NULL : (*env)->GetSuperclass(env, k);
    if (sup) {
        r = find_public_field(env, sup, name, depth + 1);
        (*env)->DeleteLocalRef(env, sup);
    }
    return r;
}

static int class_linked(jclass k)
{
    jint status = 0;
    if ((*jvmti)->GetClassStatus(jvmti, k, &status) != JVMTI_ERROR_NONE)
        return 0;
    return (status & (JVMTI_CLASS_STATUS_PREPARED | JVMTI_CLASS_STATUS_ARRAY | JVMTI_CLASS_STATUS_PRIMITIVE)) != 0;
}

/* Records a member lookup if the member exists (i.e. the call succeeded). */
static void resolve_lookup(JNIEnv *env, jclass k, int kind, const char *name, const char *pdesc, char **params,
                           int nparams)
{
    char *decl = NULL;
    switch (kind) {
    case K_METHOD: decl = find_public_method(env, k, name, pdesc, 0); break;
    case K_DECL_METHOD:
        if (strcmp(name, "<init>") != 0 && strcmp(name, "<clinit>") != 0 && declares_method(k, name, pdesc, 0, 0))
            decl = class_legacy_name(k);
        break;
    case K_CTOR:
    case K_DECL_CTOR:
        if (declares_method(k, "<init>", pdesc, kind == K_CTOR, 0))
            decl = class_legacy_name(k);
        break;
    case K_FIELD: decl = find_public_field(env, k, name, 0); break;
    case K_DECL_FIELD:
        if (declares_field(k, name, 0))
            decl = class_legacy_name(k);
        break;
    }
    if (!decl || !type_wanted(decl)) {
        free(decl);
        return;
    }
    mon_enter(data_mon);
    if (kind == K_FIELD || kind == K_DECL_FIELD)
        rec_field(decl, name);
    else
        rec_method(decl, (kind == K_CTOR || kind == K_DECL_CTOR) ? "<init>" : name, params, nparams);
    mon_exit(data_mon);
    free(decl);
}

/* ---------------------------------------------------------------------------------------
 * Breakpoints on the intercepted APIs
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const char *cls, *name, *sig;
    int kind;
    int slot; /* local slot of the interesting argument */
    unsigned flag;
    jmethodID id;
} Target;

static Target targets[] = {
    {"Ljava/lang/Class;", "forName", "(Ljava/lang/String;)Ljava/lang/Class;", K_FORNAME, 0, 0, NULL},
    {"Ljava/lang/Class;", "forName", "(Ljava/lang/String;ZLjava/lang/ClassLoader;)Ljava/lang/Class;", K_FORNAME, 0, 0, NULL},
    {"Ljava/lang/Class;", "forName", "(Ljava/lang/Module;Ljava/lang/String;)Ljava/lang/Class;", K_FORNAME, 1, 0, NULL},
    {"Ljava/lang/Class;", "getMethod", "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;", K_METHOD, 1, 0, NULL},
    {"Ljava/lang/Class;", "getDeclaredMethod", "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;", K_DECL_METHOD, 1, 0, NULL},
    {"Ljava/lang/Class;", "getConstructor", "([Ljava/lang/Class;)Ljava/lang/reflect/Constructor;", K_CTOR, 1, 0, NULL},
    {"Ljava/lang/Class;", "getDeclaredConstructor", "([Ljava/lang/Class;)Ljava/lang/reflect/Constructor;", K_DECL_CTOR, 1, 0, NULL},
    {"Ljava/lang/Class;", "getField", "(Ljava/lang/String;)Ljava/lang/reflect/Field;", K_FIELD, 1, 0, NULL},
    {"Ljava/lang/Class;", "getDeclaredField", "(Ljava/lang/String;)Ljava/lang/reflect/Field;", K_DECL_FIELD, 1, 0, NULL},
    {"Ljava/lang/Class;", "getMethods", "()[Ljava/lang/reflect/Method;", K_QUERY, 0, F_QUERY_PUBLIC_METHODS, NULL},
    {"Ljava/lang/Class;", "getDeclaredMethods", "()[Ljava/lang/reflect/Method;", K_QUERY, 0, F_QUERY_DECLARED_METHODS, NULL},
    {"Ljava/lang/Class;", "getConstructors", "()[Ljava/lang/reflect/Constructor;", K_QUERY, 0, F_QUERY_PUBLIC_CONSTRUCTORS, NULL},
    {"Ljava/lang/Class;", "getDeclaredConstructors", "()[Ljava/lang/reflect/Constructor;", K_QUERY, 0, F_QUERY_DECLARED_CONSTRUCTORS, NULL},
    {"Ljava/lang/Class;", "getFields", "()[Ljava/lang/reflect/Field;", K_QUERY, 0, F_ALL_PUBLIC_FIELDS, NULL},
    {"Ljava/lang/Class;", "getDeclaredFields", "()[Ljava/lang/reflect/Field;", K_QUERY, 0, F_ALL_DECLARED_FIELDS, NULL},
    {"Ljava/lang/Class;", "getClasses", "()[Ljava/lang/Class;", K_QUERY, 0, F_ALL_PUBLIC_CLASSES, NULL},
    {"Ljava/lang/Class;", "getDeclaredClasses", "()[Ljava/lang/Class;", K_QUERY, 0, F_ALL_DECLARED_CLASSES, NULL},
    {"Ljava/lang/ClassLoader;", "getResource", "(Ljava/lang/String;)Ljava/net/URL;", K_RESOURCE, 1, 0, NULL},
    {"Ljava/lang/ClassLoader;", "getResources", "(Ljava/lang/String;)Ljava/util/Enumeration;", K_RESOURCE, 1, 0, NULL},
    {"Ljava/lang/ClassLoader;", "getResourceAsStream", "(Ljava/lang/String;)Ljava/io/InputStream;", K_RESOURCE, 1, 0, NULL},
    {"Ljava/lang/ClassLoader;", "resources", "(Ljava/lang/String;)Ljava/util/stream/Stream;", K_RESOURCE, 1, 0, NULL},
    {"Ljava/lang/reflect/Proxy;", "newProxyInstance",
     "(Ljava/lang/ClassLoader;[Ljava/lang/Class;Ljava/lang/reflect/InvocationHandler;)Ljava/lang/Object;", K_PROXY, 1, 0, NULL},
    {"Ljava/lang/reflect/Proxy;", "getProxyClass", "(Ljava/lang/ClassLoader;[Ljava/lang/Class;)Ljava/lang/Class;", K_PROXY, 1, 0, NULL},
};
#define NTARGETS (sizeof targets / sizeof targets[0])
static const char *const TARGET_CLASSES[] = {"Ljava/lang/Class;", "Ljava/lang/ClassLoader;", "Ljava/lang/reflect/Proxy;"};
#define NTARGET_CLASSES 3
static int target_class_done[NTARGET_CLASSES];
static jrawMonitorID install_mon;

static int target_class_index(const char *sig)
{
    for (int i = 0; i < NTARGET_CLASSES; i++)
        if (strcmp(sig, TARGET_CLASSES[i]) == 0)
            return i;
    return -1;
}

static void install_breakpoints(jclass k, int ci)
{
    mon_enter(install_mon);
    if (target_class_done[ci]) {
        mon_exit(install_mon);
        return;
    }
    target_class_done[ci] = 1;
    jint n = 0;
    jmethodID *ms = NULL;
    if ((*jvmti)->GetClassMethods(jvmti, k, &n, &ms) == JVMTI_ERROR_NONE) {
        for (jint i = 0; i < n; i++) {
            char *name = NULL, *sig = NULL;
            if ((*jvmti)->GetMethodName(jvmti, ms[i], &name, &sig, NULL) != JVMTI_ERROR_NONE)
                continue;
            for (size_t t = 0; t < NTARGETS; t++) {
                if (strcmp(targets[t].cls, TARGET_CLASSES[ci]) == 0 && strcmp(targets[t].name, name) == 0 &&
                    strcmp(targets[t].sig, sig) == 0) {
                    jvmtiError err = (*jvmti)->SetBreakpoint(jvmti, ms[i], 0);
                    if (err == JVMTI_ERROR_NONE)
                        targets[t].id = ms[i];
                    else
                        say("Warning: cannot intercept %s.%s (JVMTI error %d)", TARGET_CLASSES[ci], name, err);
                }
            }
            jfree(name);
            jfree(sig);
        }
        jfree(ms);
    }
    int all = 1;
    for (int i = 0; i < NTARGET_CLASSES; i++)
        all &= target_class_done[i];
    if (all)
        (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_DISABLE, JVMTI_EVENT_CLASS_PREPARE, NULL);
    mon_exit(install_mon);
}

static int frame_class_is(jmethodID m, const char *const *sigs, int nsigs)
{
    jclass k = NULL;
    if ((*jvmti)->GetMethodDeclaringClass(jvmti, m, &k) != JVMTI_ERROR_NONE)
        return 0;
    char *sig = class_signature(k);
    int r = 0;
    for (int i = 0; sig && i < nsigs; i++)
        r |= strcmp(sig, sigs[i]) == 0;
    free(sig);
    return r;
}

/* The class whose code made the call, or NULL when there is no Java caller. For resources the
 * resource API's own frames are skipped, so Class.getResource -> ClassLoader.getResource is
 * attributed to whoever called Class.getResource. */
static char *caller_class(JNIEnv *env, jthread thread, int skip_resource_api)
{
    static const char *const API[] = {"Ljava/lang/Class;", "Ljava/lang/ClassLoader;"};
    jvmtiFrameInfo frames[8];
    jint count = 0;
    if ((*jvmti)->GetStackTrace(jvmti, thread, 1, 8, frames, &count) != JVMTI_ERROR_NONE || count == 0)
        return NULL;
    jint i = 0;
    if (skip_resource_api)
        while (i < count - 1 && frame_class_is(frames[i].method, API, 2))
            i++;
    jclass k = NULL;
    if ((*jvmti)->GetMethodDeclaringClass(jvmti, frames[i].method, &k) != JVMTI_ERROR_NONE)
        return NULL;
    char *r = class_legacy_name(k);
    (*env)->DeleteLocalRef(env, k);
    return r;
}

static jobject arg(jthread thread, int slot)
{
    jobject o = NULL;
    if ((*jvmti)->GetLocalObject(jvmti, thread, 0, slot, &o) != JVMTI_ERROR_NONE)
        return NULL;
    return o;
}

static void on_forname(JNIEnv *env, jthread thread, const Target *t)
{
    char *name = java_string(env, arg(thread, t->slot));
    if (!name)
        return;
    /* Only names a class can have: the check for "was it loaded" happens at write time. */
    if (name[0] && !strchr(name, '/') && type_wanted(name)) {
        mon_enter(data_mon);
        rec_type(name, 0, 0);
        mon_exit(data_mon);
    }
    free(name);
}

static void on_member_lookup(JNIEnv *env, jthread thread, const Target *t)
{
    jclass k = arg(thread, 0);
    if (!k)
        return;
    char *name = NULL;
    jobjectArray params_arr = NULL;
    if (t->kind == K_CTOR || t->kind == K_DECL_CTOR) {
        params_arr = arg(thread, 1);
    } else {
        name = java_string(env, arg(thread, 1));
        if (!name)
            return;
        if (t->kind == K_METHOD || t->kind == K_DECL_METHOD)
            params_arr = arg(thread, 2);
    }
    char **params = NULL, *pdesc = NULL;
    int nparams = 0;
    if (t->kind != K_FIELD && t->kind != K_DECL_FIELD) {
        nparams = class_array_types(env, params_arr, &params, &pdesc);
        if (nparams < 0) {
            free(name);
            return;
        }
    }
    if (class_linked(k)) {
        resolve_lookup(env, k, t->kind, name, pdesc, params, nparams);
        free(name);
        free(pdesc);
        free_strings(params, nparams);
        return;
    }
    /* Not linked yet: the lookup links it. Decide at the next write, when it is. */
    mon_enter(data_mon);
    if (npending == cpending) {
        cpending = cpending ? cpending * 2 : 16;
        pending = xrealloc(pending, cpending * sizeof *pending);
    }
    Pending *p = &pending[npending++];
    p->cls = (*env)->NewGlobalRef(env, k);
    p->kind = t->kind;
    p->name = name;
    p->pdesc = pdesc;
    p->params = params;
    p->nparams = nparams;
    mon_exit(data_mon);
}

static void on_query(jthread thread, const Target *t)
{
    char *legacy = class_legacy_name(arg(thread, 0));
    if (legacy && type_wanted(legacy)) {
        mon_enter(data_mon);
        rec_type(legacy, t->flag, 1);
        mon_exit(data_mon);
    }
    free(legacy);
}

static void on_resource(JNIEnv *env, jthread thread, const Target *t)
{
    char *name = java_string(env, arg(thread, t->slot));
    if (!name)
        return;
    mon_enter(data_mon);
    set_add(&resources, name);
    mon_exit(data_mon);
    free(name);
}

static void on_proxy(JNIEnv *env, jthread thread, const Target *t)
{
    jobjectArray arr = arg(thread, t->slot);
    if (!arr)
        return;
    jint n = (*env)->GetArrayLength(env, arr);
    Buf key = {0};
    int ok = n > 0;
    for (jint i = 0; ok && i < n; i++) {
        jclass k = (*env)->GetObjectArrayElement(env, arr, i);
        char *legacy = class_legacy_name(k);
        if (k)
            (*env)->DeleteLocalRef(env, k);
        ok = legacy && access_included(legacy);
        if (ok) {
            if (i)
                buf_putc(&key, ',');
            buf_json_string(&key, legacy);
        }
        free(legacy);
    }
    if (ok) {
        mon_enter(data_mon);
        set_add(&proxies, key.p);
        mon_exit(data_mon);
    }
    free(key.p);
}

static void JNICALL on_breakpoint(jvmtiEnv *j, JNIEnv *env, jthread thread, jmethodID method, jlocation loc)
{
    (void)j;
    (void)loc;
    const Target *t = NULL;
    for (size_t i = 0; i < NTARGETS && !t; i++)
        if (targets[i].id == method)
            t = &targets[i];
    if (!t || !live)
        return;
    if ((*env)->PushLocalFrame(env, 32) != 0)
        return;
    char *caller = caller_class(env, thread, t->kind == K_RESOURCE);
    int wanted = !caller || rules_include(&opt.caller_rules, caller);
    free(caller);
    if (wanted) {
        switch (t->kind) {
        case K_FORNAME: on_forname(env, thread, t); break;
        case K_QUERY: on_query(thread, t); break;
        case K_RESOURCE: on_resource(env, thread, t); break;
        case K_PROXY: on_proxy(env, thread, t); break;
        default: on_member_lookup(env, thread, t); break;
        }
    }
    (*env)->PopLocalFrame(env, NULL);
}

static void JNICALL on_class_prepare(jvmtiEnv *j, JNIEnv *env, jthread thread, jclass k)
{
    (void)j;
    (void)env;
    (void)thread;
    char *sig = class_signature(k);
    int ci = sig ? target_class_index(sig) : -1;
    free(sig);
    if (ci >= 0)
        install_breakpoints(k, ci);
}

/* ---------------------------------------------------------------------------------------
 * Writing the six files
 * ------------------------------------------------------------------------------------- */

/* Confirms Class.forName-only entries whose class is loaded now: a forName that threw
 * ClassNotFoundException leaves no loaded class of that name behind. */
static void confirm_loaded_types(JNIEnv *env)
{
    mon_enter(data_mon);
    size_t unconfirmed = unconfirmed_n;
    mon_exit(data_mon);
    if (!unconfirmed)
        return;
    jint n = 0;
    jclass *ks = NULL;
    if ((*jvmti)->GetLoadedClasses(jvmti, &n, &ks) != JVMTI_ERROR_NONE)
        return;
    StrSet loaded = {0};
    for (jint i = 0; i < n; i++) {
        char *legacy = class_legacy_name(ks[i]);
        if (legacy)
            set_add(&loaded, legacy);
        free(legacy);
        if (env)
            (*env)->DeleteLocalRef(env, ks[i]);
    }
    jfree(ks);
    mon_enter(data_mon);
    for (size_t i = 0; i < type_nb; i++)
        for (TypeRec *t = type_b[i]; t; t = t->next)
            if (!t->confirmed && set_has(&loaded, t->name))
                type_confirm(t);
    mon_exit(data_mon);
    set_free(&loaded);
}

static void resolve_pending(JNIEnv *env)
{
    mon_enter(data_mon);
    Pending *todo = pending;
    size_t n = npending;
    pending = NULL;
    npending = cpending = 0;
    mon_exit(data_mon);
    for (size_t i = 0; i < n; i++) {
        Pending *p = &todo[i];
        if (!class_linked(p->cls)) {
            /* still not linked: the lookup has not happened (yet); keep it for later */
            mon_enter(data_mon);
            if (npending == cpending) {
                cpending = cpending ? cpending * 2 : 16;
                pending = xrealloc(pending, cpending * sizeof *pending);
            }
            pending[npending++] = *p;
            mon_exit(data_mon);
            continue;
        }
        resolve_lookup(env, p->cls, p->kind, p->name, p->pdesc, p->params, p->nparams);
        (*env)->DeleteGlobalRef(env, p->cls);
        free(p->name);
        free(p->pdesc);
        free_strings(p->params, p->nparams);
    }
    free(todo);
}

static int cmp_type_ptr(const void *a, const void *b)
{
    return strcmp((*(TypeRec *const *)a)->name, (*(TypeRec *const *)b)->name);
}

static int cmp_method(const void *a, const void *b)
{
    const MethodRec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->key, y->key);
}

static void render_string_array(Buf *b, char **v, int n)
{
    buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        buf_json_string(b, v[i]);
    }
    buf_putc(b, ']');
}

/* Caller holds data_mon. */
static char *render_reflect(void)
{
    TypeRec **v = xmalloc((type_n ? type_n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < type_nb; i++)
        for (TypeRec *t = type_b[i]; t; t = t->next)
            if (t->confirmed)
                v[k++] = t;
    qsort(v, k, sizeof *v, cmp_type_ptr);
    Buf b = {0};
    buf_puts(&b, "[\n");
    for (size_t i = 0; i < k; i++) {
        TypeRec *t = v[i];
        buf_puts(&b, i ? ",\n{\n" : "{\n");
        buf_puts(&b, "  \"name\":");
        buf_json_string(&b, t->name);
        for (size_t f = 0; f < sizeof FLAG_KEYS / sizeof FLAG_KEYS[0]; f++)
            if (t->flags & FLAG_KEYS[f].bit)
                buf_printf(&b, ",\n  \"%s\":true", FLAG_KEYS[f].key);
        if (t->nf) {
            qsort(t->fields, t->nf, sizeof *t->fields, cmp_str_ptr);
            buf_puts(&b, ",\n  \"fields\":[");
            for (size_t f = 0; f < t->nf; f++) {
                buf_puts(&b, f ? ", {\"name\":" : "{\"name\":");
                buf_json_string(&b, t->fields[f]);
                buf_putc(&b, '}');
            }
            buf_putc(&b, ']');
        }
        if (t->nm) {
            qsort(t->methods, t->nm, sizeof *t->methods, cmp_method);
            buf_puts(&b, ",\n  \"methods\":[");
            for (size_t m = 0; m < t->nm; m++) {
                buf_puts(&b, m ? ", {\"name\":" : "{\"name\":");
                buf_json_string(&b, t->methods[m].name);
                buf_puts(&b, ",\"parameterTypes\":");
                render_string_array(&b, t->methods[m].params, t->methods[m].nparams);
                buf_puts(&b, " }");
            }
            buf_putc(&b, ']');
        }
        buf_puts(&b, "\n}");
    }
    buf_puts(&b, k ? "\n]\n" : "]\n");
    free(v);
    return buf_take(&b);
}

static char *render_proxies(void)
{
    char **v = set_sorted(&proxies);
    Buf b = {0};
    buf_puts(&b, "[\n");
    for (size_t i = 0; i < proxies.n; i++) {
        buf_puts(&b, i ? ",\n  {\n    \"interfaces\":[" : "  {\n    \"interfaces\":[");
        buf_puts(&b, v[i]); /* already rendered JSON strings */
        buf_puts(&b, "]\n  }");
    }
    buf_puts(&b, proxies.n ? "\n]\n" : "]\n");
    free(v);
    return buf_take(&b);
}

static char *render_resources(void)
{
    char **v = set_sorted(&resources);
    Buf b = {0};
    buf_puts(&b, "{\n  \"resources\":{\n  \"includes\":[");
    for (size_t i = 0; i < resources.n; i++) {
        char *q = regex_quote(v[i]);
        buf_puts(&b, i ? ", {\n    \"pattern\":" : "{\n    \"pattern\":");
        buf_json_string(&b, q);
        buf_puts(&b, "\n  }");
        free(q);
    }
    buf_puts(&b, "]},\n  \"bundles\":[]\n}\n");
    free(v);
    return buf_take(&b);
}

static const char *const FILE_NAMES[6] = {
    "jni-config.json", "predefined-classes-config.json", "proxy-config.json",
    "reflect-config.json", "resource-config.json", "serialization-config.json",
};

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 0;
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return 0;
        }
        off += (size_t)w;
    }
    return close(fd) == 0;
}

static char *path_join(const char *dir, const char *name)
{
    Buf b = {0};
    buf_puts(&b, dir);
    if (b.n && b.p[b.n - 1] != '/')
        buf_putc(&b, '/');
    buf_puts(&b, name);
    return buf_take(&b);
}

static int write_failures;

/* One write: render under data_mon, write into D/agent-pid<pid>-<stamp>.tmp, rename each file
 * into D (a reader never sees a half-written file), remove the temp dir. */
static void write_snapshot(JNIEnv *env, int final)
{
    mon_enter(write_mon);
    if (final_done || !lock_held) {
        mon_exit(write_mon);
        return;
    }
    if (env && live) {
        if ((*env)->PushLocalFrame(env, 64) == 0) {
            resolve_pending(env);
            confirm_loaded_types(env);
            (*env)->PopLocalFrame(env, NULL);
        }
    }
    char *text[6];
    mon_enter(data_mon);
    text[0] = xstrdup("[\n]\n");
    text[1] = xstrdup("[\n  {\n    \"type\":\"agent-extracted\",\n    \"classes\":[\n    ]\n  }\n]\n");
    text[2] = render_proxies();
    text[3] = render_reflect();
    text[4] = render_resources();
    text[5] = xstrdup("{\n  \"types\":[\n  ],\n  \"lambdaCapturingTypes\":[\n  ],\n  \"proxies\":[\n  ]\n}\n");
    mon_exit(data_mon);

    static unsigned seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char tmpname[128];
    char *tmp = NULL;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmpname, sizeof tmpname, "agent-pid%ld-%lld%09ld-%u.tmp", (long)getpid(), (long long)ts.tv_sec,
                 ts.tv_nsec, seq++);
        tmp = path_join(opt.out_dir, tmpname);
        if (mkdir(tmp, 0755) == 0)
            break;
        int e = errno;
        free(tmp);
        tmp = NULL;
        if (e != EEXIST)
            break;
    }
    int ok = tmp != NULL;
    const char *failed = tmp ? NULL : "cannot create a temporary directory";
    for (int i = 0; ok && i < 6; i++) {
        char *p = path_join(tmp, FILE_NAMES[i]);
        ok = write_file(p, text[i]);
        if (!ok)
            failed = "cannot write a temporary file";
        free(p);
    }
    for (int i = 0; ok && i < 6; i++) {
        char *from = path_join(tmp, FILE_NAMES[i]), *to = path_join(opt.out_dir, FILE_NAMES[i]);
        ok = rename(from, to) == 0;
        if (!ok)
            failed = "cannot move a file into the output directory";
        free(from);
        free(to);
    }
    if (ok)
        rmdir(tmp);
    else if (write_failures++ < 5)
        say("Warning: error when writing configuration files to '%s': %s (%s)", opt.out_dir, failed, strerror(errno));
    free(tmp);
    for (int i = 0; i < 6; i++)
        free(text[i]);
    if (final) {
        unlink(opt.lock_path);
        final_done = 1;
    }
    mon_exit(write_mon);
}

/* ---------------------------------------------------------------------------------------
 * Periodic snapshots: an agent thread (JVMTI RunAgentThread)
 * ------------------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void JNICALL periodic_writer(jvmtiEnv *j, JNIEnv *env, void *unused)
{
    (void)j;
    (void)unused;
    long long next = now_ms() + (long long)opt.initial_delay_secs * 1000;
    mon_enter(state_mon);
    for (;;) {
        long long left;
        while (!stopping && (left = next - now_ms()) > 0)
            (*jvmti)->RawMonitorWait(jvmti, state_mon, left);
        if (stopping)
            break;
        mon_exit(state_mon);
        write_snapshot(env, 0);
        mon_enter(state_mon);
        /* fixed rate; a slow write does not cause a burst of catch-up writes */
        next += (long long)opt.period_secs * 1000;
        if (next < now_ms())
            next = now_ms();
    }
    mon_exit(state_mon);
}

static void start_periodic_writer(JNIEnv *env)
{
    jclass thread_class = (*env)->FindClass(env, "java/lang/Thread");
    jmethodID init = thread_class ? (*env)->GetMethodID(env, thread_class, "<init>", "(Ljava/lang/String;)V") : NULL;
    jstring name = (*env)->NewStringUTF(env, "native-image-agent-standin periodic writer");
    jobject thread = init && name ? (*env)->NewObject(env, thread_class, init, name) : NULL;
    if (!thread || (*jvmti)->RunAgentThread(jvmti, thread, periodic_writer, NULL, JVMTI_THREAD_NORM_PRIORITY) !=
                       JVMTI_ERROR_NONE) {
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionClear(env);
        say("Warning: cannot start the periodic writer thread; only the final write will happen");
    }
}

/* ---------------------------------------------------------------------------------------
 * VM lifecycle
 * ------------------------------------------------------------------------------------- */

static void JNICALL on_vm_init(jvmtiEnv *j, JNIEnv *env, jthread thread)
{
    (void)j;
    (void)thread;
    (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_CLASS_PREPARE, NULL);
    jint n = 0;
    jclass *ks = NULL;
    if ((*jvmti)->GetLoadedClasses(jvmti, &n, &ks) == JVMTI_ERROR_NONE) {
        for (jint i = 0; i < n; i++) {
            char *sig = class_signature(ks[i]);
            int ci = sig ? target_class_index(sig) : -1;
            if (ci >= 0)
                install_breakpoints(ks[i], ci);
            free(sig);
            (*env)->DeleteLocalRef(env, ks[i]);
        }
        jfree(ks);
    }
    live = 1;
    if (opt.period_secs > 0)
        start_periodic_writer(env);
}

static void JNICALL on_vm_death(jvmtiEnv *j, JNIEnv *env)
{
    (void)j;
    mon_enter(state_mon);
    stopping = 1;
    (*jvmti)->RawMonitorNotifyAll(jvmti, state_mon);
    mon_exit(state_mon);
    write_snapshot(env, 1);
    live = 0;
}

/* ---------------------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------------------- */

static const char *value_of(const char *token) { return strchr(token, '=') + 1; }

static int is_bool_option(const char *token, const char *name)
{
    size_t n = strlen(name);
    return strncmp(token, name, n) == 0 && (token[n] == '\0' || token[n] == '=');
}

/* Like the real agent: a bare flag is true, "=true" (any case) is true, anything else false. */
static int bool_value(const char *token)
{
    const char *eq = strchr(token, '=');
    return !eq || strcasecmp(eq + 1, "true") == 0;
}

static char *replace_all(const char *s, const char *what, const char *with)
{
    Buf b = {0};
    size_t wn = strlen(what);
    const char *p = s, *hit;
    while ((hit = strstr(p, what))) {
        buf_putn(&b, p, (size_t)(hit - p));
        buf_puts(&b, with);
        p = hit + wn;
    }
    buf_puts(&b, p);
    return buf_take(&b);
}

static char *expand_path(const char *path)
{
    char pid[32], stamp[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char *a = replace_all(path, "{pid}", pid);
    char *b = replace_all(a, "{datetime}", stamp);
    free(a);
    return b;
}

static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                free(p);
                return 0;
            }
            *s = '/';
        }
    }
    int ok = mkdir(p, 0755) == 0 || errno == EEXIST;
    free(p);
    struct stat st;
    return ok && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int parse_count(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 1000000000L)
        return 0;
    *out = (int)v;
    return 1;
}

static jint usage(const char *fmt, const char *arg1)
{
    fputs(PREFIX, stderr);
    fprintf(stderr, fmt, arg1);
    fputc('\n', stderr);
    say("Example usage: -agentlib:native-image-agent=config-output-dir=/path/to/config-dir/");
    return JNI_ERR;
}

static jint parse_options(const char *options)
{
    char *copy = xstrdup(options ? options : "");
    char *dir = NULL;
    int builtin_caller = 1, builtin_heuristic = 1;
    char **caller_paths = NULL, **access_paths = NULL;
    size_t ncp = 0, nap = 0;
    opt.period_secs = -1;
    opt.initial_delay_secs = 1;
    jint rc = JNI_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == JNI_OK; tok = strtok_r(NULL, ",", &save)) {
        if (starts_with(tok, "config-output-dir=")) {
            if (dir)
                rc = usage("cannot specify more than one of config-output-dir= or config-merge-dir=.", NULL);
            else
                dir = xstrdup(value_of(tok));
        } else if (starts_with(tok, "config-merge-dir=")) {
            rc = usage("Error: '%s': config-merge-dir= is not supported by this stand-in for the native-image "
                       "agent; use config-output-dir= and merge the directories afterwards.", tok);
        } else if (starts_with(tok, "trace-output=")) {
            rc = usage("Error: '%s': trace-output= is not supported by this stand-in for the native-image agent; "
                       "use config-output-dir=.", tok);
        } else if (starts_with(tok, "config-write-period-secs=")) {
            if (!parse_count(value_of(tok), &opt.period_secs) || opt.period_secs <= 0)
                rc = usage("config-write-period-secs must be an integer greater than 0 (got '%s')", value_of(tok));
        } else if (starts_with(tok, "config-write-initial-delay-secs=")) {
            if (!parse_count(value_of(tok), &opt.initial_delay_secs))
                rc = usage("config-write-initial-delay-secs must be an integer greater or equal to 0 (got '%s')",
                           value_of(tok));
        } else if (starts_with(tok, "caller-filter-file=")) {
            caller_paths = xrealloc(caller_paths, (ncp + 1) * sizeof *caller_paths);
            caller_paths[ncp++] = xstrdup(value_of(tok));
        } else if (starts_with(tok, "access-filter-file=")) {
            access_paths = xrealloc(access_paths, (nap + 1) * sizeof *access_paths);
            access_paths[nap++] = xstrdup(value_of(tok));
        } else if (strcmp(tok, "no-builtin-caller-filter") == 0) {
            builtin_caller = 0;
        } else if (is_bool_option(tok, "builtin-caller-filter")) {
            builtin_caller = bool_value(tok);
        } else if (strcmp(tok, "no-builtin-heuristic-filter") == 0) {
            builtin_heuristic = 0;
        } else if (is_bool_option(tok, "builtin-heuristic-filter")) {
            builtin_heuristic = bool_value(tok);
        } else if (is_bool_option(tok, "no-filter")) {
            builtin_caller = builtin_heuristic = !bool_value(tok);
        } else if (is_bool_option(tok, "experimental-class-define-support") ||
                   is_bool_option(tok, "experimental-class-loader-support") ||
                   is_bool_option(tok, "experimental-unsafe-allocation-support") ||
                   is_bool_option(tok, "track-reflection-metadata") ||
                   is_bool_option(tok, "experimental-omit-config-from-classpath")) {
            /* accepted; what they change is not traced by the stand-in (see README) */
        } else if (starts_with(tok, "restrict-all-dir") || strcmp(tok, "restrict") == 0 || starts_with(tok, "restrict=")) {
            say("Warning: restrict mode is no longer supported, ignoring option: %s", tok);
        } else if (starts_with(tok, "config-to-omit=") || starts_with(tok, "experimental-conditional-config-filter-file=") ||
                   starts_with(tok, "conditional-config-class-filter-file=") ||
                   is_bool_option(tok, "experimental-conditional-config-part") ||
                   is_bool_option(tok, "experimental-configuration-with-origins")) {
            say("Warning: the stand-in ignores option: %s", tok);
        } else {
            rc = usage("unknown option: '%s'.", tok);
        }
    }
    free(copy);
    if (rc == JNI_OK && (!dir || !*dir))
        rc = usage("Error: %s", "the stand-in needs config-output-dir=<directory> (it writes nowhere else).");
    if (builtin_caller) {
        /* JDK code calling reflection on its own behalf is not the application's doing */
        rules_add(&opt.caller_rules, 1, "**");
        rules_add(&opt.caller_rules, 0, "java.**");
        rules_add(&opt.caller_rules, 0, "javax.**");
        rules_add(&opt.caller_rules, 1, "javax.security.auth.**");
        rules_add(&opt.caller_rules, 0, "sun.**");
        rules_add(&opt.caller_rules, 0, "com.sun.**");
        rules_add(&opt.caller_rules, 0, "jdk.**");
    }
    for (size_t i = 0; rc == JNI_OK && i < ncp; i++)
        if (!load_filter_file(caller_paths[i], &opt.caller_rules))
            rc = JNI_ERR;
    for (size_t i = 0; rc == JNI_OK && i < nap; i++)
        if (!load_filter_file(access_paths[i], &opt.access_rules))
            rc = JNI_ERR;
    free_strings(caller_paths, (int)ncp);
    free_strings(access_paths, (int)nap);
    opt.heuristic_filter = builtin_heuristic;
    if (rc == JNI_OK) {
        opt.out_dir = expand_path(dir);
        opt.lock_path = path_join(opt.out_dir, LOCK_NAME);
    }
    free(dir);
    return rc;
}

/* Creates D (mkdir -p) and D/.lock holding our PID; refuses a directory that is locked. */
static jint take_lock(void)
{
    if (!mkdirs(opt.out_dir)) {
        say("Error: cannot create output directory '%s': %s", opt.out_dir, strerror(errno));
        return JNI_ERR;
    }
    int fd = open(opt.lock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 && errno == EEXIST) {
        char owner[64] = "(unknown)";
        FILE *f = fopen(opt.lock_path, "r");
        if (f) {
            if (fgets(owner, sizeof owner, f))
                owner[strcspn(owner, "\r\n")] = '\0';
            fclose(f);
        }
        say("Error: Output directory '%s' is locked by process %s: another agent is writing to it. Only one "
            "agent may write to a directory at a time; unless '%s' is left over from a process that was killed, "
            "do not delete it. Give each JVM its own directory and merge them afterwards.",
            opt.out_dir, owner, LOCK_NAME);
        return JNI_ERR;
    }
    if (fd < 0) {
        say("Error: cannot create '%s': %s", opt.lock_path, strerror(errno));
        return JNI_ERR;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld", (long)getpid());
    int ok = write(fd, pid, (size_t)n) == n;
    close(fd);
    if (!ok) {
        unlink(opt.lock_path);
        say("Error: cannot write '%s'", opt.lock_path);
        return JNI_ERR;
    }
    lock_held = 1;
    return JNI_OK;
}

JNIEXPORT jint JNICALL Agent_OnLoad(JavaVM *vm, char *options, void *reserved)
{
    (void)reserved;
    if (parse_options(options) != JNI_OK)
        return JNI_ERR;
    if ((*vm)->GetEnv(vm, (void **)&jvmti, JVMTI_VERSION_1_2) != JNI_OK || !jvmti) {
        say("Error: JVMTI 1.2 is not available");
        return JNI_ERR;
    }
    jvmtiCapabilities caps;
    memset(&caps, 0, sizeof caps);
    caps.can_generate_breakpoint_events = 1; /* intercept exactly the lookup APIs, nothing else */
    caps.can_access_local_variables = 1;      /* read their arguments at the breakpoint */
    jvmtiError err = (*jvmti)->AddCapabilities(jvmti, &caps);
    if (err != JVMTI_ERROR_NONE) {
        say("Error: the JVM does not grant breakpoint and local-variable access (JVMTI error %d)", err);
        return JNI_ERR;
    }
    if ((*jvmti)->CreateRawMonitor(jvmti, "standin-data", &data_mon) ||
        (*jvmti)->CreateRawMonitor(jvmti, "standin-write", &write_mon) ||
        (*jvmti)->CreateRawMonitor(jvmti, "standin-state", &state_mon) ||
        (*jvmti)->CreateRawMonitor(jvmti, "standin-install", &install_mon)) {
        say("Error: cannot create JVMTI raw monitors");
        return JNI_ERR;
    }
    jvmtiEventCallbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.VMInit = on_vm_init;
    cb.VMDeath = on_vm_death;
    cb.Breakpoint = on_breakpoint;
    cb.ClassPrepare = on_class_prepare;
    if ((*jvmti)->SetEventCallbacks(jvmti, &cb, sizeof cb) != JVMTI_ERROR_NONE ||
        (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, NULL) != JVMTI_ERROR_NONE ||
        (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_VM_DEATH, NULL) != JVMTI_ERROR_NONE ||
        (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_BREAKPOINT, NULL) != JVMTI_ERROR_NONE) {
        say("Error: cannot register JVMTI events");
        return JNI_ERR;
    }
    /* last: nothing after this can fail, so a refused start never leaves a lock behind */
    return take_lock();
}

JNIEXPORT void JNICALL Agent_OnUnload(JavaVM *vm)
{
    (void)vm;
    /* Normally VM death already wrote and unlocked. If the JVM died during start-up instead,
     * write what there is and release the directory, as the real agent does on unload. */
    if (jvmti && lock_held && !final_done)
        write_snapshot(NULL, 1);
}
