"""Stage `report` of studies/dvc.yaml: the comparison of params.yaml's study (or grid) ->
studies/<study>/report/ (report.html, CSV tables, PNG plots). The same as `gansweep report`."""
import sys

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep.cli import main

if __name__ == "__main__":
    main(["report", *sys.argv[1:]])
