/* Billing reconciliation of one scenario: invoice, wire and the gateway's own metering. */
#ifndef RUNNER_BILLING_H
#define RUNNER_BILLING_H

#include "gateway.h"
#include "results.h"

/* Fills res->billing and each request's 'metered' from gw's metering output (gw NULL or without
 * one: invoice and wire only). Borrows gw. */
void billing_reconcile(struct scenario_result *res, const struct gateway *gw);

#endif
