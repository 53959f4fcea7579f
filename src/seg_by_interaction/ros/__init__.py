"""ROS glue: message conversions and the servers behind nodes/. Only this subpackage
(and nodes/) imports rospy."""
