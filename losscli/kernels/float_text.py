"""Numbers as Python writes them, in bulk: the text of float.__repr__ (json.dumps' floats)
and of int, filled into a repeated text template, for outputs with millions of numbers.

CPython's repr of a float is the shortest decimal string that reads back as the same double,
the closest such to its exact value (dtoa mode 0). Ryu (Adams, PLDI 2018) computes the same
digits with 64-bit integer arithmetic and two tables of 125-bit powers of five; here the
128-bit products are split into 64-bit halves. The layout is repr's: fixed notation for a
decimal point position -4 < decpt <= 16 (with ".0" on an integral value), else
d[.ddd]e+XX / e-XX with at least two exponent digits; a non-finite value is the caller's text
(JSON's `null`, CSV's empty cell): repr's `nan` is in neither format.

`fill_rows` writes N rows of a template: literal pieces between cells, each cell a float, an
int or an entry of a table of ready-made strings (roles, JSON strings, CSV cells), rows of one
group separated by a given text (JSON's ",\\n"; none for CSV, whose rows end in a newline).
Tests compare its bytes with json.dumps' on random bit patterns.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel

POW5_BITCOUNT = 125
POW5_TABLE = 326  # 5^i for the negative binary exponents
POW5_INV_TABLE = 342  # 2^k / 5^i for the positive ones

FLOAT = 0
INT = 1
STRING = 2

# The most bytes one cell of each kind takes: "-2.2250738585072014e-308", int64's minimum.
FLOAT_WIDTH = 24
INT_WIDTH = 20

_tables: tuple[np.ndarray, np.ndarray] | None = None


def pow5_tables() -> tuple[np.ndarray, np.ndarray]:
    """(5^i scaled to 125 bits, floor(2^(bits(5^i) - 1 + 125) / 5^i) + 1), as (lo, hi)
    uint64 pairs: Ryu's DOUBLE_POW5_SPLIT and DOUBLE_POW5_INV_SPLIT."""
    global _tables
    if _tables is None:
        mask = (1 << 64) - 1
        pos = np.empty((POW5_TABLE, 2), dtype=np.uint64)
        inv = np.empty((POW5_INV_TABLE, 2), dtype=np.uint64)
        for i in range(POW5_INV_TABLE):
            p = 5**i
            bits = p.bit_length()
            v = (1 << (bits - 1 + POW5_BITCOUNT)) // p + 1
            inv[i, 0], inv[i, 1] = v & mask, v >> 64
            if i < POW5_TABLE:
                v = p >> (bits - POW5_BITCOUNT) if bits >= POW5_BITCOUNT \
                    else p << (POW5_BITCOUNT - bits)
                pos[i, 0], pos[i, 1] = v & mask, v >> 64
        _tables = (pos, inv)
    return _tables


@kernel
def _umul128(a, b):
    """(low, high) 64-bit halves of a * b."""
    m32 = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    a_lo = a & m32
    a_hi = a >> s32
    b_lo = b & m32
    b_hi = b >> s32
    b00 = a_lo * b_lo
    b01 = a_lo * b_hi
    b10 = a_hi * b_lo
    b11 = a_hi * b_hi
    mid1 = b10 + (b00 >> s32)
    mid2 = b01 + (mid1 & m32)
    high = b11 + (mid1 >> s32) + (mid2 >> s32)
    low = (mid2 << s32) | (b00 & m32)
    return low, high


@kernel
def _mul_shift(m, mul_lo, mul_hi, j):
    """(m * mul) >> j for a 125-bit mul and 64 <= j < 128."""
    lo0, hi0 = _umul128(m, mul_lo)
    lo2, hi2 = _umul128(m, mul_hi)
    mid = hi0 + lo2
    high = hi2 + np.uint64(1 if mid < hi0 else 0)
    dist = j - 64
    if dist == 0:
        return mid
    return (high << np.uint64(64 - dist)) | (mid >> np.uint64(dist))


@kernel
def _pow5_factor(value):
    count = 0
    five = np.uint64(5)
    while value % five == np.uint64(0):
        value = value // five
        count += 1
    return count


@kernel
def _shortest(bits, pos, inv):
    """Ryu: the shortest digits (as an integer) and decimal exponent of a positive finite
    nonzero double given by its bits."""
    ten = np.uint64(10)
    zero = np.uint64(0)
    one = np.uint64(1)
    mantissa = bits & np.uint64((1 << 52) - 1)
    exponent = np.int64((bits >> np.uint64(52)) & np.uint64(0x7FF))
    if exponent == 0:
        e2 = 1 - 1023 - 52 - 2
        m2 = mantissa
    else:
        e2 = exponent - 1023 - 52 - 2
        m2 = mantissa | np.uint64(1 << 52)
    even = (m2 & one) == zero
    mv = np.uint64(4) * m2
    mm_shift = np.uint64(1 if (mantissa != zero or exponent <= 1) else 0)
    vm_trailing = False
    vr_trailing = False
    if e2 >= 0:
        q = ((e2 * 78913) >> 18) - (1 if e2 > 3 else 0)
        e10 = q
        k = POW5_BITCOUNT + (((q * 1217359) >> 19) + 1) - 1
        i = -e2 + q + k
        lo = inv[q, 0]
        hi = inv[q, 1]
        vr = _mul_shift(mv, lo, hi, i)
        vp = _mul_shift(mv + np.uint64(2), lo, hi, i)
        vm = _mul_shift(mv - one - mm_shift, lo, hi, i)
        if q <= 21:
            if mv % np.uint64(5) == zero:
                vr_trailing = _pow5_factor(mv) >= q
            elif even:
                vm_trailing = _pow5_factor(mv - one - mm_shift) >= q
            elif _pow5_factor(mv + np.uint64(2)) >= q:
                vp -= one
    else:
        q = (((-e2) * 732923) >> 20) - (1 if -e2 > 1 else 0)
        e10 = q + e2
        i = -e2 - q
        k = (((i * 1217359) >> 19) + 1) - POW5_BITCOUNT
        j = q - k
        lo = pos[i, 0]
        hi = pos[i, 1]
        vr = _mul_shift(mv, lo, hi, j)
        vp = _mul_shift(mv + np.uint64(2), lo, hi, j)
        vm = _mul_shift(mv - one - mm_shift, lo, hi, j)
        if q <= 1:
            vr_trailing = True
            if even:
                vm_trailing = mm_shift == one
            else:
                vp -= one
        elif q < 63:
            vr_trailing = (mv & ((one << np.uint64(q)) - one)) == zero
    removed = 0
    last = zero
    if vm_trailing or vr_trailing:
        while vp // ten > vm // ten:
            vm_trailing = vm_trailing and vm % ten == zero
            vr_trailing = vr_trailing and last == zero
            last = vr % ten
            vr //= ten
            vp //= ten
            vm //= ten
            removed += 1
        if vm_trailing:
            while vm % ten == zero:
                vr_trailing = vr_trailing and last == zero
                last = vr % ten
                vr //= ten
                vp //= ten
                vm //= ten
                removed += 1
        if vr_trailing and last == np.uint64(5) and vr % np.uint64(2) == zero:
            last = np.uint64(4)
        up = (vr == vm and (not even or not vm_trailing)) or last >= np.uint64(5)
    else:
        round_up = False
        while vp // ten > vm // ten:
            round_up = vr % ten >= np.uint64(5)
            vr //= ten
            vp //= ten
            vm //= ten
            removed += 1
        up = vr == vm or round_up
    return vr + np.uint64(1 if up else 0), e10 + removed


@kernel
def write_float(out, at, bits, scratch, pos, inv, nonfinite):
    """float.__repr__ of the double with these bits (the bytes `nonfinite` when it is not
    finite) into out[at:]; the end position. scratch: 17 bytes for the digits."""
    magnitude = bits & np.uint64(0x7FFFFFFFFFFFFFFF)
    if (magnitude >> np.uint64(52)) == np.uint64(0x7FF):
        for p in range(nonfinite.shape[0]):
            out[at + p] = nonfinite[p]
        return at + nonfinite.shape[0]
    if bits >> np.uint64(63):
        out[at] = 45  # -
        at += 1
    if magnitude == np.uint64(0):
        out[at] = 48
        out[at + 1] = 46
        out[at + 2] = 48
        return at + 3
    digits, exp10 = _shortest(magnitude, pos, inv)
    buf = scratch
    n = 0
    ten = np.uint64(10)
    while digits > np.uint64(0):
        buf[n] = 48 + np.int64(digits % ten)
        digits //= ten
        n += 1
    decpt = exp10 + n
    if -4 < decpt <= 16:
        if decpt <= 0:
            out[at] = 48
            out[at + 1] = 46
            at += 2
            for _ in range(-decpt):
                out[at] = 48
                at += 1
            for d in range(n - 1, -1, -1):
                out[at] = buf[d]
                at += 1
        elif decpt >= n:
            for d in range(n - 1, -1, -1):
                out[at] = buf[d]
                at += 1
            for _ in range(decpt - n):
                out[at] = 48
                at += 1
            out[at] = 46
            out[at + 1] = 48
            at += 2
        else:
            for d in range(n - 1, -1, -1):
                if d == n - 1 - decpt:
                    out[at] = 46
                    at += 1
                out[at] = buf[d]
                at += 1
        return at
    out[at] = buf[n - 1]
    at += 1
    if n > 1:
        out[at] = 46
        at += 1
        for d in range(n - 2, -1, -1):
            out[at] = buf[d]
            at += 1
    sci = decpt - 1
    out[at] = 101  # e
    out[at + 1] = 45 if sci < 0 else 43
    at += 2
    sci = -sci if sci < 0 else sci
    if sci >= 100:
        out[at] = 48 + sci // 100
        at += 1
    out[at] = 48 + (sci // 10) % 10
    out[at + 1] = 48 + sci % 10
    return at + 2


@kernel
def write_int(out, at, v, scratch):
    """str(v) into out[at:]; the end position. scratch: 20 bytes for the digits."""
    if v < 0:
        out[at] = 45
        at += 1
    # Digits of |v| through uint64 so that int64's minimum has a magnitude.
    u = np.uint64(v) if v >= 0 else np.uint64(-(v + 1)) + np.uint64(1)
    buf = scratch
    n = 0
    ten = np.uint64(10)
    while True:
        buf[n] = 48 + np.int64(u % ten)
        u //= ten
        n += 1
        if u == np.uint64(0):
            break
    for d in range(n - 1, -1, -1):
        out[at] = buf[d]
        at += 1
    return at


@kernel
def fill_rows(out, ends, group, pieces, piece_at, kinds, slots, floats, ints, codes,
              strings, string_at, pos, inv, between, nonfinite):
    """Rows r = 0..N-1 of a template into `out`: pieces[0], cell 0, pieces[1], ..., cell m-1,
    pieces[m]; rows of one group of `group` separated by the bytes `between`. Cell s of row
    r is the double whose bits are floats[slots[s], r] (uint64; the bytes `nonfinite` when
    not finite), ints[slots[s], r] or the string codes[slots[s], r] of the table (kinds[s]:
    FLOAT, INT, STRING). ends[g]: where group g's text ends. Returns the length.
    """
    rows = ends.shape[0] * group
    m = kinds.shape[0]
    scratch = np.empty(INT_WIDTH, dtype=np.uint8)
    at = 0
    for r in range(rows):
        if r % group != 0:
            for p in range(between.shape[0]):
                out[at + p] = between[p]
            at += between.shape[0]
        for s in range(m + 1):
            for p in range(piece_at[s], piece_at[s + 1]):
                out[at] = pieces[p]
                at += 1
            if s == m:
                break
            kind = kinds[s]
            if kind == 0:
                at = write_float(out, at, floats[slots[s], r], scratch, pos, inv, nonfinite)
            elif kind == 1:
                at = write_int(out, at, ints[slots[s], r], scratch)
            else:
                c = codes[slots[s], r]
                for p in range(string_at[c], string_at[c + 1]):
                    out[at] = strings[p]
                    at += 1
        if r % group == group - 1:
            ends[r // group] = at
    return at
