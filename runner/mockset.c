/* The run's mocks taken together (mockset.h). */
#include "mockset.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jget.h"

/* "mockprov" or "mockprov 'name'", for messages. */
static void label(const struct mockctl *m, char *out, size_t len)
{
    if (m->name[0])
        snprintf(out, len, "mockprov '%s'", m->name);
    else
        snprintf(out, len, "mockprov");
}

int mockset_alive(struct runner *r, char *why, size_t len)
{
    for (size_t i = 0; i < runner_nmocks(r); i++) {
        struct mockctl *m = runner_mock(r, i);
        if (mockctl_alive(m))
            continue;
        char who[PLACEHOLDER_NAME_MAX + 16], log[1100], note[1200] = "";
        label(m, who, sizeof who);
        if (m->name[0])
            snprintf(log, sizeof log, "%s/mock-%s.log", r->cfg->out_dir, m->name);
        else
            snprintf(log, sizeof log, "%s/mock.log", r->cfg->out_dir);
        if (access(log, F_OK) == 0)
            snprintf(note, sizeof note, " (see %s)", log);
        snprintf(why, len, "%s exited during the scenario%s", who, note);
        return 0;
    }
    return 1;
}

double mockset_active_streams(struct runner *r, double *records, char *why, size_t len)
{
    double active = 0;
    if (records)
        *records = 0;
    for (size_t i = 0; i < runner_nmocks(r); i++) {
        struct mockctl *m = runner_mock(r, i);
        cJSON *h = mockctl_get(m, "/_tailgate/health");
        double a = jget_num(h, "active_streams"), n = jget_num(h, "ledger_records");
        if (records && !isnan(n))
            *records += n;
        cJSON_Delete(h);
        if (h == NULL) {
            char who[PLACEHOLDER_NAME_MAX + 16];
            label(m, who, sizeof who);
            snprintf(why, len, "%s stopped answering at %s", who, m->url);
            return -1;
        }
        active += isnan(a) ? 0 : a;
    }
    return active;
}

void mockset_lag(struct runner *r, double *p99_ms, double *late_share, double *timed,
                 double *rate_share)
{
    *p99_ms = *late_share = *timed = *rate_share = NAN;
    for (size_t i = 0; i < runner_nmocks(r); i++) {
        double p, l, t, s;
        if (mockctl_lag(runner_mock(r, i), &p, &l, &t, &s) != 0)
            continue;
        /* fmax and fmin pass over a NAN: a mock that does not say leaves the others' figures */
        *p99_ms = fmax(*p99_ms, p);
        *late_share = fmax(*late_share, l);
        *timed = isnan(*timed) ? t : *timed + (isnan(t) ? 0 : t);
        *rate_share = fmin(*rate_share, s);
    }
}

/* Moves a record's times (every "..._ns" number, or array of them) by -delta: onto the
 * default mock's clock, which the join reads. */
static void shift_times(cJSON *rec, double delta)
{
    cJSON *f;
    cJSON_ArrayForEach(f, rec)
    {
        size_t n = f->string ? strlen(f->string) : 0;
        if (n < 3 || strcmp(f->string + n - 3, "_ns") != 0)
            continue;
        if (cJSON_IsNumber(f)) {
            cJSON_SetNumberValue(f, f->valuedouble - delta);
            continue;
        }
        cJSON *t;
        cJSON_ArrayForEach(t, f)
        {
            if (cJSON_IsNumber(t))
                cJSON_SetNumberValue(t, t->valuedouble - delta);
        }
    }
}

cJSON *mockset_ledger(struct runner *r, char *why, size_t len)
{
    cJSON *all = cJSON_CreateObject();
    cJSON *records = cJSON_AddArrayToObject(all, "records");
    double dropped = 0;
    if (records == NULL) {
        cJSON_Delete(all);
        snprintf(why, len, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < runner_nmocks(r); i++) {
        struct mockctl *m = runner_mock(r, i);
        cJSON *ledger = mockctl_get(m, "/_tailgate/ledger");
        if (ledger == NULL) {
            char who[PLACEHOLDER_NAME_MAX + 16];
            label(m, who, sizeof who);
            snprintf(why, len, "could not read %s's ledger at %s", who, m->url);
            cJSON_Delete(all);
            return NULL;
        }
        dropped += fmax(0, jget_num(ledger, "dropped"));
        cJSON *recs = cJSON_DetachItemFromObject(ledger, "records");
        cJSON *rec = recs ? recs->child : NULL;
        while (rec) {
            cJSON *next = rec->next;
            cJSON_DetachItemViaPointer(recs, rec);
            if (m->name[0]) {
                cJSON_AddStringToObject(rec, "mock", m->name);
                if (r->named_clock_delta_ns[i - 1] != 0)
                    shift_times(rec, r->named_clock_delta_ns[i - 1]);
            }
            cJSON_AddItemToArray(records, rec);
            rec = next;
        }
        cJSON_Delete(recs);
        cJSON_Delete(ledger);
    }
    cJSON_AddNumberToObject(all, "dropped", dropped);
    return all;
}

int mockset_configure(struct runner *r, const struct scenario *sc, char *err, size_t errlen)
{
    for (size_t i = 0; i < runner_nmocks(r); i++) {
        struct mockctl *m = runner_mock(r, i);
        struct scenario_mock_settings set;
        scenario_mock_settings(sc, m->name, &set);
        if (mockctl_configure(m, &set, sc->file, err, errlen) != 0)
            return -1;
    }
    return 0;
}
