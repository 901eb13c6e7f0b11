/* test_onion.c - onion addresses: tor's vectors (tor_hs_common_vectors.txt) and strictness. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "encode.h"
#include "onion.h"

/* From tests/data/vectors/v3/tor_hs_common_vectors.txt [onion_address_1], [onion_address_2]. */
static const struct {
    const char *pk_hex, *addr;
} v3_vec[] = {
    { "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid" },
    { "92e680fa57552e7d484c9d2a3edb46fbc076e54ea90b77bb84e3e6d5657d52a1",
      "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad" },
};

static void test_v3_vectors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v3_vec) / sizeof(v3_vec[0]); i++) {
        uint8_t pk[32], got[32];
        char addr[OB_ONION_V3_LEN + 1], upper[OB_ONION_V3_LEN + 7];
        ob_diag d;
        size_t j;

        assert_int_equal(ob_hex_decode(pk, 32, v3_vec[i].pk_hex, 64), 0);
        ob_onion_v3_encode(addr, pk);
        assert_string_equal(addr, v3_vec[i].addr);

        memset(got, 0, sizeof(got));
        assert_int_equal(ob_onion_v3_decode(got, addr, strlen(addr), &d), OB_OK);
        assert_memory_equal(got, pk, 32);

        /* Upper case with a ".ONION" suffix is what people paste. */
        for (j = 0; j < OB_ONION_V3_LEN; j++)
            upper[j] = (char)(addr[j] >= 'a' && addr[j] <= 'z' ? addr[j] - 32 : addr[j]);
        memcpy(upper + OB_ONION_V3_LEN, ".ONION", 7);
        memset(got, 0, sizeof(got));
        assert_int_equal(ob_onion_v3_decode(got, upper, strlen(upper), &d), OB_OK);
        assert_memory_equal(got, pk, 32);
    }
}

static void test_v3_bad_checksum(void **state)
{
    /* [onion_address_bad_checksum]: stored def7, computed 842e, version byte 189. */
    const char *bad = "55555555555555555555555555555555555555555555555555555555";
    uint8_t pk[32];
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    /* The version byte is wrong too; either error is a rejection, but say which. */
    assert_int_not_equal(ob_onion_v3_decode(pk, bad, strlen(bad), &d), OB_OK);
    assert_non_null(strstr(d.msg, "version byte 189"));
}

static void test_v3_one_char_flipped(void **state)
{
    char a[OB_ONION_V3_LEN + 1];
    uint8_t pk[32];
    ob_diag d;

    (void)state;
    strcpy(a, v3_vec[0].addr);
    a[10] = a[10] == 'a' ? 'b' : 'a';
    assert_int_equal(ob_onion_v3_decode(pk, a, strlen(a), &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "checksum mismatch"));
}

static void test_v3_malformed(void **state)
{
    uint8_t pk[32];
    char a[80];
    ob_diag d;

    (void)state;
    strcpy(a, v3_vec[0].addr);
    assert_int_equal(ob_onion_v3_decode(pk, a, 55, &d), OB_ERR_MALFORMED); /* short */
    a[3] = '1';                                                            /* not base32 */
    assert_int_equal(ob_onion_v3_decode(pk, a, 56, &d), OB_ERR_MALFORMED);
    strcpy(a, v3_vec[0].addr);
    strcat(a, ".onion.onion");
    assert_int_equal(ob_onion_v3_decode(pk, a, strlen(a), &d), OB_ERR_MALFORMED);
    strcpy(a, v3_vec[0].addr);
    strcat(a, "x");
    assert_int_equal(ob_onion_v3_decode(pk, a, strlen(a), &d), OB_ERR_MALFORMED);
}

static void test_v3_small_order_key(void **state)
{
    /* The identity point (01 00..00) has a correct checksum but is of small
     * order: it cannot be anybody's key. */
    uint8_t ident[32] = { 1 }, pk[32];
    char a[OB_ONION_V3_LEN + 1];
    ob_diag d;

    (void)state;
    ob_onion_v3_encode(a, ident);
    assert_int_equal(ob_onion_v3_decode(pk, a, strlen(a), &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "prime order"));
}

static void test_v2_from_der(void **state)
{
    /* SHA1("abc") = a9993e36..., first 10 bytes in base32 (checked with python hashlib). */
    char a[OB_ONION_V2_LEN + 1];
    uint8_t first10[10];
    char want[OB_ONION_V2_LEN + 1];

    (void)state;
    assert_int_equal(ob_hex_decode(first10, 10, "a9993e364706816aba3e", 20), 0);
    ob_base32_encode(want, first10, 10);
    ob_onion_v2_from_der(a, (const uint8_t *)"abc", 3);
    assert_string_equal(a, want);
    assert_string_equal(a, "vgmt4nsha2awvor6");
}

static void test_normalize(void **state)
{
    char out[OB_ONION_V3_LEN + 1];
    int ver = 0;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_onion_normalize("SLTIB6SXKUXH2SCMTUVD5W2G7PAHNZKOVEFXPO4E4PTNKZL5KKQ5H2AD."
                                        "Onion",
                                        out, &ver, &d),
                     OB_OK);
    assert_int_equal(ver, 3);
    assert_string_equal(out, v3_vec[1].addr);

    assert_int_equal(ob_onion_normalize("3g2upl4pq6kufc4m.onion", out, &ver, &d), OB_OK);
    assert_int_equal(ver, 2);
    assert_string_equal(out, "3g2upl4pq6kufc4m");
    assert_int_equal(ob_onion_normalize("3G2UPL4PQ6KUFC4M", out, &ver, &d), OB_OK);
    assert_string_equal(out, "3g2upl4pq6kufc4m");

    assert_int_equal(ob_onion_normalize("", out, &ver, &d), OB_ERR_MALFORMED);
    assert_int_equal(ob_onion_normalize(".onion", out, &ver, &d), OB_ERR_MALFORMED);
    assert_int_equal(ob_onion_normalize("3g2upl4pq6kufc41", out, &ver, &d), OB_ERR_MALFORMED);
    assert_int_equal(ob_onion_normalize("www.3g2upl4pq6kufc4m.onion", out, &ver, &d),
                     OB_ERR_MALFORMED);
    assert_int_equal(ob_onion_normalize("55555555555555555555555555555555555555555555555555555555",
                                        out, &ver, &d),
                     OB_ERR_UNSUPPORTED);
    /* Overlong input is refused without reading past the bound. */
    assert_int_equal(ob_onion_normalize("sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad"
                                        "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad",
                                        out, &ver, &d),
                     OB_ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_vectors),          cmocka_unit_test(test_v3_bad_checksum),
        cmocka_unit_test(test_v3_one_char_flipped), cmocka_unit_test(test_v3_malformed),
        cmocka_unit_test(test_v3_small_order_key),  cmocka_unit_test(test_v2_from_der),
        cmocka_unit_test(test_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
