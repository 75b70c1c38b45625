"""The shared annotation parser: closed cases, error messages, and fuzzing (no input may crash it with
anything but DatasetError)."""

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siamtrack.data import DatasetError, annotations, parse_annotation
from siamtrack.data.annotations import (
    check_box_sizes,
    list_numbered_frames,
    numbered_frames,
    read_flags,
)
from siamtrack.data.got10k import read_meta_info
from siamtrack.data.vot import read_sequence_file


def test_delimiters_comma_tab_space_and_mixed():
    text = "1,2,3,4\n5\t6\t7\t8\n9 10  11 12\n13, 14,\t15 ,16\n"
    np.testing.assert_array_equal(parse_annotation(text, "f"), np.arange(1, 17, dtype=float).reshape(4, 4))


def test_floats_exponents_bom_crlf_and_trailing_blank_lines():
    text = "\ufeff1.5,-2,3e1,.5\r\n+7,8.,9E-1,10\r\n\r\n  \n"
    np.testing.assert_allclose(parse_annotation(text, "f"), [[1.5, -2, 30, 0.5], [7, 8, 0.9, 10]])
    assert parse_annotation(b"1,2,3,4\n", "f").shape == (1, 4)


def test_nan_only_where_allowed():
    array = parse_annotation("1,2,3,4\nnan,NaN,NAN,nan\n", "f", allow_nan=True)
    assert np.isnan(array[1]).all() and not np.isnan(array[0]).any()
    with pytest.raises(DatasetError, match=r"^f:2: NaN value 'nan' is not allowed"):
        parse_annotation("1,2,3,4\nnan,NaN,NAN,nan\n", "f")


@pytest.mark.parametrize(
    "text, message",
    [
        ("1,2,3,4\n1,2,x,4\n", r"^gt\.txt:2: cannot read 'x' as a number \(line '1,2,x,4'\)"),
        ("1,2,3,4\n1,,3,4\n", r"^gt\.txt:2: cannot read '' as a number"),
        ("1,2,3,4\n1,2,3\n", r"^gt\.txt:2: expected 4 values, found 3"),
        ("1,2,3,4\n\n1,2,3,4\n", r"^gt\.txt:2: blank line between annotation rows"),
        ("1,2,3,4,\n", r"^gt\.txt:1: cannot read '' as a number"),
        ("1,2,inf,4\n", r"^gt\.txt:1: cannot read 'inf'"),
        ("1,2,1e999,4\n", r"^gt\.txt:1: value out of range"),
        ("", r"^gt\.txt: no annotation rows"),
        (b"1,2,\xff,4\n", r"^gt\.txt: not UTF-8 text \(byte 4"),
    ],
)
def test_malformed_input_names_file_line_and_value(text, message):
    with pytest.raises(DatasetError, match=message):
        parse_annotation(text, "gt.txt")


def test_column_choices_and_uniform_width():
    assert parse_annotation("1 2 3 4 5 6 7 8\n", "f", columns=(4, 8)).shape == (1, 8)
    assert parse_annotation("1\n2\n3\n", "f", columns=None).shape == (3, 1)
    with pytest.raises(DatasetError, match=r"f:2: 8 values where the previous lines have 4"):
        parse_annotation("1 2 3 4\n1 2 3 4 5 6 7 8\n", "f", columns=None)
    with pytest.raises(DatasetError, match=r"expected 4 or 8 values, found 6"):
        parse_annotation("1 2 3 4 5 6\n", "f", columns=(4, 8))


def test_box_size_check_names_the_line():
    boxes = np.array([[0, 0, 5, 5], [0, 0, 0, 5], [0, 0, -1, 5]], float)
    with pytest.raises(DatasetError, match=r"^gt:2: non-positive box size in 0, 0, 0, 5"):
        check_box_sizes(boxes, "gt")
    with pytest.raises(DatasetError, match=r"^gt:3: negative box size in 0, 0, -1, 5"):
        check_box_sizes(boxes, "gt", allow_zero=True)
    check_box_sizes(np.array([[np.nan] * 4, [1, 1, 1, 1]]), "gt")  # NaN rows are the caller's business


def test_flags_one_per_line_or_comma_separated(tmp_path):
    (tmp_path / "a.tag").write_text("0\n1\n1\n")
    (tmp_path / "b.txt").write_text("0,1,0,1")
    (tmp_path / "c.tag").write_text("0\n2\n")
    (tmp_path / "empty.tag").write_text("")
    np.testing.assert_array_equal(read_flags(tmp_path / "a.tag", 3), [False, True, True])
    np.testing.assert_array_equal(read_flags(tmp_path / "b.txt", 4), [False, True, False, True])
    np.testing.assert_array_equal(read_flags(tmp_path / "a.tag", 5, pad=True), [0, 1, 1, 0, 0])
    assert not read_flags(tmp_path / "empty.tag", 2, pad=True).any()
    with pytest.raises(DatasetError, match=r"a\.tag: 3 flags for 5 frames"):
        read_flags(tmp_path / "a.tag", 5)
    with pytest.raises(DatasetError, match=r"a\.tag: 3 flags for 2 frames"):
        read_flags(tmp_path / "a.tag", 2, pad=True)
    with pytest.raises(DatasetError, match=r"c\.tag: flag number 2 is 2, expected 0 or 1"):
        read_flags(tmp_path / "c.tag", 2)


def test_frame_listing_detects_missing_files_without_decoding(tmp_path):
    for number in (1, 2, 4):
        (tmp_path / f"{number:04d}.jpg").write_bytes(b"")  # empty: never decoded
    assert [Path(p).name for p in numbered_frames(tmp_path, [1, 2], "%04d.jpg")] == ["0001.jpg", "0002.jpg"]
    with pytest.raises(DatasetError, match=r"0003\.jpg: frame file missing \(1 of 4 frames missing\)"):
        numbered_frames(tmp_path, range(1, 5), "%04d.jpg")
    with pytest.raises(DatasetError, match=r"jump from number 2 to 4 \(frame 3 missing\)"):
        list_numbered_frames(tmp_path)
    (tmp_path / "0003.jpg").write_bytes(b"")
    paths, numbers = list_numbered_frames(tmp_path)
    assert numbers == [1, 2, 3, 4] and paths[0].endswith("0001.jpg")
    (tmp_path / "img0005.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="mix prefixes/extensions"):
        list_numbered_frames(tmp_path)


# ---- fuzzing: any text or bytes either parses or raises DatasetError -------------------------------------

_COLUMNS = st.sampled_from([4, (4, 8), None, 1, 2])


@settings(max_examples=300, deadline=None)
@given(text=st.text(), columns=_COLUMNS, allow_nan=st.booleans())
def test_fuzz_text(text, columns, allow_nan):
    _parse_or_dataset_error(text, columns, allow_nan)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(), columns=_COLUMNS, allow_nan=st.booleans())
def test_fuzz_bytes(data, columns, allow_nan):
    _parse_or_dataset_error(data, columns, allow_nan)


_ANNOTATION_ALPHABET = st.sampled_from(list("0123456789.,\t \n-+eEnaN\r") + ["nan", "1e999", "\ufeff"])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_ANNOTATION_ALPHABET, max_size=60), columns=_COLUMNS, allow_nan=st.booleans())
def test_fuzz_annotation_like_text(pieces, columns, allow_nan):
    _parse_or_dataset_error("".join(pieces), columns, allow_nan)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_ANNOTATION_ALPHABET, max_size=60), allow_nan=st.booleans())
def test_float_fast_path_agrees_with_the_field_checks(pieces, allow_nan):
    # parse_annotation hands plain-character text straight to float(); the per-field regular expressions
    # must give the very same values or error for it
    text = "".join(pieces)
    fast = _outcome(text, allow_nan)
    original = annotations._PLAIN, annotations._PLAIN_WITH_NAN
    annotations._PLAIN = annotations._PLAIN_WITH_NAN = re.compile(r"(?!)")  # never matches: field checks only
    try:
        checked = _outcome(text, allow_nan)
    finally:
        annotations._PLAIN, annotations._PLAIN_WITH_NAN = original
    if isinstance(fast, str) or isinstance(checked, str):
        assert fast == checked
    else:
        np.testing.assert_array_equal(fast, checked)


def _outcome(text, allow_nan):
    try:
        return parse_annotation(text, "f", columns=None, allow_nan=allow_nan)
    except DatasetError as error:
        return str(error)


def _parse_or_dataset_error(content, columns, allow_nan):
    try:
        array = parse_annotation(content, "fuzz.txt", columns=columns, allow_nan=allow_nan)
    except DatasetError as error:
        assert str(error).startswith("fuzz.txt")
        return
    assert array.ndim == 2 and array.shape[0] >= 1 and array.dtype == np.float64
    assert not np.isinf(array).any()
    if not allow_nan:
        assert not np.isnan(array).any()


_DELIMITERS = st.sampled_from([",", "\t", " ", ", ", "  ", " ,\t"])


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=4, max_size=4),
        min_size=1,
        max_size=8,
    ),
    delimiter=_DELIMITERS,
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_valid_tables_round_trip(rows, delimiter, newline):
    text = newline.join(delimiter.join(repr(value) for value in row) for row in rows) + newline
    np.testing.assert_array_equal(parse_annotation(text, "f"), np.array(rows, dtype=np.float64))


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_fuzz_key_value_files(text):
    # vot-toolkit ``sequence`` files and GOT-10k ``meta_info.ini`` go through small parsers of their own
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "f"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for reader in (read_sequence_file, read_meta_info):
            try:
                result = reader(path)
            except DatasetError as error:
                assert str(path) in str(error)
            else:
                assert all(isinstance(key, str) and isinstance(value, str) for key, value in result.items())


def test_repr_of_small_floats_parses_exactly():
    assert parse_annotation(f"{math.pi!r},1e-300,-0.0,5", "f")[0, 0] == math.pi
