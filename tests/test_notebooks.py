"""The example notebooks are stored clean and run end to end on a small population."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PERSONS = 3000  # the parameters cell's N, lowered to keep the run short

# notebook, least number of cells with a figure, the name whose display must be HTML
NOTEBOOKS = [
    ("01_quickstart.ipynb", 2, "report"),  # calibration, decision curve
    ("02_explanations.ipynb", 4, "explanation"),  # waterfall, beeswarm, drivers, levels
    ("03_plan.ipynb", 1, "plans"),  # team-hours by axis
]


def _kernel_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``python3`` kernel this interpreter, whatever other kernelspecs exist.

    JUPYTER_PATH comes first in the kernelspec search, so the kernel imports the masrisk
    installed with the tests, not one of a user-level kernelspec.
    """
    from ipykernel.kernelspec import write_kernel_spec

    write_kernel_spec(tmp_path / "kernels" / "python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))


def _outputs_of(cell) -> list:
    return cell.get("outputs", []) if cell.cell_type == "code" else []


@pytest.mark.parametrize(("name", "figures", "shown"), NOTEBOOKS)
def test_notebook_runs(
    name: str, figures: int, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat

    nb = nbformat.read(EXAMPLES / name, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), (
        f"{name} is stored with outputs: clear them before committing"
    )

    parameters = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1, f"{name} needs one cell tagged 'parameters'"
    source, replaced = re.subn(r"(?m)^N = \d+", f"N = {PERSONS}", parameters[0].source)
    assert replaced == 1, "the parameters cell sets N"
    parameters[0].source = source

    _kernel_here(tmp_path, monkeypatch)
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()

    errors = [
        f"{output.ename}: {output.evalue}"
        for cell in nb.cells
        for output in _outputs_of(cell)
        if output.output_type == "error"
    ]
    assert errors == []
    with_figure = [
        cell
        for cell in nb.cells
        if any("image/png" in output.get("data", {}) for output in _outputs_of(cell))
    ]
    assert len(with_figure) >= figures, f"{len(with_figure)} cells of {name} show a figure"
    display = [cell for cell in code if cell.source.splitlines()[-1:] == [shown]]
    assert len(display) == 1, f"one cell of {name} ends by displaying {shown!r}"
    assert any("text/html" in output.get("data", {}) for output in display[0].outputs)
