import os

import pytest
from PIL import Image

from manifold_core.errors import OutputError, UsageError
from manifold_core.files import TEMP_PREFIX
from manifold_eval.outputs import Outputs

PICTURE = Image.new("RGB", (4, 3), (9, 8, 7))


def test_a_target_that_is_an_input_or_links_to_one_is_refused(tmp_path):
    tile = tmp_path / "tile.png"
    PICTURE.save(tile)
    before = tile.read_bytes()
    link = tmp_path / "link.png"
    link.symlink_to(tile)
    with Outputs({tile}) as out:
        for target in (tile, link, tmp_path / "." / "tile.png"):
            with pytest.raises(UsageError, match="is one of the input files"):
                out.claim(target, "--sheet")
    assert tile.read_bytes() == before and not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_a_planted_symlink_is_replaced_never_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me")
    target = tmp_path / "sheet.png"
    target.symlink_to(elsewhere)
    with Outputs(set()) as out:
        out.claim(target)
        out.image(target, PICTURE)
        out.commit()
    assert elsewhere.read_text() == "keep me"
    assert not target.is_symlink() and Image.open(target).size == (4, 3)


def test_unwritable_places_are_output_errors_found_when_claimed(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    (tmp_path / "x.png").mkdir()
    places = [a_file / "sheet.png", tmp_path / "x.png"]
    if os.path.isdir("/proc/self"):
        places.append("/proc/sheet.png")
    for place in places:
        with Outputs(set()) as out, pytest.raises(OutputError):
            out.claim(place)
    assert a_file.read_text() == "x"


def test_nothing_is_left_when_the_work_fails_before_commit(tmp_path):
    target = tmp_path / "new" / "sheet.png"
    with pytest.raises(RuntimeError), Outputs(set()) as out:
        out.claim(target)
        out.text(tmp_path / "new" / "key.json", "{}")
        raise RuntimeError("the evaluation broke")
    assert not (tmp_path / "new").exists()


def test_several_files_are_committed_together_and_a_name_twice_is_refused(tmp_path):
    with Outputs(set()) as out:
        out.claim(tmp_path / "a.png")
        with pytest.raises(UsageError, match="named twice"):
            out.claim(tmp_path / "a.png")
        out.image(tmp_path / "a.png", PICTURE)
        out.text(tmp_path / "key.json", '{"k": 1}')
        assert not (tmp_path / "a.png").exists()
        out.commit()
    assert (tmp_path / "key.json").read_text() == '{"k": 1}' and (tmp_path / "a.png").exists()
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))
