"""Bottom-up baselines: ranked, scored proposals that find obvious blobs; tuned filters."""
import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.evaluation import BottomUpSegmenter, mask_ap

H, W = 350, 430


def synthetic_scene(seed=0):
    """Striped, noisy table with four coloured discs and one block cut by the image edge."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    img = np.array([125.0, 115.0, 100.0]) + rng.normal(0, 6, (H, W, 3))
    img += 12 * np.sin(xx / 9.0)[..., None]
    objects = []
    for cy, cx, r, colour in [(100, 110, 28, (200, 40, 40)), (210, 300, 32, (40, 170, 60)),
                              (270, 150, 22, (30, 40, 190)), (90, 320, 20, (230, 210, 40))]:
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        img[disc] = np.array(colour) + rng.normal(0, 5, (disc.sum(), 3))
        objects.append(disc)
    edge_block = (yy < 60) & (xx < 50)
    img[edge_block] = (20, 20, 20)
    return img.clip(0, 255).astype(np.uint8), np.stack(objects), edge_block


def ious(masks, gts):
    inter = (masks[:, None] & gts[None]).sum((2, 3))
    union = (masks[:, None] | gts[None]).sum((2, 3))
    return inter / union


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene()


@pytest.fixture(scope="module")
def cfg():
    return load_config()


@pytest.mark.parametrize("tuned", [False, True])
def test_proposals_cover_every_blob_and_are_ranked(scene, cfg, tuned):
    image, objects, _ = scene
    hyps = BottomUpSegmenter(cfg, tuned=tuned).segment(image)
    assert 0 < len(hyps) <= cfg["evaluation"]["bottom_up"]["max_proposals"]
    scores = np.array([h.score for h in hyps])
    assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
    masks = np.stack([h.mask for h in hyps])
    assert masks.dtype == bool and masks.shape[1:] == (H, W)
    assert np.all(ious(masks, objects).max(0) > 0.8)
    for h in hyps:  # box is (x0, y0, x1, y1), exclusive, and bounds the mask
        ys, xs = np.nonzero(h.mask)
        assert h.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert mask_ap([(masks, scores)], [objects], 0.5, "voc07") > 0.5


def test_tuned_drops_edge_pieces_and_oversized_segments(scene, cfg):
    image, _, edge_block = scene
    plain = np.stack([h.mask for h in BottomUpSegmenter(cfg, tuned=False).segment(image)])
    tuned = np.stack([h.mask for h in BottomUpSegmenter(cfg, tuned=True).segment(image)])
    border = np.zeros((H, W), bool)
    border[[0, -1]] = True
    border[:, [0, -1]] = True
    limit = cfg["evaluation"]["bottom_up"]["tuned"]["max_area_fraction"] * H * W
    assert ious(plain, edge_block[None]).max() > 0.8          # the plain variant proposes it
    assert not np.any((tuned & border).any((1, 2)))            # the tuned one never touches the edge
    assert np.all(tuned.sum((1, 2)) <= limit)
    assert np.any(plain.sum((1, 2)) > limit)


def test_rejects_bad_images(cfg):
    seg = BottomUpSegmenter(cfg)
    with pytest.raises(ValueError, match="RGB uint8"):
        seg.segment(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        seg.segment(np.zeros((10, 10, 3), np.float32))
