"""One module per node: a node class whose logic runs without a master (tests call it
directly, with messages in and out) and ``main()``, which wires it to ROS (parameters,
topics, services, actions). ``nodes/<name>`` are three-line shims over these."""
