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
# Loopback only (the default): C++ nodes (rosout, rosbag record) bind to 127.0.0.1 too
# (csrc/loopback_bind.c); give ROS_HOSTNAME or ROS_IP a network address to use a network.
_sbi_shim=$(ls "$_SBI_ROOT"/.catkin_ws/devel/lib/libsbi_loopback_bind.so 2>/dev/null)
case "${ROS_IP:-$ROS_HOSTNAME}" in
  127.*|localhost|::1)
    if [ -n "$_sbi_shim" ] && [[ ":${LD_PRELOAD:-}:" != *":$_sbi_shim:"* ]]; then
      export LD_PRELOAD="$_sbi_shim${LD_PRELOAD:+:$LD_PRELOAD}"
    fi ;;
esac
unset _sbi_shim
export ROS_MASTER_URI="${ROS_MASTER_URI:-http://127.0.0.1:11311}"
export ROS_HOME="${ROS_HOME:-$_SBI_ROOT/.ros_home}"
export PYTHONUNBUFFERED=1
unset _d
