/* Billing reconciliation of one scenario: invoice, wire and the gateway's own metering. */
#ifndef RUNNER_BILLING_H
#define RUNNER_BILLING_H

#include "gateway.h"
#include "results.h"

/* Fills res->billing and each request's 'metered' from gw's metering output (gw NULL or without
 * one: invoice and wire only). Borrows gw. */
void billing_reconcile(struct scenario_result *res, const struct gateway *gw);
/* The reconciliation from each request's 'metered' as it is (a merge sets them from the
 * shards' records): the buckets, the variances and the disagreements. */
void billing_compute(struct scenario_result *res);

/* Adds a metering output already read ('text': JSON lines or one array, NUL-terminated; split
 * in place) to each request's 'metered', by gw's id and token fields. Borrows both. */
void billing_read_metering(struct scenario_result *res, const struct gateway *gw, char *text);

#endif
