#!/usr/bin/env bash
# One idempotent set-up for the README's commands, .ci/run and docker/:
#   1. ROS 1: an existing /opt/ros/<distro> is used as it is; otherwise Debian's own packages.
#   2. .venv (with --system-site-packages, so rospy/cv_bridge stay visible) + Python deps.
#   3. The catkin workspace .catkin_ws (src/ links this repo), built out of the source tree.
#   4. A .pth file so that .venv/bin/python imports seg_by_interaction and its messages.
#   5. The realistic arena's asset library (photos + textured meshes from installed packages),
#      built once into ~/.cache/seg_by_interaction/assets (or $SBI_ASSET_DIR).
# Each step is skipped when its inputs did not change, so a second run takes seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
WS="$ROOT/.catkin_ws"
say() { echo "[setup] $*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# ---------------------------------------------------------------- 1. ROS 1
ROS_SETUP=""
for d in /opt/ros/noetic /opt/ros/melodic; do
  if [ -f "$d/setup.bash" ]; then ROS_SETUP="$d/setup.bash"; fi
done
DEBIAN_ROS_PACKAGES=(catkin ros-message-generation ros-message-runtime python3-rospy
  python3-roslaunch python3-rosmaster python3-rosbag python3-rostopic python3-rosservice
  python3-rosnode python3-rosparam python3-rostest librostest-dev python3-actionlib
  python3-message-filters python3-cv-bridge rosbash rospack-tools ros-std-msgs
  ros-sensor-msgs ros-geometry-msgs ros-actionlib-msgs python3-std-msgs python3-sensor-msgs
  python3-geometry-msgs python3-actionlib-msgs libstd-msgs-dev libsensor-msgs-dev
  libgeometry-msgs-dev libactionlib-msgs-dev ros-image-view python3-venv python3-dev
  build-essential cmake)
# Textured table-top models for the arena (Debian and Ubuntu: sweethome3d-furniture, 120 MB,
# no dependencies); needed whichever ROS is used.
ASSET_PACKAGES=(sweethome3d-furniture)
WANTED=("${ASSET_PACKAGES[@]}")
if [ -n "$ROS_SETUP" ]; then
  say "using the existing ROS 1 install at $(dirname "$ROS_SETUP")"
  set +u; source "$ROS_SETUP"; set -u
else
  WANTED+=("${DEBIAN_ROS_PACKAGES[@]}")
fi
missing=()
for p in "${WANTED[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} Debian packages (ROS 1 from Debian bookworm, arena models)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

# ---------------------------------------------------------------- 2. venv
SYS_PY=/usr/bin/python3
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$SYS_PY" -m venv --system-site-packages "$VENV"
fi
REQ_HASH=$(cat requirements.txt requirements-assets.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$REQ_HASH" ]; then
  say "installing Python requirements into .venv (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q -r requirements.txt >"$VENV/pip.log" 2>&1 \
    || { tail -30 "$VENV/pip.log"; echo "[setup] pip install failed (log: $VENV/pip.log)"; exit 1; }
  # asset-only packages: their files, not their (simulator) dependencies
  "$VENV/bin/python" -m pip install -q --no-deps -r requirements-assets.txt >>"$VENV/pip.log" 2>&1 \
    || { tail -30 "$VENV/pip.log"; echo "[setup] pip install of the asset packages failed (log: $VENV/pip.log)"; exit 1; }
  echo "$REQ_HASH" > "$VENV/.requirements.sha256"
else
  say "Python requirements up to date"
fi

# ---------------------------------------------------------------- 3. catkin workspace
# src/seg_by_interaction is a folder of links to the repo's top-level entries (not a
# link to the repo itself, which holds .catkin_ws: rosrun's `find -L` would loop).
PKG_LINKS="$WS/src/seg_by_interaction"
[ -L "$PKG_LINKS" ] && rm "$PKG_LINKS"
mkdir -p "$PKG_LINKS"
find "$PKG_LINKS" -maxdepth 1 -type l ! -exec test -e {} \; -delete
for entry in "$ROOT"/*; do ln -sfn "$entry" "$PKG_LINKS/$(basename "$entry")"; done
BUILD_HASH=$(cat package.xml CMakeLists.txt setup.py msg/* srv/* action/* csrc/* 2>/dev/null \
  | cat - <(ls nodes; find src -name __init__.py | sort) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$WS/.build.sha256" 2>/dev/null)" != "$BUILD_HASH" ] || [ ! -f "$WS/devel/setup.bash" ]; then
  say "building the catkin workspace"
  (cd "$WS" && PATH="$VENV/bin:/usr/bin:$PATH" catkin_make --force-cmake \
      -DPYTHON_EXECUTABLE="$VENV/bin/python3" -DCATKIN_ENABLE_TESTING=ON >"$WS/build.log" 2>&1) \
    || { tail -40 "$WS/build.log"; echo "[setup] catkin_make failed (log: $WS/build.log)"; exit 1; }
  echo "$BUILD_HASH" > "$WS/.build.sha256"
else
  say "catkin workspace up to date"
fi

# Debian ships image_view's executables without a package.xml: a stub on ROS_PACKAGE_PATH
# (added by scripts/env.sh) lets launch files name pkg="image_view".
if [ -x /usr/lib/image_view/image_saver ] && [ ! -f /usr/share/image_view/package.xml ]; then
  mkdir -p "$WS/stubs/image_view"
  cat > "$WS/stubs/image_view/package.xml" <<'XML'
<?xml version="1.0"?>
<package format="2"><name>image_view</name><version>0.0.0</version>
<description>Stub: lets roslaunch find Debian's image_view executables.</description>
<maintainer email="dev@seg-by-interaction.invalid">seg_by_interaction</maintainer>
<license>BSD</license></package>
XML
fi

# ---------------------------------------------------------------- 4. venv sees the build
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
DEVEL_PY=$(ls -d "$WS"/devel/lib/python3*/dist-packages | head -n1)
echo "$DEVEL_PY" > "$SITE/seg_by_interaction_devel.pth"
# research/ (the study, ablations; python -m sbi_research) is not part of the ROS package
echo "$ROOT/research" > "$SITE/sbi_research.pth"
"$VENV/bin/python" -c 'import seg_by_interaction.msg, seg_by_interaction.srv, seg_by_interaction.msg._PickPlaceAction' \
  || { echo "[setup] generated messages do not import"; exit 1; }
# ---------------------------------------------------------------- 5. arena assets
# Sweet Home 3D's texture catalog (training surfaces) lives in the application's jar: the
# Debian package is downloaded and unpacked, not installed (it would pull in Java).
ASSET_CACHE="${SBI_ASSET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seg_by_interaction/assets}"
SH3D_DIR="$(dirname "$ASSET_CACHE")/sources/sweethome3d"
if [ ! -s "$SH3D_DIR/sweethome3d.jar" ]; then
  say "fetching Sweet Home 3D's texture catalog (Debian package sweethome3d, unpacked only)"
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download sweethome3d >/dev/null 2>&1); then
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download sweethome3d >/dev/null) \
      || { rm -rf "$tmp"; echo "[setup] apt-get download sweethome3d failed"; exit 1; }
  fi
  dpkg-deb -x "$tmp"/sweethome3d_*.deb "$tmp/x"
  mkdir -p "$SH3D_DIR"
  cp "$tmp/x/usr/share/sweethome3d/sweethome3d.jar" "$SH3D_DIR/sweethome3d.jar.part"
  mv "$SH3D_DIR/sweethome3d.jar.part" "$SH3D_DIR/sweethome3d.jar"
  rm -rf "$tmp"
fi
# Cached by a key over the builder, its settings and the sources: seconds when present,
# ~1 min the first time (decimation, convex decomposition, a render check per model).
"$VENV/bin/python" -m seg_by_interaction.assets build \
  || { echo "[setup] building the arena's asset library failed"; exit 1; }
say "ready: .venv/bin/python imports seg_by_interaction; source scripts/env.sh for ROS tools"
