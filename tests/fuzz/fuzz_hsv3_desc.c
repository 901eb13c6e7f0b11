/*
 * fuzz_hsv3_desc.c - libFuzzer entry point for the v3 descriptor parsers.
 *
 * The first input byte picks the target, the rest is the document:
 *   0  ob_hsv3_desc_verify (whole descriptor, known-key sample's address, TP 19000)
 *   1  ob_hsv3_outer_parse
 *   2  ob_hsv3_middle_parse (a decrypted superencrypted layer)
 *   3  ob_hsv3_inner_parse  (a decrypted encrypted layer)
 * Targets 2 and 3 reach the layer parsers, which a fuzzer could not get
 * past the signature and MAC checks of target 0.
 *
 *   make fuzz && build/fuzz/fuzz_hsv3_desc -max_len=60000 tests/fuzz/corpus/fuzz_hsv3_desc
 *
 * Seeds: the files of tests/data/vectors/v3 with a target byte prepended.
 * fuzz_hsv3_layers reaches the same layer parsers through decryption.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* pg2vmlup...spudyd, the known-key sample's identity key. */
static const uint8_t identity[32] = { 0x79, 0xb5, 0x56, 0x2e, 0x8f, 0xe6, 0x54, 0xf9,
                                      0x40, 0x78, 0xb1, 0x12, 0xe8, 0xa9, 0x8b, 0xa7,
                                      0x90, 0x1f, 0x85, 0x3a, 0xe6, 0x95, 0xbe, 0xd7,
                                      0xe0, 0xe3, 0x91, 0x0b, 0xad, 0x04, 0x96, 0x64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    ob_hsv3_desc *desc = NULL;
    ob_hsv3_outer outer;
    ob_hsv3_verify_opts o = { 0, NULL, NULL, 0 };
    ob_buf blob;
    ob_diag d;
    size_t n;

    if (!init) {
        if (ob_secmem_init() != 0)
            abort();
        init = 1;
    }
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        if (ob_hsv3_desc_verify(data + 1, size - 1, identity, 19000, &OB_TP_LIVE, &o, &desc, &d) ==
            OB_OK)
            ob_hsv3_desc_free(desc);
        break;
    case 1:
        if (ob_hsv3_outer_parse(data + 1, size - 1, &outer, &d) == OB_OK)
            ob_hsv3_outer_clear(&outer);
        break;
    case 2:
        ob_buf_init(&blob);
        ob_hsv3_middle_parse(data + 1, size - 1, &n, &blob, &d);
        ob_buf_free(&blob);
        break;
    default:
        if (ob_hsv3_inner_parse(data + 1, size - 1, identity, 0, 0, &desc, &d) == OB_OK)
            ob_hsv3_desc_free(desc);
        break;
    }
    return 0;
}
