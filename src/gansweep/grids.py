"""Sample grids: a batch of generated images as one picture (MLflow, plots/samples.png)."""
from __future__ import annotations

import numpy as np
import torch


def grid_image(images_uint8: torch.Tensor) -> np.ndarray:
    """uint8 NCHW batch -> one HWC uint8 grid, 8 per row (gray images keep one channel)."""
    from torchvision.utils import make_grid  # 2-3 s to import: only where a grid is drawn

    grid = make_grid(images_uint8.cpu(), nrow=8, padding=2, pad_value=0)
    return grid[: images_uint8.shape[1]].permute(1, 2, 0).numpy()
