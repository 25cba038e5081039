/*
 * test_accel.c - a stand-alone harness for csrc/gun_accel.c, meant to be built with
 *
 *   gcc -std=c99 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Icsrc csrc/tests/test_accel.c csrc/gun_accel.c
 *
 * (tests/accel/test_csrc.py does exactly that). Every input lives in a heap block of
 * exactly its own size, so AddressSanitizer catches any read or write past the end.
 * Each C function is checked against a slow, obviously-correct reference written
 * here from the RFCs, over exhaustive small inputs and seeded random ones.
 * Prints "N passed, N failed" and exits non-zero on any failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gun_accel.h"

static unsigned long passed, failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            if (failed <= 20) {                                            \
                fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                              \
                fputc('\n', stderr);                                       \
            }                                                              \
        }                                                                  \
    } while (0)

/* xorshift64*: deterministic, seeded test data. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    /* malloc(0) may return NULL; keep a valid pointer with zero usable bytes. */
    uint8_t *q = malloc(n ? n : 1);
    if (q == NULL) {
        perror("malloc");
        exit(2);
    }
    if (n)
        memcpy(q, p, n);
    return q;
}

/* ------------------------------------------------------------------------- */

static void test_mask(void)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t src_pool[300 + 8], dst_pool[300 + 8] = {0};
    size_t n, off, align;

    for (n = 0; n < sizeof src_pool; n++)
        src_pool[n] = (uint8_t)rnd();
    for (n = 0; n <= 300; n++) {
        for (off = 0; off < 8; off++) {
            for (align = 0; align < 8; align += 3) {
                uint8_t *src = exact_copy(src_pool + align, n);
                uint8_t *dst = exact_copy(dst_pool, n);
                size_t i;
                int ok = 1;
                gun_ws_mask(src, n, key, off, dst);
                for (i = 0; i < n; i++)
                    ok &= dst[i] == (uint8_t)(src[i] ^ key[(off + i) % 4]);
                CHECK(ok, "mask n=%zu offset=%zu", n, off);
                /* In place gives the same bytes, and masking twice restores the input. */
                gun_ws_mask(src, n, key, off, src);
                CHECK(n == 0 || memcmp(src, dst, n) == 0, "mask in place n=%zu", n);
                gun_ws_mask(dst, n, key, off, dst);
                CHECK(n == 0 || memcmp(dst, src_pool + align, n) == 0, "mask twice n=%zu", n);
                free(src);
                free(dst);
            }
        }
    }
    /* Lengths around the vector paths' thresholds and block sizes (AVX2 from 256 B up to
     * 128 KiB, 128-byte and 32-byte blocks), against the byte-by-byte reference. */
    {
        static const size_t big[] = {255, 256, 257, 287, 288, 383, 384, 385, 4103, 131071, 131072, 131073, 140000};
        size_t b;
        for (b = 0; b < sizeof big / sizeof big[0]; b++) {
            for (off = 0; off < 4; off++) {
                size_t len = big[b], i;
                uint8_t *src = malloc(len + 1), *dst = malloc(len + 1);
                int ok = 1;
                for (i = 0; i < len; i++)
                    src[i + 1] = (uint8_t)rnd();
                gun_ws_mask(src + 1, len, key, off, dst + 1); /* unaligned on purpose */
                for (i = 0; i < len; i++)
                    ok &= dst[i + 1] == (uint8_t)(src[i + 1] ^ key[(off + i) % 4]);
                CHECK(ok, "mask len=%zu offset=%zu", len, off);
                free(src);
                free(dst);
            }
        }
    }
    /* A payload split anywhere unmasks piecewise with the running offset. */
    for (n = 0; n < 50; n++) {
        size_t len = 1 + rnd() % 5000, cut = rnd() % (len + 1);
        uint8_t *src = malloc(len), *whole = malloc(len), *parts = malloc(len);
        size_t i;
        for (i = 0; i < len; i++)
            src[i] = (uint8_t)rnd();
        gun_ws_mask(src, len, key, 0, whole);
        gun_ws_mask(src, cut, key, 0, parts);
        gun_ws_mask(src + cut, len - cut, key, cut, parts + cut);
        CHECK(memcmp(whole, parts, len) == 0, "mask split len=%zu cut=%zu", len, cut);
        free(src);
        free(whole);
        free(parts);
    }
}

/* ------------------------------------------------------------------------- */

static void test_build_frame(void)
{
    static const size_t sizes[] = {0, 1, 2, 125, 126, 127, 1000, 65535, 65536, 70001};
    static const uint8_t key[4] = {1, 2, 0x80, 0xff};
    size_t s;
    int masked;

    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (masked = 0; masked < 2; masked++) {
            size_t n = sizes[s], i, hl;
            uint8_t *payload = malloc(n ? n : 1);
            size_t size = gun_ws_frame_size(n, masked);
            uint8_t *out = malloc(size);
            uint8_t *small = malloc(size - 1);
            uint64_t len = 0;
            int64_t r;
            int ok = 1;

            for (i = 0; i < n; i++)
                payload[i] = (uint8_t)rnd();
            r = gun_ws_build_frame(0x82, payload, n, masked ? key : NULL, small, size - 1);
            CHECK(r == -1, "build refuses a short buffer n=%zu", n);
            r = gun_ws_build_frame(0x82, payload, n, masked ? key : NULL, out, size);
            CHECK(r == (int64_t)size, "build size n=%zu", n);
            CHECK(out[0] == 0x82, "build b0");
            CHECK((out[1] >> 7) == masked, "build mask bit");
            /* RFC 6455 5.2: the shortest length encoding. */
            if (n <= 125) {
                hl = 2;
                len = out[1] & 0x7f;
            } else if (n <= 65535) {
                hl = 4;
                CHECK((out[1] & 0x7f) == 126, "build 16-bit length code");
                len = (uint64_t)out[2] << 8 | out[3];
            } else {
                hl = 10;
                CHECK((out[1] & 0x7f) == 127, "build 64-bit length code");
                for (i = 0; i < 8; i++)
                    len = len << 8 | out[2 + i];
            }
            CHECK(len == n, "build length n=%zu", n);
            if (masked) {
                CHECK(memcmp(out + hl, key, 4) == 0, "build key");
                hl += 4;
            }
            for (i = 0; i < n; i++)
                ok &= out[hl + i] == (uint8_t)(payload[i] ^ (masked ? key[i % 4] : 0));
            CHECK(ok, "build payload n=%zu masked=%d", n, masked);
            free(payload);
            free(out);
            free(small);
        }
    }
}

/* ------------------------------------------------------------------------- */

/* Reference websocket header reader: one frame at p[0..n). Returns 0 when complete,
 * 1 when more bytes are needed, 3 for a 64-bit length with the MSB set. */
static int ref_ws_header(const uint8_t *p, size_t n, uint64_t *len, size_t *hl, int *masked)
{
    size_t i, ext;
    if (n < 2)
        return 1;
    *masked = p[1] >> 7;
    *len = p[1] & 0x7f;
    ext = *len == 126 ? 2 : *len == 127 ? 8 : 0;
    if (n < 2 + ext)
        return 1;
    if (ext) {
        *len = 0;
        for (i = 0; i < ext; i++)
            *len = *len << 8 | p[2 + i];
    }
    if (ext == 8 && *len >= (1ULL << 63))
        return 3;
    *hl = 2 + ext + (*masked ? 4 : 0);
    return n < *hl ? 1 : 0;
}

static void check_ws_parse(const uint8_t *data, size_t n, size_t pos, size_t max_frames)
{
    uint8_t *p = exact_copy(data, n);
    uint64_t *out = malloc((2 + max_frames) * sizeof *out);
    uint8_t *fields = malloc(3 * max_frames);
    int st = gun_ws_parse_headers(p, n, pos, max_frames, out, fields);
    size_t count = 0, at = pos;
    int want = GUN_SCAN_OK, ok = 1;

    /* Walk the same frames with the reference reader and compare. */
    while (count < max_frames && at < n) {
        uint64_t len;
        size_t hl;
        int masked;
        int r = ref_ws_header(p + at, n - at, &len, &hl, &masked);
        if (r) {
            want = r == 1 ? GUN_SCAN_NEED_HEADER : GUN_SCAN_ERROR;
            break;
        }
        ok &= out[2 + count] == len;
        ok &= fields[count] == p[at];
        ok &= fields[max_frames + count] == masked;
        ok &= fields[2 * max_frames + count] == hl;
        count++;
        if (len > n - at - hl) {
            want = GUN_SCAN_NEED_PAYLOAD;
            break;
        }
        at += hl + (size_t)len;
    }
    CHECK(ok && st == want && out[0] == at && out[1] == count,
          "ws parse n=%zu pos=%zu max=%zu: st=%d want=%d next=%llu/%zu count=%llu/%zu", n, pos, max_frames, st,
          want, (unsigned long long)out[0], at, (unsigned long long)out[1], count);
    free(p);
    free(out);
    free(fields);
}

static size_t put_ws_frame(uint8_t *buf, size_t len, int masked, int form)
{
    /* form 0: shortest length encoding; 1: 16-bit; 2: 64-bit (non-minimal is allowed here). */
    size_t i = 2, j;
    buf[0] = (uint8_t)(0x80 | (rnd() & 0x7f));
    if (form == 0 && len <= 125) {
        buf[1] = (uint8_t)len;
    } else if (form <= 1 && len <= 65535) {
        buf[1] = 126;
        buf[2] = (uint8_t)(len >> 8);
        buf[3] = (uint8_t)len;
        i = 4;
    } else {
        buf[1] = 127;
        for (j = 0; j < 8; j++)
            buf[2 + j] = (uint8_t)((uint64_t)len >> (56 - 8 * j));
        i = 10;
    }
    if (masked) {
        buf[1] |= 0x80;
        for (j = 0; j < 4; j++)
            buf[i++] = (uint8_t)rnd();
    }
    for (j = 0; j < len; j++)
        buf[i++] = (uint8_t)rnd();
    return i;
}

static void test_ws_parse(void)
{
    static uint8_t buf[8192];
    static const uint8_t msb[10] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    int round;

    /* Well-formed streams of frames, cut at every length. */
    for (round = 0; round < 40; round++) {
        size_t n = 0, cut;
        while (n < 1500) {
            size_t len = rnd() % 4 == 0 ? 126 + rnd() % 300 : rnd() % 40;
            n += put_ws_frame(buf + n, len, (int)(rnd() & 1), (int)(rnd() % 3));
        }
        for (cut = 0; cut <= n; cut++)
            check_ws_parse(buf, cut, 0, 1 + rnd() % 70);
        check_ws_parse(buf, n, rnd() % n, 64);
    }
    /* Random bytes: whatever they say, the parser stays inside the buffer. */
    for (round = 0; round < 20000; round++) {
        size_t n = rnd() % 64, i;
        for (i = 0; i < n; i++)
            buf[i] = (uint8_t)(rnd() % 4 ? rnd() : 126 + rnd() % 2);
        check_ws_parse(buf, n, n ? rnd() % (n + 1) : 0, 1 + rnd() % 8);
    }
    /* RFC 6455 5.2: a 64-bit length with the most significant bit set is an error. */
    check_ws_parse(msb, sizeof msb, 0, 4);
    {
        uint64_t out[3];
        uint8_t fields[3];
        CHECK(gun_ws_parse_headers(msb, sizeof msb, 0, 1, out, fields) == GUN_SCAN_ERROR && out[0] == 0 &&
                  out[1] == 0,
              "ws parse MSB error");
    }
}

/* ------------------------------------------------------------------------- */

static void check_h2_scan(const uint8_t *data, size_t n, size_t pos, uint32_t max_size, size_t max_frames)
{
    uint8_t *p = exact_copy(data, n);
    uint64_t *out = malloc((2 + 2 * max_frames) * sizeof *out);
    uint8_t *fields = malloc(2 * max_frames);
    int st = gun_h2_scan_headers(p, n, pos, max_size, max_frames, out, fields);
    size_t count = 0, at = pos;
    int want = GUN_SCAN_OK, ok = 1;

    while (count < max_frames && at < n) {
        uint64_t len;
        if (n - at < 9) {
            want = GUN_SCAN_NEED_HEADER;
            break;
        }
        len = (uint64_t)p[at] << 16 | (uint64_t)p[at + 1] << 8 | p[at + 2];
        if (len > max_size) {
            want = GUN_SCAN_ERROR;
            break;
        }
        ok &= out[2 + count] == len;
        ok &= fields[count] == p[at + 3];
        ok &= fields[max_frames + count] == p[at + 4];
        ok &= out[2 + max_frames + count] ==
              (((uint64_t)(p[at + 5] & 0x7f) << 24) | (uint64_t)p[at + 6] << 16 | (uint64_t)p[at + 7] << 8 | p[at + 8]);
        count++;
        if (len > n - at - 9) {
            want = GUN_SCAN_NEED_PAYLOAD;
            break;
        }
        at += 9 + (size_t)len;
    }
    CHECK(ok && st == want && out[0] == at && out[1] == count, "h2 scan n=%zu pos=%zu st=%d want=%d", n, pos, st,
          want);
    free(p);
    free(out);
    free(fields);
}

static void test_h2_scan(void)
{
    static uint8_t buf[8192];
    int round;

    for (round = 0; round < 40; round++) {
        size_t n = 0, cut, i;
        while (n < 1500) {
            size_t len = rnd() % 200;
            buf[n] = 0;
            buf[n + 1] = (uint8_t)(len >> 8);
            buf[n + 2] = (uint8_t)len;
            for (i = 3; i < 9; i++)
                buf[n + i] = (uint8_t)rnd();
            for (i = 0; i < len; i++)
                buf[n + 9 + i] = (uint8_t)rnd();
            n += 9 + len;
        }
        for (cut = 0; cut <= n; cut++)
            check_h2_scan(buf, cut, 0, 16384, 1 + rnd() % 70);
        check_h2_scan(buf, n, 0, 100, 64);
    }
    for (round = 0; round < 20000; round++) {
        size_t n = rnd() % 64, i;
        for (i = 0; i < n; i++)
            buf[i] = (uint8_t)(rnd() % 3 ? 0 : rnd());
        check_h2_scan(buf, n, n ? rnd() % (n + 1) : 0, (uint32_t)(rnd() % 2 ? 16384 : rnd() % 64),
                      1 + rnd() % 8);
    }
}

/* ------------------------------------------------------------------------- */

/* Reference UTF-8 check by code-point arithmetic (RFC 3629 3 and 4): 0 = complete and
 * valid, 1 = valid so far but inside a character, 2 = can never become valid. An
 * incomplete character is valid so far when the code points its missing bytes could
 * still make ([lo, hi]) meet U+0080.. U+10FFFF minus the surrogates, from its minimum
 * (no overlong form). */
static int ref_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len, k;
        uint32_t lo, hi, min_cp;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2, lo = b & 0x1F, min_cp = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, lo = b & 0x0F, min_cp = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, lo = b & 0x07, min_cp = 0x10000;
        } else {
            return 2;
        }
        hi = lo;
        for (k = 1; k < len; k++) {
            if (i + k < n) {
                if ((p[i + k] & 0xC0) != 0x80)
                    return 2;
                lo = lo << 6 | (p[i + k] & 0x3F);
                hi = hi << 6 | (p[i + k] & 0x3F);
            } else {
                lo = lo << 6;
                hi = hi << 6 | 0x3F;
            }
        }
        if (hi < min_cp || lo > 0x10FFFF || (lo >= 0xD800 && hi <= 0xDFFF))
            return 2;
        if (i + len > n)
            return 1;
        i += len;
    }
    return 0;
}

static int dfa_class(uint32_t state)
{
    return state == GUN_UTF8_ACCEPT ? 0 : state == GUN_UTF8_REJECT ? 2 : 1;
}

static void check_utf8(const uint8_t *data, size_t n)
{
    uint8_t *p = exact_copy(data, n);
    uint32_t whole = gun_utf8_feed(GUN_UTF8_ACCEPT, p, n);
    uint32_t split;
    size_t cut = n ? rnd() % (n + 1) : 0, cut2;
    CHECK(dfa_class(whole) == ref_utf8(p, n), "utf8 n=%zu: dfa=%u ref=%d", n, whole, ref_utf8(p, n));
    /* Split in three anywhere: same state as fed whole. */
    cut2 = cut + (n - cut ? rnd() % (n - cut + 1) : 0);
    split = gun_utf8_feed(GUN_UTF8_ACCEPT, p, cut);
    split = gun_utf8_feed(split, p + cut, cut2 - cut);
    split = gun_utf8_feed(split, p + cut2, n - cut2);
    CHECK(split == whole, "utf8 split n=%zu cut=%zu,%zu", n, cut, cut2);
    free(p);
}

static void test_utf8(void)
{
    static const uint8_t tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf4, 0xff};
    uint8_t s[4], buf[200];
    unsigned a, b, c, d;
    unsigned long mismatches = 0;
    size_t i, n;

    /* Every sequence of one and two bytes, every three-byte sequence with a non-ASCII
     * lead, every four-byte sequence with a 4-byte lead and interesting tails. */
    for (a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        mismatches += dfa_class(gun_utf8_feed(0, s, 1)) != ref_utf8(s, 1);
        for (b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            mismatches += dfa_class(gun_utf8_feed(0, s, 2)) != ref_utf8(s, 2);
            if (a < 0xC0)
                continue;
            for (c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                mismatches += dfa_class(gun_utf8_feed(0, s, 3)) != ref_utf8(s, 3);
                if (a < 0xF0 || a > 0xF7)
                    continue;
                for (d = 0; d < sizeof tails; d++) {
                    s[3] = tails[d];
                    mismatches += dfa_class(gun_utf8_feed(0, s, 4)) != ref_utf8(s, 4);
                }
            }
        }
    }
    CHECK(mismatches == 0, "utf8 exhaustive: %lu mismatches", mismatches);
    CHECK(gun_utf8_feed(0, (const uint8_t *)"\xed\x9f\xbf", 3) == GUN_UTF8_ACCEPT, "U+D7FF is valid");
    CHECK(gun_utf8_feed(0, (const uint8_t *)"\xed\xa0", 2) == GUN_UTF8_REJECT, "a surrogate fails at its 2nd byte");
    CHECK(gun_utf8_feed(0, (const uint8_t *)"\xf4\x8f\xbf\xbf", 4) == GUN_UTF8_ACCEPT, "U+10FFFF is valid");
    CHECK(gun_utf8_feed(0, (const uint8_t *)"\xf4\x90", 2) == GUN_UTF8_REJECT, "above U+10FFFF fails early");
    CHECK(gun_utf8_feed(0, (const uint8_t *)"\xe0\x9f", 2) == GUN_UTF8_REJECT, "overlong 3-byte fails early");
    CHECK(gun_utf8_feed(GUN_UTF8_REJECT, (const uint8_t *)"a", 1) == GUN_UTF8_REJECT, "REJECT is absorbing");

    /* ASCII runs around the 8- and 32-byte fast paths with one odd byte anywhere. */
    for (n = 0; n <= 100; n++) {
        for (i = 0; i < n; i++) {
            static const uint8_t odd[] = {0x80, 0xc3, 0xe2, 0xf0, 0xff};
            memset(buf, 'a', n);
            buf[i] = odd[(n + i) % sizeof odd];
            check_utf8(buf, n);
        }
    }
    /* Random mixes of valid characters, ASCII runs and stray bytes. */
    for (a = 0; a < 30000; a++) {
        n = 0;
        while (n < 150) {
            unsigned kind = (unsigned)(rnd() % 10);
            if (kind < 4) {
                size_t run = rnd() % 40;
                memset(buf + n, 'x', run);
                n += run;
            } else if (kind < 9) {
                static const uint8_t *chars[] = {(const uint8_t *)"\xc3\xa9", (const uint8_t *)"\xe2\x82\xac",
                                                 (const uint8_t *)"\xf0\x9f\x99\x82", (const uint8_t *)"\xed\x9f\xbf",
                                                 (const uint8_t *)"\xee\x80\x80"};
                const uint8_t *ch = chars[rnd() % 5];
                size_t len = strlen((const char *)ch);
                memcpy(buf + n, ch, len);
                n += len;
            } else {
                buf[n++] = (uint8_t)rnd();
            }
        }
        check_utf8(buf, n);
    }
}

int main(void)
{
    test_mask();
    test_build_frame();
    test_ws_parse();
    test_h2_scan();
    test_utf8();
    printf("%lu passed, %lu failed\n", passed, failed);
    return failed ? 1 : 0;
}
