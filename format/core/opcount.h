/*
 * opcount.h - how often the costly operations ran in this process.
 *
 * A test hook for "each thing once" (docs/performance.rst): the unit tests
 * count Ed25519 verifications, blindings and descriptor verifications of a
 * whole ceremony and compare them with what the ceremony needs, so a change
 * that checks something twice fails a test instead of only a benchmark.
 * The counters are relaxed atomics (threads may count), always compiled in:
 * an increment costs nothing next to the operation it counts, and nothing
 * reads them outside tests.
 */
#ifndef OB_OPCOUNT_H
#define OB_OPCOUNT_H

#include <stdint.h>

typedef enum ob_op {
    OB_OP_ED25519_VERIFY = 0, /* ob_ed25519_verify */
    OB_OP_ED25519_SIGN,       /* ob_ed25519_sign_expanded(_unchecked) */
    OB_OP_BLIND_PUBLIC,       /* ob_hsv3_blind_public: a variable-base multiplication */
    OB_OP_BLIND_SECRET,       /* the blinded secret key of one (service, period) */
    OB_OP_DESC_VERIFY,        /* a v3 descriptor judged: ob_hsv3_desc_verify(_any) */
    OB_OP_DESC_READ,          /* a v3 descriptor read without judging: ob_hsv3_desc_read */
    OB_OP__COUNT
} ob_op;

void ob_op_count(ob_op op);
uint64_t ob_op_get(ob_op op);
void ob_op_reset(void);

#endif
