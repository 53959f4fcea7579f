"""DeepMask-style network: a ResNet-18 trunk to stride 16, a shared embedding,
a score head and a mask head (Pinheiro et al.; Pathak et al. use ResNet-18).

The "fully connected" layers of the authors' heads are written as convolutions
(the window-sized k x k conv is FC 128*k*k -> 512), so the same weights score one
training window or a whole image densely. Width is configurable: ``trunk_width``
is the channel count of the first stage (torchvision's ResNet-18: 64), and the
later stages double it as in ResNet-18.
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

from seg_by_interaction.config.schema import plain

STRIDE = 16  # stem (4) x layer2 (2) x layer3 (2): the trunk is tapped after layer3


def _stage(inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
    layers = [BasicBlock(inplanes, planes, stride, downsample)]
    layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def resnet18_trunk(width: int) -> nn.Sequential:
    """torchvision ResNet-18's stem and first three stages (stride 16), any width."""
    if width < 4:
        raise ValueError(f"model.trunk_width must be >= 4, got {width}")
    stem = nn.Sequential(
        nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    trunk = nn.Sequential(stem,
                          _stage(width, width, 2, 1),
                          _stage(width, 2 * width, 2, 2),
                          _stage(2 * width, 4 * width, 2, 2))
    for mod in trunk.modules():  # torchvision's ResNet initialisation
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.constant_(mod.weight, 1)
            nn.init.constant_(mod.bias, 0)
    return trunk


class MaskRefiner(nn.Module):
    """SharpMask-style top-down refinement (Pinheiro et al. 2016), one step: the coarse
    mask logits, upsampled to stride 2 of the window, are corrected by a few convolutions
    that also see the trunk's first (stride-2) feature map, so mask edges follow image
    edges the network has learned to trust instead of the 4-pixel grid of the mask head
    (or the colour superpixels the masks are otherwise snapped to)."""

    def __init__(self, skip_channels: int, cfg: dict):
        super().__init__()
        reduce_ch, hidden = int(cfg.skip_channels), int(cfg.channels)
        self.skip = nn.Sequential(nn.Conv2d(skip_channels, reduce_ch, 1), nn.ReLU(inplace=True))
        layers, ch = [], reduce_ch + 1
        for _ in range(int(cfg.layers)):
            layers += [nn.Conv2d(ch, hidden, 3, padding=1), nn.ReLU(inplace=True)]
            ch = hidden
        layers.append(nn.Conv2d(ch, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)
        nn.init.zeros_(self.net[-1].weight)       # starts as the upsampled coarse mask
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """coarse [N, m, m], skip [N, C, r, r] -> refined logits [N, r, r]."""
        up = nn.functional.interpolate(coarse[:, None], size=skip.shape[-2:], mode="bilinear",
                                       align_corners=False)
        return (up + self.net(torch.cat([up, self.skip(skip)], 1)))[:, 0]


class DeepMask(nn.Module):
    """Trunk + shared embedding + score head + mask head.

    ``forward(windows)`` takes normalised windows [B, 3, W, W] (W = model.window)
    and returns (score logits [B], mask logits [B, m, m]) with m = ``output_mask_size``
    (model.mask_size, or window / 2 with the refinement head); the mask covers the window.
    ``heads`` picks which heads run (the other output is None): the trainer updates one head
    per batch, and under DistributedDataParallel a head that ran must also receive a gradient.
    ``embed`` works on any image size (dense).
    """

    def __init__(self, model_cfg: dict):
        super().__init__()
        self.cfg = plain(model_cfg)
        self.window = int(model_cfg.window)
        if self.window % STRIDE or self.window < 2 * STRIDE:
            raise ValueError(f"model.window must be a multiple of {STRIDE} and >= "
                             f"{2 * STRIDE}, got {self.window}")
        self.mask_size = int(model_cfg.mask_size)
        width = int(model_cfg.trunk_width)
        reduce_ch = int(model_cfg.reduce_channels)
        embed_dim = int(model_cfg.embedding_dim)
        k = self.window // STRIDE
        self.trunk = resnet18_trunk(width)
        self.embedding = nn.Sequential(
            nn.Conv2d(4 * width, reduce_ch, 1), nn.ReLU(inplace=True),
            nn.Conv2d(reduce_ch, embed_dim, k), nn.ReLU(inplace=True))
        self.score_head = nn.Sequential(
            nn.Conv2d(embed_dim, int(model_cfg.score_hidden), 1), nn.ReLU(inplace=True),
            nn.Conv2d(int(model_cfg.score_hidden), 1, 1))
        self.mask_head = nn.Linear(embed_dim, self.mask_size ** 2)
        refine = model_cfg.refine_head
        self.refiner = MaskRefiner(width, refine) if refine.enabled else None
        # side of the masks forward() returns: the refined stride-2 grid, or the head's own
        self.output_mask_size = self.window // 2 if self.refiner is not None else self.mask_size
        self.register_buffer("mean", torch.tensor(model_cfg.pixel_mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(model_cfg.pixel_std).view(1, 3, 1, 1))

    def normalise(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 [B, 3, H, W] -> float, zero-mean per channel (0 = the mean colour)."""
        return (images_uint8.float() / 255.0 - self.mean) / self.std

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images [B, 3, H, W] -> embeddings [B, D, H/16 - k + 1, W/16 - k + 1]."""
        return self.embedding(self.trunk(x))

    def embed_with_skip(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embeddings, the stem's stride-2 feature map [B, width, H/2, W/2]) for the refiner."""
        stem = self.trunk[0]
        skip = stem[2](stem[1](stem[0](x)))            # conv, BN, ReLU: stride 2
        return self.embedding(self.trunk[1:](stem[3](skip))), skip

    def refine(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """Coarse mask logits [N, m, m] + their windows' skip features -> [N, W/2, W/2]."""
        if self.refiner is None:
            raise ValueError("this model has no refinement head (model.refine_head.enabled)")
        return self.refiner(coarse, skip)

    def scores(self, emb: torch.Tensor) -> torch.Tensor:
        """Embeddings [B, D, h, w] -> score logits [B, h, w]."""
        return self.score_head(emb)[:, 0]

    def masks(self, vectors: torch.Tensor) -> torch.Tensor:
        """Embedding vectors [N, D] -> mask logits [N, m, m]."""
        return self.mask_head(vectors).view(-1, self.mask_size, self.mask_size)

    def forward(self, windows: torch.Tensor, heads: tuple[str, ...] = ("score", "mask")):
        unknown = set(heads) - {"score", "mask"}
        if unknown:
            raise ValueError(f"unknown head(s) {sorted(unknown)}: use 'score' and/or 'mask'")
        refining = self.refiner is not None and "mask" in heads
        emb, skip = self.embed_with_skip(windows) if refining else (self.embed(windows), None)
        if emb.shape[-2:] != (1, 1):
            raise ValueError(f"windows must be {self.window}x{self.window}, "
                             f"got {tuple(windows.shape[-2:])}")
        scores = self.scores(emb)[:, 0, 0] if "score" in heads else None
        masks = self.masks(emb[:, :, 0, 0]) if "mask" in heads else None
        if refining:
            masks = self.refine(masks, skip)
        return scores, masks
