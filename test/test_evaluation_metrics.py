"""mask_ap under both protocols: pycocotools agreement, a hand-computed VOC07 case, edges."""
import contextlib
import copy
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from seg_by_interaction.evaluation import mask_ap, precision_recall_curve, recall_at_precision

H, W = 10, 20


def strip(row, cols, height=H, width=W):
    m = np.zeros((height, width), bool)
    m[row, cols] = True
    return m


def direct_pycocotools_ap(predictions, ground_truth, thresholds, tmp_path):
    """COCO AP computed the plain way: JSON file, loadRes, COCOeval, precision array."""
    images, anns, dets = [], [], []
    for i, (gt, (masks, scores)) in enumerate(zip(ground_truth, predictions)):
        images.append({"id": i + 1, "height": gt.shape[1], "width": gt.shape[2], "file_name": f"{i}.png"})
        for m in gt:
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 7, "iscrowd": 0,
                         "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                         "area": float(mask_utils.area(rle)), "bbox": mask_utils.toBbox(rle).tolist()})
        for m, s in zip(masks, scores):
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            dets.append({"image_id": i + 1, "category_id": 7, "score": float(s),
                         "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 7, "name": "thing"}]}))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        ev = COCOeval(gt, gt.loadRes(dets), "segm")
        ev.params.useCats = 0
        ev.params.iouThrs = np.array(thresholds)
        ev.evaluate()
        ev.accumulate()
    out = []
    for t in range(len(thresholds)):
        p = ev.eval["precision"][t, :, 0, 0, -1]   # area "all", maxDets 100
        out.append(float(np.mean(p[p > -1])))
    return out


def random_blob(rng, height, width):
    m = np.zeros((height, width), bool)
    y, x = rng.integers(0, height - 4), rng.integers(0, width - 4)
    m[y:y + rng.integers(3, 12), x:x + rng.integers(3, 12)] = True
    if rng.random() < 0.5:  # ragged edge so IoUs are not all simple fractions
        m &= rng.random((height, width)) < 0.9
    return m


def _raw_case(rng, n_images, height, width):
    gts, preds = [], []
    for _ in range(n_images):
        gt = np.stack([random_blob(rng, height, width) for _ in range(rng.integers(0, 5))] or
                      [np.zeros((height, width), bool)])
        gt = gt[gt.reshape(len(gt), -1).any(1)]
        noisy = [g ^ (rng.random(g.shape) < 0.05) for g in gt if rng.random() < 0.8]
        extra = [random_blob(rng, height, width) for _ in range(rng.integers(0, 6))]
        masks = np.stack(noisy + extra) if noisy + extra else np.zeros((0, height, width), bool)
        scores = rng.random(len(masks)).round(2)  # rounding makes score ties happen
        gts.append(gt.reshape(-1, height, width))
        preds.append((masks, scores))
    return preds, gts


def random_case(rng, n_images, height=32, width=40):
    preds, gts = _raw_case(rng, n_images, height, width)
    if sum(len(g) for g in gts) == 0:   # AP is undefined without ground truth: give image 0 one
        gts[0] = random_blob(rng, height, width)[None]
        masks, scores = preds[0]
        preds[0] = (np.concatenate([masks, gts[0] ^ (rng.random(gts[0].shape) < 0.05)]),
                    np.append(scores, 0.5))
    return preds, gts


@pytest.mark.parametrize("seed", range(6))
def test_coco_protocol_matches_direct_pycocotools(seed, tmp_path):
    rng = np.random.default_rng(seed)
    preds, gts = random_case(rng, n_images=int(rng.integers(2, 7)))
    assert sum(len(g) for g in gts) > 0         # random_case never draws a set without GT
    thresholds = [0.3, 0.5, 0.75]
    expected = direct_pycocotools_ap(preds, gts, thresholds, tmp_path)
    got = mask_ap(preds, gts, thresholds, "coco")
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert mask_ap(preds, gts, 0.5, "coco") == pytest.approx(expected[1], abs=1e-12)
    assert 0.0 < expected[0] < 1.0  # the case is informative, not trivially perfect


def test_random_cases_always_hold_ground_truth():
    """The pycocotools comparison above must never be vacuous: a draw with no object
    anywhere (likely with one or two images of 0-4 objects each) is given one, so every
    seed compares a real AP instead of skipping."""
    degenerate = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 3))
        _, raw = _raw_case(copy.deepcopy(rng), n, 32, 40)          # the same draw, unrepaired
        degenerate += sum(len(g) for g in raw) == 0
        preds, gts = random_case(rng, n_images=n)
        assert sum(len(g) for g in gts) > 0, seed
        assert all(len(m) == len(s) for m, s in preds)
    assert degenerate > 0     # such draws happen: the repair is exercised, not dead code


def test_voc07_hand_computed_example():
    # image 1: GT A (row 0, 10 px) and B (row 5, all 20 px); image 2: GT C (row 0, 10 px)
    a, b = strip(0, slice(0, 10)), strip(5, slice(0, 20))
    c = strip(0, slice(0, 10))
    preds = [
        (np.stack([strip(0, slice(0, 8)),        # p1 0.9: IoU(A)=0.8 -> TP
                   strip(0, slice(0, 6)),        # p2 0.8: IoU(A)=0.6 but A taken, IoU(B)=0 -> FP
                   strip(5, slice(0, 11))]),     # p4 0.6: IoU(B)=0.55 -> TP
         np.array([0.9, 0.8, 0.6])),
        (np.stack([strip(0, slice(0, 4))]), np.array([0.7])),  # p3 0.7: IoU(C)=0.4 -> FP
    ]
    gts = [np.stack([a, b]), np.stack([c])]
    # ranked TP FP FP TP; precision 1, .5, .33, .5; recall 1/3, 1/3, 1/3, 2/3 of 3 GT
    # 11-point: r in {0,.1,.2,.3} -> 1.0; r in {.4,.5,.6} -> 0.5; r >= .7 -> 0
    assert mask_ap(preds, gts, 0.5, "voc07") == pytest.approx((4 * 1.0 + 3 * 0.5) / 11)
    precision, recall, scores = precision_recall_curve(preds, gts, 0.5, "voc07")
    np.testing.assert_allclose(precision, [1, 0.5, 1 / 3, 0.5])
    np.testing.assert_allclose(recall, [1 / 3, 1 / 3, 1 / 3, 2 / 3])
    np.testing.assert_allclose(scores, [0.9, 0.8, 0.7, 0.6])
    np.testing.assert_allclose(recall_at_precision(preds, gts, 0.5, [0.4, 0.6, 1.0]),
                               [2 / 3, 1 / 3, 1 / 3])
    # at IoU 0.3 p3 (0.4) becomes a TP: TP FP TP TP -> all three GT found;
    # precision 1, .5, .67, .75; recall 1/3, 1/3, 2/3, 1
    # 11-point: r in {0,.1,.2,.3} -> 1.0; r in {.4,...,1.0} -> .75 (best precision at recall >= r)
    assert mask_ap(preds, gts, 0.3, "voc07") == pytest.approx((4 * 1.0 + 7 * 0.75) / 11)
    precision, recall, _ = precision_recall_curve(preds, gts, 0.3, "voc07")
    np.testing.assert_allclose(precision, [1, 0.5, 2 / 3, 0.75])
    np.testing.assert_allclose(recall, [1 / 3, 1 / 3, 2 / 3, 1])


def test_voc07_takes_best_still_unmatched_ground_truth():
    a, b = strip(0, slice(0, 10)), strip(0, slice(10, 20))
    first = strip(0, slice(0, 10))                   # IoU(A)=1
    second = strip(0, slice(2, 20))                  # IoU(A)=8/20=.4, IoU(B)=10/18=.56
    preds = [(np.stack([first, second]), np.array([0.9, 0.8]))]
    assert mask_ap(preds, [np.stack([a, b])], 0.5, "voc07") == pytest.approx(1.0)


@pytest.mark.parametrize("protocol", ["voc07", "coco"])
def test_perfect_and_empty_predictions(protocol):
    rng = np.random.default_rng(3)
    _, gts = random_case(rng, n_images=4)
    gts[0] = np.stack([strip(1, slice(0, 5), 32, 40)])  # at least one object
    perfect = [(g, np.linspace(1, 0.5, len(g))) for g in gts]
    empty = [(np.zeros((0, 32, 40), bool), np.zeros(0)) for _ in gts]
    assert mask_ap(perfect, gts, [0.3, 0.5], protocol) == pytest.approx([1.0, 1.0])
    assert mask_ap(empty, gts, 0.5, protocol) == 0.0


def test_exact_threshold_iou_strict_for_authors_inclusive_for_coco():
    gt = [np.stack([strip(2, slice(0, 10))])]
    half = [(np.stack([strip(2, slice(0, 5))]), np.array([1.0]))]   # IoU exactly 0.5
    assert mask_ap(half, gt, 0.5, "voc07") == 0.0
    assert mask_ap(half, gt, 0.5, "coco") == pytest.approx(1.0)
    assert mask_ap(half, gt, 0.49, "voc07") == pytest.approx(1.0)


def test_bad_inputs_are_rejected_with_clear_errors():
    gt = [np.stack([strip(2, slice(0, 10))])]
    good = (np.stack([strip(2, slice(0, 5))]), np.array([1.0]))
    with pytest.raises(ValueError, match="protocol"):
        mask_ap([good], gt, 0.5, "voc12")
    with pytest.raises(ValueError, match="one per image"):
        mask_ap([good, good], gt, 0.5, "voc07")
    with pytest.raises(ValueError, match="scores"):
        mask_ap([(good[0], np.array([1.0, 2.0]))], gt, 0.5, "coco")
    with pytest.raises(ValueError, match="expected"):
        mask_ap([(np.zeros((1, 3, 3), bool), [1.0])], gt, 0.5, "voc07")
    with pytest.raises(ValueError, match="no object masks"):
        mask_ap([good], [np.zeros((0, H, W), bool)], 0.5, "voc07")
    with pytest.raises(ValueError, match="iou_threshold"):
        mask_ap([good], gt, 1.5, "voc07")


def test_size_binned_ap_ignores_objects_of_other_sizes():
    """Per-size AP as COCO's area ranges: a bin scores only its objects; a prediction on an
    object of another size counts neither way; checked against pycocotools for "coco"."""
    from seg_by_interaction.evaluation.metrics import encode_set, size_binned_ap
    h, w = 60, 80
    small = np.zeros((h, w), bool)
    small[2:8, 2:8] = True                    # 36 px
    big = np.zeros((h, w), bool)
    big[20:50, 20:60] = True                  # 1200 px
    gt = [np.stack([small, big])]
    bins = {"small": [0, 100], "large": [100, 1e10]}
    # found the big object only, and one false positive that is large
    fp = np.zeros((h, w), bool)
    fp[50:60, 0:30] = True                    # 300 px, no object there
    preds = [(np.stack([big, fp]), np.array([0.9, 0.8]))]
    enc = encode_set(preds, gt)
    for protocol in ("voc07", "coco"):
        ap = size_binned_ap(enc, [0.5], protocol, bins)
        assert ap["small"][0] == pytest.approx(0.0)
        assert ap["large"][0] == pytest.approx(1.0)       # the FP ranks below the hit
    # the small object found too: its bin is perfect, the big object's prediction is ignored there
    preds = [(np.stack([big, small]), np.array([0.9, 0.8]))]
    enc = encode_set(preds, gt)
    assert size_binned_ap(enc, [0.5], "voc07", bins)["small"][0] == pytest.approx(1.0)
    empty = {"huge": [1e6, 1e10]}
    assert np.isnan(size_binned_ap(enc, [0.5], "voc07", empty)["huge"][0])
