"""Geometry helpers: boxes, crops, windows, IoU, with hand-computed expectations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from siamfc import geometry


def test_box_center_round_trip_and_hand_values() -> None:
    center, size = geometry.box_to_center(np.array([10, 20, 30, 40]))
    # 0-based pixels: the box covers x 10..39, y 20..59, so its centre is (39.5, 24.5) as (cy, cx).
    np.testing.assert_allclose(center, [39.5, 24.5])
    np.testing.assert_allclose(size, [40, 30])
    rng = np.random.default_rng(0)
    for box in rng.uniform([-50, -50, 1, 1], [500, 500, 300, 300], size=(20, 4)):
        np.testing.assert_allclose(geometry.center_to_box(*geometry.box_to_center(box)), box, atol=1e-9)


def test_exemplar_size_hand_value() -> None:
    # (h, w) = (40, 30), context 0.5: pad = 0.5 * 70 = 35, side = sqrt(75 * 65).
    assert geometry.exemplar_size(np.array([40.0, 30.0]), 0.5) == pytest.approx(np.sqrt(75 * 65))


def test_crop_affine_hand_values() -> None:
    # 20 image pixels around (cy, cx) = (50, 60) into a 10-pixel crop: scale 2, crop centre 4.5.
    m = geometry.crop_affine(np.array([50.0, 60.0]), 20.0, 10)
    np.testing.assert_allclose(m, [[2, 0, 51], [0, 2, 41]])
    corners = np.array([[-0.5, -0.5, 1], [9.5, 9.5, 1], [4.5, 4.5, 1]]) @ m.T  # (x, y) pixel edges and centre
    np.testing.assert_allclose(corners, [[50, 40], [70, 60], [60, 50]])  # 20 px wide, centred on (60, 50)


def test_box_maps_back_to_itself_through_crop_affine() -> None:
    rng = np.random.default_rng(1)
    for box in rng.uniform([0, 0, 5, 5], [400, 300, 150, 150], size=(10, 4)):
        center, size = geometry.box_to_center(box)
        side = geometry.exemplar_size(size, 0.5)
        m = geometry.crop_affine(center, side, 127)
        # Pixel edges of the box in the image, mapped into the 127 crop by the inverse transform.
        edges = np.array([[box[0] - 0.5, box[1] - 0.5], [box[0] + box[2] - 0.5, box[1] + box[3] - 0.5]])
        inverse = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
        in_crop = np.c_[edges, np.ones(2)] @ inverse.T
        # In the crop the box is centred on the crop centre 63 and shrunk by side / 127.
        np.testing.assert_allclose(in_crop.mean(axis=0), [63, 63], atol=1e-9)
        np.testing.assert_allclose(in_crop[1] - in_crop[0], box[2:] * 127 / side, atol=1e-9)
        # ... and maps back onto itself.
        back = np.c_[in_crop, np.ones(2)] @ m.T
        np.testing.assert_allclose(back, edges, atol=1e-9)


def _square_image() -> np.ndarray:
    image = np.zeros((100, 120, 3), np.uint8)
    image[40:50, 60:70] = 255  # rows 40..49, columns 60..69; centre (44.5, 64.5)
    return image


def test_crop_puts_a_known_pattern_where_expected() -> None:
    image = _square_image()
    # Scale 1: crop pixel u sits at image u + 64.5 - 9.5 = u + 55, so columns 60..69 land at 5..14.
    out = geometry.crop(image, np.array([44.5, 64.5]), 20.0, 20, (0.0, 0.0, 0.0))
    expected = np.zeros((20, 20, 3), np.uint8)
    expected[5:15, 5:15] = 255
    np.testing.assert_array_equal(out, expected)
    # Scale 2: crop pixel u sits at image 2u + 45.5: columns 60..69 cover u = 7.25..11.75,
    # so u = 8..11 are white and u = 7 and 12 sample half a pixel of white (bilinear).
    out = geometry.crop(image, np.array([44.5, 64.5]), 40.0, 20, (0.0, 0.0, 0.0)).astype(int)
    row = out[9, :, 0]
    assert row[8:12].tolist() == [255] * 4
    assert abs(row[7] - 127.5) <= 1 and abs(row[12] - 127.5) <= 1
    assert row[:7].max() == 0 and row[13:].max() == 0
    np.testing.assert_array_equal(out[:, :, 0], out[:, :, 0].T)  # square pattern, square crop


def test_crop_pads_outside_the_image_with_the_border_value() -> None:
    image = np.full((50, 60, 3), 200, np.uint8)
    border = (10.0, 20.0, 30.0)
    # Centred on pixel (0, 0): crop pixel u sits at image u - 9.5; u <= 8 lies wholly outside.
    out = geometry.crop(image, np.array([0.0, 0.0]), 20.0, 20, border)
    np.testing.assert_array_equal(out[:9].reshape(-1, 3), np.tile([10, 20, 30], (9 * 20, 1)))
    np.testing.assert_array_equal(out[:, :9].reshape(-1, 3), np.tile([10, 20, 30], (9 * 20, 1)))
    assert (out[10:, 10:] == 200).all()
    # Wholly outside the image: nothing but border.
    out = geometry.crop(image, np.array([-500.0, 900.0]), 30.0, 16, border)
    assert (out == np.array([10, 20, 30], np.uint8)).all()


def test_crop_writes_into_the_given_buffer() -> None:
    image = _square_image()
    buffer = np.zeros((3, 20, 20, 3), np.uint8)
    result = geometry.crop(image, np.array([44.5, 64.5]), 20.0, 20, (0.0, 0.0, 0.0), out=buffer[1])
    assert np.shares_memory(result, buffer)
    assert buffer[1, 5:15, 5:15].min() == 255 and buffer[0].max() == 0 and buffer[2].max() == 0


def test_crop_whole_pixels_calls_a_border_function_only_for_a_crop_that_pads() -> None:
    image = np.random.default_rng(3).integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    calls = []

    def border() -> tuple[float, ...]:
        calls.append(1)
        return (10.0, 20.0, 30.0)

    inside = geometry.crop_whole_pixels(image, np.array([20.0, 25.0]), 10.0, 16, border)
    assert not calls  # wholly inside: no padding colour needed
    same = geometry.crop_whole_pixels(image, np.array([20.0, 25.0]), 10.0, 16, (0.0, 0.0, 0.0))
    np.testing.assert_array_equal(inside, same)
    padded = geometry.crop_whole_pixels(image, np.array([2.0, 48.0]), 12.0, 16, border)
    assert calls == [1]
    np.testing.assert_array_equal(padded, geometry.crop_whole_pixels(image, np.array([2.0, 48.0]), 12.0, 16,
                                                                     (10.0, 20.0, 30.0)))


def test_mean_color_matches_numpy() -> None:
    image = np.random.default_rng(2).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    np.testing.assert_allclose(geometry.mean_color(image), image.reshape(-1, 3).mean(axis=0), rtol=1e-9)


def test_hann_window() -> None:
    w = geometry.hann_window(272)
    assert w.shape == (272, 272) and w.sum() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(w, w.T)
    np.testing.assert_allclose(w, w[::-1, ::-1])
    assert w[0].max() == 0 and w[135, 135] == w.max()


@pytest.mark.parametrize(("a", "b", "expected"), [
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
    ([0, 0, 10, 10], [5, 0, 10, 10], 50 / 150),
    ([0, 0, 10, 10], [2, 2, 5, 5], 25 / 100),
    ([0, 0, 10, 10], [5, 5, 10, 10], 25 / 175),
    ([0, 0, 10, 10], [10, 0, 10, 10], 0.0),  # touching edges
    ([0, 0, 10, 10], [30, 30, 4, 4], 0.0),
    ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # empty boxes: no division by zero
])
def test_iou_hand_values(a: list[float], b: list[float], expected: float) -> None:
    assert geometry.iou(np.array(a), np.array(b))[0] == pytest.approx(expected)
    assert geometry.iou(np.array(b), np.array(a))[0] == pytest.approx(expected)


def test_iou_row_by_row() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10]])
    np.testing.assert_allclose(geometry.iou(a, b), [1.0, 1 / 3])


@pytest.mark.parametrize(("size_in", "size_out"), [(17, 272), (15, 240), (5, 12)])
def test_cubic_upsample_matrix_is_opencv_resize(size_in: int, size_out: int) -> None:
    rng = np.random.default_rng(size_in)
    maps = rng.normal(size=(4, size_in, size_in)).astype(np.float32)
    matrix = geometry.cubic_upsample_matrix(size_in, size_out)
    assert matrix.shape == (size_out, size_in)
    np.testing.assert_allclose(matrix.sum(axis=1), 1, atol=1e-6)  # interpolation keeps constants
    for x in maps:
        expected = cv2.resize(x, (size_out, size_out), interpolation=cv2.INTER_CUBIC)
        np.testing.assert_allclose(matrix @ x @ matrix.T, expected, atol=1e-5)


def _label_band(x: int) -> np.ndarray:
    """The columns of the filled label band above a box at ``x`` in a 200-wide frame."""
    from siamfc.io.drawing import draw_box

    image = np.zeros((100, 200, 3), np.uint8)
    draw_box(image, np.array([x, 50, 80, 30]), color=(0, 255, 0), label="lost 0.00")
    top = int(np.flatnonzero((image[:, :, 1] == 255).any(axis=1)).min())
    return np.flatnonzero((image[top:top + 3, :, 1] == 255).any(axis=0))


@pytest.mark.parametrize("x", [-40, 150])
def test_a_box_label_stays_inside_the_frame(x: int) -> None:
    """A label on a box running past the left or right edge was cut ("lost 0.00" read "st 0.00"):
    now it is as wide as inside the frame, and lies against the edge."""
    inside, edge = _label_band(60), _label_band(x)
    assert len(edge) == len(inside)
    assert edge.min() == 0 if x < 0 else edge.max() == 199
