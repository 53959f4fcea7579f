"""Research on seg_by_interaction, apart from the product: the paper's study, the ablations of
the learning loop, oracle labels, passive-only twins, training replays and the rearrangement
evaluation harness. It builds on the product package and is never imported by it.

``python -m sbi_research --help`` lists the commands; docs/learning.md holds what they measured.
"""
