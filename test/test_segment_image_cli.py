"""segment_image: the README's way to segment a photo from the command line. `rosservice
call` with the image as YAML fails for any real photo (one argument holds 128 KiB); this
client sends the image itself."""
from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A real-size photo: an arena render at 1100x896 (~1 MP, inference.max_image_pixels as a
    phone's downscaled shot)."""
    from seg_by_interaction.config import load_config
    from seg_by_interaction.sim.arena import Arena
    with Arena(load_config(overrides={"arena.render_processes": 1}), seed=2, split="test") as arena:
        arena.reset_scene()
        arena.gripper.teleport(arena.r["home_position"], 0.0)
        image = arena.render().images[1]
    big = cv2.resize(image, (1100, 896), interpolation=cv2.INTER_CUBIC)
    path = tmp_path_factory.mktemp("photo") / "photo.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    return path


def test_a_real_size_photo_is_segmented_and_written_as_labels(ros_node, launch, ros_master,
                                                              photo, tmp_path):
    from support.ros_testing import wait_for_service
    launch("rosrun", "seg_by_interaction", "segmenter", "__name:=segmenter", "__ns:=/clitest",
           name="segmenter")
    wait_for_service("/clitest/segment", timeout=120)
    # the YAML route is refused with the way out, not "Argument list too long"
    yaml = subprocess.run(["rosrun", "seg_by_interaction", "image_to_yaml", str(photo)],
                          env=ros_master.env, capture_output=True, text=True, timeout=60)
    assert yaml.returncode == 2 and "segment_image" in yaml.stderr, yaml.stderr
    labels, overlay = tmp_path / "labels.png", tmp_path / "overlay.png"
    out = subprocess.run(["rosrun", "seg_by_interaction", "segment_image", str(photo),
                          "--service", "/clitest/segment", "--max-hypotheses", "4",
                          "--labels", str(labels), "--overlay", str(overlay)],
                         env=ros_master.env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith(f"{photo}: 1100x896, ")
    n = int(lines[0].split(", ")[1].split()[0])
    assert 1 <= n <= 4 and len(lines) == n + 1
    scores = [float(line.split("score ")[1].split()[0]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)
    lab = cv2.imread(str(labels), cv2.IMREAD_UNCHANGED)
    assert lab.dtype == np.uint16 and lab.shape == (896, 1100)
    assert set(np.unique(lab)) - {0} <= set(range(1, n + 1)) and lab.max() >= 1
    # the best hypothesis keeps all its pixels (overlaps go to the better score)
    best_px = int(lines[1].rsplit(None, 2)[-2])
    assert (lab == 1).sum() == best_px
    assert cv2.imread(str(overlay)).shape == (896, 1100, 3)
    # a file that is no image, and a service that is not there: clear errors
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    bad = subprocess.run(["rosrun", "seg_by_interaction", "segment_image", str(junk)],
                         env=ros_master.env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "cannot read an image" in bad.stderr
    none = subprocess.run(["rosrun", "seg_by_interaction", "segment_image", str(photo),
                           "--service", "/nobody/segment", "--timeout", "2"],
                          env=ros_master.env, capture_output=True, text=True, timeout=60)
    assert none.returncode == 2 and "no service /nobody/segment" in none.stderr


def test_label_image_resolves_overlaps_by_score():
    from seg_by_interaction.perception.label_image import label_image
    from seg_by_interaction.types import Hypothesis
    a = np.zeros((4, 6), bool)
    a[:, :4] = True
    b = np.zeros((4, 6), bool)
    b[:, 2:] = True
    lab = label_image([Hypothesis(a, 0.2, (0, 0, 4, 4)), Hypothesis(b, 0.9, (2, 0, 6, 4))], (4, 6))
    assert lab.tolist() == [[2, 2, 1, 1, 1, 1]] * 4
    with pytest.raises(ValueError, match="does not match"):
        label_image([Hypothesis(a, 0.5, (0, 0, 1, 1))], (5, 6))
