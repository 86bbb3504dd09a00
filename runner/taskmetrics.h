/* Agent tasks' own metrics: a task's requests are left at once, so every one of them must stop
 * (chaos_user.task_requests). */
#ifndef RUNNER_TASKMETRICS_H
#define RUNNER_TASKMETRICS_H

#include "results.h"

/* For each task whose user acted: task_tail_tokens (the tails of all its requests added up)
 * and task_close_lag_ms (the slowest of its requests to stop), sampled once per task on its
 * first request. Needs the requests' users (verdict.c's assign_users). */
void taskmetrics_fill(struct scenario_result *res);

#endif
