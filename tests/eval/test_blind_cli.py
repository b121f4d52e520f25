import json

from typer.testing import CliRunner

from manifold_cli.cli import app

runner = CliRunner()


def test_blind_writes_sheets_and_a_key_and_blind_score_counts_the_answers(tile_folder, tmp_path):
    out = tmp_path / "blind"
    result = runner.invoke(app, ["blind", str(tile_folder), "--limit", "10", "--pair", "nearest,mmpx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["blind-2x-1.png", "blind-2x-2.png", "blind-4x-1.png",
                                                     "blind-4x-2.png", "key.json"]
    key = json.loads((out / "key.json").read_text())
    assert len(key["rows"]) == 20
    # a judge who always prefers MMPX, written as the judges' brief asks
    lines = [f"{row}: {'A' if pick['A'] == 'mmpx' else 'B'} (2) rounder" for row, pick in key["rows"].items()]
    answers = tmp_path / "judge1.txt"
    answers.write_text("\n".join(lines[:15]) + "\nMMPX rounds the corners.\n")
    scored = runner.invoke(app, ["blind-score", str(out / "key.json"), str(answers), "--json"])
    assert scored.exit_code == 0, scored.output
    data = json.loads(scored.stdout)
    two, four = data["scales"]
    assert two["answers"] == 10 and two["methods"]["mmpx"]["share"] == 1 and two["methods"]["nearest"]["wins"] == 0
    assert four["answers"] == 5 and data["unanswered"] == {str(answers): 5}
    table = runner.invoke(app, ["blind-score", str(out / "key.json"), str(answers)])
    assert table.exit_code == 0 and "100%" in table.stdout and "5 rows unanswered" in table.output


def test_blind_errors_are_one_line(tile_folder, tmp_path):
    key = tmp_path / "key.json"
    key.write_text("{}")
    tile = sorted(tile_folder.glob("*.png"))[0]
    for args, status, words in (
            (["blind", str(tile_folder), "--pair", "nearest", "-o", str(tmp_path / "b")], 2, "exactly two"),
            (["blind", str(tile_folder), "--pair", "nearest,mmpx", "--scale", "3", "-o", str(tmp_path / "b")], 2,
             "mmpx cannot be compared at 3x"),
            (["blind", str(tile_folder), "--pair", "nearest,manifold:/nonexistent", "-o", str(tmp_path / "b")], 6, ""),
            (["blind", str(tile), "--pair", "nearest,mmpx", "-o", str(tile)], 4, ""),
            (["blind-score", str(key), str(tmp_path / "none.txt")], 1, "no such file"),
            (["blind-score", str(key), str(key)], 1, "not a key written by `manifold blind`")):
        result = runner.invoke(app, args)
        assert result.exit_code == status and result.output.startswith("error:") and words in result.output, \
            (args, result.output)
        assert result.output.count("\n") == 1
