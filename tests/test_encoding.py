"""Encoders, decoders and invalid-observation detection."""

import pickle

import numpy as np
import pytest
from gymnasium import spaces

from spatial_snn.tasks.encoding import (
    DecoderSpec,
    EncoderSpec,
    invalid_rows,
    make_decoder,
    make_encoder,
)

BOUND = np.array([4.8, 1.5, 0.42, 2.5])
BOX = spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 4.0], np.float32))


# ---------------------------------------------------------------- specs
@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (EncoderSpec, {"kind": "rate"}, "kind"),
        (EncoderSpec, {"scale": 0.0}, "scale"),
        (EncoderSpec, {"bins": 1}, "bins"),
        (EncoderSpec, {"amplitude": float("nan")}, "amplitude"),
        (DecoderSpec, {"kind": "softmax"}, "kind"),
        (DecoderSpec, {"divisor": -32.0}, "divisor"),
        (DecoderSpec, {"gain": float("inf")}, "gain"),
        (DecoderSpec, {"bins": 2.5}, "bins"),
    ],
)
def test_invalid_spec_names_the_field(cls, kwargs, field):
    with pytest.raises(ValueError, match=f"{cls.__name__}.{field}"):
        cls(**kwargs)


# ---------------------------------------------------------------- encoders
def test_reference_encoder_maps_bounds_to_scale_and_zero_to_zero():
    enc = make_encoder(EncoderSpec(), -BOUND, BOUND)
    obs = np.stack([BOUND, -BOUND, np.zeros(4), BOUND / 2])
    u = enc(obs)
    assert u.dtype == np.float32 and u.shape == (4, 4) and enc.n_channels == 4
    np.testing.assert_allclose(u[0], 2.5, rtol=1e-6)
    np.testing.assert_allclose(u[1], -2.5, rtol=1e-6)
    np.testing.assert_array_equal(u[2], 0.0)
    np.testing.assert_allclose(u[3], 1.25, rtol=1e-6)


def test_reference_encoder_does_not_clip_beyond_bounds():
    enc = make_encoder(EncoderSpec(), -BOUND, BOUND)
    np.testing.assert_allclose(enc((3 * BOUND)[None]), 7.5, rtol=1e-6)


def test_reference_encoder_scales_asymmetric_bounds_min_max():
    low, high = np.array([-1.2, 0.0]), np.array([0.6, 10.0])
    enc = make_encoder(EncoderSpec(scale=1.0), low, high)
    np.testing.assert_allclose(enc(np.stack([low, high, (low + high) / 2])), [[-1, -1], [1, 1], [0, 0]], atol=1e-6)


def test_reference_encoder_writes_into_given_buffer():
    enc = make_encoder(EncoderSpec(), -BOUND, BOUND)
    buf = np.full((2, 4), np.nan, dtype=np.float32)
    assert enc(np.zeros((2, 4)), out=buf) is buf
    np.testing.assert_array_equal(buf, 0.0)


def test_binned_encoder_is_one_hot_with_edges_and_out_of_range():
    # [0, 4] in 4 bins: [0,1) [1,2) [2,3) [3,4]
    enc = make_encoder(EncoderSpec(kind="binned", bins=4, amplitude=3.0), [0.0, -2.0], [4.0, 2.0])
    assert enc.n_channels == 8
    obs = np.array(
        [
            [0.0, -2.0],  # lower edges -> bin 0
            [4.0, 2.0],  # upper edges -> last bin
            [1.0, 0.0],  # interior boundary -> upper bin
            [0.999, -0.001],
            [-7.0, 9.0],  # out of range -> edge bins
        ]
    )
    expected_bins = np.array([[0, 0], [3, 3], [1, 2], [0, 1], [0, 3]])
    u = enc(obs)
    assert u.dtype == np.float32
    groups = u.reshape(5, 2, 4)
    np.testing.assert_array_equal((groups != 0).sum(axis=2), 1)
    np.testing.assert_array_equal(groups.argmax(axis=2), expected_bins)
    np.testing.assert_array_equal(groups.max(axis=2), 3.0)


def test_binned_encoder_overwrites_buffer_between_calls():
    enc = make_encoder(EncoderSpec(kind="binned", bins=3), [0.0], [3.0])
    buf = np.empty((1, 3), np.float32)
    enc(np.array([[0.5]]), out=buf)
    enc(np.array([[2.5]]), out=buf)
    np.testing.assert_array_equal(buf, [[0.0, 0.0, 2.5]])


@pytest.mark.parametrize("kind", ["reference", "binned"])
def test_encoder_rejects_wrong_shape_naming_both(kind):
    enc = make_encoder(EncoderSpec(kind=kind), -BOUND, BOUND)
    with pytest.raises(ValueError, match=r"expected shape \(B, 4\), got \(4,\)"):
        enc(BOUND)
    with pytest.raises(ValueError, match=r"expected shape \(B, 4\), got \(2, 3\)"):
        enc(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("low", "high"),
    [([-1.0, -np.inf], [1.0, np.inf]), ([0.0, 1.0], [0.0, 2.0]), ([0.0], [1.0, 2.0])],
)
def test_make_encoder_rejects_infinite_empty_or_mismatched_bounds(low, high):
    with pytest.raises(ValueError, match="bounds"):
        make_encoder(EncoderSpec(), low, high)


def test_encoder_survives_pickling():
    enc = make_encoder(EncoderSpec(kind="binned"), -BOUND, BOUND)
    obs = np.random.default_rng(0).uniform(-5, 5, (6, 4))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc))(obs), enc(obs))


# ---------------------------------------------------------------- decoders
def test_argmax_decoder_picks_largest_unit_ties_to_lowest():
    dec = make_decoder(DecoderSpec(), spaces.Discrete(3))
    a = dec(np.array([[0.1, 0.5, 0.2], [1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [0, 0, 0]]))
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a, [1, 0, 1, 0])


def test_argmax_decoder_honours_discrete_start():
    dec = make_decoder(DecoderSpec(kind="argmax"), spaces.Discrete(3, start=-1))
    np.testing.assert_array_equal(dec(np.eye(3)), [-1, 0, 1])


def test_linear_decoder_divides_and_clips_at_bounds():
    dec = make_decoder(DecoderSpec(), BOX)
    assert dec.n_units == 2
    a = dec(np.array([[16.0, 64.0], [1e6, 1e6], [-1e6, -1e6]], dtype=np.float32))
    assert a.dtype == np.float32 and a.shape == (3, 2)
    np.testing.assert_allclose(a, [[0.5, 2.0], [1.0, 4.0], [-1.0, 0.0]])


def test_sigmoid_decoder_maps_zero_to_middle_and_stays_inside():
    dec = make_decoder(DecoderSpec(kind="sigmoid"), BOX)
    np.testing.assert_allclose(dec(np.zeros((1, 2))), [[0.0, 2.0]])
    y = np.array([[1e9, -1e9], [-1e9, 1e9], [3.0, -7.0]])
    a = dec(y)
    assert np.all(a >= BOX.low) and np.all(a <= BOX.high)
    # sigmoid(gain * y / divisor) on [low, high]
    expected = BOX.low + (BOX.high - BOX.low) / (1 + np.exp(-y[2] / 32.0))
    np.testing.assert_allclose(a[2], expected, rtol=1e-6)


def test_sigmoid_gain_steepens_the_mapping():
    y = np.array([[8.0, 8.0]])
    soft = make_decoder(DecoderSpec(kind="sigmoid"), BOX)(y)
    steep = make_decoder(DecoderSpec(kind="sigmoid", gain=4.0), BOX)(y)
    assert np.all(steep > soft)


def test_binned_decoder_picks_winning_bin_centre():
    dec = make_decoder(DecoderSpec(kind="binned", bins=4), BOX)
    assert dec.n_units == 8
    # dim 0 on [-1, 1]: centres -0.75 -0.25 0.25 0.75; dim 1 on [0, 4]: 0.5 1.5 2.5 3.5
    y = np.array([[0, 0, 9, 0, 5, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 2]], dtype=np.float32)
    np.testing.assert_allclose(dec(y), [[0.25, 0.5], [-0.75, 3.5]])


@pytest.mark.parametrize("kind", ["binned", "linear", "sigmoid"])
def test_box_decoders_refused_for_discrete(kind):
    with pytest.raises(ValueError, match="Discrete space uses 'argmax'"):
        make_decoder(DecoderSpec(kind=kind), spaces.Discrete(2))


def test_argmax_refused_for_box_pointing_to_binned():
    with pytest.raises(ValueError, match="'binned'"):
        make_decoder(DecoderSpec(kind="argmax"), BOX)


@pytest.mark.parametrize("kind", ["sigmoid", "binned"])
def test_bounded_decoders_refuse_infinite_action_bounds(kind):
    with pytest.raises(ValueError, match="infinite bounds"):
        make_decoder(DecoderSpec(kind=kind), spaces.Box(-np.inf, np.inf, (2,), np.float32))


def test_decoder_rejects_wrong_shape_naming_both():
    dec = make_decoder(DecoderSpec(kind="binned", bins=3), BOX)
    with pytest.raises(ValueError, match=r"expected shape \(B, 6\), got \(5, 2\)"):
        dec(np.zeros((5, 2)))


# ---------------------------------------------------------------- invalid rows
def test_invalid_rows_flags_nan_and_inf_rows():
    obs = np.zeros((5, 3))
    obs[1, 2] = np.nan
    obs[3, 0] = np.inf
    obs[4, 1] = -np.inf
    np.testing.assert_array_equal(invalid_rows(obs), [False, True, False, True, True])


def test_invalid_rows_of_integer_observations_are_none():
    assert not invalid_rows(np.zeros((3, 2), dtype=np.uint8)).any()
