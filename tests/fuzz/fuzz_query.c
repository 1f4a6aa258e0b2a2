/*
 * fuzz_query: libFuzzer harness for rampart-dnsbl's answer path.
 *
 * Each input is one DNS query packet, given to dns_answer_query() (parse, zone
 * choice, ACLs, every dataset type's lookup, answer writing) over UDP and over
 * TCP, as the server does (4096-byte UDP buffer, 65535 for TCP). Every answer
 * is checked by fz_check_answer() (fuzz_common.h).
 *
 * The served configuration is built once, at start-up, from small data files
 * written to a temporary directory: zones with ip4set (ranges, exclusions, TXT
 * templates with $, $n and $=), ip4trie, ip4tset, ip6trie, ip6tset, dnset
 * (wildcards, exclusions), generic, combined ($DATASET sections) and acl
 * datasets, a zone inside another zone, a global acl, name servers with glue
 * inside their zone, an NS RRset larger than 512 bytes, an expired zone, and
 * an IPv4 level large enough to be compact (prefixmap.h).
 *
 * The query ID is echoed and otherwise ignored by the server, so the harness
 * uses it to vary what the packet does not carry: ID low bits pick the client
 * address (plain, ACL value, :empty, :refuse, :ignore, IPv6), ID high bits the
 * -a (lazy), -v (version) and maximum UDP size settings.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "dns/dataset.h"
#include "dns/wire.h"
#include "dns/zone.h"
#include "fuzz_common.h"

struct data_file {
    const char *name;
    const char *text;
};

static const struct data_file files[] = {
    {"ip4set",
     "$SOA 1h ns1.bl.example hostmaster.bl.example 0 2h 30m 1w 10m\n"
     "$NS 1d ns1.bl.example ns2.bl.example\n"
     "$TTL 35m\n"
     "$1 http://bl.example/lookup\n"
     ":127.0.0.2:Listed, see $1?ip=$\n"
     "127.0.0.2\n"
     "10.0.0.0/8 :127.0.0.10:Ten $\n"
     "!10.0.0.1\n"
     "10.1.2.0/24\n"
     "192.168.1.0-192.168.1.9 :3:Range $ ($$5)\n"
     "!192.168.1.5\n"
     "127.16-31 :5\n"
     "172.16.0.0/12 :6:\n"
     "$= Base template: $= [$]\n"
     "1.2.3.4 custom reason\n"
     "1.2.3.5 =Override $\n"
     "1.2.3.4 :7:Second value for the same address\n"
     "5.6.7\n"},
    {"ip4trie",
     ":127.0.0.3:trie $\n"
     "128.0.0.0/1 :9:top half\n"
     "10.128.0.0/9 :4:nine $\n"
     "!10.200.0.1\n"
     "11.0.0.0/8\n"
     "1.2.3.4/32 :2:Listed, see http://bl.example/lookup?ip=1.2.3.4\n"},
    {"ip4tset", ":127.0.0.2:tset $\n1.2.3.4\n5.6.7.8\n"},
    {"acl-zone", "10.9.9.0/24 :empty\n10.9.8.0/24 :refuse\n"},
    {"acl-global",
     "10.1.2.3 :2:ACL listed $\n"
     "172.16.5.0/24 :refuse\n"
     "203.0.113.0/24 :ignore\n"
     "!203.0.113.8\n"
     "2001:db8::/32 :pass\n"
     "2001:db8:1::/48 :3:v6 acl $\n"},
    {"ip6trie",
     "$SOA 1h ns.v6.example hm.v6.example 5 2h 30m 1w 10m\n"
     ":127.0.0.2:v6 $\n"
     "::ffff:7f00:2\n"
     "2001:db8:bad::/48\n"
     "2001:db8:def7:4242 :3:smells $\n"
     "!2001:db8:bad::1\n"
     "::1\n"},
    {"ip6tset", ":127.0.0.4:tset6 $\n2001:20fe:23:41ed\n!2001:20fe:23:41ed::2\n"},
    {"dnset",
     "$SOA 1h ns.dbl.example hm.dbl.example 0 2h 30m 1w 10m\n"
     "$NS 1h ns.dbl.example\n"
     ":127.0.1.2:Domain $ listed\n"
     "example.com\n"
     "*.wild.com :127.0.1.3:wild $\n"
     ".dot.org\n"
     "!x.dot.org\n"
     "test\n"},
    {"generic",
     "@ 1h TXT \"generic apex\"\n"
     "mx MX 10 mail.dbl.example\n"
     "host A 192.0.2.5\n"
     "host AAAA 2001:db8::5\n"
     "host TXT \"host text\"\n"
     "a.b.c TXT \"deep\"\n"},
    {"combined",
     "$NS 1w ns1.comb.example ns2.comb.example\n"
     "$SOA 1w ns1.comb.example admin.comb.example 7 2h 2h 1w 1h\n"
     "$1 combined-ref\n"
     "$DATASET ip4set:proxy proxies @\n"
     ":2:Open proxy $ ($1)\n"
     "127.0.0.10\n"
     "$DATASET ip4trie:relay relays @\n"
     ":3:Open relay $\n"
     "127.0.0.0/24\n"
     "$DATASET dnset:dom dom deep.sub\n"
     ":4:domain $\n"
     "example.net\n"
     "*.wild.net\n"
     "$DATASET ip6trie v6\n"
     ":5:v6 $\n"
     "2001:db8::/32\n"
     "$DATASET generic:common proxies relays @\n"
     "@ TXT \"common\"\n"},
    {"parent",
     "$SOA 1h ns.example hm.example 1 1h 1h 1h 1h\n"
     "www A 192.0.2.80\n"},
    {"glue", "ns1 A 192.0.2.53\nns2 A 192.0.2.54\nns2 A 192.0.2.55\nns2 AAAA 2001:db8::53\n"},
    {"expired", "$TIMESTAMP 2020:01:01 +1d\n$SOA 1h ns.exp.example hm.exp.example 1 1h 1h 1h 1h\n"
                "127.0.0.2\n"},
    {"many-ns", /* an NS RRset larger than 512 bytes; an expiry in the future */
     "$TIMESTAMP 2020:01:01 2999:01:01\n"
     "$NS 1h "
     "ns01.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns02.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns03.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns04.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns05.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns06.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns07.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example "
     "ns08.a-rather-long-label-for-a-name-server-host-name-to-fill-up.v6.example\n"
     "@ TXT \"many name servers\"\n"},
};

/* zone:type:file, the file as an index into files[] */
static const struct {
    const char *zone, *type;
    int file;
} specs[] = {
    {"bl.example", "ip4set", 0},  {"bl.example", "ip4trie", 1},
    {"bl.example", "acl", 3},     {"t.bl.example", "ip4tset", 2},
    {"", "acl", 4},               {"v6.example", "ip6trie", 5},
    {"v6.example", "ip6tset", 6}, {"dbl.example", "dnset", 7},
    {"dbl.example", "generic", 8}, {"comb.example", "combined", 9},
    {"example", "generic", 10},
};

enum { NFILES = sizeof files / sizeof files[0], NSPECS = sizeof specs / sizeof specs[0] };

static struct dns_config *cfg;
static char dir[64];
static char paths[NFILES][128];

static void cleanup(void)
{
    for (int i = 0; i < NFILES; i++)
        unlink(paths[i]);
    rmdir(dir);
    dns_config_free_all(cfg);
    cfg = NULL;
}

static void setup(void)
{
    log_init("fuzz_query", LOG_LVL_ERROR);
    strcpy(dir, "/tmp/rampart-fuzz-XXXXXX");
    if (!mkdtemp(dir))
        FZ_FAIL("mkdtemp failed");
    for (int i = 0; i < NFILES; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, files[i].name);
        FILE *f = fopen(paths[i], "w");
        if (!f || fputs(files[i].text, f) < 0)
            FZ_FAIL("cannot write %s", paths[i]);
        if (i == 0) {
            /* one address with many long TXT reasons: larger than any UDP answer */
            for (int k = 2; k < 40; k++)
                fprintf(f, "2.2.2.2 :%d:reason %d %0200d\n", k, k, k);
            /* more than 4096 /32 entries: the compact (indexed) IPv4 level */
            for (int k = 0; k < 20; k++)
                fprintf(f, "172.20.%d.1-172.20.%d.254 :8:compact $\n", k, k);
            fprintf(f, "!172.20.3.7\n172.20.3.7 :9:excluded anyway\n");
        }
        fclose(f);
    }
    char bufs[NSPECS][256];
    const char *sv[NSPECS];
    for (int i = 0; i < NSPECS; i++) {
        snprintf(bufs[i], sizeof bufs[i], "%s:%s:%s", specs[i].zone, specs[i].type,
                 paths[specs[i].file]);
        sv[i] = bufs[i];
    }
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    cfg = dns_config_build(sv, NSPECS, &opt);
    if (!cfg || dns_config_reload(NULL, &cfg, true) < 0)
        FZ_FAIL("the harness's configuration does not load");
    atexit(cleanup);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

static const uint16_t max_udp_choice[4] = {DNS_EDNS_DEFAULT, DNS_UDP_MIN, 4096, 1400};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[DNS_TCP_MAX];
    static struct dns_stats st;
    uint8_t id_hi = size > 0 ? data[0] : 0, id_lo = size > 1 ? data[1] : 0;

    struct sockaddr_storage peer;
    switch (id_lo & 7) {
    case 3: fz_peer4(&peer, "10.1.2.3"); break;      /* global acl: value */
    case 4: fz_peer4(&peer, "10.9.9.9"); break;      /* bl.example acl: :empty */
    case 5: fz_peer4(&peer, "172.16.5.5"); break;    /* global acl: :refuse */
    case 6: fz_peer4(&peer, "203.0.113.7"); break;   /* global acl: :ignore */
    case 7: fz_peer6(&peer, "2001:db8:1::9"); break; /* global acl: IPv6 value */
    default: fz_peer4(&peer, "192.0.2.1"); break;    /* no acl entry */
    }
    cfg->lazy = id_hi & 1;
    cfg->version = (enum version_mode)((id_hi >> 1) & 3) == 3 ? VERSION_FULL
                                                               : (enum version_mode)((id_hi >> 1) & 3);
    cfg->max_udp = max_udp_choice[(id_hi >> 3) & 3];
    cfg->cookies = (id_hi >> 5) & 1; /* RFC 7873 answers on half the inputs */
    memset(cfg->cookie_secret, 0x5a, sizeof cfg->cookie_secret);

    for (int tcp = 0; tcp < 2; tcp++) {
        size_t cap = tcp ? DNS_TCP_MAX : 4096;
        bool verified;
        size_t n = dns_answer_query(cfg, data, size, out, cap, tcp, &peer, &st, &verified);
        fz_check_answer(data, size, out, n, cap, tcp, cfg->max_udp);
    }
    return 0;
}
