import re

from mars_gym.apps.generate import LEGEND
from mars_gym.apps.generate import main as generate
from mars_gym.apps.realism import read_stream
from mars_gym.data.sources import lobster_pair


def test_generate_names_its_files_by_the_lobster_convention(lobster_dir, tmp_path, capsys):
    """``realism`` and every LOBSTER reader take the written pair as a LOBSTER file."""
    assert generate(["--flow", "noise", "--start", "12:45", "--minutes", "0.5", "--data-dir",
                     str(lobster_dir), "--no-progress", "--out", str(tmp_path)]) == 0
    message, = tmp_path.glob("*_message_1.csv")
    assert re.fullmatch(r"AMZN-noise_2012-06-21_459\d{5}_459\d{5}_message_1\.csv", message.name)
    _, orderbook, match = lobster_pair(message)
    assert orderbook.is_file() and int(match["end"]) - int(match["start"]) == 30_000
    assert len(read_stream(message).messages) > 0


def test_generate_summary_shows_clock_minutes_and_defines_its_columns(lobster_dir, tmp_path,
                                                                      capsys):
    assert generate(["--flow", "noise", "--minutes", "1.5", "--data-dir", str(lobster_dir),
                     "--no-progress", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["time"])
    assert [line.split()[0] for line in lines[header + 1:header + 3]] == ["12:45", "12:46"]
    assert lines[-1] == LEGEND and "pressure: (buys priced above" in LEGEND
