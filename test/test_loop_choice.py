"""Which hypothesis the loop tests: the paper's uniform choice, or the uncertain one first."""
import numpy as np
import pytest

from seg_by_interaction.loop.algorithm import hypothesis_order
from seg_by_interaction.types import Hypothesis


def _hyps(scores):
    m = np.zeros((4, 4), bool)
    return [Hypothesis(mask=m, score=s, box=(0, 0, 1, 1)) for s in scores]


def test_uniform_choice_tries_every_hypothesis_equally_often_first():
    rng = np.random.default_rng(0)
    hyps = _hyps([0.99, 0.5, 0.02, 0.7])
    firsts = np.bincount([hypothesis_order(hyps, rng, "random")[0] for _ in range(4000)], minlength=4)
    assert np.all(np.abs(firsts / 4000 - 0.25) < 0.03)


def test_uncertain_choice_prefers_scores_near_one_half():
    rng = np.random.default_rng(0)
    hyps = _hyps([0.99, 0.5, 0.02, 0.7])
    orders = [hypothesis_order(hyps, rng, "uncertain") for _ in range(2000)]
    firsts = np.bincount([o[0] for o in orders], minlength=4) / 2000
    assert firsts[1] > firsts[3] > firsts[0] and firsts[1] > 0.45
    assert firsts[0] > 0 and firsts[2] > 0              # sure ones are still tried sometimes
    for o in orders[:50]:
        assert sorted(o.tolist()) == [0, 1, 2, 3]       # an order of all of them


def test_unknown_choice_is_refused():
    from seg_by_interaction.config import load_config
    from seg_by_interaction.loop.algorithm import InteractionLoop
    with pytest.raises(ValueError, match="loop.choice"):
        InteractionLoop(load_config(overrides={"loop.choice": "best"}), None, (-1, 1, -1, 1))
