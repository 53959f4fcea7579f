"""The evaluator on a COCO-format set written the way the arena's generator writes it."""
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from seg_by_interaction.config import load_config
from seg_by_interaction.evaluation import (BottomUpSegmenter, EvalSet, evaluate_segmenter,
                                           mask_ap)
from seg_by_interaction.types import Hypothesis

H, W = 60, 80


def write_eval_set(folder, n_images=3, seed=0):
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    images, anns, all_gt = [], [], []
    for i in range(n_images):
        img = np.full((H, W, 3), 120, np.uint8)
        gt = []
        for k in range(2):
            m = np.zeros((H, W), bool)
            y, x = 8 + 25 * k + rng.integers(0, 5), 10 + rng.integers(0, 40)
            m[y:y + 15, x:x + 18] = True
            img[m] = (200, 30 + 100 * k, 40)
            gt.append(m)
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                         "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                         "area": int(m.sum()), "bbox": mask_utils.toBbox(rle).tolist()})
        cv2.imwrite(str(folder / "images" / f"{i:04d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        images.append({"id": i + 1, "file_name": f"images/{i:04d}.png", "height": H, "width": W,
                       "objects_split": "test" if i else "train"})
        all_gt.append(np.stack(gt))
    path = folder / "eval.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "object"}]}))
    return path, all_gt


def test_oracle_scores_one_and_bottom_up_matches_mask_ap(tmp_path):
    cfg = load_config()
    path, all_gt = write_eval_set(tmp_path)
    eval_set = EvalSet.load(path)
    assert len(eval_set) == 3 and eval_set.images[1].meta == {"objects_split": "test"}

    def oracle(image):  # reads the coloured rectangles back from the pixels
        hyps = []
        for k, green in enumerate((30, 130)):
            m = np.all(image == (200, green, 40), axis=2)
            ys, xs = np.nonzero(m)
            hyps.append(Hypothesis(m, 1.0 - 0.1 * k, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)))
        return hyps

    result = evaluate_segmenter(oracle, eval_set, cfg, progress=False)
    assert result.ap == {"voc07": {"0.3": 1.0, "0.5": 1.0}, "coco": {"0.3": 1.0, "0.5": 1.0}}
    assert result.overlap_boundary == {k: 1.0 for k in result.overlap_boundary}   # and the field's
    masks, scores = result.predictions(0)
    assert masks.shape == (2, H, W) and np.array_equal(masks, all_gt[0])

    def half(image):            # each object's left half: overlap precision 1, recall 1/2
        out = []
        for h in oracle(image):
            m = h.mask.copy()
            x0, _, x1, _ = h.box
            m[:, (x0 + x1) // 2:] = False
            out.append(Hypothesis(m, h.score, h.box))
        return out
    ob = evaluate_segmenter(half, eval_set, cfg, progress=False).overlap_boundary
    assert ob["overlap_p"] == 1.0 and ob["overlap_r"] == pytest.approx(0.5, abs=0.03)

    bottom_up = BottomUpSegmenter(cfg, tuned=False)
    result = evaluate_segmenter(bottom_up.segment, eval_set, cfg, progress=False)
    preds = [result.predictions(i) for i in range(len(eval_set))]
    for protocol in ("voc07", "coco"):
        assert result.ap[protocol]["0.5"] == pytest.approx(mask_ap(preds, all_gt, 0.5, protocol))
    curves = result.pr_curves([0.3, 0.5])
    assert set(curves) == {"voc07", "coco"} and len(curves["coco"]["0.5"]["recall"]) == 101
    assert len(result.recall_at_precision(0.3, [0.5, 0.9])) == 2

    subset = eval_set.subset(lambda im: im.meta.get("objects_split") == "test", "test objects")
    assert len(subset) == 2


def test_load_rejects_missing_file_and_wrong_mask_size(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        EvalSet.load(tmp_path / "nope.json")
    path, _ = write_eval_set(tmp_path)
    eval_set = EvalSet.load(path)
    bad = lambda image: [Hypothesis(np.ones((5, 5), bool), 1.0, (0, 0, 5, 5))]  # noqa: E731
    with pytest.raises(ValueError, match="mask for a"):
        evaluate_segmenter(bad, eval_set, load_config(), progress=False)


def test_a_relative_json_path_gives_images_readable_from_another_folder(tmp_path, monkeypatch):
    path, _ = write_eval_set(tmp_path)
    monkeypatch.chdir(tmp_path)
    eval_set = EvalSet.load(path.relative_to(tmp_path))
    monkeypatch.chdir(tmp_path.parent)  # a report written elsewhere still finds the images
    assert all(image.path.is_absolute() and image.path.is_file() for image in eval_set.images)
    assert eval_set.images[0].load_rgb().ndim == 3


def test_the_out_of_arena_set_differs_from_training_on_purpose(tmp_path):
    """Objects the learner never saw at their real sizes, on another package's photographs,
    seen by cameras off the training ranges' centre; annotated per object with its size."""
    import json
    from seg_by_interaction.config import load_config
    from seg_by_interaction.evaluation.eval_set import EvalSet
    from seg_by_interaction.sim.camera_layout import _in_middle_half
    from seg_by_interaction.sim.datasets import generate_out_of_arena_set
    cfg = load_config(overrides={"arena.render_processes": 1})
    path = generate_out_of_arena_set(tmp_path / "ooa", cfg, images=3)
    coco = json.loads(path.read_text())
    train = cfg["arena"]["cameras"]["vary"]
    include = set(cfg["evaluation"]["out_of_arena"]["surfaces"]["include"])
    for im in coco["images"]:
        assert im["background"].startswith("user:") and im["background"][5:-4] in include
        rig = im["rig"]
        assert not all(_in_middle_half(rig[k], train[k]) for k in ("distance", "height", "vertical_fov_deg"))
        assert (im["width"], im["height"]) == tuple(rig["resolution"])
    from seg_by_interaction.assets.build import ensure_library
    from seg_by_interaction.sim.objects import ObjectLibrary
    test_objects = {o.name for o in ObjectLibrary(cfg, ensure_library(cfg)).split("test")}
    assert {a["object"] for a in coco["annotations"]} <= test_objects
    longest = [max(a["extent_m"][:2]) for a in coco["annotations"]]
    assert max(longest) > 0.1                            # real sizes, not gripper-sized
    assert len(EvalSet.load(path)) == 3
