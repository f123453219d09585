"""The build progress bar: drawn on a terminal, silent otherwise."""

import io

from ivr_engine.prompts.build import BUILT, FAILED, BuildReport, BuildResult
from ivr_engine.prompts.progress import BAR_WIDTH, Progress


class Tty(io.StringIO):
    """A string buffer that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_bar_is_drawn_on_a_tty() -> None:
    out = Tty()
    bar = Progress(4, out)
    bar.advance("ivr/tts-1")
    bar.advance("ivr/tts-2")
    bar.close()
    text = out.getvalue()
    assert "\r[" + "#" * (BAR_WIDTH // 2) + "-" * (BAR_WIDTH // 2) + "] 2/4 ivr/tts-2" in text
    assert text.endswith("\n")


def test_nothing_is_drawn_without_a_tty() -> None:
    out = io.StringIO()
    bar = Progress(3, out)
    bar.advance()
    bar.close()
    assert out.getvalue() == "" and bar.done == 1


def test_summary_counts_and_names_failures() -> None:
    report = BuildReport(
        [
            BuildResult("ivr/a", BUILT),
            BuildResult("", FAILED, "tenant t / prompts.lunch: too long"),
        ],
        ["gTTS unreachable"],
    )
    assert report.summary().splitlines() == [
        "prompts: 1 built, 0 cached, 1 failed",
        "warning: gTTS unreachable",
        "failed: tenant t / prompts.lunch: too long",
    ]
