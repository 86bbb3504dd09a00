/* The Responses API's stored background responses: retrieve, cancel, eviction. */
#ifndef MP_STORE_H
#define MP_STORE_H

#define MOCK_STORE_MAX 1024 /* finished background responses kept for retrieve/cancel */

struct mock;
struct gen;
struct exchange;

/* The stored response with id 'id', or NULL. */
struct gen *store_find(struct mock *m, const char *id);
/* Forgets the oldest finished background response; running ones stay. */
void store_evict_oldest(struct mock *m);
/* GET /v1/responses/{id}[?stream=true&starting_after=N]; every outcome replies to 'req'. */
void store_retrieve(struct mock *m, struct exchange *x, const char *id);
/* POST /v1/responses/{id}/cancel; every outcome replies to 'req'. */
void store_cancel(struct mock *m, struct exchange *x, const char *id);

#endif
