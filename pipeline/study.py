"""Stage `study` of studies/dvc.yaml: params.yaml's Optuna study, run or resumed ->
studies/<study>/best_params.yaml and trials.csv. The same as `gansweep study` (any flags pass on)."""
import sys

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep.cli import main

if __name__ == "__main__":
    main(["study", *sys.argv[1:]])
