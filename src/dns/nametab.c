#include "nametab.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_name(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h ? h : 1;
}

static int grow(struct nametab *t)
{
    uint32_t ns = t->nslots ? t->nslots * 2 : 64;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t i = 0; i < t->nslots; i++) {
        uint32_t v = t->slots[i];
        if (!v)
            continue;
        uint32_t j = t->e[v - 1].hash & (ns - 1);
        while (slots[j])
            j = (j + 1) & (ns - 1);
        slots[j] = v;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    return 0;
}

static uint32_t *find_slot(const struct nametab *t, const uint8_t *name, size_t len, uint32_t h)
{
    uint32_t j = h & (t->nslots - 1);
    for (;;) {
        uint32_t v = t->slots[j];
        if (!v)
            return &t->slots[j];
        const struct nt_entry *e = &t->e[v - 1];
        if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
            return &t->slots[j];
        j = (j + 1) & (t->nslots - 1);
    }
}

int nametab_add(struct nametab *t, const uint8_t *name, size_t len, uint32_t val, int unique)
{
    if ((t->heads + 1) * 2 > t->nslots && grow(t) < 0)
        return -1;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        struct nt_entry *e = realloc(t->e, cap * sizeof *e);
        if (!e)
            return -1;
        t->e = e;
        t->cap = cap;
    }
    uint32_t h = hash_name(name, len);
    uint32_t *slot = find_slot(t, name, len, h);
    if (*slot && unique)
        return 0;
    uint32_t idx = t->n++;
    t->e[idx] = (struct nt_entry){.name = name, .hash = h, .len = (uint16_t)len, .val = val,
                                  .next = UINT32_MAX};
    if (!*slot) {
        *slot = idx + 1;
        t->heads++;
    } else {
        uint32_t k = *slot - 1;
        while (t->e[k].next != UINT32_MAX)
            k = t->e[k].next;
        t->e[k].next = idx;
    }
    return 0;
}

const struct nt_entry *nametab_find(const struct nametab *t, const uint8_t *name, size_t len)
{
    if (!t->nslots)
        return NULL;
    uint32_t *slot = find_slot(t, name, len, hash_name(name, len));
    return *slot ? &t->e[*slot - 1] : NULL;
}

void nametab_free(struct nametab *t)
{
    free(t->slots);
    free(t->e);
    memset(t, 0, sizeof *t);
}
