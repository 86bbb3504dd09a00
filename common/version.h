/* The version of this build: one place for `--version`, results.json, the mock's health and
 * `tailgate_build_info`. The number comes from the VERSION file, the revision from the
 * checkout it was built in ("unknown" outside one), both set by the Makefile. */
#ifndef TG_VERSION_H
#define TG_VERSION_H

/* "0.2.0" */
const char *version_number(void);
/* the source revision, "4c0166a" or "4c0166a-dirty"; "unknown" when built outside a checkout */
const char *version_revision(void);

#endif
