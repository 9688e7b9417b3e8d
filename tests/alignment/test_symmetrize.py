"""Symmetrization of directional links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignment.symmetrize import SYMMETRIZATIONS, grow_diag_final_and, symmetrize
from projector.errors import UnknownNameError

FWD = {(0, 0), (1, 1), (2, 3), (3, 2)}
REV = {(0, 0), (1, 1), (1, 2), (3, 2), (4, 4)}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("intersection", {(0, 0), (1, 1), (3, 2)}),
        ("union", {(0, 0), (1, 1), (1, 2), (2, 3), (3, 2), (4, 4)}),
        # (1, 2) neighbours (1, 1) diagonally-adjacent and target 2 is aligned but source 1 ... both aligned -> not
        # added by grow-diag; (2, 3) neighbours (3, 2) diagonally and source 2 is unaligned -> added
        ("grow-diag", {(0, 0), (1, 1), (3, 2), (2, 3)}),
        # final-and adds (4, 4): both words unaligned
        ("grow-diag-final-and", {(0, 0), (1, 1), (3, 2), (2, 3), (4, 4)}),
        ("grow-diag-final", {(0, 0), (1, 1), (3, 2), (2, 3), (4, 4)}),
    ],
)
def test_symmetrize_table(method, expected):
    assert symmetrize(FWD, REV, method) == expected


def test_final_and_needs_both_unaligned_but_final_needs_one():
    fwd = {(0, 0), (0, 2)}  # 0-2 far from 0-0: not a neighbour
    rev = {(0, 0)}
    assert grow_diag_final_and(fwd, rev) == {(0, 0)}
    assert symmetrize(fwd, rev, "grow-diag-final") == {(0, 0), (0, 2)}


def test_unknown_method():
    with pytest.raises(UnknownNameError, match="grow-diag-final-and"):
        symmetrize(FWD, REV, "gdfa")


links = st.frozensets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(links, links)
def test_symmetrization_lattice(fwd, rev):
    inter, union = fwd & rev, fwd | rev
    results = {m: symmetrize(fwd, rev, m) for m in SYMMETRIZATIONS}
    for m, res in results.items():
        assert inter <= res <= union, m
    assert results["grow-diag"] <= results["grow-diag-final-and"]
    assert results["grow-diag"] <= results["grow-diag-final"]
    assert symmetrize(fwd, fwd, "grow-diag-final-and") == fwd
