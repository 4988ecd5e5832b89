"""gansweep: reproducible comparisons of GAN activations, regularizations and losses."""
