"""The nest backend: IR documents lowered to NEST (see :mod:`.backend`,
docs/backends/nest.md).  Importing the package does not import NEST."""
