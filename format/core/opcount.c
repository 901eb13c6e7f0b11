/* opcount.c - counters of costly operations, for tests (opcount.h). */
#include "opcount.h"

#include <stdatomic.h>

static atomic_uint_fast64_t counts[OB_OP__COUNT];

void ob_op_count(ob_op op)
{
    if ((unsigned)op < OB_OP__COUNT)
        atomic_fetch_add_explicit(&counts[op], 1, memory_order_relaxed);
}

uint64_t ob_op_get(ob_op op)
{
    return (unsigned)op < OB_OP__COUNT ? atomic_load_explicit(&counts[op], memory_order_relaxed)
                                       : 0;
}

void ob_op_reset(void)
{
    unsigned i;

    for (i = 0; i < OB_OP__COUNT; i++)
        atomic_store_explicit(&counts[i], 0, memory_order_relaxed);
}
