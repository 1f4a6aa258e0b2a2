#define _GNU_SOURCE /* timegm */
#include "rbltext.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include "common/util.h"

int rbl_parse_ip4_prefix(const char *s, const char **end, uint32_t *addr)
{
    uint32_t a = 0;
    int n = 0;
    const char *p = s;
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return -1;
        uint32_t v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (uint32_t)(*p++ - '0');
            if (++digits > 3 || v > 255)
                return -1;
        }
        a |= v << (24 - 8 * n);
        n++;
        if (*p != '.' || n == 4 || !isdigit((unsigned char)p[1]))
            break;
        p++;
    }
    *end = p;
    *addr = a;
    return n;
}

int rbl_parse_ip6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t head[8], tail[8];
    int nh = 0, nt = 0;
    bool dbl = false;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        dbl = true;
        i = 2;
    }
    while (i < len) {
        uint32_t v = 0;
        int d = 0;
        while (i < len && util_hexval((unsigned char)s[i]) >= 0) {
            v = v << 4 | (uint32_t)util_hexval((unsigned char)s[i++]);
            if (++d > 4)
                return -1;
        }
        if (d == 0)
            return -1;
        if (dbl) {
            if (nt + nh >= 7)
                return -1;
            tail[nt++] = (uint16_t)v;
        } else {
            if (nh >= 8)
                return -1;
            head[nh++] = (uint16_t)v;
        }
        if (i == len)
            break;
        if (s[i] != ':')
            return -1;
        i++;
        if (i < len && s[i] == ':') {
            if (dbl)
                return -1;
            dbl = true;
            i++;
        } else if (i == len) {
            return -1;
        }
    }
    memset(out, 0, 16);
    for (int k = 0; k < nh; k++) {
        out[2 * k] = (uint8_t)(head[k] >> 8);
        out[2 * k + 1] = (uint8_t)head[k];
    }
    for (int k = 0; k < nt; k++) {
        int g = 8 - nt + k;
        out[2 * g] = (uint8_t)(tail[k] >> 8);
        out[2 * g + 1] = (uint8_t)tail[k];
    }
    if (dbl)
        return 128;
    return nh * 16;
}

char *rbl_next_word(char **s)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return NULL;
    char *w = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return w;
}

int rbl_parse_stamp(const char *w, int64_t *out)
{
    int f[6] = {0, 0, 0, 0, 0, 0};
    static const int widths[6] = {4, 2, 2, 2, 2, 2};
    const char *p = w;
    int k = 0;
    for (; k < 6 && *p; k++) {
        if (k > 0 && (*p == ':' || *p == '-'))
            p++;
        for (int d = 0; d < widths[k]; d++, p++) {
            if (!isdigit((unsigned char)*p))
                return -1;
            f[k] = f[k] * 10 + (*p - '0');
        }
    }
    if (*p || k < 3 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
        f[5] > 59)
        return -1;
    struct tm tm = {.tm_year = f[0] - 1900, .tm_mon = f[1] - 1, .tm_mday = f[2],
                    .tm_hour = f[3], .tm_min = f[4], .tm_sec = f[5]};
    *out = (int64_t)timegm(&tm);
    return 0;
}
