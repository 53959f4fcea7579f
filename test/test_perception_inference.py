"""Pasting and NMS at image borders; input validation; model shapes."""
import numpy as np
import pytest
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.inference import Segmenter, build_model, load_segmenter
from seg_by_interaction.perception.nms import greedy_mask_nms, mask_box, paste_mask


def test_paste_inside_matches_upsampled_window():
    prob = np.zeros((4, 4), np.float32)
    prob[:2, :2] = 1.0
    out = paste_mask(prob, 10, 20, 40, (100, 100), 0.6)
    assert out.shape == (100, 100)
    ys, xs = np.nonzero(out)
    assert xs.min() == 10 and ys.min() == 20
    assert 25 <= xs.max() <= 31 and 35 <= ys.max() <= 41
    assert not out[60:].any() and not out[:, 60:].any()


@pytest.mark.parametrize("x0,y0", [(-20, -20), (80, 70), (-20, 70), (80, -20)])
def test_paste_at_borders_keeps_the_visible_part(x0, y0):
    prob = np.ones((8, 8), np.float32)
    out = paste_mask(prob, x0, y0, 40, (90, 100), 0.6)
    expect = np.zeros((90, 100), bool)
    expect[max(y0, 0):min(y0 + 40, 90), max(x0, 0):min(x0 + 40, 100)] = True
    assert np.array_equal(out, expect)


def test_paste_entirely_outside_is_empty():
    assert not paste_mask(np.ones((4, 4)), 200, 200, 40, (100, 100), 0.6).any()


def test_greedy_nms_at_borders():
    h, w = 60, 80
    masks = np.zeros((4, h, w), bool)
    masks[0, :20, :20] = True           # corner object
    masks[1, :18, :14] = True           # inside 0 (suppressed with it), IoU 72/580 with 3
    masks[2, 40:, 60:] = True           # opposite corner
    masks[3, :20, 10:30] = True         # overlaps 0 with IoU 1/3 > 0.3
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    keep = greedy_mask_nms(masks, scores, 0.3)
    assert keep == [3, 1, 2]            # 3 suppresses 0 (IoU 1/3); 1 overlaps only 0 much
    assert greedy_mask_nms(masks, scores, 0.3, max_keep=2) == [3, 1]
    assert mask_box(masks[2]) == (60, 40, 80, 60)


def test_segment_validates_input_and_returns_full_resolution():
    cfg = load_config()
    seg = load_segmenter(None, cfg)  # untrained model: seeded random init
    for bad in [np.zeros((0, 10, 3), np.uint8), np.zeros((10, 10), np.uint8),
                np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32), [1, 2]]:
        with pytest.raises(ValueError):
            seg.segment(bad)
    img = np.random.default_rng(0).integers(0, 255, (97, 133, 3), dtype=np.uint8)
    hyps = seg.segment(img, min_score=0.0)
    assert len(hyps) >= 2  # the seeded untrained model finds two here: the checks below run
    for h in hyps:
        assert h.mask.shape == (97, 133) and h.mask.dtype == bool and h.mask.any()
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_segment_refuses_images_above_the_configured_size():
    """Work and memory grow with the pixels: above inference.max_image_pixels a frame is
    refused with the limit's name, at or below it segmented."""
    cfg = load_config(overrides={"inference.max_image_pixels": 37 * 53})
    seg = load_segmenter(None, cfg)
    img = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    assert len(seg.segment(img, min_score=0.0)) >= 1
    with pytest.raises(ValueError, match=r"54x37 is 1998 pixels.*inference.max_image_pixels"):
        seg.segment(np.zeros((37, 54, 3), np.uint8))


def test_parallel_pyramid_gives_the_sequential_hypotheses():
    """inference.workers only changes where the levels and superpixels are computed: two
    workers return the one-worker hypotheses, in order, in either memory format and
    arithmetic. channels_last is another convolution kernel: in float32 it gives the same
    hypotheses too; in bfloat16 (inference.precision: auto on a CPU with AVX512-BF16) its
    rounding differs, so it is compared with itself only."""
    img = np.random.default_rng(3).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    img[20:60, 30:80] = (200, 40, 40)                    # one uniform region to snap to

    def hypotheses(workers, channels_last, precision):
        cfg = load_config(overrides={"inference.workers": workers, "inference.precision": precision,
                                     "inference.channels_last": channels_last})
        seg = load_segmenter(None, cfg)
        try:
            return seg.segment(img, min_score=0.0)
        finally:
            seg.close()

    def assert_same(a_run, b_run):
        assert len(a_run) >= 2 and len(b_run) == len(a_run)
        for a, b in zip(a_run, b_run):
            assert (a.mask == b.mask).all() and a.box == b.box
            assert a.score == pytest.approx(b.score, abs=1e-5)

    for precision in ("float32", "auto"):
        for channels_last in (False, True):
            assert_same(hypotheses(1, channels_last, precision), hypotheses(2, channels_last, precision))
    assert_same(hypotheses(1, False, "float32"), hypotheses(1, True, "float32"))
    with pytest.raises(ValueError, match="inference.workers"):
        load_segmenter(None, load_config(overrides={"inference.workers": 0}))


def test_a_replaced_segmenter_frees_its_worker_threads():
    """The segmenter node loads a new Segmenter per model update: the old one's threads
    must end with it, or every update would leak two threads and a model."""
    import gc
    import threading
    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)

    def workers():
        return sum(t.name.startswith("segment") for t in threading.enumerate())
    before = workers()
    for _ in range(3):
        seg = load_segmenter(None, load_config(overrides={"inference.workers": 2}))
        seg.segment(img, min_score=0.0)
        assert workers() >= before + 1
        del seg
        gc.collect()
    for _ in range(50):                                   # the threads wake up and exit
        if workers() == before:
            break
        threading.Event().wait(0.05)
    assert workers() == before


def test_untrained_model_is_seeded():
    cfg = load_config()
    a, b = build_model(cfg), build_model(cfg)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_model_shapes():
    cfg = load_config()
    model = build_model(cfg)
    w = cfg["model"]["window"]
    scores, masks = model(torch.zeros(2, 3, w, w))
    assert scores.shape == (2,)
    assert masks.shape == (2, cfg["model"]["mask_size"], cfg["model"]["mask_size"])
    with pytest.raises(ValueError, match="windows must be"):
        model(torch.zeros(1, 3, w + 16, w + 16))


def test_superpixel_snapping_moves_a_blocky_boundary_onto_the_object():
    from seg_by_interaction.config import load_config
    from seg_by_interaction.perception.refine import SuperpixelSnapper
    cfg = load_config()
    image = np.full((120, 160, 3), 200, np.uint8)
    image[30:90, 40:100] = (30, 90, 160)                 # one flat object
    obj = np.zeros((120, 160), bool)
    obj[30:90, 40:100] = True
    coarse = np.zeros_like(obj)
    coarse[24:80, 44:110] = True                         # blocky, shifted estimate
    # no smoothing: a synthetic step edge would otherwise form thin band superpixels
    snapper = SuperpixelSnapper(cfg.inference.refine.model_copy(update={"felzenszwalb_sigma": 0.0}))
    snapped = snapper.snap(image, coarse[None])[0]
    def iou(a, b):
        return (a & b).sum() / (a | b).sum()
    assert iou(coarse, obj) < 0.75
    assert iou(snapped, obj) > 0.95
    # a mask that covers a region only marginally does not grab it
    sliver = np.zeros_like(obj)
    sliver[30:40, 40:100] = True
    assert not snapper.snap(image, sliver[None])[0].any()
    off = SuperpixelSnapper(cfg.inference.refine.model_copy(update={"enabled": False}))
    assert (off.snap(image, coarse[None])[0] == coarse).all()
    with pytest.raises(ValueError):
        snapper.snap(image, coarse[None, :100])
    with pytest.raises(ValueError, match="superpixels"):                # stale labels refused
        snapper.snap(image, coarse[None], labels=np.zeros((5, 5), np.int64))
    assert (snapper.snap(image, coarse[None], labels=snapper.superpixels(image)) == snapped).all()


REFINE = {"model.refine_head.enabled": True}


def test_refinement_head_shapes_gradient_and_identity_start():
    cfg = load_config(overrides=REFINE)
    model = build_model(cfg)
    w = cfg["model"]["window"]
    assert model.output_mask_size == w // 2
    x = torch.randn(3, 3, w, w, requires_grad=True)
    scores, masks = model(x)
    assert scores.shape == (3,) and masks.shape == (3, w // 2, w // 2)
    masks.sum().backward()
    assert model.refiner.net[0].weight.grad is not None and x.grad.abs().sum() > 0
    assert model.mask_head.weight.grad.abs().sum() > 0          # the coarse head learns through it
    # before training the refinement is the upsampled coarse mask (last conv starts at zero)
    with torch.no_grad():
        emb, skip = model.embed_with_skip(x)
        coarse = model.masks(emb[:, :, 0, 0])
        up = torch.nn.functional.interpolate(coarse[:, None], size=(w // 2, w // 2), mode="bilinear",
                                             align_corners=False)[:, 0]
        assert torch.allclose(model.refine(coarse, skip), up)
    plain = build_model(load_config())
    assert plain.refiner is None and plain.output_mask_size == cfg["model"]["mask_size"]
    with pytest.raises(ValueError, match="refinement head"):
        plain.refine(coarse, skip)


def test_dense_inference_cuts_each_windows_own_stride2_features():
    """The dense path cuts each window's stride-2 features from the level's map: away from
    the crop's edge (where the window alone sees zero padding, the frame its neighbours)
    they are the features of that window run alone, and the refined masks are the
    refiner's output on them."""
    # one pyramid level at scale 1: objects of 48 px (0.5 x the 96 px window) at their trained size
    cfg = load_config(overrides={**REFINE, "inference.max_levels": 1, "inference.min_object_px": 48.0,
                                 "inference.refine.enabled": False,
                                 "inference.precision": "float32"})   # compared with float32 below
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    for p in model.refiner.net[-1].parameters():            # a non-trivial refinement
        torch.nn.init.normal_(p, std=0.1)
    seg = Segmenter(model, cfg)
    img = np.random.default_rng(1).integers(0, 255, (120, 150, 3), dtype=np.uint8)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    half, m = model.window // 2, 4                        # 7x7 stride-2 conv: 2 cells of edge effect
    with torch.no_grad():
        levels, _ = seg._dense_scores(img)
        cand = np.array([[0.0, 0, 1, 2], [0.0, 0, 0, 0], [0.0, 0, 2, 1]])
        dense = seg._mask_logits(levels, cand)
        padded = torch.nn.functional.pad(model.normalise(x), (seg.pad,) * 4)
        for k, (_, _, r, c) in enumerate(cand):
            r, c = int(r), int(c)
            win = padded[:, :, 16 * r:16 * r + model.window, 16 * c:16 * c + model.window]
            _, skip = model.embed_with_skip(win)
            crop = levels[0][3][:, 8 * r:8 * r + half, 8 * c:8 * c + half]
            assert torch.allclose(skip[0][:, m:-m, m:-m], crop[:, m:-m, m:-m], atol=1e-5)
            coarse = model.masks(levels[0][2][:, r, c][None])
            assert torch.allclose(model.refine(coarse, crop[None])[0], dense[k], atol=1e-5)


def test_paper_preset_builds_the_full_size_network():
    """The GPU preset loads and builds: 192 px windows, 56x56 masks, a ResNet-18-width trunk,
    and one forward pass gives a score and a 56x56 mask per window."""
    import torch
    from seg_by_interaction.config import load_config
    from seg_by_interaction.perception.inference import build_model
    paper, default = load_config("paper"), load_config()
    model = build_model(paper)
    n_paper = sum(p.numel() for p in model.parameters())
    n_default = sum(p.numel() for p in build_model(default).parameters())
    assert n_paper > 3 * n_default                     # 14.4 M vs 3.9 M parameters
    x = torch.zeros(1, 3, 192, 192)
    with torch.inference_mode():
        emb = model.embed(x)
        score = model.scores(emb)
        mask = model.masks(emb[:, :, 0, 0])
    assert score.shape[-2:] == (1, 1) and mask.shape[-2:] == (56, 56)


def test_the_pyramid_is_derived_from_the_frame_and_covers_24_px_to_half_the_short_side():
    from seg_by_interaction.perception.windows import object_size_range, pyramid_scales
    cfg = load_config()
    for hw in ((350, 430), (720, 1280), (240, 320), (100, 2000)):
        lo, hi = object_size_range(cfg, hw)
        assert lo == pytest.approx(24.0) and hi == pytest.approx(0.5 * min(hw))
        scales = pyramid_scales(cfg["inference"], cfg["model"], hw)
        steps = np.diff(np.log2(scales))
        assert scales == sorted(scales) and steps.max() <= 0.5 + 1e-9
        assert np.allclose(steps, steps[0])
    assert len(pyramid_scales(cfg["inference"], cfg["model"], (350, 430))) == 7
    # the arena's old fixed pyramid, as config: 32-91 px, 7 levels 0.25 octave apart
    old = cfg.inference.model_copy(update=dict(min_object_px=32.29, max_object_fraction=0.26094,
                                                scale_step_log2=0.25))
    want = [1.25 * 2.0 ** (0.25 * i - 1.25) for i in range(7)]
    assert np.allclose(pyramid_scales(old, cfg["model"], (350, 430)), want, rtol=1e-3)
    capped = cfg.inference.model_copy(update=dict(max_levels=2))
    s = pyramid_scales(capped, cfg["model"], (350, 430))
    assert len(s) == 2 and s[0] == pytest.approx(48 / 175) and s[1] == pytest.approx(2.0)
