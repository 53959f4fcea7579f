"""The rearrangement task measured in the arena (paper 6.3.1): scenes with displaced objects,
ground-truth and no-segmentation baselines, episodes and their report."""
