"""Bitcoin consensus arithmetic, mirroring Bitcoin Core with exact integers.

Sources (Bitcoin Core): ``src/validation.cpp`` (GetBlockSubsidy), ``src/pow.cpp``
(CalculateNextWorkRequired, DeriveTarget/CheckProofOfWork bits checks), ``src/chain.cpp``
(GetBlockProof), ``src/arith_uint256.cpp`` (SetCompact/GetCompact) and ``src/rpc/blockchain.cpp``
(GetDifficulty), with mainnet parameters from ``src/kernel/chainparams.cpp``.

Units: amounts in satoshis (sat), times in whole seconds (Unix time, like a block header's
``nTime``), targets and work as 256-bit non-negative Python ints, ``bits`` as the 32-bit compact
encoding (``nBits``). Difficulty is dimensionless (1.0 at ``0x1d00ffff``).

Invalid arguments raise ``ValueError``; callers that read user input turn them into
``sim.errors.ScenarioError`` naming the file and key.
"""

from __future__ import annotations

import math
import numbers
import operator
from fractions import Fraction

COIN = 100_000_000
"""Satoshis per BTC."""
INITIAL_SUBSIDY = 50 * COIN
"""Block subsidy before the first halving (sat)."""
HALVING_INTERVAL = 210_000
"""Blocks between subsidy halvings (mainnet nSubsidyHalvingInterval)."""
HALVING_2028_HEIGHT = 5 * HALVING_INTERVAL
"""Height of the fifth halving (1,050,000; expected in 2028), the one the scenarios study."""
MAX_HALVINGS = 64
"""From this many halvings on the subsidy is 0 (a 64-bit right shift is undefined in C++)."""
TARGET_SPACING = 600
"""Target block interval (s), mainnet nPowTargetSpacing."""
TARGET_TIMESPAN = 1_209_600
"""Target duration of one difficulty period (s), mainnet nPowTargetTimespan (two weeks)."""
RETARGET_INTERVAL = TARGET_TIMESPAN // TARGET_SPACING
"""Blocks per difficulty period (2016), DifficultyAdjustmentInterval()."""
MIN_TIMESPAN = TARGET_TIMESPAN // 4
"""Lower clamp of the measured period (302,400 s)."""
MAX_TIMESPAN = TARGET_TIMESPAN * 4
"""Upper clamp of the measured period (4,838,400 s)."""
POW_LIMIT = (1 << 224) - 1
"""Easiest allowed target, mainnet powLimit 0x00000000ffff...ff (256-bit)."""
POW_LIMIT_BITS = 0x1D00FFFF
"""POW_LIMIT in compact form (lossy: it decodes to DIFF1_TARGET), also the genesis nBits."""
DIFF1_TARGET = 0xFFFF << 208
"""Target at difficulty 1, the decoded value of POW_LIMIT_BITS (the GetDifficulty reference)."""

_UINT256_MAX = (1 << 256) - 1
_SIGN_BIT = 0x00800000
_MANTISSA_MASK = 0x007FFFFF


def _as_int(name: str, value: object) -> int:
    """Return ``value`` as a Python int (numpy integers accepted); refuse floats and bools."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(
            f"{name} must be an integer, got {type(value).__name__} {value!r}"
        ) from None


def _check_bits(bits: object) -> int:
    """Return ``bits`` as an int after checking it fits the 32-bit nBits field."""
    bits = _as_int("bits", bits)
    if not 0 <= bits <= 0xFFFFFFFF:
        raise ValueError(f"bits must be a 32-bit unsigned integer, got {bits:#x}")
    return bits


def _check_target(target: object) -> int:
    """Return ``target`` as an int after checking it is a 256-bit unsigned integer."""
    target = _as_int("target", target)
    if not 0 <= target <= _UINT256_MAX:
        raise ValueError(f"target must be in [0, 2**256), got {target:#x}")
    return target


def block_subsidy(height: int) -> int:
    """Block subsidy (sat) at block ``height``, as GetBlockSubsidy on mainnet.

    ``(50 * COIN) >> (height // 210000)``, and 0 from the 64th halving on.
    """
    height = _as_int("height", height)
    if height < 0:
        raise ValueError(f"height must be >= 0, got {height}")
    halvings = height // HALVING_INTERVAL
    if halvings >= MAX_HALVINGS:
        return 0
    return INITIAL_SUBSIDY >> halvings


def decode_compact(bits: int) -> tuple[int, bool, bool]:
    """Decode compact ``bits`` as arith_uint256::SetCompact: ``(target, negative, overflow)``.

    ``bits = [size:8][sign:1][mantissa:23]`` and the value is ``mantissa * 256**(size - 3)``
    (for ``size < 3`` the mantissa is shifted right instead, dropping bytes). The value wraps
    to 256 bits like arith_uint256 does; ``overflow`` says when that happened (or would).
    """
    bits = _check_bits(bits)
    size = bits >> 24
    word = bits & _MANTISSA_MASK
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = (word << (8 * (size - 3))) & _UINT256_MAX
    negative = word != 0 and (bits & _SIGN_BIT) != 0
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    return target, negative, overflow


def encode_compact(target: int, negative: bool = False) -> int:
    """Encode a 256-bit ``target`` as compact bits, as arith_uint256::GetCompact.

    Keeps the top 3 bytes (truncating, so the decoded value is <= ``target``); if that
    mantissa would have the sign bit 0x00800000 set, it keeps 2 bytes and adds one to the size.
    The sign bit is set only when ``negative`` and the mantissa is nonzero.
    """
    target = _check_target(target)
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = target << (8 * (3 - size))
    else:
        compact = target >> (8 * (size - 3))
    if compact & _SIGN_BIT:
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and compact & _MANTISSA_MASK:
        compact |= _SIGN_BIT
    return compact


def _target_problem(target: int, negative: bool, overflow: bool) -> str | None:
    """Why a decoded target is not a valid mainnet target, or None if it is."""
    if negative:
        return "is negative"
    if overflow:
        return "overflows 256 bits"
    if target == 0:
        return "is zero"
    if target > POW_LIMIT:
        return "is above the mainnet pow limit"
    return None


def bits_to_target(bits: int) -> int:
    """Target of valid mainnet ``bits`` (256-bit int), as DeriveTarget in pow.cpp.

    Raises ValueError unless the bits decode to a target that is not negative, not
    overflowing, nonzero and at most POW_LIMIT (the checks CheckProofOfWork makes on nBits).
    """
    target, negative, overflow = decode_compact(bits)
    problem = _target_problem(target, negative, overflow)
    if problem:
        raise ValueError(f"bits {bits:#010x} is not a valid mainnet target: the target {problem}")
    return target


def bits_to_difficulty(bits: int) -> float:
    """Difficulty (dimensionless) of ``bits``, as GetDifficulty in rpc/blockchain.cpp.

    ``0xffff / mantissa`` scaled by 256 per byte of exponent away from 29, in doubles, so the
    result matches Core to the last bit. Any 32-bit ``bits`` with a nonzero mantissa works.
    """
    bits = _check_bits(bits)
    mantissa = bits & 0x00FFFFFF
    if mantissa == 0:
        raise ValueError(f"bits {bits:#010x} has a zero mantissa: its difficulty is infinite")
    shift = (bits >> 24) & 0xFF
    difficulty = float(0x0000FFFF) / float(mantissa)
    while shift < 29:
        difficulty *= 256.0
        shift += 1
    while shift > 29:
        difficulty /= 256.0
        shift -= 1
    return difficulty


def target_to_difficulty(target: int) -> float:
    """Difficulty (dimensionless) of a ``target``: ``DIFF1_TARGET / target``, correctly rounded."""
    target = _check_target(target)
    if target == 0:
        raise ValueError("target must be > 0: a zero target has infinite difficulty")
    return DIFF1_TARGET / target


def difficulty_to_bits(difficulty: float) -> int:
    """Compact bits for a ``difficulty`` (dimensionless), e.g. to start a run at a known level.

    The target is ``DIFF1_TARGET / difficulty`` computed exactly from the number and rounded
    down to an integer, then encoded with encode_compact, which truncates it to the compact
    mantissa. Both steps round the target down, so the encoded difficulty is never below
    ``difficulty`` and, for targets above 2**24, exceeds it by less than one part in 2**15.
    Raises ValueError for a difficulty that is not finite and positive, whose target exceeds
    POW_LIMIT (difficulty below 65535/65536) or rounds down to 0.
    """
    if isinstance(difficulty, bool) or not isinstance(difficulty, numbers.Real):
        raise ValueError(f"difficulty must be a number, got {difficulty!r}")
    if isinstance(difficulty, numbers.Integral):
        difficulty = operator.index(difficulty)
    else:
        difficulty = float(difficulty)
    if not (math.isfinite(difficulty) and difficulty > 0):
        raise ValueError(f"difficulty must be finite and > 0, got {difficulty!r}")
    target = math.floor(Fraction(DIFF1_TARGET) / Fraction(difficulty))
    if target > POW_LIMIT:
        raise ValueError(f"difficulty {difficulty!r} is below the mainnet minimum (pow limit)")
    if target == 0:
        raise ValueError(f"difficulty {difficulty!r} is too high: its target rounds down to 0")
    return encode_compact(target)


def block_proof(target: int) -> int:
    """Work of one block (expected hashes, int) for ``target``, as GetBlockProof in chain.cpp.

    ``2**256 // (target + 1)``, computed as Core does (``~target // (target + 1) + 1``) so it
    fits 256 bits; 0 for a zero target, as in Core.
    """
    target = _check_target(target)
    if target == 0:
        return 0
    return (_UINT256_MAX ^ target) // (target + 1) + 1


def expected_hashes(bits: int) -> float:
    """Expected hashes per block at valid mainnet ``bits``: ``2**256 / (target + 1)`` (float).

    The mean work per block used by the kernel (about ``difficulty * 2**32``).
    """
    return (1 << 256) / (bits_to_target(bits) + 1)


def next_bits(last_bits: int, first_block_time: int, last_block_time: int) -> int:
    """Compact bits of the next period, as CalculateNextWorkRequired with mainnet parameters.

    ``last_bits`` is the nBits of the period's last block; ``first_block_time`` and
    ``last_block_time`` are the header times (s) of the period's first and last blocks (2015
    intervals apart). The span is clamped to [302,400 s, 4,838,400 s], the target scaled by
    ``span / 1,209,600`` in exact integers (multiply first), capped at POW_LIMIT and re-encoded.
    As in Core, a target so small that it scales down to 0 gives bits 0 (never on mainnet).
    """
    last_target = bits_to_target(last_bits)
    first_block_time = _as_int("first_block_time", first_block_time)
    last_block_time = _as_int("last_block_time", last_block_time)
    for name, value in (
        ("first_block_time", first_block_time),
        ("last_block_time", last_block_time),
    ):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (Unix time, s), got {value}")
    span = min(max(last_block_time - first_block_time, MIN_TIMESPAN), MAX_TIMESPAN)
    new_target = min(last_target * span // TARGET_TIMESPAN, POW_LIMIT)
    return encode_compact(new_target)
