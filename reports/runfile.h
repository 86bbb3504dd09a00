/* results.json as the reports read it: the parsed tree plus NULL-safe accessors, so a field that
 * is missing or null reads as NAN or "" and a chart degrades instead of failing. */
#ifndef REPORTS_RUNFILE_H
#define REPORTS_RUNFILE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define RUNFILE_MAX_BYTES (512L * 1024 * 1024) /* a million requests_detail rows fit */
/* The results.json format major this reader knows (docs/results.schema.json): any 1.x, whose
 * minors only add fields, and a file from before schema_version existed (the same format). */
#define RUNFILE_SCHEMA_MAJOR 1

/* Parses DIR/results.json. Returns the tree (caller frees with cJSON_Delete) or NULL with err
 * filled. Checks the shape the reports rely on: a schema_version whose major this reader knows
 * (or none), a scenarios array whose entries have names. */
cJSON *runfile_load(const char *dir, char *err, size_t errlen);
/* The same from a results.json's bytes in memory; 'path' names it in errors. Borrows 'data'. */
cJSON *runfile_parse_buffer(const char *path, const char *data, size_t len, char *err,
                            size_t errlen);

/* o[key] as a number; NAN when o is NULL, the key is missing, or the value is not a number. */
double runfile_num(const cJSON *o, const char *key);
/* o[key] as a string; "" when missing or not a string. Borrowed from the tree. */
const char *runfile_str(const cJSON *o, const char *key);
/* The scenario named 'name' in a run, or NULL. */
const cJSON *runfile_scenario(const cJSON *run, const char *name);
/* scenario.metrics[metric][stat] (stat is "p95", "max", ...), NAN when absent. */
double runfile_stat(const cJSON *sc, const char *metric, const char *stat);
/* scenario.scalars[name], NAN when absent or null. */
double runfile_scalar(const cJSON *sc, const char *name);
/* 1 when the scenario's verdict is "pass". */
int runfile_passed(const cJSON *o);

/* The finite values of requests_detail[*][field], sorted ascending, into *out (caller frees;
 * NULL when none). *aborted (may be NULL) gets the number of requests the user abandoned
 * (t_abort_ns set). Returns the number of values, or -1 when out of memory. */
long runfile_samples(const cJSON *sc, const char *field, double **out, size_t *aborted);
/* Sum of the finite values of requests_detail[*][field]; NAN when there are none. */
double runfile_sum(const cJSON *sc, const char *field);

/* A file-name-safe stem for 'name' (letters, digits, '.', '_' and '-' kept, others become '_'). */
void runfile_stem(const char *name, char *out, size_t len);
/* Dollars for people: "$7,341", "$12.34", "$0.0196"; "n/a" when not finite. */
void runfile_usd(double v, char *out, size_t len);

#endif
