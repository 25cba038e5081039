/*
 * gun_accel.h - declarations of the C accelerator for gun_core.
 *
 * This file is the one source of the declarations: csrc/build_accel.py hands the
 * part between the CDEF markers to CFFI's cdef(), and gun_accel.c includes it.
 *
 * Rules for every function here: no Python API, no allocation, no global mutable
 * state. Inputs are (const uint8_t *p, size_t n, ...); results go into buffers the
 * caller passes in; an int status (or the new state) comes back.
 */
#ifndef GUN_ACCEL_H
#define GUN_ACCEL_H

#include <stddef.h>
#include <stdint.h>

/* CDEF BEGIN */

/* Status codes of gun_ws_parse_headers and gun_h2_scan_headers. */
#define GUN_SCAN_OK 0            /* stopped at a frame boundary (end of buffer or max_frames) */
#define GUN_SCAN_NEED_HEADER 1   /* the header at next_pos is incomplete */
#define GUN_SCAN_NEED_PAYLOAD 2  /* the last frame returned has an incomplete payload */
#define GUN_SCAN_ERROR 3         /* the header at next_pos is malformed (see each function) */

/* UTF-8 validator states that the caller needs to know (see gun_utf8_feed). */
#define GUN_UTF8_ACCEPT 0
#define GUN_UTF8_REJECT 6

/*
 * XOR p[0..n) with the websocket masking key (RFC 6455 5.3), starting at
 * key[offset % 4], into out[0..n). out may be p itself (in place), but must not
 * overlap it otherwise.
 */
void gun_ws_mask(const uint8_t *p, size_t n, const uint8_t *key, size_t offset, uint8_t *out);

/*
 * Size of a whole websocket frame (header + payload) carrying n payload bytes,
 * masked or not (RFC 6455 5.2, shortest length encoding).
 */
size_t gun_ws_frame_size(size_t n, int masked);

/*
 * Write one websocket frame into out[0..out_len): first byte b0 (FIN, RSV1-3,
 * opcode), the shortest payload length encoding, then, when key is not NULL, the
 * mask bit, the key and the masked payload; when key is NULL, the payload as is.
 * Returns the number of bytes written, or -1 when out_len is too small.
 */
int64_t gun_ws_build_frame(uint8_t b0, const uint8_t *payload, size_t n, const uint8_t *key,
                           uint8_t *out, size_t out_len);

/*
 * Parse consecutive websocket frame headers in p[pos..n) (RFC 6455 5.2), at most
 * max_frames of them. The results are laid out column by column, so that the
 * caller can turn each column into a Python sequence in one go:
 *   words must hold 2 + max_frames words, fields 3 * max_frames bytes. On return
 *   words[0] = next_pos: where the first frame not wholly in the buffer starts
 *              (the end of the last complete frame returned);
 *   words[1] = count: the number of frames returned;
 *   words[2 + i]               = payload length of frame i;
 *   fields[i]                  = its first byte (FIN, RSV1-3, opcode);
 *   fields[max_frames + i]     = its MASK bit (0 or 1);
 *   fields[2 * max_frames + i] = its header length (2 to 14 bytes).
 * Returns GUN_SCAN_OK, GUN_SCAN_NEED_HEADER, GUN_SCAN_NEED_PAYLOAD (the last frame
 * returned is not complete; next_pos is its start) or GUN_SCAN_ERROR (a 64-bit
 * payload length with its most significant bit set at next_pos).
 */
int gun_ws_parse_headers(const uint8_t *p, size_t n, size_t pos, size_t max_frames, uint64_t *words,
                         uint8_t *fields);

/*
 * Scan consecutive HTTP/2 frame headers in p[pos..n) (RFC 9113 4.1), at most
 * max_frames of them. Same statuses and next_pos/count as gun_ws_parse_headers;
 * words must hold 2 + 2 * max_frames words, fields 2 * max_frames bytes:
 *   words[2 + i]              = length of frame i;
 *   words[2 + max_frames + i] = its stream identifier (reserved bit cleared);
 *   fields[i]                 = its type;
 *   fields[max_frames + i]    = its flags.
 * GUN_SCAN_ERROR: the frame at next_pos is longer than max_frame_size (RFC 9113 4.2).
 */
int gun_h2_scan_headers(const uint8_t *p, size_t n, size_t pos, uint32_t max_frame_size, size_t max_frames,
                        uint64_t *words, uint8_t *fields);

/*
 * Run the UTF-8 DFA (RFC 3629 4) over p[0..n) from state, return the new state.
 * GUN_UTF8_ACCEPT: the bytes so far are complete, valid UTF-8. GUN_UTF8_REJECT:
 * they can never become valid (absorbing). Any other value: valid so far, in the
 * middle of a character.
 */
uint32_t gun_utf8_feed(uint32_t state, const uint8_t *p, size_t n);

/* CDEF END */

#endif /* GUN_ACCEL_H */
