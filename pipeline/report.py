"""Stage `report` of studies/dvc.yaml: the comparison of params.yaml's study (or grid) ->
studies/<study>/report/ (report.html, CSV tables, PNG plots). The same as `gansweep report`."""
import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import stage
from gansweep.report import report_and_say

if __name__ == "__main__":
    stage.run(report_and_say)
