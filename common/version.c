#include "version.h"

#ifndef TAILGATE_VERSION
#define TAILGATE_VERSION "0.0.0"
#endif
#ifndef TAILGATE_REVISION
#define TAILGATE_REVISION "unknown"
#endif

const char *version_number(void)
{
    return TAILGATE_VERSION;
}

const char *version_revision(void)
{
    return TAILGATE_REVISION;
}
