/* Per-task samples from the joined requests (taskmetrics.h). */
#include "taskmetrics.h"

#include <math.h>

void taskmetrics_fill(struct scenario_result *res)
{
    for (size_t k = 0; k < res->nreqs; k++) {
        res->reqs[k].sample[M_TASK_TAIL_TOKENS] = NAN;
        res->reqs[k].sample[M_TASK_CLOSE_LAG_MS] = NAN;
    }
    for (size_t k = 0; k < res->nreqs; k++) {
        struct req_result *q = &res->reqs[k];
        if (q->user < 0 || (size_t)q->user >= res->sc->nusers ||
            res->sc->users[q->user].task_requests < 2)
            continue;
        /* the task's first request in the join (the requests of a user share its index) */
        size_t j = 0;
        while (j < k && !(res->reqs[j].index == q->index && res->reqs[j].user == q->user))
            j++;
        if (j < k)
            continue;
        double tail = 0, lag = -INFINITY;
        int acted = 0;
        for (size_t i = k; i < res->nreqs; i++) {
            const struct req_result *m = &res->reqs[i];
            if (m->index != q->index || m->user != q->user)
                continue;
            acted |= m->aborted;
            if (!isnan(m->sample[M_TAIL_TOKENS]))
                tail += m->sample[M_TAIL_TOKENS];
            if (!isnan(m->sample[M_CLOSE_LAG_MS]))
                lag = fmax(lag, m->sample[M_CLOSE_LAG_MS]);
        }
        if (!acted)
            continue; /* a task read to its end leaves no tail */
        q->sample[M_TASK_TAIL_TOKENS] = tail;
        q->sample[M_TASK_CLOSE_LAG_MS] = isfinite(lag) ? lag : NAN;
    }
}
