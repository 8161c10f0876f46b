"""results.json / results.md / report.html, and the report in a real headless chromium."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from seaembed.evaluate.run import evaluate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from screenshot_report import find_chromium, screenshot  # noqa: E402


@pytest.fixture(scope="module")
def report_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from eval_task_files import write_all

    root = write_all(tmp_path_factory.mktemp("report") / "tasks")
    out = root.parent / "out"
    evaluate(str(tiny_model_dir), [root], baselines=["bm25"], out_dir=out, show_progress=False)
    return out


def test_outputs_shape(report_dir: Path):
    results = json.loads((report_dir / "results.json").read_text())
    assert {"model", "tasks", "baselines"} <= set(results)
    for entry in list(results["tasks"].values()) + list(results["baselines"]["bm25"]["tasks"].values()):
        assert {"type", "main_metric", "metrics", "per_lang"} <= set(entry)
    html = (report_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 6  # delta plot + one bar chart per task
    assert not re.search(r"(src|href)=['\"]https?:", html)  # self-contained
    assert "toy-retrieval" in html and "bm25" in html


@pytest.mark.browser
def test_report_renders_in_chromium(report_dir: Path, tmp_path: Path):
    if find_chromium() is None:
        pytest.skip("chromium is not installed")
    import numpy as np
    from PIL import Image

    png = screenshot(report_dir / "report.html", tmp_path / "report.png", height=1400)
    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32)
    assert img.shape[:2] == (1400, 1280)
    assert img.std() > 20  # not blank
    blue = (img[..., 2] > 180) & (img[..., 0] < 80)  # the model's bars (#1f6feb) were drawn
    assert blue.sum() > 500


def test_a_run_relevance_table_is_in_the_reports(report_dir: Path):
    """`seaembed run`'s relevance-eval adds `relevance` to the results: both reports show its table."""
    from seaembed.evaluate.report import render_html, render_markdown

    results = json.loads((report_dir / "results.json").read_text())
    assert "Relevance:" not in render_html(results)  # nothing without it
    group = lambda f1: {"f1": f1, "ap": 0.5, "f1_floor": 0.4, "threshold": 0.3}  # noqa: E731
    results["relevance"] = {"task": "tiny-rel", "split_seed": 0, "rows": {"select": 10, "report": 12},
                            "systems": {"cross-encoder": {"groups": {"QC": group(0.812), "QI": group(0.7)},
                                                          "mean_f1": 0.756},
                                        "bi-encoder cosine (final)": {"groups": {"QC": group(0.6), "QI": group(0.5)},
                                                                      "mean_f1": 0.55}}}
    html = render_html(results)
    assert "<h2>Relevance: cross-encoder vs bi-encoder cosine (tiny-rel)</h2>" in html
    assert "report half of tiny-rel (12 pairs)" in html and "select half (10 pairs)" in html
    row = re.search(r"<tr><td>cross-encoder</td>(.*?)</tr>", html).group(1)
    assert re.findall(r">([^<]+)</td>", row) == ["81.2", "50.0", "70.0", "50.0", "75.6", "-"]
    assert "<td>all-positive floor</td>" in html
    md = render_markdown(results)
    assert "## Relevance: cross-encoder vs bi-encoder cosine (tiny-rel)" in md
    assert "| cross-encoder | 81.2 | 50.0 | 70.0 | 50.0 | 75.6 | - |" in md
