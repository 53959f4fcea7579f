"""The online trainer's in-memory cache of decoded examples: same examples as the store,
decoded once, bounded by its byte budget, and read-only."""
import numpy as np
import pytest

from seg_by_interaction.config import ConfigError, load_config
from seg_by_interaction.data import DatasetStore
from seg_by_interaction.data.example_cache import ExampleCache

CFG = load_config()
H, W = 60, 80
IMAGE_BYTES = H * W * 3


def _store(tmp_path, n=6):
    store = DatasetStore(tmp_path / "ds", CFG)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        mask = None
        if i % 3:
            mask = np.zeros((H, W), bool)
            mask[10 + i:30 + i, 20:45 + i] = True
        store.add_example(img, (30.0 + i, 20.0), mask, robot_id="sim0",
                          interaction_id=f"i{i:04d}", camera=i % 4, pair=1, split="train")
    return store


def _counting(store):
    """store.get, counting its calls (decodes)."""
    calls = []
    real = store.get

    def get(example_id):
        calls.append(example_id)
        return real(example_id)
    store.get = get
    return calls


def test_cached_examples_equal_the_stored_ones_and_are_decoded_once(tmp_path):
    store = _store(tmp_path)
    cache = ExampleCache(10 ** 6)
    view = store.source(cache=cache)
    plain = store.source()
    decodes = _counting(store)
    for _ in range(3):
        for i in range(len(view)):
            got, want = view[i], plain[i]
            assert np.array_equal(got.image, want.image)
            assert (got.mask is None) == (want.mask is None)
            if want.mask is not None:
                assert got.mask.dtype == bool and np.array_equal(got.mask, want.mask)
            assert got.pick_px == want.pick_px and got.source == want.source
            assert got.meta == want.meta
    # 6 decodes for the cached view, 3 x 6 for the plain one
    assert len(decodes) == 6 + 18
    assert cache.misses == 6 and cache.hits == 12 and len(cache) == 6


def test_the_cache_keeps_to_its_budget_dropping_the_least_recently_used(tmp_path):
    store = _store(tmp_path)
    cache = ExampleCache(3 * IMAGE_BYTES + 3 * (H * W // 8))     # room for three examples
    view = store.source(cache=cache)
    decodes = _counting(store)
    for i in range(6):
        view[i]
        assert cache.nbytes <= cache.max_bytes
    assert len(cache) == 3
    view[5]                                   # the newest stay
    assert len(decodes) == 6
    view[0]                                   # the oldest went
    assert len(decodes) == 7
    tiny = ExampleCache(10)                   # an example larger than the budget: served, not kept
    assert tiny.get("k", lambda: store.get(store.ids()[0])).image.shape == (H, W, 3)
    assert len(tiny) == 0 and tiny.nbytes == 0
    with pytest.raises(ValueError, match=">= 0"):
        ExampleCache(-1)


def test_cached_images_are_read_only_so_a_draw_cannot_corrupt_the_next(tmp_path):
    store = _store(tmp_path)
    view = store.source(cache=ExampleCache(10 ** 6))
    ex = view[1]
    with pytest.raises(ValueError, match="read-only"):
        ex.image[0, 0] = 0
    ex.mask[:] = False                        # the mask is unpacked afresh for each draw
    assert view[1].mask.any()


def test_the_online_trainer_caches_within_its_configured_budget(tmp_path):
    from seg_by_interaction.training.online import OnlineTrainer
    on = OnlineTrainer(load_config(overrides={"training.example_cache_mb": 1}), tmp_path / "a")
    assert on.cache is not None and on.cache.max_bytes == 2 ** 20
    assert on.interaction_source.cache is on.cache and on.passive_source.cache is on.cache
    off = OnlineTrainer(load_config(overrides={"training.example_cache_mb": 0}), tmp_path / "b")
    assert off.cache is None and off.interaction_source.cache is None
    on.close(), off.close()
    with pytest.raises(ConfigError, match="example_cache_mb"):
        load_config(overrides={"training.example_cache_mb": -5})


def test_each_model_update_reports_the_memory_its_cache_holds(tmp_path):
    """A user leaving the robot overnight sees how much memory the trainer's cache holds
    (the trainer node logs it with every model)."""
    from seg_by_interaction.training.online import OnlineTrainer
    from support.synthetic import add_blob_example
    cfg = load_config(overrides={"training.example_cache_mb": 1, "training.pretrain_steps": 2,
                                 "training.steps_per_update": 4, "training.batch_size": 2})
    online = OnlineTrainer(cfg, tmp_path)
    rng = np.random.default_rng(0)
    for k in range(30):                      # 30 x 58 KB: more than the 1 MB budget
        add_blob_example(online.store, rng, "passive", k)
    infos = [online.pretrain()]
    for k in range(2):
        for j in range(10):
            add_blob_example(online.store, rng, "interaction", 10 * k + j)
        infos.append(online.maybe_update(force=True))
    for info in infos:
        assert 0 < info.metrics["example_cache_mb"] <= 1.0
    assert infos[-1].metrics["example_cache_examples"] == len(online.cache) > 0
    online.close()
