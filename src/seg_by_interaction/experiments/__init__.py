"""Experiments without ROS: Algorithm 1 in one process, evaluation sets, the study.

``python -m seg_by_interaction.experiments --help`` lists the commands.
"""
