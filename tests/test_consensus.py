"""Tests of sim.consensus against Bitcoin Core's own test vectors, plus properties.

Each vector is transcribed from Bitcoin Core's unit tests; the comment above it names the file
and the BOOST_AUTO_TEST_CASE it comes from.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from sim import consensus as c

UINT256_MAX = (1 << 256) - 1
MAX_MONEY = 21_000_000 * c.COIN  # src/consensus/amount.h, for MoneyRange
TOTAL_SUPPLY_SAT = 2_099_999_997_690_000  # src/test/validation_tests.cpp, subsidy_limit_test

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

# --------------------------------------------------------------------------------------------
# src/test/arith_uint256_tests.cpp, BOOST_AUTO_TEST_CASE(bignum_SetCompact)
# (SetCompact input, GetHex() value, GetCompact(fNegative) argument, GetCompact result,
#  fNegative, fOverflow). In Core, GetCompact(true) is called for the two negative cases.
# --------------------------------------------------------------------------------------------
SET_COMPACT_VECTORS = [
    (0, 0x0, False, 0, False, False),
    (0x00123456, 0x0, False, 0, False, False),
    (0x01003456, 0x0, False, 0, False, False),
    (0x02000056, 0x0, False, 0, False, False),
    (0x03000000, 0x0, False, 0, False, False),
    (0x04000000, 0x0, False, 0, False, False),
    (0x00923456, 0x0, False, 0, False, False),
    (0x01803456, 0x0, False, 0, False, False),
    (0x02800056, 0x0, False, 0, False, False),
    (0x03800000, 0x0, False, 0, False, False),
    (0x04800000, 0x0, False, 0, False, False),
    (0x01123456, 0x12, False, 0x01120000, False, False),
    (0x01FEDCBA, 0x7E, True, 0x01FE0000, True, False),
    (0x02123456, 0x1234, False, 0x02123400, False, False),
    (0x03123456, 0x123456, False, 0x03123456, False, False),
    (0x04123456, 0x12345600, False, 0x04123456, False, False),
    (0x04923456, 0x12345600, True, 0x04923456, True, False),
    (0x05009234, 0x92340000, False, 0x05009234, False, False),
    (
        0x20123456,
        0x1234560000000000000000000000000000000000000000000000000000000000,
        False,
        0x20123456,
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    ("bits", "value", "negative_arg", "compact", "negative", "overflow"), SET_COMPACT_VECTORS
)
def test_bignum_set_compact(bits, value, negative_arg, compact, negative, overflow):
    assert c.decode_compact(bits) == (value, negative, overflow)
    assert c.encode_compact(value, negative=negative_arg) == compact


def test_bignum_set_compact_overflow():
    # arith_uint256_tests.cpp, bignum_SetCompact: SetCompact(0xff123456) -> not negative, overflow.
    _, negative, overflow = c.decode_compact(0xFF123456)
    assert (negative, overflow) == (False, True)


def test_get_compact_never_sets_sign_bit():
    # arith_uint256_tests.cpp, bignum_SetCompact: "Make sure that we don't generate compacts with
    # the 0x00800000 bit set": num = 0x80; GetCompact() == 0x02008000.
    assert c.encode_compact(0x80) == 0x02008000


# --------------------------------------------------------------------------------------------
# src/test/pow_tests.cpp: CalculateNextWorkRequired with mainnet params.
# (test case, nLastRetargetTime = first block time, pindexLast.nTime, pindexLast.nBits, expected)
# --------------------------------------------------------------------------------------------
NEXT_WORK_VECTORS = [
    # get_next_work: no constraint applies (blocks #30240 .. #32255).
    ("get_next_work", 1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A),
    # get_next_work_pow_limit: upper bound on the target (blocks #0 .. #2015).
    ("get_next_work_pow_limit", 1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF),
    # get_next_work_lower_limit_actual: span clamped up to 1/4 timespan (#66528 .. #68543).
    ("get_next_work_lower_limit_actual", 1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD),
    # get_next_work_upper_limit_actual: span clamped down to 4x timespan (#46367; the first
    # time is "Not an actual block time").
    ("get_next_work_upper_limit_actual", 1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD),
]


@pytest.mark.parametrize(
    ("case", "first_time", "last_time", "last_bits", "expected"),
    NEXT_WORK_VECTORS,
    ids=[v[0] for v in NEXT_WORK_VECTORS],
)
def test_next_work_vectors(case, first_time, last_time, last_bits, expected):
    assert c.next_bits(last_bits, first_time, last_time) == expected


@PROPERTY_SETTINGS
@given(first_time=st.integers(0, 1279297671))
def test_lower_limit_actual_cannot_go_below_expected(first_time):
    # pow_tests.cpp, get_next_work_lower_limit_actual: "reducing nbits further would not be a
    # PermittedDifficultyTransition" (expected_nbits - 1). No span reaches a harder target than
    # 0x1c0168fd from 0x1c05a3f4, and 0x1c0168fd - 1 is harder still.
    target = c.bits_to_target(c.next_bits(0x1C05A3F4, first_time, 1279297671))
    assert target >= c.bits_to_target(0x1C0168FD) > c.bits_to_target(0x1C0168FD - 1)


@PROPERTY_SETTINGS
@given(first_time=st.integers(0, 1269211443))
def test_upper_limit_actual_cannot_go_above_expected(first_time):
    # pow_tests.cpp, get_next_work_upper_limit_actual: "increasing nbits further would not be a
    # PermittedDifficultyTransition" (expected_nbits + 1). No span reaches an easier target than
    # 0x1d00e1fd from 0x1c387f6f, and 0x1d00e1fd + 1 is easier still.
    target = c.bits_to_target(c.next_bits(0x1C387F6F, first_time, 1269211443))
    assert target <= c.bits_to_target(0x1D00E1FD) < c.bits_to_target(0x1D00E1FD + 1)


# pow_tests.cpp, CheckProofOfWork_test_*: nBits that CheckProofOfWork rejects whatever the hash
# (Core derives them from powLimit; the hex is what those expressions evaluate to).
CHECK_POW_INVALID_BITS = [
    # CheckProofOfWork_test_negative_target: UintToArith256(powLimit).GetCompact(true).
    ("negative_target", c.encode_compact(c.POW_LIMIT, negative=True), "is negative"),
    # CheckProofOfWork_test_overflow_target: nBits{~0x00800000U}.
    ("overflow_target", ~0x00800000 & 0xFFFFFFFF, "overflows 256 bits"),
    # CheckProofOfWork_test_too_easy_target: (powLimit * 2).GetCompact().
    ("too_easy_target", c.encode_compact(c.POW_LIMIT * 2), "is above the mainnet pow limit"),
    # CheckProofOfWork_test_zero_target: arith_uint256{0}.GetCompact().
    ("zero_target", c.encode_compact(0), "is zero"),
]


@pytest.mark.parametrize(
    ("case", "bits", "reason"),
    CHECK_POW_INVALID_BITS,
    ids=[v[0] for v in CHECK_POW_INVALID_BITS],
)
def test_check_proof_of_work_rejects_bits(case, bits, reason):
    message = f"^bits {bits:#010x} is not a valid mainnet target: the target {reason}$"
    with pytest.raises(ValueError, match=message):
        c.bits_to_target(bits)
    with pytest.raises(ValueError, match=message):
        c.next_bits(bits, 0, c.TARGET_TIMESPAN)


def test_chainparams_main_sanity():
    # pow_tests.cpp, sanity_check_chainparams via ChainParams_MAIN_sanity (genesis-hash check
    # does not apply). Timespan is a whole number of spacings:
    assert c.TARGET_TIMESPAN % c.TARGET_SPACING == 0
    assert c.RETARGET_INTERVAL == c.TARGET_TIMESPAN // c.TARGET_SPACING == 2016
    # genesis nBits (0x1d00ffff) is positive, doesn't overflow and is lower than powLimit:
    target, negative, overflow = c.decode_compact(c.POW_LIMIT_BITS)
    assert not negative and target != 0
    assert not overflow
    assert c.POW_LIMIT >= target
    # max target * 4*nPowTargetTimespan doesn't overflow (see CalculateNextWorkRequired):
    assert c.POW_LIMIT < UINT256_MAX // (c.TARGET_TIMESPAN * 4)
    # Not a Core vector: the constants agree with each other (powLimit rounds to 0x1d00ffff).
    assert c.encode_compact(c.POW_LIMIT) == c.POW_LIMIT_BITS
    assert target == c.DIFF1_TARGET


# Known block proofs: the chain work of a genesis block is its own GetBlockProof.
BLOCK_PROOF_VECTORS = [
    # mainnet genesis (nBits 0x1d00ffff): getblockheader's chainwork 0x...0100010001
    ("mainnet_genesis", 0x1D00FFFF, 0x100010001),
    # regtest genesis (nBits 0x207fffff): chainwork 0x...02, the proof pow_tests.cpp's
    # GetBlockProofEquivalentTime_test accumulates over its 10,000 blocks
    ("regtest_genesis", 0x207FFFFF, 2),
]


@pytest.mark.parametrize(
    ("case", "bits", "expected"), BLOCK_PROOF_VECTORS, ids=[v[0] for v in BLOCK_PROOF_VECTORS]
)
def test_block_proof_of_genesis_blocks(case, bits, expected):
    target, negative, overflow = c.decode_compact(bits)
    assert not (negative or overflow)
    assert c.block_proof(target) == expected


@PROPERTY_SETTINGS
@given(p1=st.integers(0, 9999), p2=st.integers(0, 9999))
def test_block_proof_equivalent_time(p1, p2):
    # pow_tests.cpp, GetBlockProofEquivalentTime_test: blocks i = 0..9999 with nBits 0x207fffff
    # and nTime = 1269211443 + i * nPowTargetSpacing; nChainWork sums GetBlockProof. The
    # proof-equivalent time between two blocks, |work difference| * spacing / (proof of the
    # tip), equals their time difference. The work is summed from c.block_proof and divided by
    # the known proof of such a block (2, the regtest genesis chain work), so a wrong
    # block_proof fails here.
    target, _, _ = c.decode_compact(0x207FFFFF)
    proof = c.block_proof(target)
    chain_work = [i * proof for i in (p1, p2)]
    block_time = [1269211443 + i * c.TARGET_SPACING for i in (p1, p2)]
    sign = 1 if chain_work[0] > chain_work[1] else -1
    r = abs(chain_work[0] - chain_work[1]) * c.TARGET_SPACING // 2
    assert r.bit_length() <= 63
    assert sign * r == block_time[0] - block_time[1]


# --------------------------------------------------------------------------------------------
# src/test/blockchain_tests.cpp: GetDifficulty, compared as Core's DoubleEquals with an
# absolute epsilon of 0.00001 (RejectDifficultyMismatch).
# --------------------------------------------------------------------------------------------
DIFFICULTY_VECTORS = [
    ("get_difficulty_for_very_low_target", 0x1F111111, 0.000001),
    ("get_difficulty_for_low_target", 0x1EF88F6F, 0.000016),
    ("get_difficulty_for_mid_target", 0x1DF88F6F, 0.004023),
    ("get_difficulty_for_high_target", 0x1CF88F6F, 1.029916),
    ("get_difficulty_for_very_high_target", 0x12345678, 5913134931067755359633408.0),
]


@pytest.mark.parametrize(
    ("case", "bits", "expected"), DIFFICULTY_VECTORS, ids=[v[0] for v in DIFFICULTY_VECTORS]
)
def test_get_difficulty(case, bits, expected):
    assert abs(c.bits_to_difficulty(bits) - expected) < 0.00001


# --------------------------------------------------------------------------------------------
# src/test/validation_tests.cpp
# --------------------------------------------------------------------------------------------
def test_block_subsidy_halvings():
    # validation_tests.cpp, block_subsidy_test -> TestBlockSubsidyHalvings, mainnet interval
    # (the regtest 150 and 1000 intervals do not apply: the interval is fixed at mainnet's).
    initial = 50 * c.COIN
    previous = initial * 2  # for height == 0
    for halvings in range(64):
        subsidy = c.block_subsidy(halvings * c.HALVING_INTERVAL)
        assert subsidy <= initial
        assert subsidy == previous // 2
        previous = subsidy
    assert c.block_subsidy(64 * c.HALVING_INTERVAL) == 0


def test_subsidy_limit():
    # validation_tests.cpp, subsidy_limit_test.
    total = 0
    for height in range(0, 14_000_000, 1000):
        subsidy = c.block_subsidy(height)
        assert subsidy <= 50 * c.COIN
        total += subsidy * 1000
        assert 0 <= total <= MAX_MONEY  # MoneyRange
    assert total == TOTAL_SUPPLY_SAT


def test_total_supply_over_halving_eras():
    eras = [c.block_subsidy(era * c.HALVING_INTERVAL) for era in range(c.MAX_HALVINGS + 1)]
    assert sum(subsidy * c.HALVING_INTERVAL for subsidy in eras) == TOTAL_SUPPLY_SAT
    assert eras[-1] == 0


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
def truncated_to_compact(target: int) -> int:
    """``target`` with the bytes below its compact mantissa cleared (3 bytes, or 2 when the top
    byte has its high bit set, since GetCompact then shifts the mantissa one byte right)."""
    size = (target.bit_length() + 7) // 8
    if size == 0:
        return 0
    kept = 3 if target >> (8 * (size - 1)) < 0x80 else 2
    dropped_bits = 8 * max(0, size - kept)
    return target >> dropped_bits << dropped_bits


def is_canonical(size: int, mantissa: int) -> bool:
    """Whether (size, mantissa) is how GetCompact writes a positive 256-bit value."""
    if mantissa == 0 or (size < 3 and mantissa & ((1 << 8 * (3 - size)) - 1)):
        return False
    if mantissa >= 0x10000:
        return size <= 32
    return mantissa >= 0x8000 and size <= 33


targets = st.integers(0, UINT256_MAX)
valid_targets = st.integers(1, c.POW_LIMIT)
spans = st.integers(-10 * c.TARGET_TIMESPAN, 10 * c.TARGET_TIMESPAN)
START_TIME = 100 * c.TARGET_TIMESPAN  # keeps first_block_time non-negative for negative spans


@PROPERTY_SETTINGS
@given(target=targets)
def test_decode_encode_keeps_the_compact_mantissa(target):
    decoded, negative, overflow = c.decode_compact(c.encode_compact(target))
    assert (negative, overflow) == (False, False)
    assert decoded == truncated_to_compact(target)
    assert c.encode_compact(decoded) == c.encode_compact(target)


@PROPERTY_SETTINGS
@given(size=st.integers(1, 33), mantissa=st.integers(0, 0x7FFFFF))
def test_encode_decode_round_trips_canonical_bits(size, mantissa):
    assume(is_canonical(size, mantissa))
    bits = size << 24 | mantissa
    target, negative, overflow = c.decode_compact(bits)
    assert (negative, overflow) == (False, False)
    assert c.encode_compact(target) == bits


@PROPERTY_SETTINGS
@given(size=st.integers(0, 255), mantissa=st.integers(0, 0x7FFFFF), sign=st.booleans())
# the edges of arith_uint256::SetCompact's overflow test: 2**256 needs exactly these
@example(size=34, mantissa=0xFF, sign=False)  # 0xff << 248 < 2**256
@example(size=34, mantissa=0x100, sign=False)  # 2**256
@example(size=33, mantissa=0xFFFF, sign=False)  # 0xffff << 240 < 2**256
@example(size=33, mantissa=0x10000, sign=False)  # 2**256
@example(size=35, mantissa=0x1, sign=False)  # 2**256
@example(size=32, mantissa=0x7FFFFF, sign=True)  # < 2**256, negative
def test_overflow_flag_means_value_exceeds_256_bits(size, mantissa, sign):
    bits = size << 24 | sign << 23 | mantissa
    exact = mantissa << 8 * (size - 3) if size > 3 else mantissa >> 8 * (3 - size)
    target, negative, overflow = c.decode_compact(bits)
    assert overflow == (exact > UINT256_MAX)
    assert negative == (sign and exact != 0)
    if not overflow:
        assert target == exact


@PROPERTY_SETTINGS
@given(target=valid_targets, span_a=spans, span_b=spans)
def test_next_bits_monotone_in_span(target, span_a, span_b):
    bits = c.encode_compact(target)
    short, long = sorted((span_a, span_b))
    short_target, _, _ = c.decode_compact(c.next_bits(bits, START_TIME, START_TIME + short))
    long_target, _, _ = c.decode_compact(c.next_bits(bits, START_TIME, START_TIME + long))
    assert short_target <= long_target


@PROPERTY_SETTINGS
@given(target=valid_targets, span=spans)
def test_next_bits_clamps_span(target, span):
    bits = c.encode_compact(target)
    result = c.next_bits(bits, START_TIME, START_TIME + span)
    if span <= 302_400:
        assert result == c.next_bits(bits, START_TIME, START_TIME + 302_400)
    if span >= 4_838_400:
        assert result == c.next_bits(bits, START_TIME, START_TIME + 4_838_400)


@PROPERTY_SETTINGS
@given(target=valid_targets, span=spans)
def test_next_bits_never_above_pow_limit(target, span):
    result = c.next_bits(c.encode_compact(target), START_TIME, START_TIME + span)
    new_target, negative, overflow = c.decode_compact(result)
    assert not negative and not overflow
    assert new_target <= c.POW_LIMIT


@PROPERTY_SETTINGS
@given(height_a=st.integers(0, 70 * c.HALVING_INTERVAL), height_b=st.integers(0, 10**9))
def test_subsidy_non_increasing(height_a, height_b):
    low, high = sorted((height_a, height_b))
    assert c.block_subsidy(low) >= c.block_subsidy(high) >= 0


@PROPERTY_SETTINGS
@given(target=targets)
def test_block_proof_is_two_pow_256_over_target_plus_one(target):
    # chain.cpp, GetBlockProof: "2**256 / (bnTarget+1)" computed as ~bnTarget / (bnTarget+1) + 1.
    assume(target > 0)
    assert c.block_proof(target) == (1 << 256) // (target + 1)


@PROPERTY_SETTINGS
@given(target=valid_targets)
def test_expected_hashes_matches_block_proof(target):
    bits = c.encode_compact(target)
    proof = c.block_proof(c.bits_to_target(bits))
    assert c.expected_hashes(bits) == pytest.approx(proof, rel=1e-12)


@PROPERTY_SETTINGS
@given(size=st.integers(3, 34), mantissa=st.integers(1, 0x7FFFFF))
def test_getdifficulty_matches_exact_ratio(size, mantissa):
    # GetDifficulty's float loop agrees with the exact DIFF1_TARGET / target for any positive
    # bits of size >= 3 (no dropped bytes) that decode without overflow.
    bits = size << 24 | mantissa
    target, _, overflow = c.decode_compact(bits)
    assume(not overflow)
    assert c.bits_to_difficulty(bits) == pytest.approx(c.target_to_difficulty(target), rel=1e-12)


@PROPERTY_SETTINGS
@given(difficulty=st.floats(1.0, 1e30))
def test_difficulty_to_bits_rounds_difficulty_up_slightly(difficulty):
    encoded = c.target_to_difficulty(c.bits_to_target(c.difficulty_to_bits(difficulty)))
    assert difficulty <= encoded <= difficulty * (1 + 2**-15)


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------
def test_largest_bits_decode_and_negative_zero_stays_unsigned():
    # the whole 32-bit range is accepted: 0xffffffff decodes (as an overflowing negative value)
    assert c.decode_compact(0xFFFFFFFF)[1:] == (True, True)
    # GetCompact(fNegative) sets the sign bit only on a nonzero mantissa
    assert c.encode_compact(0, negative=True) == 0
    assert c.encode_compact(0x80, negative=True) == 0x02808000
    # GetBlockProof of a zero target is 0 (chain.cpp: "if (fNegative || fOverflow || bnTarget == 0)")
    assert c.block_proof(0) == 0


def test_difficulty_to_bits_takes_integers_like_floats():
    for difficulty in (1, 1000, 143_470_000_000_000, 10**30):
        assert c.difficulty_to_bits(difficulty) == c.difficulty_to_bits(float(difficulty))


# Messages in full: the scenario loader shows them to users, naming the argument at fault.
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: c.block_subsidy(-1), "height must be >= 0, got -1"),
        (lambda: c.block_subsidy(1.5), "height must be an integer, got float 1.5"),
        (lambda: c.block_subsidy(True), "height must be an integer, got bool True"),
        (lambda: c.decode_compact(-1), "bits must be a 32-bit unsigned integer, got -0x1"),
        (
            lambda: c.decode_compact(1 << 32),
            "bits must be a 32-bit unsigned integer, got 0x100000000",
        ),
        (lambda: c.decode_compact(1.0), "bits must be an integer, got float 1.0"),
        (
            lambda: c.bits_to_difficulty(0x1D000000),
            "bits 0x1d000000 has a zero mantissa: its difficulty is infinite",
        ),
        (lambda: c.encode_compact(-1), "target must be in [0, 2**256), got -0x1"),
        (lambda: c.encode_compact(1 << 256), f"target must be in [0, 2**256), got {1 << 256:#x}"),
        (lambda: c.encode_compact(2.0), "target must be an integer, got float 2.0"),
        (
            lambda: c.target_to_difficulty(0),
            "target must be > 0: a zero target has infinite difficulty",
        ),
        (
            lambda: c.next_bits(0x1D00FFFF, -1, 100),
            "first_block_time must be >= 0 (Unix time, s), got -1",
        ),
        (
            lambda: c.next_bits(0x1D00FFFF, 0, -5),
            "last_block_time must be >= 0 (Unix time, s), got -5",
        ),
        (
            lambda: c.next_bits(0x1D00FFFF, 0.0, 100),
            "first_block_time must be an integer, got float 0.0",
        ),
        (
            lambda: c.next_bits(0x1D00FFFF, 0, 100.0),
            "last_block_time must be an integer, got float 100.0",
        ),
        (
            lambda: c.difficulty_to_bits(0.5),
            "difficulty 0.5 is below the mainnet minimum (pow limit)",
        ),
        (lambda: c.difficulty_to_bits(float("nan")), "difficulty must be finite and > 0, got nan"),
        (lambda: c.difficulty_to_bits(-1.0), "difficulty must be finite and > 0, got -1.0"),
        (lambda: c.difficulty_to_bits(0.0), "difficulty must be finite and > 0, got 0.0"),
        (lambda: c.difficulty_to_bits(0), "difficulty must be finite and > 0, got 0"),
        (lambda: c.difficulty_to_bits("1e12"), "difficulty must be a number, got '1e12'"),
        (lambda: c.difficulty_to_bits(True), "difficulty must be a number, got True"),
        (
            lambda: c.difficulty_to_bits(1e80),
            "difficulty 1e+80 is too high: its target rounds down to 0",
        ),
        (
            lambda: c.expected_hashes(0x1E00FFFF),
            "bits 0x1e00ffff is not a valid mainnet target: the target is above the mainnet pow "
            "limit",
        ),
    ],
)
def test_invalid_input_raises(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value) == message
