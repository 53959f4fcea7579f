#!/usr/bin/env bash
# roslaunch's <machine env-loader="..."> for a robot machine: this repo's ROS environment
# (set up there by scripts/setup.sh), then the command roslaunch asks for. ROS_MASTER_URI
# and ROS_HOSTNAME set by roslaunch / the caller are kept (env.sh only fills in defaults).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh" >/dev/null
exec "$@"
