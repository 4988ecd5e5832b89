"""gansweep: reproducible comparisons of GAN activations, regularizations and losses."""

__version__ = "0.1.0"
