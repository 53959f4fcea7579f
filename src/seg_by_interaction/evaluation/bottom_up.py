"""Bottom-up object proposals: the stand-in for the paper's GOP and GOP-tuned rows.

No learning, no labels. Felzenszwalb's graph-based superpixels (scikit-image) at a few
scales are grouped hierarchically the way Selective Search does (colour-histogram,
size and fill similarity between adjacent regions); every region of every hierarchy is
a candidate. Candidates are ranked by an objectness score — colour contrast against the
surrounding regions times compactness — and thinned by greedy mask NMS, so the output
is a ranked, scored set and AP is meaningful.

The ``tuned`` variant adds the paper's domain knowledge: it drops candidates too large
to be one object and those touching the image border (the arena's edges and corners),
and, when given, those reaching outside the arena's image region.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage
from skimage.color import rgb2lab
from skimage.segmentation import felzenszwalb

from seg_by_interaction.types import Hypothesis


@dataclass
class _Region:
    members: list[int]          # superpixel ids
    area: float
    lab_sum: np.ndarray         # [3]
    hist: np.ndarray            # [3 * bins], area-weighted
    box: np.ndarray             # y0, x0, y1, x1 (exclusive)
    border_px: float            # pixels on the image border
    neighbours: dict[int, float]  # region id -> shared boundary length (pixel pairs)


@dataclass
class _Candidate:
    score: float
    labels_index: int
    members: list[int]
    box: np.ndarray


class BottomUpSegmenter:
    """``segment(image) -> list[Hypothesis]``, ranked by score (highest first)."""

    def __init__(self, cfg: dict, tuned: bool = False, arena_mask: np.ndarray | None = None):
        bcfg = cfg.evaluation.bottom_up
        self.scales = [float(s) for s in bcfg.felzenszwalb_scales]
        self.sigma = float(bcfg.felzenszwalb_sigma)
        self.min_size = int(bcfg.felzenszwalb_min_size)
        self.bins = int(bcfg.colour_bins)
        self.min_area = int(bcfg.min_area)
        self.nms_iou = float(bcfg.nms_iou)
        self.max_proposals = int(bcfg.max_proposals)
        self.contrast_scale = float(bcfg.contrast_scale)
        self.compactness_power = float(bcfg.compactness_power)
        self.tuned = bool(tuned)
        self.max_area_fraction = float(bcfg.tuned.max_area_fraction)
        self.max_edge_pixels = int(bcfg.tuned.max_edge_pixels)
        if not self.scales or self.bins < 1 or not 0 < self.nms_iou <= 1:
            raise ValueError("evaluation.bottom_up: need at least one scale, colour_bins >= 1 "
                             "and 0 < nms_iou <= 1")
        self.arena_mask = None if arena_mask is None else np.asarray(arena_mask, dtype=bool)

    @property
    def name(self) -> str:
        return "bottom-up tuned" if self.tuned else "bottom-up"

    def __call__(self, image: np.ndarray) -> list[Hypothesis]:
        return self.segment(image)

    def segment(self, image: np.ndarray) -> list[Hypothesis]:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image [H, W, 3], got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if self.arena_mask is not None and self.arena_mask.shape != (height, width):
            raise ValueError(f"arena_mask is {self.arena_mask.shape}, image is {(height, width)}")
        lab = rgb2lab(image)
        all_labels, candidates = [], []
        for scale in self.scales:
            labels = felzenszwalb(image, scale=scale, sigma=self.sigma, min_size=self.min_size)
            candidates += self._candidates(labels, lab, len(all_labels))
            all_labels.append(labels)
        candidates.sort(key=lambda c: -c.score)
        return self._nms(candidates, all_labels)

    # -- one hierarchy -------------------------------------------------------------

    def _candidates(self, labels: np.ndarray, lab: np.ndarray, labels_index: int) -> list[_Candidate]:
        regions = self._superpixels(labels, lab)
        image_area = float(labels.size)
        found = [self._candidate(regions, rid, labels_index, image_area) for rid in list(regions)]
        heap = []
        for rid, region in regions.items():
            for nid in region.neighbours:
                if rid < nid:
                    heap.append((-self._similarity(region, regions[nid], image_area), rid, nid))
        heapq.heapify(heap)
        next_id = max(regions) + 1
        while heap:
            _, a, b = heapq.heappop(heap)
            if a not in regions or b not in regions:
                continue  # one side was merged already
            merged = self._merge(regions, a, b, next_id)
            for nid in merged.neighbours:
                heapq.heappush(heap, (-self._similarity(merged, regions[nid], image_area), next_id, nid))
            found.append(self._candidate(regions, next_id, labels_index, image_area))
            next_id += 1
        return [c for c in found if c is not None]

    def _superpixels(self, labels: np.ndarray, lab: np.ndarray) -> dict[int, _Region]:
        n = int(labels.max()) + 1
        flat = labels.ravel()
        area = np.bincount(flat, minlength=n).astype(float)
        lab_flat = lab.reshape(-1, 3)
        lab_sum = np.stack([np.bincount(flat, lab_flat[:, c], minlength=n) for c in range(3)], 1)
        ranges = ((0.0, 100.0), (-128.0, 128.0), (-128.0, 128.0))
        hist = np.zeros((n, 3 * self.bins))
        for c, (lo, hi) in enumerate(ranges):
            b = np.clip(((lab_flat[:, c] - lo) / (hi - lo) * self.bins).astype(int), 0, self.bins - 1)
            hist[:, c * self.bins:(c + 1) * self.bins] = np.bincount(
                flat * self.bins + b, minlength=n * self.bins).reshape(n, self.bins)
        border = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
        border_px = np.bincount(border, minlength=n).astype(float)
        slices = ndimage.find_objects(labels + 1)
        pairs = np.concatenate([
            np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
            np.stack([labels[:-1].ravel(), labels[1:].ravel()], 1)])
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        pairs.sort(axis=1)
        keys, lengths = np.unique(pairs[:, 0] * n + pairs[:, 1], return_counts=True)
        regions = {}
        for i in range(n):
            sl = slices[i]
            regions[i] = _Region([i], area[i], lab_sum[i], hist[i],
                                 np.array([sl[0].start, sl[1].start, sl[0].stop, sl[1].stop]),
                                 border_px[i], {})
        for key, length in zip(keys, lengths):
            a, b = divmod(int(key), n)
            regions[a].neighbours[b] = float(length)
            regions[b].neighbours[a] = float(length)
        return regions

    def _similarity(self, r: _Region, s: _Region, image_area: float) -> float:
        colour = np.minimum(r.hist / r.area, s.hist / s.area).sum() / 3.0
        size = 1.0 - (r.area + s.area) / image_area
        box = np.concatenate([np.minimum(r.box[:2], s.box[:2]), np.maximum(r.box[2:], s.box[2:])])
        box_area = float((box[2] - box[0]) * (box[3] - box[1]))
        fill = 1.0 - (box_area - r.area - s.area) / image_area
        return colour + size + fill

    @staticmethod
    def _merge(regions: dict[int, _Region], a: int, b: int, new_id: int) -> _Region:
        ra, rb = regions.pop(a), regions.pop(b)
        neighbours: dict[int, float] = {}
        for src in (ra.neighbours, rb.neighbours):
            for nid, length in src.items():
                if nid not in (a, b):
                    neighbours[nid] = neighbours.get(nid, 0.0) + length
        for nid, length in neighbours.items():
            other = regions[nid].neighbours
            other.pop(a, None)
            other.pop(b, None)
            other[new_id] = length
        merged = _Region(ra.members + rb.members, ra.area + rb.area, ra.lab_sum + rb.lab_sum,
                         ra.hist + rb.hist,
                         np.concatenate([np.minimum(ra.box[:2], rb.box[:2]),
                                         np.maximum(ra.box[2:], rb.box[2:])]),
                         ra.border_px + rb.border_px, neighbours)
        regions[new_id] = merged
        return merged

    def _candidate(self, regions: dict[int, _Region], rid: int, labels_index: int,
                   image_area: float) -> _Candidate | None:
        r = regions[rid]
        if r.area < self.min_area or not r.neighbours:
            return None
        if self.tuned and (r.area > self.max_area_fraction * image_area
                           or r.border_px > self.max_edge_pixels):
            return None
        weights = np.array(list(r.neighbours.values()))
        ring = np.stack([regions[n].lab_sum / regions[n].area for n in r.neighbours])
        ring_mean = (weights[:, None] * ring).sum(0) / weights.sum()
        contrast = float(np.linalg.norm(r.lab_sum / r.area - ring_mean))
        perimeter = weights.sum() + r.border_px
        compactness = min(1.0, 4.0 * np.pi * r.area / perimeter ** 2)
        score = contrast / (contrast + self.contrast_scale) * compactness ** self.compactness_power
        return _Candidate(float(score), labels_index, list(r.members), r.box.copy())

    # -- across hierarchies ----------------------------------------------------------

    def _nms(self, candidates: list[_Candidate], all_labels: list[np.ndarray]) -> list[Hypothesis]:
        kept: list[Hypothesis] = []
        kept_rles: list[dict] = []
        luts = [np.zeros(int(labels.max()) + 1, dtype=bool) for labels in all_labels]
        for cand in candidates:
            if len(kept) >= self.max_proposals:
                break
            lut = luts[cand.labels_index]
            lut[:] = False
            lut[cand.members] = True
            mask = lut[all_labels[cand.labels_index]]
            if self.arena_mask is not None and self.tuned and np.any(mask & ~self.arena_mask):
                continue
            rle = mask_utils.encode(np.asfortranarray(mask[:, :, None].astype(np.uint8)))[0]
            if kept_rles and np.max(mask_utils.iou([rle], kept_rles, [0] * len(kept_rles))) >= self.nms_iou:
                continue
            y0, x0, y1, x1 = (int(v) for v in cand.box)
            kept.append(Hypothesis(mask=mask, score=cand.score, box=(x0, y0, x1, y1)))
            kept_rles.append(rle)
        return kept
