/* obtime.c - time bounds and formatting (obtime.h). */
#include "obtime.h"

#include <stdio.h>
#include <time.h>

int ob_time_is_valid(uint64_t t)
{
    return t <= OB_TIME_MAX;
}

int ob_tp_is_valid(uint64_t tp)
{
    return tp <= OB_TP_MAX;
}

int ob_time_format(char *out, size_t n, uint64_t t, ob_time_style style)
{
    time_t tt = (time_t)t;
    struct tm tm;
    size_t w = 0;

    if (n == 0)
        return -1;
    /* A wrapped value would otherwise print as a date in 1969. */
    if (ob_time_is_valid(t) && tt >= 0 && (uint64_t)tt == t && gmtime_r(&tt, &tm) != NULL) {
        /* Literal formats: -Wformat-nonliteral stays on. */
        switch (style) {
        case OB_TIME_SEC:
            w = strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
            break;
        case OB_TIME_MIN:
            w = strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
            break;
        case OB_TIME_ISO:
            w = strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
            break;
        case OB_TIME_PLAIN:
            w = strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
            break;
        }
        if (w != 0)
            return 0;
    }
    snprintf(out, n, "@%llu (out of range)", (unsigned long long)t);
    return -1;
}
