"""Grouping by QoE model structure and the group-level state (seed 000 Fig. 4)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.scheduling.grouping import (
    GROUP_FEATURES,
    average_group_state,
    encode_group_state,
    group_by_structure,
)

ids_strategy = st.lists(
    st.sampled_from(["log", "sigmoid", "linear", "exp"]), min_size=1, max_size=30
)


@given(ids_strategy)
def test_groups_are_exactly_the_structures(ids):
    g = group_by_structure(ids)
    assert g.n_groups == len(set(ids))
    for u, sid in enumerate(ids):
        assert g.group_structure[g.labels[u]] == sid
    # Users share a group if and only if they share a structure.
    same_group = g.labels[:, None] == g.labels[None, :]
    same_struct = np.array(ids)[:, None] == np.array(ids)[None, :]
    assert np.array_equal(same_group, same_struct)


@given(ids_strategy, st.randoms(use_true_random=False))
def test_partition_does_not_depend_on_user_order(ids, rnd):
    perm = list(range(len(ids)))
    rnd.shuffle(perm)
    g = group_by_structure(ids)
    gp = group_by_structure([ids[i] for i in perm])
    assert np.array_equal(gp.labels, g.labels[perm])


def test_catalog_fixes_model_index_and_rejects_unknown():
    g = group_by_structure(["sigmoid", "sigmoid"], catalog=["log", "sigmoid", "exp"])
    assert g.group_structure == ("sigmoid",) and g.structure_index.tolist() == [1]
    try:
        group_by_structure(["new"], catalog=["log"])
    except ValueError as err:
        assert "new" in str(err)
    else:
        raise AssertionError("unknown structure accepted")


@settings(max_examples=30)
@given(st.integers(0, 2**31 - 1))
def test_features_split_well_separated_clusters_within_a_structure(seed):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    truth = rng.integers(3, size=24)
    truth[:3] = truth[12:15] = [0, 1, 2]  # every centre occurs in both structures
    x = centres[truth] + rng.normal(scale=1.0, size=(24, 2))
    ids = ["log"] * 12 + ["exp"] * 12
    g = group_by_structure(ids, x, groups_per_structure=3)
    for half in (slice(0, 12), slice(12, 24)):
        lab, tru = g.labels[half], truth[half]
        # Same cluster found iff same true centre (a partition match up to renaming).
        assert np.array_equal(lab[:, None] == lab[None, :], tru[:, None] == tru[None, :])
    assert len(set(g.labels[:12]) & set(g.labels[12:])) == 0
    assert np.array_equal(group_by_structure(ids, x, 3).labels, g.labels)  # deterministic


def test_average_and_encoding_match_hand_computation():
    labels = np.array([0, 1, 0, 1, 1])
    states = np.array(
        [
            [10.0, 2e8, 0.2, 1],
            [20.0, 4e8, 0.4, 0],
            [30.0, 6e8, 0.6, 1],
            [0.0, 0.0, 1.0, 0],
            [40.0, 2e8, 0.1, 0],
        ]
    )
    means = average_group_state(labels, states, 3)
    assert np.allclose(means[0], [20.0, 4e8, 0.4, 1.0])
    assert np.allclose(means[1], [20.0, 2e8, 0.5, 0.0])
    assert np.allclose(means[2], 0.0)  # empty group
    enc = encode_group_state(labels, states, 3, 60.0, 1e8, 4).reshape(3, len(GROUP_FEATURES))
    assert np.allclose(enc[0], [20 / 60, 4.0, 0.4, 0.25, 2 / 5])
    assert np.allclose(enc[1], [20 / 60, 2.0, 0.5, 0.0, 3 / 5])
