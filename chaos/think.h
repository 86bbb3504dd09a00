/* Think time: in the closed model a slot waits a drawn time after a user request before the
 * next request may take it. */
#ifndef CHAOS_THINK_H
#define CHAOS_THINK_H

struct chaos_client;
struct chaos_record;

/* A user request ended ('rec' NULL: a follow-up, which thinks not): its slot thinks, or is
 * freed now. Borrows 'rec' for the call. */
void think_free_slot(struct chaos_client *c, const struct chaos_record *rec);
/* Frees every slot still thinking (without freeing their slots). */
void think_free_all(struct chaos_client *c);

#endif
