import io

from seaembed import progress


def test_log_output_is_plain_lines_without_cursor_codes(monkeypatch):
    monkeypatch.setenv("SEAEMBED_PROGRESS", "lines")
    out = io.StringIO()
    for _ in progress.tqdm(range(1000), desc="encoding", unit="text", file=out):
        pass
    text = out.getvalue()
    assert "\r" not in text and "\x1b[" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 3, lines  # the first update and the end, not one per item
    assert lines[-1].startswith("[encoding] 1,000/1,000 100%") and "text/s" in lines[-1]


def test_lines_are_spaced_by_the_interval(monkeypatch):
    monkeypatch.setenv("SEAEMBED_PROGRESS", "lines")
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    out = io.StringIO()
    with progress.tqdm(total=3, desc="stage", file=out) as bar:
        for _ in range(3):
            bar.update(1)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[stage] 1/3") and lines[-1].startswith("[stage] 3/3 100%")
    assert len(lines) == 3  # the end is said once, not again on close


def test_a_terminal_gets_tqdm_itself(monkeypatch):
    monkeypatch.setenv("SEAEMBED_PROGRESS", "bar")
    bar = progress.tqdm(total=2, file=io.StringIO())
    assert not isinstance(bar, progress.LineProgress)
    bar.close()


def test_not_a_terminal_without_override(monkeypatch):
    monkeypatch.delenv("SEAEMBED_PROGRESS", raising=False)
    assert progress.interactive(io.StringIO()) is False
