"""BatchNorm folded into the convolution before it, for inference only.

In eval mode a BatchNorm after a convolution is a per-channel affine map, so it can be
merged into the convolution's weights and bias (torch.nn.utils.fusion): the same outputs
up to float rounding, one pass over each feature map less. A folded model cannot be
trained or loaded from a checkpoint again (its BatchNorms are gone); only segmenters that
own their copy fold it (``perception.inference.load_segmenter``).
"""
from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _fold_sequential(seq: nn.Sequential) -> None:
    names = list(seq._modules)
    for a, b in zip(names, names[1:]):
        conv, bn = seq._modules[a], seq._modules[b]
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            seq._modules[a] = fuse_conv_bn_eval(conv, bn)
            seq._modules[b] = nn.Identity()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """``model`` (in eval mode) with every Conv2d -> BatchNorm2d pair merged, in place."""
    from torchvision.models.resnet import BasicBlock
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            _fold_sequential(module)
        elif isinstance(module, BasicBlock):
            module.conv1 = fuse_conv_bn_eval(module.conv1, module.bn1)
            module.bn1 = nn.Identity()
            module.conv2 = fuse_conv_bn_eval(module.conv2, module.bn2)
            module.bn2 = nn.Identity()
    return model
