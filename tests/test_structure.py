"""The package's structure as the module map in the README states it: no import circle, no
analysis importing the face layer, every notebook cell a call into the package; and a study that
computes each result once, shared by the notebooks of a run."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import mentoring_eval as me
from tests.conftest import ROOT

PACKAGE = ROOT / "mentoring_eval"
FACE = {"narrate", "display", "publish"}
RUN = {"runlog", "batch", "cli", "pdf"}
ANALYSES = {"effects", "retention", "promotion", "workforce", "program_health", "roi", "scorecard", "summary"}
BELOW = {"errors", "version", "labels", "data", "params", "simulate", "did", "matching", "intervals", "power",
         "estimates", "privacy", "panels", "cohorts", "study", "populations"}


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """The package modules a file imports (first component below mentoring_eval)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # imports under `if TYPE_CHECKING:` are for annotations only
        nodes = [n for n in nodes if not isinstance(n, ast.If)]
    found = set()
    inside_did = path.parent.name == "did"
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = (node.module or "").split(".")[0]
            if inside_did and node.level == 1:
                base = "did"
            if base:
                found.add(base)
            else:  # from . import x, y
                found |= {alias.name for alias in node.names}
    return found


def _modules() -> dict[str, Path]:
    out = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    out["did"] = PACKAGE / "did" / "__init__.py"
    return out


def test_module_level_imports_form_no_circle():
    graph = {name: _imports(path, top_level_only=True) - {name} for name, path in _modules().items()}
    for path in (PACKAGE / "did").glob("*.py"):
        graph["did"] |= _imports(path, top_level_only=True) - {"did"}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError(f"import circle: {' -> '.join([*trail, node, nxt])}")
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_analysis_or_lower_module_imports_the_face_or_the_runner():
    for name, path in _modules().items():
        if name in ANALYSES | BELOW:
            wrong = _imports(path, top_level_only=False) & (FACE | RUN)
            assert not wrong, f"{name} imports {sorted(wrong)}"
    for path in (PACKAGE / "did").glob("*.py"):  # the engine knows nothing of cohorts or reports
        assert _imports(path, top_level_only=False) <= {"did", "errors"}, path


def test_notebook_cells_only_call_the_package():
    """No branches, loops, functions or paths in a notebook: logic lives where tests reach it."""
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            tree = ast.parse(source)
            kinds = {type(n).__name__ for n in ast.walk(tree)}
            assert not kinds & {"If", "For", "While", "FunctionDef", "Lambda", "Try", "IfExp", "With"}, (notebook, source)
            assert "../" not in source or "parameters" in cell["metadata"].get("tags", []), (notebook, source)


def test_a_study_computes_each_result_once_and_shares_it_within_a_run(demo_dir, tmp_path, monkeypatch):
    params_file = tmp_path / "c.yaml"
    params_file.write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    calls = []

    def compute():
        calls.append(1)
        return me.program_health.ProgramHealth("2023-spring")

    alone = me.open_study(params_file)
    first = alone.result(("probe",), compute)
    assert alone.result(("probe",), compute) is first and len(calls) == 1  # in memory
    monkeypatch.setenv("MENTORING_EVAL_CACHE", str(tmp_path / "cache"))  # as the runner sets it for its kernels
    one, other = me.open_study(params_file), me.open_study(params_file)
    assert one.dataset.fingerprint and one.dataset is not other.dataset
    one.result(("probe",), compute)
    shared = other.result(("probe",), compute)
    assert len(calls) == 2 and shared.cohort_id == "2023-spring"  # the second study read the first one's result
    changed = me.open_study(params_file, audience="analyst")  # other params: another identity
    changed.result(("probe",), compute)
    assert len(calls) == 3
    monkeypatch.setattr(me.study, "code_fingerprint", lambda: "other code")  # new code: cached results are not reused
    me.open_study(params_file).result(("probe",), compute)
    assert len(calls) == 4
    assert [e.estimand for e in one.estimates] == []  # a result without estimates adds none


def test_estimates_where_first_and_combine():
    a = me.estimates.make(cohort_id="c", role="mentee", estimand="retention_12m", method="tot_wald", estimate=2.0,
                          std_error=1.0, headline=True, design="rollout", unit="pp")
    b = me.estimates.make(cohort_id="c", role="mentee", estimand="retention_12m", method="naive", estimate=9.0,
                          design="naive", unit="pp")
    found = me.Estimates([a, b])
    assert found.headline("retention_12m") is a and found.naive("retention_12m") is b
    assert (a.ci_low, a.ci_high) == pytest.approx((2 - 1.959964, 2 + 1.959964), abs=1e-6) and not a.includes_zero
    assert b.has_interval is False and not b.includes_zero  # no interval: says nothing about zero
    assert len(found.where(method=("naive", "tot_wald"))) == 2 and not found.where(role="mentor")
    assert list(me.Estimates.combine(found, me.Estimates([a]))) == [a, b, a]
    with pytest.raises(TypeError, match="no field"):
        found.where(estimator="x")


def test_estimates_csv_keeps_text_that_looks_like_a_formula_as_text(tmp_path):
    row = dict(role="mentee", estimand="retention_12m", method="naive", estimate=1.0, design="naive", unit="pp")
    found = me.Estimates([me.estimates.make(cohort_id="=1+1", note='=HYPERLINK("http://x")', **row),
                          me.estimates.make(cohort_id="@sum", note="-2 pp, +3 pp", **row)])
    path = found.write(tmp_path)
    cells = [line.split(",")[0] for line in path.read_text().splitlines()[1:]]
    assert sorted(cells) == ["'=1+1", "'@sum"]  # a spreadsheet shows them, it does not run them
    assert "'=HYPERLINK" in path.read_text() and "'-2 pp" in path.read_text()
    back = me.Estimates.read(path)
    assert sorted((e.cohort_id, e.note) for e in back) == [("=1+1", '=HYPERLINK("http://x")'), ("@sum", "-2 pp, +3 pp")]


def test_a_rerun_removes_the_figures_its_source_no_longer_produces(tmp_path):
    """Each report's rows replace what the same report wrote before: an ROI the evidence no longer
    supports leaves estimates.csv, while other reports' rows stay."""
    def row(estimand, method, value):
        return me.estimates.make(cohort_id="c", role="mentee", estimand=estimand, method=method, estimate=value)

    me.Estimates([row("retention_12m", "tot_wald", 1.0)]).write(tmp_path, source="02_retention")
    me.Estimates([row("roi", "causal", 50.0), row("roi", "naive", 300.0)]).write(tmp_path, source="05_roi")
    assert sorted(me.Estimates.read(tmp_path / "estimates.csv").to_frame()["method"]) == ["causal", "naive", "tot_wald"]
    me.Estimates([row("roi", "naive", 310.0)]).write(tmp_path, source="05_roi")  # the causal ROI is gone now
    again = me.Estimates.read(tmp_path / "estimates.csv").to_frame().set_index("method")["estimate"].to_dict()
    assert again == {"naive": 310.0, "tot_wald": 1.0}
    me.Estimates([row("retention_12m", "naive", 7.0)]).write(tmp_path)  # no source: merged by key, nothing dropped
    assert len(me.Estimates.read(tmp_path / "estimates.csv")) == 3
    assert sorted(p.name for p in (tmp_path / ".estimates").iterdir()) == ["02_retention.csv", "05_roi.csv"]
