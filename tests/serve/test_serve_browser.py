"""The search page in real headless chromium (Debian's), driven by playwright: type a query, see results.

`SEAEMBED_UPDATE_SCREENSHOT=1 pytest -m "browser and integration" tests/serve/test_serve_browser.py` rebuilds
docs/images/search_page.png with the packaged multilingual-e5-small over the bundled sample catalog.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")]


def _serve(model_dir, index_dir, backend="onnx"):
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import Engine
    from seaembed.search.search_index import SearchIndex
    from seaembed.serve.app import ServerSettings, create_app
    from seaembed.serve.server import BackgroundServer

    engine = Engine(create_backend(backend, model_dir))
    app = create_app(engine, SearchIndex.load(index_dir), ServerSettings(model_name=Path(str(model_dir)).name))
    return BackgroundServer(app)


def _search(url: str, query: str, mode: str, screenshot: Path | None = None) -> list[str]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('status').textContent.includes('items')")
            page.fill("#query", query)
            page.select_option("#mode", mode)
            page.click("#go")
            page.wait_for_selector("#results li.hit")
            titles = page.locator("#results li.hit .title").all_inner_texts()
            metas = page.locator("#results li.hit .meta").all_inner_texts()
            assert all("category:" in m and "price:" in m and "score:" in m and "lang:" in m for m in metas)
            assert "results" in page.inner_text("#message")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
            return titles
        finally:
            browser.close()


def test_search_page_shows_results(onnx_dir, index_dir, tmp_path):
    with _serve(onnx_dir, index_dir) as url:
        titles = _search(url, "samsung galaxy", "bm25", screenshot=tmp_path / "page.png")
        assert titles == ["Samsung Galaxy A15 8/256GB"]
        hybrid = _search(url, "sepatu running", "hybrid")
        assert hybrid[0] == "Sepatu Running Pria Ringan Sol Karet" and len(hybrid) == 10
    assert (tmp_path / "page.png").stat().st_size > 5_000


@pytest.mark.integration
def test_search_page_with_packaged_model_and_sample_catalog(tmp_path):
    from seaembed.samples import sample_path
    from seaembed.search.index import build_index

    catalog = sample_path("catalog.jsonl")
    update = os.environ.get("SEAEMBED_UPDATE_SCREENSHOT") == "1"
    if not update:  # keep the test short: a slice of the catalog (the hand-written multilingual rows are at the end)
        rows = catalog.read_text(encoding="utf-8").splitlines()
        catalog = tmp_path / "catalog.jsonl"
        catalog.write_text("\n".join(rows[:60] + rows[-90:]) + "\n", encoding="utf-8")
    model = "packaged:multilingual-e5-small"
    index = build_index(model, catalog, tmp_path / "idx", show_progress=False)
    shot = Path(__file__).parents[2] / "docs/images/search_page.png" if update else tmp_path / "page.png"
    with _serve(model, index, backend="torch") as url:
        titles = _search(url, "running shoes for men", "hybrid", screenshot=shot)
    meta = [json.loads(x) for x in catalog.read_text(encoding="utf-8").splitlines()]
    shoes = {m["title"] for m in meta if any(w in m["title"].lower() for w in ("sepatu", "รองเท้า", "giày", "kasut",
                                                                                 "sapatos", "shoe"))}
    assert any(t in shoes for t in titles[:5]), titles  # an English query finds shoes in catalog languages
