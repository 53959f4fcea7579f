"""Python package of seg_by_interaction, installed through catkin_python_setup()."""
from setuptools import find_packages, setup
from catkin_pkg.python_setup import generate_distutils_setup

setup(**generate_distutils_setup(
    packages=find_packages("src"),
    package_dir={"": "src"},
))
