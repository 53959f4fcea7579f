# Source this (bash) to get the package's ROS environment: the workspace overlay,
# the venv first on PATH, a loopback master. Safe to source more than once.
_SBI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for _d in /opt/ros/noetic /opt/ros/melodic; do
  [ -f "$_d/setup.bash" ] && source "$_d/setup.bash"
done
source "$_SBI_ROOT/.catkin_ws/devel/setup.bash"
export PATH="$_SBI_ROOT/.venv/bin:$PATH"
if [ -d "$_SBI_ROOT/.catkin_ws/stubs" ]; then
  export ROS_PACKAGE_PATH="$ROS_PACKAGE_PATH:$_SBI_ROOT/.catkin_ws/stubs"
fi
export ROS_HOSTNAME="${ROS_HOSTNAME:-127.0.0.1}"
export ROS_MASTER_URI="${ROS_MASTER_URI:-http://127.0.0.1:11311}"
export ROS_HOME="${ROS_HOME:-$_SBI_ROOT/.ros_home}"
export PYTHONUNBUFFERED=1
unset _d
