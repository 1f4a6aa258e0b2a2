/*
 * nametab: a hash table from relative domain names (lowercased wire labels,
 * without the root byte) to chains of 32-bit values. Used by dnset, generic
 * and the empty-non-terminal sets. Open addressing, at most half full;
 * names live in the owning dataset's arena. Read-only once loaded.
 */
#ifndef RAMPART_DNS_NAMETAB_H
#define RAMPART_DNS_NAMETAB_H

#include <stddef.h>
#include <stdint.h>

struct nt_entry {
    const uint8_t *name;
    uint32_t hash;
    uint16_t len;
    uint32_t val;
    uint32_t next;          /* next entry with the same name, UINT32_MAX at the end */
};

struct nametab {
    uint32_t *slots;        /* entry index + 1 of a chain head, 0 = empty */
    uint32_t nslots;
    struct nt_entry *e;
    uint32_t n, cap;
    uint32_t heads;
};

/// Add (name, val); name must outlive the table. Duplicates chain in insertion order.
/// If unique is set and the name exists, nothing is added. Returns 0 or -1 on OOM.
int nametab_add(struct nametab *t, const uint8_t *name, size_t len, uint32_t val, int unique);

/// First entry for name, or NULL. Follow ->next for the others.
const struct nt_entry *nametab_find(const struct nametab *t, const uint8_t *name, size_t len);

void nametab_free(struct nametab *t);

#endif
