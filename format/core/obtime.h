/*
 * obtime.h - the bounds every time value and time-period number must keep,
 * and the one helper that turns a time into text.
 *
 * Every unix time this project reads (a bundle field, a descriptor, a
 * certificate, the clock) is at most OB_TIME_MAX, the last second of year
 * 9999, and every time-period number at most OB_TP_MAX (it fits in 32 bits,
 * as v2 period numbers must).  Values beyond are refused where they enter, so
 * the arithmetic behind them (period starts in seconds, windows, loops over
 * neighbouring periods) cannot wrap: OB_TP_MAX periods of the longest length
 * a bundle allows (525600 minutes) are about 2^58 seconds.
 */
#ifndef OB_OBTIME_H
#define OB_OBTIME_H

#include <stddef.h>
#include <stdint.h>

#define OB_TIME_MAX UINT64_C(253402300799) /* 9999-12-31 23:59:59 UTC */
#define OB_TP_MAX   UINT64_C(0xffffffff)   /* the largest period number: 2^32 - 1 */

/* 1 when t is a unix time we accept (t <= OB_TIME_MAX), else 0. */
int ob_time_is_valid(uint64_t t);

/* 1 when tp is a period number we accept (tp <= OB_TP_MAX), else 0. */
int ob_tp_is_valid(uint64_t tp);

/* How ob_time_format() writes a time (always UTC). */
typedef enum ob_time_style {
    OB_TIME_SEC,  /* 2026-11-22 03:41:07 UTC */
    OB_TIME_MIN,  /* 2026-11-22 03:41 UTC */
    OB_TIME_ISO,  /* 2026-11-22T03:41:07Z */
    OB_TIME_PLAIN /* 2026-11-22 03:41:07 (JSON, logs) */
} ob_time_style;

/* Big enough for every style and for the out-of-range text. */
#define OB_TIME_STR 48

/*
 * t (unix seconds) as UTC text in the given style into out[n].  A time
 * beyond OB_TIME_MAX (or one the C library cannot convert) is never shown
 * as a date: out gets "@<t> (out of range)" and the result is -1; 0
 * otherwise.
 */
int ob_time_format(char *out, size_t n, uint64_t t, ob_time_style style);

#endif
