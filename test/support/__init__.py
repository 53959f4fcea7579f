"""Test support: ROS processes on loopback, sample messages, synthetic scenes, reference
implementations. Tests import it as ``support``; benchmarks put test/ on sys.path."""
