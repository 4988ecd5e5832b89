"""Independent random streams from one seed: numpy's SeedSequence mixes the keys, so the streams
of (seed, 0) and (seed, 1), or of two epochs, share nothing."""
import numpy as np


def stream_seed(*keys: int) -> int:
    state = np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))  # torch.Generator.manual_seed takes up to 2**63 - 1 without wrapping
