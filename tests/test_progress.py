"""Progress lines: drawn on a terminal only (never in a pipe, a file or under CI), steps named."""
import io

from rich.console import Console

from clusterlens.progress import interactive, steps


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert interactive(Terminal()) and not interactive(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not interactive(Terminal())


def test_steps_name_the_step_in_progress():
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    with steps("simulating", 2, console=console) as begin:
        begin("ray-tracing the image")
        console.file.flush()
        begin("finding the multiple images")
    assert "simulating" in console.file.getvalue()
    with steps("simulating", 2, show=False, console=console) as begin:  # quiet: nothing drawn, same calls
        begin("ray-tracing the image")
