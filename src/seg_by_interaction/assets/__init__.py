"""The realistic arena's assets: photographed surfaces and textured table-top models
from packages the set-up installs, built once into a cache (see ``build``)."""
